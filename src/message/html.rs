//! What rules read from an HTML body part: its links, its images and its
//! visible text, from one pass of a real HTML tokenizer.
//!
//! html5ever's tokenizer rather than lol_html, tl or scraper: it is the
//! WHATWG tokenizer used by Servo (entities, attribute quoting, comments,
//! broken markup all handled as browsers and mail clients do), it reports
//! the line of every token, and on its own (without the tree builder) it is
//! one linear pass with no DOM to build. lol_html is built for streaming
//! rewrites and gives no lines; tl is not spec-compliant; scraper builds a
//! whole DOM for CSS selectors we do not need. html5ever 0.40 needs Rust
//! 1.85, below this crate's 1.95.

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, CharacterTokens, EndTag, StartTag, Tag, TagToken, Token, TokenSink,
    TokenSinkResult, Tokenizer, TokenizerOpts,
};
use std::cell::RefCell;

/// An HTML body part as a mail client shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HtmlView {
    /// `<a href>` elements, in document order.
    pub links: Vec<HtmlLink>,
    /// `<img>` elements, in document order.
    pub images: Vec<HtmlImage>,
    /// The text a reader sees: character data outside `<head>`, `<script>`,
    /// `<style>` and comments, entities decoded, each run of whitespace one
    /// space, a line break at the end of each block.
    pub text: String,
}

/// One `<a href="...">`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtmlLink {
    /// The `href` value, entities decoded and trimmed.
    pub href: String,
    /// The link's visible text, whitespace collapsed and trimmed (empty for
    /// an image-only link).
    pub text: String,
    /// Line of the tag within the part's HTML, from 1.
    pub line: usize,
    /// Inside quoted history: a `<blockquote type="cite">` or Gmail quote,
    /// or after a client's reply/forward marker (see [`HtmlView`]).
    pub quoted: bool,
}

/// One `<img>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtmlImage {
    pub src: String,
    /// The `alt` attribute: `None` when absent, `Some("")` when empty (a
    /// decorative image).
    pub alt: Option<String>,
    /// From the `width`/`height` attributes, else the inline style, in
    /// pixels.
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// `display:none` or `visibility:hidden` in its inline style.
    pub hidden: bool,
    /// Line of the tag within the part's HTML, from 1.
    pub line: usize,
    pub quoted: bool,
}

impl HtmlImage {
    /// A 1x1 (or smaller) or hidden image: an open-tracking pixel, never
    /// meant to be seen.
    pub fn is_tracking_pixel(&self) -> bool {
        self.hidden || self.width.is_some_and(|w| w <= 1) || self.height.is_some_and(|h| h <= 1)
    }
}

impl HtmlView {
    /// Tokenizes `html` once and collects the view.
    pub fn parse(html: &str) -> HtmlView {
        let sink = Collector::default();
        let input = BufferQueue::default();
        input.push_back(StrTendril::from_slice(html));
        let tokenizer = Tokenizer::new(sink, TokenizerOpts::default());
        // The sink never asks to run a script, so feeding runs to the end.
        let _ = tokenizer.feed(&input);
        tokenizer.end();
        let state = tokenizer.sink.state.into_inner();
        let mut view = state.view;
        let trimmed = view.text.trim_end().len();
        view.text.truncate(trimmed);
        view
    }
}

/// Elements whose end (or start) is a line break in the visible text.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "br",
    "tr",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "blockquote",
    "hr",
    "ul",
    "ol",
    "dt",
    "dd",
    "pre",
    "center",
];

/// Elements whose content is not shown.
const HIDDEN: &[&str] = &[
    "script", "style", "title", "iframe", "noembed", "noframes", "template",
];

/// Element ids and classes mail clients put where quoted history starts:
/// everything after them is someone else's message.
const REPLY_MARKERS: &[&str] = &[
    "gmail_quote",
    "divRplyFwdMsg",
    "appendonsend",
    "mail-editor-reference-message-container",
    "yahoo_quoted",
    "moz-cite-prefix",
    "OLK_SRC_BODY_SECTION",
];

#[derive(Default)]
struct Collector {
    state: RefCell<State>,
}

#[derive(Default)]
struct State {
    view: HtmlView,
    /// Index in `view.links` of the `<a>` being read.
    open_link: Option<usize>,
    in_head: bool,
    /// Inside `<script>`, `<style>`, `<title>` or another element whose
    /// content is not shown.
    in_hidden: Option<&'static str>,
    /// Open `<blockquote>`s, and whether each is a reply quote.
    blockquotes: Vec<bool>,
    /// How many of them are reply quotes.
    open_cites: usize,
    after_reply_marker: bool,
    /// Whether the last character added to the text was whitespace.
    pending_space: bool,
}

impl State {
    fn quoted(&self) -> bool {
        self.after_reply_marker || self.open_cites > 0
    }

    fn push_text(&mut self, chunk: &str) {
        for c in chunk.chars() {
            if c.is_whitespace() {
                self.pending_space = true;
                continue;
            }
            if self.pending_space {
                if !self.view.text.is_empty() && !self.view.text.ends_with('\n') {
                    self.view.text.push(' ');
                }
                if let Some(link) = self.open_link.and_then(|i| self.view.links.get_mut(i))
                    && !link.text.is_empty()
                {
                    link.text.push(' ');
                }
                self.pending_space = false;
            }
            self.view.text.push(c);
            if let Some(link) = self.open_link.and_then(|i| self.view.links.get_mut(i)) {
                link.text.push(c);
            }
        }
    }

    fn line_break(&mut self) {
        if !self.view.text.is_empty() && !self.view.text.ends_with('\n') {
            self.view.text.push('\n');
        }
        self.pending_space = false;
    }

    fn start_tag(&mut self, tag: &Tag, line: usize) -> TokenSinkResult<()> {
        let name: &str = &tag.name;
        if is_reply_marker(tag) {
            self.after_reply_marker = true;
        }
        match name {
            "head" => self.in_head = true,
            "body" => self.in_head = false,
            "a" => {
                self.open_link = None;
                if let Some(href) = attr(tag, "href") {
                    self.view.links.push(HtmlLink {
                        href: href.trim().to_string(),
                        text: String::new(),
                        line,
                        quoted: self.quoted(),
                    });
                    self.open_link = Some(self.view.links.len() - 1);
                }
            }
            "img" => {
                let style = attr(tag, "style").map(parse_style).unwrap_or_default();
                self.view.images.push(HtmlImage {
                    src: attr(tag, "src").map_or_else(String::new, |s| s.trim().to_string()),
                    alt: attr(tag, "alt").map(|a| a.trim().to_string()),
                    width: attr(tag, "width").and_then(pixels).or(style.width),
                    height: attr(tag, "height").and_then(pixels).or(style.height),
                    hidden: style.hidden,
                    line,
                    quoted: self.quoted(),
                });
            }
            "blockquote" => {
                let cite = attr(tag, "type").is_some_and(|t| t.eq_ignore_ascii_case("cite"))
                    || has_class(tag, "gmail_quote");
                if !tag.self_closing {
                    self.blockquotes.push(cite);
                    self.open_cites += usize::from(cite);
                }
            }
            _ => {}
        }
        if BLOCKS.contains(&name) {
            self.line_break();
        }
        if !tag.self_closing {
            self.in_hidden = HIDDEN
                .iter()
                .find(|h| **h == name)
                .copied()
                .or(self.in_hidden);
        }
        match name {
            "script" => TokenSinkResult::RawData(RawKind::ScriptData),
            "style" | "xmp" | "iframe" | "noembed" | "noframes" => {
                TokenSinkResult::RawData(RawKind::Rawtext)
            }
            "title" | "textarea" => TokenSinkResult::RawData(RawKind::Rcdata),
            _ => TokenSinkResult::Continue,
        }
    }

    fn end_tag(&mut self, tag: &Tag) {
        let name: &str = &tag.name;
        match name {
            "head" => self.in_head = false,
            "a" => self.open_link = None,
            _ if self.in_hidden == Some(name) => self.in_hidden = None,
            "blockquote" => {
                let cite = self.blockquotes.pop().unwrap_or(false);
                self.open_cites = self.open_cites.saturating_sub(usize::from(cite));
            }
            _ => {}
        }
        if BLOCKS.contains(&name) {
            self.line_break();
        }
    }
}

impl TokenSink for Collector {
    type Handle = ();

    fn process_token(&self, token: Token, line_number: u64) -> TokenSinkResult<()> {
        let line = usize::try_from(line_number).unwrap_or(usize::MAX);
        let mut state = self.state.borrow_mut();
        match token {
            TagToken(tag) => match tag.kind {
                StartTag => return state.start_tag(&tag, line),
                EndTag => state.end_tag(&tag),
            },
            CharacterTokens(text) if !state.in_head && state.in_hidden.is_none() => {
                state.push_text(&text);
            }
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

fn attr<'t>(tag: &'t Tag, name: &str) -> Option<&'t str> {
    tag.attrs
        .iter()
        .find(|a| &*a.name.local == name)
        .map(|a| &*a.value)
}

fn has_class(tag: &Tag, class: &str) -> bool {
    attr(tag, "class").is_some_and(|c| c.split_ascii_whitespace().any(|c| c == class))
}

fn is_reply_marker(tag: &Tag) -> bool {
    REPLY_MARKERS
        .iter()
        .any(|m| attr(tag, "id") == Some(*m) || has_class(tag, m))
}

/// `1`, `1px`, ` 0 ` -> pixels; percentages and other units are not.
fn pixels(value: &str) -> Option<u32> {
    let v = value.trim();
    let v = v.strip_suffix("px").unwrap_or(v).trim();
    v.parse::<f32>()
        .ok()
        .filter(|n| n.is_finite() && *n >= 0.0)
        .map(|n| n as u32)
}

#[derive(Default)]
struct InlineStyle {
    width: Option<u32>,
    height: Option<u32>,
    hidden: bool,
}

/// The few declarations of an inline `style` attribute that say whether an
/// image can be seen.
fn parse_style(style: &str) -> InlineStyle {
    let mut out = InlineStyle::default();
    for declaration in style.split(';') {
        let Some((property, value)) = declaration.split_once(':') else {
            continue;
        };
        let property = property.trim().to_ascii_lowercase();
        let value = value
            .trim()
            .trim_end_matches("!important")
            .trim()
            .to_ascii_lowercase();
        match property.as_str() {
            "width" | "max-width" => out.width = out.width.or(pixels(&value)),
            "height" | "max-height" => out.height = out.height.or(pixels(&value)),
            "display" if value == "none" => out.hidden = true,
            "visibility" if value == "hidden" => out.hidden = true,
            _ => {}
        }
    }
    out
}

/// The scheme of a URL, lowercased: `HTTPS://x` -> `https`. `None` when the
/// text does not start with a scheme (a relative or malformed link).
pub fn url_scheme(url: &str) -> Option<String> {
    let (scheme, _) = url.trim_start().split_once(':')?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then(|| scheme.to_ascii_lowercase())
}

/// The host of a URL, as a browser reads it (the WHATWG URL standard):
/// lowercased, percent-decoded, internationalised names in their ASCII
/// (`xn--`) form, numeric IPv4 forms such as `http://3232235777/` as dotted
/// quads, IPv6 without brackets, and without a trailing dot. The user part
/// is skipped, so `https://bank.example@evil.example/` has the host
/// `evil.example`, and a backslash ends the authority. `None` when the URL
/// has no host (`mailto:`, a relative link) or is not a URL at all.
pub fn url_host(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url.trim()).ok()?;
    let host = match parsed.host()? {
        url::Host::Domain(name) => name.trim_end_matches('.').to_ascii_lowercase(),
        url::Host::Ipv4(address) => address.to_string(),
        url::Host::Ipv6(address) => address.to_string(),
    };
    (!host.is_empty()).then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_links_images_and_text() {
        let html = "<html><head><title>Ignored</title><style>p{color:red}</style></head>\n\
            <body><p>Hello &amp; welcome,\n   <b>Ann</b></p>\n\
            <a href=\" https://news.example.com/a?x=1&amp;y=2 \">Read   <i>more</i></a>\n\
            <img src=\"logo.png\" alt=\"\"><img src=\"p.gif\" width=\"1\" height=\"1\">\n\
            <img src=\"hero.jpg\" style=\"width: 600px\"><script>var s = '<a href=x>';</script>\n\
            <!-- <a href=\"https://hidden.example\">no</a> --></body></html>";
        let view = HtmlView::parse(html);
        assert_eq!(view.text, "Hello & welcome, Ann\nRead more");
        assert_eq!(view.links.len(), 1);
        let link = &view.links[0];
        assert_eq!(link.href, "https://news.example.com/a?x=1&y=2");
        assert_eq!(link.text, "Read more");
        assert_eq!(link.line, 4);
        assert!(!link.quoted);
        assert_eq!(view.images.len(), 3);
        assert_eq!(view.images[0].alt.as_deref(), Some(""));
        assert!(view.images[1].is_tracking_pixel());
        assert_eq!(view.images[2].alt, None);
        assert_eq!(view.images[2].width, Some(600));
        assert!(!view.images[2].is_tracking_pixel());
        assert_eq!(view.images[2].line, 6);
    }

    #[test]
    fn quoted_history_is_marked() {
        let html = "<p><a href=\"https://mine.example\">mine</a></p>\
            <blockquote><a href=\"https://pull.example\">pull quote</a></blockquote>\
            <blockquote type=\"cite\"><a href=\"https://theirs.example\">theirs</a></blockquote>\
            <div class=\"gmail_quote\">On Mon wrote:<a href=\"https://older.example\">x</a></div>";
        let quoted: Vec<bool> = HtmlView::parse(html)
            .links
            .iter()
            .map(|l| l.quoted)
            .collect();
        assert_eq!(quoted, [false, false, true, true]);
    }

    #[test]
    fn broken_markup_does_not_panic() {
        for html in [
            "",
            "<a href",
            "<a href='x'>unclosed",
            "</a></blockquote></blockquote>",
            "<img",
            "<<<>>>&&&;",
            "<a href=x><a href=y>z</a>",
        ] {
            let _ = HtmlView::parse(html);
        }
        let nested = HtmlView::parse("<a href=x><a href=y>z</a>");
        assert_eq!(nested.links[0].text, "");
        assert_eq!(nested.links[1].text, "z");
    }

    #[test]
    fn hosts_and_schemes() {
        assert_eq!(url_scheme("HTTPS://x.example"), Some("https".into()));
        assert_eq!(url_scheme("mailto:a@b.example"), Some("mailto".into()));
        assert_eq!(url_scheme("/relative:path"), None);
        assert_eq!(url_scheme("www.example.com"), None);
        for (url, host) in [
            ("https://News.Example.com/path", Some("news.example.com")),
            ("https://bank.example@evil.example/", Some("evil.example")),
            ("http://example.com:8080?q", Some("example.com")),
            ("https://evil.example\\@bank.example", Some("evil.example")),
            ("https://example.com./", Some("example.com")),
            ("https://[2001:db8::1]/", Some("2001:db8::1")),
            // Browsers skip extra slashes: this opens the host `path`.
            ("https:///path", Some("path")),
            ("mailto:a@b.example", None),
            ("https://exa mple.com/", None),
            ("https://%65vil.example/", Some("evil.example")),
            ("https://bank%2Eexample/", Some("bank.example")),
            ("http://3232235777/", Some("192.168.1.1")),
            ("http://0x7f.1/", Some("127.0.0.1")),
            ("http://0300.0250.1.1/", Some("192.168.1.1")),
            ("https://BÜCHER.example/", Some("xn--bcher-kva.example")),
            ("https://%zz.example/", None),
            ("/relative/path", None),
        ] {
            assert_eq!(url_host(url).as_deref(), host, "{url}");
        }
    }
}
