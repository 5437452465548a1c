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

#[cfg(test)]
mod tests {
    use super::has_reply_prefix;

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
