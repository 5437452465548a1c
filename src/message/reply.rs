use regex::Regex;
use std::sync::LazyLock;

/// Reply prefixes used by mail clients in the languages they ship in,
/// after optional list tags such as `[team]`; counters like `Re[2]:` and
/// full-width colons are accepted.
// A constant pattern, compiled by every test run: `expect` cannot fail.
#[allow(clippy::expect_used)]
static REPLY_PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(?:\[[^\]]*\]\s*)*(?:re|aw|sv|vs|antw|antwort|réf|rif|res|odp|atb|vá|ynt|yanıt|απ|отв|回复|回覆|答复|答覆|返信|회신)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]",
    )
    .expect("reply prefix pattern is valid")
});

pub fn has_reply_prefix(subject: &str) -> bool {
    REPLY_PREFIX.is_match(subject)
}

/// Forward prefixes (`Fwd:`, `FW:`, `WG:`, `TR:`, `RV:`, `ENC:`, `Doorst:`,
/// `VL:`, `PD:`, `转发:`, `転送:`, ...), after optional list tags and reply prefixes
/// (`Re: Fwd:` is a forward answered).
// A constant pattern, compiled by every test run: `expect` cannot fail.
#[allow(clippy::expect_used)]
static FORWARD_PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(?:\[[^\]]*\]\s*)*(?:(?:re|aw|sv|antw)\s*[:：]\s*)*(?:fwd?|wg|tr|rv|enc|doorst|vl|vb|pd|i|fs|转发|轉寄|轉發|転送|전달)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]",
    )
    .expect("forward prefix pattern is valid")
});

/// Whether a subject marks the message as a forward.
pub fn has_forward_prefix(subject: &str) -> bool {
    FORWARD_PREFIX.is_match(subject)
}

/// The subject without leading list tags and reply or forward prefixes:
/// `[team] Re: Fwd: lunch` -> `lunch`. A subject that carries one of these
/// prefixes was written for an earlier message.
pub fn strip_subject_prefixes(subject: &str) -> &str {
    let mut rest = subject.trim_start();
    loop {
        let found = REPLY_PREFIX
            .find(rest)
            .or_else(|| FORWARD_PREFIX.find(rest));
        match found {
            Some(m) if m.end() > 0 => rest = rest[m.end()..].trim_start(),
            _ => break,
        }
    }
    // A list tag with nothing after it is the whole subject, not a tag.
    let untagged = LIST_TAG.replace(rest, "");
    if untagged.trim().is_empty() {
        rest
    } else {
        &rest[rest.len() - untagged.len()..]
    }
}

/// Leading `[list-name]` tags.
// A constant pattern, compiled by every test run: `expect` cannot fail.
#[allow(clippy::expect_used)]
static LIST_TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:\[[^\]]*\]\s*)+").expect("list tag pattern is valid"));

#[cfg(test)]
mod tests {
    use super::{has_forward_prefix, has_reply_prefix, strip_subject_prefixes};

    #[test]
    fn recognises_forward_prefixes() {
        for s in [
            "Fwd: plan",
            "FW: plan",
            "WG: Termin",
            "TR: réunion",
            "Re: Fwd: plan",
            "[team] Fw: x",
            "转发: 会议",
        ] {
            assert!(has_forward_prefix(s), "{s}");
        }
        for s in [
            "Re: plan",
            "Forward planning",
            "Ideas: x",
            "Trip report",
            "Fwd plan",
            "",
        ] {
            assert!(!has_forward_prefix(s), "{s}");
        }
    }

    #[test]
    fn strips_prefixes_and_list_tags() {
        assert_eq!(strip_subject_prefixes("Re: test"), "test");
        assert_eq!(strip_subject_prefixes("[team] RE: Fwd: AW: lunch"), "lunch");
        assert_eq!(strip_subject_prefixes("[Ppp] testing #5"), "testing #5");
        assert_eq!(strip_subject_prefixes("WG: Termin"), "Termin");
        assert_eq!(strip_subject_prefixes("[CONFIDENTIAL]"), "[CONFIDENTIAL]");
        assert_eq!(strip_subject_prefixes("Results: survey"), "Results: survey");
        assert_eq!(strip_subject_prefixes(""), "");
        assert!(has_forward_prefix("Fwd: lunch"));
        assert!(has_forward_prefix("FW: lunch"));
        assert!(!has_forward_prefix("Fwiw: lunch"));
        assert!(!has_forward_prefix("Trip: lunch"));
    }

    #[test]
    fn recognises_reply_prefixes() {
        for s in [
            "Re: lunch",
            "RE: lunch",
            "re:lunch",
            "Aw: Termin",
            "AW: Termin",
            "SV: möte",
            "Antw: vergadering",
            "Réf: dossier",
            "回复: 会议",
            "回复：会议",
            "Re[2]: lunch",
            "[staff] Re: lunch",
        ] {
            assert!(has_reply_prefix(s), "{s}");
        }
    }

    #[test]
    fn ignores_subjects_that_only_start_like_a_prefix() {
        for s in [
            "Reminder: lunch",
            "Resources for new staff",
            "Results: survey",
            "Awards night",
            "Svenska kursen",
            "Fwd: lunch",
            "Report re: budget",
            "",
        ] {
            assert!(!has_reply_prefix(s), "{s}");
        }
    }
}
