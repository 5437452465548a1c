use super::shared::NoOptions;
use super::{Context, Rule, declare_rule, plural};
use crate::config::{OptionError, RuleSettings};
use crate::finding::{Diagnostic, Location, Severity};
use crate::message::{url_host, url_scheme};

declare_rule! {
    /// ## What it checks
    /// The unsubscribe headers of bulk mail. A message is bulk mail when it
    /// has `Precedence: bulk` or `list`, a List-Unsubscribe header, a
    /// mailing service's campaign header (`X-Campaign`, `X-CampaignID`), or
    /// a `List-Id` together with a bulk sender's `Feedback-ID`, or the shape
    /// of a newsletter: an unsubscribe link in an HTML body (not in quoted
    /// history or a forward); or the
    /// configuration says `[bulk] always = true` (a repository of
    /// templates); or by its audience, when an everyone-style list is among
    /// its recipients or it has as many recipients as the `recipient-count`
    /// warning (25). Replies, members' posts relayed by a discussion list
    /// (`List-Post` names a `mailto:` address, or a `List-Id` or
    /// `X-Mailing-List` comes with the list's owner as `Sender:`, as LKML's
    /// servers wrote; the list headers are the list server's), and
    /// automatic mail (bounces, auto-replies) are not bulk mail. What a
    /// list sends itself is: a digest, From its `-digest` or `-request`
    /// address, or From its own with "digest" in the subject. The other bulk-only rules use the same test. For bulk
    /// mail it is
    ///
    /// - an error when there is no List-Unsubscribe header, if the message
    ///   or the configuration says it is bulk mail (a message that is bulk
    ///   only by its audience, such as a letter from a mail client to 40
    ///   parents, is a person writing to many people, not a mailing list:
    ///   `recipient-count` and `cc-exposure` speak to that);
    /// - an error when an entry is not an `https:` or `mailto:` URI in angle
    ///   brackets, or is malformed (RFC 2369: a comma-separated list of
    ///   `<uri>`; whitespace inside the brackets is ignored, so a folded
    ///   header is fine);
    /// - an error when there is an `https:` URI but no
    ///   `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058), or
    ///   when the message is DKIM-signed and no signature covers both
    ///   headers (`h=`), which RFC 8058 requires for one-click to count;
    /// - a warning when the only way to unsubscribe is `mailto:`.
    ///
    /// In a template, an entry that is only a placeholder
    /// (`<{{ unsubscribe_url }}>`, `<*|UNSUB|*>`) is filled in when sending
    /// and is not judged; `template-placeholder` reports one left in a sent
    /// message.
    ///
    /// Mail that stays inside the organisation (an all-staff announcement)
    /// is not checked unless `[bulk] always = true`: the requirements are
    /// those of outside mailbox providers.
    ///
    /// ## Why it matters
    /// Since February 2024 Gmail and Yahoo require senders of bulk mail to
    /// offer one-click unsubscribe (RFC 8058) in the headers and to honour it
    /// within two days. Without it the mailbox shows no unsubscribe button,
    /// recipients press "report spam" instead, and the sender's mail starts
    /// going to spam or being rejected.
    ///
    /// ## Example
    /// ```text
    /// From: News <news@example.com>
    /// Precedence: bulk
    /// List-Unsubscribe: <https://example.com/unsubscribe?u=8f3a>
    /// ```
    /// has an https URI without `List-Unsubscribe-Post`.
    ///
    /// ## How to fix
    /// Add both headers, with an https URI that unsubscribes on a POST
    /// without further questions, and a mailto: fallback:
    /// ```text
    /// List-Unsubscribe: <https://example.com/u/8f3a>, <mailto:unsubscribe@example.com?subject=8f3a>
    /// List-Unsubscribe-Post: List-Unsubscribe=One-Click
    /// ```
    /// and include both in the DKIM signature.
    ///
    /// ## Options
    /// None besides `severity`. Bulk detection follows `[bulk] always` and
    /// the `recipient-count` warning number.
    id: "list-unsubscribe",
    severity: Error,
    summary: "Bulk mail without working one-click unsubscribe headers (RFC 2369, RFC 8058)",
    build: ListUnsubscribe::build,
}

struct ListUnsubscribe;

impl ListUnsubscribe {
    fn build(settings: &RuleSettings) -> Result<Box<dyn Rule>, OptionError> {
        settings.options::<NoOptions>()?;
        Ok(Box::new(ListUnsubscribe))
    }
}

const ONE_CLICK: &str = "List-Unsubscribe=One-Click";

/// One entry of a List-Unsubscribe header.
#[derive(Debug, PartialEq, Eq)]
enum Entry {
    Https,
    Mailto,
    /// A template placeholder (`<{{ unsubscribe_url }}>`, `<*|UNSUB|*>`)
    /// the sending system fills in: not judged here.
    Placeholder,
    /// Not usable, with what is wrong.
    Bad(String),
}

/// A URI as findings show it: scheme and host or address, never the
/// per-recipient token in its path or query.
fn shown(uri: &str) -> String {
    if let Some(host) = url_host(uri) {
        let scheme = url_scheme(uri).unwrap_or_default();
        return format!("{scheme}://{host}/…");
    }
    let mut out: String = uri.chars().take(32).collect();
    if out.len() < uri.len() {
        out.push('…');
    }
    out
}

fn classify(uri: &str) -> Entry {
    if ["{{", "{%", "*|", "%%", "${"]
        .iter()
        .any(|open| uri.starts_with(open))
    {
        return Entry::Placeholder;
    }
    match url_scheme(uri).as_deref() {
        Some("https") if url_host(uri).is_some() => Entry::Https,
        Some("https") => Entry::Bad(format!("`{}` has no valid host", shown(uri))),
        Some("mailto") => {
            let address = uri
                .split_once(':')
                .map_or("", |(_, rest)| rest)
                .split('?')
                .next()
                .unwrap_or_default();
            match address.rsplit_once('@') {
                Some((local, domain)) if !local.is_empty() && domain.contains('.') => Entry::Mailto,
                _ => Entry::Bad(format!("`{}` has no valid address", shown(uri))),
            }
        }
        Some("http") => Entry::Bad(format!(
            "`{}` is plain http (one-click unsubscribe needs https)",
            shown(uri)
        )),
        Some(other) => Entry::Bad(format!(
            "`{}` is neither https: nor mailto: (`{other}:`)",
            shown(uri)
        )),
        None => Entry::Bad(format!("`{}` is not a URI", shown(uri))),
    }
}

/// Splits an RFC 2369 header into its `<uri>` entries, whitespace inside
/// the brackets removed; parenthesised comments between entries are
/// allowed. An `Err` says what is outside the grammar.
fn entries(value: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() || c == ',' => {}
            '(' => {
                // A comment: skip to its end (comments do not nest here).
                for c in chars.by_ref() {
                    if c == ')' {
                        break;
                    }
                }
            }
            '<' => {
                let mut uri = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '>' {
                        closed = true;
                        break;
                    }
                    if !c.is_whitespace() {
                        uri.push(c);
                    }
                }
                if !closed {
                    return Err("an entry has `<` without its closing `>`".into());
                }
                out.push(uri);
            }
            _ => {
                let mut text: String = std::iter::once(c)
                    .chain(chars.by_ref().take_while(|c| *c != ',' && *c != '<'))
                    .collect();
                text = text.trim().to_string();
                return Err(format!("`{}` is not in angle brackets", shown(&text)));
            }
        }
    }
    Ok(out)
}

/// Of the DKIM signatures, the one covering most of these headers in
/// `h=`: its `d=` and the headers it leaves out. `None` when the message is
/// not signed or a signature covers them all.
fn unsigned<'h>(cx: &Context<'_>, headers: &[&'h str]) -> Option<(String, Vec<&'h str>)> {
    let mut best: Option<(String, Vec<&'h str>)> = None;
    for sig in cx
        .message
        .headers()
        .filter(|h| h.name.eq_ignore_ascii_case("DKIM-Signature"))
    {
        let tags: Vec<(&str, &str)> = sig
            .value
            .split(';')
            .filter_map(|tag| tag.split_once('='))
            .map(|(k, v)| (k.trim(), v.trim()))
            .collect();
        let covered: Vec<&str> = tags
            .iter()
            .filter(|(k, _)| *k == "h")
            .flat_map(|(_, v)| v.split(':').map(str::trim))
            .collect();
        let missing: Vec<&'h str> = headers
            .iter()
            .copied()
            .filter(|h| !covered.iter().any(|c| c.eq_ignore_ascii_case(h)))
            .collect();
        if missing.is_empty() {
            return None;
        }
        if best.as_ref().is_none_or(|(_, m)| missing.len() < m.len()) {
            let domain = tags
                .iter()
                .find(|(k, _)| *k == "d")
                .map_or("?", |(_, v)| v)
                .to_string();
            best = Some((domain, missing));
        }
    }
    best
}

impl Rule for ListUnsubscribe {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        let msg = cx.message;
        // Mailbox providers' bulk-sender rules are about mail to them: an
        // announcement that stays inside the organisation is exempt.
        if !cx.config.bulk.always && !cx.audience.goes_outside() {
            return;
        }
        let Some(bulk) = cx.bulk() else {
            return;
        };
        let reason = &bulk.reason;
        let Some(header) = msg.header("List-Unsubscribe") else {
            // A person writing to many people from a mail client is not
            // running a mailing list: recipient-count and cc-exposure speak
            // to that. Only a declared bulk send must offer unsubscribe.
            if !bulk.declared {
                return;
            }
            out.push(
                Diagnostic::new(
                    Severity::Error,
                    format!("bulk mail ({reason}) without a List-Unsubscribe header"),
                    Location::header("From", msg.header_line("From")),
                )
                .help(format!(
                    "add `List-Unsubscribe: <https://…>, <mailto:…>` and `List-Unsubscribe-Post: {ONE_CLICK}`: Gmail and Yahoo require one-click unsubscribe for bulk mail"
                )),
            );
            return;
        };
        let location = || Location::header("List-Unsubscribe", header.line);
        let uris = match entries(header.value) {
            Ok(uris) if uris.is_empty() => {
                out.push(
                    Diagnostic::new(Severity::Error, "List-Unsubscribe is empty", location())
                        .help(format!("give `<https://…>, <mailto:…>` and add `List-Unsubscribe-Post: {ONE_CLICK}`")),
                );
                return;
            }
            Ok(uris) => uris,
            Err(problem) => {
                out.push(
                    Diagnostic::new(
                        Severity::Error,
                        format!("List-Unsubscribe is malformed: {problem}"),
                        location(),
                    )
                    .help("write each URI in angle brackets, separated by commas: `<https://…>, <mailto:…>` (RFC 2369)"),
                );
                return;
            }
        };
        let classified: Vec<Entry> = uris.iter().map(|u| classify(u)).collect();
        let bad: Vec<&str> = classified
            .iter()
            .filter_map(|e| match e {
                Entry::Bad(why) => Some(why.as_str()),
                _ => None,
            })
            .collect();
        if !bad.is_empty() {
            out.push(
                Diagnostic::new(
                    Severity::Error,
                    format!(
                        "List-Unsubscribe has {} mail clients cannot use: {}",
                        plural(bad.len() as u64, "entry", "entries"),
                        bad.iter().take(3).copied().collect::<Vec<_>>().join("; ")
                    ),
                    location(),
                )
                .help("use an https: URI that unsubscribes on a POST, and a mailto: address"),
            );
        }
        let https = classified.contains(&Entry::Https);
        let mailto = classified.contains(&Entry::Mailto);
        let post = msg.header("List-Unsubscribe-Post");
        let one_click = post.is_some_and(|p| p.value.trim().eq_ignore_ascii_case(ONE_CLICK));
        if https && !one_click {
            let message = match post {
                None => "List-Unsubscribe has an https URI but there is no `List-Unsubscribe-Post` header: no one-click unsubscribe (RFC 8058)".to_string(),
                Some(p) => format!(
                    "List-Unsubscribe-Post is `{}`, not `{ONE_CLICK}`: no one-click unsubscribe (RFC 8058)",
                    p.value.chars().take(40).collect::<String>()
                ),
            };
            let line = post.map_or(header.line, |p| p.line);
            out.push(
                Diagnostic::new(
                    Severity::Error,
                    message,
                    Location::header(
                        if post.is_some() { "List-Unsubscribe-Post" } else { "List-Unsubscribe" },
                        line,
                    ),
                )
                .help(format!(
                    "add `List-Unsubscribe-Post: {ONE_CLICK}` and make the https URI unsubscribe on a POST without a confirmation page"
                )),
            );
        } else if !https && mailto {
            out.push(
                Diagnostic::new(
                    Severity::Warning,
                    "List-Unsubscribe offers only mailto:, so there is no one-click unsubscribe",
                    location(),
                )
                .help(format!(
                    "add an https URI that unsubscribes on a POST, and `List-Unsubscribe-Post: {ONE_CLICK}` (Gmail and Yahoo require one-click for bulk mail)"
                )),
            );
        }
        if https
            && one_click
            && let Some((domain, missing)) =
                unsigned(cx, &["List-Unsubscribe", "List-Unsubscribe-Post"])
        {
            out.push(
                Diagnostic::new(
                    Severity::Error,
                    format!(
                        "the DKIM signature (d={domain}) does not cover {}, so mailbox providers ignore one-click unsubscribe (RFC 8058)",
                        missing.join(" and ")
                    ),
                    Location::header("DKIM-Signature", msg.header_line("DKIM-Signature")),
                )
                .help("add List-Unsubscribe and List-Unsubscribe-Post to the signed headers (`h=`) of the DKIM signature"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Entry, classify, entries};
    use crate::finding::Severity;
    use crate::testing::{check_rule, check_rule_with, eml};

    const BULK: &str = "From: News <news@example.com>\nTo: subscriber@example.net\nSubject: May news\nPrecedence: bulk\n";

    fn run(headers: &str) -> Vec<crate::finding::Finding> {
        check_rule(
            "list-unsubscribe",
            &eml(&format!("{BULK}{headers}\nHello\n")),
        )
    }

    #[test]
    fn parses_rfc2369_entries() {
        assert_eq!(
            entries(" <https://example.com/u?a=1>,\n (comment) <mailto:u@example.com> ").unwrap(),
            ["https://example.com/u?a=1", "mailto:u@example.com"]
        );
        assert_eq!(
            entries("<https://example.com/u/\n  8f3a>").unwrap(),
            ["https://example.com/u/8f3a"]
        );
        assert!(entries("https://example.com/u").is_err());
        assert!(entries("<https://example.com/u").is_err());
        assert!(entries("").unwrap().is_empty());
        assert_eq!(classify("https://example.com/x"), Entry::Https);
        assert_eq!(classify("MAILTO:u@example.com?subject=x"), Entry::Mailto);
        assert_eq!(classify("{{unsubscribe_url}}"), Entry::Placeholder);
        assert_eq!(classify("https://example.com/u/{{token}}"), Entry::Https);
        for bad in [
            "http://example.com/x",
            "ftp://example.com",
            "https://",
            "mailto:nobody",
            "x",
        ] {
            assert!(matches!(classify(bad), Entry::Bad(_)), "{bad}");
        }
    }

    #[test]
    fn missing_header_is_an_error() {
        let f = run("");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Error);
        assert!(
            f[0].message
                .contains("bulk mail (Precedence: bulk) without"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn https_needs_one_click() {
        let f = run("List-Unsubscribe: <https://example.com/u/8f3a>\n");
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.contains("no `List-Unsubscribe-Post`"),
            "{}",
            f[0].message
        );
        assert!(!f[0].message.contains("8f3a"));
        let wrong = run("List-Unsubscribe: <https://example.com/u>\nList-Unsubscribe-Post: yes\n");
        assert_eq!(
            wrong[0].location.header.as_deref(),
            Some("List-Unsubscribe-Post")
        );
        let good = run(
            "List-Unsubscribe: <https://example.com/u>, <mailto:u@example.com>\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\n",
        );
        assert!(good.is_empty(), "{good:?}");
    }

    #[test]
    fn mailto_only_is_a_warning_and_bad_entries_errors() {
        let f = run("List-Unsubscribe: <mailto:leave@example.com?subject=x>\n");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Warning);
        let f = run(
            "List-Unsubscribe: <http://example.com/u/secret-token>, <mailto:leave@example.com>\n",
        );
        assert_eq!(f.len(), 2, "{f:?}");
        assert_eq!(f[0].severity, Severity::Error);
        assert!(f[0].message.contains("plain http"), "{}", f[0].message);
        assert!(!f[0].message.contains("secret-token"));
        let f = run("List-Unsubscribe: https://example.com/u\n");
        assert!(f[0].message.contains("malformed"), "{}", f[0].message);
    }

    #[test]
    fn dkim_must_cover_the_headers() {
        let headers = "List-Unsubscribe: <https://example.com/u>\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\n";
        let unsigned_headers = format!(
            "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s1; h=from:to:subject; bh=x; b=y\n{headers}"
        );
        let f = run(&unsigned_headers);
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "the DKIM signature (d=example.com) does not cover List-Unsubscribe and List-Unsubscribe-Post, so mailbox providers ignore one-click unsubscribe (RFC 8058)"
        );
        let half =
            unsigned_headers.replace("h=from:to:subject", "h=from:to:subject:list-unsubscribe");
        assert!(
            run(&half)[0]
                .message
                .contains("does not cover List-Unsubscribe-Post,")
        );
        let signed = format!(
            "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s1;\n h=from:to:subject:List-Unsubscribe:List-Unsubscribe-Post; bh=x; b=y\n{headers}"
        );
        assert!(run(&signed).is_empty());
    }

    #[test]
    fn ordinary_mail_and_list_relays_are_silent() {
        let personal = eml("From: a@example.com\nTo: b@example.net\nSubject: hi\n\nhi\n");
        assert!(check_rule("list-unsubscribe", &personal).is_empty());
        let relay = eml(
            "From: a@example.com\nTo: devel@lists.example.org\nSubject: build\nPrecedence: list\nList-Post: <mailto:devel@lists.example.org>\nList-Unsubscribe: <http://lists.example.org/listinfo/devel>\n\nhi\n",
        );
        assert!(check_rule("list-unsubscribe", &relay).is_empty());
        let always = check_rule_with("[bulk]\nalways = true\n", "list-unsubscribe", &personal);
        assert_eq!(always.len(), 1);
        assert!(always[0].message.contains("[bulk] always = true"));
    }

    #[test]
    fn bulk_by_audience_needs_no_header_but_a_given_one_is_checked() {
        let to: Vec<String> = (0..30).map(|i| format!("p{i}@example.net")).collect();
        let letter = eml(&format!(
            "From: a@example.com\nBcc: {}\nSubject: hi\n\nhi\n",
            to.join(", ")
        ));
        assert!(check_rule("list-unsubscribe", &letter).is_empty());
        let internal = eml(
            "From: comms@example.com\nTo: all-staff@example.com\nSubject: Canteen\nPrecedence: bulk\n\nhi\n",
        );
        assert!(check_rule("list-unsubscribe", &internal).is_empty());
        let f = check_rule_with("[bulk]\nalways = true\n", "list-unsubscribe", &internal);
        assert_eq!(f.len(), 1);
    }
}
