//! The text layer of a PDF, read from its content streams without
//! building its object tree: each stream is found by its keyword,
//! inflated within the budget, and the strings its text operators show
//! (`Tj`, `TJ`, `'`, `"`) are kept, a line for each text line.
//!
//! Text in fonts with a one-byte encoding (the standard fonts, WinAnsi,
//! what reports and most generators write) reads as written. Text in
//! fonts with a ToUnicode CMap (the two-byte Type0 fonts that Word and
//! LibreOffice write for embedded TrueType subsets, for non-Latin text and
//! often for all text) reads through that map (`cmap.rs`): the page's
//! font names (`/F1`) lead to the font dictionaries (in the file or in
//! object streams) and from them to their CMap streams.
//!
//! Written by hand rather than with `lopdf` or `pdf-extract` (both MIT):
//! they load and parse every object of the file before the first word,
//! with no limit on objects, on inflated bytes or on time, so a
//! million-object PDF costs a million allocations and a deflate bomb in
//! any stream is inflated whole; here only what leads to text is
//! inflated, every byte of it counted against the budget.

use super::cmap::{CMap, Fonts, hex};
use super::{FileKind, Reader, Section};
use memchr::memmem;
use std::borrow::Cow;
use std::collections::HashMap;

pub(super) fn read(reader: &mut Reader, path: &str, bytes: &[u8], depth: u32) {
    let mut file = reader.file(path, FileKind::Pdf, bytes.len(), depth);
    file.encrypted = is_encrypted(bytes);
    if !file.encrypted {
        let text = text(reader, bytes, path);
        if !text.trim().is_empty() {
            file.sections.push(Section {
                text,
                ..Section::default()
            });
        }
    }
    reader.push(file);
}

/// Whether the trailer names an encryption dictionary (`/Encrypt`, not
/// `/EncryptMetadata`).
fn is_encrypted(bytes: &[u8]) -> bool {
    memmem::find_iter(bytes, b"/Encrypt")
        .any(|at| !bytes.get(at + 8).is_some_and(|b| b.is_ascii_alphanumeric()))
}

/// How far before a stream its dictionary is looked for.
const DICTIONARY_WINDOW: usize = 1024;

/// Bytes counted against the budget for each byte of a CMap parsed.
const CMAP_COST: usize = 8;

/// What the streams of a PDF hold, inflated within the budget.
#[derive(Default)]
struct Streams<'b> {
    /// Content streams (and any other stream that may show text), in
    /// file order.
    contents: Vec<Cow<'b, [u8]>>,
    /// ToUnicode CMaps by the number of the object holding them.
    cmaps: HashMap<u32, CMap>,
    /// Object streams: `(number, dictionary)` of each object inside.
    objects: Vec<(u32, Vec<u8>)>,
}

fn text(reader: &mut Reader, bytes: &[u8], path: &str) -> String {
    let Streams {
        contents,
        cmaps,
        objects,
    } = streams(reader, bytes, path);
    let fonts = if cmaps.is_empty() {
        Fonts::default()
    } else {
        Fonts::find(bytes, &objects, cmaps)
    };
    let mut out = String::new();
    let mut font = Vec::new();
    for content in &contents {
        if !reader.in_time(path) {
            break;
        }
        let before = out.len();
        show_text(content, &fonts, &mut font, &mut out);
        if !reader.spend(out.len() - before, path) {
            break;
        }
    }
    out
}

/// Every stream of the file that may hold text or lead to it, found by
/// its keyword and inflated within the budget.
fn streams<'b>(reader: &mut Reader, bytes: &'b [u8], path: &str) -> Streams<'b> {
    let mut found = Streams::default();
    let keyword = memmem::Finder::new(b"stream");
    let end_keyword = memmem::Finder::new(b"endstream");
    let mut at = 0;
    while let Some(position) = bytes.get(at..).and_then(|rest| keyword.find(rest)) {
        let start = at + position;
        at = start + 6;
        if start >= 3 && bytes.get(start - 3..start) == Some(b"end") {
            continue;
        }
        if !reader.in_time(path) {
            break;
        }
        let mut data_start = start + 6;
        if bytes.get(data_start) == Some(&b'\r') {
            data_start += 1;
        }
        if bytes.get(data_start) == Some(&b'\n') {
            data_start += 1;
        }
        let Some(length) = bytes
            .get(data_start..)
            .and_then(|rest| end_keyword.find(rest))
        else {
            break;
        };
        let data = &bytes[data_start..data_start + length];
        at = data_start + length + 9;
        let window = bytes
            .get(start.saturating_sub(DICTIONARY_WINDOW)..start)
            .unwrap_or_default();
        let obj = memmem::rfind(window, b"obj");
        let dictionary = obj.map_or(window, |o| &window[o..]);
        let has = |name: &[u8]| memmem::find(dictionary, name).is_some();
        // Images, fonts, metadata and cross-reference streams hold no
        // text layer.
        if [
            &b"/Image"[..],
            b"/Length1",
            b"/Length2",
            b"/FontFile",
            b"/XRef",
            b"/Metadata",
            b"/EmbeddedFile",
        ]
        .iter()
        .any(|n| has(n))
        {
            continue;
        }
        let content: Cow<'b, [u8]> = if has(b"/FlateDecode") || has(b"/Fl ") || has(b"/Fl]") {
            match reader.read_to_end(flate2::read::ZlibDecoder::new(data), path) {
                Some(d) => Cow::Owned(d),
                None if reader.stopped() => break,
                None => continue,
            }
        } else if has(b"/Filter") {
            continue;
        } else {
            Cow::Borrowed(data)
        };
        if has(b"/ObjStm") {
            // Its objects are copied out: counted once more.
            if !reader.spend(content.len(), path) {
                break;
            }
            found.objects.extend(object_stream(dictionary, &content));
        } else if memmem::find(&content, b"begincmap").is_some() {
            // A parsed CMap takes up to a few times its text (an entry of
            // a dozen bytes becomes a map entry and a string).
            if !reader.spend(content.len().saturating_mul(CMAP_COST), path) {
                break;
            }
            let number = obj.and_then(|o| object_number(window, o));
            if let Some(number) = number {
                found.cmaps.insert(number, CMap::parse(&content));
            }
        } else {
            found.contents.push(content);
        }
    }
    found
}

/// The number of the object whose `obj` keyword is at `obj` in `bytes`
/// (`12 0 obj`).
pub(super) fn object_number(bytes: &[u8], obj: usize) -> Option<u32> {
    let before = bytes.get(..obj)?;
    let before = before.trim_ascii_end();
    let generation_start = before
        .iter()
        .rposition(|b| !b.is_ascii_digit())
        .map_or(0, |p| p + 1);
    if generation_start == before.len() {
        return None;
    }
    let before = before[..generation_start].trim_ascii_end();
    let number_start = before
        .iter()
        .rposition(|b| !b.is_ascii_digit())
        .map_or(0, |p| p + 1);
    std::str::from_utf8(&before[number_start..])
        .ok()?
        .parse()
        .ok()
}

/// The objects an object stream holds: its header gives `N` pairs of an
/// object number and an offset from `First`.
fn object_stream(dictionary: &[u8], data: &[u8]) -> Vec<(u32, Vec<u8>)> {
    let integer_after = |key: &[u8]| {
        let at = memmem::find(dictionary, key)? + key.len();
        let digits: Vec<u8> = dictionary
            .get(at..)?
            .iter()
            .skip_while(|b| b.is_ascii_whitespace())
            .take_while(|b| b.is_ascii_digit())
            .copied()
            .collect();
        std::str::from_utf8(&digits).ok()?.parse::<usize>().ok()
    };
    let (Some(count), Some(first)) = (integer_after(b"/N"), integer_after(b"/First")) else {
        return Vec::new();
    };
    let Some(header) = data.get(..first) else {
        return Vec::new();
    };
    let numbers: Vec<usize> = header
        .split(|b| b.is_ascii_whitespace())
        .filter(|t| !t.is_empty())
        .take(count.saturating_mul(2))
        .filter_map(|t| std::str::from_utf8(t).ok()?.parse().ok())
        .collect();
    let pairs: Vec<(usize, usize)> = numbers.chunks_exact(2).map(|p| (p[0], p[1])).collect();
    let mut objects = Vec::with_capacity(pairs.len());
    for (i, &(number, offset)) in pairs.iter().enumerate() {
        let end = pairs
            .get(i + 1)
            .map_or(data.len(), |p| first.saturating_add(p.1));
        let Some(body) = data.get(first.saturating_add(offset)..end) else {
            continue;
        };
        if let Ok(number) = u32::try_from(number) {
            objects.push((number, body.to_vec()));
        }
    }
    objects
}

/// A string a text operator shows: its bytes, or the space a large gap
/// in a `TJ` array stands for.
enum Shown {
    Bytes(Vec<u8>),
    Gap,
}

/// Appends the text a content stream shows, each string decoded in the
/// font selected by the last `Tf` (`font`, kept from one stream to the
/// next as the graphics state is).
fn show_text(content: &[u8], fonts: &Fonts, font: &mut Vec<u8>, out: &mut String) {
    let mut strings: Vec<Shown> = Vec::new();
    let mut numbers: [f64; 2] = [0.0; 2];
    let mut name: Vec<u8> = Vec::new();
    let mut i = 0;
    while let Some(&b) = content.get(i) {
        match b {
            b'(' => {
                let (s, next) = literal_string(content, i + 1);
                strings.push(Shown::Bytes(s));
                i = next;
                continue;
            }
            b'<' if content.get(i + 1) != Some(&b'<') => {
                let end = memchr::memchr(b'>', &content[i..]).map_or(content.len(), |e| i + e);
                strings.push(Shown::Bytes(hex(&content[i + 1..end])));
                i = end + 1;
                continue;
            }
            b'/' => {
                let end = content[i + 1..]
                    .iter()
                    .position(|c| c.is_ascii_whitespace() || b"/[]()<>{}%".contains(c))
                    .map_or(content.len(), |e| i + 1 + e);
                name.clear();
                name.extend_from_slice(&content[i + 1..end]);
                i = end;
                continue;
            }
            b'%' => {
                i = memchr::memchr2(b'\n', b'\r', &content[i..]).map_or(content.len(), |e| i + e);
                continue;
            }
            b'-' | b'+' | b'.' | b'0'..=b'9' => {
                let end = content[i..]
                    .iter()
                    .position(|c| !matches!(c, b'-' | b'+' | b'.' | b'0'..=b'9'))
                    .map_or(content.len(), |e| i + e);
                let number = std::str::from_utf8(&content[i..end])
                    .ok()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0.0);
                // Inside a TJ array, a large negative gap is a space.
                if number < -200.0 && !strings.is_empty() {
                    strings.push(Shown::Gap);
                }
                numbers = [numbers[1], number];
                i = end;
                continue;
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'\'' | b'"' | b'*' => {
                let end = content[i..]
                    .iter()
                    .position(|c| !(c.is_ascii_alphabetic() || matches!(c, b'*' | b'\'' | b'"')))
                    .map_or(content.len(), |e| i + e);
                match &content[i..end] {
                    b"Tj" | b"TJ" => show(&mut strings, fonts, font, out),
                    b"'" | b"\"" => {
                        out.push('\n');
                        show(&mut strings, fonts, font, out);
                    }
                    b"Td" | b"TD" => {
                        out.push(if numbers[1] != 0.0 { '\n' } else { ' ' });
                        strings.clear();
                    }
                    b"T*" | b"ET" | b"Tm" => {
                        out.push('\n');
                        strings.clear();
                    }
                    b"Tf" => {
                        std::mem::swap(font, &mut name);
                        strings.clear();
                    }
                    _ => strings.clear(),
                }
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
}

/// The shown strings, decoded, and cleared: through the font's CMap
/// when it has one, else as one byte a character.
fn show(strings: &mut Vec<Shown>, fonts: &Fonts, font: &[u8], out: &mut String) {
    for s in strings.drain(..) {
        match s {
            Shown::Gap => out.push(' '),
            Shown::Bytes(s) => {
                if !fonts.decode(font, &s, out) {
                    decode_into(&s, out);
                }
            }
        }
    }
}

/// A string's bytes as text: UTF-16 with its byte order mark, else one
/// byte a character (PDFDocEncoding and WinAnsi agree with Latin-1 on
/// letters and digits); control bytes are left out.
fn decode_into(s: &[u8], out: &mut String) {
    if let Some(utf16) = s.strip_prefix(b"\xFE\xFF") {
        let units = utf16
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]));
        out.extend(char::decode_utf16(units).filter_map(Result::ok));
        return;
    }
    out.extend(
        s.iter()
            .map(|&b| char::from(b))
            .filter(|c| !c.is_control() || *c == '\t'),
    );
}

/// A literal string from just past its `(`: its bytes, with escapes and
/// balanced parentheses, and where it ends.
fn literal_string(content: &[u8], mut i: usize) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut depth = 1u32;
    while let Some(&b) = content.get(i) {
        i += 1;
        match b {
            b'\\' => {
                let Some(&e) = content.get(i) else { break };
                i += 1;
                match e {
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'b' | b'f' => {}
                    b'0'..=b'7' => {
                        let mut value = u32::from(e - b'0');
                        for _ in 0..2 {
                            match content.get(i) {
                                Some(&d @ b'0'..=b'7') => {
                                    value = value * 8 + u32::from(d - b'0');
                                    i += 1;
                                }
                                _ => break,
                            }
                        }
                        out.push(value as u8);
                    }
                    b'\r' | b'\n' => {}
                    other => out.push(other),
                }
            }
            b'(' => {
                depth += 1;
                out.push(b);
            }
            b')' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
                out.push(b);
            }
            _ => out.push(b),
        }
    }
    (out, i)
}

#[cfg(test)]
mod tests {
    use super::{Fonts, object_number, show_text};

    #[test]
    fn text_operators() {
        let mut out = String::new();
        show_text(
            b"BT /F1 12 Tf 72 712 Td (NHS number: 943 476 5919) Tj 0 -14 Td [(Pat) -20 (ient) -300 (list)] TJ (a\\(b\\)) ' <48 69> Tj ET",
            &Fonts::default(),
            &mut Vec::new(),
            &mut out,
        );
        assert_eq!(out, "\nNHS number: 943 476 5919\nPatient list\na(b)Hi\n");
    }

    #[test]
    fn object_numbers_before_the_keyword() {
        assert_eq!(object_number(b"endobj\n12 0 obj", 12), Some(12));
        assert_eq!(object_number(b"7 0  obj", 5), Some(7));
        assert_eq!(object_number(b"x obj", 2), None);
    }
}
