//! `maillint milter`: the gateway, a milter for Postfix and Sendmail.

use super::{ExitStatus, fail, load_config};
use clap::Args;
use maillint::milter::{self, Listen};
use std::path::PathBuf;

#[derive(Args)]
pub struct MilterArgs {
    /// Where to listen: inet:HOST:PORT or unix:PATH
    #[arg(long, value_name = "SOCKET")]
    listen: Listen,
    #[arg(long, value_name = "FILE", help = super::CONFIG_HELP)]
    config: Option<PathBuf>,
}

pub fn run(args: MilterArgs) -> ExitStatus {
    let config = match load_config(args.config.as_deref()) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    match milter::serve(&args.listen, config) {
        Ok(()) => ExitStatus::Success,
        Err(e) => fail(e),
    }
}
