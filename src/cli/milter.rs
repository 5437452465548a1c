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
    /// Permissions of a Unix socket, in octal: the MTA's user must be able
    /// to write to it (0660 with the milter in the MTA's group)
    #[arg(long, value_name = "MODE", default_value = "0660", value_parser = octal_mode)]
    socket_mode: u32,
}

fn octal_mode(text: &str) -> Result<u32, String> {
    u32::from_str_radix(text, 8)
        .ok()
        .filter(|mode| *mode <= 0o777)
        .ok_or_else(|| format!("`{text}` is not a mode such as 0660"))
}

pub fn run(args: MilterArgs) -> ExitStatus {
    let config = match load_config(args.config.as_deref()) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    match milter::serve(&args.listen, config, args.socket_mode) {
        Ok(()) => ExitStatus::Success,
        Err(e) => fail(e),
    }
}
