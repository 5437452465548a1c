use super::shared::NoOptions;
use super::{Context, Rule, declare_rule, plural};
use crate::config::{OptionError, RuleSettings};
use crate::finding::{Diagnostic, Location, Severity};
use crate::message::{BodyPart, HtmlLink, url_host, url_scheme};
use std::borrow::Cow;

declare_rule! {
    /// ## What it checks
    /// Links in HTML bodies:
    ///
    /// - an error for a `javascript:`, `vbscript:` or `data:` link, in any
    ///   message;
    /// - info for a plain `http://` link in bulk mail (see
    ///   `list-unsubscribe`). In personal mail an http link to someone's old
    ///   site is simply the link there is.
    ///
    /// Links in quoted history (a `<blockquote type="cite">`, a Gmail or
    /// Outlook reply block) are someone else's and are not read.
    ///
    /// ## Why it matters
    /// Mail clients do not run script links and most block `data:` links;
    /// spam and phishing filters treat them as attacks, so one such link can
    /// send a whole campaign to spam. Plain http links can be read and
    /// changed on the way, browsers mark the pages "Not secure", and an http
    /// tracking or unsubscribe link leaks the recipient's token.
    ///
    /// ## Example
    /// ```text
    /// <a href="javascript:openSurvey()">Take the survey</a>
    /// <a href="http://example.com/offers">See the offers</a>
    /// ```
    ///
    /// ## How to fix
    /// Link to an https page instead of running script or embedding data,
    /// and use https for every link (and for the tracking domain of your
    /// mailing tool).
    ///
    /// ## Options
    /// None besides `severity`.
    id: "insecure-link",
    severity: Error,
    summary: "javascript: or data: links; plain http links in bulk mail",
    build: InsecureLink::build,
}

struct InsecureLink;

impl InsecureLink {
    fn build(settings: &RuleSettings) -> Result<Box<dyn Rule>, OptionError> {
        settings.options::<NoOptions>()?;
        Ok(Box::new(InsecureLink))
    }
}

/// A link as a finding shows it, by its host (without its path or query:
/// tokens).
fn shown(scheme: &str, host: Option<&str>) -> String {
    match host {
        Some(host) => format!("`{scheme}://{host}/…`"),
        None => format!("`{scheme}:…`"),
    }
}

/// Links of one kind in a part: how many, the first, and the first three
/// distinct examples (what tells apart how a finding shows them: a
/// scheme, a host).
struct Found<'v, Example> {
    first: Option<&'v HtmlLink>,
    count: u64,
    examples: Vec<Example>,
}

impl<'v, Example: PartialEq> Found<'v, Example> {
    fn new() -> Self {
        Found {
            first: None,
            count: 0,
            examples: Vec::new(),
        }
    }

    /// Past three examples a link is only counted. Until then each link's
    /// example is compared, not written out: a newsletter's hundreds of
    /// links mostly share one host.
    fn add(&mut self, link: &'v HtmlLink, example: impl FnOnce() -> Example) {
        self.first.get_or_insert(link);
        self.count += 1;
        if self.examples.len() < 3 {
            let example = example();
            if !self.examples.contains(&example) {
                self.examples.push(example);
            }
        }
    }

    /// The finding, with each example as `shown` writes it.
    fn report(
        &self,
        out: &mut Vec<Diagnostic>,
        part: &BodyPart,
        severity: Severity,
        what: (&str, &str),
        help: &str,
        shown: impl Fn(&Example) -> String,
    ) {
        let Some(first) = self.first else {
            return;
        };
        let n = self.count;
        out.push(
            Diagnostic::new(
                severity,
                format!(
                    "{} {}: {}",
                    plural(n, "link", "links"),
                    if n == 1 { what.0 } else { what.1 },
                    self.examples
                        .iter()
                        .map(shown)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Location::part(part.mime_type(), part.source_line(first.line)),
            )
            .help(help.to_string()),
        );
    }
}

impl Rule for InsecureLink {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        let bulk = cx.is_bulk();
        for part in &cx.message.body {
            let Some(view) = part.html() else { continue };
            // Examples by scheme, and by host.
            let mut dangerous = Found::new();
            let mut plain_http = Found::new();
            for link in view.links.iter().filter(|l| !l.quoted) {
                // Browsers ignore tabs and newlines inside a scheme (a
                // copy only for the few links that have any; whitespace is
                // a control, a space or not ASCII).
                let href: Cow<'_, str> = if link.href.bytes().any(|b| b <= b' ' || b >= 0x80)
                    && link.href.contains(char::is_whitespace)
                {
                    Cow::Owned(link.href.chars().filter(|c| !c.is_whitespace()).collect())
                } else {
                    Cow::Borrowed(&link.href)
                };
                match url_scheme(&href).as_deref() {
                    Some(s @ ("javascript" | "vbscript" | "data")) => {
                        dangerous.add(link, || s.to_string());
                    }
                    Some("http") if bulk => plain_http.add(link, || url_host(&href)),
                    _ => {}
                }
            }
            dangerous.report(
                out,
                part,
                Severity::Error,
                (
                    "runs script or embeds data instead of opening a page",
                    "run script or embed data instead of opening a page",
                ),
                "link to an https page; mail clients block such links and filters treat them as attacks",
                |scheme: &String| shown(scheme, None),
            );
            plain_http.report(
                out,
                part,
                Severity::Info,
                ("uses plain http", "use plain http"),
                "use https links (and an https tracking domain)",
                |host: &Option<String>| shown("http", host.as_deref()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::finding::Severity;
    use crate::testing::{check_rule, html_eml as html};

    #[test]
    fn script_and_data_links_are_errors_anywhere() {
        let f = check_rule(
            "insecure-link",
            &html(
                "",
                "<a href=\" JavaScript:open()\">x</a><a href=\"data:text/html;base64,PHNj\">y</a>\n<a href=\"java\nscript:x\">z</a>",
            ),
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Error);
        assert_eq!(
            f[0].message,
            "3 links run script or embed data instead of opening a page: `javascript:…`, `data:…`"
        );
        assert_eq!(f[0].location.line, Some(7));
    }

    #[test]
    fn plain_http_is_info_in_bulk_mail_only() {
        let body = "<a href=\"http://example.com/offers?token=secret\">offers</a><a href=\"https://example.com/\">home</a>";
        let f = check_rule("insecure-link", &html("Precedence: bulk\n", body));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Info);
        assert_eq!(
            f[0].message,
            "1 link uses plain http: `http://example.com/…`"
        );
        assert!(check_rule("insecure-link", &html("", body)).is_empty());
    }

    #[test]
    fn quoted_links_are_not_read() {
        let body = "<blockquote type=\"cite\"><a href=\"javascript:x()\">old</a></blockquote>";
        assert!(check_rule("insecure-link", &html("", body)).is_empty());
    }
}
