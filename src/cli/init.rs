//! `maillint init`: a commented starter maillint.toml, for a project, or
//! (`--user`) as the user's own configuration.

use super::{ExitStatus, fail};
use clap::Args;
use std::io::Write;
use std::path::PathBuf;

#[derive(Args)]
pub struct InitArgs {
    /// The organisation's domain (default: the domain of `git config user.email`)
    #[arg(long)]
    domain: Option<String>,
    /// Write your own configuration ($XDG_CONFIG_HOME/maillint/config.toml), which every project's maillint.toml is layered over, instead of ./maillint.toml
    #[arg(long)]
    user: bool,
    /// Replace the file if it exists
    #[arg(long)]
    force: bool,
}

pub fn run(args: InitArgs) -> ExitStatus {
    let path = if args.user {
        match maillint::config::user_file_path() {
            Some(path) => path,
            None => return fail("no place for your configuration (set HOME or XDG_CONFIG_HOME)"),
        }
    } else {
        PathBuf::from(maillint::config::FILE_NAME)
    };
    if path.exists() && !args.force {
        return fail(format!(
            "{} already exists; not overwriting it (--force replaces it)",
            path.display()
        ));
    }
    let domain = args.domain.or_else(git_email_domain);
    let text = match maillint::config::starter(domain.as_deref()) {
        Ok(text) => text,
        Err(reason) => return fail(format!("--domain: {reason}")),
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if args.force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let created = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| options.open(&path))
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
