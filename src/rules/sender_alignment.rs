use super::shared::NoOptions;
use super::{Context, Rule, declare_rule};
use crate::audience::registrable;
use crate::config::{OptionError, RuleSettings};
use crate::finding::{Diagnostic, Location, Severity};
use crate::message::Field;

declare_rule! {
    /// ## What it checks
    /// In bulk mail (see `list-unsubscribe`), whether the From domain is
    /// aligned (DMARC relaxed alignment: the same registrable domain, so
    /// `news.example.com` aligns with `example.com`) with the domains that
    /// authenticate the message, where the message carries them:
    ///
    /// - DKIM-Signature `d=` and Return-Path (the SPF domain): DMARC passes
    ///   when any DKIM signature or the Return-Path is aligned, so it warns
    ///   only when none is, naming each;
    /// - Sender: a Sender at another domain makes Gmail show "via" and
    ///   Outlook "on behalf of" beside the From name.
    ///
    /// A draft or template without these headers has nothing to check: the
    /// mailing tool adds them, and a test send through it is what to check.
    /// A member's post relayed by a discussion list (`List-Post` names a
    /// `mailto:` address) is silent: the list, not the author, re-sent it.
    /// So is mail that stays inside the organisation, unless `[bulk] always
    /// = true`.
    ///
    /// ## Why it matters
    /// Since February 2024 Gmail and Yahoo require bulk senders to pass
    /// DMARC, which needs SPF or DKIM aligned with the From domain. A
    /// newsletter signed only by its mailing tool's domain (`d=esp.example`)
    /// and bounced to it fails DMARC for the brand's domain: with `p=reject`
    /// it is refused, with `p=quarantine` it goes to spam.
    ///
    /// ## Example
    /// ```text
    /// From: Example News <news@example.com>
    /// Return-Path: <bounce-8f3a@mail.esp.example>
    /// DKIM-Signature: v=1; a=rsa-sha256; d=esp.example; s=k1; ...
    /// ```
    ///
    /// ## How to fix
    /// Set up the mailing tool to sign with your domain (DKIM `d=example.com`
    /// through the CNAME records it gives you) and to use a bounce domain
    /// under yours (`bounces.example.com`); drop a Sender header at another
    /// domain.
    ///
    /// ## Options
    /// None besides `severity`.
    id: "sender-alignment",
    severity: Warning,
    summary: "Bulk mail whose From domain is not aligned with DKIM d=, Return-Path or Sender (DMARC)",
    build: SenderAlignment::build,
}

struct SenderAlignment;

impl SenderAlignment {
    fn build(settings: &RuleSettings) -> Result<Box<dyn Rule>, OptionError> {
        settings.options::<NoOptions>()?;
        Ok(Box::new(SenderAlignment))
    }
}

/// The organisational domain (registrable domain) of a domain, lowercased.
fn org(domain: &str) -> String {
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    registrable(&domain).unwrap_or(&domain).to_string()
}

/// The `d=` of a DKIM-Signature value.
fn dkim_domain(value: &str) -> Option<&str> {
    value
        .split(';')
        .filter_map(|tag| tag.split_once('='))
        .find(|(k, _)| k.trim() == "d")
        .map(|(_, v)| v.trim())
        .filter(|d| !d.is_empty())
}

/// The domain of a Return-Path value: `<bounce@mail.example.com>`; none
/// for the null path `<>`.
fn return_path_domain(value: &str) -> Option<&str> {
    let inner = value.trim().trim_start_matches('<');
    let inner = inner.split('>').next().unwrap_or(inner).trim();
    inner
        .rsplit_once('@')
        .map(|(_, d)| d.trim())
        .filter(|d| !d.is_empty())
}

impl Rule for SenderAlignment {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        let msg = cx.message;
        // Mailbox providers' bulk-sender rules are about mail to them: an
        // announcement that stays inside the organisation is exempt.
        if !cx.config.bulk.always && !cx.audience.goes_outside() {
            return;
        }
        let Some(from) = msg.sender() else { return };
        let Some(from_domain) = from.domain() else {
            return;
        };
        let Some(reason) = cx.bulk().map(|b| &b.reason) else {
            return;
        };
        let from_org = org(from_domain);

        // DMARC: any aligned DKIM signature or an aligned Return-Path passes.
        let mut identifiers: Vec<(String, &str, Option<usize>)> = Vec::new();
        let mut aligned = false;
        for h in msg.headers() {
            let (label, domain) = if h.name.eq_ignore_ascii_case("DKIM-Signature") {
                ("DKIM d=", dkim_domain(h.value))
            } else if h.name.eq_ignore_ascii_case("Return-Path") {
                ("Return-Path", return_path_domain(h.value))
            } else {
                continue;
            };
            let Some(domain) = domain else { continue };
            if org(domain) == from_org {
                aligned = true;
            } else {
                identifiers.push((
                    format!(
                        "{label}{}{domain}",
                        if label.ends_with('=') { "" } else { " " }
                    ),
                    h.name,
                    h.line,
                ));
            }
        }
        if !aligned && let Some((_, header, line)) = identifiers.first() {
            let names: Vec<&str> = identifiers.iter().map(|(s, _, _)| s.as_str()).collect();
            out.push(
                Diagnostic::new(
                    Severity::Warning,
                    format!(
                        "bulk mail ({reason}) from {from_domain} with nothing aligned for DMARC: {}",
                        names.join(", ")
                    ),
                    Location::header(*header, *line),
                )
                .help(format!(
                    "have the mailing tool sign with DKIM d={from_org} (or a subdomain) and use a bounce domain under {from_org}"
                )),
            );
        }

        if let Some(sender) = msg.addresses_in(Field::Sender).next()
            && let Some(domain) = sender.domain()
            && org(domain) != from_org
        {
            out.push(
                Diagnostic::new(
                    Severity::Warning,
                    format!(
                        "bulk mail ({reason}) from {from_domain} has Sender at {}: mailboxes show \"via\" or \"on behalf of\"",
                        domain.to_ascii_lowercase()
                    ),
                    Location::header("Sender", sender.line),
                )
                .help(format!("remove the Sender header, or use an address under {from_org}")),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{dkim_domain, return_path_domain};
    use crate::finding::Severity;
    use crate::testing::{check_rule, eml};

    const HEAD: &str = "From: Example News <news@news.example.com>\nTo: b@example.net\nSubject: May news\nPrecedence: bulk\n";

    fn run(headers: &str) -> Vec<crate::finding::Finding> {
        check_rule("sender-alignment", &eml(&format!("{HEAD}{headers}\nhi\n")))
    }

    #[test]
    fn parses_identifiers() {
        assert_eq!(
            dkim_domain("v=1; a=rsa-sha256; d=Example.com; s=k1; bh=x"),
            Some("Example.com")
        );
        assert_eq!(dkim_domain("v=1; s=k1"), None);
        assert_eq!(
            return_path_domain("<bounce+x=y@mail.esp.example>"),
            Some("mail.esp.example")
        );
        assert_eq!(return_path_domain("<>"), None);
    }

    #[test]
    fn warns_when_nothing_is_aligned() {
        let f = run(
            "Return-Path: <bounce-1@mail.esp.example>\nDKIM-Signature: v=1; a=rsa-sha256; d=esp.example; s=k1; h=from; bh=x; b=y\n",
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Warning);
        assert_eq!(
            f[0].message,
            "bulk mail (Precedence: bulk) from news.example.com with nothing aligned for DMARC: Return-Path mail.esp.example, DKIM d=esp.example"
        );
        assert_eq!(f[0].location.header.as_deref(), Some("Return-Path"));
        assert_eq!(f[0].location.line, Some(5));
    }

    #[test]
    fn one_aligned_identifier_is_enough() {
        assert!(run("Return-Path: <bounce-1@mail.esp.example>\nDKIM-Signature: v=1; d=esp.example; s=k1; b=y\nDKIM-Signature: v=1; d=example.com; s=k2; b=z\n").is_empty());
        assert!(run("Return-Path: <bounce@bounces.example.com>\nDKIM-Signature: v=1; d=esp.example; s=k1; b=y\n").is_empty());
        assert!(run("").is_empty());
    }

    #[test]
    fn foreign_sender_warns() {
        let f = run(
            "Sender: news=example.com@mail.esp.example\nDKIM-Signature: v=1; d=example.com; s=k1; b=y\n",
        );
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.contains("has Sender at mail.esp.example"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn personal_mail_and_list_relays_are_silent() {
        let personal = eml(
            "From: a@example.com\nTo: b@example.net\nSubject: hi\nReturn-Path: <x@other.example>\n\nhi\n",
        );
        assert!(check_rule("sender-alignment", &personal).is_empty());
        let relay = eml(
            "From: a@gmail.com\nTo: devel@lists.example.org\nSubject: hi\nPrecedence: list\nSender: devel-bounces@lists.example.org\nReturn-Path: <devel-bounces@lists.example.org>\nList-Post: <mailto:devel@lists.example.org>\n\nhi\n",
        );
        assert!(check_rule("sender-alignment", &relay).is_empty());
    }
}
