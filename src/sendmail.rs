//! `maillint sendmail`: a drop-in sendmail that checks a message on its way
//! out. A good message goes to the real sendmail with the same arguments and
//! the same bytes; a bad one is held, and nothing the user wrote is lost.

use crate::finding::Finding;
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

/// sysexits(3) codes, which mail clients understand.
pub mod exit {
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

/// What the sendmail arguments say about recipients.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Envelope {
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
            } else if OPTIONS_WITH_VALUE.iter().any(|o| arg == *o) {
                args.next();
            } else if !arg.as_encoded_bytes().starts_with(b"-") {
                envelope.recipients.push(text(arg));
            }
        }
        envelope
    }
}

/// Where blocked messages are kept: `$XDG_STATE_HOME/maillint/held`, else
/// `~/.local/state/maillint/held`.
pub fn default_held_dir() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(state.join("maillint").join("held"))
}

/// Saves the message, byte for byte, as a new private file in `dir`.
pub fn hold(dir: &Path, raw: &[u8]) -> io::Result<PathBuf> {
    create_private_dir(dir)?;
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let pid = std::process::id();
    for n in 0..1000 {
        let path = dir.join(format!("{stamp}-{pid}-{n}.eml"));
        match create_private_file(&path) {
            Ok(mut file) => {
                file.write_all(raw)?;
                file.sync_all()?;
                return Ok(path);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("no free file name"))
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

fn create_private_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// How handing the message to the real sendmail ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery {
    /// It ran to the end; its exit code is ours.
    Exited(i32),
    /// It could not be started.
    NotStarted(String),
    /// It was killed, or did not read the whole message: not sent, or not
    /// known to be.
    Failed(String),
}

/// Runs the real sendmail with `args`, unchanged, feeding it `raw` on
/// standard input.
pub fn deliver<S: AsRef<OsStr>>(sendmail: &Path, args: &[S], raw: &[u8]) -> Delivery {
    let mut child = match Command::new(sendmail)
        .args(args)
        .stdin(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => return Delivery::NotStarted(format!("cannot run {}: {e}", sendmail.display())),
    };
    let written = child
        .stdin
        .take()
        .map_or(Err(io::Error::other("no stdin")), |mut stdin| {
            stdin.write_all(raw)
        });
    let status = match child.wait() {
        Ok(status) => status,
        Err(e) => return Delivery::Failed(format!("lost track of {}: {e}", sendmail.display())),
    };
    match (status.code(), written) {
        (Some(0), Err(e)) => Delivery::Failed(format!(
            "{} exited before reading the whole message ({e})",
            sendmail.display()
        )),
        (Some(code), _) => Delivery::Exited(code),
        (None, _) => Delivery::Failed(format!("{} was killed ({status})", sendmail.display())),
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
    fn hold_writes_new_private_files() {
        let dir = tempfile::TempDir::new().unwrap();
        let held = dir.path().join("a/b");
        let one = hold(&held, b"one").unwrap();
        let two = hold(&held, b"two").unwrap();
        assert_ne!(one, two);
        assert_eq!(fs::read(&one).unwrap(), b"one");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&one).unwrap().permissions().mode() & 0o777,
                0o600
            );
            assert_eq!(
                fs::metadata(&held).unwrap().permissions().mode() & 0o777,
                0o700
            );
        }
    }
}
