//! `maillint sendmail` against a fake sendmail that records what it gets,
//! and `maillint git-hook`.
// A test: a failed unwrap is a failed run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use assert_cmd::Command;
use predicates::prelude::*;
use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

struct Setup {
    dir: TempDir,
}

impl Setup {
    /// A temp dir with a fake sendmail that saves its arguments (one per
    /// line) and its stdin, then exits with $FAKE_EXIT (default 0).
    fn new() -> Setup {
        let dir = TempDir::new().unwrap();
        let fake = dir.path().join("fake-sendmail");
        fs::write(
            &fake,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$@\" > {0}/args\ncat > {0}/stdin\nexit ${{FAKE_EXIT:-0}}\n",
                dir.path().display()
            ),
        )
        .unwrap();
        make_executable(&fake);
        // The organisation configured, as the README's set-ups say to.
        fs::create_dir_all(dir.path().join("config/maillint")).unwrap();
        fs::write(
            dir.path().join("config/maillint/config.toml"),
            "[organization]\ndomains = [\"example.org\"]\n",
        )
        .unwrap();
        Setup { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn maillint(&self, args: &[&str]) -> Command {
        self.maillint_with(&self.path("fake-sendmail"), args)
    }

    /// `maillint sendmail --sendmail SENDMAIL ARGS` in the temp dir.
    fn maillint_with(&self, sendmail: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("maillint").unwrap();
        cmd.current_dir(self.dir.path())
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_STATE_HOME", self.path("state"))
            .env("XDG_DATA_HOME", self.path("data"))
            .arg("sendmail")
            .arg("--sendmail")
            .arg(sendmail)
            .args(args);
        cmd
    }

    /// A sendmail of the test's own: `script` as an executable file.
    fn sendmail_script(&self, name: &str, script: &str) -> PathBuf {
        let path = self.path(name);
        fs::write(&path, script).unwrap();
        make_executable(&path);
        path
    }

    /// Runs a held message's `.resend` script, as its user would.
    /// The user rewrites a held message into one that passes and runs
    /// its `.resend` script, which must succeed; the fixed text.
    fn fix_and_resend(&self, held: &Path) -> &'static [u8] {
        let fixed = b"From: ann@example.org\nTo: everyone@example.org\nSubject: Term dates\n\nTerm starts on Monday.\n";
        fs::write(held, fixed).unwrap();
        let out = std::process::Command::new("sh")
            .arg(held.with_extension("resend"))
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_DATA_HOME", self.path("data"))
            .env("XDG_STATE_HOME", self.path("state"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        fixed
    }

    /// Runs maillint through a symlink called `name`, as a client that
    /// takes only a program path does, with the fake as the configured
    /// real sendmail.
    #[cfg(unix)]
    fn run_as<S: AsRef<std::ffi::OsStr>>(
        &self,
        name: &str,
        args: &[S],
        stdin: &[u8],
    ) -> std::process::ExitStatus {
        let link = self.path(name);
        std::os::unix::fs::symlink(assert_cmd::cargo::cargo_bin("maillint"), &link).unwrap();
        fs::write(
            self.path("maillint.toml"),
            format!(
                "[sendmail]\npath = \"{}\"\n",
                self.path("fake-sendmail").display()
            ),
        )
        .unwrap();
        let mut child = std::process::Command::new(&link)
            .current_dir(self.dir.path())
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_DATA_HOME", self.path("data"))
            .env("XDG_STATE_HOME", self.path("state"))
            .args(args)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), stdin).unwrap();
        child.wait().unwrap()
    }

    /// The held messages (each has its `.resend` script beside it).
    fn held(&self) -> Vec<PathBuf> {
        let dir = self.path("state/maillint/held");
        let mut files: Vec<PathBuf> = fs::read_dir(&dir).map_or(Vec::new(), |rd| {
            rd.map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "eml"))
                .collect()
        });
        files.sort();
        files
    }

    fn sent(&self) -> Option<(Vec<u8>, String)> {
        let stdin = fs::read(self.path("stdin")).ok()?;
        Some((stdin, fs::read_to_string(self.path("args")).unwrap()))
    }
}

fn make_executable(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// CRLF, 8-bit bytes and trailing space: what must pass unchanged.
const GOOD: &[u8] = b"From: Ann <ann@example.org>\r\nTo: bob@example.org\r\nSubject: caf\xc3\xa9 \r\n\r\nSee you at noon. \r\n\xff\r\n";
const STORM: &[u8] =
    b"From: ann@example.org\nTo: everyone@example.org\nSubject: Re: test\n\nPlease remove me\n";

#[test]
fn good_message_passes_byte_for_byte_with_the_same_arguments() {
    let s = Setup::new();
    s.maillint(&["--", "-oem", "-oi", "--", "bob@example.org"])
        .write_stdin(GOOD)
        .assert()
        .code(0)
        .stderr("");
    let (stdin, args) = s.sent().expect("the real sendmail ran");
    assert_eq!(stdin, GOOD);
    assert_eq!(args, "-oem\n-oi\n--\nbob@example.org\n");
    assert!(s.held().is_empty());
}

#[test]
fn sendmail_exit_status_is_returned() {
    let s = Setup::new();
    s.maillint(&["--", "bob@example.org"])
        .env("FAKE_EXIT", "75")
        .write_stdin(GOOD)
        .assert()
        .code(75)
        .stderr(predicate::str::contains("refused it (exit status 75)"));
    // The message it refused is kept, not lost.
    assert_eq!(fs::read(&s.held()[0]).unwrap(), GOOD);
}

#[test]
fn bad_message_is_blocked_and_held() {
    let s = Setup::new();
    s.maillint(&["--", "-oi", "--", "everyone@example.org"])
        .write_stdin(STORM)
        .assert()
        .code(65)
        .stderr(predicate::str::contains("error[reply-all-to-list]"))
        .stderr(predicate::str::contains(
            "message not sent: 1 finding at or above --fail-on",
        ))
        .stderr(predicate::str::contains("a copy of the message is kept in"));
    assert!(s.sent().is_none(), "the real sendmail must not run");
    let held = s.held();
    assert_eq!(held.len(), 1);
    assert_eq!(fs::read(&held[0]).unwrap(), STORM);
}

#[test]
fn command_line_recipients_count_as_bcc() {
    let s = Setup::new();
    let mut args = vec!["--fail-on", "warning", "--", "-oi", "--"];
    let recipients: Vec<String> = (0..30).map(|i| format!("parent{i}@example.com")).collect();
    args.extend(recipients.iter().map(String::as_str));
    let msg = b"From: head@school.example\nTo: head@school.example\nSubject: trip\n\nHello\n";
    s.maillint(&args)
        .write_stdin(&msg[..])
        .assert()
        .code(65)
        .stderr(predicate::str::contains(
            "recipient-count]: 31 recipients (To 1, Bcc 30)",
        ));
}

#[test]
fn dash_t_reads_recipients_from_headers_bcc_included() {
    let s = Setup::new();
    let bcc: Vec<String> = (0..30).map(|i| format!("p{i}@example.com")).collect();
    let msg = format!(
        "From: a@example.org\nTo: a@example.org\nBcc: {}\nSubject: x\n\nhi\n",
        bcc.join(", ")
    );
    s.maillint(&["--fail-on", "warning", "--", "-t", "-i"])
        .write_stdin(msg.clone())
        .assert()
        .code(65)
        .stderr(predicate::str::contains("31 recipients (To 1, Bcc 30)"));
    s.maillint(&["--", "-t", "-i"])
        .write_stdin(msg.clone())
        .assert()
        .code(0);
    assert_eq!(s.sent().unwrap().0, msg.as_bytes());
}

#[test]
fn input_that_is_no_message_is_held_not_sent() {
    let s = Setup::new();
    let junk = b"\x00\x01\x02 not mail";
    s.maillint(&["--", "bob@example.org"])
        .write_stdin(&junk[..])
        .assert()
        .code(65)
        .stderr(predicate::str::contains(
            "message not sent: not an email message",
        ));
    assert!(s.sent().is_none());
    assert_eq!(fs::read(&s.held()[0]).unwrap(), junk);
}

#[test]
fn broken_config_holds_the_message() {
    let s = Setup::new();
    fs::write(s.path("maillint.toml"), "[rules.cc-exposure\n").unwrap();
    s.maillint(&["--", "bob@example.org"])
        .write_stdin(GOOD)
        .assert()
        .code(78)
        .stderr(predicate::str::contains("maillint.toml:1:"));
    assert!(s.sent().is_none());
    assert_eq!(fs::read(&s.held()[0]).unwrap(), GOOD);
}

#[test]
fn missing_sendmail_holds_the_message() {
    let s = Setup::new();
    s.maillint_with(
        Path::new("/nonexistent/sendmail"),
        &["--", "bob@example.org"],
    )
    .write_stdin(GOOD)
    .assert()
    .code(69)
    .stderr(predicate::str::contains(
        "message not sent: cannot run /nonexistent/sendmail",
    ));
    assert_eq!(fs::read(&s.held()[0]).unwrap(), GOOD);
}

#[test]
fn killed_sendmail_is_not_reported_as_sent() {
    let s = Setup::new();
    let killer = s.sendmail_script("killer", "#!/bin/sh\nkill -9 $$\n");
    s.maillint_with(&killer, &["--", "bob@example.org"])
        .write_stdin(GOOD)
        .assert()
        .code(75)
        .stderr(predicate::str::contains("may or may not have been sent"));
    assert_eq!(s.held().len(), 1);
}

#[test]
fn unwritable_held_dir_says_not_sent() {
    let s = Setup::new();
    // A file where the directory should be stops even root.
    fs::create_dir_all(s.path("state")).unwrap();
    fs::write(s.path("state/maillint"), "in the way").unwrap();
    let out = s
        .maillint(&["--", "everyone@example.org"])
        .write_stdin(STORM)
        .assert()
        .code(73)
        .get_output()
        .stderr
        .clone();
    assert!(s.sent().is_none());
    // One sentence says what happened: not sent, and not kept.
    let stderr = String::from_utf8(out).unwrap();
    let said: Vec<&str> = stderr.lines().filter(|l| l.contains("sent")).collect();
    assert_eq!(said.len(), 1, "{stderr}");
    assert!(
        said[0].starts_with("maillint: message NOT sent (1 finding at or above --fail-on error), and no copy of it could be kept in "),
        "{stderr}"
    );
}

#[test]
fn config_names_the_real_sendmail_and_held_dir() {
    let s = Setup::new();
    fs::write(
        s.path("maillint.toml"),
        format!(
            "[sendmail]\npath = \"{}\"\nheld_dir = \"{}\"\n",
            s.path("fake-sendmail").display(),
            s.path("kept").display()
        ),
    )
    .unwrap();
    let run = |input: &'static [u8]| {
        let mut cmd = Command::cargo_bin("maillint").unwrap();
        cmd.current_dir(s.dir.path())
            .env("XDG_CONFIG_HOME", s.path("config"))
            .env("XDG_DATA_HOME", s.path("data"))
            .args(["sendmail", "--", "bob@example.org"])
            .write_stdin(input)
            .assert()
    };
    run(GOOD).code(0);
    assert_eq!(s.sent().unwrap().0, GOOD);
    run(STORM).code(65);
    assert_eq!(
        fs::read_dir(s.path("kept")).unwrap().count(),
        3,
        "the message, its .resend and its .why"
    );
}

#[cfg(unix)]
#[test]
fn symlink_named_maillint_sendmail_acts_as_sendmail() {
    let s = Setup::new();
    let status = s.run_as("maillint-sendmail", &["-oi", "bob@example.org"], GOOD);
    assert_eq!(status.code(), Some(0));
    let (stdin, args) = s.sent().unwrap();
    assert_eq!(stdin, GOOD);
    assert_eq!(args, "-oi\nbob@example.org\n");
}

/// Sends `message` to `recipient` through maillint invoked as `sendmail`,
/// with a Latin-1 full name (`-F`), as older clients pass it.
#[cfg(unix)]
fn send_with_latin1_name(s: &Setup, recipient: &str, message: &[u8]) -> std::process::ExitStatus {
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::OsStr::from_bytes(b"Ren\xe9 Dupont");
    s.run_as(
        "sendmail",
        &["-oi".as_ref(), "-F".as_ref(), name, recipient.as_ref()],
        message,
    )
}

#[cfg(unix)]
#[test]
fn arguments_that_are_not_utf8_pass_through_unchanged() {
    let s = Setup::new();
    let status = send_with_latin1_name(&s, "bob@example.org", GOOD);
    assert_eq!(status.code(), Some(0));
    assert_eq!(fs::read(s.path("stdin")).unwrap(), GOOD);
    assert_eq!(
        fs::read(s.path("args")).unwrap(),
        b"-oi\n-F\nRen\xe9 Dupont\nbob@example.org\n"
    );
    assert!(s.held().is_empty());
}

#[test]
fn git_hook_checks_the_patch_and_the_envelope() {
    let dir = TempDir::new().unwrap();
    let patch = dir.path().join("0001-fix.patch");
    fs::write(&patch, "From: dev@example.org\nSubject: [PATCH] fix\nTo: maintainer@example.org\n\n---\n a | 1 +\n").unwrap();
    let envelope = dir.path().join("envelope");
    fs::write(
        &envelope,
        "To: maintainer@example.org\nCc: everyone@example.org\n",
    )
    .unwrap();
    let hook = |args: &[&Path]| {
        let mut cmd = Command::cargo_bin("maillint").unwrap();
        cmd.current_dir(dir.path())
            .env("XDG_CONFIG_HOME", dir.path().join("c"))
            .env("XDG_DATA_HOME", dir.path().join("d"))
            .arg("git-hook")
            .args(args);
        cmd.assert()
    };
    hook(&[&patch]).code(0);
    hook(&[&patch, &envelope])
        .code(0)
        .stderr(predicate::str::contains(
            "warning[mass-list]: sent to an everyone-style list: everyone@example.org",
        ));
    let mut strict = Command::cargo_bin("maillint").unwrap();
    strict
        .current_dir(dir.path())
        .env("XDG_CONFIG_HOME", dir.path().join("c"))
        .env("XDG_DATA_HOME", dir.path().join("d"))
        .args(["git-hook", "--fail-on", "warning"])
        .arg(&patch)
        .arg(&envelope)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not sending"));
}

#[test]
fn sendmail_that_stops_reading_is_not_reported_as_sent() {
    let s = Setup::new();
    let quitter = s.sendmail_script("quitter", "#!/bin/sh\nexit 0\n");
    // Larger than a pipe's buffer, so the write meets the closed pipe.
    let mut big = b"From: ann@example.org\nTo: bob@example.org\nSubject: minutes\n\n".to_vec();
    big.extend(std::iter::repeat_n(b"minutes of the meeting\n".as_slice(), 50_000).flatten());
    s.maillint_with(&quitter, &["--", "bob@example.org"])
        .write_stdin(big.clone())
        .assert()
        .code(75)
        .stderr(predicate::str::contains(
            "exited before reading the whole message",
        ));
    assert_eq!(fs::read(&s.held()[0]).unwrap(), big);
}

/// STORM sent to everyone@ and, only on the command line, dave@: blocked.
fn storm_to_everyone_and_dave(s: &Setup) -> assert_cmd::assert::Assert {
    s.maillint(&[
        "--",
        "-oi",
        "--",
        "everyone@example.org",
        "dave@example.org",
    ])
    .write_stdin(STORM)
    .assert()
    .code(65)
}

#[test]
fn held_copy_keeps_the_envelope_and_resends_with_it() {
    let s = Setup::new();
    storm_to_everyone_and_dave(&s).stderr(predicate::str::contains(
        "to send it again (checked again): maillint held resend ",
    ));
    let held = s.held();
    assert_eq!(held.len(), 1);
    let resend = held[0].with_extension("resend");
    let script = fs::read_to_string(&resend).unwrap();
    // dave@example.org was only on the command line: a Bcc recipient.
    assert!(
        script.contains("'--' '-oi' '--' 'everyone@example.org' 'dave@example.org' < '"),
        "{script}"
    );
    assert!(s.sent().is_none());
    // The user fixes the message and sends it again, to the same people.
    let fixed = s.fix_and_resend(&held[0]);
    let (stdin, args) = s.sent().expect("resent");
    assert_eq!(stdin, fixed);
    assert_eq!(args, "-oi\n--\neveryone@example.org\ndave@example.org\n");
    // Sent once: the copy is gone, and its script cannot send it again.
    assert!(s.held().is_empty());
    assert!(!resend.exists());
    fs::remove_file(s.path("stdin")).unwrap();
    let again = std::process::Command::new("sh")
        .arg(held[0].with_extension("resend"))
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(s.sent().is_none());
}

#[cfg(unix)]
#[test]
fn held_copy_resends_arguments_that_are_not_utf8_unchanged() {
    let s = Setup::new();
    let status = send_with_latin1_name(&s, "everyone@example.org", STORM);
    assert_eq!(status.code(), Some(65));
    let held = s.held();
    assert_eq!(held.len(), 1);
    let fixed = s.fix_and_resend(&held[0]);
    assert_eq!(fs::read(s.path("stdin")).unwrap(), fixed);
    assert_eq!(
        fs::read(s.path("args")).unwrap(),
        b"-oi\n-F\nRen\xe9 Dupont\neveryone@example.org\n"
    );
}

/// What bsd-mailx and s-nail write: no From, which the mail system adds.
const NO_FROM: &[u8] = b"To: bob@example.org\nSubject: lunch\n\nNoon at the usual place?\n";

#[test]
fn message_without_from_is_judged_as_from_the_envelope_sender() {
    let s = Setup::new();
    s.maillint(&["--", "-i", "-f", "ann@example.org", "--", "bob@example.org"])
        .write_stdin(NO_FROM)
        .assert()
        .code(0);
    let (stdin, args) = s.sent().expect("the real sendmail ran");
    assert_eq!(stdin, NO_FROM, "the bytes are passed on unchanged");
    assert_eq!(args, "-i\n-f\nann@example.org\n--\nbob@example.org\n");
}

#[test]
fn message_without_from_or_sender_is_from_the_local_user() {
    let s = Setup::new();
    s.maillint(&["--", "-i", "-t"])
        .write_stdin(NO_FROM)
        .assert()
        .code(0);
    assert_eq!(s.sent().expect("the real sendmail ran").0, NO_FROM);
    // A From that is there but broken is the author's, and still an error.
    let s = Setup::new();
    s.maillint(&["--", "-i", "-f", "ann@example.org", "--", "bob@example.org"])
        .write_stdin(&b"From: Ann\nTo: bob@example.org\nSubject: lunch\n\nNoon?\n"[..])
        .assert()
        .code(65)
        .stderr(predicate::str::contains("From has no valid address"));
}

#[test]
fn user_config_names_the_sendmail_when_the_project_config_does_not() {
    let s = Setup::new();
    fs::create_dir_all(s.path("config/maillint")).unwrap();
    fs::write(
        s.path("config/maillint/config.toml"),
        format!(
            "[sendmail]\npath = \"{}\"\nheld_dir = \"{}\"\n",
            s.path("fake-sendmail").display(),
            s.path("kept").display()
        ),
    )
    .unwrap();
    // The project's rules, and nothing about sending.
    fs::write(
        s.path("maillint.toml"),
        "[rules.mass-list]\nseverity = \"error\"\n",
    )
    .unwrap();
    let run = |input: &'static [u8], to: &str| {
        let mut cmd = Command::cargo_bin("maillint").unwrap();
        cmd.current_dir(s.dir.path())
            .env("XDG_CONFIG_HOME", s.path("config"))
            .env("XDG_DATA_HOME", s.path("data"))
            .args(["sendmail", "--", to])
            .write_stdin(input)
            .assert()
    };
    run(GOOD, "bob@example.org").code(0);
    assert_eq!(s.sent().expect("the user's sendmail ran").0, GOOD);
    let announcement = b"From: ann@example.org\nTo: everyone@example.org\nSubject: Term dates\n\nTerm starts on Monday.\n";
    run(announcement, "everyone@example.org")
        .code(65)
        .stderr(predicate::str::contains("error[mass-list]"));
    assert_eq!(fs::read_dir(s.path("kept")).unwrap().count(), 3);
    // A project that names its own sendmail keeps it.
    fs::write(
        s.path("maillint.toml"),
        "[sendmail]\npath = \"/nonexistent/sendmail\"\n",
    )
    .unwrap();
    run(GOOD, "bob@example.org")
        .code(69)
        .stderr(predicate::str::contains("cannot run /nonexistent/sendmail"));
}

#[test]
fn sendmail_that_reads_part_of_a_small_message_is_not_reported_as_sent() {
    let s = Setup::new();
    // Reads the first line only, then says all is well.
    let quitter = s.sendmail_script("quitter", "#!/bin/sh\nread -r first\nexit 0\n");
    assert_good_held_after(&s, &quitter, "exited before reading the whole message");
}

/// GOOD handed to `sendmail` ends in exit 75, `said`, and a held copy.
fn assert_good_held_after(s: &Setup, sendmail: &Path, said: &str) {
    s.maillint_with(sendmail, &["--", "bob@example.org"])
        .write_stdin(GOOD)
        .assert()
        .code(75)
        .stderr(predicate::str::contains(said));
    assert_eq!(fs::read(&s.held()[0]).unwrap(), GOOD);
}

#[test]
fn git_hook_does_not_ask_for_the_message_id_git_adds() {
    let dir = TempDir::new().unwrap();
    let patch = dir.path().join("0001-fix.patch");
    // git format-patch writes a Date and no Message-ID; git send-email adds
    // the Message-ID after the hook has run.
    fs::write(
        &patch,
        "From: Dev <dev@example.org>\nDate: Tue, 7 May 2024 09:00:00 +0000\nSubject: [PATCH] fix\nTo: maintainer@example.org\n\n---\n a | 1 +\n",
    )
    .unwrap();
    Command::cargo_bin("maillint")
        .unwrap()
        .current_dir(dir.path())
        .env("XDG_CONFIG_HOME", dir.path().join("c"))
        .env("XDG_DATA_HOME", dir.path().join("d"))
        .arg("git-hook")
        .arg(&patch)
        .assert()
        .code(0)
        .stderr("");
}

#[cfg(unix)]
#[test]
fn git_hook_install_says_what_an_older_git_leaves_unchecked() {
    let dir = TempDir::new().unwrap();
    let hooks = dir.path().join("hooks");
    for (version, warned) in [("2.39.5", true), ("2.41.0", false)] {
        let _ = fs::remove_dir_all(&hooks);
        let git = dir.path().join("git");
        fs::write(
            &git,
            format!(
                "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'git version {version}'; else echo {}; fi\n",
                hooks.display()
            ),
        )
        .unwrap();
        make_executable(&git);
        let note = predicate::str::contains("git config sendemail.sendmailCmd");
        let assert = Command::cargo_bin("maillint")
            .unwrap()
            .current_dir(dir.path())
            .env("PATH", format!("{}:/usr/bin:/bin", dir.path().display()))
            .args(["git-hook", "--install"])
            .assert()
            .code(0);
        if warned {
            assert.stderr(note);
        } else {
            assert.stderr(note.not());
        }
        assert!(hooks.join("sendemail-validate").is_file());
    }
}

#[cfg(feature = "history")]
#[test]
fn learn_on_send_makes_what_was_sent_familiar() {
    let setup = Setup::new();
    let index = setup.path("data/maillint/history.sqlite");
    let first = "From: me@example.org\nTo: jane@agency.example\nSubject: a\n\nx\n";
    let second =
        "From: me@example.org\nTo: jane@agency.example, pat@asiancup.example\nSubject: b\n\nx\n";
    setup
        .maillint(&["--", "-t"])
        .write_stdin(first)
        .assert()
        .success();
    assert!(!index.exists(), "nothing is learned unless asked");

    fs::write(
        setup.path("maillint.toml"),
        "[history]\nlearn_on_send = true\n",
    )
    .unwrap();
    setup
        .maillint(&["--", "-t"])
        .write_stdin(first)
        .assert()
        .success();
    assert!(index.is_file());
    setup
        .maillint(&["--", "-t"])
        .write_stdin(second)
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "info[new-recipient]: you have never written to pat@asiancup.example",
        ));
}

/// A message larger than any pipe's buffer.
fn large_message() -> Vec<u8> {
    let mut big = b"From: ann@example.org\nTo: bob@example.org\nSubject: minutes\n\n".to_vec();
    big.extend(std::iter::repeat_n(b"minutes of the meeting\n".as_slice(), 400_000).flatten());
    big
}

/// Waits (without a time limit: the test harness has one) for `path`.
fn wait_for(path: &Path) {
    while !path.exists() {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A sendmail that says it has started (`started`), waits for `go`, then
/// reads its standard input into `stdin` and says it is done (`done`).
fn waiting_sendmail(s: &Setup) -> PathBuf {
    let dir = s.dir.path().display();
    s.sendmail_script(
        "waiting",
        &format!(
            "#!/bin/sh\ntouch {dir}/started\nwhile [ ! -e {dir}/go ]; do sleep 0.05; done\ncat > {dir}/stdin.part\nmv {dir}/stdin.part {dir}/stdin\ntouch {dir}/done\n"
        ),
    )
}

#[cfg(unix)]
fn stopped_during_hand_over(signal: &str) {
    let s = Setup::new();
    let waiting = waiting_sendmail(&s);
    let big = large_message();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("maillint"))
        .current_dir(s.dir.path())
        .env("XDG_CONFIG_HOME", s.path("config"))
        .env("XDG_STATE_HOME", s.path("state"))
        .env("XDG_DATA_HOME", s.path("data"))
        .args(["sendmail", "--sendmail"])
        .arg(&waiting)
        .args(["--", "-oi", "--", "bob@example.org"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), &big).unwrap();
    wait_for(&s.path("started"));
    let killed = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(!status.success());
    // maillint is gone; the real sendmail reads on.
    fs::write(s.path("go"), "").unwrap();
    wait_for(&s.path("done"));
    assert_eq!(
        fs::read(s.path("stdin")).unwrap().len(),
        big.len(),
        "the real sendmail read a message cut short"
    );
    // Not knowing whether it was sent, maillint left its copy kept.
    let held = s.held();
    assert_eq!(held.len(), 1);
    assert_eq!(fs::read(&held[0]).unwrap(), big);
    let why = fs::read_to_string(held[0].with_extension("why")).unwrap();
    assert!(why.contains("state: maybe-sent"), "{why}");
}

#[cfg(unix)]
#[test]
fn sigkill_during_hand_over_leaves_the_sendmail_a_whole_message_and_a_copy() {
    stopped_during_hand_over("-KILL");
}

#[cfg(unix)]
#[test]
fn sigterm_during_hand_over_leaves_the_sendmail_a_whole_message_and_a_copy() {
    stopped_during_hand_over("-TERM");
}

#[test]
fn hung_sendmail_is_stopped_after_the_timeout_and_the_message_held() {
    let s = Setup::new();
    let hung = s.sendmail_script("hung", "#!/bin/sh\nexec sleep 600\n");
    fs::write(s.path("maillint.toml"), "[sendmail]\ntimeout = 1\n").unwrap();
    assert_good_held_after(
        &s,
        &hung,
        "did not finish within 1 seconds, and was stopped",
    );
}

#[test]
fn forgotten_double_dash_holds_the_message_with_ex_usage() {
    let s = Setup::new();
    fs::write(
        s.path("maillint.toml"),
        format!("[sendmail]\nheld_dir = \"{}\"\n", s.path("kept").display()),
    )
    .unwrap();
    let mut cmd = Command::cargo_bin("maillint").unwrap();
    cmd.current_dir(s.dir.path())
        .env("XDG_CONFIG_HOME", s.path("config"))
        .env("XDG_STATE_HOME", s.path("state"))
        .args(["sendmail", "-oi", "-t"])
        .write_stdin(GOOD)
        .assert()
        .code(64)
        .stderr(predicate::str::contains("unexpected argument '-o'"))
        .stderr(predicate::str::contains(
            "message not sent: the command line is wrong (above)",
        ));
    // Kept where the configuration keeps held mail.
    let kept: Vec<PathBuf> = fs::read_dir(s.path("kept"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    assert_eq!(kept.len(), 1);
    assert_eq!(fs::read(&kept[0]).unwrap(), GOOD);
    assert!(s.sent().is_none());
}

#[cfg(unix)]
#[test]
fn full_disk_leaves_no_partial_held_copy() {
    let s = Setup::new();
    // A file size limit (which binds root too) as a full disk: 4 KB, with
    // SIGXFSZ ignored so that writing past it fails instead of killing.
    let big = large_message();
    let out = std::process::Command::new("sh")
        .current_dir(s.dir.path())
        .env("XDG_CONFIG_HOME", s.path("config"))
        .env("XDG_STATE_HOME", s.path("state"))
        .env("XDG_DATA_HOME", s.path("data"))
        .env("TMPDIR", s.path("state"))
        .arg("-c")
        .arg("ulimit -f 8; trap '' XFSZ; exec \"$0\" sendmail --sendmail \"$1\" -- everyone@example.org")
        .arg(assert_cmd::cargo::cargo_bin("maillint"))
        .arg(s.path("fake-sendmail"))
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            let mut storm = STORM.to_vec();
            storm.extend_from_slice(&big);
            std::io::Write::write_all(&mut child.stdin.take().unwrap(), &storm)?;
            child.wait_with_output()
        })
        .unwrap();
    assert_eq!(out.status.code(), Some(73));
    assert!(s.sent().is_none());
    // Nothing that could pass for a held message, nothing left over.
    let left: Vec<_> = fs::read_dir(s.path("state/maillint/held"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn sendmail_that_reads_in_a_background_process_gets_the_whole_message() {
    let s = Setup::new();
    // Exits at once; the process it leaves reads the message later (from
    // fd 3: sh gives a background list /dev/null as standard input).
    let dir = s.dir.path().display();
    let forking = s.sendmail_script(
        "forking",
        &format!(
            "#!/bin/sh\nexec 3<&0\n(sleep 0.3; cat <&3 > {dir}/stdin.part; mv {dir}/stdin.part {dir}/stdin) &\nexit 0\n"
        ),
    );
    let big = large_message();
    s.maillint_with(&forking, &["--", "bob@example.org"])
        .write_stdin(big.clone())
        .assert()
        .code(0);
    wait_for(&s.path("stdin"));
    assert_eq!(fs::read(s.path("stdin")).unwrap(), big);
    assert!(s.held().is_empty());
}

/// `maillint held ARGS` with the test's configuration and state.
fn held_command(s: &Setup, args: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("maillint").unwrap();
    cmd.current_dir(s.dir.path())
        .env("XDG_CONFIG_HOME", s.path("config"))
        .env("XDG_STATE_HOME", s.path("state"))
        .env("XDG_DATA_HOME", s.path("data"))
        .arg("held")
        .args(args);
    cmd
}

#[test]
fn held_lists_shows_resends_once_and_drops() {
    let s = Setup::new();
    held_command(&s, &[])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("No held messages in "));
    storm_to_everyone_and_dave(&s);
    s.maillint(&["--", "bob@example.org"])
        .write_stdin(&b"From: ann@example.org\nTo: bob@example.org\nSubject: plans\n\nbody\n"[..])
        .env("FAKE_EXIT", "75")
        .assert()
        .code(75);
    fs::remove_file(s.path("stdin")).unwrap();
    let held = s.held();
    assert_eq!(held.len(), 2);
    let name = |p: &Path| p.file_stem().unwrap().to_string_lossy().into_owned();
    let (storm, plans) = (name(&held[0]), name(&held[1]));
    assert!(storm.ends_with("-re-test"), "{storm}");
    let listing = held_command(&s, &["list"]).assert().success();
    let listing = String::from_utf8(listing.get_output().stdout.clone()).unwrap();
    assert!(listing.contains(&format!("{storm}  ")), "{listing}");
    assert!(listing.contains("  Re: test\n"), "{listing}");
    assert!(
        listing.contains(
            "  To: everyone@example.org; envelope: everyone@example.org, dave@example.org\n"
        ),
        "{listing}"
    );
    assert!(
        listing.contains("  held: 1 finding at or above --fail-on error\n"),
        "{listing}"
    );
    assert!(
        listing.contains("  error[reply-all-to-list] this reply goes to everyone"),
        "{listing}"
    );
    assert!(listing.contains("  held: /"), "{listing}");
    assert!(listing.contains("refused it (exit status 75)"), "{listing}");
    assert!(listing.ends_with(&format!(
        "2 messages held in {}; `maillint held show NAME`, `resend NAME`, `drop NAME`\n",
        s.path("state/maillint/held").display()
    )));
    held_command(&s, &["show", &storm])
        .assert()
        .success()
        .stdout(predicate::str::ends_with(
            String::from_utf8(STORM.to_vec()).unwrap(),
        ));
    // Still blocked when sent again as it is.
    held_command(&s, &["resend", &storm]).assert().code(65);
    assert!(s.sent().is_none());
    assert_eq!(
        s.held().len(),
        2,
        "held again in the same copy, not a new one"
    );
    // Sent despite the finding, once.
    held_command(&s, &["resend", &storm, "--allow"])
        .assert()
        .success()
        .stdout(format!("sent {storm}\n"));
    let (stdin, args) = s.sent().unwrap();
    assert!(stdin.starts_with(b"X-Maillint-Allow: reply-all-to-list; reason=maillint held resend --allow\nFrom: ann@example.org\n"));
    assert_eq!(args, "-oi\n--\neveryone@example.org\ndave@example.org\n");
    assert_eq!(s.held().len(), 1);
    held_command(&s, &["resend", &storm])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no held message"));
    held_command(&s, &["drop", &plans])
        .assert()
        .success()
        .stdout(format!("dropped {plans}\n"));
    assert!(s.held().is_empty());
    assert_eq!(
        fs::read_dir(s.path("state/maillint/held")).unwrap().count(),
        0
    );
}

#[test]
fn held_copy_of_an_unconfirmed_hand_over_is_not_resent_by_mistake() {
    let s = Setup::new();
    let killer = s.sendmail_script("killer", "#!/bin/sh\ncat >/dev/null\nkill -9 $$\n");
    s.maillint_with(&killer, &["--", "bob@example.org"])
        .write_stdin(GOOD)
        .assert()
        .code(75);
    let name = s.held()[0]
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    held_command(&s, &["resend", &name])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("may have been sent already"));
}

#[test]
fn sendmail_says_once_when_no_organisation_is_configured() {
    let s = Setup::new();
    fs::remove_file(s.path("config/maillint/config.toml")).unwrap();
    let out = s
        .maillint(&["--", "bob@example.org"])
        .write_stdin(GOOD)
        .assert()
        .code(0)
        .get_output()
        .stderr
        .clone();
    let stderr = String::from_utf8(out).unwrap();
    assert_eq!(
        stderr,
        "maillint: note: no [organization] domains are configured, so only the sender's own domain is internal; set yours with `maillint init --user --domain example.org`\n"
    );
    // A project's maillint.toml without domains leaves yours in force.
    let s = Setup::new();
    fs::write(
        s.path("maillint.toml"),
        maillint::config::starter(None).unwrap(),
    )
    .unwrap();
    s.maillint(&["--", "bob@example.org"])
        .write_stdin(GOOD)
        .assert()
        .code(0)
        .stderr("");
}

#[test]
fn unreadable_input_is_held_where_the_configuration_says() {
    let s = Setup::new();
    fs::write(
        s.path("maillint.toml"),
        format!("[sendmail]\nheld_dir = \"{}\"\n", s.path("kept").display()),
    )
    .unwrap();
    // A directory as standard input: opened, but every read fails.
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("maillint"))
        .current_dir(s.dir.path())
        .env("XDG_CONFIG_HOME", s.path("config"))
        .env("XDG_STATE_HOME", s.path("state"))
        .args(["sendmail", "--sendmail"])
        .arg(s.path("fake-sendmail"))
        .args(["--", "bob@example.org"])
        .stdin(fs::File::open(s.dir.path()).unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(75));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("message not sent: cannot read the message"),
        "{stderr}"
    );
    assert!(s.sent().is_none());
    let kept = fs::read_dir(s.path("kept")).unwrap().count();
    assert_eq!(kept, 3, "the (empty) message, its .resend and .why");
}
