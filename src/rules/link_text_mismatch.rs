use super::shared::NoOptions;
use super::{Context, Rule, declare_rule, plural};
use crate::audience::{has_known_suffix, registrable};
use crate::config::{OptionError, RuleSettings};
use crate::finding::{Diagnostic, Location, Severity};
use crate::message::{url_host, url_scheme};
use std::borrow::Cow;

declare_rule! {
    /// ## What it checks
    /// HTML links whose visible text is a web address or a domain
    /// (`https://example.com/account`, `www.example.com`, `example.com`)
    /// while the link goes to a different registrable domain
    /// (`example.com` and `news.example.com` are the same one;
    /// `example.com` and `example-login.net` are not). Only links in the
    /// sender's own text: quoted history (a `<blockquote type="cite">`, a
    /// Gmail or Outlook reply block) is someone else's. Links rewritten by
    /// a recipient's security gateway (Outlook Safe Links, Proofpoint,
    /// Mimecast) are skipped: they appear in quoted mail, not in what the
    /// sender wrote. A click-tracking redirect (`click.esp.example/...`)
    /// is still a mismatch, and the finding says it looks like one.
    ///
    /// Bare file names that look like domains (`README.md`, `setup.py`,
    /// `archive.zip`) are not read as domains.
    ///
    /// ## Why it matters
    /// A link that shows one address and opens another is what phishing
    /// looks like, and spam filters score it as such (SpamAssassin's
    /// `HTTPS_HTTP_MISMATCH`, `URI_MISMATCH`-style rules; Gmail's phishing
    /// warnings). Mailing tools that wrap every link in a tracking redirect
    /// make a genuine newsletter look the same way when its text spells out
    /// the address.
    ///
    /// ## Example
    /// ```text
    /// <a href="https://click.esp.example/ls/c?u=8f3a">https://example.com/offers</a>
    /// ```
    ///
    /// ## How to fix
    /// Use words as link text ("See the offers") instead of an address, or
    /// make the link go where its text says. For tracking, use a tracking
    /// domain of your own (a CNAME such as `links.example.com`), so the
    /// registrable domains match.
    ///
    /// ## Options
    /// None besides `severity`.
    id: "link-text-mismatch",
    severity: Warning,
    summary: "A link's text shows one web address and the link goes to another domain",
    build: LinkTextMismatch::build,
}

struct LinkTextMismatch;

impl LinkTextMismatch {
    fn build(settings: &RuleSettings) -> Result<Box<dyn Rule>, OptionError> {
        settings.options::<NoOptions>()?;
        Ok(Box::new(LinkTextMismatch))
    }
}

/// Top-level domains that are also common file extensions: a bare
/// `notes.md` or `setup.py` as link text is a file name.
const FILE_LIKE_TLDS: &[&str] = &[
    "md", "py", "sh", "rs", "pl", "pm", "ps", "zip", "mov", "ai", "so", "ml", "cc", "cs", "js",
    "php", "java", "doc", "txt",
];

/// Security gateways of the recipient's organisation that rewrite links
/// on arrival.
const GATEWAYS: &[&str] = &[
    "safelinks.protection.outlook.com",
    "urldefense.com",
    "urldefense.proofpoint.com",
    "mimecast.com",
    "mimecastprotect.com",
    "linkprotect.cudasvc.com",
    "secure-web.cisco.com",
];

/// First host labels and path parts of click-tracking redirects.
const TRACKING_LABELS: &[&str] = &[
    "click", "clicks", "links", "link", "track", "tracking", "trk", "t", "r", "e", "email", "go",
    "lnk", "url", "ct", "em", "mail",
];

/// The host a link's visible text names, if the text is an address.
fn text_host(text: &str) -> Option<Cow<'_, str>> {
    let text = text
        .trim()
        .trim_start_matches(['<', '(', '['])
        .trim_end_matches(['>', ')', ']', '.', ',', ';', ':']);
    if text.is_empty()
        || text.contains(char::is_whitespace)
        || (text.contains('@') && !text.contains("://"))
    {
        return None;
    }
    if let Some(scheme) = url_scheme(text) {
        return matches!(&*scheme, "http" | "https")
            .then(|| url_host(text).map(Cow::Owned))
            .flatten();
    }
    let host = text.split(['/', '?', '#', ':']).next().unwrap_or_default();
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = host.split('.').collect();
    let well_formed = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_alphabetic()));
    if !well_formed || !has_known_suffix(&host) {
        return None;
    }
    let tld = labels.last().copied().unwrap_or_default();
    if !host.starts_with("www.") && FILE_LIKE_TLDS.contains(&tld) {
        return None;
    }
    Some(Cow::Owned(host))
}

/// The organisation a host belongs to: its registrable domain, or the
/// host itself (an IP address, a name under an unknown suffix).
fn site(host: &str) -> &str {
    registrable(host).unwrap_or(host)
}

fn is_gateway(host: &str) -> bool {
    GATEWAYS.iter().any(|g| {
        host.strip_suffix(g)
            .is_some_and(|rest| rest.is_empty() || rest.ends_with('.'))
    })
}

/// Whether a link looks like a click-tracking redirect: a host such as
/// `click.` or `links.`, a `/click`, `/track` or `/ls/` path, or the
/// domain its text shows inside its query.
fn looks_like_tracking(href: &str, host: &str, shown: &str) -> bool {
    let first = host.split('.').next().unwrap_or_default();
    let lower = href.to_ascii_lowercase();
    let path = lower
        .split_once("://")
        .map_or("", |(_, rest)| rest)
        .split_once('/')
        .map_or("", |(_, p)| p);
    TRACKING_LABELS.contains(&first)
        || first.starts_with("click")
        || first.starts_with("track")
        || ["click", "track", "redirect"]
            .iter()
            .any(|p| path.contains(p))
        || ["ls/", "c/", "r/"].iter().any(|p| path.starts_with(p))
        || ["%2f%2f", "=https://", "=http://"]
            .iter()
            .any(|before| holds_pair(&lower, before, shown))
}

/// Whether `text` holds `first` followed by `second`, without a copy of
/// the two joined for each link. Every `first` is tried: `%2f%2f` may
/// overlap itself (`%2f%2f%2f`).
fn holds_pair(text: &str, first: &str, second: &str) -> bool {
    let mut from = 0;
    while let Some(found) = text[from..].find(first) {
        let at = from + found;
        if text[at + first.len()..].starts_with(second) {
            return true;
        }
        // `first` starts with an ASCII byte: the next one is a character's.
        from = at + 1;
    }
    false
}

impl Rule for LinkTextMismatch {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        for part in &cx.message.body {
            let Some(view) = part.html() else { continue };
            let mut count = 0u64;
            let mut tracking = 0u64;
            let mut examples = Vec::new();
            let mut first_line = None;
            for link in view.links.iter().filter(|l| !l.quoted) {
                let Some(shown) = text_host(&link.text) else {
                    continue;
                };
                if !matches!(url_scheme(&link.href).as_deref(), Some("http" | "https")) {
                    continue;
                }
                let Some(target) = url_host(&link.href) else {
                    continue;
                };
                if is_gateway(&target) || site(&shown) == site(&target) {
                    continue;
                }
                count += 1;
                let redirect = looks_like_tracking(&link.href, &target, &shown);
                if redirect {
                    tracking += 1;
                }
                first_line = first_line.or(part.source_line(link.line));
                if examples.len() < 3 {
                    examples.push(format!(
                        "`{}` goes to {}{}",
                        shown,
                        target,
                        if redirect {
                            " (a tracking redirect)"
                        } else {
                            ""
                        }
                    ));
                }
            }
            if count == 0 {
                continue;
            }
            let mut message = format!(
                "{} {} one domain and {} to another: {}",
                plural(count, "link", "links"),
                if count == 1 { "shows" } else { "show" },
                if count == 1 { "goes" } else { "go" },
                examples.join("; ")
            );
            let help = if tracking == count {
                message.push_str("; click-tracking redirects whose text names another domain are what spam filters read as phishing");
                "use words as link text, or a tracking domain of your own (links.yourdomain) so the domains match"
            } else {
                "make the link go where its text says, or use words instead of an address as its text"
            };
            out.push(
                Diagnostic::new(
                    Severity::Warning,
                    message,
                    Location::part(part.mime_type(), first_line.or(part.line)),
                )
                .help(help),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::text_host;
    use crate::testing::{check_rule, eml};

    fn html(body: &str) -> crate::message::Message {
        eml(&format!(
            "From: a@example.com\nTo: b@example.net\nSubject: news\nContent-Type: text/html\n\n<p>Hello</p>\n{body}\n"
        ))
    }

    #[test]
    fn reads_addresses_in_link_text() {
        for (text, host) in [
            ("https://Example.com/account", Some("example.com")),
            ("www.example.co.uk/offers", Some("www.example.co.uk")),
            ("example.com", Some("example.com")),
            ("<news.example.org>", Some("news.example.org")),
            ("Read more", None),
            ("README.md", None),
            ("setup.py", None),
            ("report.pdf", None),
            ("Node.js", None),
            ("ann@example.com", None),
            ("v1.2", None),
            ("mailto:ann@example.com", None),
        ] {
            assert_eq!(text_host(text).as_deref(), host, "{text}");
        }
    }

    #[test]
    fn warns_on_another_domain() {
        let f = check_rule(
            "link-text-mismatch",
            &html("<a href=\"https://example-login.net/x\">https://example.com/account</a>"),
        );
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "1 link shows one domain and goes to another: `example.com` goes to example-login.net"
        );
        assert_eq!(f[0].location.line, Some(7));
    }

    #[test]
    fn says_when_it_is_a_tracking_redirect() {
        let f = check_rule(
            "link-text-mismatch",
            &html(
                "<a href=\"https://click.esp.example/ls/c?u=1\">example.com/offers</a>\n<a href=\"https://click.esp.example/ls/c?u=2\">www.example.com</a>",
            ),
        );
        assert_eq!(f.len(), 1);
        assert!(f[0].message.starts_with("2 links show one domain and go to another: `example.com` goes to click.esp.example (a tracking redirect)"), "{}", f[0].message);
        assert!(f[0].message.contains("spam filters read as phishing"));
    }

    #[test]
    fn silent_for_matching_words_quoted_and_gateways() {
        for body in [
            "<a href=\"https://www.example.com/a\">example.com</a>",
            "<a href=\"https://shop.example.co.uk/\">https://example.co.uk</a>",
            "<a href=\"https://links.example.com/x\">Read the offers</a>",
            "<a href=\"https://github.example/x/README.md\">README.md</a>",
            "<a href=\"mailto:info@example.org\">example.com</a>",
            "<blockquote type=\"cite\"><a href=\"https://evil.example/\">bank.example.com</a></blockquote>",
            "<a href=\"https://eur01.safelinks.protection.outlook.com/?url=https%3A%2F%2Fexample.org\">https://example.org</a>",
        ] {
            assert!(
                check_rule("link-text-mismatch", &html(body)).is_empty(),
                "{body}"
            );
        }
    }

    proptest::proptest! {
        /// `holds_pair` finds what a search for the two joined finds.
        #[test]
        fn pairs_are_found_as_joined(
            pieces in proptest::collection::vec(proptest::sample::select(&["%2f", "=", "https://", "a.example", "a", ".", "\u{e9}"][..]), 0..12),
            first in proptest::sample::select(&["%2f%2f", "=https://", "=http://"][..]),
            second in proptest::sample::select(&["a.example", "a.a", "a"][..]),
        ) {
            let text = pieces.concat();
            proptest::prop_assert_eq!(
                super::holds_pair(&text, first, second),
                text.contains(&format!("{first}{second}"))
            );
        }
    }
}
