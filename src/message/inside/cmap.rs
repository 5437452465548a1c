//! ToUnicode CMaps of PDF fonts (which character each code of a font
//! stands for), and the way from a page's font names to them.
//!
//! A CMap is kept as it is written: `bfchar` entries one by one, `bfrange`
//! entries as ranges, never expanded (a range of the whole two-byte space
//! is one entry), so what one costs is bounded by its size, which the
//! budget has already counted when it was inflated.

use super::pdf::object_number;
use memchr::memmem;
use std::collections::HashMap;

/// One CMap: its codespace and what its codes map to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct CMap {
    /// The codespace's ranges, low and high bytes: a code is as long as
    /// the range its first bytes fall in.
    codespace: Vec<(Vec<u8>, Vec<u8>)>,
    /// The length of codes when no codespace range matches (that of the
    /// first entry's code).
    width: usize,
    singles: HashMap<u32, String>,
    /// Ranges, by their lowest code.
    ranges: Vec<Range>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Range {
    low: u32,
    high: u32,
    to: RangeTo,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum RangeTo {
    /// The first code's UTF-16 text; each next code adds one to its last
    /// unit.
    From(Vec<u16>),
    /// The text of each code in turn.
    Each(Vec<String>),
}

/// One token of a CMap or a PDF dictionary.
#[derive(Debug, PartialEq, Eq)]
enum Token<'a> {
    Hex(Vec<u8>),
    Open,
    Close,
    Word(&'a [u8]),
}

/// The tokens of a CMap program.
struct Lexer<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Lexer<'a> {
    fn token(&mut self) -> Option<Token<'a>> {
        loop {
            let &b = self.data.get(self.at)?;
            match b {
                b'%' => {
                    self.at = memchr::memchr2(b'\n', b'\r', &self.data[self.at..])
                        .map_or(self.data.len(), |e| self.at + e);
                }
                _ if b.is_ascii_whitespace() || b == 0 => self.at += 1,
                b'[' => {
                    self.at += 1;
                    return Some(Token::Open);
                }
                b']' => {
                    self.at += 1;
                    return Some(Token::Close);
                }
                b'<' | b'>' if self.data.get(self.at + 1) == Some(&b) => {
                    self.at += 2;
                    return Some(Token::Word(&self.data[self.at - 2..self.at]));
                }
                b'<' => {
                    let start = self.at + 1;
                    let end = memchr::memchr(b'>', &self.data[start..])
                        .map_or(self.data.len(), |e| start + e);
                    self.at = end + 1;
                    return Some(Token::Hex(hex(&self.data[start..end])));
                }
                b'(' => {
                    // A literal string (a CMap's name in its system info):
                    // skipped whole, nesting and escapes counted.
                    let start = self.at;
                    let mut depth = 0u32;
                    while let Some(&c) = self.data.get(self.at) {
                        self.at += 1;
                        match c {
                            b'\\' => self.at += 1,
                            b'(' => depth += 1,
                            b')' => {
                                depth -= 1;
                                if depth == 0 {
                                    break;
                                }
                            }
                            _ => {}
                        }
                    }
                    return Some(Token::Word(&self.data[start..self.at.min(self.data.len())]));
                }
                _ => {
                    let start = self.at;
                    self.at += 1;
                    while let Some(&c) = self.data.get(self.at) {
                        if c.is_ascii_whitespace() || b"[]<>()/%".contains(&c) {
                            break;
                        }
                        self.at += 1;
                    }
                    return Some(Token::Word(&self.data[start..self.at]));
                }
            }
        }
    }
}

/// A hex string's bytes (white space ignored, an odd last digit padded).
pub(super) fn hex(text: &[u8]) -> Vec<u8> {
    let digits: Vec<u8> = text
        .iter()
        .filter_map(|&b| (b as char).to_digit(16).map(|d| d as u8))
        .collect();
    digits
        .chunks(2)
        .map(|pair| pair[0] << 4 | pair.get(1).copied().unwrap_or(0))
        .collect()
}

/// A code's number: up to four bytes, big-endian.
fn code(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || bytes.len() > 4 {
        return None;
    }
    Some(bytes.iter().fold(0u32, |n, &b| n << 8 | u32::from(b)))
}

fn units(bytes: &[u8]) -> Vec<u16> {
    bytes
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect()
}

fn text(units: &[u16]) -> String {
    char::decode_utf16(units.iter().copied())
        .filter_map(Result::ok)
        .collect()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    None,
    Codespace,
    Chars,
    Ranges,
}

impl CMap {
    /// Reads a CMap program; what it cannot make sense of is left out.
    pub(super) fn parse(data: &[u8]) -> CMap {
        let mut cmap = CMap::default();
        let mut section = Section::None;
        let mut operands: Vec<Vec<u8>> = Vec::new();
        let mut lexer = Lexer { data, at: 0 };
        while let Some(token) = lexer.token() {
            match token {
                Token::Word(word) => {
                    section = match word {
                        b"begincodespacerange" => Section::Codespace,
                        b"beginbfchar" => Section::Chars,
                        b"beginbfrange" => Section::Ranges,
                        b"endcodespacerange" | b"endbfchar" | b"endbfrange" => Section::None,
                        _ => section,
                    };
                    operands.clear();
                }
                Token::Hex(bytes) if section != Section::None => {
                    operands.push(bytes);
                    cmap.take(section, &mut operands, None);
                }
                Token::Open if section == Section::Ranges && operands.len() == 2 => {
                    let mut each = Vec::new();
                    while let Some(Token::Hex(bytes)) = lexer.token() {
                        each.push(text(&units(&bytes)));
                    }
                    cmap.take(section, &mut operands, Some(each));
                }
                _ => operands.clear(),
            }
        }
        cmap.ranges.sort_by_key(|r| r.low);
        cmap
    }

    /// Records an entry once its operands are all there.
    fn take(&mut self, section: Section, operands: &mut Vec<Vec<u8>>, each: Option<Vec<String>>) {
        if self.width == 0
            && matches!(section, Section::Chars | Section::Ranges)
            && let Some(first) = operands.first()
        {
            self.width = first.len().clamp(1, 4);
        }
        match (section, operands.len(), each) {
            (Section::Codespace, 2, _) => {
                let high = operands.pop().unwrap_or_default();
                let low = operands.pop().unwrap_or_default();
                if low.len() == high.len() && (1..=4).contains(&low.len()) {
                    self.codespace.push((low, high));
                }
            }
            (Section::Chars, 2, _) => {
                let to = operands.pop().unwrap_or_default();
                let from = operands.pop().unwrap_or_default();
                if let Some(from) = code(&from) {
                    self.singles.insert(from, text(&units(&to)));
                }
            }
            (Section::Ranges, 3, None) => {
                let to = operands.pop().unwrap_or_default();
                self.range(operands, RangeTo::From(units(&to)));
            }
            (Section::Ranges, 2, Some(each)) => self.range(operands, RangeTo::Each(each)),
            _ => {}
        }
    }

    fn range(&mut self, operands: &mut Vec<Vec<u8>>, to: RangeTo) {
        let high = operands.pop().unwrap_or_default();
        let low = operands.pop().unwrap_or_default();
        operands.clear();
        if let (Some(low), Some(high)) = (code(&low), code(&high))
            && low <= high
        {
            self.ranges.push(Range { low, high, to });
        }
    }

    /// The length of the code starting `bytes`.
    fn code_length(&self, bytes: &[u8]) -> usize {
        for (low, high) in &self.codespace {
            if let Some(candidate) = bytes.get(..low.len())
                && candidate
                    .iter()
                    .zip(low.iter().zip(high))
                    .all(|(b, (l, h))| (l..=h).contains(&b))
            {
                return low.len();
            }
        }
        self.width.max(1)
    }

    /// The text of one code, if the CMap has it.
    fn lookup(&self, code: u32, out: &mut String) -> bool {
        if let Some(text) = self.singles.get(&code) {
            out.push_str(text);
            return true;
        }
        let after = self.ranges.partition_point(|r| r.low <= code);
        let Some(range) = after.checked_sub(1).and_then(|i| self.ranges.get(i)) else {
            return false;
        };
        if code > range.high {
            return false;
        }
        let offset = code - range.low;
        match &range.to {
            RangeTo::From(first) => {
                let mut units = first.clone();
                let Some(last) = units.last_mut() else {
                    return false;
                };
                let Some(next) = u16::try_from(offset).ok().and_then(|o| last.checked_add(o))
                else {
                    return false;
                };
                *last = next;
                out.push_str(&text(&units));
                true
            }
            RangeTo::Each(each) => match usize::try_from(offset).ok().and_then(|o| each.get(o)) {
                Some(text) => {
                    out.push_str(text);
                    true
                }
                None => false,
            },
        }
    }

    /// Decodes a shown string into `out` (codes the CMap lacks left
    /// out); the codes it had and all the codes.
    fn decode(&self, bytes: &[u8], out: &mut String) -> (usize, usize) {
        let (mut found, mut all) = (0, 0);
        let mut at = 0;
        while at < bytes.len() {
            let length = self.code_length(&bytes[at..]);
            let end = (at + length).min(bytes.len());
            all += 1;
            if code(&bytes[at..end]).is_some_and(|c| self.lookup(c, out)) {
                found += 1;
            }
            at = end;
        }
        (found, all)
    }
}

/// The fonts of a PDF that have a ToUnicode CMap, by the names pages
/// give them (`F1` for `/F1`).
#[derive(Debug, Default)]
pub(super) struct Fonts {
    cmaps: Vec<CMap>,
    by_name: HashMap<Vec<u8>, Vec<usize>>,
}

/// How far before a `/ToUnicode` its object's `obj` keyword is looked
/// for.
const FONT_WINDOW: usize = 4096;

/// Indirect `/Font` dictionaries looked up at most: each is a search of
/// the file, and a document has one or one a page.
const MAX_LOOKUPS: usize = 16;

/// Entries of one `/Font` dictionary read at most.
const MAX_ENTRIES: usize = 1024;

/// `/ToUnicode` and `/Font` keys looked at at most, each: a file made of
/// nothing else costs this many short reads, not one per key.
const MAX_KEYS: usize = 4096;

/// How far a font resource dictionary is read (a page's, with a hundred
/// fonts, is a few kilobytes), and an object's body looked for.
const DICTIONARY_WINDOW: usize = 16 * 1024;

/// CMaps one font name may lead to (different fonts on different pages).
const MAX_CANDIDATES: usize = 8;

impl Fonts {
    /// Finds the way from font names to CMaps: the font dictionaries
    /// naming a ToUnicode stream (in the file, or in an object stream),
    /// and the `/Font` resource dictionaries naming those fonts, inline
    /// or indirect. A name that different pages give to different fonts
    /// leads to each of their CMaps.
    pub(super) fn find(
        bytes: &[u8],
        objects: &[(u32, Vec<u8>)],
        cmaps: HashMap<u32, CMap>,
    ) -> Fonts {
        let mut fonts = Fonts::default();
        let mut index: HashMap<u32, usize> = HashMap::new();
        for (number, cmap) in cmaps {
            index.insert(number, fonts.cmaps.len());
            fonts.cmaps.push(cmap);
        }
        // Font object → its CMap's place.
        let mut font_cmap: HashMap<u32, usize> = HashMap::new();
        for at in memmem::find_iter(bytes, b"/ToUnicode").take(MAX_KEYS) {
            let window = &bytes[at.saturating_sub(FONT_WINDOW)..at];
            let font = memmem::rfind(window, b"obj").and_then(|o| object_number(window, o));
            let cmap = reference(bytes, at + 10).and_then(|n| index.get(&n));
            if let (Some(font), Some(&cmap)) = (font, cmap) {
                font_cmap.insert(font, cmap);
            }
        }
        for (number, body) in objects {
            if let Some(at) = memmem::find(body, b"/ToUnicode")
                && let Some(&cmap) = reference(body, at + 10).and_then(|n| index.get(&n))
            {
                font_cmap.insert(*number, cmap);
            }
        }
        let mut lookups = 0;
        let haystacks = std::iter::once(bytes).chain(objects.iter().map(|(_, b)| b.as_slice()));
        for haystack in haystacks {
            for at in memmem::find_iter(haystack, b"/Font").take(MAX_KEYS) {
                if haystack
                    .get(at + 5)
                    .is_some_and(|b| b.is_ascii_alphanumeric())
                {
                    continue;
                }
                let after = skip_space(haystack, at + 5);
                if haystack.get(after..after + 2) == Some(b"<<") {
                    let end = haystack.len().min(after + DICTIONARY_WINDOW);
                    fonts.entries(&haystack[..end], after, &font_cmap, &index);
                } else if let Some(number) = reference(haystack, after)
                    && lookups < MAX_LOOKUPS
                {
                    lookups += 1;
                    if let Some(body) = object_body(bytes, objects, number)
                        && let Some(start) = memmem::find(body, b"<<")
                    {
                        let end = body.len().min(start + DICTIONARY_WINDOW);
                        fonts.entries(&body[..end], start, &font_cmap, &index);
                    }
                }
            }
        }
        fonts
    }

    /// Reads the `/Name 5 0 R` (or `/Name << … >>`) entries of a font
    /// resource dictionary starting at `at` (its `<<`).
    fn entries(
        &mut self,
        bytes: &[u8],
        at: usize,
        font_cmap: &HashMap<u32, usize>,
        index: &HashMap<u32, usize>,
    ) {
        let mut i = at + 2;
        for _ in 0..MAX_ENTRIES {
            i = skip_space(bytes, i);
            if bytes.get(i) != Some(&b'/') {
                return;
            }
            let end = bytes[i + 1..]
                .iter()
                .position(|c| c.is_ascii_whitespace() || b"/[]()<>{}%".contains(c))
                .map_or(bytes.len(), |e| i + 1 + e);
            let name = &bytes[i + 1..end];
            i = skip_space(bytes, end);
            if bytes.get(i..i + 2) == Some(b"<<") {
                // A font dictionary written inline.
                let close = dictionary_end(bytes, i);
                let inline = &bytes[i..close];
                if let Some(t) = memmem::find(inline, b"/ToUnicode")
                    && let Some(&cmap) = reference(inline, t + 10).and_then(|n| index.get(&n))
                {
                    self.add(name, cmap);
                }
                i = close;
            } else if let Some(font) = reference(bytes, i) {
                if let Some(&cmap) = font_cmap.get(&font) {
                    self.add(name, cmap);
                }
                // Past `5 0 R`.
                i = memchr::memchr(b'R', &bytes[i..]).map_or(bytes.len(), |r| i + r + 1);
            } else {
                return;
            }
        }
    }

    fn add(&mut self, name: &[u8], cmap: usize) {
        let list = self.by_name.entry(name.to_vec()).or_default();
        if !list.contains(&cmap) && list.len() < MAX_CANDIDATES {
            list.push(cmap);
        }
    }

    /// Decodes a string shown in the font named `font` through its CMap
    /// (of several, the one that knows most of its codes); false when the
    /// font has none or none knows at least half its codes, and nothing
    /// is written.
    pub(super) fn decode(&self, font: &[u8], bytes: &[u8], out: &mut String) -> bool {
        let Some(candidates) = self.by_name.get(font) else {
            return false;
        };
        let mut scratch = String::new();
        let best = candidates
            .iter()
            .filter_map(|&i| self.cmaps.get(i))
            .map(|cmap| {
                scratch.clear();
                (cmap.decode(bytes, &mut scratch), cmap)
            })
            .max_by_key(|((found, _), _)| *found);
        match best {
            Some(((found, all), cmap)) if found > 0 && found * 2 >= all => {
                cmap.decode(bytes, out);
                true
            }
            _ => false,
        }
    }
}

fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(|b| b.is_ascii_whitespace()) {
        at += 1;
    }
    at
}

/// The object number of an indirect reference (`5 0 R`) at `at`.
fn reference(bytes: &[u8], at: usize) -> Option<u32> {
    let at = skip_space(bytes, at);
    let digits = |from: usize| {
        let len = bytes
            .get(from..)?
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        (len > 0 && len < 10).then_some((from, from + len))
    };
    let (start, end) = digits(at)?;
    let (_, generation_end) = digits(skip_space(bytes, end))?;
    if bytes.get(skip_space(bytes, generation_end)) != Some(&b'R') {
        return None;
    }
    std::str::from_utf8(&bytes[start..end]).ok()?.parse().ok()
}

/// Where the dictionary opened at `at` (`<<`) closes, nested ones
/// counted; the end of `bytes` if it does not.
fn dictionary_end(bytes: &[u8], at: usize) -> usize {
    let mut depth = 0u32;
    let mut i = at;
    while let Some(pair) = bytes.get(i..i + 2) {
        match pair {
            b"<<" => {
                depth += 1;
                i += 2;
            }
            b">>" => {
                depth = depth.saturating_sub(1);
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The body of object `number`: after its `N 0 obj` in the file up to its
/// `endobj`, or its dictionary in an object stream.
fn object_body<'b>(
    bytes: &'b [u8],
    objects: &'b [(u32, Vec<u8>)],
    number: u32,
) -> Option<&'b [u8]> {
    let header = format!("{number} 0 obj");
    // The first `N 0 obj` not inside a longer number (`12 0 obj` is not
    // object 2's).
    if let Some(at) = memmem::find_iter(bytes, header.as_bytes())
        .find(|&at| at == 0 || !bytes[at - 1].is_ascii_digit())
    {
        let start = at + header.len();
        let window = &bytes[start..bytes.len().min(start + DICTIONARY_WINDOW)];
        let end = memmem::find(window, b"endobj").unwrap_or(window.len());
        return window.get(..end);
    }
    objects
        .iter()
        .find(|(n, _)| *n == number)
        .map(|(_, body)| body.as_slice())
}

#[cfg(test)]
mod tests {
    use super::{CMap, Fonts, reference};
    use std::collections::HashMap;

    const CMAP: &[u8] = b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap
/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def
1 begincodespacerange <0000> <FFFF> endcodespacerange
2 beginbfchar <0003> <0020> <0004> <015A> endbfchar
2 beginbfrange <0010> <0019> <0030> <0020> <0022> [<0041> <00660069> <D83DDE00>] endbfrange
1 beginbfrange <0100> <FFFF> <0100> endbfrange
endcmap";

    fn decoded(cmap: &CMap, bytes: &[u8]) -> (String, (usize, usize)) {
        let mut out = String::new();
        let counts = cmap.decode(bytes, &mut out);
        (out, counts)
    }

    #[test]
    fn bfchar_and_both_kinds_of_bfrange() {
        let cmap = CMap::parse(CMAP);
        assert_eq!(
            decoded(
                &cmap,
                b"\x00\x04\x00\x03\x00\x10\x00\x19\x00\x20\x00\x21\x00\x22"
            ),
            ("\u{15A} 09Afi\u{1F600}".to_string(), (7, 7))
        );
        // A range over the whole rest of the two-byte space is one entry,
        // and codes it lacks are left out and counted.
        assert_eq!(cmap.ranges.len(), 3);
        assert_eq!(
            decoded(&cmap, b"\x01\x41\x00\x05"),
            ("\u{141}".to_string(), (1, 2))
        );
    }

    #[test]
    fn one_byte_codes_and_a_broken_cmap() {
        let cmap = CMap::parse(
            b"begincodespacerange <00> <FF> endcodespacerange beginbfchar <41> <0058> endbfchar",
        );
        assert_eq!(decoded(&cmap, b"AA"), ("XX".to_string(), (2, 2)));
        // Unclosed strings, stray brackets and odd digits do not panic.
        for hostile in [
            &b"beginbfrange <00"[..],
            b"beginbfrange <0> <1> [<4",
            b"beginbfchar ((( ] >> <<",
            b"<FFFFFFFFFF> <0000> beginbfrange <FFFFFFFF> <00000000> <0041>",
        ] {
            let cmap = CMap::parse(hostile);
            decoded(&cmap, b"\x00\x01\xFF");
        }
    }

    #[test]
    fn font_names_lead_to_cmaps_directly_indirectly_and_inline() {
        let file = b"5 0 obj <</Type/Font/Subtype/Type0/ToUnicode 7 0 R>> endobj
10 0 obj <</F1 5 0 R/F2 8 0 R/F3 <</Subtype/Type0/ToUnicode 7 0 R>> >> endobj
3 0 obj <</Type/Page/Resources<</Font 10 0 R>> >> endobj";
        let cmaps = HashMap::from([(7, CMap::parse(CMAP))]);
        let fonts = Fonts::find(file, &[], cmaps);
        let mut out = String::new();
        assert!(fonts.decode(b"F1", b"\x00\x04", &mut out));
        assert!(fonts.decode(b"F3", b"\x00\x10", &mut out));
        assert!(!fonts.decode(b"F2", b"\x00\x04", &mut out));
        assert_eq!(out, "\u{15A}0");
        // In an object stream, a font and a page naming it inline.
        let objects = vec![
            (5, b"<</Type/Font/ToUnicode 7 0 R>>".to_vec()),
            (3, b"<</Resources<</Font<</C2_0 5 0 R>> >> >>".to_vec()),
        ];
        let fonts = Fonts::find(b"", &objects, HashMap::from([(7, CMap::parse(CMAP))]));
        assert!(fonts.decode(b"C2_0", b"\x00\x04", &mut String::new()));
        assert_eq!(reference(b" 12  0 R", 0), Some(12));
        assert_eq!(reference(b"12 0 obj", 0), None);
    }
}
