//! Held mail: the copies `maillint sendmail` keeps of what it has not
//! (or not knowingly) sent, in one private directory. Each is three files:
//! `NAME.eml`, the message byte for byte; `NAME.resend`, a shell script
//! that sends it again as it was first sent; `NAME.why`, why it is held
//! and its findings. A held message exists when its `.eml` does. The
//! three are written under hidden names and the `.eml` is renamed into
//! place last, so a full disk or a killed process never leaves a partial
//! copy that looks held.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The variable a `.resend` script sets to the held copy it sends: the
/// wrapper then uses that copy as its own, and removes it once the
/// message is handed over, so a held message is sent once.
pub const HELD_ENV: &str = "MAILLINT_HELD";

/// Where blocked messages are kept: `$XDG_STATE_HOME/maillint/held`, else
/// `~/.local/state/maillint/held`.
pub fn default_dir() -> Option<PathBuf> {
    Some(crate::config::xdg_dir("XDG_STATE_HOME", ".local/state")?.join("held"))
}

/// Why a message is held, as `NAME.why` keeps it: one `key: value` a line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Why {
    /// The message may have been sent: it is being handed to the real
    /// sendmail (a copy left in this state is from a maillint stopped
    /// before it knew the outcome), or the real sendmail was killed or
    /// read only part of it.
    pub maybe_sent: bool,
    /// One sentence.
    pub reason: String,
    /// Recipients given only on the command line (Bcc among them).
    pub recipients: Vec<String>,
    /// `severity[rule] message`, one a finding.
    pub findings: Vec<String>,
}

impl Why {
    fn to_text(&self) -> String {
        let mut text = String::new();
        let mut line = |key: &str, value: &str| {
            text.push_str(key);
            text.push_str(": ");
            text.push_str(&crate::guard::one_line(value));
            text.push('\n');
        };
        line(
            "state",
            if self.maybe_sent {
                "maybe-sent"
            } else {
                "held"
            },
        );
        line("reason", &self.reason);
        for r in &self.recipients {
            line("recipient", r);
        }
        for f in &self.findings {
            line("finding", f);
        }
        text
    }

    /// Reads what [`Why::to_text`] wrote; unknown lines are skipped.
    pub fn parse(text: &str) -> Why {
        let mut why = Why::default();
        for (key, value) in text.lines().filter_map(|l| l.split_once(": ")) {
            match key {
                "state" => why.maybe_sent = value == "maybe-sent",
                "reason" => why.reason = value.to_string(),
                "recipient" => why.recipients.push(value.to_string()),
                "finding" => why.findings.push(value.to_string()),
                _ => {}
            }
        }
        why
    }

    /// The rule ids of the findings (`error[cc-exposure] ...`).
    pub fn rules(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self
            .findings
            .iter()
            .filter_map(|f| f.split_once('[')?.1.split_once(']').map(|(id, _)| id))
            .collect();
        ids.dedup();
        ids
    }
}

/// One held message, named by its `.eml` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub eml: PathBuf,
}

impl Held {
    /// The script that sends it again.
    pub fn resend(&self) -> PathBuf {
        self.eml.with_extension("resend")
    }

    pub fn why_path(&self) -> PathBuf {
        self.eml.with_extension("why")
    }

    /// The name `maillint held` knows it by: the file name without `.eml`.
    pub fn name(&self) -> String {
        self.eml
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned())
    }

    /// Why it is held; a copy without a readable `.why` was held for a
    /// reason that was not recorded.
    pub fn why(&self) -> Why {
        fs::read_to_string(self.why_path())
            .map(|t| Why::parse(&t))
            .unwrap_or_default()
    }

    /// Records a new reason, whole or not at all, on disk.
    pub fn set_why(&self, why: &Why) -> io::Result<()> {
        self.write_why(why, true)
    }

    fn write_why(&self, why: &Why, sync: bool) -> io::Result<()> {
        let part = part_path(&self.why_path());
        let written = write_new(&part, why.to_text().as_bytes(), sync)
            .and_then(|()| fs::rename(&part, self.why_path()));
        if written.is_err() {
            let _ = fs::remove_file(&part);
        }
        written
    }

    /// Makes sure a copy written without waiting for the disk is on it:
    /// one that was to last only while it was handed over, kept after all.
    pub fn make_durable(&self) -> io::Result<()> {
        for file in [&self.eml, &self.resend()] {
            File::open(file)?.sync_all()?;
        }
        Ok(())
    }

    /// Replaces the message with `raw` (a resend of an edited copy),
    /// whole or not at all.
    pub fn rewrite(&self, raw: &[u8]) -> io::Result<()> {
        let part = part_path(&self.eml);
        let written = write_new(&part, raw, true).and_then(|()| fs::rename(&part, &self.eml));
        if written.is_err() {
            let _ = fs::remove_file(&part);
        }
        written
    }

    /// Removes the copy: the message was handed over, or dropped. The
    /// `.eml` goes first, so what is left is never taken for held mail.
    pub fn release(&self) -> io::Result<()> {
        fs::remove_file(&self.eml)?;
        for extra in [self.resend(), self.why_path()] {
            match fs::remove_file(extra) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    /// The copy a `.resend` script names in [`HELD_ENV`], when it is a
    /// held message in `dir` (and not any file the variable might name).
    pub fn from_env(dir: &Path) -> Option<Held> {
        let eml = PathBuf::from(std::env::var_os(HELD_ENV)?);
        let dir = dir.canonicalize().ok()?;
        let eml = eml.canonicalize().ok()?;
        (eml.extension() == Some(OsStr::new("eml")) && eml.parent() == Some(dir.as_path()))
            .then_some(Held { eml })
    }
}

/// What a new held copy is made of.
pub struct Copy<'a> {
    pub raw: &'a [u8],
    /// The command that sent it, run again by `.resend`.
    pub command: &'a [OsString],
    pub cwd: Option<&'a Path>,
    /// For the file name, so a listing of the directory says what is what.
    pub subject: Option<&'a str>,
    pub why: &'a Why,
    /// Wait until it is on the disk. A copy kept only while the message is
    /// handed over need not: it is there for a maillint that is stopped,
    /// not for a machine that is, and waiting costs every message sent.
    pub durable: bool,
}

/// Saves a new held copy in `dir` (created private if need be): whole, or
/// nothing at all.
pub fn hold(dir: &Path, copy: &Copy<'_>) -> io::Result<Held> {
    create_private_dir(dir)?;
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let pid = std::process::id();
    let slug = copy.subject.map(slug).unwrap_or_default();
    for n in 0..1000 {
        let name = if slug.is_empty() {
            format!("{stamp}-{pid}-{n}")
        } else {
            format!("{stamp}-{pid}-{n}-{slug}")
        };
        let held = Held {
            eml: dir.join(format!("{name}.eml")),
        };
        let part = part_path(&held.eml);
        // The hidden part reserves the name.
        match create_private_file(&part) {
            Ok(file) => {
                let written = write_copy(&held, file, &part, copy);
                if written.is_err() {
                    for leftover in [
                        part,
                        part_path(&held.resend()),
                        held.resend(),
                        held.why_path(),
                    ] {
                        let _ = fs::remove_file(leftover);
                    }
                }
                return written.map(|()| held);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("no free file name"))
}

fn write_copy(held: &Held, mut file: File, part: &Path, copy: &Copy<'_>) -> io::Result<()> {
    file.write_all(copy.raw)?;
    if copy.durable {
        file.sync_all()?;
    }
    let script = resend_script(copy.command, copy.cwd, &held.eml);
    let script_part = part_path(&held.resend());
    write_new(&script_part, &script, copy.durable)?;
    fs::rename(&script_part, held.resend())?;
    held.write_why(copy.why, copy.durable)?;
    fs::rename(part, &held.eml)
}

/// The held messages in `dir`, oldest first (names start with the time).
pub fn list(dir: &Path) -> io::Result<Vec<Held>> {
    let mut held: Vec<Held> = match fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.extension() == Some(OsStr::new("eml"))
                    && !p
                        .file_name()
                        .is_some_and(|n| n.as_encoded_bytes().starts_with(b"."))
            })
            .map(|eml| Held { eml })
            .collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    held.sort_by(|a, b| a.eml.cmp(&b.eml));
    Ok(held)
}

/// The held message `name` names in `dir`: its name as listed, its file,
/// or the one name it is the start of.
pub fn find(dir: &Path, name: &str) -> Result<Held, String> {
    let as_path = Path::new(name);
    if as_path.extension() == Some(OsStr::new("eml")) && as_path.is_file() {
        return Ok(Held {
            eml: as_path.to_path_buf(),
        });
    }
    let all = list(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    if let Some(exact) = all.iter().find(|h| h.name() == name) {
        return Ok(exact.clone());
    }
    let mut matching = all.into_iter().filter(|h| h.name().starts_with(name));
    match (matching.next(), matching.next()) {
        (Some(one), None) => Ok(one),
        (None, _) => Err(format!(
            "no held message `{name}` in {} (see `maillint held`)",
            dir.display()
        )),
        (Some(_), Some(_)) => Err(format!(
            "`{name}` is the start of more than one held message's name"
        )),
    }
}

/// A few words of the subject, for a file name: lowercase ASCII letters
/// and digits, dashes between.
fn slug(subject: &str) -> String {
    let mut slug = String::new();
    for word in subject
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if slug.len() + word.len() > 40 {
            break;
        }
        if !slug.is_empty() {
            slug.push('-');
        }
        slug.push_str(&word.to_ascii_lowercase());
    }
    slug
}

/// `dir/NAME.ext` → `dir/.NAME.ext.part`: hidden, so never listed.
fn part_path(path: &Path) -> PathBuf {
    let mut name = OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(".part");
    path.with_file_name(name)
}

fn write_new(path: &Path, bytes: &[u8], sync: bool) -> io::Result<()> {
    let _ = fs::remove_file(path);
    let mut file = create_private_file(path)?;
    file.write_all(bytes)?;
    if sync { file.sync_all() } else { Ok(()) }
}

/// A shell script running `command` again from `cwd` with the held message
/// on standard input: the same checks, the same sendmail, the same
/// arguments, byte for byte (a Latin-1 `-F` full name is not UTF-8). It
/// names the copy in [`HELD_ENV`], so a successful resend removes it.
pub fn resend_script(command: &[impl AsRef<OsStr>], cwd: Option<&Path>, held: &Path) -> Vec<u8> {
    let mut script = b"#!/bin/sh\n\
         # Sends the held message again as it was first sent: the same command and\n\
         # arguments (the recipients given on the command line, Bcc ones among them),\n\
         # from the same directory. It is checked again: edit the message first, or\n\
         # add an X-Maillint-Allow header to it (`maillint held resend --allow`).\n\
         # Once it is sent, the held copy is removed. Run it with sh.\n"
        .to_vec();
    script.extend_from_slice(HELD_ENV.as_bytes());
    script.push(b'=');
    push_shell_quoted(&mut script, held.as_os_str());
    script.extend_from_slice(b"\nexport ");
    script.extend_from_slice(HELD_ENV.as_bytes());
    script.push(b'\n');
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
    for &byte in word.as_encoded_bytes() {
        if byte == b'\'' {
            script.extend_from_slice(b"'\\''");
        } else {
            script.push(byte);
        }
    }
    script.push(b'\'');
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

#[cfg(test)]
mod tests {
    use super::*;

    fn why(reason: &str) -> Why {
        Why {
            reason: reason.to_string(),
            ..Why::default()
        }
    }

    fn copy<'a>(raw: &'a [u8], why: &'a Why, subject: Option<&'a str>) -> Copy<'a> {
        Copy {
            raw,
            command: &[],
            cwd: None,
            subject,
            why,
            durable: true,
        }
    }

    #[test]
    fn hold_writes_new_private_files() {
        let dir = tempfile::TempDir::new().unwrap();
        let held = dir.path().join("a/b");
        let w = why("blocked");
        let one = hold(&held, &copy(b"one", &w, Some("Term dates: 2027!"))).unwrap();
        let two = hold(&held, &copy(b"two", &w, None)).unwrap();
        assert_ne!(one, two);
        assert!(one.name().ends_with("-term-dates-2027"), "{}", one.name());
        assert_eq!(fs::read(&one.eml).unwrap(), b"one");
        assert_eq!(one.why(), w);
        assert_eq!(list(&held).unwrap(), [one.clone(), two.clone()]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&one.eml), 0o600);
            assert_eq!(mode(&held), 0o700);
            assert_eq!(mode(&one.resend()), 0o600);
            assert_eq!(mode(&one.why_path()), 0o600);
        }
        one.release().unwrap();
        assert_eq!(list(&held).unwrap(), [two]);
        assert_eq!(fs::read_dir(&held).unwrap().count(), 3);
    }

    #[test]
    fn why_reads_back() {
        let w = Why {
            maybe_sent: true,
            reason: "message not sent:\nline two".into(),
            recipients: vec!["a@x".into()],
            findings: vec![
                "error[cc-exposure] 41 addresses".into(),
                "warning[forgotten-attachment] x".into(),
            ],
        };
        let back = Why::parse(&w.to_text());
        assert_eq!(back.reason, "message not sent:\\nline two");
        assert!(back.maybe_sent);
        assert_eq!(back.rules(), ["cc-exposure", "forgotten-attachment"]);
    }

    #[test]
    fn find_by_name_or_start() {
        let dir = tempfile::TempDir::new().unwrap();
        let w = why("x");
        let one = hold(dir.path(), &copy(b"one", &w, Some("alpha"))).unwrap();
        hold(dir.path(), &copy(b"two", &w, Some("beta"))).unwrap();
        assert_eq!(find(dir.path(), &one.name()).unwrap(), one);
        // Both names start with the time.
        assert!(find(dir.path(), &one.name()[..1]).is_err());
        assert!(find(dir.path(), "nothing").is_err());
    }

    #[test]
    fn resend_script_quotes_every_word() {
        let script = resend_script(
            &["/bin/maillint", "sendmail", "--", "-oi", "--", "o'neil@x"],
            Some(Path::new("/home/ann/my mail")),
            Path::new("/held/1.eml"),
        );
        assert!(script.starts_with(b"#!/bin/sh\n"));
        assert!(script.ends_with(
            b"MAILLINT_HELD='/held/1.eml'\nexport MAILLINT_HELD\n\
             cd '/home/ann/my mail' || exit 75\n\
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
}
