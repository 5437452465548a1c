//! `maillint check`: files, folders, mailboxes or stdin, reported in one of
//! the output formats.

use super::{Color, ExitStatus, LintArgs, build_linter, fail, write_stdout};
use clap::Args;
use clap::builder::PossibleValuesParser;
use maillint::input::Input;
use maillint::report::{self, PRINTERS, PrintOptions};
use std::io::{self, IsTerminal};
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Args)]
pub struct CheckArgs {
    /// Files or directories to check; `-` or nothing reads standard input
    paths: Vec<String>,
    #[command(flatten)]
    lint: LintArgs,
    // The names of report::PRINTERS, the first one the default.
    #[arg(long, value_parser = PossibleValuesParser::new(PRINTERS.map(|(name, _)| name)),
          default_value = PRINTERS[0].0)]
    format: String,
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

pub fn run(args: CheckArgs) -> ExitStatus {
    // clap took only the printers' names.
    let Some(printer) = report::printer(&args.format) else {
        return fail(format!("unknown format `{}`", args.format));
    };
    let color = args.color.enabled(io::stdout().is_terminal());
    let linter = match build_linter(&args.lint) {
        Ok(l) => l,
        Err(e) => return fail(e),
    };
    let inputs: Vec<Input> = if args.paths.is_empty() {
        if io::stdin().is_terminal() {
            return fail(
                "no input: name files to check, or pipe a message into `maillint check -`",
            );
        }
        vec![Input::Stdin]
    } else {
        args.paths.iter().map(|p| Input::from_arg(p)).collect()
    };

    let progress = BatchProgress::new(io::stderr().is_terminal());
    let report = maillint::check_with_progress(&inputs, &linter, &|| progress.checked());
    progress.finish();
    for err in &report.errors {
        // A file name may hold a line break too.
        let source = maillint::guard::one_line(&err.source.to_string());
        eprintln!("maillint: error: {source}: {}", err.error);
    }
    let options = PrintOptions {
        config: linter.config(),
        color,
    };
    if let Err(status) = write_stdout(|out| printer.print(&report, &options, out)) {
        return status;
    }
    if !report.errors.is_empty() {
        ExitStatus::Error
    } else if report.fails(args.lint.fail_on) {
        ExitStatus::Findings
    } else {
        ExitStatus::Success
    }
}

/// A progress bar on stderr for batch runs, drawn only on a terminal and
/// only once a few hundred messages are checked: a single message or a
/// small folder is done before a bar would be read.
struct BatchProgress {
    bar: Option<indicatif::ProgressBar>,
    checked: AtomicUsize,
}

impl BatchProgress {
    const SHOWN_AFTER: usize = 300;

    fn new(terminal: bool) -> Self {
        let bar = terminal.then(|| {
            let bar = indicatif::ProgressBar::hidden();
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {human_pos} messages checked ({elapsed})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar
        });
        BatchProgress {
            bar,
            checked: AtomicUsize::new(0),
        }
    }

    fn checked(&self) {
        let Some(bar) = &self.bar else { return };
        if self.checked.fetch_add(1, Ordering::Relaxed) + 1 == Self::SHOWN_AFTER {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
        bar.inc(1);
    }

    /// Clears the bar before the report is printed.
    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
