use super::shared::NoOptions;
use super::{Context, Rule, declare_rule};
use crate::allow::{ALLOW_HEADER, allowance_ids};
use crate::config::{OptionError, RuleSettings};
use crate::finding::{Diagnostic, Location, Severity};

declare_rule! {
    /// ## What it checks
    /// `X-Maillint-Allow` headers that name a rule maillint does not have:
    /// a misspelt id, or a custom rule that is not in the configuration.
    /// Ids are separated by commas or spaces, before an optional
    /// `; reason=...`.
    ///
    /// ## Why it matters
    /// An allowance with a misspelt id silences nothing, so the finding it
    /// was written for still stops the message, and the header looks as if
    /// it should have worked. Saying which id is unknown makes the mistake
    /// a one-character fix (as ruff reports unknown codes in `# noqa`).
    ///
    /// ## Example
    /// ```text
    /// X-Maillint-Allow: reply-all-to-lsit; reason=announcement thread
    /// ```
    ///
    /// ## How to fix
    /// Use the ids `maillint rules` lists, separated by commas or spaces:
    /// `X-Maillint-Allow: reply-all-to-list, mass-list; reason=...`.
    ///
    /// ## Options
    /// None besides `severity`.
    id: "unknown-allow",
    severity: Warning,
    summary: "X-Maillint-Allow names a rule that does not exist",
    build: UnknownAllow::build,
}

struct UnknownAllow;

impl UnknownAllow {
    fn build(settings: &RuleSettings) -> Result<Box<dyn Rule>, OptionError> {
        settings.options::<NoOptions>()?;
        Ok(Box::new(UnknownAllow))
    }
}

/// Unknown ids quoted one by one in a finding; the rest are counted.
const MAX_LISTED: usize = 5;

impl Rule for UnknownAllow {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        let known =
            |id: &str| super::find(id).is_some() || cx.config.custom.iter().any(|c| c.id == id);
        for header in cx
            .message
            .headers()
            .filter(|h| h.name.eq_ignore_ascii_case(ALLOW_HEADER))
        {
            let unknown: Vec<&str> = allowance_ids(header.value)
                .filter(|id| !known(id))
                .collect();
            let Some(first) = unknown.first() else {
                continue;
            };
            let mut listed: Vec<String> = unknown
                .iter()
                .take(MAX_LISTED)
                .map(|id| format!("`{id}`"))
                .collect();
            if unknown.len() > MAX_LISTED {
                listed.push(format!("and {} more", unknown.len() - MAX_LISTED));
            }
            let message = if unknown.len() == 1 {
                format!("{ALLOW_HEADER} names an unknown rule: `{first}`; it silences nothing")
            } else {
                format!(
                    "{ALLOW_HEADER} names unknown rules: {}; they silence nothing",
                    listed.join(", ")
                )
            };
            out.push(
                Diagnostic::new(
                    Severity::Warning,
                    message,
                    Location::header(ALLOW_HEADER, header.line),
                )
                .help("use the ids `maillint rules` lists, separated by commas or spaces"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{check_rule, eml};

    const STORM: &str = "From: a@example.org\nTo: everyone@example.org\nSubject: Re: test\n";

    fn findings(allow: &str) -> Vec<String> {
        check_rule(
            "unknown-allow",
            &eml(&format!("{STORM}X-Maillint-Allow: {allow}\n\nhi\n")),
        )
        .into_iter()
        .map(|f| f.message)
        .collect()
    }

    #[test]
    fn misspelt_ids_are_named() {
        assert_eq!(
            findings("reply-all-to-lsit; reason=thread"),
            ["X-Maillint-Allow names an unknown rule: `reply-all-to-lsit`; it silences nothing"]
        );
        assert_eq!(
            findings("mass-list,reply-all-to-list nope Mass-List"),
            ["X-Maillint-Allow names unknown rules: `nope`, `Mass-List`; they silence nothing"]
        );
        let many: Vec<String> = (0..8).map(|i| format!("r{i}")).collect();
        assert_eq!(
            findings(&many.join(" ")),
            [
                "X-Maillint-Allow names unknown rules: `r0`, `r1`, `r2`, `r3`, `r4`, and 3 more; they silence nothing"
            ]
        );
    }

    #[test]
    fn known_ids_in_either_form_are_quiet() {
        assert!(findings("reply-all-to-list mass-list; reason=a b c").is_empty());
        assert!(findings("reply-all-to-list, mass-list").is_empty());
        assert!(findings("").is_empty());
    }
}
