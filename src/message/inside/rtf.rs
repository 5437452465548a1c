//! The text of an RTF document: its control words dropped, paragraphs and
//! table rows on lines of their own, `\'hh` and `\uN` characters decoded,
//! and the groups that hold no text (font and colour tables, pictures,
//! objects, the `{\*...}` destinations) skipped. Never longer than the
//! file.

/// Destinations whose group holds no text of the document.
const SKIPPED: [&str; 14] = [
    "fonttbl",
    "colortbl",
    "stylesheet",
    "info",
    "pict",
    "object",
    "datastore",
    "themedata",
    "latentstyles",
    "listtable",
    "listoverridetable",
    "rsidtbl",
    "generator",
    "xmlnstbl",
];

pub(super) fn text(rtf: &[u8]) -> String {
    let mut out = String::new();
    // For each open group, whether its text is skipped.
    let mut skipping: Vec<bool> = Vec::new();
    // Characters still to skip after a `\uN` (its fallback, `\ucN`).
    let mut fallback = 0usize;
    let mut unicode_skip = 1usize;
    let mut i = 0;
    let skipped = |s: &[bool]| s.last().copied().unwrap_or(false);
    while let Some(&b) = rtf.get(i) {
        i += 1;
        match b {
            b'{' => {
                let inherited = skipped(&skipping);
                let starred = rtf.get(i..i + 2) == Some(b"\\*");
                skipping.push(inherited || starred);
            }
            b'}' => {
                skipping.pop();
            }
            b'\\' => {
                let Some(&next) = rtf.get(i) else { break };
                if !next.is_ascii_alphabetic() {
                    i += 1;
                    let literal = match next {
                        b'\'' => {
                            let hex = rtf.get(i..i + 2).and_then(|h| std::str::from_utf8(h).ok());
                            i += 2;
                            hex.and_then(|h| u8::from_str_radix(h, 16).ok())
                                .map(windows_1252)
                        }
                        b'~' => Some(' '),
                        b'{' | b'}' | b'\\' => Some(char::from(next)),
                        _ => None,
                    };
                    if let Some(c) = literal
                        && !skipped(&skipping)
                    {
                        if fallback > 0 {
                            fallback -= 1;
                        } else {
                            out.push(c);
                        }
                    }
                    continue;
                }
                let word_end = rtf[i..]
                    .iter()
                    .position(|c| !c.is_ascii_alphabetic())
                    .map_or(rtf.len(), |e| i + e);
                let word = std::str::from_utf8(&rtf[i..word_end]).unwrap_or_default();
                i = word_end;
                let number_end = rtf[i..]
                    .iter()
                    .enumerate()
                    .position(|(k, c)| !(c.is_ascii_digit() || (k == 0 && *c == b'-')))
                    .map_or(rtf.len(), |e| i + e);
                let number: Option<i64> = std::str::from_utf8(&rtf[i..number_end])
                    .ok()
                    .and_then(|n| n.parse().ok());
                i = number_end;
                // One space ends a control word and is part of it.
                if rtf.get(i) == Some(&b' ') {
                    i += 1;
                }
                if SKIPPED.contains(&word)
                    && let Some(last) = skipping.last_mut()
                {
                    *last = true;
                }
                if skipped(&skipping) {
                    continue;
                }
                match word {
                    "par" | "line" | "row" | "sect" | "page" => out.push('\n'),
                    "tab" | "cell" => out.push('\t'),
                    "uc" => unicode_skip = number.unwrap_or(1).clamp(0, 8) as usize,
                    "u" => {
                        let code = number.unwrap_or(0);
                        // Negative values are the upper half of 16 bits.
                        let code = if code < 0 { code + 65_536 } else { code };
                        if let Some(c) = u32::try_from(code).ok().and_then(char::from_u32) {
                            out.push(c);
                        }
                        fallback = unicode_skip;
                    }
                    _ => {}
                }
            }
            b'\r' | b'\n' => {}
            _ if skipped(&skipping) => {}
            _ => {
                if fallback > 0 {
                    fallback -= 1;
                } else {
                    out.push(char::from(b));
                }
            }
        }
    }
    out
}

/// A byte of Windows-1252, RTF's usual code page: Latin-1 but for the
/// punctuation in 0x80–0x9F.
fn windows_1252(b: u8) -> char {
    match b {
        0x91 | 0x92 => '\'',
        0x93 | 0x94 => '"',
        0x96 | 0x97 => '-',
        0x80 => '€',
        0x81..=0x9F => ' ',
        _ => char::from(b),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_of_rtf() {
        let rtf = br"{\rtf1\ansi{\fonttbl{\f0 Arial;}}{\*\generator Word;}\f0\fs24 STRICTLY CONFIDENTIAL\par Caf\'e9 \u8364?5\tab x\par}";
        assert_eq!(super::text(rtf), "STRICTLY CONFIDENTIAL\nCafé €5\tx\n");
    }
}
