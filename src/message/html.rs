//! What rules read from an HTML body part: its links, its images and its
//! visible text, from one pass of a real HTML tokenizer.
//!
//! html5gum's tokenizer: a WHATWG tokenizer (entities, attribute quoting,
//! comments, raw text and script states, broken markup all handled as
//! browsers and mail clients do; it passes the html5lib tokenizer tests)
//! that hands every piece to an emitter of our own, so that one pass over
//! the part builds the view without a token, tag or attribute allocated on
//! the way. html5ever's tokenizer, used before, gave the same tokens but
//! built each tag with its attributes as interned names and shared buffers:
//! on the HTML-heavy messages of the SpamAssassin corpus it took several
//! times as long (see BENCHMARKS.md). lol_html is built for streaming
//! rewrites and gives no positions; tl is not spec-compliant; scraper builds
//! a whole DOM for CSS selectors we do not need.

use html5gum::{Emitter, Error, State};
use std::borrow::Cow;

mod entities;
mod scan;

/// An HTML body part as a mail client shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HtmlView {
    /// `<a href>` elements, in document order.
    pub links: Vec<HtmlLink>,
    /// `<img>` elements, in document order.
    pub images: Vec<HtmlImage>,
    /// The text a reader sees: character data outside `<head>`, `<script>`,
    /// `<style>` and comments, entities decoded, each run of whitespace one
    /// space, table cells apart, blocks on lines of their own and
    /// paragraphs set off by blank lines (see [`Gap`]). Rules read it as
    /// the part's plain text ([`BodyPart::plain`](super::BodyPart::plain)).
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
        // A byte order mark opening the part is not text: browsers drop it
        // when they decode the part, as html5ever's tokenizer did.
        let html = html.strip_prefix('\u{feff}').unwrap_or(html);
        let mut state = Builder {
            html,
            line: 1,
            ..Builder::default()
        };
        scan::tokenize(&mut state, html);
        let mut view = state.view;
        let trimmed = view.text.trim_end().len();
        view.text.truncate(trimmed);
        view
    }
}

/// What the view does at an element's tags.
#[derive(Clone, Copy, Default)]
struct Element {
    kind: Kind,
    /// What its start and its end put in the visible text.
    gap: Gap,
    /// Its content is not shown.
    hidden: bool,
    /// Its name (lower case), for the elements whose end tag must match
    /// it: hidden ones, and those whose content is raw text.
    name: &'static [u8],
    /// The tokenizer's state for its content, when not the data state.
    content: Option<State>,
}

/// What an element's tags put between the words around them, as a mail
/// client lays the element out.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum Gap {
    #[default]
    None,
    /// A table cell: its words stand apart from the next cell's.
    Space,
    /// A block: a line of its own.
    Line,
    /// A block with margins (a paragraph, a heading, a list, a quote): a
    /// blank line before and after, as rules read paragraphs.
    Paragraph,
    /// `<br>`: ends the line, an empty one too.
    Break,
}

/// The elements the view reads more of than their text.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum Kind {
    #[default]
    Other,
    Head,
    Body,
    Link,
    Image,
    Blockquote,
}

impl Element {
    /// By the element's name, in any case: folded into one word, as
    /// [`Attr::of`] does, rather than copied and lowercased (every tag has
    /// a name, and a newsletter has tens of thousands of tags). Inlined
    /// where the fast path reads a tag, which a call made spill its
    /// registers.
    #[inline(always)]
    fn of(name: &[u8]) -> Element {
        const fn gap(gap: Gap) -> Element {
            Element {
                kind: Kind::Other,
                gap,
                hidden: false,
                name: b"",
                content: None,
            }
        }
        const fn kind(kind: Kind) -> Element {
            Element {
                kind,
                gap: Gap::None,
                hidden: false,
                name: b"",
                content: None,
            }
        }
        const fn raw(name: &'static [u8], hidden: bool, content: Option<State>) -> Element {
            Element {
                kind: Kind::Other,
                gap: Gap::None,
                hidden,
                name,
                content,
            }
        }
        const HEAD: u64 = folded(b"head");
        const BODY: u64 = folded(b"body");
        const A: u64 = folded(b"a");
        const IMG: u64 = folded(b"img");
        const P: u64 = folded(b"p");
        const DIV: u64 = folded(b"div");
        const BR: u64 = folded(b"br");
        const TR: u64 = folded(b"tr");
        const LI: u64 = folded(b"li");
        const H1: u64 = folded(b"h1");
        const H2: u64 = folded(b"h2");
        const H3: u64 = folded(b"h3");
        const H4: u64 = folded(b"h4");
        const H5: u64 = folded(b"h5");
        const H6: u64 = folded(b"h6");
        const TABLE: u64 = folded(b"table");
        const TD: u64 = folded(b"td");
        const TH: u64 = folded(b"th");
        const HR: u64 = folded(b"hr");
        const UL: u64 = folded(b"ul");
        const OL: u64 = folded(b"ol");
        const DT: u64 = folded(b"dt");
        const DD: u64 = folded(b"dd");
        const PRE: u64 = folded(b"pre");
        const CENTER: u64 = folded(b"center");
        const SCRIPT: u64 = folded(b"script");
        const STYLE: u64 = folded(b"style");
        const IFRAME: u64 = folded(b"iframe");
        const NOEMBED: u64 = folded(b"noembed");
        const NOFRAMES: u64 = folded(b"noframes");
        const TITLE: u64 = folded(b"title");
        const TEMPLATE: u64 = folded(b"template");
        const XMP: u64 = folded(b"xmp");
        const TEXTAREA: u64 = folded(b"textarea");
        if name.len() > 8 {
            return if name.eq_ignore_ascii_case(b"blockquote") {
                Element {
                    kind: Kind::Blockquote,
                    ..gap(Gap::Paragraph)
                }
            } else {
                Element::default()
            };
        }
        match folded(name) {
            HEAD => kind(Kind::Head),
            BODY => kind(Kind::Body),
            A => kind(Kind::Link),
            IMG => kind(Kind::Image),
            TD | TH => gap(Gap::Space),
            DIV | TR | LI | TABLE | DT | DD | CENTER => gap(Gap::Line),
            P | HR | UL | OL | PRE => gap(Gap::Paragraph),
            BR => gap(Gap::Break),
            // Folding makes the bytes 0x11 to 0x16 digits too.
            H1 | H2 | H3 | H4 | H5 | H6 if name[1].is_ascii_digit() => gap(Gap::Paragraph),
            SCRIPT => raw(b"script", true, Some(State::ScriptData)),
            STYLE => raw(b"style", true, Some(State::RawText)),
            IFRAME => raw(b"iframe", true, Some(State::RawText)),
            NOEMBED => raw(b"noembed", true, Some(State::RawText)),
            NOFRAMES => raw(b"noframes", true, Some(State::RawText)),
            TITLE => raw(b"title", true, Some(State::RcData)),
            TEMPLATE => raw(b"template", true, None),
            XMP => raw(b"xmp", false, Some(State::RawText)),
            TEXTAREA => raw(b"textarea", false, Some(State::RcData)),
            _ => Element::default(),
        }
    }
}

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

const SHORTEST_MARKER: usize = {
    let mut shortest = usize::MAX;
    let mut i = 0;
    while i < REPLY_MARKERS.len() {
        if REPLY_MARKERS[i].len() < shortest {
            shortest = REPLY_MARKERS[i].len();
        }
        i += 1;
    }
    shortest
};

/// Whitespace as `char::is_whitespace` has it among ASCII bytes.
const fn is_ascii_whitespace(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The bytes that end a run of ASCII text added at once: whitespace, NUL
/// and any byte of a non-ASCII character.
static ENDS_ASCII_RUN: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = byte == 0 || byte >= 0x80 || is_ascii_whitespace(byte as u8);
        byte += 1;
    }
    table
};

/// Where the run of words starting at `from` (a character that is neither
/// whitespace nor NUL) in `text` ends: characters that are neither, and
/// single ASCII spaces between two of them.
fn words_end(text: &str, from: usize) -> usize {
    let bytes = text.as_bytes();
    let mut at = from;
    while let Some(&byte) = bytes.get(at) {
        if !ENDS_ASCII_RUN[usize::from(byte)] {
            at += 1;
        } else if byte == b' '
            && bytes
                .get(at + 1)
                .is_some_and(|&next| !ENDS_ASCII_RUN[usize::from(next)])
        {
            at += 2;
        } else if byte >= 0x80
            && let Some(c) = text[at..].chars().next()
            && !c.is_whitespace()
        {
            at += c.len_utf8();
        } else {
            break;
        }
    }
    at
}

/// The attributes a view reads, each kept where a tag has it first (a
/// repeated attribute is dropped, as the HTML standard says).
#[derive(Clone, Copy)]
enum Attr {
    Href,
    Src,
    Alt,
    Width,
    Height,
    Style,
    Type,
    Class,
    Id,
}

const ATTRS: usize = 9;

impl Attr {
    /// The attribute of this name, in any case: the name folded into one
    /// word and compared with each of ours at once (a newsletter's tags
    /// have tens of thousands of attributes, most of them none of ours).
    /// Inlined, as is [`TagInProgress::begin_attr`], into the fast path's
    /// loop over attributes, which a call would make spill its registers.
    #[inline(always)]
    fn of(name: &[u8]) -> Option<Attr> {
        const HREF: u64 = folded(b"href");
        const SRC: u64 = folded(b"src");
        const ALT: u64 = folded(b"alt");
        const WIDTH: u64 = folded(b"width");
        const HEIGHT: u64 = folded(b"height");
        const STYLE: u64 = folded(b"style");
        const TYPE: u64 = folded(b"type");
        const CLASS: u64 = folded(b"class");
        const ID: u64 = folded(b"id");
        if name.len() > 6 {
            return None;
        }
        Some(match folded(name) {
            HREF => Attr::Href,
            SRC => Attr::Src,
            ALT => Attr::Alt,
            WIDTH => Attr::Width,
            HEIGHT => Attr::Height,
            STYLE => Attr::Style,
            TYPE => Attr::Type,
            CLASS => Attr::Class,
            ID => Attr::Id,
            _ => return None,
        })
    }

    /// Its bit in [`TagInProgress::has`].
    const fn bit(self) -> u16 {
        1 << self as u16
    }
}

/// Up to eight bytes in one word, each with bit 5 set: `A` and `a` alike.
/// Equal to a word of lower-case letters only for the same letters in
/// either case (no other byte gives a letter), and never for another length
/// (no byte gives 0).
const fn folded(name: &[u8]) -> u64 {
    let mut word = 0;
    let mut i = 0;
    while i < name.len() && i < 8 {
        word |= ((name[i] | 0x20) as u64) << (8 * i);
        i += 1;
    }
    word
}

/// The tag being read: its element (or name) and the values of the
/// attributes a view reads.
#[derive(Default)]
struct TagInProgress {
    end: bool,
    self_closing: bool,
    /// The element, where the fast path read the name from the input; else
    /// `name` (html5gum's tokenizer hands a name over in pieces).
    element: Option<Element>,
    name: Vec<u8>,
    /// The name of the attribute being read, until it is known whether it
    /// is one of ours.
    attr_name: Vec<u8>,
    /// Where each attribute's value is, for those in `has`: in `values`,
    /// or in the part's HTML for those also in `borrowed`.
    attrs: [(usize, usize); ATTRS],
    /// The attributes the tag has had (bit `Attr as usize` each): one word
    /// to clear at each tag rather than every range.
    has: u16,
    /// The values the fast path found with nothing to decode, left where
    /// they are rather than copied (nearly all of them).
    borrowed: u16,
    /// The attribute whose value is being read, when it is one of ours.
    reading: Option<Attr>,
    values: Vec<u8>,
}

impl TagInProgress {
    fn start(&mut self, end: bool) {
        self.end = end;
        self.self_closing = false;
        self.element = None;
        self.name.clear();
        self.attr_name.clear();
        self.has = 0;
        self.borrowed = 0;
        self.reading = None;
        self.values.clear();
    }

    fn element(&self) -> Element {
        self.element.unwrap_or_else(|| Element::of(&self.name))
    }

    /// Ends the name of the attribute being read: from here its value (if
    /// any) goes to `values` when the tag has not had it yet.
    fn end_attr_name(&mut self) {
        if self.attr_name.is_empty() {
            return;
        }
        self.begin_attr(Attr::of(&self.attr_name));
        self.attr_name.clear();
    }

    /// Starts an attribute (`None` for one the view does not read):
    /// whether its value is kept, as the tag's first of its name.
    #[inline(always)]
    fn begin_attr(&mut self, attr: Option<Attr>) -> bool {
        self.reading = attr.filter(|a| self.has & a.bit() == 0);
        if let Some(attr) = self.reading {
            self.has |= attr.bit();
            self.attrs[attr as usize] = (self.values.len(), self.values.len());
        }
        self.reading.is_some()
    }

    /// Adds to the value of the attribute being read, when it is kept.
    fn push_value(&mut self, s: &[u8]) {
        if let Some(attr) = self.reading
            && !self.end
        {
            self.values.extend_from_slice(s);
            self.attrs[attr as usize].1 = self.values.len();
        }
    }

    /// The value of the attribute being read (kept, of a start tag) is the
    /// part's HTML from `start` to `end`, as it is.
    fn borrow_value(&mut self, start: usize, end: usize) {
        if let Some(attr) = self.reading {
            self.attrs[attr as usize] = (start, end);
            self.borrowed |= attr.bit();
        }
    }

    /// Where the attribute's value is, and whether in the part's HTML.
    fn range(&self, attr: Attr) -> Option<(std::ops::Range<usize>, bool)> {
        if self.has & attr.bit() == 0 {
            return None;
        }
        let (start, end) = self.attrs[attr as usize];
        Some((start..end, self.borrowed & attr.bit() != 0))
    }

    fn value<'a>(&'a self, attr: Attr, html: &'a str) -> Option<&'a [u8]> {
        match self.range(attr)? {
            (range, true) => html.as_bytes().get(range),
            (range, false) => self.values.get(range),
        }
    }

    fn attr<'a>(&'a self, attr: Attr, html: &'a str) -> Option<&'a str> {
        match self.range(attr)? {
            // Cut at ASCII bytes: whole characters, nothing to check.
            (range, true) => html.get(range),
            (range, false) => std::str::from_utf8(self.values.get(range)?).ok(),
        }
    }

    fn has_class(&self, class: &str, html: &str) -> bool {
        self.value(Attr::Class, html)
            .is_some_and(|c| words(c).any(|c| c == class.as_bytes()))
    }

    fn is_reply_marker(&self, html: &str) -> bool {
        // Most ids and classes are shorter than any marker.
        let marker = |word: &[u8]| {
            word.len() >= SHORTEST_MARKER && REPLY_MARKERS.iter().any(|m| m.as_bytes() == word)
        };
        self.value(Attr::Id, html).is_some_and(marker)
            || self
                .value(Attr::Class, html)
                .is_some_and(|c| c.len() >= SHORTEST_MARKER && words(c).any(marker))
    }
}

/// The words of a class attribute, split at ASCII whitespace.
fn words(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(u8::is_ascii_whitespace)
        .filter(|word| !word.is_empty())
}

#[derive(Default)]
struct Builder<'h> {
    /// The part's HTML, to count lines in and read borrowed values from.
    html: &'h str,
    view: HtmlView,
    /// Where the tokenizer is in `html`, and the line there (from 1) as
    /// far as lines were counted (`counted`).
    position: usize,
    counted: usize,
    line: usize,
    tag: TagInProgress,
    /// Text read since the last tag, as the tokenizer hands it over (a
    /// character may come a byte at a time).
    pending_text: Vec<u8>,
    /// Index in `view.links` of the `<a>` being read.
    open_link: Option<usize>,
    in_head: bool,
    /// Inside `<script>`, `<style>`, `<title>` or another element whose
    /// content is not shown: its name.
    in_hidden: Option<&'static [u8]>,
    /// Open `<blockquote>`s, and whether each is a reply quote.
    blockquotes: Vec<bool>,
    /// How many of them are reply quotes.
    open_cites: usize,
    after_reply_marker: bool,
    /// Whether the last character added to the text was whitespace.
    pending_space: bool,
    /// The last start tag's name, for the tokenizer to know which end tag
    /// closes raw text: only set by start tags whose content is raw text,
    /// as only in raw text is it read.
    last_start_tag: Vec<u8>,
}

impl Builder<'_> {
    fn quoted(&self) -> bool {
        self.after_reply_marker || self.open_cites > 0
    }

    /// The line of the tokenizer's position: a line break is `\n`, `\r\n`
    /// or a lone `\r`, as the tokenizer reads them.
    fn current_line(&mut self) -> usize {
        let input = self.html.as_bytes();
        let end = self.position.min(input.len());
        if end > self.counted {
            let seen = &input[self.counted..end];
            // Without a `\r` (nearly always) the lines are the `\n`s,
            // counted in SIMD blocks rather than found one by one; a `\n`
            // right after a `\r` was counted with it.
            if memchr::memchr(b'\r', seen).is_none() {
                let after_cr =
                    seen[0] == b'\n' && self.counted > 0 && input[self.counted - 1] == b'\r';
                self.line += count_bytes(seen, |b| b == b'\n') - usize::from(after_cr);
                self.counted = end;
                return self.line;
            }
            for at in memchr::memchr2_iter(b'\n', b'\r', seen) {
                let at = self.counted + at;
                if input[at] == b'\r' || at == 0 || input[at - 1] != b'\r' {
                    self.line += 1;
                }
            }
            self.counted = end;
        }
        self.line
    }

    /// Whether text read now is shown (the state changes only at tags).
    fn shows_text(&self) -> bool {
        !self.in_head && self.in_hidden.is_none()
    }

    fn flush_text(&mut self) {
        if self.pending_text.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending_text);
        // Whole characters by now: the tokenizer splits text only at ASCII
        // bytes, and a tag or the end comes between characters.
        match std::str::from_utf8(&pending) {
            Ok(text) => self.push_text(text),
            Err(_) => self.push_text(&String::from_utf8_lossy(&pending)),
        }
        self.pending_text = pending;
        self.pending_text.clear();
    }

    /// Adds text as a reader sees it: each run of whitespace one space (none
    /// at the start of a line), in the view's text and the open link's.
    /// Words with single spaces between them go in at once: that is how
    /// they read already, and most text of a newsletter is such runs.
    fn push_text(&mut self, chunk: &str) {
        let bytes = chunk.as_bytes();
        let mut at = 0;
        while at < bytes.len() {
            let byte = bytes[at];
            if is_ascii_whitespace(byte) {
                self.pending_space = true;
                at += 1;
            } else if byte == 0 {
                // The data state hands a NUL over as it is; html5ever
                // made it a token of its own, which the view never read.
                at += 1;
            } else {
                let end = words_end(chunk, at);
                if end == at {
                    // Whitespace beyond ASCII (a no-break space).
                    self.pending_space = true;
                    at += chunk[at..].chars().next().map_or(1, char::len_utf8);
                } else {
                    self.push_word(&chunk[at..end]);
                    at = end;
                }
            }
        }
    }

    /// Adds characters none of which is whitespace.
    fn push_word(&mut self, word: &str) {
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
        self.view.text.push_str(word);
        if let Some(link) = self.open_link.and_then(|i| self.view.links.get_mut(i)) {
            link.text.push_str(word);
        }
    }

    /// What an element's tag puts in the text (see [`Gap`]).
    fn gap(&mut self, gap: Gap) {
        let text = &mut self.view.text;
        match gap {
            Gap::None => return,
            Gap::Space => {
                self.pending_space = true;
                return;
            }
            _ if text.is_empty() => {}
            Gap::Break => text.push('\n'),
            Gap::Line if !text.ends_with('\n') => text.push('\n'),
            Gap::Paragraph if !text.ends_with("\n\n") => {
                text.push_str(if text.ends_with('\n') { "\n" } else { "\n\n" });
            }
            Gap::Line | Gap::Paragraph => {}
        }
        self.pending_space = false;
    }

    /// The tag read to its end given to the view: the state the tokenizer
    /// goes on in, when not the data state.
    fn emit_tag(&mut self) -> Option<State> {
        self.tag.end_attr_name();
        self.flush_text();
        if self.tag.end {
            self.end_tag();
            None
        } else {
            self.start_tag()
        }
    }

    /// A start tag read to its end: what it adds to the view, and the state
    /// the tokenizer goes on in (raw text inside `<script>`, `<style>`,
    /// `<title>` and the like).
    fn start_tag(&mut self) -> Option<State> {
        let element = self.tag.element();
        let html = self.html;
        if self.tag.is_reply_marker(html) {
            self.after_reply_marker = true;
        }
        match element.kind {
            Kind::Head => self.in_head = true,
            Kind::Body => self.in_head = false,
            Kind::Link => {
                self.open_link = None;
                if let Some(href) = self
                    .tag
                    .attr(Attr::Href, html)
                    .map(|h| h.trim().to_string())
                {
                    let link = HtmlLink {
                        href,
                        text: String::new(),
                        line: self.current_line(),
                        quoted: self.quoted(),
                    };
                    self.view.links.push(link);
                    self.open_link = Some(self.view.links.len() - 1);
                }
            }
            Kind::Image => {
                let tag = &self.tag;
                let style = tag
                    .attr(Attr::Style, html)
                    .map(parse_style)
                    .unwrap_or_default();
                let src = tag
                    .attr(Attr::Src, html)
                    .map_or_else(String::new, |s| s.trim().to_string());
                let alt = tag.attr(Attr::Alt, html).map(|a| a.trim().to_string());
                let width = tag.attr(Attr::Width, html).and_then(pixels).or(style.width);
                let height = tag
                    .attr(Attr::Height, html)
                    .and_then(pixels)
                    .or(style.height);
                let image = HtmlImage {
                    src,
                    alt,
                    width,
                    height,
                    hidden: style.hidden,
                    line: self.current_line(),
                    quoted: self.quoted(),
                };
                self.view.images.push(image);
            }
            Kind::Blockquote => {
                let cite = self
                    .tag
                    .attr(Attr::Type, html)
                    .is_some_and(|t| t.eq_ignore_ascii_case("cite"))
                    || self.tag.has_class("gmail_quote", html);
                if !self.tag.self_closing {
                    self.blockquotes.push(cite);
                    self.open_cites += usize::from(cite);
                }
            }
            Kind::Other => {}
        }
        self.gap(element.gap);
        if element.hidden && !self.tag.self_closing {
            self.in_hidden = Some(element.name);
        }
        if element.content.is_some() {
            self.last_start_tag.clear();
            self.last_start_tag.extend_from_slice(element.name);
        }
        element.content
    }

    fn end_tag(&mut self) {
        let element = self.tag.element();
        match element.kind {
            Kind::Head => self.in_head = false,
            Kind::Link => self.open_link = None,
            Kind::Blockquote => {
                let cite = self.blockquotes.pop().unwrap_or(false);
                self.open_cites = self.open_cites.saturating_sub(usize::from(cite));
            }
            _ if element.hidden && self.in_hidden == Some(element.name) => {
                self.in_hidden = None;
            }
            _ => {}
        }
        self.gap(element.gap);
    }
}

/// html5gum's emitter where it reads for the fast path (see `scan.rs`):
/// text, tag names and the attributes a view reads go straight into the
/// [`Builder`]; comments, doctypes and errors are dropped.
struct Collector<'b, 'h> {
    state: &'b mut Builder<'h>,
    /// Set when a tag was given to the builder.
    emitted: Option<State>,
}

impl Emitter for Collector<'_, '_> {
    /// The state a tag just given to the builder leaves the tokenizer in:
    /// where the fast path takes over again.
    type Token = State;

    fn set_last_start_tag(&mut self, last_start_tag: Option<&[u8]>) {
        self.state.last_start_tag.clear();
        self.state
            .last_start_tag
            .extend_from_slice(last_start_tag.unwrap_or_default());
    }

    fn emit_eof(&mut self) {
        self.state.flush_text();
    }

    fn emit_error(&mut self, _: Error) {}

    #[inline]
    fn should_emit_errors(&mut self) -> bool {
        false
    }

    fn pop_token(&mut self) -> Option<Self::Token> {
        self.emitted.take()
    }

    #[inline]
    fn emit_string(&mut self, s: &[u8]) {
        // Text in `<head>`, `<script>` and the like is not kept at all.
        if self.state.shows_text() {
            self.state.pending_text.extend_from_slice(s);
        }
    }

    fn init_start_tag(&mut self) {
        self.state.tag.start(false);
    }

    fn init_end_tag(&mut self) {
        self.state.tag.start(true);
    }

    fn init_comment(&mut self) {}

    fn emit_current_tag(&mut self) -> Option<State> {
        let next = self.state.emit_tag();
        self.emitted = Some(next.unwrap_or(State::Data));
        next
    }

    fn emit_current_comment(&mut self) {}

    fn emit_current_doctype(&mut self) {}

    fn set_self_closing(&mut self) {
        if !self.state.tag.end {
            self.state.tag.self_closing = true;
        }
    }

    fn set_force_quirks(&mut self) {}

    #[inline]
    fn push_tag_name(&mut self, s: &[u8]) {
        self.state.tag.name.extend_from_slice(s);
    }

    fn push_comment(&mut self, _: &[u8]) {}

    fn push_doctype_name(&mut self, _: &[u8]) {}

    fn init_doctype(&mut self) {}

    fn init_attribute(&mut self) {
        let tag = &mut self.state.tag;
        tag.end_attr_name();
        tag.reading = None;
    }

    fn init_attribute_value(&mut self) {
        self.state.tag.end_attr_name();
    }

    #[inline]
    fn push_attribute_name(&mut self, s: &[u8]) {
        self.state.tag.attr_name.extend_from_slice(s);
    }

    #[inline]
    fn push_attribute_value(&mut self, s: &[u8]) {
        self.state.tag.push_value(s);
    }

    fn set_doctype_public_identifier(&mut self, _: &[u8]) {}

    fn set_doctype_system_identifier(&mut self, _: &[u8]) {}

    fn push_doctype_public_identifier(&mut self, _: &[u8]) {}

    fn push_doctype_system_identifier(&mut self, _: &[u8]) {}

    fn current_is_appropriate_end_tag_token(&mut self) -> bool {
        let state = &self.state;
        state.tag.end && !state.last_start_tag.is_empty() && state.tag.name == state.last_start_tag
    }

    #[inline]
    fn move_position(&mut self, offset: isize) {
        self.state.position = self.state.position.saturating_add_signed(offset);
    }
}

/// A table of `bytes`, for [`find_in`]: one lookup a byte, where a
/// `matches!` of several bytes is several compares.
pub(super) const fn byte_set(bytes: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut i = 0;
    while i < bytes.len() {
        table[bytes[i] as usize] = true;
        i += 1;
    }
    table
}

/// The first position from `from` on whose byte is in `set`; `None` at the
/// end of the input. The HTML scanners' runs (names, words, unquoted
/// values) are a few bytes long, too short for memchr's setup.
pub(super) fn find_in(input: &[u8], from: usize, set: &[bool; 256]) -> Option<usize> {
    let rest = input.get(from..)?;
    rest.iter()
        .position(|&b| set[usize::from(b)])
        .map(|n| from + n)
}

/// How many bytes of `bytes` are `counted`: in blocks of 224 (a multiple
/// of the SIMD widths, and under 256) counted into one byte each, which the
/// compiler turns into SIMD. A count into a `usize` (`Iterator::count`,
/// `memchr_iter(..).count()`) went byte by byte or match by match, over a
/// newsletter's every line.
pub fn count_bytes(bytes: &[u8], counted: impl Fn(u8) -> bool) -> usize {
    bytes
        .chunks(224)
        .map(|block| usize::from(block.iter().fold(0u8, |n, &b| n + u8::from(counted(b)))))
        .sum()
}

/// `1`, `1px`, ` 0 ` -> pixels; percentages and other units are not.
fn pixels(value: &str) -> Option<u32> {
    let v = value.trim();
    let v = v.strip_suffix("px").unwrap_or(v).trim();
    // Up to seven digits (nearly every value) are read as an integer: below
    // 2^24, so what the float would give.
    if (1..=7).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit()) {
        return v.parse().ok();
    }
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
/// Borrowed when already in lower case, as nearly every link's is.
pub fn url_scheme(url: &str) -> Option<Cow<'_, str>> {
    let (scheme, _) = url.trim_start().split_once(':')?;
    let mut bytes = scheme.bytes();
    let valid = bytes.next().is_some_and(|c| c.is_ascii_alphabetic())
        && bytes.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'));
    if !valid {
        return None;
    }
    Some(if scheme.bytes().any(|c| c.is_ascii_uppercase()) {
        Cow::Owned(scheme.to_ascii_lowercase())
    } else {
        Cow::Borrowed(scheme)
    })
}

/// The host of a URL, as a browser reads it (the WHATWG URL standard):
/// lowercased, percent-decoded, internationalised names in their ASCII
/// (`xn--`) form, numeric IPv4 forms such as `http://3232235777/` as dotted
/// quads, IPv6 without brackets, and without a trailing dot. The user part
/// is skipped, so `https://bank.example@evil.example/` has the host
/// `evil.example`, and a backslash ends the authority. `None` when the URL
/// has no host (`mailto:`, a relative link) or is not a URL at all.
pub fn url_host(url: &str) -> Option<String> {
    let url = url.trim();
    plain_host(url).or_else(|| parsed_host(url))
}

/// The host as the URL parser reads it.
fn parsed_host(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let host = match parsed.host()? {
        url::Host::Domain(name) => name.trim_end_matches('.').to_ascii_lowercase(),
        url::Host::Ipv4(address) => address.to_string(),
        url::Host::Ipv6(address) => address.to_string(),
    };
    (!host.is_empty()).then_some(host)
}

/// The host of an `http://` or `https://` URL whose host is a plain DNS
/// name (ASCII letters, digits, `-` and `.`, no port, no user, not a
/// number, no `xn--` label) up to the path, query or fragment: what the
/// URL parser makes of it, lowercased, without a trailing dot. `None` for
/// everything else, which the parser reads. Newsletters hold hundreds of
/// such links, and the parser (with IDNA) took thousands of instructions
/// for each.
fn plain_host(url: &str) -> Option<String> {
    // The first `:` ends the scheme: where it is not followed by `//`, any
    // later `://` follows a scheme that holds a `:`, neither http nor https.
    let (scheme, rest) = url.split_once(':')?;
    let rest = rest.strip_prefix("//")?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let end = rest
        .bytes()
        .position(|b| matches!(b, b'/' | b'\\' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let host = &rest[..end];
    let host = host.strip_suffix('.').unwrap_or(host);
    // Labels split as bytes: the host is ASCII when plain.
    let labels = || host.as_bytes().split(|&b| b == b'.');
    let plain = labels().all(|label| {
        !label.is_empty()
            && label
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
            && !label
                .get(..4)
                .is_some_and(|p| p.eq_ignore_ascii_case(b"xn--"))
    });
    // A last label that is a number makes the host an IPv4 address.
    let last = labels().next_back()?;
    let number = last.iter().all(u8::is_ascii_digit)
        || last.get(..2).is_some_and(|p| p.eq_ignore_ascii_case(b"0x"));
    (plain && !number).then(|| host.to_ascii_lowercase())
}

#[cfg(test)]
mod reference;

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
        assert_eq!(view.text, "Hello & welcome, Ann\n\nRead more");
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
    fn text_has_the_lines_and_paragraphs_a_reader_sees() {
        let text = |html: &str| HtmlView::parse(html).text;
        // Cells stand apart, rows and blocks on lines of their own.
        assert_eq!(
            text(
                "<table><tr><td>SSN</td><td>123</td></tr><tr><th>Name</th><td>Ann</td></tr></table>"
            ),
            "SSN 123\nName Ann"
        );
        // Blocks, each on a line; an element of no layout adds nothing.
        assert_eq!(
            text("<div>one</div><div>two</div><thead>x</thead>"),
            "one\ntwo\nx"
        );
        // A paragraph, heading or list is set off by a blank line, once.
        assert_eq!(
            text(
                "<h1>News</h1><p>One</p><p>Two</p><div>Three</div><ul><li>a</li><li>b</li></ul>end"
            ),
            "News\n\nOne\n\nTwo\n\nThree\n\na\nb\n\nend"
        );
        // Every `<br>` ends a line: two leave an empty one.
        assert_eq!(
            text("Hi Ann,<br><br>The plan<br>is ready"),
            "Hi Ann,\n\nThe plan\nis ready"
        );
        assert_eq!(text("<br><p>first"), "first");
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
        assert_eq!(url_scheme("HTTPS://x.example").as_deref(), Some("https"));
        assert_eq!(url_scheme("mailto:a@b.example").as_deref(), Some("mailto"));
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

    /// Pieces of HTML, well-formed and broken, that the view reads
    /// differently: links, images, quotes, hidden and raw-text elements,
    /// entities, line breaks of every kind, NULs, non-ASCII text.
    const PIECES: &[&str] = &[
        "<a href=\"https://x.example/a?b=1&amp;c=2\">",
        "<a href='http://y.example'>",
        "<a href=z.example>",
        "<A HREF=\"HTTPS://Upper.example\">",
        "<a href>",
        "<a href=\"x\" href=\"y\">",
        "<a name=top>",
        "</a>",
        "</a href=\"https://end.example\">",
        "<img src=\"logo.png\" alt=\"Logo\">",
        "<img src=p.gif width=1 height=\"1px\">",
        "<img alt=\"\" src=x.png alt=\"second\">",
        "<img src=\"h.png\" style=\"display: none\">",
        "<img style=\"WIDTH:600px;height:2\" src=w.png/>",
        "<img src=\"a\nb.png\" alt=\" two\r\nlines \">",
        "<img",
        "<blockquote type=\"cite\">",
        "<blockquote class=\"x gmail_quote\">",
        "<blockquote/>",
        "</blockquote>",
        "<div class=\"gmail_quote\">",
        "<div id=\"divRplyFwdMsg\">",
        "<p>",
        "</p>",
        "<br>",
        "<br/>",
        "<td>",
        "</tr>",
        "<head>",
        "</head>",
        "<body>",
        "<title>",
        "<title/>",
        "</title>",
        "<script>",
        "<script/>",
        "</script>",
        "<script><!--",
        "<!--<script>",
        "-->",
        "<style>",
        "</style>",
        "<textarea>",
        "</textarea>",
        "<xmp>",
        "</xmp>",
        "<noscript>",
        "<plaintext>",
        "<iframe>",
        "</iframe>",
        "<!-- a comment -->",
        "<!--",
        "<!DOCTYPE html>",
        "<![CDATA[ x ]]>",
        "<?php x ?>",
        "</>",
        "< a>",
        "<a<b>",
        "Hello",
        " world ",
        "&amp;",
        "&nbsp;",
        "&notin;",
        "&not",
        "&#x41;",
        "&#0;",
        "&#128;",
        "&#xD800;",
        "&bogus;",
        "&",
        "<",
        ">",
        "\"",
        "'",
        "=",
        "/",
        "\n",
        "\r\n",
        "\r",
        "\t",
        "\0",
        "\u{a0}",
        // What the fast path reads itself, and where it hands over.
        "<!-->",
        "<!--->",
        "<!---->",
        "--!>",
        "--",
        "-",
        "!",
        "<!-- x --!>",
        "<!doctype html>",
        "<!DOCTYPE",
        "<!x>",
        "<?x>",
        "</ x>",
        "</3>",
        "<a href=\"x&copy=1&amp&brand=2\">",
        "<a href=\"&amp;&#46;&#x2F;&notit;&euro;&zzz;\">",
        "<a href=x&amp;y&#0>",
        "<img alt='a\r\nb\rc' src=\"s&quot\">",
        "<img alt=x&amp;y src=\"\0\">",
        "<a href=x\0>",
        "<a =x>",
        "<a href='x'title=y>",
        "<a href = \"x\" / >",
        "<a b c d href=y>",
        "<a\thref\r\n=\x0cx>",
        // Names matched in any case, and what only folds onto one.
        "<H3>",
        "<h\u{11}>",
        "</H\u{13}>",
        "<BlockQuote type=cite>",
        "</BLOCKQUOTE>",
        "<blockquotes>",
        "<NoFrames>",
        "</noframes>",
        "<TEMPLATE>",
        "</template>",
        "<Title>",
        "<TextArea>",
        "<tables>",
        "<br/ >",
        "<P CLASS=\"gmail_quote\">",
        "<HEAD>",
        "<Style>",
        "</STYLE>",
        "</style x>",
        "</style/>",
        "</SCRIPT>",
        "</script >",
        "</title >",
        "<script>a<!--b",
        "<scripts>",
        "</scripts>",
        "&notit;",
        "&amplifier",
        "&copy=",
        "&brand",
        "&AMP",
        "&#149;",
        "&#x1F600;",
        "&#99999999;",
        "&#1234567890;",
        "&#x;",
        "&#;",
        "&#65",
        "&euro;",
        "&trade;",
        "&zzz;",
        "&a",
        "&a;",
        "\u{feff}",
        "é",
        "日本",
        "Grüße",
    ];

    proptest::proptest! {
        /// Any mix of the pieces gives the view html5ever's tokenizer gave,
        /// line numbers included.
        #[test]
        fn the_view_is_html5evers(
            pieces in proptest::collection::vec(proptest::sample::select(PIECES), 0..40),
        ) {
            let html = pieces.concat();
            proptest::prop_assert_eq!(HtmlView::parse(&html), reference::parse(&html));
        }
    }

    #[test]
    fn the_view_is_html5evers_on_every_fixture() {
        let mut files = vec![std::path::PathBuf::from("fixtures")];
        let mut parts = 0;
        while let Some(path) = files.pop() {
            if path.is_dir() {
                for entry in std::fs::read_dir(&path).unwrap() {
                    files.push(entry.unwrap().path());
                }
                continue;
            }
            let Ok(raw) = std::fs::read(&path) else {
                continue;
            };
            let Some(message) = mail_parser::MessageParser::default().parse(&raw) else {
                continue;
            };
            for part in &message.parts {
                if let mail_parser::PartType::Html(html) = &part.body {
                    parts += 1;
                    assert_eq!(HtmlView::parse(html), reference::parse(html), "{path:?}");
                }
            }
        }
        assert!(parts > 50, "{parts} HTML parts");
    }

    #[test]
    fn lines_count_every_kind_of_line_break() {
        let html = "a\r\nb\rc\n<a href=x>\r\n\r<img src=y\n>";
        let view = HtmlView::parse(html);
        assert_eq!(view.links[0].line, 4);
        assert_eq!(view.images[0].line, 7);
        assert_eq!(view, reference::parse(html));
    }

    #[test]
    fn a_byte_order_mark_and_nuls_are_not_text() {
        let html = "\u{feff}a\0b <textarea>c\0d</textarea>";
        assert_eq!(HtmlView::parse(html).text, "ab c\u{fffd}d");
        assert_eq!(HtmlView::parse(html), reference::parse(html));
    }

    proptest::proptest! {
        /// Where the plain-host path answers, the URL parser says the same.
        #[test]
        fn plain_hosts_are_the_parsers(
            pieces in proptest::collection::vec(proptest::sample::select(URL_PIECES), 0..12),
        ) {
            let url = pieces.concat();
            if let Some(host) = plain_host(&url) {
                proptest::prop_assert_eq!(Some(host), parsed_host(&url), "{}", url);
            }
        }
    }

    const URL_PIECES: &[&str] = &[
        "http://", "HTTPS://", "https:", "ftp://", "//", "a", "Z", "0", "9", "255", "-", ".",
        "xn--", "0x", "0X1", ":", ":80", "@", "%41", "/", "?", "#", "\\", " ", "\t", "\u{e9}", "_",
        "[::1]", "\u{212a}", "\0",
    ];

    #[test]
    fn plain_hosts() {
        for (url, host) in [
            ("http://News.Example.com./a", Some("news.example.com")),
            ("https://a-b.example?x", Some("a-b.example")),
            ("http://x.example\\y", Some("x.example")),
            ("http://1.2.3.4/", None),
            ("http://a.0x10/", None),
            ("http://xn--bcher-kva.example/", None),
            ("http://a..b/", None),
            ("http://a:80/", None),
            ("ftp://a.example/", None),
        ] {
            assert_eq!(plain_host(url).as_deref(), host, "{url}");
        }
    }

    /// The builder's text as it was added before runs of words went in at
    /// once: word by word, each run of whitespace a pending space.
    fn push_text_word_by_word(b: &mut Builder<'_>, chunk: &str) {
        let bytes = chunk.as_bytes();
        let mut at = 0;
        while at < bytes.len() {
            let byte = bytes[at];
            if byte.is_ascii() {
                if is_ascii_whitespace(byte) {
                    b.pending_space = true;
                    at += 1;
                } else if byte == 0 {
                    at += 1;
                } else {
                    let end = bytes[at..]
                        .iter()
                        .position(|&b| ENDS_ASCII_RUN[usize::from(b)])
                        .map_or(bytes.len(), |n| at + n);
                    b.push_word(&chunk[at..end]);
                    at = end;
                }
            } else {
                let Some(c) = chunk[at..].chars().next() else {
                    break;
                };
                let end = at + c.len_utf8();
                if c.is_whitespace() {
                    b.pending_space = true;
                } else {
                    b.push_word(&chunk[at..end]);
                }
                at = end;
            }
        }
    }

    /// Text pieces, and `<a>`, `</a>` and `<br>` for what the builder does
    /// between them.
    const TEXT_PIECES: &[&str] = &[
        "a",
        "word",
        " ",
        "  ",
        "\t",
        "\n",
        "\r\n",
        "\0",
        "x y",
        " z ",
        "\u{a0}",
        "\u{3000}",
        "\u{e9}",
        "caf\u{e9} au",
        "\u{2028}",
        "\u{fffd}",
        "<a>",
        "</a>",
        "<br>",
    ];

    proptest::proptest! {
        /// Runs of words go in as word by word would have put them.
        #[test]
        fn text_is_added_as_word_by_word(
            pieces in proptest::collection::vec(proptest::sample::select(TEXT_PIECES), 0..30),
        ) {
            let mut by_runs = Builder::default();
            let mut by_words = Builder::default();
            // The text pieces between two markers are one chunk.
            let mut chunk = String::new();
            for piece in pieces.into_iter().chain(["</a>"]) {
                if !piece.starts_with('<') {
                    chunk.push_str(piece);
                    continue;
                }
                by_runs.push_text(&chunk);
                push_text_word_by_word(&mut by_words, &chunk);
                chunk.clear();
                proptest::prop_assert_eq!(by_runs.pending_space, by_words.pending_space);
                for b in [&mut by_runs, &mut by_words] {
                    match piece {
                        "<a>" => {
                            b.view.links.push(HtmlLink {
                                href: String::new(),
                                text: String::new(),
                                line: 1,
                                quoted: false,
                            });
                            b.open_link = Some(b.view.links.len() - 1);
                        }
                        "<br>" => b.gap(Gap::Break),
                        _ => b.open_link = None,
                    }
                }
            }
            proptest::prop_assert_eq!(by_runs.view, by_words.view);
        }
    }

    proptest::proptest! {
        /// An attribute's name is ours exactly when it is one of ours in
        /// any case.
        #[test]
        fn attribute_names_are_read_in_any_case(name in "(?:href|src|alt|width|height|style|type|class|id)?[hrefsclatwidgypHREFSCLATWIDGYP\\x00@`{\\[\\x80-\\xff]{0,7}") {
            let names = ["href", "src", "alt", "width", "height", "style", "type", "class", "id"];
            let ours = names.iter().position(|n| n.as_bytes().eq_ignore_ascii_case(name.as_bytes()));
            proptest::prop_assert_eq!(Attr::of(name.as_bytes()).map(|a| a as usize), ours);
        }
    }

    proptest::proptest! {
        /// Counted in blocks as one by one, across blocks' ends too.
        #[test]
        fn bytes_are_counted_as_one_by_one(bytes in proptest::collection::vec(proptest::sample::select(&b"\n\ra "[..]), 0..1000)) {
            proptest::prop_assert_eq!(
                count_bytes(&bytes, |b| b == b'\n'),
                bytes.iter().filter(|&&b| b == b'\n').count()
            );
        }
    }

    #[test]
    fn the_first_of_repeated_attributes_counts() {
        let view = HtmlView::parse("<a href=first href=second>x</a><img alt src=s alt=y>");
        assert_eq!(view.links[0].href, "first");
        assert_eq!(view.images[0].alt.as_deref(), Some(""));
    }
}
