//! `maillint rules`: every rule, built-in and custom.

use super::{ExitStatus, fail, load_config};
use clap::{Args, ValueEnum};
use maillint::rules::{self, REGISTRY};
use std::path::PathBuf;

#[derive(Args)]
pub struct RulesArgs {
    /// `markdown` prints the built-in rules as the table in README.md
    #[arg(long, value_enum, default_value_t = RulesFormat::Text)]
    format: RulesFormat,
    #[arg(long, value_name = "FILE", help = super::CONFIG_HELP)]
    config: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum RulesFormat {
    Text,
    Markdown,
}

pub fn run(args: RulesArgs) -> ExitStatus {
    let config = match load_config(args.config.as_deref()) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    match args.format {
        RulesFormat::Text => {
            for rule in &config.custom {
                println!(
                    "{:<20} {:<8} {} (custom)",
                    rule.id,
                    rule.severity.as_str(),
                    rule.message
                );
            }
            for rule in REGISTRY {
                println!(
                    "{:<20} {:<8} {}",
                    rule.id,
                    rule.default_severity.as_str(),
                    rule.summary
                );
            }
        }
        RulesFormat::Markdown => print!("{}", rules::markdown_table()),
    }
    ExitStatus::Success
}
