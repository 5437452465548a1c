//! `maillint web`: the held-mail page (see `maillint::web`), and the
//! administrator's tools beside it: the audit log as JSON lines, a
//! password's hash for `[web.admins]`.

use super::{ExitStatus, fail, load_config};
use clap::Args;
use std::io::{BufRead, Write};
use std::path::PathBuf;

#[derive(Args)]
pub struct WebArgs {
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print the audit log as JSON lines, oldest first, and exit
    #[arg(long, conflicts_with = "hash_password")]
    export_audit: bool,
    /// Read a password on stdin and print its argon2 hash for [web.admins], then exit
    #[arg(long)]
    hash_password: bool,
}

pub fn run(args: WebArgs) -> ExitStatus {
    if args.hash_password {
        let mut password = String::new();
        if let Err(e) = std::io::stdin().lock().read_line(&mut password) {
            return fail(format!("cannot read the password: {e}"));
        }
        let password = password.trim_end_matches(['\r', '\n']);
        if password.is_empty() {
            return fail("the password is empty");
        }
        return match maillint::web::hash_password(password) {
            Ok(hash) => {
                println!("{hash}");
                ExitStatus::Success
            }
            Err(e) => fail(e),
        };
    }
    let config = match load_config(args.config.as_deref()) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    if args.export_audit {
        let lines = maillint::hold::open_store(&config.hold, None)
            .and_then(|store| maillint::web::audit_json_lines(&*store));
        return match lines {
            Ok(lines) => {
                let mut out = std::io::stdout().lock();
                match out.write_all(lines.as_bytes()).and_then(|()| out.flush()) {
                    Ok(()) => ExitStatus::Success,
                    Err(e) => fail(e),
                }
            }
            Err(e) => fail(e),
        };
    }
    let store = match &config.hold.shared {
        Some(url) => format!(
            "{} shared as gateway {}",
            maillint::redis_pool::without_password(url),
            config.hold.gateway
        ),
        None => config.hold.store.display().to_string(),
    };
    eprintln!(
        "maillint web: listening on http://{} (the page for {}), held mail in {store}",
        config.web.listen, config.hold.url,
    );
    match maillint::web::serve(&config, |line| eprintln!("{line}")) {
        Ok(()) => ExitStatus::Success,
        Err(e) => fail(e),
    }
}
