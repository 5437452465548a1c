//! The subcommands, one file each, and what they share: loading the
//! configuration, building the linter, reporting a failure.

pub mod check;
pub mod explain;
pub mod git_hook;
pub mod init;
pub mod rules;
pub mod sendmail;

use clap::{Args, ValueEnum};
use maillint::config::Config;
use maillint::finding::Finding;
use maillint::linter::{Linter, Selection};
use maillint::message::Message;
use maillint::report::{self, EXIT_ERROR, FailOn, MessageReport, Report};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Options every checking command shares.
#[derive(Args)]
pub struct LintArgs {
    /// Configuration file (default: nearest maillint.toml, then $XDG_CONFIG_HOME/maillint/config.toml)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Run only these rules
    #[arg(long, value_delimiter = ',', value_name = "RULE,...")]
    pub select: Vec<String>,
    /// Do not run these rules
    #[arg(long, value_delimiter = ',', value_name = "RULE,...")]
    pub ignore: Vec<String>,
    /// Fail (exit 1; block, for sendmail and git-hook) on a finding at or above this severity
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// Ignore X-Maillint-Allow headers in messages (for CI)
    #[arg(long)]
    pub no_inline_allow: bool,
}

impl Default for LintArgs {
    fn default() -> Self {
        LintArgs {
            config: None,
            select: Vec::new(),
            ignore: Vec::new(),
            fail_on: FailOn::Error,
            no_inline_allow: false,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

pub fn fail(message: impl std::fmt::Display) -> i32 {
    eprintln!("maillint: error: {message}");
    EXIT_ERROR
}

/// The configuration in force: `--config`, or discovered, or the defaults.
pub fn load_config(explicit: Option<&Path>) -> Result<Config, String> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    match Config::discover(explicit, &cwd) {
        Some(path) => Config::load(&path).map_err(|e| e.to_string()),
        None => Ok(Config::default()),
    }
}

pub fn build_linter(lint: &LintArgs) -> Result<Linter, String> {
    let config = load_config(lint.config.as_deref())?;
    let selection = Selection {
        select: lint.select.clone(),
        ignore: lint.ignore.clone(),
        no_inline_allow: lint.no_inline_allow,
    };
    Linter::new(config, &selection).map_err(|e| e.to_string())
}

pub fn set_color(color: Color, terminal: bool) {
    let enabled = match color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    };
    colored::control::set_override(enabled);
}

/// One message's findings, printed for a person (on stderr or a terminal).
pub fn print_findings(
    source: &str,
    message: &Message,
    findings: Vec<Finding>,
    out: &mut dyn Write,
) {
    let report = Report {
        messages: vec![MessageReport {
            source: source.to_string(),
            index: 0,
            message_id: message.message_id.clone(),
            findings,
        }],
        errors: Vec::new(),
    };
    // Nothing useful can be done when the terminal itself cannot be written.
    let _ = report::print_human(&report, out);
}
