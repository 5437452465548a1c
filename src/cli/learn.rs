//! `maillint learn`: the index of the user's sent mail the history rules read.

use super::{ExitStatus, fail, load_config};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use maillint::history::{self, LearnSummary, Learned};
use maillint::numbers::{plural, thousands};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct LearnArgs {
    /// Sent mail to learn from; messages learned before are skipped
    #[arg(required_unless_present_any = ["forget", "forget_sender"])]
    paths: Vec<String>,
    /// Remove everything the index knows about this address (from every
    /// sender's history)
    #[arg(long, value_name = "ADDRESS", conflicts_with_all = ["paths", "forget_sender"])]
    forget: Option<String>,
    /// Learn into one sender's history at a gateway: the SMTP login, or
    /// the sender's address
    #[arg(long, value_name = "KEY", conflicts_with = "journal")]
    sender: Option<String>,
    /// Learn a journal or archive of many senders' mail: each message into
    /// the history of the address in its From
    #[arg(long)]
    journal: bool,
    /// Remove one sender's whole history (KEY as for --sender)
    #[arg(long, value_name = "KEY", conflicts_with = "paths")]
    forget_sender: Option<String>,
    /// The index (default: [history] index, else $XDG_DATA_HOME/maillint/history.sqlite)
    #[arg(long, value_name = "FILE")]
    index: Option<PathBuf>,
    #[arg(long, value_name = "FILE", help = super::CONFIG_HELP)]
    config: Option<PathBuf>,
}

pub fn run(args: LearnArgs) -> ExitStatus {
    let config = match load_config(args.config.as_deref()) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let Some(index) = args.index.or_else(|| history::index_path(&config)) else {
        return fail("no place for the index (set HOME or XDG_DATA_HOME, or [history] index)");
    };
    let whose = match (args.sender, args.journal) {
        (Some(sender), _) => history::Whose::Sender(sender_key(&sender)),
        (None, true) => history::Whose::Journal,
        (None, false) => history::Whose::Personal,
    };
    let forget = match (args.forget, args.forget_sender) {
        (Some(addr), _) => Some(history::Forget::Address(addr)),
        (None, Some(sender)) => Some(history::Forget::Sender(sender_key(&sender))),
        (None, None) => None,
    };
    let bar = ProgressBar::with_draw_target(
        None,
        if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    bar.set_style(
        ProgressStyle::with_template("{spinner} {human_pos} messages read in {elapsed} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let learned = history::learn_or_forget(
        &config,
        &args.paths,
        &whose,
        forget.as_ref(),
        &index,
        &|s| {
            bar.inc(1);
            if s.known > 0 {
                bar.set_message(format!("{} already learned", s.known));
            }
        },
    );
    bar.finish_and_clear();
    match learned {
        Ok(Learned::Paths(summary)) => {
            print_summary(&summary, &index);
            ExitStatus::Success
        }
        Ok(Learned::Forgot(what, known)) => {
            if known {
                println!("forgot {what}");
            } else {
                println!("{what} was not in the index");
            }
            // Even when this index did not have it: another gateway may.
            match forget
                .as_ref()
                .map(|f| forget_everywhere(&config, &index, f))
            {
                Some(Ok(Some(said))) => println!("{said}"),
                Some(Err(e)) => return fail(e),
                Some(Ok(None)) | None => {}
            }
            ExitStatus::Success
        }
        Err(e) => fail(e),
    }
}

/// With `[history] shared`: the other gateways forget it too, and Redis
/// no longer holds the records that named it. Says what it did.
#[cfg(feature = "milter")]
fn forget_everywhere(
    config: &maillint::config::Config,
    index: &Path,
    forget: &history::Forget,
) -> Result<Option<String>, String> {
    use maillint::milter::share::Sharing;
    let Some(sharing) = Sharing::new(&config.history)? else {
        return Ok(None);
    };
    let history = history::open_to_learn(config, index)?;
    let record = match forget {
        history::Forget::Address(addr) => history::Shared::forget_address(&history, addr),
        history::Forget::Sender(key) => history::Shared::forget_sender(&history, key),
    };
    let deleted = sharing.forget(&record).map_err(|e| {
        format!("{e}: forgotten in this index only; run it again when Redis answers, for the other gateways")
    })?;
    Ok(Some(format!(
        "the other gateways sharing the history forget it too; {} deleted from Redis",
        plural(
            deleted,
            "record that named it was",
            "records that named it were"
        )
    )))
}

/// Without the gateway there is nothing shared to forget in.
#[cfg(not(feature = "milter"))]
fn forget_everywhere(
    _: &maillint::config::Config,
    _: &Path,
    _: &history::Forget,
) -> Result<Option<String>, String> {
    Ok(None)
}

/// What could not be read, on stderr, then what was learned.
fn print_summary(summary: &LearnSummary, index: &Path) {
    for error in &summary.errors {
        eprintln!("maillint: error: {}", maillint::guard::one_line(error));
    }
    println!(
        "learned {} into {}{}; read {}",
        plural(summary.learned, "message", "messages"),
        index.display(),
        if summary.known > 0 {
            format!(" ({} already learned)", thousands(summary.known))
        } else {
            String::new()
        },
        plural(summary.read, "message", "messages"),
    );
}

/// A sender given on the command line, keyed as the gateway keys it: an
/// address as the envelope sender, anything else as an SMTP login.
fn sender_key(given: &str) -> String {
    if given.contains('@') && !given.starts_with("login:") {
        history::sender_key(None, given)
    } else {
        history::sender_key(Some(given.trim_start_matches("login:")), "")
    }
}
