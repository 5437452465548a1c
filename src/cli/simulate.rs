//! `maillint simulate`: past sent mail replayed under a new configuration
//! and the one in force, the messages the change would newly stop or let
//! through listed, with an exit status a CI job can act on.

use super::{ExitStatus, fail, load_config, print_summary};
use clap::Args;
use clap::builder::PossibleValuesParser;
use maillint::guard::one_line;
use maillint::input::Input;
use maillint::milter::simulate::simulate;
use maillint::report::SUMMARY_FORMATS;
use std::path::PathBuf;

#[derive(Args)]
pub struct SimulateArgs {
    /// Sent mail to replay: .eml files, mbox files, Maildirs, directories; `-` reads standard input
    #[arg(required = true, value_name = "SENT")]
    paths: Vec<String>,
    /// The new configuration, to try
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// The configuration in force, to compare with
    #[arg(long, value_name = "FILE")]
    against: PathBuf,
    #[arg(long, value_parser = PossibleValuesParser::new(SUMMARY_FORMATS), default_value = SUMMARY_FORMATS[0])]
    format: String,
}

pub fn run(args: SimulateArgs) -> ExitStatus {
    let configs = load_config(Some(&args.against))
        .map_err(|e| format!("--against: {e}"))
        .and_then(|current| {
            load_config(Some(&args.config))
                .map(|new| (current, new))
                .map_err(|e| format!("--config: {e}"))
        });
    let (current, new) = match configs {
        Ok(configs) => configs,
        Err(e) => return fail(e),
    };
    let inputs: Vec<Input> = args.paths.iter().map(|p| Input::from_arg(p)).collect();
    let simulation = match simulate(&inputs, current, new) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    for err in &simulation.errors {
        eprintln!(
            "maillint: error: {}: {}",
            one_line(&err.source.to_string()),
            err.error
        );
    }
    if let Err(status) = print_summary(&args.format, &simulation) {
        return status;
    }
    if !simulation.errors.is_empty() {
        ExitStatus::Error
    } else if simulation.differences.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Findings
    }
}
