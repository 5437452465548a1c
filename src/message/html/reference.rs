//! The view as html5ever's tokenizer built it before html5gum's replaced it
//! (see `html.rs`), kept as the reference the new one is held to.

use super::{BLOCKS, HIDDEN, HtmlImage, HtmlLink, HtmlView, REPLY_MARKERS, parse_style, pixels};
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, CharacterTokens, EndTag, StartTag, Tag, TagToken, Token, TokenSink,
    TokenSinkResult, Tokenizer, TokenizerOpts,
};
use std::cell::RefCell;

pub(super) fn parse(html: &str) -> HtmlView {
    let sink = Collector::default();
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let tokenizer = Tokenizer::new(sink, TokenizerOpts::default());
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    let state = tokenizer.sink.state.into_inner();
    let mut view = state.view;
    let trimmed = view.text.trim_end().len();
    view.text.truncate(trimmed);
    view
}

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
