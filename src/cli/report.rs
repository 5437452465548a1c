//! `maillint report`: the gateway's decision log counted per day, rule and
//! action, what it did beside what it would have done in audit mode.

use super::{ExitStatus, SummaryFormat, fail, print_summary};
use clap::Args;
use maillint::milter::tally::Tally;
use std::io::{self, BufReader, Write};

#[derive(Args)]
pub struct ReportArgs {
    /// Decision logs (`[milter] log`, or the journal's lines); `-` reads standard input
    #[arg(required = true, value_name = "LOG")]
    logs: Vec<String>,
    #[arg(long, value_enum, default_value_t = SummaryFormat::Human)]
    format: SummaryFormat,
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
    match print_summary(args.format, &json(&tally), |out| print_table(&tally, out)) {
        Ok(()) => ExitStatus::Success,
        Err(status) => status,
    }
}

fn json(tally: &Tally) -> serde_json::Value {
    let mut value = serde_json::to_value(tally).unwrap_or_default();
    value["rows"] = serde_json::to_value(tally.rows()).unwrap_or_default();
    value
}

fn print_table(tally: &Tally, out: &mut dyn Write) -> io::Result<()> {
    let rows = tally.rows();
    let width = rows.iter().map(|r| r.rule.len()).max().unwrap_or(0).max(4);
    writeln!(
        out,
        "{:<10}  {:<width$}  {:<10}  {:<10}  messages",
        "day", "rule", "did", "would"
    )?;
    for row in &rows {
        // What audit mode changed stands out.
        let mark = if row.action == row.would { "" } else { "  *" };
        writeln!(
            out,
            "{:<10}  {:<width$}  {:<10}  {:<10}  {:>8}{mark}",
            row.day, row.rule, row.action, row.would, row.messages
        )?;
    }
    writeln!(
        out,
        "\n{} messages; {} of them (*) the gateway would have handled more strictly without audit. A message counts once for each of its rules.",
        tally.messages, tally.changed_by_audit
    )
}
