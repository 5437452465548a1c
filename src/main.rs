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
    /// List every rule, built-in and custom, with its default severity
    Rules {
        /// `markdown` prints the built-in rules as the table in README.md
        #[arg(long, value_enum, default_value_t = RulesFormat::Text)]
        format: RulesFormat,
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Show the documentation of a rule
    Explain {
        /// Rule id, e.g. cc-exposure
        rule: String,
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
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
    /// Ignore X-Maillint-Allow headers in messages (for CI)
    #[arg(long)]
    no_inline_allow: bool,
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
    // A panic in the parser is reported as that input's one-line error.
    maillint::guard::quiet_caught_panics();
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Check(args) => run_check(args),
        Command::Rules { format, config } => print_rules(format, config),
        Command::Explain { rule, config } => explain(&rule, config),
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

    let config = match load_config(args.config) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let selection = Selection {
        select: args.select,
        ignore: args.ignore,
        no_inline_allow: args.no_inline_allow,
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
        // A file name may hold a line break too.
        let source = maillint::guard::one_line(&err.source);
        eprintln!("maillint: error: {source}: {}", err.error);
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

/// The configuration in force: `--config`, or discovered, or the defaults.
/// A broken one is reported here and becomes the exit code.
fn load_config(explicit: Option<PathBuf>) -> Result<Config, i32> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    match Config::discover(explicit.as_deref(), &cwd) {
        Some(path) => Config::load(&path).map_err(fail),
        None => Ok(Config::default()),
    }
}

fn print_rules(format: RulesFormat, config: Option<PathBuf>) -> i32 {
    let config = match load_config(config) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match format {
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
    0
}

fn explain(id: &str, config: Option<PathBuf>) -> i32 {
    if let Some(rule) = rules::find(id) {
        println!(
            "# {}\n\nDefault severity: {}\n\n{}",
            rule.id,
            rule.default_severity,
            rule.doc_text()
        );
        return 0;
    }
    let config = match load_config(config) {
        Ok(c) => c,
        Err(code) => return code,
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
    0
}
