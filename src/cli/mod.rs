//! The subcommands, one file each, and what they share: loading the
//! configuration, building the linter, the exit status.

pub mod check;
pub mod explain;
pub mod git_hook;
pub mod held;
pub mod init;
#[cfg(feature = "history")]
pub mod learn;
pub mod man;
#[cfg(feature = "milter")]
pub mod milter;
#[cfg(feature = "milter")]
pub mod report;
pub mod rules;
pub mod sendmail;
#[cfg(feature = "milter")]
pub mod simulate;
#[cfg(feature = "web")]
pub mod web;

use clap::builder::{PossibleValue, PossibleValuesParser, StringValueParser, TypedValueParser};
use clap::{Args, ValueEnum};
use maillint::config::Config;
use maillint::finding::Finding;
use maillint::linter::{Linter, Selection};
use maillint::message::Message;
use maillint::report::{FailOn, Human, MessageReport, PrintOptions, Printer, Report};
use maillint::rules::REGISTRY;
use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// How maillint ends; `main` turns it into the process's exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Done, and nothing at or above `--fail-on` (0).
    Success,
    /// A finding at or above `--fail-on` (1).
    Findings,
    /// An input could not be checked, or the command could not do its work (2).
    Error,
    /// The sendmail wrapper's status: a sysexits(3) code, or the real
    /// sendmail's own.
    Sendmail(i32),
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        match status {
            ExitStatus::Success => ExitCode::SUCCESS,
            ExitStatus::Findings => ExitCode::from(1),
            ExitStatus::Error => ExitCode::from(2),
            ExitStatus::Sendmail(code) => ExitCode::from(u8::try_from(code).unwrap_or(2)),
        }
    }
}

/// `--config`, under every command that reads the configuration.
pub const CONFIG_HELP: &str = "Configuration file, used as it is (default: the nearest maillint.toml, over your own $XDG_CONFIG_HOME/maillint/config.toml)";

/// Options every checking command shares.
#[derive(Args, Default)]
pub struct LintArgs {
    #[arg(long, value_name = "FILE", help = CONFIG_HELP)]
    pub config: Option<PathBuf>,
    /// Run only these rules
    #[arg(long, value_delimiter = ',', value_name = "RULE,...", value_parser = RuleId, hide_possible_values = true)]
    pub select: Vec<String>,
    /// Do not run these rules
    #[arg(long, value_delimiter = ',', value_name = "RULE,...", value_parser = RuleId, hide_possible_values = true)]
    pub ignore: Vec<String>,
    /// Fail (exit 1; block, for sendmail and git-hook) on a finding at or above this severity
    #[arg(long, default_value = FailOn::default().as_str(), value_parser = fail_on_parser())]
    pub fail_on: FailOn,
    /// Ignore X-Maillint-Allow headers in messages (for CI)
    #[arg(long)]
    pub no_inline_allow: bool,
}

/// `--fail-on`'s names, from the library's list.
fn fail_on_parser() -> impl TypedValueParser<Value = FailOn> {
    PossibleValuesParser::new(FailOn::ALL.map(FailOn::as_str)).try_map(|name| name.parse())
}

/// A rule id as written on the command line: any text, trimmed
/// (`--select "cc-exposure, recipient-count"`), with the built-in ids
/// offered to shell completion. Custom ids live in the configuration,
/// which is read only once the arguments are parsed, so an unknown id is
/// the linter's to refuse.
#[derive(Clone)]
pub struct RuleId;

impl TypedValueParser for RuleId {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<String, clap::Error> {
        let id = StringValueParser::new().parse_ref(cmd, arg, value)?;
        Ok(id.trim().to_string())
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            REGISTRY
                .iter()
                .map(|rule| PossibleValue::new(rule.id).help(rule.summary)),
        ))
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

impl Color {
    /// Whether to colour output to a stream that is a terminal or not.
    pub fn enabled(self, terminal: bool) -> bool {
        match self {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }
}

/// Prints a command's summary on standard output in the format `--format`
/// names (one of `report::SUMMARY_FORMATS`, which clap took).
#[cfg(feature = "milter")]
pub fn print_summary<S: maillint::report::Summarised + 'static>(
    format: &str,
    summary: &S,
) -> Result<(), ExitStatus> {
    let Some(printer) = maillint::report::summary_printer::<S>(format) else {
        return Err(fail(format!("unknown format `{format}`")));
    };
    // Summaries name no rule and use no colour.
    let config = Config::default();
    let options = PrintOptions {
        config: &config,
        color: false,
    };
    write_stdout(|out| printer.print(summary, &options, out))
}

/// Writes on standard output, buffered (standard output flushes at every
/// line break, which for the JSON of a few thousand messages was one
/// system call per line). An error when it could not be written; a closed
/// pipe (`| head`) is the reader's choice, not one.
pub fn write_stdout(
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), ExitStatus> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match write(&mut out).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(fail(format!("cannot write output: {e}")))
        }
        _ => Ok(()),
    }
}

pub fn fail(message: impl std::fmt::Display) -> ExitStatus {
    eprintln!("maillint: error: {message}");
    ExitStatus::Error
}

/// The configuration in force: `--config`, or discovered (a project's over
/// the user's), or the defaults; checked against the rules (custom rules
/// must not take a built-in id).
pub fn load_config(explicit: Option<&Path>) -> Result<Config, String> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let config = Config::load_discovered(explicit, &cwd)
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
    maillint::rules::check_custom_ids(&config).map_err(|e| e.to_string())?;
    Ok(config)
}

pub fn build_linter(lint: &LintArgs) -> Result<Linter, String> {
    let config = load_config(lint.config.as_deref())?;
    let selection = Selection {
        select: lint.select.clone(),
        ignore: lint.ignore.clone(),
        no_inline_allow: lint.no_inline_allow,
    };
    let linter = Linter::new(config, &selection).map_err(|e| e.to_string())?;
    for warning in linter.warnings() {
        eprintln!("maillint: warning: {warning}");
    }
    Ok(linter)
}

/// One message's findings, printed for a person (on stderr or a terminal).
pub fn print_findings(
    source: &str,
    message: &Message,
    findings: Vec<Finding>,
    config: &Config,
    color: bool,
    out: &mut dyn Write,
) {
    let report = Report {
        messages: vec![MessageReport {
            source: source.to_string(),
            index: 0,
            message_id: message.message_id.clone(),
            findings,
            mbox_entry: None,
        }],
        errors: Vec::new(),
    };
    let options = PrintOptions { config, color };
    // Nothing useful can be done when the terminal itself cannot be written.
    let _ = Human.print(&report, &options, out);
}
