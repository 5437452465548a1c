//! `maillint learn`: the index of the user's sent mail the history rules read.

use super::{ExitStatus, fail, load_config};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use maillint::history::{self, LearnSummary};
use maillint::numbers::{plural, thousands};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct LearnArgs {
    /// Sent mail to learn from; messages learned before are skipped
    #[arg(required_unless_present = "forget")]
    paths: Vec<String>,
    /// Remove everything the index knows about this address
    #[arg(long, value_name = "ADDRESS", conflicts_with = "paths")]
    forget: Option<String>,
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
    if let Some(addr) = args.forget {
        return match history::forget(&index, &addr) {
            Ok(true) => {
                println!("forgot {addr}");
                ExitStatus::Success
            }
            Ok(false) => {
                println!("{addr} was not in the index");
                ExitStatus::Success
            }
            Err(e) => fail(e),
        };
    }
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
    let learned = history::learn_paths(&config.input, &args.paths, &index, &|s| {
        bar.inc(1);
        if s.known > 0 {
            bar.set_message(format!("{} already learned", s.known));
        }
    });
    bar.finish_and_clear();
    match learned {
        Ok(summary) => {
            print_summary(&summary, &index);
            ExitStatus::Success
        }
        Err(e) => fail(e),
    }
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
