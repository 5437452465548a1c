//! The text layer of a PDF, read from its content streams without
//! building its object tree: each stream is found by its keyword,
//! inflated within the budget, and the strings its text operators show
//! (`Tj`, `TJ`, `'`, `"`) are kept, a line for each text line.
//!
//! Text in fonts with a one-byte encoding (the standard fonts, WinAnsi,
//! what reports and most generators write) reads as written; text in
//! two-byte CID fonts needs the font's ToUnicode map and is not read.

use super::{FileKind, Reader, Section};
use memchr::memmem;

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

fn text(reader: &mut Reader, bytes: &[u8], path: &str) -> String {
    let mut out = String::new();
    let keyword = memmem::Finder::new(b"stream");
    let end_keyword = memmem::Finder::new(b"endstream");
    let mut at = 0;
    while let Some(found) = bytes.get(at..).and_then(|rest| keyword.find(rest)) {
        let start = at + found;
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
        let dictionary = memmem::rfind(window, b"obj").map_or(window, |o| &window[o..]);
        let has = |name: &[u8]| memmem::find(dictionary, name).is_some();
        // Images, fonts, metadata and cross-reference or object streams
        // hold no text layer.
        if [
            &b"/Image"[..],
            b"/Length1",
            b"/Length2",
            b"/FontFile",
            b"/XRef",
            b"/ObjStm",
            b"/Metadata",
            b"/EmbeddedFile",
        ]
        .iter()
        .any(|n| has(n))
        {
            continue;
        }
        let decoded;
        let content = if has(b"/FlateDecode") || has(b"/Fl ") || has(b"/Fl]") {
            match reader.read_to_end(flate2::read::ZlibDecoder::new(data), path) {
                Some(d) => {
                    decoded = d;
                    &decoded[..]
                }
                None if reader.stopped() => break,
                None => continue,
            }
        } else if has(b"/Filter") {
            continue;
        } else {
            data
        };
        let before = out.len();
        show_text(content, &mut out);
        if !reader.spend(out.len() - before, path) {
            break;
        }
    }
    out
}

/// Appends the text a content stream shows.
fn show_text(content: &[u8], out: &mut String) {
    let mut strings: Vec<Vec<u8>> = Vec::new();
    let mut numbers: [f64; 2] = [0.0; 2];
    let mut i = 0;
    while let Some(&b) = content.get(i) {
        match b {
            b'(' => {
                let (s, next) = literal_string(content, i + 1);
                strings.push(s);
                i = next;
                continue;
            }
            b'<' if content.get(i + 1) != Some(&b'<') => {
                let end = memchr::memchr(b'>', &content[i..]).map_or(content.len(), |e| i + e);
                strings.push(hex_string(&content[i + 1..end]));
                i = end + 1;
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
                    strings.push(b" ".to_vec());
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
                    b"Tj" | b"TJ" => show(&mut strings, out),
                    b"'" | b"\"" => {
                        out.push('\n');
                        show(&mut strings, out);
                    }
                    b"Td" | b"TD" => {
                        out.push(if numbers[1] != 0.0 { '\n' } else { ' ' });
                        strings.clear();
                    }
                    b"T*" | b"ET" | b"Tm" => {
                        out.push('\n');
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

/// The shown strings, decoded, and cleared.
fn show(strings: &mut Vec<Vec<u8>>, out: &mut String) {
    for s in strings.drain(..) {
        decode_into(&s, out);
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

/// A hex string's bytes (white space ignored, an odd last digit padded).
fn hex_string(hex: &[u8]) -> Vec<u8> {
    let digits: Vec<u8> = hex
        .iter()
        .filter_map(|&b| (b as char).to_digit(16).map(|d| d as u8))
        .collect();
    digits
        .chunks(2)
        .map(|pair| pair[0] << 4 | pair.get(1).copied().unwrap_or(0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::show_text;

    #[test]
    fn text_operators() {
        let mut out = String::new();
        show_text(
            b"BT /F1 12 Tf 72 712 Td (NHS number: 943 476 5919) Tj 0 -14 Td [(Pat) -20 (ient) -300 (list)] TJ (a\\(b\\)) ' <48 69> Tj ET",
            &mut out,
        );
        assert_eq!(out, "\nNHS number: 943 476 5919\nPatient list\na(b)Hi\n");
    }
}
