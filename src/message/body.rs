//! Body text as rules want it: HTML turned into text, and the text the
//! sender wrote in this message told apart from the quoted history below it.

use super::{BodyKind, BodyPart};
use regex::Regex;
use std::sync::LazyLock;

impl BodyPart {
    pub fn new(kind: BodyKind, text: String, line: Option<usize>) -> Self {
        BodyPart {
            kind,
            text,
            line,
            plain: Default::default(),
            authored: Default::default(),
        }
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
            BodyKind::Html => self
                .plain
                .get_or_init(|| mail_parser::decoders::html::html_to_text(&self.text)),
        }
    }

    /// What the sender wrote in this message: [`plain`](Self::plain) without
    /// `>`-quoted lines, without the history after a reply attribution
    /// ("On … wrote:", "-----Original Message-----", a forwarded message),
    /// and without the signature after `-- `.
    pub fn authored(&self) -> &str {
        self.authored.get_or_init(|| authored_text(self.plain()))
    }
}

/// A line at which the rest of the text is history, not new writing.
// A constant pattern, compiled by every test run: `expect` cannot fail.
#[allow(clippy::expect_used)]
static HISTORY_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)^\s*(?:",
        r"-{2,}\s*original message\s*-{2,}",
        r"|-{2,}\s*(?:forwarded message|weitergeleitete nachricht|message transféré|mensaje reenviado|doorgestuurd bericht)\s*-{2,}",
        r"|begin forwarded message:",
        r"|_{20,}",
        r"|(?:on|am|le|el|op|il|den|w dniu)\s.{0,200}(?:wrote|schrieb|a écrit|escribió|schreef|ha scritto|skrev|napisał)(?:\s.{0,120})?\s*:",
        r"|-----\s*ursprüngliche nachricht\s*-----",
        r")\s*$"
    ))
    .expect("history pattern is valid")
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

fn authored_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(1 << 16));
    let mut lines = text.lines().peekable();
    let mut previous = "";
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if line == "-- " || line == "--" {
            break;
        }
        // An attribution wrapped over two lines: "On Mon, 1 Jan, Ann <\nann@x> wrote:".
        let joined_attribution = !previous.is_empty()
            && line.trim_end().ends_with(':')
            && HISTORY_START.is_match(&format!("{} {}", previous.trim(), trimmed));
        if HISTORY_START.is_match(line) || joined_attribution {
            if joined_attribution {
                // The first half of the attribution is already in `out`.
                let cut = out.trim_end_matches('\n').rfind('\n').map_or(0, |i| i + 1);
                out.truncate(cut);
            }
            break;
        }
        if OUTLOOK_FROM.is_match(line)
            && lines.peek().is_some_and(|next| OUTLOOK_SENT.is_match(next))
        {
            break;
        }
        if !trimmed.starts_with('>') {
            out.push_str(line);
            out.push('\n');
        }
        previous = line;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::authored_text;

    #[test]
    fn drops_quoted_lines_and_history() {
        let text = "Thanks, see you then.\n\nOn Mon, 1 Jan 2024 at 10:00, Ann <ann@example.org> wrote:\n> Is noon ok?\n> Attached is the agenda.\n";
        assert_eq!(authored_text(text), "Thanks, see you then.\n\n");
    }

    #[test]
    fn interleaved_replies_keep_the_new_lines() {
        let text = "> Is noon ok?\nYes.\n> And the room?\nRoom 4.\n";
        assert_eq!(authored_text(text), "Yes.\nRoom 4.\n");
    }

    #[test]
    fn wrapped_attribution() {
        let text = "Agreed.\nOn Mon, 1 Jan 2024 at 10:00, Ann Example\n<ann@example.org> wrote:\nold text\n";
        assert_eq!(authored_text(text), "Agreed.\n");
    }

    #[test]
    fn outlook_and_forwarded_blocks() {
        let outlook = "Fine by me.\n\nFrom: Ann <ann@example.org>\nSent: Monday, 1 January 2024 10:00\nTo: Bob\nSubject: plan\n\nold\n";
        assert_eq!(authored_text(outlook), "Fine by me.\n\n");
        let original = "FYI\n-----Original Message-----\nold\n";
        assert_eq!(authored_text(original), "FYI\n");
        let forwarded = "See below.\n---------- Forwarded message ---------\nFrom: x\nold\n";
        assert_eq!(authored_text(forwarded), "See below.\n");
        let german = "Danke.\nAm 01.01.2024 um 10:00 schrieb Ann <ann@example.org>:\nalt\n";
        assert_eq!(authored_text(german), "Danke.\n");
    }

    #[test]
    fn signature_is_not_authored_text() {
        assert_eq!(
            authored_text("Hello\n-- \nAnn\nConfidential notice\n"),
            "Hello\n"
        );
    }

    #[test]
    fn a_line_starting_with_from_is_kept_without_a_sent_line() {
        let text = "From: the desk of the editor: hello\nMore text\n";
        assert_eq!(authored_text(text), text);
    }
}
