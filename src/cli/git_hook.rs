//! `maillint git-hook`: git send-email's sendemail-validate hook, and its
//! installer.

use super::{Color, ExitStatus, LintArgs, build_linter, fail, print_findings};
use clap::Args;
use maillint::input;
use maillint::linter::Linter;
use maillint::message::{Field, Message};
use maillint::sendmail;
use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct GitHookArgs {
    #[command(flatten)]
    lint: LintArgs,
    /// Write .git/hooks/sendemail-validate (or into core.hooksPath) to run this hook
    #[arg(long)]
    install: bool,
    /// The patch mail git is about to send
    #[arg(required_unless_present = "install")]
    patch: Option<PathBuf>,
    /// The file of SMTP envelope headers git passes (git 2.41 and later)
    envelope: Option<PathBuf>,
}

pub fn run(args: GitHookArgs) -> ExitStatus {
    let color = Color::Auto.enabled(io::stderr().is_terminal());
    if args.install {
        return install();
    }
    let linter = match build_linter(&args.lint) {
        Ok(l) => l,
        Err(e) => return fail(e),
    };
    let Some(patch) = args.patch else {
        return fail("no patch file given");
    };
    let source = patch.display().to_string();
    let mut message = match read_message(&patch, &linter) {
        Ok(m) => m,
        Err(e) => return fail(format!("{source}: {e}")),
    };
    if let Some(envelope) = &args.envelope {
        match read_message(envelope, &linter) {
            Ok(headers) => {
                for field in [Field::To, Field::Cc, Field::Bcc] {
                    let addrs: Vec<String> = headers
                        .addresses_in(field)
                        .map(|a| a.addr.to_string())
                        .collect();
                    if let Err(e) = message.add_recipients(field, &addrs) {
                        return fail(format!("{}: {e}", envelope.display()));
                    }
                }
            }
            Err(e) => return fail(format!("{}: {e}", envelope.display())),
        }
    }
    // git send-email gives each patch its Message-ID after this hook.
    let findings: Vec<_> = linter
        .check(&message)
        .into_iter()
        .filter(|f| {
            f.rule != "missing-header" || f.location.header.as_deref() != Some("Message-ID")
        })
        .collect();
    let blocking = sendmail::blocking(&findings, args.lint.fail_on);
    if !findings.is_empty() {
        print_findings(
            &source,
            &message,
            findings,
            linter.config(),
            color,
            &mut io::stderr(),
        );
    }
    if blocking > 0 {
        eprintln!(
            "maillint: not sending {source}: fix the findings above, or run git send-email --no-validate"
        );
        return ExitStatus::Findings;
    }
    ExitStatus::Success
}

fn read_message(path: &Path, linter: &Linter) -> Result<Message, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    input::parse_message(&bytes, &linter.config().input).map_err(|e| e.to_string())
}

/// Warnings stop the send too: git prints the hook's output as the mail
/// leaves, too late to act on. `git send-email --no-validate` overrides.
const GIT_HOOK: &str = "#!/bin/sh\n# Installed by `maillint git-hook --install`: check each patch mail before git send-email sends it.\n# A warning stops the send too; `git send-email --no-validate` sends despite it.\nexec maillint git-hook --fail-on warning \"$@\"\n";

fn install() -> ExitStatus {
    let hooks = match std::process::Command::new("git")
        .args(["rev-parse", "--git-path", "hooks"])
        .output()
    {
        Ok(out) if out.status.success() => {
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
        }
        Ok(out) => {
            return fail(format!(
                "not in a git repository: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Err(e) => return fail(format!("cannot run git: {e}")),
    };
    let path = hooks.join("sendemail-validate");
    if path.exists() {
        return fail(format!(
            "{} already exists; add `maillint git-hook \"$@\"` to it by hand",
            path.display()
        ));
    }
    let written = std::fs::create_dir_all(&hooks).and_then(|()| std::fs::write(&path, GIT_HOOK));
    if let Err(e) = written {
        return fail(format!("cannot write {}: {e}", path.display()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Err(e) = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)) {
            return fail(format!("cannot make {} executable: {e}", path.display()));
        }
    }
    println!("installed {}", path.display());
    if let Some((major, minor)) = git_version().filter(|&v| v < HOOK_SEES_ENVELOPE_SINCE) {
        eprintln!(
            "maillint: note: git {major}.{minor} gives the hook the patch only, so recipients given to git send-email (--to, --cc) are not checked; to check them, also run: git config sendemail.sendmailCmd \"maillint sendmail --\""
        );
    }
    ExitStatus::Success
}

/// git passes the hook the SMTP envelope from 2.41 on.
const HOOK_SEES_ENVELOPE_SINCE: (u32, u32) = (2, 41);

/// `git --version`'s major and minor numbers.
fn git_version() -> Option<(u32, u32)> {
    let out = std::process::Command::new("git")
        .arg("--version")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut numbers = text.split_whitespace().nth(2)?.split('.');
    Some((numbers.next()?.parse().ok()?, numbers.next()?.parse().ok()?))
}
