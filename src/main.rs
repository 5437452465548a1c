//! The `maillint` command line: parses the arguments and hands them to the
//! subcommand's file under `cli/`.

mod cli;

use clap::{CommandFactory, Parser, Subcommand};
#[cfg(feature = "history")]
use cli::learn;
#[cfg(feature = "web")]
use cli::web;
use cli::{ExitStatus, check, explain, git_hook, held, init, man, rules, sendmail};
#[cfg(feature = "milter")]
use cli::{milter, report, simulate};
use std::io;
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
    Check(check::CheckArgs),
    /// A drop-in sendmail: check the message on stdin, then pass it to the real sendmail or hold it
    Sendmail(sendmail::SendmailArgs),
    /// The messages `maillint sendmail` held: list them, show, resend (once) or drop one
    Held(held::HeldArgs),
    /// git send-email's sendemail-validate hook: check a patch mail before it is sent
    GitHook(git_hook::GitHookArgs),
    /// Learn from your sent mail (Maildirs, mbox files, .eml directories) for the history rules
    #[cfg(feature = "history")]
    Learn(learn::LearnArgs),
    /// Write a commented starter maillint.toml in the current directory
    Init(init::InitArgs),
    /// Print a shell completion script
    Completions { shell: clap_complete::Shell },
    /// Print the manual page (roff)
    Man,
    /// List every rule, built-in and custom, with its default severity
    Rules(rules::RulesArgs),
    /// Show the documentation of a rule
    Explain(explain::ExplainArgs),
    /// Run as a milter for Postfix or Sendmail: check every outgoing message at the mail server
    #[cfg(feature = "milter")]
    Milter(milter::MilterArgs),
    /// Count the gateway's decision log per day, rule and action: what it did, and what it would have done in audit mode
    #[cfg(feature = "milter")]
    Report(report::ReportArgs),
    /// Replay sent mail through the gateway under a new configuration and the current one: which messages the change newly stops or lets through
    #[cfg(feature = "milter")]
    Simulate(simulate::SimulateArgs),
    /// Serve the held-mail page: senders release or discard their held mail, administrators review it
    #[cfg(feature = "web")]
    Web(web::WebArgs),
}

fn main() -> ExitCode {
    // A panic in the parser is reported as that input's one-line error.
    maillint::guard::quiet_caught_panics();
    if sendmail::invoked_as_sendmail() {
        return ExitStatus::Sendmail(sendmail::run_as_sendmail()).into();
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // `maillint sendmail` with arguments it cannot take still has a
        // message on standard input, which must not be lost.
        Err(e) if e.use_stderr() && std::env::args_os().nth(1).is_some_and(|a| a == "sendmail") => {
            return ExitStatus::Sendmail(sendmail::run_after_usage_error(&e)).into();
        }
        Err(e) => e.exit(),
    };
    let status = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Sendmail(args) => ExitStatus::Sendmail(sendmail::run(args)),
        Command::Held(args) => held::run(args),
        Command::GitHook(args) => git_hook::run(args),
        #[cfg(feature = "history")]
        Command::Learn(args) => learn::run(args),
        Command::Init(args) => init::run(args),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "maillint", &mut io::stdout());
            ExitStatus::Success
        }
        Command::Man => man::run(Cli::command()),
        Command::Rules(args) => rules::run(args),
        Command::Explain(args) => explain::run(args),
        #[cfg(feature = "milter")]
        Command::Milter(args) => milter::run(args),
        #[cfg(feature = "milter")]
        Command::Report(args) => report::run(args),
        #[cfg(feature = "milter")]
        Command::Simulate(args) => simulate::run(args),
        #[cfg(feature = "web")]
        Command::Web(args) => web::run(args),
    };
    status.into()
}
