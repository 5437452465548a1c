//! `maillint sendmail`: a drop-in sendmail that checks a message on its way
//! out. A good message goes to the real sendmail with the same arguments and
//! the same bytes; a bad one is held, and nothing the user wrote is lost.

use crate::finding::Finding;
use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::Seek;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// sysexits(3) codes, which mail clients understand.
pub mod exit {
    /// The command line was wrong.
    pub const USAGE: i32 = 64;
    /// The message was refused for its content.
    pub const DATAERR: i32 = 65;
    /// The real sendmail could not be run.
    pub const UNAVAILABLE: i32 = 69;
    /// The held copy could not be written.
    pub const CANTCREAT: i32 = 73;
    /// Sending failed in a way worth retrying.
    pub const TEMPFAIL: i32 = 75;
    /// The configuration is broken.
    pub const CONFIG: i32 = 78;
}

pub const DEFAULT_SENDMAIL: &str = "/usr/sbin/sendmail";

/// Sendmail options that take a value in the next argument when it is not
/// attached (`-f sender`, `-F "Full Name"`, ...), as Sendmail and Postfix
/// define them.
const OPTIONS_WITH_VALUE: &[&str] = &[
    "-f", "-F", "-r", "-B", "-N", "-R", "-V", "-X", "-C", "-O", "-h", "-L", "-p", "-q",
];

/// What the sendmail arguments say about sender and recipients.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Envelope {
    /// `-f` or `-r`: the envelope sender.
    pub sender: Option<String>,
    /// `-t`: recipients are read from the To, Cc and Bcc headers.
    pub from_headers: bool,
    /// Recipients named on the command line.
    pub recipients: Vec<String>,
}

impl Envelope {
    /// Reads the arguments as given, which need not be UTF-8 (a Latin-1
    /// `-F` full name); a recipient that is not is read with U+FFFD in
    /// place of its bad bytes, which no address allows.
    pub fn parse<S: AsRef<OsStr>>(args: &[S]) -> Envelope {
        let text = |arg: &OsStr| arg.to_string_lossy().into_owned();
        let mut envelope = Envelope::default();
        let mut args = args.iter().map(AsRef::as_ref);
        while let Some(arg) = args.next() {
            if arg == "--" {
                envelope.recipients.extend(args.by_ref().map(text));
                break;
            }
            if arg == "-t" {
                envelope.from_headers = true;
            } else if arg == "-f" || arg == "-r" {
                envelope.sender = args.next().map(text);
            } else if let Some(sender) = arg
                .to_str()
                .and_then(|a| a.strip_prefix("-f").or_else(|| a.strip_prefix("-r")))
            {
                envelope.sender = Some(sender.to_string());
            } else if OPTIONS_WITH_VALUE.iter().any(|o| arg == *o) {
                args.next();
            } else if !arg.as_encoded_bytes().starts_with(b"-") {
                envelope.recipients.push(text(arg));
            }
        }
        envelope
    }

    /// Whom the mail system makes the message from when it has no From
    /// header: the envelope sender, else the local user (see
    /// [`local_address`]). `None` for the null sender (`-f ''`, `-f '<>'`).
    pub fn implied_sender(&self) -> Option<String> {
        match &self.sender {
            Some(sender) => {
                let sender = sender.trim().trim_start_matches('<').trim_end_matches('>');
                (!sender.is_empty()).then(|| sender.to_string())
            }
            None => local_address(),
        }
    }
}

/// The local user's mail address as the mail system makes it: the user's
/// name (from the password file, as Postfix takes it; else `$LOGNAME` or
/// `$USER`) @ the mail name (`/etc/mailname`, which Debian's MTAs use),
/// else @ the host name, qualified with `.localdomain` when it has no dot,
/// as Postfix does.
pub fn local_address() -> Option<String> {
    let user = passwd_name().or_else(|| {
        ["LOGNAME", "USER"]
            .iter()
            .filter_map(std::env::var_os)
            .map(|v| v.to_string_lossy().trim().to_string())
            .find(|v| !v.is_empty())
    })?;
    let host = [
        "/etc/mailname",
        "/proc/sys/kernel/hostname",
        "/etc/hostname",
    ]
    .iter()
    .filter_map(|p| fs::read_to_string(p).ok())
    .filter_map(|text| text.lines().next().map(|l| l.trim().to_string()))
    .find(|h| !h.is_empty())?;
    if host.contains('.') {
        Some(format!("{user}@{host}"))
    } else {
        Some(format!("{user}@{host}.localdomain"))
    }
}

/// The name of this process's user in `/etc/passwd` (Linux).
#[cfg(unix)]
fn passwd_name() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let uid = fs::metadata("/proc/self").ok()?.uid().to_string();
    fs::read_to_string("/etc/passwd")
        .ok()?
        .lines()
        .find_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            (fields.nth(1)? == uid).then(|| name.to_string())
        })
}

#[cfg(not(unix))]
fn passwd_name() -> Option<String> {
    None
}

/// How handing the message to the real sendmail ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery {
    /// It ran to the end, and read the whole message; its exit code is ours.
    Exited(i32),
    /// It could not be started.
    NotStarted(String),
    /// It was killed, did not read the whole message, or did not finish in
    /// time: not sent, or not known to be.
    Failed(String),
}

/// How long a real sendmail may take by default: long enough for a large
/// message to a slow SMTP server (msmtp), short enough that a hung one
/// does not hold the mail client for good.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// How long a sendmail that has exited may leave its standard input
/// unread before the message counts as not read: a sendmail that forks a
/// process to read it, and exits at once, has this long between reads.
const READER_STALL: Duration = Duration::from_secs(2);

/// Runs the real sendmail with `args`, unchanged, with `message` (a file
/// holding the whole message, `len` bytes, at its start) as standard
/// input. A file, not a pipe: whatever happens to maillint meanwhile, the
/// sendmail never reads a message cut short, and a process it forks to
/// read it (which may read after it exits) has nothing to race.
///
/// It must read all of it: a sendmail that exits 0 having read only part
/// sent only part, or nothing. The file's offset, which the sendmail's
/// reads move, says how much it read. A sendmail that takes longer than
/// `timeout` is killed.
pub fn deliver<S: AsRef<OsStr>>(
    sendmail: &Path,
    args: &[S],
    message: File,
    len: u64,
    timeout: Duration,
) -> Delivery {
    let name = sendmail.display();
    let deadline = Instant::now() + timeout;
    let mut offset = match message.try_clone() {
        Ok(file) => file,
        Err(e) => return Delivery::NotStarted(format!("cannot hand the message to {name}: {e}")),
    };
    let mut child = match Command::new(sendmail)
        .args(args)
        .stdin(Stdio::from(message))
        .spawn()
    {
        Ok(child) => child,
        Err(e) => return Delivery::NotStarted(format!("cannot run {name}: {e}")),
    };
    let mut pause = Duration::from_millis(1);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                // Nothing to do if it died on its own meanwhile.
                let _ = child.kill();
                let _ = child.wait();
                return Delivery::Failed(format!(
                    "{name} did not finish within {} seconds, and was stopped",
                    timeout.as_secs()
                ));
            }
            Ok(None) => {
                std::thread::sleep(pause);
                // Most sendmails are done in milliseconds: waking often
                // costs little, and a late wake-up costs every message.
                pause = (pause * 2).min(Duration::from_millis(4));
            }
            Err(e) => return Delivery::Failed(format!("lost track of {name}: {e}")),
        }
    };
    match status.code() {
        Some(0) => match read_to_the_end(&mut offset, len, deadline) {
            Ok(()) => Delivery::Exited(0),
            Err(read) => Delivery::Failed(format!(
                "{name} exited before reading the whole message ({read} of {len} bytes read)"
            )),
        },
        Some(code) => Delivery::Exited(code),
        None => Delivery::Failed(format!("{name} was killed ({status})")),
    }
}

/// Waits while what is left of the message is still being read (by a
/// process the sendmail left behind), until it all is, reading stalls for
/// [`READER_STALL`], or `deadline`; `Err` holds how far it got.
fn read_to_the_end(offset: &mut File, len: u64, deadline: Instant) -> Result<(), u64> {
    let mut last = 0;
    let mut moved = Instant::now();
    loop {
        let at = offset.stream_position().unwrap_or(0);
        if at >= len {
            return Ok(());
        }
        let now = Instant::now();
        if at != last {
            last = at;
            moved = now;
        } else if now >= deadline || now.duration_since(moved) >= READER_STALL {
            return Err(at);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// How many findings are at or above the threshold, and so block the message.
pub fn blocking(findings: &[Finding], fail_on: crate::report::FailOn) -> usize {
    findings
        .iter()
        .filter(|f| !f.suppressed && fail_on.fails(f.severity))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn envelope_from_arguments() {
        let e = Envelope::parse(&args(&["-oem", "-oi", "--", "a@x", "-b@x"]));
        assert_eq!(e.recipients, ["a@x", "-b@x"]);
        assert!(!e.from_headers);
        let e = Envelope::parse(&args(&[
            "-i",
            "-f",
            "me@x",
            "-F",
            "Me Myself",
            "a@x",
            "b@x",
        ]));
        assert_eq!(e.recipients, ["a@x", "b@x"]);
        let e = Envelope::parse(&args(&["-t", "-i", "-fme@x"]));
        assert!(e.from_headers);
        assert!(e.recipients.is_empty());
    }

    #[test]
    fn implied_sender_is_the_envelope_sender() {
        let sender = |a: &[&str]| Envelope::parse(&args(a)).implied_sender();
        assert_eq!(
            sender(&["-i", "-f", "ann@x", "--", "b@x"]).as_deref(),
            Some("ann@x")
        );
        assert_eq!(sender(&["-t", "-r<ann@x>"]).as_deref(), Some("ann@x"));
        assert_eq!(sender(&["-f", "<>", "b@x"]), None);
    }
}
