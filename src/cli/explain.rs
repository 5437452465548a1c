//! `maillint explain`: a rule's documentation.

use super::{ExitStatus, RuleId, fail, load_config};
use clap::Args;
use maillint::rules;
use std::path::PathBuf;

#[derive(Args)]
pub struct ExplainArgs {
    /// Rule id, e.g. cc-exposure
    #[arg(value_parser = RuleId, hide_possible_values = true)]
    rule: String,
    #[arg(long, value_name = "FILE", help = super::CONFIG_HELP)]
    config: Option<PathBuf>,
}

pub fn run(args: ExplainArgs) -> ExitStatus {
    let id = args.rule.as_str();
    if let Some(rule) = rules::find(id) {
        println!(
            "# {}\n\nDefault severity: {}\n\n{}",
            rule.id,
            rule.default_severity,
            rule.doc_text()
        );
        return ExitStatus::Success;
    }
    let config = match load_config(args.config.as_deref()) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let Some(rule) = config.custom.iter().find(|c| c.id == id) else {
        let known = rules::REGISTRY
            .iter()
            .map(|r| r.id)
            .chain(config.custom.iter().map(|c| c.id.as_str()));
        return fail(match closest(id, known) {
            Some(near) => {
                format!("unknown rule `{id}`; did you mean `{near}`? (see `maillint rules`)")
            }
            None => format!("unknown rule `{id}` (see `maillint rules`)"),
        });
    };
    let fields: Vec<&str> = rule.fields.iter().map(|f| f.as_str()).collect();
    println!(
        "# {} (custom rule in {})\n\nSeverity: {}\n\n{}\n\nPattern `{}` over {}; when = \"{}\".",
        rule.id,
        config.file_name(),
        rule.severity,
        rule.message,
        rule.pattern,
        fields.join(", "),
        rule.when.as_str()
    );
    ExitStatus::Success
}

/// The known id nearest to `id` in edits (a typo: `cc-exposrue`, `mass_list`),
/// when it is near enough to be what was meant: at most a third of its
/// length away.
fn closest<'a>(id: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let id = id.to_ascii_lowercase().replace('_', "-");
    known
        .map(|k| (edits(&id, k), k))
        .filter(|&(d, k)| d <= k.len().div_ceil(3))
        .min_by_key(|&(d, _)| d)
        .map(|(_, k)| k)
}

/// Levenshtein distance, by characters.
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_nearest_id() {
        let ids = ["cc-exposure", "mass-list", "recipient-count"];
        assert_eq!(closest("cc-exposrue", ids.into_iter()), Some("cc-exposure"));
        assert_eq!(closest("MASS_LIST", ids.into_iter()), Some("mass-list"));
        assert_eq!(closest("html", ids.into_iter()), None);
        assert_eq!(edits("kitten", "sitting"), 3);
    }
}
