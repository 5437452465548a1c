//! `maillint init`: a commented starter maillint.toml.

use super::{ExitStatus, fail};
use clap::Args;
use std::io::Write;
use std::path::Path;

#[derive(Args)]
pub struct InitArgs {
    /// The organisation's domain (default: the domain of `git config user.email`)
    #[arg(long)]
    domain: Option<String>,
}

pub fn run(args: InitArgs) -> ExitStatus {
    let path = Path::new(maillint::config::FILE_NAME);
    if path.exists() {
        return fail(format!(
            "{} already exists; not overwriting it",
            path.display()
        ));
    }
    let domain = args.domain.or_else(git_email_domain);
    let text = match maillint::config::starter(domain.as_deref()) {
        Ok(text) => text,
        Err(reason) => return fail(format!("--domain: {reason}")),
    };
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    if let Err(e) = created {
        return fail(format!("cannot write {}: {e}", path.display()));
    }
    match domain {
        Some(d) => println!("wrote {} for the organisation {d}", path.display()),
        None => println!("wrote {}; set [organization] domains in it", path.display()),
    }
    ExitStatus::Success
}

/// The domain of the user's git email, a good guess at their organisation.
fn git_email_domain() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["config", "user.email"])
        .output()
        .ok()?;
    let email = String::from_utf8(out.stdout).ok()?;
    let domain = email.trim().rsplit_once('@')?.1;
    maillint::config::domain_name(domain).ok()
}
