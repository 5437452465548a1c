//! `maillint sendmail`: check the message on stdin, then hand it to the
//! real sendmail, or hold it (and ask first with `--confirm`). The message
//! is never lost: every way out that does not send it keeps a copy.

use super::{Color, LintArgs, build_linter, load_config, print_findings};
use clap::Args;
use maillint::config::Config;
use maillint::finding::Finding;
use maillint::held::{self, Held, Why};
use maillint::linter::Linter;
use maillint::message::{Field, Message};
use maillint::sendmail::{self, Delivery, Envelope, exit};
use maillint::{guard, input};
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufRead, IsTerminal, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

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
        subject: None,
        recipients: Vec::new(),
    };
    if let Err(e) = read {
        // Whatever arrived is still worth keeping, where the user keeps it.
        let hold = hold.in_dir(configured_held_dir(args.lint.config.as_deref()));
        return hold.refuse(
            exit::TEMPFAIL,
            &format!("cannot read the message: {e}"),
            &[],
        );
    }
    // Whatever goes wrong inside maillint, the message is kept.
    guard::catch_panic(|| check_and_send(args, &hold, color)).unwrap_or_else(|panic| {
        hold.refuse(exit::TEMPFAIL, &format!("internal error ({panic})"), &[])
    })
}

/// `maillint sendmail` with arguments it cannot parse (`maillint sendmail
/// -oi -t`, the `--` forgotten): the message on standard input is kept all
/// the same, and the exit status is EX_USAGE (64). From a terminal nothing
/// is read: there is no message to keep, and reading would wait for one.
pub fn run_after_usage_error(error: &clap::Error) -> i32 {
    // The terminal may be gone; the exit status still says it.
    let _ = error.print();
    if io::stdin().is_terminal() {
        return exit::USAGE;
    }
    let resend = Resend::this_command();
    let mut raw = Vec::new();
    let read = io::stdin().lock().read_to_end(&mut raw);
    let explicit = config_argument(&resend.command);
    let hold = Hold {
        raw: &raw,
        resend: &resend,
        dir: configured_held_dir(explicit.as_deref()),
        subject: None,
        recipients: Vec::new(),
    };
    let reason = match read {
        Ok(_) => {
            "the command line is wrong (above); sendmail's own options go after `--`".to_string()
        }
        Err(e) => format!(
            "the command line is wrong (above), and the message could not be read whole: {e}"
        ),
    };
    hold.refuse(exit::USAGE, &reason, &[])
}

/// `--config FILE` or `--config=FILE` among maillint's own arguments
/// (before `--`), read without the parser that refused them.
fn config_argument(command: &[OsString]) -> Option<PathBuf> {
    let mut words = command.iter().skip(1).take_while(|w| *w != "--");
    while let Some(word) = words.next() {
        if word == "--config" {
            return words.next().map(PathBuf::from);
        }
        if let Some(path) = word.to_str().and_then(|w| w.strip_prefix("--config=")) {
            return Some(PathBuf::from(path));
        }
    }
    None
}

/// `[sendmail] held_dir` of the configuration, when it can be read: for
/// failures before the configuration is otherwise needed.
fn configured_held_dir(explicit: Option<&Path>) -> Option<PathBuf> {
    load_config(explicit)
        .ok()?
        .sendmail_settings()
        .ok()?
        .held_dir
}

fn check_and_send(args: SendmailArgs, hold: &Hold, color: bool) -> i32 {
    let linter = match build_linter(&args.lint) {
        Ok(l) => l,
        Err(e) => {
            let hold = hold.in_dir(configured_held_dir(args.lint.config.as_deref()));
            return hold.refuse(exit::CONFIG, &e, &[]);
        }
    };
    let settings = match linter.config().sendmail_settings() {
        Ok(settings) => settings,
        Err(e) => return hold.refuse(exit::CONFIG, &e.to_string(), &[]),
    };
    let envelope = Envelope::parse(&args.args);
    let mut hold = hold.in_dir(settings.held_dir);
    hold.recipients.clone_from(&envelope.recipients);
    if linter.config().organization.domains.is_empty() {
        eprintln!(
            "maillint: note: no [organization] domains are configured, so only the sender's own domain is internal; set yours with `maillint init --user --domain example.org`"
        );
    }
    let message = match message_with_envelope(hold.raw, &linter, &envelope) {
        Ok(m) => m,
        Err(e) => return hold.refuse(exit::DATAERR, &e, &[]),
    };
    hold.subject.clone_from(&message.subject);

    let findings = linter.check(&message);
    let blocking = sendmail::blocking(&findings, args.lint.fail_on);
    let config = linter.config();
    // Asked on the terminal, and answered yes: shown there already.
    let confirmed =
        blocking > 0 && args.confirm && confirm_on_tty(&message, &findings, config, color);
    if !findings.is_empty() && !confirmed {
        // Below the threshold they are shown, and the message is sent.
        let stderr = &mut io::stderr();
        print_findings("message", &message, findings.clone(), config, color, stderr);
    }
    if blocking > 0 && !confirmed {
        let reason = format!(
            "{} at or above --fail-on {}",
            if blocking == 1 {
                "1 finding".to_string()
            } else {
                format!("{blocking} findings")
            },
            args.lint.fail_on.as_str()
        );
        return hold.refuse(exit::DATAERR, &reason, &findings);
    }

    let path = args
        .sendmail
        .or(settings.path)
        .unwrap_or_else(|| PathBuf::from(sendmail::DEFAULT_SENDMAIL));
    if is_this_program(&path) {
        return hold.refuse(
            exit::CONFIG,
            &format!(
                "{} is maillint itself; set [sendmail] path to the real sendmail",
                path.display()
            ),
            &findings,
        );
    }
    let timeout = settings
        .timeout
        .map_or(sendmail::DEFAULT_TIMEOUT, Duration::from_secs);
    let (copy, file) = match hold.hand_over_file(&path, &findings) {
        Ok(handed) => handed,
        Err(e) => return e,
    };
    match sendmail::deliver(&path, &args.args, file, hold.raw.len() as u64, timeout) {
        Delivery::Exited(0) => {
            if let Some(copy) = copy
                && let Err(e) = copy.release()
            {
                eprintln!(
                    "maillint: the message was sent, but its copy {} could not be removed ({e}): do not send it again",
                    copy.eml.display()
                );
            }
            #[cfg(feature = "history")]
            if let Err(warning) = maillint::history::learn_sent(linter.config(), &message, hold.raw)
            {
                eprintln!("maillint: warning: {warning}");
            }
            0
        }
        Delivery::Exited(code) => hold.settle(
            copy,
            code,
            Outcome::NotSent,
            &format!("{} refused it (exit status {code})", path.display()),
            &findings,
        ),
        Delivery::NotStarted(e) => {
            hold.settle(copy, exit::UNAVAILABLE, Outcome::NotSent, &e, &findings)
        }
        Delivery::Failed(e) => hold.settle(copy, exit::TEMPFAIL, Outcome::Unknown, &e, &findings),
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

/// Whether a message that did not go through was surely not sent.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    NotSent,
    /// The real sendmail was killed, stopped or read only part of it: it
    /// may have been sent.
    Unknown,
}

impl Outcome {
    fn says(self) -> &'static str {
        match self {
            Outcome::NotSent => "message not sent",
            Outcome::Unknown => "message may or may not have been sent",
        }
    }
}

/// A message on its way: kept as held mail until the real sendmail has
/// taken it whole, and kept for good when it may not go.
struct Hold<'a> {
    raw: &'a [u8],
    resend: &'a Resend,
    /// The configured place for held messages, once the configuration is
    /// read; else the default.
    dir: Option<PathBuf>,
    subject: Option<String>,
    /// Recipients given only on the command line.
    recipients: Vec<String>,
}

impl<'a> Hold<'a> {
    fn in_dir(&self, dir: Option<PathBuf>) -> Hold<'a> {
        Hold {
            raw: self.raw,
            resend: self.resend,
            dir,
            subject: self.subject.clone(),
            recipients: self.recipients.clone(),
        }
    }

    fn why(&self, maybe_sent: bool, reason: &str, findings: &[Finding]) -> Why {
        Why {
            maybe_sent,
            reason: reason.to_string(),
            recipients: self.recipients.clone(),
            findings: findings
                .iter()
                .filter(|f| !f.suppressed)
                .map(|f| format!("{}[{}] {}", f.severity, f.rule, f.message))
                .collect(),
        }
    }

    /// Keeps the message with `why`: in the held copy a `.resend` script is
    /// sending again, else as a new one. `Err` says where it could not.
    fn keep(&self, why: &Why, durable: bool) -> Result<Held, String> {
        let Some(dir) = self.dir.clone().or_else(held::default_dir) else {
            return Err("there is no place to keep a copy (set HOME or XDG_STATE_HOME)".into());
        };
        let kept = match Held::from_env(&dir) {
            Some(copy) => {
                let same = std::fs::read(&copy.eml).is_ok_and(|kept| kept == self.raw);
                let rewritten = if same { Ok(()) } else { copy.rewrite(self.raw) };
                rewritten.and_then(|()| copy.set_why(why)).map(|()| copy)
            }
            None => held::hold(
                &dir,
                &held::Copy {
                    raw: self.raw,
                    command: &self.resend.command,
                    cwd: self.resend.cwd.as_deref(),
                    subject: self.subject.as_deref(),
                    why,
                    durable,
                },
            ),
        };
        kept.map_err(|e| format!("no copy of it could be kept in {}: {e}", dir.display()))
    }

    /// The message is not sent: says why, keeps it, says where, in one
    /// sentence when even that fails.
    fn refuse(&self, code: i32, reason: &str, findings: &[Finding]) -> i32 {
        self.settle(None, code, Outcome::NotSent, reason, findings)
    }

    /// Records how the message ended in its copy (kept now if it was not
    /// before), and says so.
    fn settle(
        &self,
        copy: Option<Held>,
        code: i32,
        outcome: Outcome,
        reason: &str,
        findings: &[Finding],
    ) -> i32 {
        let why = self.why(outcome == Outcome::Unknown, reason, findings);
        let kept = match copy {
            Some(copy) => copy
                .make_durable()
                .and_then(|()| copy.set_why(&why))
                .map(|()| copy)
                .map_err(|e| format!("its copy could not be kept: {e}")),
            None => self.keep(&why, true),
        };
        match kept {
            Ok(copy) => {
                eprintln!("maillint: {}: {reason}", outcome.says());
                announce(&copy);
                code
            }
            Err(no_copy) => {
                let says = match outcome {
                    Outcome::NotSent => "message NOT sent",
                    Outcome::Unknown => outcome.says(),
                };
                eprintln!("maillint: {says} ({reason}), and {no_copy}");
                exit::CANTCREAT
            }
        }
    }

    /// The file the real sendmail reads: the held copy, kept before it is
    /// handed over and removed once it is taken whole, so a maillint
    /// stopped meanwhile leaves the message kept. If it cannot be kept, a
    /// private temporary file; if not even that, the message is not sent.
    fn hand_over_file(
        &self,
        sendmail: &Path,
        findings: &[Finding],
    ) -> Result<(Option<Held>, File), i32> {
        let why = self.why(
            true,
            &format!(
                "handed to {}; maillint stopped before it learnt whether the message was sent",
                sendmail.display()
            ),
            findings,
        );
        let kept = self.keep(&why, false);
        if let Ok(copy) = &kept
            && let Ok(file) = File::open(&copy.eml)
        {
            return Ok((kept.ok(), file));
        }
        let temporary = tempfile::tempfile().and_then(|mut file| {
            file.write_all(self.raw)?;
            file.rewind()?;
            Ok(file)
        });
        match temporary {
            Ok(file) => Ok((None, file)),
            Err(e) => {
                let no_copy = kept
                    .err()
                    .unwrap_or_else(|| "its copy could not be read".into());
                eprintln!(
                    "maillint: message NOT sent (no file could be written to hand it over: {e}), and {no_copy}"
                );
                Err(exit::CANTCREAT)
            }
        }
    }
}

/// Where a held message is, and how to send it again.
fn announce(copy: &Held) {
    eprintln!(
        "maillint: a copy of the message is kept in {}",
        copy.eml.display()
    );
    eprintln!(
        "maillint: to send it again (checked again): maillint held resend {} (or: sh {})",
        copy.name(),
        copy.resend().display()
    );
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
