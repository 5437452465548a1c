//! Body text as rules want it: HTML turned into text, and the text the
//! sender wrote in this message told apart from the quoted history below it.

use super::html::{byte_set, find_in};
use super::{BodyKind, BodyPart, HtmlView};
use crate::gate::{self, Screened};
use regex::Regex;
use std::sync::LazyLock;

impl BodyPart {
    pub fn new(kind: BodyKind, text: String, line: Option<usize>) -> Self {
        BodyPart {
            kind,
            text,
            line,
            verbatim: false,
            line_starts: Vec::new(),
            plain: Default::default(),
            authored: Default::default(),
            html: Default::default(),
        }
    }

    /// The links, images and visible text of an HTML part, parsed the first
    /// time any rule asks and shared by all of them; `None` for plain text.
    pub fn html(&self) -> Option<&HtmlView> {
        match self.kind {
            BodyKind::Text => None,
            BodyKind::Html => Some(self.html.get_or_init(|| HtmlView::parse(&self.text))),
        }
    }

    /// The file line of line `n` (from 1) of the content: exact when the
    /// part is [`verbatim`](Self::verbatim) or quoted-printable, else the
    /// line the part starts on.
    pub fn source_line(&self, n: usize) -> Option<usize> {
        let start = self.line?;
        let index = n.saturating_sub(1);
        Some(if self.verbatim {
            start.saturating_add(index)
        } else {
            self.line_starts
                .get(index)
                .map_or(start, |&offset| start.saturating_add(offset as usize))
        })
    }

    /// Where each line of the decoded content starts in the source, for a
    /// quoted-printable part. Kept only when the counts agree: an encoded
    /// line break (`=0A`) would shift every line after it.
    pub(super) fn set_line_starts(&mut self, starts: Vec<u32>) {
        if starts.len() == memchr::memchr_iter(b'\n', self.text.as_bytes()).count() + 1 {
            self.line_starts = starts;
        }
    }

    /// The file line of `piece`, a slice of this part's [`text`](Self::text),
    /// [`plain`](Self::plain) or [`authored`](Self::authored) text, so that
    /// a finding points at the line of its match. HTML converted to text
    /// has lines of its own: there, and for any other string, the line the
    /// part starts on.
    pub fn line_of(&self, piece: &str) -> Option<usize> {
        if let Some(offset) = offset_in(&self.text, piece) {
            return match self.kind {
                BodyKind::Text => self.source_line(line_in(&self.text, offset)),
                BodyKind::Html => self.line,
            };
        }
        if self.kind == BodyKind::Text
            && let Some(authored) = self.authored.get()
            && let Some(offset) = offset_in(&authored.text, piece)
            && let Some(&n) = authored.lines.get(line_in(&authored.text, offset) - 1)
        {
            return self.source_line(n as usize);
        }
        self.line
    }

    /// `text/plain` or `text/html`, for locations.
    pub fn mime_type(&self) -> &'static str {
        match self.kind {
            BodyKind::Text => "text/plain",
            BodyKind::Html => "text/html",
        }
    }

    /// The part as plain text: HTML is converted (by mail-parser) the first
    /// time it is asked for, and kept.
    pub fn plain(&self) -> &str {
        match self.kind {
            BodyKind::Text => &self.text,
            BodyKind::Html => self.plain.get_or_init(|| html_to_text(&self.text)),
        }
    }

    /// What the sender wrote in this message: [`plain`](Self::plain) without
    /// `>`-quoted lines, without the history after a reply attribution
    /// ("On … wrote:", "-----Original Message-----", a forwarded message),
    /// and without the signature after `-- `.
    pub fn authored(&self) -> &str {
        &self
            .authored
            .get_or_init(|| authored_text(self.plain()))
            .text
    }
}

/// What the sender wrote (see [`BodyPart::authored`]), and for each of its
/// lines the line (from 1) of the part's text it was taken from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Authored {
    text: String,
    lines: Vec<u32>,
}

/// Where `piece` starts in `whole`, when it is a slice of it.
fn offset_in(whole: &str, piece: &str) -> Option<usize> {
    let start = (piece.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    (start + piece.len() <= whole.len()).then_some(start)
}

/// The line (from 1) of a byte offset in a text.
pub(crate) fn line_in(text: &str, offset: usize) -> usize {
    1 + memchr::memchr_iter(b'\n', &text.as_bytes()[..offset.min(text.len())]).count()
}

/// HTML as text, as mail-parser's converter (`html_to_text`) reads the HTML
/// with a space put before each table cell (`<td>`, `<th>` and their ends)
/// and a `<br>` before the end of each row, block or list item (`</tr>`,
/// `</div>`, `</li>`, `</h1>`…, `</table>`, `</blockquote>`, `</dt>`,
/// `</dd>`, `</ul>`, `</ol>`): without them `<td>SSN</td><td>123</td>` would
/// read as one word, `SSN123`, since mail-parser breaks lines only at `<br>`
/// and `</p>`.
///
/// Its state machine, with the separators applied where they would stand
/// instead of written into a copy (what they do to the state is spelled
/// out at each), read a run at a time rather than byte by byte: outside
/// tags a word to its end, in a tag its name, then past it to the next `<`
/// or `>` (the only bytes that count there), a comment to its end, hidden
/// text to the next `<`. The words themselves are written by mail-parser's
/// own `add_html_token` where they may be entities. Before, a regex put the
/// separators into a copy and mail-parser converted that: two passes and a
/// copy, a sixth of all the work on HTML-heavy mail. A test compares both
/// on generated HTML.
pub(super) fn html_to_text(html: &str) -> String {
    let input = html.as_bytes();
    let len = input.len();
    let mut result = Output {
        html,
        text: String::with_capacity(len),
        run: 0..0,
    };

    let mut in_head = false;
    let mut in_style = false;
    let mut in_script = false;
    let mut in_template = false;
    // Any of `<head>`, `<style>`, `<script>`, `<template>`.
    let mut hidden = false;

    let mut is_after_space = false;
    let mut is_new_line = true;

    let mut pos = 0;
    // Outside tags. The converter's `is_token_start` is `word` being
    // `None`, and its `token_end` is `pos - 1` wherever a word is read.
    'text: loop {
        let mut word: Option<usize> = None;
        if hidden {
            // Hidden words are never written, and only `<` changes
            // anything: skip to the next one.
            match memchr::memchr(b'<', &input[pos..]) {
                Some(n) => pos += n,
                None => break,
            }
        } else {
            loop {
                let Some(&ch) = input.get(pos) else {
                    if let Some(start) = word {
                        result.word(start..pos, is_after_space && !is_new_line);
                    }
                    break 'text;
                };
                match ch {
                    b'<' => break,
                    // White space ends the word being read, and the next
                    // is written after a space.
                    b' ' | b'\t' | b'\r' | b'\n' => {
                        if let Some(start) = word {
                            // Once words are written after a space, a
                            // word after a single space is written as if
                            // it went on over the space (`Output` would
                            // join them anyway): one write for the run.
                            // Not after an `&`, which may start an entity.
                            if ch == b' '
                                && is_after_space
                                && !is_new_line
                                && input[start] != b'&'
                                && input
                                    .get(pos + 1)
                                    .is_some_and(|&b| !ENDS_WORD[usize::from(b)])
                            {
                                pos = find(input, pos + 2, &ENDS_WORD);
                                continue;
                            }
                            result.word(start..pos, is_after_space && !is_new_line);
                            is_new_line = false;
                            word = None;
                        }
                        is_after_space = true;
                        pos += 1;
                        while pos < len && matches!(input[pos], b' ' | b'\t' | b'\r' | b'\n') {
                            pos += 1;
                        }
                        continue;
                    }
                    // `&` ends the word before it and starts one.
                    b'&' => {
                        if let Some(start) = word {
                            result.word(start..pos, is_after_space && !is_new_line);
                            is_new_line = false;
                            is_after_space = false;
                        }
                        word = Some(pos);
                    }
                    // `;` ends the word it is part of (an entity, if it is
                    // one), or starts one.
                    b';' => {
                        if let Some(start) = word.take() {
                            result.word(start..pos + 1, is_after_space && !is_new_line);
                            is_new_line = false;
                            is_after_space = false;
                            pos += 1;
                            continue;
                        }
                        word = Some(pos);
                    }
                    _ => {
                        if word.is_none() {
                            word = Some(pos);
                        }
                    }
                }
                pos = find(input, pos + 1, &ENDS_WORD);
            }
        }

        // A `<`, outside a tag or inside one.
        let mut in_tag = false;
        'tag: loop {
            match separator(&html[pos..]) {
                // A space, read as if it stood before the `<` (in a tag or
                // hidden text it changes nothing).
                Some(Separator::Space) if !in_tag && !hidden => {
                    if let Some(start) = word.take() {
                        result.word(start..pos, is_after_space && !is_new_line);
                        is_new_line = false;
                    }
                    is_after_space = true;
                }
                // `<br>`: the word being read is written, then a line
                // break, even inside a tag, `<head>`, `<style>` or
                // `<script>`.
                Some(Separator::LineBreak) => {
                    if let Some(start) = word.take() {
                        result.word(start..pos, is_after_space);
                    }
                    result.line_break();
                    is_after_space = false;
                    is_new_line = true;
                }
                Some(Separator::Space) | None => {}
            }
            if let Some(start) = word.take() {
                result.word(start..pos, is_after_space);
                is_after_space = false;
            }
            in_tag = true;
            pos += 1;

            // Before the tag's first word: `/` makes it an end tag, `!--`
            // starts a comment.
            let mut is_tag_close = false;
            loop {
                match input.get(pos) {
                    None => break 'text,
                    Some(b'/') => is_tag_close = true,
                    Some(b' ' | b'\t' | b'\r' | b'\n') => {}
                    Some(b'!') if input.get(pos + 1..pos + 3) == Some(b"--") => {
                        match comment_end(input, pos + 1) {
                            Some(end) => {
                                pos = end;
                                continue 'text;
                            }
                            None => break 'text,
                        }
                    }
                    Some(b'<') => continue 'tag,
                    Some(b'>') => {
                        pos += 1;
                        continue 'text;
                    }
                    Some(_) => break,
                }
                pos += 1;
            }

            // Its first word, the name, counts only when the tag ends after
            // it; past any other name's start only `<` and `>` count.
            if may_act(&input[pos..]) {
                // `/` inside the name is skipped, not part of it nor its
                // end.
                let name_start = pos;
                let mut name_end;
                loop {
                    pos = find(input, pos + 1, &ENDS_NAME);
                    name_end = pos;
                    while pos < len && input[pos] == b'/' {
                        pos += 1;
                    }
                    if pos == len || ENDS_NAME[usize::from(input[pos])] {
                        break;
                    }
                }
                // White space and `/` after it change nothing.
                while pos < len && matches!(input[pos], b' ' | b'\t' | b'\r' | b'\n' | b'/') {
                    pos += 1;
                }
                match input.get(pos) {
                    None => break 'text,
                    Some(b'<') => continue 'tag,
                    Some(b'>') => {
                        let name = &input[name_start..name_end];
                        let is = |tag: &[u8]| name.eq_ignore_ascii_case(tag);
                        match name.len() {
                            1 | 2 if is(b"br") || (is(b"p") && is_tag_close) => {
                                result.line_break();
                                is_after_space = false;
                                is_new_line = true;
                            }
                            4 if is(b"head") => in_head = !is_tag_close,
                            5 if is(b"style") => in_style = !is_tag_close,
                            6 if is(b"script") => in_script = !is_tag_close,
                            8 if is(b"template") => in_template = !is_tag_close,
                            _ => {}
                        }
                        hidden = in_head || in_style || in_script || in_template;
                        pos += 1;
                        continue 'text;
                    }
                    // A second word, past which only `<` and `>` count.
                    Some(_) => {}
                }
            }
            match find_angle(input, pos) {
                None => break 'text,
                Some(at) if input[at] == b'<' => {
                    pos = at;
                    continue 'tag;
                }
                Some(at) => {
                    pos = at + 1;
                    continue 'text;
                }
            }
        }
    }
    result.finish()
}

/// Whether a tag's name starting `name` may be one the converter acts on
/// at the tag's end (`br`, `p`, `head`, `style`, `script`, `template`),
/// from its first two bytes.
fn may_act(name: &[u8]) -> bool {
    match name {
        [b'p' | b'P', ..] => true,
        [first, second, ..] => matches!(
            [first.to_ascii_lowercase(), second.to_ascii_lowercase()],
            [b'b', b'r'] | [b'h', b'e'] | [b's', b't' | b'c'] | [b't', b'e']
        ),
        _ => false,
    }
}

/// The first position from `from` on whose byte is in `set`, or the end.
fn find(input: &[u8], from: usize, set: &[bool; 256]) -> usize {
    find_in(input, from, set).unwrap_or(input.len())
}

/// The first `<` or `>` from `from` on, read as 64-bit words, two at a
/// time: they are the bytes that read as `>` with bit 1 set (`<` is
/// `0x3C`, `>` `0x3E`). On the few dozen bytes of a tag's attributes
/// memchr's setup costs more than its vector search saves.
fn find_angle(input: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // Zero where a byte is `<` or `>`; the lowest byte found zero is
    // exact (borrows only carry upwards).
    let zeros = |chunk: &[u8]| {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(chunk);
        let x = (u64::from_le_bytes(bytes) | (ONES << 1)) ^ u64::from_ne_bytes([b'>'; 8]);
        x.wrapping_sub(ONES) & !x & HIGHS
    };
    let rest = input.get(from..)?;
    let mut chunks = rest.chunks_exact(16);
    let mut pos = from;
    for chunk in &mut chunks {
        let (low, high) = (zeros(&chunk[..8]), zeros(&chunk[8..]));
        if low | high != 0 {
            let at = if low != 0 {
                low.trailing_zeros()
            } else {
                64 + high.trailing_zeros()
            };
            return Some(pos + (at / 8) as usize);
        }
        pos += 16;
    }
    let mut chunks = chunks.remainder().chunks_exact(8);
    for chunk in &mut chunks {
        let z = zeros(chunk);
        if z != 0 {
            return Some(pos + (z.trailing_zeros() / 8) as usize);
        }
        pos += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b | 2 == b'>')
        .map(|n| pos + n)
}

/// Where a comment the converter reads from `from` (after `<!`) ends: past
/// the first `>` after exactly two `-` (it counts the `-` from `from` on
/// and starts again at anything else).
fn comment_end(input: &[u8], from: usize) -> Option<usize> {
    let comment = input.get(from..)?;
    memchr::memchr_iter(b'>', comment)
        .find(|&at| {
            at >= 2 && comment[at - 2..at] == *b"--" && (at == 2 || comment[at - 3] != b'-')
        })
        .map(|at| from + at + 1)
}

/// The bytes that end a word outside tags.
static ENDS_WORD: [bool; 256] = byte_set(b" \t\r\n<&;");
/// The bytes that end a tag's name or are skipped in it.
static ENDS_NAME: [bool; 256] = byte_set(b" \t\r\n<>/");

/// The converter's text, written a run at a time: a word that follows the
/// one before it in the HTML after a single space, as the words of running
/// text do, extends a run of the HTML copied at once when anything else
/// comes (a copy a word cost more than the words' bytes).
struct Output<'h> {
    html: &'h str,
    text: String,
    /// The bytes of `html` to add next, as they are.
    run: std::ops::Range<usize>,
}

impl Output<'_> {
    /// Adds a word of the converter (a range of the HTML, after a space
    /// when `space`): entities (`&…;`) decoded by mail-parser's
    /// `add_html_token`, other words as they are. The range starts and ends
    /// beside ASCII bytes, so it is whole characters; mail-parser checks
    /// every word as UTF-8 again, which on HTML-heavy mail cost more than
    /// the words' copying.
    fn word(&mut self, range: std::ops::Range<usize>, space: bool) {
        // Never outside the text: the converter's positions are its bytes'.
        let Some(word) = self.html.get(range.clone()) else {
            return;
        };
        if word.starts_with('&') && word.ends_with(';') {
            self.flush();
            mail_parser::decoders::html::add_html_token(&mut self.text, word.as_bytes(), space);
            return;
        }
        let follows = if space {
            range.start == self.run.end + 1 && self.html.as_bytes()[self.run.end] == b' '
        } else {
            range.start == self.run.end
        };
        if follows && !self.run.is_empty() {
            self.run.end = range.end;
            return;
        }
        self.flush();
        if space {
            self.text.push(' ');
        }
        self.run = range;
    }

    fn line_break(&mut self) {
        self.flush();
        self.text.push('\n');
    }

    fn flush(&mut self) {
        let run = std::mem::replace(&mut self.run, 0..0);
        self.text.push_str(&self.html[run]);
    }

    fn finish(mut self) -> String {
        self.flush();
        self.text
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Separator {
    /// Before `<td`, `<th`, `</td`, `</th` (any case, not followed by a
    /// letter, digit or other word character).
    Space,
    /// Before `</tr>`, `</div>`, `</li>`, `</h1>`…`</h6>`, `</table>`,
    /// `</blockquote>`, `</dt>`, `</dd>`, `</ul>`, `</ol>` (any case, white
    /// space allowed before the `>`).
    LineBreak,
}

/// The separator to put before the tag at the start of `at` (which starts
/// with `<`): what `(?i)<(?:(/?t[dh]\b)|/(?:tr|div|li|h[1-6]|table|blockquote|dt|dd|ul|ol)\s*>)`
/// matched there, with its Unicode case folding (the Kelvin sign `\u{212A}`
/// is a `k`) and word boundary.
fn separator(at: &str) -> Option<Separator> {
    let after = at.get(1..)?;
    let (close, name) = match after.strip_prefix('/') {
        Some(name) => (true, name),
        None => (false, after),
    };
    let first = name.as_bytes().first()?.to_ascii_lowercase();
    if first == b't'
        && name
            .as_bytes()
            .get(1)
            .is_some_and(|dh| matches!(dh.to_ascii_lowercase(), b'd' | b'h'))
        && !match name.as_bytes().get(2) {
            Some(&b) if b.is_ascii() => regex_syntax::is_word_byte(b),
            _ => name[2..]
                .chars()
                .next()
                .is_some_and(regex_syntax::is_word_character),
        }
    {
        return Some(Separator::Space);
    }
    if !close {
        return None;
    }
    let rest = match name.as_bytes() {
        [b'h' | b'H', b'1'..=b'6', ..] => &name[2..],
        _ => block_ends(first)
            .iter()
            .find_map(|block| strip_folded(name, block))?,
    };
    rest.trim_start()
        .starts_with('>')
        .then_some(Separator::LineBreak)
}

/// The names after `</` that end a block (`h1`…`h6` apart), by their
/// first letter (ASCII: the Kelvin sign is only a later `k`).
fn block_ends(first: u8) -> &'static [&'static str] {
    match first {
        b't' => &["tr", "table"],
        b'd' => &["div", "dt", "dd"],
        b'l' => &["li"],
        b'b' => &["blockquote"],
        b'u' => &["ul"],
        b'o' => &["ol"],
        _ => &[],
    }
}

/// `text` without `prefix` (ASCII lower case) at its start, in any case,
/// with `k` also matching the Kelvin sign as Unicode case folding has it.
fn strip_folded<'t>(text: &'t str, prefix: &str) -> Option<&'t str> {
    let mut rest = text;
    for expected in prefix.bytes() {
        let &first = rest.as_bytes().first()?;
        if first.to_ascii_lowercase() == expected {
            rest = &rest[1..];
        } else if expected == b'k' {
            rest = rest.strip_prefix('\u{212A}')?;
        } else {
            return None;
        }
    }
    Some(rest)
}

/// The lines of a text as [`str::lines`] gives them (`\n` or `\r\n` ends a
/// line; a last line needs no end). Hand-written on the SIMD `memchr`:
/// `str::lines` looks for each `\n` with the standard library's
/// byte-at-a-time search, which took three times the instructions on the
/// short lines of ordinary mail (measured over 2,403 real messages).
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        Some(match memchr::memchr(b'\n', rest.as_bytes()) {
            Some(end) => {
                let line = &rest[..end];
                rest = &rest[end + 1..];
                line.strip_suffix('\r').unwrap_or(line)
            }
            None => std::mem::take(&mut rest),
        })
    })
}

/// The paragraphs of a text: runs of non-blank lines, trimmed, in order.
pub fn paragraphs(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        loop {
            if rest.is_empty() {
                return None;
            }
            // The end of the next blank line (a line of only whitespace),
            // lines found as in `lines`.
            let mut end = rest.len();
            let mut next = rest.len();
            let mut offset = 0;
            while offset < rest.len() {
                let line_end = memchr::memchr(b'\n', &rest.as_bytes()[offset..])
                    .map_or(rest.len(), |at| offset + at + 1);
                if offset > 0 && rest[offset..line_end].trim_start().is_empty() {
                    end = offset;
                    next = line_end;
                    break;
                }
                offset = line_end;
            }
            let paragraph = rest[..end].trim();
            rest = &rest[next..];
            if !paragraph.is_empty() {
                return Some(paragraph);
            }
        }
    })
}

/// Phrases of the legal and antivirus footers organisations append to
/// every message ("This email and any attachments are confidential and
/// intended solely for the addressee..."), in English, German, French,
/// Spanish, Dutch, Italian, Portuguese, Polish, Swedish, Danish, Norwegian
/// and Finnish. Every `\b` stands beside an ASCII letter (see
/// [`Screened`]).
static DISCLAIMER: LazyLock<Screened> = LazyLock::new(|| {
    Screened::gated(concat!(
        r"(?i)",
        r"\bintended\s+(?:recipients?|addressees?)\b",
        r"|\bintended\s+(?:solely|only|exclusively)\s+for\b",
        r"|\b(?:received|receive|got)\s+this\s+(?:e-?\s?mail|message|communication|transmission)\s+(?:in|by)\s+(?:error|mistake)",
        r"|\bnotify\s+(?:the\s+)?sender\b",
        r"|\bmay\s+contain\s+(?:(?-i:\w)+\s+){0,2}(?:confidential|privileged|proprietary|sensitive)",
        r"|\bconfidential\s+and\s+(?:may\s+(?:be|also\s+be)\s+)?(?:legally\s+)?privileged",
        r"|\bconfidentiality\s+(?:notice|statement|disclaimer|note|warning)\b",
        r"|\b(?:legally|professionally)\s+privileged\b",
        r"|\bunauthori[sz]ed\s+(?:use|disclosure|review|dissemination|distribution|copying|reading)",
        r"|\b(?:e-?mail|message|transmission)\s+and\s+any\s+(?:attachments|files|documents)\b",
        r"|\bdisclaimer\b",
        // German, French, Spanish, Dutch.
        r"|\b(?:irrtümlich|fälschlicherweise|par\s+erreur|por\s+error|per\s+abuis|onterecht)\b",
        r"|\b(?:richtige[nr]?\s+adressat|destinataires?\s+(?:prévus?|désignés?)|destinatarios?\s+(?:indicados?|previstos?)|beoogde\s+ontvanger)",
        r"|\b(?:ce\s+message|cet\s+e-?mail|este\s+(?:mensaje|correo)|diese\s+(?:e-?mail|nachricht)|dit\s+(?:bericht|e-?mailbericht))\s+(?:et|y|und|en)\s+(?:ses|sus|toutes?\s+les|alle|seine|eventuele|de)\b",
    ))
});

/// [`DISCLAIMER`]'s phrases in Italian, Portuguese, Polish, Swedish,
/// Danish, Norwegian and Finnish (and German "nur für den Adressaten"),
/// apart behind their own words: paragraphs in the languages above, which
/// nearly all hold a word of [`DISCLAIMER_WORDS`], neither compile nor run
/// them.
static DISCLAIMER_MORE: LazyLock<Screened> = LazyLock::new(|| {
    Screened::gated(concat!(
        r"(?i)\bnur\s+für\s+den\s+(?:adressaten|empfänger)\b",
        r"|\b(?:per\s+errore|por\s+engano|omyłkowo|av\s+misstag|ved\s+en\s+(?:fejl|feil(?:take)?)|virheellisesti)\b",
        r"|\bprzez\s+pomyłkę|\berehdyksessä",
        r"|\b(?:destinatari[oa]?|destinatários?)\s+(?:indicat|previst|designad|pretendid)",
        // "may contain confidential information", the verb first or last.
        r"|\b(?:peut|peuvent|pourrait|puede|pueden|podría|può|possono|potrebbe|pode|podem|może|mogą|voi|saattaa)\s+(?:contenir|contener|contenere|conter|zawierać|sisältää)\s+(?:(?-i:\w)+\s+){0,2}(?:confidenti|confidenci|riservat|confidenzial|sigilos|privil|poufn|luottamuksel)",
        r"|\b(?:kann|können|kan|kunnen)\s+(?:(?-i:\w)+\s+){0,2}(?:vertraulich|vertrouwelijk|fortrolig|konfidentiell|konfidensiell|privilegiert)",
    ))
});

/// Whether a paragraph is a legal or antivirus footer rather than
/// something the sender wrote for this message. Footers often come without
/// a `-- ` signature delimiter, so rules reading the text for what it says
/// (a confidentiality marking, a promised attachment) skip such paragraphs.
pub fn is_disclaimer(paragraph: &str) -> bool {
    // A footer is a paragraph, not a book: bounded to keep this linear.
    let head = match paragraph.char_indices().nth(2000) {
        Some((i, _)) => &paragraph[..i],
        None => paragraph,
    };
    (DISCLAIMER_WORDS.is_match(head) && (DISCLAIMER.is_match(head) || virus_near_carrier(head)))
        || (DISCLAIMER_WORDS_MORE.is_match(head) && DISCLAIMER_MORE.is_match(head))
}

/// "virus" within 120 characters of "attachment", "e-mail", "message" or
/// "transmission", on either side: an antivirus footer. Found from the
/// words' positions rather than by one pattern with `.{0,120}` between
/// them, which the regex crate compiles into hundreds of states and runs
/// slowly on every paragraph.
fn virus_near_carrier(text: &str) -> bool {
    const REACH: usize = 120;
    let Some(virus) = VIRUS.screen(text) else {
        return false;
    };
    let viruses: Vec<(usize, usize)> = virus
        .find_iter(text)
        .map(|m| (m.start(), m.end()))
        .collect();
    if viruses.is_empty() {
        return false;
    }
    CARRIER.find_iter(text).any(|carrier| {
        viruses.iter().any(|&(start, end)| {
            let gap = if end <= carrier.start() {
                &text[end..carrier.start()]
            } else if carrier.end() <= start {
                &text[carrier.end()..start]
            } else {
                return false;
            };
            gap.chars().nth(REACH).is_none()
        })
    })
}

static VIRUS: LazyLock<Screened> = LazyLock::new(|| Screened::gated(r"(?i)\bvirus(?:es)?\b"));
static CARRIER: LazyLock<regex_automata::meta::Regex> =
    LazyLock::new(|| gate::gated(r"(?i)\b(?:attachments?|e-?mails?|messages?|transmissions?)\b"));

/// A word of every [`DISCLAIMER`] alternative (see `gate.rs`).
static DISCLAIMER_WORDS: LazyLock<gate::Words> = LazyLock::new(|| {
    gate::words(&[
        "intended",
        "error",
        "mistake",
        "notify",
        "contain",
        "privileged",
        "confidential",
        "unauthori",
        "attachments",
        "files",
        "documents",
        "virus",
        "disclaimer",
        "irrt",
        "lschlicherweise",
        "erreur",
        "abuis",
        "onterecht",
        "adressat",
        "destinatair",
        "destinatario",
        "ontvanger",
        "message",
        "mail",
        "mensaje",
        "correo",
        "nachricht",
        "bericht",
    ])
});

/// A word of every [`DISCLAIMER_MORE`] alternative.
static DISCLAIMER_WORDS_MORE: LazyLock<gate::Words> = LazyLock::new(|| {
    gate::words(&[
        "adressaten",
        "empf",
        "destinatari",
        "destinatár",
        "destinatÁr",
        "omyŁk",
        "pomyŁk",
        "sisÄlt",
        "privilegiert",
        "errore",
        "engano",
        "omyłk",
        "pomyłk",
        "misstag",
        "fejl",
        "feil",
        "virheellisesti",
        "erehdy",
        "contenir",
        "contener",
        "contenere",
        "conter",
        "zawiera",
        "sisält",
        "vertraulich",
        "vertrouwelijk",
        "fortrolig",
        "konfidentiell",
        "konfidensiell",
    ])
});

/// The history-start pattern, with the runs of an attribution line (`On
/// ... wrote ...:`) before and after its verb.
macro_rules! history_start {
    ($before:literal, $after:literal) => {
        concat!(
            r"(?i)^\s*(?:",
            r"-{2,}\s*original message\s*-{2,}",
            r"|-{2,}\s*(?:forwarded message|weitergeleitete nachricht|message transféré|mensaje reenviado|doorgestuurd bericht)\s*-{2,}",
            r"|begin forwarded message:",
            r"|_{20,}",
            r"|(?:on|am|le|el|op|il|den|w dniu)\s",
            $before,
            r"(?:wrote|schrieb|a écrit|escribió|schreef|ha scritto|skrev|napisał)(?:\s",
            $after,
            r")?\s*:",
            r"|-----\s*ursprüngliche nachricht\s*-----",
            r")\s*$"
        )
    };
}

/// A line at which the rest of the text is history, not new writing.
static HISTORY_START: gate::Twin = gate::Twin::new(history_start!(".{0,200}", ".{0,120}"));

/// [`HISTORY_START`] for a line of at most [`SHORT_LINE`] characters, where
/// its bounded runs cannot reach their bounds: the same matches, from a
/// fifth of the instructions to compile.
static SHORT_HISTORY_START: gate::Twin = gate::Twin::new(history_start!(".*", ".*"));
const SHORT_LINE: usize = 120;

// Inlined, so that the test of the last character costs most lines no
// call.
#[inline(always)]
fn is_history_start(line: &str) -> bool {
    // Every alternative ends in `-`, `_` or `:` before trailing space: a
    // test of the last character spares most lines the word gate.
    matches!(last_char(line), Some('-' | '_' | ':'))
        && HISTORY_WORDS.is_match(line)
        && if line.chars().nth(SHORT_LINE).is_none() {
            SHORT_HISTORY_START.is_match(line)
        } else {
            HISTORY_START.is_match(line)
        }
}

/// The last character of a line before trailing whitespace. Most lines
/// end in an ASCII letter or stop, read without trimming.
#[inline]
fn last_char(line: &str) -> Option<char> {
    match line.as_bytes().last() {
        // ASCII whitespace is `\t` to `\r` and the space.
        Some(&b) if b.is_ascii() && !matches!(b, b'\t'..=b'\r' | b' ') => Some(char::from(b)),
        _ => line.trim_end().chars().next_back(),
    }
}

/// A word of every [`HISTORY_START`] alternative (see `gate.rs`).
static HISTORY_WORDS: LazyLock<gate::Words> = LazyLock::new(|| {
    gate::words(&[
        "original message",
        "forwarded message",
        "nachricht",
        "message transf",
        "mensaje reenviado",
        "doorgestuurd bericht",
        "____________________",
        "wrote",
        "schrieb",
        "crit",
        "escribi",
        "schreef",
        "scritto",
        "skrev",
        "napisa",
    ])
});

/// The Outlook header block that starts quoted history: `From:` then `Sent:`.
// A constant pattern, compiled by every test run: `expect` cannot fail.
#[allow(clippy::expect_used)]
static OUTLOOK_FROM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^\s*\*?(?:from|von|de|van)\s*:\*?\s").expect("valid"));
// A constant pattern, compiled by every test run: `expect` cannot fail.
#[allow(clippy::expect_used)]
static OUTLOOK_SENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*\*?(?:sent|date|gesendet|envoyé|enviado|verzonden)\s*:\*?\s")
        .expect("valid")
});

/// Whether a line, its leading space trimmed, may start as [`OUTLOOK_FROM`]
/// does: with `from`, `von`, `de` or `van`, after at most a `*` (none of
/// their letters has a case form outside ASCII). Over 2,403 real messages
/// the regex and this test take 1 M instructions, where the regex and a
/// search for the `:` took 7 M.
fn may_open_outlook_block(trimmed: &str) -> bool {
    let name = trimmed.strip_prefix('*').unwrap_or(trimmed);
    matches!(
        name.as_bytes().first(),
        Some(b'f' | b'F' | b'v' | b'V' | b'd' | b'D')
    )
}

fn authored_text(text: &str) -> Authored {
    let mut out = String::with_capacity(text.len().min(1 << 16));
    // At most one entry a line, found faster at once than grown into.
    let mut kept: Vec<u32> =
        Vec::with_capacity(memchr::memchr_iter(b'\n', text.as_bytes()).count() + 1);
    let mut lines = lines(text).zip(1u32..).peekable();
    let mut previous = "";
    while let Some((line, number)) = lines.next() {
        // ASCII white space is trimmed here, byte by byte: `trim_start`,
        // a call that decodes characters, only where a line goes on with
        // a character beyond ASCII.
        let ascii_space = line
            .bytes()
            .take_while(|b| matches!(b, b'\t'..=b'\r' | b' '))
            .count();
        let rest = &line[ascii_space..];
        let trimmed = if rest.as_bytes().first().is_some_and(|b| !b.is_ascii()) {
            rest.trim_start()
        } else {
            rest
        };
        if line == "-- " || line == "--" {
            break;
        }
        // An attribution wrapped over two lines: "On Mon, 1 Jan, Ann <\nann@x> wrote:".
        let joined_attribution = !previous.is_empty()
            && last_char(line) == Some(':')
            && is_history_start(&format!("{} {}", previous.trim(), trimmed));
        if is_history_start(line) || joined_attribution {
            if joined_attribution {
                // The first half of the attribution is already in `out`.
                let cut = out.trim_end_matches('\n').rfind('\n').map_or(0, |i| i + 1);
                out.truncate(cut);
                kept.truncate(out.matches('\n').count());
            }
            break;
        }
        if may_open_outlook_block(trimmed)
            && OUTLOOK_FROM.is_match(line)
            && lines
                .peek()
                .is_some_and(|(next, _)| OUTLOOK_SENT.is_match(next))
        {
            break;
        }
        if !trimmed.starts_with('>') {
            out.push_str(line);
            out.push('\n');
            kept.push(number);
        }
        previous = line;
    }
    Authored {
        text: out,
        lines: kept,
    }
}

#[cfg(test)]
mod tests {
    use super::{
        OUTLOOK_FROM, authored_text, html_to_text, is_disclaimer, is_history_start, last_char,
        lines, may_open_outlook_block, paragraphs,
    };
    use proptest::prop_assert_eq;
    use regex::Regex;
    use std::sync::LazyLock;

    /// The conversion as it was written before the one pass: the
    /// separators put into a copy by a regex, then mail-parser's converter.
    fn html_to_text_by_regex(html: &str) -> String {
        static HTML_SEPARATORS: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(
                r"(?i)<(?:(/?t[dh]\b)|/(?:tr|div|li|h[1-6]|table|blockquote|dt|dd|ul|ol)\s*>)",
            )
            .unwrap()
        });
        let separated = HTML_SEPARATORS.replace_all(html, |caps: &regex::Captures<'_>| {
            let sep = if caps.get(1).is_some() { " " } else { "<br>" };
            format!("{sep}{}", &caps[0])
        });
        mail_parser::decoders::html::html_to_text(&separated)
    }

    /// Pieces of HTML where the converter's state or the separators differ.
    const HTML_PIECES: &[&str] = &[
        "<td>",
        "</td>",
        "<TH class=x>",
        "</th >",
        "<tdx>",
        "<td\u{e9}>",
        "<td-x>",
        "<td_x>",
        "</tr>",
        "</TR >",
        "</tr\n>",
        "</tr\u{a0}>",
        "</trx>",
        "</div>",
        "</DIV>",
        "</li>",
        "</h1>",
        "</H6 >",
        "</h7>",
        "</h>",
        "</table>",
        "</blockquote>",
        "</BLOC\u{212A}QUOTE>",
        "</dt>",
        "</dd>",
        "</ul>",
        "</ol>",
        "</p>",
        "<p>",
        "<br>",
        "<BR/>",
        "<b>",
        "</b>",
        "<",
        ">",
        "/",
        "!",
        "<!--",
        "-->",
        "--->",
        "-",
        "<!-",
        "<head>",
        "</head>",
        "<style>",
        "</style>",
        "<script>",
        "</script>",
        "<template>",
        "</template>",
        "&amp;",
        "&nbsp;",
        "&#65;",
        "&#x41;",
        "&#xZZ;",
        "&bogus;",
        "&",
        ";",
        "&amp",
        " ",
        "\t",
        "\n",
        "\r\n",
        "word",
        "w\u{f6}rd",
        "\u{17f}",
        "\u{131}",
        "\u{130}",
        "\u{212A}",
        "\"",
        "'",
        "=",
        "<a href=\"x\">",
        "</a>",
        // Names with `/` in or after them, white space before them.
        "<a/b>",
        "<br / x>",
        "</ p>",
        "< /p>",
        "<td/>",
        // Attributes over more than eight bytes, ended by `>` or by
        // whatever piece follows.
        "<div style=\"color: red; font-size: 12px\">",
        "<span class=\"0123456789abcdef\" ",
        "abcdefghijklmnopq",
        "\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}",
    ];

    proptest::proptest! {
        #[test]
        fn html_to_text_is_the_regex_and_mail_parsers(
            pieces in proptest::collection::vec(proptest::sample::select(HTML_PIECES), 0..40),
        ) {
            let html = pieces.concat();
            prop_assert_eq!(html_to_text(&html), html_to_text_by_regex(&html));
        }
    }

    fn authored(text: &str) -> String {
        authored_text(text).text
    }

    #[test]
    fn source_lines_are_exact_for_unencoded_and_quoted_printable_parts() {
        let qp = crate::testing::eml(
            "From: a@example.com\nContent-Type: text/html\nContent-Transfer-Encoding: quoted-printable\n\n<p>a=\nb</p>\n<a href=3D\"https://x.example\">x</a>\n",
        );
        let part = &qp.body[0];
        assert!(!part.verbatim);
        // The soft break joins the first two source lines.
        assert_eq!(part.source_line(2), Some(7));
        assert_eq!(part.html().unwrap().links[0].href, "https://x.example");
        let qp_text = crate::testing::eml(
            "From: a@example.com\nContent-Transfer-Encoding: quoted-printable\n\nCaf=C3=A9 =\nclosed.\r\nSee you=\r\n soon.\nBye\n",
        );
        let part = &qp_text.body[0];
        assert_eq!(part.text.lines().nth(2), Some("Bye"));
        assert_eq!(part.source_line(3), Some(8));
        let at = part.text.find("Bye").unwrap();
        assert_eq!(part.line_of(&part.text[at..]), Some(8));
        // An encoded line break: the decoded lines no longer match the source's.
        let shifted = crate::testing::eml(
            "From: a@example.com\nContent-Transfer-Encoding: quoted-printable\n\na=0Ab\nc\n",
        );
        assert_eq!(shifted.body[0].source_line(3), shifted.body[0].line);
        let base64 = crate::testing::eml(
            "From: a@example.com\nContent-Transfer-Encoding: base64\n\naGkKdGhlcmUK\n",
        );
        assert_eq!(base64.body[0].source_line(2), base64.body[0].line);
        let plain = crate::testing::eml(
            "From: a@example.com\nContent-Type: text/html\n\n<p>a</p>\n<a href=\"x\">x</a>\n",
        );
        assert!(plain.body[0].verbatim);
        assert_eq!(plain.body[0].source_line(2), Some(5));
        assert!(
            crate::testing::eml("From: a@example.com\n\nhi\n").body[0]
                .html()
                .is_none()
        );
    }

    #[test]
    fn pieces_of_a_text_part_know_their_line() {
        let msg = crate::testing::eml(
            "From: a@example.com\n\nThanks.\n> quoted\nSee line seven.\n\nOn Mon, Ann wrote:\n> old\n",
        );
        let part = &msg.body[0];
        let authored = part.authored();
        assert_eq!(authored, "Thanks.\nSee line seven.\n\n");
        let at = authored.find("See").unwrap();
        assert_eq!(part.line_of(&authored[at..]), Some(5));
        let at = part.text.find("old").unwrap();
        assert_eq!(part.line_of(&part.text[at..]), Some(8));
        assert_eq!(part.line_of("elsewhere"), part.line);
        let html = crate::testing::eml(
            "From: a@example.com\nContent-Type: text/html\n\n<p>a</p>\n<p>b</p>\n",
        );
        let part = &html.body[0];
        let plain = part.plain();
        assert_eq!(part.line_of(&plain[plain.len() - 1..]), part.line);
    }

    #[test]
    fn html_cells_and_blocks_are_separated() {
        let text = html_to_text(
            "<table><tr><td>SSN</td><td>123</td></tr><tr><th>Name</th><td>Ann</td></tr></table><div>one</div><div>two</div><thead>x</thead>",
        );
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(lines, ["SSN 123", "Name Ann", "one", "two", "x"]);
    }

    #[test]
    fn splits_paragraphs_on_blank_lines() {
        let text = "\n\nHi Ann,\n\nLine one\nline two\n  \t\nEnd\n\n\n";
        assert_eq!(
            paragraphs(text).collect::<Vec<_>>(),
            ["Hi Ann,", "Line one\nline two", "End"]
        );
        assert_eq!(paragraphs("").count(), 0);
        assert_eq!(paragraphs("one").collect::<Vec<_>>(), ["one"]);
    }

    /// Paragraphs as documented: the runs of lines that are not blank,
    /// each trimmed.
    fn runs_of_lines(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let (mut start, mut at) = (None, 0);
        for line in text.split_inclusive('\n') {
            if line.trim().is_empty() {
                out.extend(start.take().map(|s| text[s..at].trim()));
            } else {
                start.get_or_insert(at);
            }
            at += line.len();
        }
        out.extend(start.map(|s| text[s..].trim()));
        out
    }

    #[test]
    fn lines_end_as_str_lines_end() {
        for text in [
            "",
            "a",
            "a\n",
            "a\r\n",
            "a\r",
            "\n",
            "\r\n",
            "\r",
            "a\n\nb",
            "a\r\r\nb\r",
            "\u{e9}\n\u{a0}\r\n\u{2028}",
        ] {
            assert_eq!(
                lines(text).collect::<Vec<_>>(),
                text.lines().collect::<Vec<_>>(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn last_characters_before_trailing_space() {
        for (line, last) in [
            ("", None),
            (" \t\r", None),
            ("wrote:", Some(':')),
            ("wrote: \t", Some(':')),
            ("-----\x0b", Some('-')),
            ("___\x0c", Some('_')),
            ("x\u{a0}", Some('x')),
            ("caf\u{e9}", Some('\u{e9}')),
            ("a:\u{3000}", Some(':')),
            ("\x1f", Some('\x1f')),
        ] {
            assert_eq!(last_char(line), last, "{line:?}");
        }
    }

    /// Every line the Outlook pattern matches passes the test before it.
    #[test]
    fn outlook_lines_pass_the_first_letter_test() {
        for line in [
            "From: Ann",
            "  *From:* Ann",
            "\u{a0}\tVON: x",
            "\u{3000}de : x",
            "Van:\tx",
            "FROM:\u{a0}Ann",
        ] {
            assert!(OUTLOOK_FROM.is_match(line), "{line:?}");
            assert!(may_open_outlook_block(line.trim_start()), "{line:?}");
        }
        for line in [
            "> From: Ann",
            "**From: Ann",
            "Re: from",
            "Sent: x",
            "Subject: de",
        ] {
            assert!(!may_open_outlook_block(line.trim_start()), "{line:?}");
        }
    }

    proptest::proptest! {
        /// Lines, paragraphs and last characters as the standard library's
        /// `lines` and `trim` give them, over any mix of line ends and spaces.
        #[test]
        fn splitting_agrees_with_the_standard_library(text in "[a:\\- \t\r\n\x0b\u{a0}\u{e9}\u{2028}]{0,40}") {
            prop_assert_eq!(lines(&text).collect::<Vec<_>>(), text.lines().collect::<Vec<_>>());
            prop_assert_eq!(paragraphs(&text).collect::<Vec<_>>(), runs_of_lines(&text));
            prop_assert_eq!(last_char(&text), text.trim_end().chars().next_back());
        }

        /// The first-letter test lets through every line the Outlook
        /// pattern matches, as the test for a `:` it replaced did.
        #[test]
        fn outlook_lines_are_found_as_before(
            line in "[ \t\u{a0}>*x]{0,3}(?:[fF][rR][oO][mM]|[vV][oO][nN]|[dD][eE]|[vV][aA][nN]|[a-z]{1,4})[ :*\u{a0}]{0,3}[a-z ]{0,4}"
        ) {
            prop_assert_eq!(
                may_open_outlook_block(line.trim_start()) && OUTLOOK_FROM.is_match(&line),
                line.contains(':') && OUTLOOK_FROM.is_match(&line)
            );
        }
    }

    #[test]
    fn recognises_legal_footers() {
        for footer in [
            "This email and any attachments are confidential and intended solely for the addressee.",
            "If you have received this email in error please notify the sender immediately.",
            "This message may contain confidential information.",
            "The information in this e-mail is confidential and may be legally privileged.",
            "CONFIDENTIALITY NOTICE: the contents of this message are private.",
            "Although we have taken steps to ensure that this email and attachments are free from any virus, we accept no liability.",
            "Viruses: we scan every e-mail.",
            "This message has been scanned for viruses.",
            "Ce message et toutes les pièces jointes sont confidentiels. Si vous avez reçu ce message par erreur, merci de le détruire.",
            "Diese E-Mail enthält vertrauliche Informationen. Wenn Sie nicht der richtige Adressat sind oder diese E-Mail irrtümlich erhalten haben, informieren Sie bitte sofort den Absender.",
            "Este mensaje y sus adjuntos son confidenciales. Si lo ha recibido por error, bórrelo.",
            "Questo messaggio può contenere informazioni riservate. Se lo avete ricevuto per errore, vi preghiamo di cancellarlo.",
            "Esta mensagem pode conter informação confidencial. Se a recebeu por engano, elimine-a.",
            "Ta wiadomość może zawierać informacje poufne. Jeśli otrzymali Państwo ją omyłkowo, prosimy o jej usunięcie.",
            "Detta e-postmeddelande kan innehålla konfidentiell information. Om du fått det av misstag, radera det.",
            "Denne e-mail kan indeholde fortrolige oplysninger. Hvis du har modtaget den ved en fejl, bedes du slette den.",
            "Denne e-posten kan inneholde konfidensiell informasjon. Har du mottatt den ved en feil, vennligst slett den.",
            "Tämä viesti voi sisältää luottamuksellista tietoa. Jos olet saanut viestin erehdyksessä, poista se.",
            "Deze e-mail kan vertrouwelijke informatie bevatten.",
            "Diese E-Mail ist vertraulich und nur für den Adressaten bestimmt.",
        ] {
            assert!(is_disclaimer(footer), "{footer}");
        }
        for text in [
            "Please keep this confidential for now.",
            "Please find attached the minutes of Tuesday's meeting.",
            "The virus outbreak on ward 7 is over.",
            "The virus outbreak on ward 7 is over; the ward reopens on Monday after a deep clean of every room, and visiting hours return to normal, as the message said.",
            "CONFIDENTIAL",
            "Anbei die Liste; sie kann noch Fehler enthalten.",
            "Bitte vertraulich behandeln.",
            "In allegato il verbale, che può contenere qualche refuso.",
            "Strengt fortroligt: lønoversigten for marts.",
        ] {
            assert!(!is_disclaimer(text), "{text}");
        }
    }

    #[test]
    fn drops_quoted_lines_and_history() {
        let text = "Thanks, see you then.\n\nOn Mon, 1 Jan 2024 at 10:00, Ann <ann@example.org> wrote:\n> Is noon ok?\n> Attached is the agenda.\n";
        assert_eq!(authored(text), "Thanks, see you then.\n\n");
    }

    #[test]
    fn history_lines_may_end_in_spaces() {
        let text = "Yes.\nOn Mon, 1 Jan 2024, Ann wrote: \t\r\n> old\n";
        assert_eq!(authored(text), "Yes.\n");
        let text = "FYI\n-----Original Message----- \nold\n";
        assert_eq!(authored(text), "FYI\n");
    }

    #[test]
    fn interleaved_replies_keep_the_new_lines() {
        let text = "> Is noon ok?\nYes.\n> And the room?\nRoom 4.\n";
        assert_eq!(authored(text), "Yes.\nRoom 4.\n");
    }

    #[test]
    fn wrapped_attribution() {
        let text = "Agreed.\nOn Mon, 1 Jan 2024 at 10:00, Ann Example\n<ann@example.org> wrote:\nold text\n";
        assert_eq!(authored(text), "Agreed.\n");
    }

    #[test]
    fn outlook_and_forwarded_blocks() {
        let outlook = "Fine by me.\n\nFrom: Ann <ann@example.org>\nSent: Monday, 1 January 2024 10:00\nTo: Bob\nSubject: plan\n\nold\n";
        assert_eq!(authored(outlook), "Fine by me.\n\n");
        let original = "FYI\n-----Original Message-----\nold\n";
        assert_eq!(authored(original), "FYI\n");
        let forwarded = "See below.\n---------- Forwarded message ---------\nFrom: x\nold\n";
        assert_eq!(authored(forwarded), "See below.\n");
        let german = "Danke.\nAm 01.01.2024 um 10:00 schrieb Ann <ann@example.org>:\nalt\n";
        assert_eq!(authored(german), "Danke.\n");
        // Lines with other characters than ASCII go to the Unicode form.
        let accented = "Danke.\nAm 01.01.2024 um 10:00 schrieb Jürgen <j@example.org>:\nalt\n";
        assert_eq!(authored(accented), "Danke.\n");
        let french = "Merci.\nLe lundi 1 janvier, Anne a écrit :\nancien\n";
        assert_eq!(authored(french), "Merci.\n");
        // Up to 200 characters between `On` and `wrote`, on a long line.
        assert!(is_history_start(&format!("On {} wrote:", "x".repeat(199))));
        assert!(!is_history_start(&format!("On {} wrote:", "x".repeat(200))));
        assert!(is_history_start(&format!("On {} wrote:", "x".repeat(100))));
    }

    #[test]
    fn signature_is_not_authored_text() {
        assert_eq!(
            authored("Hello\n-- \nAnn\nConfidential notice\n"),
            "Hello\n"
        );
    }

    #[test]
    fn a_line_starting_with_from_is_kept_without_a_sent_line() {
        let text = "From: the desk of the editor: hello\nMore text\n";
        assert_eq!(authored(text), text);
    }
}
