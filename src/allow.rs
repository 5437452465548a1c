//! `X-Maillint-Allow`: the header a draft uses to silence named rules for
//! itself, like `# noqa`. A leaf shared by the linter, which honours it,
//! and the `unknown-allow` rule, which checks the ids it names.

use crate::message::Message;

/// The header's name.
pub const ALLOW_HEADER: &str = "X-Maillint-Allow";

/// The rule ids one `X-Maillint-Allow` value names: `rule-a, rule-b` or
/// `rule-a rule-b`, before an optional `; reason=...`.
pub fn allowance_ids(value: &str) -> impl Iterator<Item = &str> {
    let ids = value.split(';').next().unwrap_or_default();
    ids.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|id| !id.is_empty())
}

/// Rule ids named in the message's `X-Maillint-Allow` headers (any number
/// of them).
pub fn allowed_rules(message: &Message) -> Vec<&str> {
    message
        .headers_named(ALLOW_HEADER)
        .flat_map(|h| allowance_ids(h.value))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowance_ids_are_separated_by_commas_or_spaces() {
        assert_eq!(
            allowance_ids(" a, b  c;d e").collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
    }
}
