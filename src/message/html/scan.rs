//! The tokenizer's work on the markup that newsletters are made of, done
//! at `memchr` speed, with html5gum's tokenizer taking over wherever the
//! markup is anything else.
//!
//! Hand-written because no tokenizer skips what the view does not read:
//! html5gum (like html5ever) steps through every byte of every attribute
//! value, `<style>` sheet and comment, about 30 instructions a byte of
//! HTML-heavy mail, and lol_html gives no positions. This reads text up to
//! the next `<` or `&`, a tag's name (classified where it stands) and
//! attributes with one search per quoted value (only the nine values the
//! view keeps are kept, and copied only when they have something to
//! decode), comments, doctypes and the content of `<style>`, `<script>` and
//! `<title>` to their ends. Each of these follows the WHATWG tokenizer's
//! states exactly where it acts, and hands everything else to html5gum
//! from the same place in the same state: a `<` or `&` in text, a tag it
//! cannot read to its end (a NUL, an `=` before a name, the end of the
//! input), a character reference it does not know, a script with `<!--`
//! (the escaped states), raw text the view shows (`<xmp>`, `<textarea>`).
//! html5gum then reads until it has given a tag to the builder, which
//! leaves it in the data state or the raw state the builder asked for, and
//! the fast path goes on from there: what the builder sees is what
//! html5gum alone would have given it. The tests drive both against
//! html5ever's tokenizer on generated broken markup and every fixture.

use super::entities;
use super::{Attr, Builder, Collector, Element, byte_set, find_in};
use html5gum::{State, Tokenizer};

/// Reads `html` into the builder.
pub(super) fn tokenize(b: &mut Builder<'_>, html: &str) {
    let input = html.as_bytes();
    let mut at = 0;
    let mut state = State::Data;
    while at < input.len() {
        let step = match state {
            State::Data => data(b, html, at),
            // Raw text the view does not show: only where it ends counts.
            State::RawText | State::RcData | State::ScriptData if !b.shows_text() => {
                raw(b, input, at, state)
            }
            _ => Err(at),
        };
        (at, state) = match step {
            Ok(next) => next,
            Err(from) => match by_html5gum(b, html, from, state) {
                Some(next) => next,
                None => break,
            },
        };
    }
    b.flush_text();
}

/// Where to go on: the position and the tokenizer's state there; or `Err`
/// with the position from which html5gum reads.
type Step = Result<(usize, State), usize>;

/// html5gum's tokenizer from `from` in `state` until it has given the
/// builder a tag; `None` when it read to the end instead.
fn by_html5gum(
    b: &mut Builder<'_>,
    html: &str,
    from: usize,
    state: State,
) -> Option<(usize, State)> {
    b.position = from;
    let rest = html.get(from..)?;
    let mut tokenizer = Tokenizer::new_with_emitter(
        rest,
        Collector {
            state: b,
            emitted: None,
        },
    );
    tokenizer.set_state(state);
    let next = match tokenizer.next() {
        Some(Ok(next)) => next,
        _ => return None,
    };
    drop(tokenizer);
    Some((b.position, next))
}

/// The data state: text, tags, comments, doctypes.
fn data(b: &mut Builder<'_>, html: &str, mut at: usize) -> Step {
    let input = html.as_bytes();
    loop {
        // Character references only matter in text that is shown.
        let shows = b.shows_text();
        let found = if shows {
            memchr::memchr2(b'<', b'&', &input[at..])
        } else {
            memchr::memchr(b'<', &input[at..])
        };
        let Some(found) = found else {
            if shows {
                b.push_text(&html[at..]);
            }
            return Ok((input.len(), State::Data));
        };
        let mark = at + found;
        if shows && mark > at {
            b.push_text(&html[at..mark]);
        }
        if input[mark] == b'&' {
            at = reference_in_text(b, input, mark)?;
            continue;
        }
        at = match input.get(mark + 1) {
            Some(c) if c.is_ascii_alphabetic() => return tag(b, input, mark, false),
            Some(b'/') => match input.get(mark + 2) {
                Some(c) if c.is_ascii_alphabetic() => return tag(b, input, mark, true),
                // `</>` is dropped.
                Some(b'>') => mark + 3,
                Some(_) => past_gt(input, mark + 2),
                None => return Err(mark),
            },
            Some(b'!') => markup_declaration(input, mark),
            Some(b'?') => past_gt(input, mark + 1),
            None => return Err(mark),
            // A `<` that opens nothing is text.
            Some(_) => {
                if shows {
                    b.push_text("<");
                }
                mark + 1
            }
        };
    }
}

/// After the next `>` from `from` (a bogus comment's or a doctype's end),
/// or the end of the input.
fn past_gt(input: &[u8], from: usize) -> usize {
    memchr::memchr(b'>', &input[from..]).map_or(input.len(), |n| from + n + 1)
}

/// `<!` at `lt`: a comment, a doctype (which ends at the first `>` in every
/// state) or a bogus comment (`<![CDATA[` too, outside foreign content).
/// Where the data state goes on.
fn markup_declaration(input: &[u8], lt: usize) -> usize {
    let after = &input[lt + 2..];
    if after.starts_with(b"--") {
        return comment_end(input, lt + 4);
    }
    if after.len() >= 7 && after[..7].eq_ignore_ascii_case(b"doctype") {
        return past_gt(input, lt + 9);
    }
    past_gt(input, lt + 2)
}

/// After the comment whose text starts at `from`: `<!-->` and `<!--->` end
/// at once; else the first `-->` or `--!>` ends it (every comment state
/// reaches the comment end state on two dashes, where `>` or `!>` ends the
/// comment), or the end of the input.
fn comment_end(input: &[u8], from: usize) -> usize {
    let text = &input[from..];
    if text.starts_with(b">") {
        return from + 1;
    }
    if text.starts_with(b"->") {
        return from + 2;
    }
    // Dashes may overlap (`--->`): each is looked at.
    let mut at = 0;
    while let Some(found) = memchr::memchr(b'-', &text[at..]) {
        let dash = at + found;
        match &text[dash + 1..] {
            [b'-', b'>', ..] => return from + dash + 3,
            [b'-', b'!', b'>', ..] => return from + dash + 4,
            _ => at = dash + 1,
        }
    }
    input.len()
}

/// Whitespace between a tag's name and attributes (a carriage return is a
/// line feed by then).
const fn is_space(byte: u8) -> bool {
    matches!(byte, b'\t' | b'\n' | 0x0c | b'\r' | b' ')
}

/// The bytes that end a tag's name, an attribute's name, an unquoted value;
/// NUL among them, for html5gum to replace.
static ENDS_TAG_NAME: [bool; 256] = ends(b"/>\0");
static ENDS_ATTR_NAME: [bool; 256] = ends(b"/>=\0");
static ENDS_UNQUOTED: [bool; 256] = ends(b">");

const fn ends(also: &[u8]) -> [bool; 256] {
    let mut table = byte_set(also);
    let mut byte = 0;
    while byte < 256 {
        table[byte] |= is_space(byte as u8);
        byte += 1;
    }
    table
}

fn skip_spaces(input: &[u8], mut at: usize) -> usize {
    while input.get(at).copied().is_some_and(is_space) {
        at += 1;
    }
    at
}

/// A start or end tag from its `<` at `lt` (a letter follows it, or `/`
/// and a letter): read to its `>` and given to the builder. The tag states
/// of the tokenizer, with `Err` at what only html5gum reads: the end of the
/// input inside the tag (which drops it), a NUL in a name (replaced), an
/// `=` where a name starts, a character reference the view keeps that is
/// not known here. Inlined into the data state's loop, where most of a
/// newsletter's bytes are read: called, it cost 9 M instructions more on
/// the 250 messages of the hard ham (left to itself the compiler inlined it
/// or not as unrelated code changed).
#[inline(always)]
fn tag(b: &mut Builder<'_>, input: &[u8], lt: usize, end: bool) -> Step {
    let name = lt + 1 + usize::from(end);
    let mut at = find_in(input, name, &ENDS_TAG_NAME).ok_or(lt)?;
    if input[at] == 0 {
        return Err(lt);
    }
    b.tag.start(end);
    b.tag.element = Some(Element::of(&input[name..at]));
    loop {
        // Before an attribute's name, or after one (an `=` is read below).
        at = skip_spaces(input, at);
        match input.get(at) {
            None | Some(b'=') => return Err(lt),
            Some(b'>') => return Ok(emit(b, at + 1)),
            Some(b'/') => {
                if input.get(at + 1) == Some(&b'>') {
                    b.tag.self_closing = !end;
                    return Ok(emit(b, at + 2));
                }
                at += 1;
                continue;
            }
            Some(_) => {}
        }
        let name = at;
        at = find_in(input, name, &ENDS_ATTR_NAME).ok_or(lt)?;
        if input[at] == 0 {
            return Err(lt);
        }
        let keep = !end && b.tag.begin_attr(Attr::of(&input[name..at]));
        at = skip_spaces(input, at);
        if input.get(at) != Some(&b'=') {
            continue;
        }
        at = skip_spaces(input, at + 1);
        match input.get(at) {
            None => return Err(lt),
            // No value: the tag ends.
            Some(b'>') => return Ok(emit(b, at + 1)),
            Some(&quote @ (b'"' | b'\'')) => {
                let close = memchr::memchr(quote, &input[at + 1..]).ok_or(lt)?;
                if keep {
                    attr_value(b, input, at + 1, at + 1 + close).ok_or(lt)?;
                }
                // After a quoted value anything but whitespace, `/` and
                // `>` starts the next attribute, as after whitespace.
                at += close + 2;
            }
            Some(_) => {
                let value_end = find_in(input, at, &ENDS_UNQUOTED).ok_or(lt)?;
                if keep {
                    attr_value(b, input, at, value_end).ok_or(lt)?;
                }
                at = value_end;
            }
        }
    }
}

/// Gives the tag read to `after` (past its `>`) to the builder.
fn emit(b: &mut Builder<'_>, after: usize) -> (usize, State) {
    b.position = after;
    (after, b.emit_tag().unwrap_or(State::Data))
}

/// A value of an attribute the view keeps, from `from` to `to` in the
/// input, as the tokenizer gives it: character references decoded (as
/// inside attributes), line breaks normalised, or borrowed where it has
/// neither; `None` where html5gum must read it (a NUL, a reference not
/// known here).
fn attr_value(b: &mut Builder<'_>, input: &[u8], from: usize, to: usize) -> Option<()> {
    let value = &input[from..to];
    if memchr::memchr3(b'&', b'\r', b'\0', value).is_none() {
        b.tag.borrow_value(from, to);
        return Some(());
    }
    let mut at = 0;
    while let Some(found) = memchr::memchr3(b'&', b'\r', b'\0', &value[at..]) {
        let mark = at + found;
        b.tag.push_value(&value[at..mark]);
        at = match value[mark] {
            b'\r' => {
                b.tag.push_value(b"\n");
                mark + 1 + usize::from(value.get(mark + 1) == Some(&b'\n'))
            }
            b'\0' => return None,
            _ => {
                let (decoded, end) = reference(value, mark, true)?;
                b.tag.push_value(decoded.as_bytes());
                end
            }
        };
    }
    b.tag.push_value(&value[at..]);
    Some(())
}

/// A character reference in shown text at `amp`: its characters added to
/// the text; where the data state goes on, or `Err` for html5gum.
fn reference_in_text(b: &mut Builder<'_>, input: &[u8], amp: usize) -> Result<usize, usize> {
    let (decoded, end) = reference(input, amp, false).ok_or(amp)?;
    b.push_text(decoded.as_str());
    Ok(end)
}

/// A character reference's characters.
enum Decoded {
    /// A name's, or the `&` of what is not a reference.
    Str(&'static str),
    /// A number's character, UTF-8 encoded (bytes and length).
    Char([u8; 4], usize),
}

impl Decoded {
    fn as_str(&self) -> &str {
        match self {
            Decoded::Str(s) => s,
            Decoded::Char(bytes, len) => std::str::from_utf8(&bytes[..*len]).unwrap_or_default(),
        }
    }

    fn as_bytes(&self) -> &[u8] {
        self.as_str().as_bytes()
    }
}

/// The character reference at `amp` (an `&`) in `input`, as the character
/// reference states read it: its characters and the position after it; an
/// `&` that starts none is itself. `None` where only html5gum's table of
/// every name can say (a name this one does not have, followed by `;`).
fn reference(input: &[u8], amp: usize, in_attribute: bool) -> Option<(Decoded, usize)> {
    let from = amp + 1;
    match input.get(from) {
        Some(b'#') => numeric(input, from + 1),
        Some(c) if c.is_ascii_alphanumeric() => {
            let run_end = input[from..]
                .iter()
                .position(|c| !c.is_ascii_alphanumeric())
                .map_or(input.len(), |n| from + n);
            let run = &input[from..run_end];
            if input.get(run_end) == Some(&b';') {
                return entities::named(run).map(|(s, _)| (Decoded::Str(s), run_end + 1));
            }
            // Without `;` only the legacy names match, as the longest
            // that starts the run; inside an attribute only the whole run,
            // and not before `=`.
            let matched = if in_attribute {
                entities::named(run)
                    .filter(|&(_, legacy)| legacy && input.get(run_end) != Some(&b'='))
                    .map(|(s, _)| (s, run.len()))
            } else {
                entities::longest_legacy_prefix(run)
            };
            Some(match matched {
                Some((s, len)) => (Decoded::Str(s), from + len),
                // An `&` that starts no reference: the run is text.
                None => (Decoded::Str("&"), from),
            })
        }
        _ => Some((Decoded::Str("&"), from)),
    }
}

/// A numeric reference whose digits (after `&#`) start at `from`; `None`
/// for html5gum when there are no digits or more than eight.
fn numeric(input: &[u8], from: usize) -> Option<(Decoded, usize)> {
    let hex = matches!(input.get(from), Some(b'x' | b'X'));
    let digits = from + usize::from(hex);
    let base = if hex { 16 } else { 10 };
    let count = input[digits.min(input.len())..]
        .iter()
        .take_while(|&&c| char::from(c).is_digit(base))
        .count();
    if count == 0 || count > 8 {
        return None;
    }
    let text = std::str::from_utf8(&input[digits..digits + count]).ok()?;
    let code = u32::from_str_radix(text, base).ok()?;
    let mut end = digits + count;
    if input.get(end) == Some(&b';') {
        end += 1;
    }
    let c = entities::numeric_char(code);
    let mut bytes = [0; 4];
    let len = c.encode_utf8(&mut bytes).len();
    Some((Decoded::Char(bytes, len), end))
}

/// Raw text (`<style>`, `<script>`, `<title>`…) the view does not show,
/// from `at` to its appropriate end tag: `</` and the last start tag's
/// name, then `>`. Before whitespace or `/` (an end tag with attributes),
/// and in a script holding `<!--` before its end (the escaped states),
/// html5gum reads it.
fn raw(b: &mut Builder<'_>, input: &[u8], at: usize, state: State) -> Step {
    let script = state == State::ScriptData;
    let name_len = b.last_start_tag.len();
    for found in memchr::memchr_iter(b'<', &input[at..]) {
        let lt = at + found;
        match input.get(lt + 1) {
            Some(b'/') => {}
            Some(b'!') if script && input[lt + 2..].starts_with(b"--") => return Err(at),
            _ => continue,
        }
        let name = lt + 2;
        let Some(candidate) = input.get(name..name + name_len) else {
            break;
        };
        if !candidate.eq_ignore_ascii_case(&b.last_start_tag) {
            continue;
        }
        return match input.get(name + name_len) {
            Some(b'>') => {
                b.tag.start(true);
                b.tag.name.extend_from_slice(&b.last_start_tag);
                Ok(emit(b, name + name_len + 1))
            }
            Some(&c) if is_space(c) || c == b'/' => Err(lt),
            None => Err(lt),
            Some(_) => continue,
        };
    }
    // No end: the rest is raw text, not shown.
    Ok((input.len(), state))
}
