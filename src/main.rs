//! The `maillint` command line: parses the arguments and hands them to the
//! subcommand's file under `cli/`.

mod cli;

use clap::{CommandFactory, Parser, Subcommand};
#[cfg(feature = "history")]
use cli::learn;
#[cfg(feature = "milter")]
use cli::milter;
use cli::{ExitStatus, check, explain, git_hook, init, man, rules, sendmail};
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
}

fn main() -> ExitCode {
    // A panic in the parser is reported as that input's one-line error.
    maillint::guard::quiet_caught_panics();
    if sendmail::invoked_as_sendmail() {
        return ExitStatus::Sendmail(sendmail::run_as_sendmail()).into();
    }
    let status = match Cli::parse().command {
        Command::Check(args) => check::run(args),
        Command::Sendmail(args) => ExitStatus::Sendmail(sendmail::run(args)),
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
    };
    status.into()
}
