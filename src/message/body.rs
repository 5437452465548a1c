//! Body text as rules want it: a part as text (an HTML part's from its
//! view), and the text the sender wrote in this message told apart from
//! the quoted history below it.

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

    /// The part as plain text: for HTML, the text of its [`html`](Self::html)
    /// view.
    pub fn plain(&self) -> &str {
        match self.kind {
            BodyKind::Text => &self.text,
            BodyKind::Html => self.html().map_or("", |view| view.text.as_str()),
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
static HISTORY_START: LazyLock<Screened> =
    LazyLock::new(|| Screened::gated(history_start!(".{0,200}", ".{0,120}")));

/// [`HISTORY_START`] for a line of at most [`SHORT_LINE`] characters, where
/// its bounded runs cannot reach their bounds: the same matches, from a
/// fifth of the instructions to compile.
static SHORT_HISTORY_START: LazyLock<Screened> =
    LazyLock::new(|| Screened::gated(history_start!(".*", ".*")));
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
        OUTLOOK_FROM, authored_text, is_disclaimer, is_history_start, last_char, lines,
        may_open_outlook_block, paragraphs,
    };
    use proptest::prop_assert_eq;

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
