//! `maillint simulate`: past sent mail replayed under a new configuration
//! and the one in force, the messages the change would newly stop or let
//! through listed, with an exit status a CI job can act on.

use super::{ExitStatus, SummaryFormat, fail, load_config, print_summary};
use clap::Args;
use maillint::guard::one_line;
use maillint::input::Input;
use maillint::milter::simulate::{Change, Difference, Outcome, Simulation, simulate};
use std::io::{self, Write};
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
    #[arg(long, value_enum, default_value_t = SummaryFormat::Human)]
    format: SummaryFormat,
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
    if let Err(status) = print_summary(args.format, &simulation, |out| {
        print_human(&simulation, out)
    }) {
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

fn print_human(simulation: &Simulation, out: &mut dyn Write) -> io::Result<()> {
    for (change, title) in [
        (Change::NewlyStopped, "Newly stopped"),
        (Change::NewlyLetThrough, "Newly let through"),
        (Change::Changed, "Otherwise changed"),
    ] {
        let listed: Vec<&Difference> = simulation
            .differences
            .iter()
            .filter(|d| d.change == change)
            .collect();
        if listed.is_empty() {
            continue;
        }
        writeln!(out, "{title} ({}):", listed.len())?;
        for d in listed {
            writeln!(
                out,
                "  {} {}\n    now {}, would be {}",
                one_line(&d.source.to_string()),
                one_line(d.message_id.as_deref().unwrap_or("(no Message-ID)")),
                outcome(&d.current),
                outcome(&d.new),
            )?;
        }
        writeln!(out)?;
    }
    writeln!(
        out,
        "{} messages: {} newly stopped, {} newly let through, {} otherwise changed, {} unchanged",
        simulation.messages,
        simulation.newly_stopped,
        simulation.newly_let_through,
        simulation.changed,
        simulation.unchanged
    )
}

fn outcome(outcome: &Outcome) -> String {
    if outcome.rules.is_empty() {
        outcome.action.to_string()
    } else {
        format!("{} ({})", outcome.action, outcome.rules.join(", "))
    }
}
