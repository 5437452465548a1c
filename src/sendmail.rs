//! `maillint sendmail`: a drop-in sendmail that checks a message on its way
//! out. A good message goes to the real sendmail with the same arguments and
//! the same bytes; a bad one is held, and nothing the user wrote is lost.

use crate::finding::Finding;
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
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

/// Where blocked messages are kept: `$XDG_STATE_HOME/maillint/held`, else
/// `~/.local/state/maillint/held`.
pub fn default_held_dir() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(state.join("maillint").join("held"))
}

/// Saves the message, byte for byte, as a new private file in `dir`, and
/// beside it its [`resend_script`] (`.resend`): the envelope, Bcc
/// recipients included, is only in the command's arguments.
pub fn hold(
    dir: &Path,
    raw: &[u8],
    command: &[impl AsRef<OsStr>],
    cwd: Option<&Path>,
) -> io::Result<PathBuf> {
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
                let mut script = create_private_file(&resend_path(&path))?;
                script.write_all(&resend_script(command, cwd, &path))?;
                script.sync_all()?;
                return Ok(path);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("no free file name"))
}

/// The script that sends a held message again: `held.eml` → `held.resend`.
pub fn resend_path(held: &Path) -> PathBuf {
    held.with_extension("resend")
}

/// A shell script running `command` again from `cwd` with the held message
/// on standard input: the same checks, the same sendmail, the same
/// arguments, byte for byte (a Latin-1 `-F` full name is not UTF-8).
pub fn resend_script(command: &[impl AsRef<OsStr>], cwd: Option<&Path>, held: &Path) -> Vec<u8> {
    let mut script = b"#!/bin/sh\n\
         # Sends the held message again as it was first sent: the same command and\n\
         # arguments (the recipients given on the command line, Bcc ones among them),\n\
         # from the same directory. It is checked again: edit the message first, or\n\
         # add an X-Maillint-Allow header to it. Run it with sh.\n"
        .to_vec();
    if let Some(cwd) = cwd {
        script.extend_from_slice(b"cd ");
        push_shell_quoted(&mut script, cwd.as_os_str());
        script.extend_from_slice(b" || exit 75\n");
    }
    script.extend_from_slice(b"exec");
    for word in command {
        script.push(b' ');
        push_shell_quoted(&mut script, word.as_ref());
    }
    script.extend_from_slice(b" < ");
    push_shell_quoted(&mut script, held.as_os_str());
    script.push(b'\n');
    script
}

/// Appends `word` in single quotes, for sh, keeping its bytes.
fn push_shell_quoted(script: &mut Vec<u8>, word: &OsStr) {
    script.push(b'\'');
    for &byte in os_bytes(word).iter() {
        if byte == b'\'' {
            script.extend_from_slice(b"'\\''");
        } else {
            script.push(byte);
        }
    }
    script.push(b'\'');
}

#[cfg(unix)]
fn os_bytes(word: &OsStr) -> std::borrow::Cow<'_, [u8]> {
    use std::os::unix::ffi::OsStrExt;
    word.as_bytes().into()
}

#[cfg(not(unix))]
fn os_bytes(word: &OsStr) -> std::borrow::Cow<'_, [u8]> {
    match word.to_string_lossy() {
        std::borrow::Cow::Borrowed(s) => s.as_bytes().into(),
        std::borrow::Cow::Owned(s) => s.into_bytes().into(),
    }
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

/// Runs the real sendmail with `args`, unchanged, feeding it `raw` on standard input.
/// It must read all of it: a sendmail that exits 0 having read only part
/// sent only part, or nothing, whatever the message's size. So this end
/// keeps the pipe open for reading too, and whatever is still in it once
/// the sendmail has exited is what it did not read.
pub fn deliver<S: AsRef<OsStr>>(sendmail: &Path, args: &[S], raw: &[u8]) -> Delivery {
    let name = sendmail.display();
    let ends = io::pipe().and_then(|(reader, writer)| Ok((reader.try_clone()?, reader, writer)));
    let (mut unread, reader, mut writer) = match ends {
        Ok(ends) => ends,
        Err(e) => return Delivery::NotStarted(format!("cannot make a pipe to {name}: {e}")),
    };
    let mut child = match Command::new(sendmail).args(args).stdin(reader).spawn() {
        Ok(child) => child,
        Err(e) => return Delivery::NotStarted(format!("cannot run {name}: {e}")),
    };
    let (status, written, left) = std::thread::scope(|scope| {
        let feeder = scope.spawn(move || writer.write_all(raw));
        let status = child.wait();
        // Draining also frees the feeder when the pipe is full; the end of
        // the feeder's writing is the end of what there is to drain.
        let left = io::copy(&mut unread, &mut io::sink());
        let written = feeder
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the writer stopped")));
        (status, written, left)
    });
    let status = match status {
        Ok(status) => status,
        Err(e) => return Delivery::Failed(format!("lost track of {name}: {e}")),
    };
    let unread = match (left, written) {
        (Ok(0), Ok(())) => None,
        (Ok(0), Err(e)) | (Err(e), _) => Some(e.to_string()),
        (Ok(n), _) => Some(format!("{n} of {} bytes unread", raw.len())),
    };
    match (status.code(), unread) {
        (Some(0), Some(unread)) => Delivery::Failed(format!(
            "{name} exited before reading the whole message ({unread})"
        )),
        (Some(code), _) => Delivery::Exited(code),
        (None, _) => Delivery::Failed(format!("{name} was killed ({status})")),
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
        let one = hold(&held, b"one", &[] as &[&str], None).unwrap();
        let two = hold(&held, b"two", &[] as &[&str], None).unwrap();
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
            assert_eq!(
                fs::metadata(resend_path(&one))
                    .unwrap()
                    .permissions()
                    .mode()
                    & 0o777,
                0o600
            );
        }
    }

    #[test]
    fn resend_script_quotes_every_word() {
        let script = resend_script(
            &args(&["/bin/maillint", "sendmail", "--", "-oi", "--", "o'neil@x"]),
            Some(Path::new("/home/ann/my mail")),
            Path::new("/held/1.eml"),
        );
        assert!(script.starts_with(b"#!/bin/sh\n"));
        assert!(script.ends_with(
            b"cd '/home/ann/my mail' || exit 75\n\
             exec '/bin/maillint' 'sendmail' '--' '-oi' '--' 'o'\\''neil@x' < '/held/1.eml'\n"
        ));
    }

    #[cfg(unix)]
    #[test]
    fn resend_script_keeps_the_bytes_of_arguments() {
        use std::os::unix::ffi::OsStrExt;
        // -F "José" in Latin-1: not UTF-8, and not to be changed.
        let latin1 = OsStr::from_bytes(b"Jos\xe9");
        let script = resend_script(
            &[OsStr::new("/bin/maillint"), OsStr::new("-F"), latin1],
            None,
            Path::new("/held/1.eml"),
        );
        assert!(script.ends_with(b"exec '/bin/maillint' '-F' 'Jos\xe9' < '/held/1.eml'\n"));
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
