//! `maillint report`: the gateway's decision log counted per day, rule and
//! action, what it did beside what it would have done in audit mode.

use super::{ExitStatus, fail, print_summary};
use clap::Args;
use clap::builder::PossibleValuesParser;
use maillint::milter::tally::Tally;
use maillint::report::SUMMARY_FORMATS;
use std::io::{self, BufReader};

#[derive(Args)]
pub struct ReportArgs {
    /// Decision logs (`[milter] log`, or the journal's lines); `-` reads standard input
    #[arg(required = true, value_name = "LOG")]
    logs: Vec<String>,
    #[arg(long, value_parser = PossibleValuesParser::new(SUMMARY_FORMATS), default_value = SUMMARY_FORMATS[0])]
    format: String,
}

pub fn run(args: ReportArgs) -> ExitStatus {
    let mut tally = Tally::default();
    for log in &args.logs {
        let read = if log == "-" {
            tally.read(io::stdin().lock())
        } else {
            std::fs::File::open(log).and_then(|file| tally.read(BufReader::new(file)))
        };
        if let Err(e) = read {
            return fail(format!("{}: {e}", maillint::guard::one_line(log)));
        }
    }
    match print_summary(&args.format, &tally) {
        Ok(()) => ExitStatus::Success,
        Err(status) => status,
    }
}
