use super::shared::NoOptions;
use super::{Context, Rule, declare_rule};
use crate::config::{OptionError, RuleSettings};
use crate::finding::{Diagnostic, Location, Severity};
use crate::message::{Field, Message, has_forward_prefix, strip_subject_prefixes};

declare_rule! {
    /// ## What it checks
    /// - An error when there is no From header, or it holds no address.
    /// - A warning when Subject is missing or empty.
    /// - Info when a message that is not a draft has no Message-ID. A draft
    ///   or template has no Date yet (clients and sending tools stamp the
    ///   Date when they send, while many give a draft its Message-ID when
    ///   it is first saved), carries `X-Unsent: 1` (Outlook's saved drafts),
    ///   or still has a Bcc header (a sent message never shows it). So a
    ///   message is judged once it has a Date: a Date without a Message-ID
    ///   is a message sent by software that does not identify its mail.
    /// - Info when the subject is in capitals (8 or more letters over two or
    ///   more words, none of them lowercase) or contains `!!!`. A reply's or
    ///   forward's subject is the earlier message's and is not judged.
    ///
    /// ## Why it matters
    /// RFC 5322 requires From and Date; Gmail rejects mail without a valid
    /// Message-ID or with a malformed From, and both Gmail and Yahoo require
    /// bulk mail to follow RFC 5322. A message without a subject is easy to
    /// overlook and looks like spam; a shouting subject (`FINAL NOTICE!!!`)
    /// is one of the oldest spam-filter signals (SpamAssassin's
    /// `SUBJ_ALL_CAPS`).
    ///
    /// ## Example
    /// ```text
    /// From: news@example.com
    /// Date: Tue, 7 May 2024 09:00:00 +0000
    /// Subject: LAST CHANCE TO SAVE!!!
    /// ```
    /// has a Date but no Message-ID, and a shouting subject.
    ///
    /// ## How to fix
    /// Send through a client or library that writes From, Date and
    /// Message-ID; give every message a subject in sentence case.
    ///
    /// ## Options
    /// None besides `severity`.
    id: "missing-header",
    severity: Error,
    summary: "No From, no Subject, no Message-ID on a sent message, or a subject in capitals",
    build: MissingHeader::build,
}

struct MissingHeader;

impl MissingHeader {
    fn build(settings: &RuleSettings) -> Result<Box<dyn Rule>, OptionError> {
        settings.options::<NoOptions>()?;
        Ok(Box::new(MissingHeader))
    }
}

/// A draft or template: not yet stamped by the software that sends it.
fn is_draft(msg: &Message) -> bool {
    !msg.has_date
        || msg
            .header("X-Unsent")
            .is_some_and(|h| h.value.trim() == "1")
        || msg.addresses_in(Field::Bcc).next().is_some()
        || msg.header("Bcc").is_some()
}

/// Whether some end of a subject may shout: it holds `!!!`, or eight bytes
/// that are capitals or part of a non-ASCII character (a capital is one of
/// those at least). [`shouts`] is asked only about the subject without its
/// prefixes, an end of it, and finding those costs more than this look
/// at every byte; nearly no subject passes it.
fn may_shout(subject: &str) -> bool {
    let bytes = subject.as_bytes();
    bytes
        .iter()
        .filter(|b| b.is_ascii_uppercase() || !b.is_ascii())
        .nth(7)
        .is_some()
        || memchr::memchr_iter(b'!', bytes).any(|at| bytes[at..].starts_with(b"!!!"))
}

/// Whether a subject shouts: capitals throughout, or `!!!`.
fn shouts(subject: &str) -> bool {
    if subject.contains("!!!") {
        return true;
    }
    let mut letters = 0;
    let mut words = 0;
    for word in subject.split(|c: char| !c.is_alphabetic()) {
        let cased = word
            .chars()
            .filter(|c| c.is_uppercase() || c.is_lowercase())
            .count();
        if word.chars().any(char::is_lowercase) {
            return false;
        }
        if cased > 0 {
            letters += cased;
            words += 1;
        }
    }
    letters >= 8 && words >= 2
}

impl Rule for MissingHeader {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        let msg = cx.message;
        // Headers are looked up only where a finding needs them: each
        // look-up reads the names of all of a message's headers.
        match msg.sender() {
            None if msg.header("From").is_none() => out.push(
                Diagnostic::new(
                    Severity::Error,
                    "no From header",
                    Location::header("From", None),
                )
                .help("add a From header with the sender's address"),
            ),
            Some(a) if !a.addr.contains('@') => out.push(
                Diagnostic::new(
                    Severity::Error,
                    "From has no valid address",
                    Location::header("From", a.line),
                )
                .help("write From as `Name <address@domain>`"),
            ),
            None => out.push(
                Diagnostic::new(
                    Severity::Error,
                    "From has no valid address",
                    Location::header("From", msg.header_line("From")),
                )
                .help("write From as `Name <address@domain>`"),
            ),
            _ => {}
        }
        match msg.subject.as_deref().map(str::trim) {
            None => out.push(
                Diagnostic::new(
                    Severity::Warning,
                    "no Subject header",
                    Location::header("Subject", None),
                )
                .help("give the message a subject that says what it is about"),
            ),
            Some("") => out.push(
                Diagnostic::new(
                    Severity::Warning,
                    "the subject is empty",
                    Location::header("Subject", msg.header_line("Subject")),
                )
                .help("give the message a subject that says what it is about"),
            ),
            Some(subject) => {
                if !msg.is_reply
                    && may_shout(subject)
                    && !has_forward_prefix(subject)
                    && shouts(strip_subject_prefixes(subject))
                {
                    out.push(
                        Diagnostic::new(
                            Severity::Info,
                            format!(
                                "the subject shouts: `{}`",
                                subject.chars().take(60).collect::<String>()
                            ),
                            Location::header("Subject", msg.header_line("Subject")),
                        )
                        .help("write the subject in sentence case without `!!!`: spam filters score capitals and exclamation marks"),
                    );
                }
            }
        }
        if msg.message_id.is_none() && !is_draft(msg) {
            out.push(
                Diagnostic::new(
                    Severity::Info,
                    "no Message-ID header, though the message has a Date and so is not a draft",
                    Location::header("Message-ID", None),
                )
                .help("send through software that adds a Message-ID (RFC 5322); Gmail rejects mail without one"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{may_shout, shouts};
    use crate::finding::Severity;
    use crate::testing::{check_rule, eml};

    fn run(text: &str) -> Vec<crate::finding::Finding> {
        check_rule("missing-header", &eml(text))
    }

    #[test]
    fn from_and_subject() {
        let f = run("To: b@example.net\nSubject: hi\n\nx\n");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Error);
        assert_eq!(f[0].message, "no From header");
        let f = run("From: Newsletter\nTo: b@example.net\nSubject: hi\n\nx\n");
        assert_eq!(f[0].message, "From has no valid address");
        let f = run("From: a@example.com\nTo: b@example.net\n\nx\n");
        assert_eq!(
            (f[0].severity, f[0].message.as_str()),
            (Severity::Warning, "no Subject header")
        );
        let f = run("From: a@example.com\nTo: b@example.net\nSubject:  \n\nx\n");
        assert_eq!(f[0].message, "the subject is empty");
        assert_eq!(f[0].location.line, Some(3));
    }

    #[test]
    fn date_and_message_id_outside_drafts() {
        let f = run(
            "From: a@example.com\nTo: b@example.net\nSubject: hi\nDate: Tue, 7 May 2024 09:00:00 +0000\n\nx\n",
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Info);
        assert!(
            f[0].message.starts_with("no Message-ID header"),
            "{}",
            f[0].message
        );
        // A Message-ID without a Date: a saved draft.
        assert!(run("From: a@example.com\nTo: b@example.net\nSubject: hi\nMessage-ID: <1@example.com>\n\nx\n").is_empty());
        for draft in [
            "From: a@example.com\nTo: b@example.net\nSubject: hi\n\nx\n",
            "From: a@example.com\nTo: b@example.net\nSubject: hi\nDate: Tue, 7 May 2024 09:00:00 +0000\nX-Unsent: 1\n\nx\n",
            "From: a@example.com\nBcc: b@example.net\nSubject: hi\nMessage-ID: <1@example.com>\n\nx\n",
            "From: a@example.com\nTo: b@example.net\nSubject: hi\nMessage-ID: <1@example.com>\nDate: Tue, 7 May 2024 09:00:00 +0000\n\nx\n",
        ] {
            assert!(run(draft).is_empty(), "{draft}");
        }
    }

    #[test]
    fn shouting_subjects() {
        for s in [
            "LAST CHANCE TO SAVE",
            "Save now!!!",
            "FINAL NOTICE: ACT NOW",
        ] {
            assert!(shouts(s), "{s}");
        }
        for s in [
            "IMPORTANT",
            "NHS IT",
            "FYI: Q3 results",
            "[ANNOUNCE] Python 3.13",
            "Re: test",
            "CVE-2024-1234",
        ] {
            assert!(!shouts(s), "{s}");
        }
        let f = run("From: a@example.com\nTo: b@example.net\nSubject: LAST CHANCE TO SAVE\n\nx\n");
        assert_eq!(f[0].severity, Severity::Info);
        assert!(
            run("From: a@example.com\nTo: b@example.net\nSubject: RE: LAST CHANCE TO SAVE\n\nx\n")
                .is_empty()
        );
    }

    proptest::proptest! {
        /// A subject whose prefixes, stripped, leave a shout may shout:
        /// the look at its bytes lets through every subject it must.
        #[test]
        fn every_shout_may_shout(
            subject in "(?:[A-Za-z !:\\[\\]]|[A-Z ]{3,10}|Re: |Fwd: |ÉTÉ|é|Σ|ǅ|ⓐ|!!!|\\[team\\] ){0,12}",
        ) {
            let shout = shouts(crate::message::strip_subject_prefixes(&subject));
            proptest::prop_assert!(!shout || may_shout(&subject), "{}", subject);
        }
    }

    #[test]
    fn shouts_pass_the_look_at_bytes() {
        for s in [
            "[team] LAST CHANCE TO SAVE",
            "Fwd: Save now!!!",
            "ÉTÉ ÉTÉ ÉTÉ",
            "no!!!",
        ] {
            assert!(may_shout(s), "{s}");
        }
        for s in ["Re: lunch on Friday", "FYI: Q3 results!!", "[ANN] Python"] {
            assert!(!may_shout(s), "{s}");
        }
    }
}
