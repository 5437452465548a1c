//! `maillint sendmail`: check the message on stdin, then hand it to the
//! real sendmail, or hold it (and ask first with `--confirm`). The message
//! is never lost: every way out that does not send it keeps a copy.

use super::{Color, LintArgs, build_linter, print_findings};
use clap::Args;
use maillint::config::Config;
use maillint::finding::Finding;
use maillint::linter::Linter;
use maillint::message::{Field, Message};
use maillint::sendmail::{self, Delivery, Envelope, exit};
use maillint::{guard, input};
use std::ffi::OsString;
use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

/// Invoked under one of these names (a symlink, or a client such as s-nail
/// that sets argv[0] to `sendmail`), maillint is `maillint sendmail --`:
/// for clients that take only a program path.
const SENDMAIL_NAMES: &[&str] = &["maillint-sendmail", "sendmail"];

#[derive(Args)]
pub struct SendmailArgs {
    #[command(flatten)]
    lint: LintArgs,
    /// The real sendmail (default: [sendmail] path in the config, else in the user config, else /usr/sbin/sendmail)
    #[arg(long, value_name = "PATH")]
    sendmail: Option<PathBuf>,
    /// Ask on the terminal ("Send anyway?") instead of blocking, when there is one
    #[arg(long)]
    confirm: bool,
    /// The sendmail arguments, after `--`, passed on unchanged
    #[arg(last = true, allow_hyphen_values = true)]
    args: Vec<OsString>,
}

/// Whether the program was invoked under a sendmail name.
pub fn invoked_as_sendmail() -> bool {
    std::env::args_os()
        .next()
        .map(PathBuf::from)
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .is_some_and(|name| SENDMAIL_NAMES.contains(&name.as_str()))
}

/// `maillint sendmail -- ARGS` with the defaults, for a program invoked as
/// sendmail: every argument is the real sendmail's, passed on as bytes
/// (a Latin-1 `-F` full name is not UTF-8).
pub fn run_as_sendmail() -> i32 {
    run(SendmailArgs {
        lint: LintArgs::default(),
        sendmail: None,
        confirm: false,
        args: std::env::args_os().skip(1).collect(),
    })
}

/// How to send a held message again: this very command, from here.
struct Resend {
    command: Vec<OsString>,
    cwd: Option<PathBuf>,
}

impl Resend {
    /// Invoked as sendmail, the same as `maillint sendmail -- ARGS`.
    fn this_command() -> Resend {
        let exe =
            std::env::current_exe().map_or_else(|_| "maillint".into(), PathBuf::into_os_string);
        let mut command = vec![exe];
        if invoked_as_sendmail() {
            command.extend(["sendmail".into(), "--".into()]);
        }
        command.extend(std::env::args_os().skip(1));
        Resend {
            command,
            cwd: std::env::current_dir().ok(),
        }
    }
}

pub fn run(args: SendmailArgs) -> i32 {
    let color = Color::Auto.enabled(io::stderr().is_terminal());
    let resend = Resend::this_command();
    let mut raw = Vec::new();
    let read = io::stdin().lock().read_to_end(&mut raw);
    let hold = Hold {
        raw: &raw,
        resend: &resend,
        dir: None,
    };
    if let Err(e) = read {
        // Whatever arrived is still worth keeping.
        return hold.report(exit::TEMPFAIL, &format!("cannot read the message: {e}"));
    }
    // Whatever goes wrong inside maillint, the message is kept.
    guard::catch_panic(|| check_and_send(args, &hold, color)).unwrap_or_else(|panic| {
        hold.report(
            exit::TEMPFAIL,
            &format!("message not sent: internal error ({panic})"),
        )
    })
}

fn check_and_send(args: SendmailArgs, hold: &Hold, color: bool) -> i32 {
    let linter = match build_linter(&args.lint) {
        Ok(l) => l,
        Err(e) => return hold.report(exit::CONFIG, &e),
    };
    let settings = match linter.config().sendmail_settings() {
        Ok(settings) => settings,
        Err(e) => return hold.report(exit::CONFIG, &e.to_string()),
    };
    let hold = hold.in_dir(settings.held_dir);
    let envelope = Envelope::parse(&args.args);
    let message = match message_with_envelope(hold.raw, &linter, &envelope) {
        Ok(m) => m,
        Err(e) => return hold.report(exit::DATAERR, &format!("message not sent: {e}")),
    };

    let findings = linter.check(&message);
    let blocking = sendmail::blocking(&findings, args.lint.fail_on);
    let config = linter.config();
    if blocking > 0 {
        let confirmed = args.confirm && confirm_on_tty(&message, &findings, config, color);
        if !confirmed {
            let stderr = &mut io::stderr();
            print_findings("message", &message, findings, config, color, stderr);
            let reason = format!(
                "message not sent: {} at or above --fail-on",
                if blocking == 1 {
                    "1 finding".to_string()
                } else {
                    format!("{blocking} findings")
                }
            );
            return hold.report(exit::DATAERR, &reason);
        }
    } else if !findings.is_empty() {
        // Below the threshold: shown, and sent.
        let stderr = &mut io::stderr();
        print_findings("message", &message, findings, config, color, stderr);
    }

    let path = args
        .sendmail
        .or(settings.path)
        .unwrap_or_else(|| PathBuf::from(sendmail::DEFAULT_SENDMAIL));
    if is_this_program(&path) {
        return hold.report(
            exit::CONFIG,
            &format!(
                "{} is maillint itself; set [sendmail] path to the real sendmail",
                path.display()
            ),
        );
    }
    match sendmail::deliver(&path, &args.args, hold.raw) {
        Delivery::Exited(0) => {
            #[cfg(feature = "history")]
            if let Err(warning) = maillint::history::learn_sent(linter.config(), &message, hold.raw)
            {
                eprintln!("maillint: warning: {warning}");
            }
            0
        }
        Delivery::Exited(code) => code,
        Delivery::NotStarted(e) => {
            hold.report(exit::UNAVAILABLE, &format!("message not sent: {e}"))
        }
        Delivery::Failed(e) => hold.report(
            exit::TEMPFAIL,
            &format!("message may not have been sent: {e}"),
        ),
    }
}

/// The message as the rules judge it: parsed, from the envelope sender
/// when it names no sender (clients such as bsd-mailx and s-nail leave
/// From to the mail system), with the recipients only on the command line,
/// invisible to the others, as Bcc.
fn message_with_envelope(
    raw: &[u8],
    linter: &Linter,
    envelope: &Envelope,
) -> Result<Message, String> {
    let mut message =
        input::parse_message(raw, &linter.config().input).map_err(|e| e.to_string())?;
    if let Some(sender) = envelope.implied_sender() {
        message
            .add_missing_sender(&sender)
            .map_err(|e| e.to_string())?;
    }
    message
        .add_recipients(Field::Bcc, &envelope.recipients)
        .map_err(|e| e.to_string())?;
    Ok(message)
}

/// A message that may not be sent: kept, with how to send it again.
struct Hold<'a> {
    raw: &'a [u8],
    resend: &'a Resend,
    /// The configured place for held messages, once the configuration is
    /// read; else the default.
    dir: Option<PathBuf>,
}

impl<'a> Hold<'a> {
    fn in_dir(&self, dir: Option<PathBuf>) -> Hold<'a> {
        Hold {
            raw: self.raw,
            resend: self.resend,
            dir,
        }
    }

    /// Saves the message and how to resend it, and says where; if even that
    /// fails, says so plainly.
    fn report(&self, code: i32, reason: &str) -> i32 {
        eprintln!("maillint: {reason}");
        let Some(dir) = self.dir.clone().or_else(sendmail::default_held_dir) else {
            eprintln!(
                "maillint: no place to keep a copy (set HOME or XDG_STATE_HOME); the message was NOT sent"
            );
            return exit::CANTCREAT;
        };
        match sendmail::hold(
            &dir,
            self.raw,
            &self.resend.command,
            self.resend.cwd.as_deref(),
        ) {
            Ok(path) => {
                eprintln!(
                    "maillint: a copy of the message is kept in {}",
                    path.display()
                );
                eprintln!(
                    "maillint: to send it again with the same recipients (checked again): sh {}",
                    sendmail::resend_path(&path).display()
                );
                code
            }
            Err(e) => {
                eprintln!(
                    "maillint: cannot keep a copy in {}: {e}; the message was NOT sent",
                    dir.display()
                );
                exit::CANTCREAT
            }
        }
    }
}

fn is_this_program(path: &Path) -> bool {
    match (
        std::env::current_exe().and_then(|p| p.canonicalize()),
        path.canonicalize(),
    ) {
        (Ok(me), Ok(target)) => me == target,
        _ => false,
    }
}

/// Shows the findings on the terminal and asks. No terminal: no.
fn confirm_on_tty(message: &Message, findings: &[Finding], config: &Config, color: bool) -> bool {
    let Ok(tty) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
    else {
        return false;
    };
    let Ok(mut writer) = tty.try_clone() else {
        return false;
    };
    print_findings(
        "message",
        message,
        findings.to_vec(),
        config,
        color,
        &mut writer,
    );
    if write!(writer, "Send anyway? [y/N] ")
        .and_then(|()| writer.flush())
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    if io::BufReader::new(tty).read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim(), "y" | "Y" | "yes" | "Yes")
}
