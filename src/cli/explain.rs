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
        return fail(format!("unknown rule `{id}` (see `maillint rules`)"));
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
