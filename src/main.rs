//! The `maillint` command line.

use clap::{Parser, Subcommand, ValueEnum};
use maillint::config::Config;
use maillint::input::Input;
use maillint::linter::{Linter, Selection};
use maillint::report::{self, EXIT_ERROR, FailOn};
use maillint::rules::{self, REGISTRY};
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "maillint", version, about = "A linter for outgoing email")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check messages: .eml files, JSON drafts, mbox files, Maildirs, directories, or stdin (`-`)
    Check(CheckArgs),
    /// List every rule with its default severity
    Rules {
        /// `markdown` prints the table in README.md
        #[arg(long, value_enum, default_value_t = RulesFormat::Text)]
        format: RulesFormat,
    },
    /// Show the documentation of a rule
    Explain {
        /// Rule id, e.g. cc-exposure
        rule: String,
    },
}

#[derive(clap::Args)]
struct CheckArgs {
    /// Files or directories to check; `-` or nothing reads standard input
    paths: Vec<String>,
    /// Configuration file (default: nearest maillint.toml, then $XDG_CONFIG_HOME/maillint/config.toml)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Run only these rules
    #[arg(long, value_delimiter = ',', value_name = "RULE,...")]
    select: Vec<String>,
    /// Do not run these rules
    #[arg(long, value_delimiter = ',', value_name = "RULE,...")]
    ignore: Vec<String>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Exit 1 when a finding is at or above this severity
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    fail_on: FailOn,
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Human,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum RulesFormat {
    Text,
    Markdown,
}

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Check(args) => run_check(args),
        Command::Rules { format } => print_rules(format),
        Command::Explain { rule } => explain(&rule),
    };
    ExitCode::from(u8::try_from(code).unwrap_or(2))
}

fn fail(message: impl std::fmt::Display) -> i32 {
    eprintln!("maillint: error: {message}");
    EXIT_ERROR
}

fn run_check(args: CheckArgs) -> i32 {
    let enabled = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    colored::control::set_override(enabled);

    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let config = match Config::discover(args.config.as_deref(), &cwd) {
        Some(path) => match Config::load(&path) {
            Ok(c) => c,
            Err(e) => return fail(e),
        },
        None => Config::default(),
    };
    let selection = Selection {
        select: args.select,
        ignore: args.ignore,
    };
    let linter = match Linter::new(config, &selection) {
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

    let report = maillint::check(&inputs, &linter);
    for err in &report.errors {
        eprintln!("maillint: error: {}: {}", err.source, err.error);
    }
    let mut out = io::stdout().lock();
    let printed = match args.format {
        Format::Human => report::print_human(&report, &mut out),
        Format::Json => report::print_json(&report, &mut out),
    };
    if let Err(e) = printed.and_then(|()| out.flush()) {
        // A closed pipe (`| head`) is the reader's choice, not a failure to report.
        if e.kind() != io::ErrorKind::BrokenPipe {
            return fail(format!("cannot write output: {e}"));
        }
    }
    report.exit_code(args.fail_on)
}

fn print_rules(format: RulesFormat) -> i32 {
    match format {
        RulesFormat::Text => {
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
    0
}

fn explain(id: &str) -> i32 {
    match rules::find(id) {
        Some(rule) => {
            println!(
                "# {}\n\nDefault severity: {}\n\n{}",
                rule.id,
                rule.default_severity,
                rule.doc_text()
            );
            0
        }
        None => fail(format!("unknown rule `{id}` (see `maillint rules`)")),
    }
}
