use super::{Context, Rule, declare_rule, thousands};
use crate::config::{OptionError, RuleSettings};
use crate::finding::{Diagnostic, Location, Severity};
use crate::gate;
use crate::message::{BodyKind, BodyPart, count_bytes};
use serde::Deserialize;
use std::sync::LazyLock;

declare_rule! {
    /// ## What it checks
    /// A message whose body is HTML without a `text/plain` alternative, and
    /// a text alternative that says next to nothing: empty, only a pointer
    /// to the web version ("View this email in your browser: <URL>"), or
    /// under 10% of the HTML's visible text (counted without whitespace and
    /// without URLs, which the HTML's visible text does not have either;
    /// compared only when the HTML has at least 200 visible characters, so
    /// a short note is not measured). HTML without visible text (a pasted
    /// image) is not checked.
    ///
    /// ## Why it matters
    /// Spam filters score HTML-only mail (SpamAssassin's `MIME_HTML_ONLY`),
    /// and an alternative that only says "view this email in your browser"
    /// is read the same way. Text-only clients, screen-reader set-ups,
    /// smartwatch previews and people who turn HTML off see the text part,
    /// or nothing.
    ///
    /// ## Example
    /// ```text
    /// Content-Type: multipart/alternative
    ///   text/plain: "View this email in your browser."
    ///   text/html:  a 4,000-character newsletter
    /// ```
    ///
    /// ## How to fix
    /// Send `multipart/alternative` with a text part that carries the same
    /// content as the HTML: most mailing tools generate one from the HTML
    /// if asked; check what it says.
    ///
    /// ## Options
    /// ```toml
    /// [rules.html-only]
    /// min_text_ratio = 0.1   # text alternative / HTML visible text, below which it warns
    /// min_html_text = 200    # visible HTML characters before the ratio is checked
    /// ```
    id: "html-only",
    severity: Warning,
    summary: "HTML body without a real text/plain alternative",
    build: HtmlOnly::build,
}

#[derive(Deserialize, Debug, PartialEq)]
#[serde(default, deny_unknown_fields)]
struct HtmlOnly {
    min_text_ratio: f64,
    min_html_text: u64,
}

impl Default for HtmlOnly {
    fn default() -> Self {
        HtmlOnly {
            min_text_ratio: 0.1,
            min_html_text: 200,
        }
    }
}

impl HtmlOnly {
    fn build(settings: &RuleSettings) -> Result<Box<dyn Rule>, OptionError> {
        let rule: HtmlOnly = settings.options()?;
        if !(0.0..=1.0).contains(&rule.min_text_ratio) {
            return Err(OptionError::new(
                "min_text_ratio",
                "must be between 0 and 1",
            ));
        }
        Ok(Box::new(rule))
    }
}

/// Characters that are not whitespace.
fn visible_chars(text: &str) -> u64 {
    text.chars().filter(|c| !c.is_whitespace()).count() as u64
}

fn html_chars(part: &BodyPart) -> u64 {
    part.html().map_or(0, |v| view_visible_chars(&v.text))
}

/// [`visible_chars`] of an HTML view's text, where the only whitespace is
/// the single space or line break the view puts between words: the
/// characters (bytes that do not continue one) that are neither, counted
/// in SIMD blocks.
fn view_visible_chars(text: &str) -> u64 {
    count_bytes(text.as_bytes(), |b| {
        !matches!(b, b' ' | b'\n') && (b as i8) >= -0x40
    }) as u64
}

/// What a text alternative says in words of its own: its visible
/// characters without URLs (the HTML's link targets are not visible text
/// either) and without lines that only point to the web version.
/// The visible characters of the texts' own words, counted line by line
/// until `enough` says the count can no longer make a finding: a
/// newsletter's text/plain part is seldom read past its first lines.
fn own_text_chars<'t>(texts: impl Iterator<Item = &'t str>, enough: impl Fn(u64) -> bool) -> u64 {
    let mut count = 0;
    for line in texts.flat_map(str::lines) {
        if points_to_web_version(line) {
            continue;
        }
        count += line
            .split_whitespace()
            .filter(|word| !is_url(word))
            .map(visible_chars)
            .sum::<u64>();
        if enough(count) {
            break;
        }
    }
    count
}

fn is_url(word: &str) -> bool {
    let word = word.trim_start_matches(['<', '(', '[', '"', '\'']);
    ["http://", "https://", "www.", "mailto:"]
        .iter()
        .any(|scheme| {
            word.get(..scheme.len())
                .is_some_and(|start| start.eq_ignore_ascii_case(scheme))
        })
}

/// "View this email in your browser", "Having trouble reading this
/// email? View it online", "Web version". Every `\b` stands beside an
/// ASCII letter (see [`gate::Screened`]).
static WEB_VERSION: LazyLock<gate::Screened> = LazyLock::new(|| {
    gate::Screened::gated(concat!(
        r"(?i)\b(?:view|read|see|open|display)\b.{0,40}\b(?:browser|online|web\s*version|on\s+the\s+web|on\s+our\s+website)\b",
        r"|\btrouble\s+(?:viewing|reading|seeing|displaying)\b",
        r"|^\W*(?:web|online|browser)\s*version\W*$",
    ))
});

/// A word of every [`WEB_VERSION`] alternative (see `gate.rs`).
static WEB_VERSION_WORDS: LazyLock<gate::Words> =
    LazyLock::new(|| gate::words(&["browser", "online", "web", "trouble"]));

/// Whether a line only points to the web version of the message.
fn points_to_web_version(line: &str) -> bool {
    // Such a line is short; bounded to keep a long line cheap.
    line.len() <= 200 && WEB_VERSION_WORDS.is_match(line) && WEB_VERSION.is_match(line)
}

impl Rule for HtmlOnly {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        let body = &cx.message.body;
        let Some(first_html) = body.iter().find(|p| p.kind == BodyKind::Html) else {
            return;
        };
        let html: u64 = body
            .iter()
            .filter(|p| p.kind == BodyKind::Html)
            .map(html_chars)
            .sum();
        // Nothing to say in words (an image, an empty draft): nothing to
        // compare.
        if html == 0 {
            return;
        }
        let Some(first_text) = body.iter().find(|p| p.kind == BodyKind::Text) else {
            out.push(
                Diagnostic::new(
                    Severity::Warning,
                    format!(
                        "the body is HTML only ({} visible characters), without a text/plain alternative",
                        thousands(html)
                    ),
                    Location::part("text/html", first_html.line),
                )
                .help("send multipart/alternative with a text/plain part carrying the same content"),
            );
            return;
        };
        let texts = || body.iter().filter(|p| p.kind == BodyKind::Text);
        // Any text at all is enough when the HTML is short, else a tenth
        // (by default) of the HTML's.
        let short = html < self.min_html_text;
        let enough =
            |text: u64| text > 0 && (short || (text as f64) >= self.min_text_ratio * html as f64);
        let text = own_text_chars(texts().map(|p| p.text.as_str()), enough);
        let location = Location::part("text/plain", first_text.line);
        if text == 0 && texts().any(|p| visible_chars(&p.text) > 0) {
            out.push(
                Diagnostic::new(
                    Severity::Warning,
                    format!(
                        "the text/plain alternative only points to the web version while the HTML has {} visible characters",
                        thousands(html)
                    ),
                    location,
                )
                .help("put the message's content in the text/plain part, not only a link to it"),
            );
            return;
        }
        if text == 0 {
            out.push(
                Diagnostic::new(
                    Severity::Warning,
                    format!(
                        "the text/plain alternative is empty while the HTML has {} visible characters",
                        thousands(html)
                    ),
                    location,
                )
                .help("put the message's content in the text/plain part too"),
            );
            return;
        }
        if html >= self.min_html_text && (text as f64) < self.min_text_ratio * html as f64 {
            let percent = (text as f64 * 100.0 / html as f64).round();
            out.push(
                Diagnostic::new(
                    Severity::Warning,
                    format!(
                        "the text/plain alternative has {} visible characters, {percent}% of the HTML's {}",
                        thousands(text),
                        thousands(html)
                    ),
                    location,
                )
                .help("make the text/plain part carry the same content as the HTML, not only a link to it"),
            );
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn visible_characters_of_a_view_are_counted_by_byte() {
        use crate::message::HtmlView;
        // More than one block of bytes counted at once, a character across their ends.
        let long = "<p>Gr\u{fc}\u{df}e  x</p>".repeat(100);
        for html in [
            "<p>Hello &amp; welcome,\n <b>Ann</b></p>",
            "Gr\u{fc}\u{df}e\u{a0}\u{3000}\u{65e5}\u{672c} <br> x",
            "",
            &long,
        ] {
            let text = HtmlView::parse(html).text;
            assert_eq!(
                super::view_visible_chars(&text),
                super::visible_chars(&text),
                "{text:?}"
            );
        }
    }

    #[test]
    fn documented_options_are_the_defaults() {
        assert_eq!(
            crate::testing::documented_options::<super::HtmlOnly>(&super::RULE),
            super::HtmlOnly::default()
        );
    }
    use crate::finding::Severity;
    use crate::testing::{check_rule, check_rule_with, eml};

    fn alternative(text: &str, html: &str) -> crate::message::Message {
        eml(&format!(
            "From: a@example.com\nTo: b@example.net\nSubject: news\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=\"b\"\n\n--b\nContent-Type: text/plain; charset=utf-8\n\n{text}\n--b\nContent-Type: text/html; charset=utf-8\n\n{html}\n--b--\n"
        ))
    }

    fn long_html() -> String {
        format!(
            "<html><body><p>{}</p></body></html>",
            "Our spring update has news. ".repeat(20)
        )
    }

    #[test]
    fn html_only_warns() {
        let msg = eml(&format!(
            "From: a@example.com\nTo: b@example.net\nSubject: news\nContent-Type: text/html\n\n{}\n",
            long_html()
        ));
        let f = check_rule("html-only", &msg);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(
            f[0].message
                .starts_with("the body is HTML only (460 visible characters)"),
            "{}",
            f[0].message
        );
        assert_eq!(f[0].location.line, Some(6));
    }

    #[test]
    fn tiny_or_empty_alternative_warns() {
        let short = "Our spring update is out now.";
        let f = check_rule("html-only", &alternative(short, &long_html()));
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message
                .contains("24 visible characters, 5% of the HTML's 460"),
            "{}",
            f[0].message
        );
        let f = check_rule("html-only", &alternative("  ", "<p>Hello</p>"));
        assert!(f[0].message.contains("is empty"), "{}", f[0].message);
        let config = "[rules.html-only]\nmin_text_ratio = 0.05\n";
        assert!(check_rule_with(config, "html-only", &alternative(short, &long_html())).is_empty());
    }

    #[test]
    fn a_pointer_to_the_web_version_is_no_alternative() {
        let html = "<p>Our spring update has news for you, with dates.</p>";
        for text in [
            "View this email in your browser.",
            "View this email in your browser \u{2192}",
            "View this email in your browser: https://news.example.com/v/8f3a2c-0b9d-4c1e-a7f5-31d2e6b8c940?utm_source=newsletter&utm_medium=email",
            "Having trouble reading this email?\n<https://news.example.com/v/8f3a2c>\n",
        ] {
            let f = check_rule("html-only", &alternative(text, html));
            assert_eq!(f.len(), 1, "{text}");
            assert!(
                f[0].message
                    .starts_with("the text/plain alternative only points to the web version"),
                "{}",
                f[0].message
            );
        }
        // The same line above a real text is fine.
        let text = "View this email in your browser: https://news.example.com/v/8f3a2c\n\nOur spring update has news for you, with dates.";
        assert!(check_rule("html-only", &alternative(text, html)).is_empty());
    }

    #[test]
    fn full_alternatives_and_short_notes_are_silent() {
        let text = "Our spring update has news. ".repeat(20);
        assert!(check_rule("html-only", &alternative(&text, &long_html())).is_empty());
        assert!(
            check_rule(
                "html-only",
                &alternative("Thanks!", "<p>Thanks! See you at the <b>meeting</b>.</p>")
            )
            .is_empty()
        );
        let plain = eml("From: a@example.com\nTo: b@example.net\nSubject: hi\n\nhello\n");
        assert!(check_rule("html-only", &plain).is_empty());
    }
}
