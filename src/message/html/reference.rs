//! html5ever's tokenizer, which built the view before html5gum's (see
//! `html.rs`), driving the same [`Builder`]: the tests hold html5gum's
//! tokens, as the emitter hands them over, to html5ever's.

use super::{Builder, HtmlView};
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, CharacterTokens, EndTag, TagToken, Token, TokenSink, TokenSinkResult, Tokenizer,
    TokenizerOpts,
};
use html5gum::State;
use std::cell::RefCell;

/// The view of `html` from html5ever's tokens.
pub(super) fn parse(html: &str) -> HtmlView {
    let sink = Sink {
        builder: RefCell::new(Builder::default()),
    };
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let tokenizer = Tokenizer::new(sink, TokenizerOpts::default());
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    let mut builder = tokenizer.sink.builder.into_inner();
    builder.flush_text();
    let mut view = builder.view;
    let trimmed = view.text.trim_end().len();
    view.text.truncate(trimmed);
    view
}

struct Sink<'h> {
    builder: RefCell<Builder<'h>>,
}

impl TokenSink for Sink<'_> {
    type Handle = ();

    fn process_token(&self, token: Token, line_number: u64) -> TokenSinkResult<()> {
        let mut builder = self.builder.borrow_mut();
        match token {
            TagToken(tag) => {
                let b = &mut *builder;
                b.tag.start(tag.kind == EndTag);
                b.tag.name.extend_from_slice(tag.name.as_bytes());
                b.tag.self_closing = tag.self_closing && tag.kind != EndTag;
                for attr in &tag.attrs {
                    b.tag
                        .attr_name
                        .extend_from_slice(attr.name.local.as_bytes());
                    b.tag.end_attr_name();
                    b.tag.push_value(attr.value.as_bytes());
                }
                b.flush_text();
                if tag.kind == EndTag {
                    b.end_tag();
                    return TokenSinkResult::Continue;
                }
                // html5ever gives the line; positions are not counted.
                b.counted = usize::MAX;
                b.line = usize::try_from(line_number).unwrap_or(usize::MAX);
                return match b.start_tag() {
                    Some(State::ScriptData) => TokenSinkResult::RawData(RawKind::ScriptData),
                    Some(State::RawText) => TokenSinkResult::RawData(RawKind::Rawtext),
                    Some(State::RcData) => TokenSinkResult::RawData(RawKind::Rcdata),
                    _ => TokenSinkResult::Continue,
                };
            }
            CharacterTokens(text) if builder.shows_text() => {
                builder.pending_text.extend_from_slice(text.as_bytes());
            }
            _ => {}
        }
        TokenSinkResult::Continue
    }
}
