//! `maillint learn`: the index of the user's sent mail the history rules read.

use super::{ExitStatus, fail, load_config};
use clap::Args;
use maillint::history;
use std::path::PathBuf;

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
    match history::learn_or_forget(&config, &args.paths, args.forget.as_deref(), &index) {
        Ok(()) => ExitStatus::Success,
        Err(e) => fail(e),
    }
}
