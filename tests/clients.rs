//! Real mail clients sending through maillint: NeoMutt, bsd-mailx and
//! s-nail through `maillint sendmail`, and git send-email through the
//! validate hook and through `sendemail.sendmailCmd`. `.ci/run` installs
//! them. Under CI (the `CI` variable set) a missing prerequisite fails its
//! test; elsewhere the test is skipped, and says so on the terminal:
//! `SKIPPED <test>: not installed: <what>`.
// A test: a failed unwrap is a failed run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use tempfile::TempDir;

fn maillint_bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("maillint")
}

/// Whether every prerequisite of `test` is present: `(what, present)`.
/// Under CI a missing one is a failure. Elsewhere the skip is written to
/// the process's standard error directly, which the test harness does not
/// capture (it captures only `eprintln!`), so it shows beside `ok`.
fn prerequisites(test: &str, needed: &[(&str, bool)]) -> bool {
    let missing: Vec<&str> = needed
        .iter()
        .filter(|(_, present)| !present)
        .map(|(what, _)| *what)
        .collect();
    if missing.is_empty() {
        return true;
    }
    let missing = missing.join(", ");
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: not installed: {missing}; .ci/run installs it"
    );
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: not installed: {missing} (under CI this fails)"
    );
    false
}

fn neomutt_installed(test: &str) -> bool {
    prerequisites(test, &[("neomutt", Path::new("/usr/bin/neomutt").exists())])
}

/// git send-email and the Perl module it parses addresses with, which
/// Debian's git-email only recommends: without it every send fails with
/// a Perl error that says nothing about maillint.
fn git_send_email_installed(test: &str) -> bool {
    let mail_address = Command::new("perl")
        .args(["-MMail::Address", "-e", "1"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    prerequisites(
        test,
        &[
            (
                "git send-email",
                Path::new("/usr/lib/git-core/git-send-email").exists(),
            ),
            ("Perl's Mail::Address (libmailtools-perl)", mail_address),
        ],
    )
}

/// A fake sendmail recording its arguments and input in `dir`.
fn fake_sendmail(dir: &Path) -> PathBuf {
    let fake = dir.join("fake-sendmail");
    fs::write(
        &fake,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > {0}/args\ncat > {0}/stdin\n",
            dir.display()
        ),
    )
    .unwrap();
    chmod_x(&fake);
    fake
}

/// Runs `command` with `input` on its standard input, its output captured.
fn fed(command: &mut Command, input: &str) -> std::process::Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn chmod_x(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
    }
}

fn neomutt(dir: &Path, lint_args: &str, recipients: &[&str]) -> std::process::Output {
    let fake = fake_sendmail(dir);
    fs::write(
        dir.join("muttrc"),
        format!(
            "set sendmail=\"{} sendmail {lint_args} --sendmail {} --\"\nset from=\"Ann <ann@example.org>\"\nset use_from=yes\nset record=\"\"\nset folder=\"{}\"\nset spoolfile=\"{}/spool\"\n",
            maillint_bin().display(),
            fake.display(),
            dir.display(),
            dir.display()
        ),
    )
    .unwrap();
    fed(
        Command::new("neomutt")
            .current_dir(dir)
            .env("HOME", dir)
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .env("XDG_DATA_HOME", dir.join("data"))
            .env("XDG_STATE_HOME", dir.join("state"))
            .args(["-n", "-F"])
            .arg(dir.join("muttrc"))
            .args(["-s", "school trip"])
            .args(recipients),
        "The trip is on Friday.\n",
    )
}

#[test]
fn neomutt_sends_a_good_message_through_maillint() {
    if !neomutt_installed("neomutt_sends_a_good_message_through_maillint") {
        return;
    }
    let dir = TempDir::new().unwrap();
    ok(neomutt(
        dir.path(),
        "",
        &["-b", "dave@example.org", "--", "bob@example.org"],
    ));
    let args = fs::read_to_string(dir.path().join("args")).unwrap();
    assert!(
        args.contains("bob@example.org\n") && args.contains("dave@example.org\n"),
        "{args}"
    );
    let sent = fs::read_to_string(dir.path().join("stdin")).unwrap();
    assert!(
        sent.contains("Subject: school trip") && !sent.contains("Bcc:"),
        "{sent}"
    );
}

#[test]
fn neomutt_send_is_blocked_and_the_message_kept() {
    if !neomutt_installed("neomutt_send_is_blocked_and_the_message_kept") {
        return;
    }
    let dir = TempDir::new().unwrap();
    let parents: Vec<String> = (0..30).map(|i| format!("parent{i}@example.com")).collect();
    let bcc = parents.join(",");
    let out = neomutt(
        dir.path(),
        "--fail-on warning",
        &["-b", &bcc, "--", "ann@example.org"],
    );
    assert!(
        !out.status.success(),
        "neomutt must report the send as failed"
    );
    assert!(
        !dir.path().join("stdin").exists(),
        "the real sendmail must not run"
    );
    let held = held_messages(dir.path());
    assert_eq!(held.len(), 1);
    let kept = fs::read_to_string(&held[0]).unwrap();
    assert!(kept.contains("The trip is on Friday."));
}

/// The output of a command that must succeed.
fn ok(out: std::process::Output) -> std::process::Output {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A git repository in `repo` with one commit; returns the PATH under
/// which git finds maillint.
fn git_repo(repo: &Path) -> String {
    let bin_dir = maillint_bin().parent().unwrap().to_path_buf();
    let path_env = format!("{}:/usr/bin:/bin", bin_dir.display());
    ok(git(repo, &path_env, &["init", "-q"]));
    fs::write(repo.join("a.txt"), "a\n").unwrap();
    ok(git(repo, &path_env, &["add", "a.txt"]));
    ok(git(repo, &path_env, &["commit", "-qm", "add a"]));
    path_env
}

fn git(repo: &Path, path_env: &str, args: &[&str]) -> std::process::Output {
    Command::new("/usr/bin/git")
        .current_dir(repo)
        .env("PATH", path_env)
        .env("HOME", repo)
        .env("XDG_CONFIG_HOME", repo.join(".config"))
        .env("GIT_AUTHOR_NAME", "Dev")
        .env("GIT_AUTHOR_EMAIL", "dev@example.org")
        .env("GIT_COMMITTER_NAME", "Dev")
        .env("GIT_COMMITTER_EMAIL", "dev@example.org")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn git_send_email_runs_the_hook_and_stops_a_bad_patch() {
    if !git_send_email_installed("git_send_email_runs_the_hook_and_stops_a_bad_patch") {
        return;
    }
    let dir = TempDir::new().unwrap();
    let repo = dir.path();
    let path_env = git_repo(repo);
    ok(Command::new(maillint_bin())
        .current_dir(repo)
        .env("PATH", &path_env)
        .args(["git-hook", "--install"])
        .output()
        .unwrap());
    fs::write(
        repo.join("maillint.toml"),
        "[rules.mass-list]\nseverity = \"error\"\n",
    )
    .unwrap();
    let fake = fake_sendmail(repo);

    for (to, should_send) in [
        ("everyone@example.org", false),
        ("maintainer@example.org", true),
    ] {
        let _ = fs::remove_file(repo.join("stdin"));
        let patch = ok(git(
            repo,
            &path_env,
            &["format-patch", "-1", &format!("--to={to}"), "-o", "out"],
        ));
        let patch_path = String::from_utf8(patch.stdout).unwrap().trim().to_string();
        let out = git(
            repo,
            &path_env,
            &[
                "send-email",
                "--confirm=never",
                "--quiet",
                &format!("--smtp-server={}", fake.display()),
                &patch_path,
            ],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.success(), should_send, "to {to}: {stderr}");
        assert_eq!(
            repo.join("stdin").exists(),
            should_send,
            "to {to}: {stderr}"
        );
        if !should_send {
            assert!(stderr.contains("error[mass-list]"), "{stderr}");
        }
        fs::remove_dir_all(repo.join("out")).unwrap();
    }
}

/// The README's set-up for bsd-mailx and s-nail: a `maillint-sendmail`
/// symlink named in the mail rc file by `variable`, and the real sendmail
/// and the rules in the user's config.
fn mailx_setup(dir: &Path, variable: &str) {
    let fake = fake_sendmail(dir);
    let bin = dir.join(".local/bin");
    fs::create_dir_all(&bin).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(maillint_bin(), bin.join("maillint-sendmail")).unwrap();
    fs::write(
        dir.join(".mailrc"),
        format!(
            "set {variable}={}\n",
            bin.join("maillint-sendmail").display()
        ),
    )
    .unwrap();
    fs::create_dir_all(dir.join(".config/maillint")).unwrap();
    fs::write(
        dir.join(".config/maillint/config.toml"),
        format!(
            "[sendmail]\npath = \"{}\"\n\n[rules.mass-list]\nseverity = \"error\"\n",
            fake.display()
        ),
    )
    .unwrap();
}

/// The announcement to everyone@, with dave@ in Bcc, that mass-list stops.
fn mailx_term_dates(program: &str, dir: &Path) -> std::process::Output {
    mailx(
        program,
        dir,
        &[
            "-s",
            "Term dates",
            "-b",
            "dave@example.org",
            "everyone@example.org",
        ],
        "Term starts on Monday.\n",
    )
}

/// Runs a mailx-style client in `dir` as home, the body on stdin.
fn mailx(program: &str, dir: &Path, args: &[&str], body: &str) -> std::process::Output {
    fed(
        Command::new(program)
            .current_dir(dir)
            .env("HOME", dir)
            // s-nail run by root reads root's own home, whatever HOME says.
            .env("MAILRC", dir.join(".mailrc"))
            .env("XDG_CONFIG_HOME", dir.join(".config"))
            .env("XDG_DATA_HOME", dir.join(".local-data"))
            .env("XDG_STATE_HOME", dir.join("state"))
            .args(args),
        body,
    )
}

fn held_messages(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir.join("state/maillint/held")).map_or(Vec::new(), |rd| {
        rd.map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect()
    })
}

#[test]
fn bsd_mailx_sends_through_maillint_and_a_bad_message_is_held() {
    if !prerequisites(
        "bsd_mailx_sends_through_maillint_and_a_bad_message_is_held",
        &[("bsd-mailx", Path::new("/usr/bin/bsd-mailx").exists())],
    ) {
        return;
    }
    let dir = TempDir::new().unwrap();
    let dir = dir.path();
    mailx_setup(dir, "sendmail");
    // bsd-mailx writes no From: the mail system adds it.
    ok(mailx(
        "bsd-mailx",
        dir,
        &["-s", "lunch", "bob@example.org"],
        "Noon?\n",
    ));
    assert_eq!(fs::read_to_string(dir.join("args")).unwrap(), "-i\n-t\n");
    let sent = fs::read_to_string(dir.join("stdin")).unwrap();
    assert!(
        sent.contains("To: bob@example.org") && !sent.contains("From:"),
        "{sent}"
    );
    fs::remove_file(dir.join("stdin")).unwrap();

    let out = mailx_term_dates("bsd-mailx", dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("error[mass-list]"), "{stderr}");
    assert!(
        !dir.join("stdin").exists(),
        "the real sendmail must not run"
    );
    let held = held_messages(dir);
    assert_eq!(held.len(), 1);
    let kept = fs::read_to_string(&held[0]).unwrap();
    assert!(
        kept.contains("Bcc: dave@example.org") && kept.contains("Term starts on Monday."),
        "{kept}"
    );
}

#[test]
fn s_nail_held_message_is_resent_to_its_bcc_recipients() {
    if !prerequisites(
        "s_nail_held_message_is_resent_to_its_bcc_recipients",
        &[("s-nail", Path::new("/usr/bin/s-nail").exists())],
    ) {
        return;
    }
    let dir = TempDir::new().unwrap();
    let dir = dir.path();
    mailx_setup(dir, "mta");
    ok(mailx(
        "s-nail",
        dir,
        &["-s", "lunch", "bob@example.org"],
        "Noon?\n",
    ));
    assert_eq!(
        fs::read_to_string(dir.join("args")).unwrap(),
        "-i\n--\nbob@example.org\n"
    );
    fs::remove_file(dir.join("stdin")).unwrap();

    let out = mailx_term_dates("s-nail", dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        !dir.join("stdin").exists(),
        "the real sendmail must not run"
    );
    let held = held_messages(dir);
    assert_eq!(held.len(), 1);
    // s-nail gives the Bcc recipient only as an argument.
    assert!(
        !fs::read_to_string(&held[0])
            .unwrap()
            .contains("dave@example.org")
    );
    let resend = held[0].with_extension("resend");
    assert!(
        stderr.contains(&format!("sh {}", resend.display())),
        "{stderr}"
    );

    // Addressed to the list's allowed sender instead, it goes to both.
    let kept = fs::read_to_string(&held[0]).unwrap();
    fs::write(
        &held[0],
        kept.replace("everyone@example.org", "office@example.org"),
    )
    .unwrap();
    let script = fs::read_to_string(&resend).unwrap();
    fs::write(
        &resend,
        script.replace("everyone@example.org", "office@example.org"),
    )
    .unwrap();
    ok(Command::new("sh")
        .arg(&resend)
        .env("XDG_CONFIG_HOME", dir.join(".config"))
        .env("XDG_DATA_HOME", dir.join(".local-data"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .output()
        .unwrap());
    assert_eq!(
        fs::read_to_string(dir.join("args")).unwrap(),
        "-i\n--\noffice@example.org\ndave@example.org\n"
    );
}

#[test]
fn git_send_email_through_maillint_sendmail_checks_command_line_recipients() {
    if !git_send_email_installed(
        "git_send_email_through_maillint_sendmail_checks_command_line_recipients",
    ) {
        return;
    }
    let dir = TempDir::new().unwrap();
    let repo = dir.path();
    let path_env = git_repo(repo);
    // The README's set-up: git hands each mail to `maillint sendmail`, the
    // real sendmail is in the user's config, the project's rules in its own.
    ok(git(
        repo,
        &path_env,
        &["config", "sendemail.sendmailCmd", "maillint sendmail --"],
    ));
    let fake = fake_sendmail(repo);
    fs::create_dir_all(repo.join(".config/maillint")).unwrap();
    fs::write(
        repo.join(".config/maillint/config.toml"),
        format!("[sendmail]\npath = \"{}\"\n", fake.display()),
    )
    .unwrap();
    fs::write(
        repo.join("maillint.toml"),
        "[rules.mass-list]\nseverity = \"error\"\n",
    )
    .unwrap();
    let patch = ok(git(repo, &path_env, &["format-patch", "-1", "-o", "out"]));
    let patch_path = String::from_utf8(patch.stdout).unwrap().trim().to_string();

    for (cc, should_send) in [
        ("everyone@example.org", false),
        ("reviewer@example.org", true),
    ] {
        let out = git(
            repo,
            &path_env,
            &[
                "send-email",
                "--confirm=never",
                "--quiet",
                "--suppress-cc=all",
                "--to=maintainer@example.org",
                &format!("--cc={cc}"),
                &patch_path,
            ],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.success(), should_send, "cc {cc}: {stderr}");
        assert_eq!(
            repo.join("stdin").exists(),
            should_send,
            "cc {cc}: {stderr}"
        );
        if should_send {
            assert_eq!(
                fs::read_to_string(repo.join("args")).unwrap(),
                "-i\nmaintainer@example.org\nreviewer@example.org\n"
            );
        } else {
            assert!(stderr.contains("error[mass-list]"), "{stderr}");
        }
    }
}

/// The README's code block after the line holding `marker`, as written.
fn readme_block(marker: &str) -> String {
    let readme = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let after = &readme[readme.find(marker).expect(marker)..];
    let block = &after[after.find("```").unwrap()..];
    let block = &block[block.find('\n').unwrap() + 1..];
    block[..block.find("```").unwrap()].to_string()
}

/// `PATH` with maillint in it, as after `cargo install`.
fn path_with_maillint() -> String {
    format!(
        "{}:/usr/bin:/bin",
        maillint_bin().parent().unwrap().display()
    )
}

/// Runs README lines with `sh` in `home`, as its user would.
fn run_readme_lines(home: &Path, lines: &str) {
    ok(Command::new("sh")
        .arg("-c")
        .arg(lines)
        .current_dir(home)
        .env("HOME", home)
        .env("PATH", path_with_maillint())
        .env_remove("XDG_CONFIG_HOME")
        .output()
        .unwrap());
}

/// The README's first step (the organisation in your own config), and the
/// fake as the real sendmail there.
fn readme_organisation(home: &Path) {
    run_readme_lines(home, &readme_block("First tell maillint your organisation"));
    let config = home.join(".config/maillint/config.toml");
    let mut text = fs::read_to_string(&config).unwrap();
    assert!(text.contains("domains = [\"example.org\"]"), "{text}");
    text.push_str(&format!(
        "\n[sendmail]\npath = \"{}\"\n",
        fake_sendmail(home).display()
    ));
    fs::write(&config, text).unwrap();
}

/// The 41 parents of fixtures/cc-exposure/fire_error_41_parents_one_in_to.eml:
/// one for To, forty for Cc.
fn parents() -> (String, Vec<String>) {
    let eml = fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/cc-exposure/fire_error_41_parents_one_in_to.eml"
    ))
    .unwrap();
    let mut addresses: Vec<String> = eml
        .split('<')
        .skip(1)
        .filter_map(|s| s.split_once('>').map(|(a, _)| a.to_string()))
        .filter(|a| !a.ends_with(".sch.uk") && a.contains('@'))
        .collect();
    addresses.truncate(41);
    assert_eq!(addresses.len(), 41);
    let to = addresses.remove(0);
    (to, addresses)
}

const FORGOTTEN: &str = "Please find attached the consent form for the trip.\n";
const LETTER: &str = "The Year 4 trip is on Thursday 19 March.\n";

/// What a client run must show: not sent, `finding` said, the message held.
fn assert_stopped(home: &Path, out: &std::process::Output, finding: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains(finding), "{finding}: {stderr}");
    assert!(
        !home.join("stdin").exists(),
        "the real sendmail ran: {stderr}"
    );
    assert_eq!(held_messages(home).len(), 1, "{stderr}");
    fs::remove_dir_all(home.join("state/maillint/held")).unwrap();
}

#[test]
fn readme_neomutt_set_up_stops_the_41_parents_and_a_forgotten_attachment() {
    if !neomutt_installed("readme_neomutt_set_up_stops_the_41_parents_and_a_forgotten_attachment") {
        return;
    }
    let home = TempDir::new().unwrap();
    let home = home.path();
    readme_organisation(home);
    let line = readme_block("**NeoMutt / Mutt**");
    assert_eq!(
        line,
        "set sendmail=\"maillint sendmail --fail-on warning --\"\n"
    );
    fs::write(
        home.join("muttrc"),
        format!(
            "{line}set from=\"Jo Parker <jo.parker@example.org>\"\nset use_from=yes\nset record=\"\"\nset folder=\"{0}\"\nset spoolfile=\"{0}/spool\"\n",
            home.display()
        ),
    )
    .unwrap();
    let send = |args: &[&str], body: &str| {
        fed(
            Command::new("neomutt")
                .current_dir(home)
                .env("HOME", home)
                .env("PATH", path_with_maillint())
                .env("XDG_CONFIG_HOME", home.join(".config"))
                .env("XDG_STATE_HOME", home.join("state"))
                .args(["-n", "-F"])
                .arg(home.join("muttrc"))
                .args(args),
            body,
        )
    };
    let (to, cc) = parents();
    let out = send(
        &["-s", "Year 4 trip", "-c", &cc.join(","), "--", &to],
        LETTER,
    );
    assert_stopped(home, &out, "error[cc-exposure]");
    let out = send(&["-s", "Consent form", "--", &to], FORGOTTEN);
    assert_stopped(home, &out, "warning[forgotten-attachment]");
    ok(send(&["-s", "Year 4 trip", "--", &to], LETTER));
    assert!(home.join("stdin").exists());
}

/// The README's bsd-mailx / s-nail lines, the other client's left out.
fn readme_mailx_set_up(home: &Path, client: &str, other: &str) {
    readme_organisation(home);
    let lines: String = readme_block("**bsd-mailx** (Debian's default")
        .lines()
        .filter(|l| !l.ends_with(&format!("# {other}")))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(lines.contains(&format!("# {client}")), "{lines}");
    run_readme_lines(home, &lines);
}

fn mailx_stops_the_41_parents_and_a_forgotten_attachment(program: &str, client: &str, other: &str) {
    let home = TempDir::new().unwrap();
    let home = home.path();
    readme_mailx_set_up(home, client, other);
    let (to, cc) = parents();
    // bsd-mailx takes one -c list (the last -c wins); s-nail one address a -c.
    let mut args = vec!["-s", "Year 4 trip"];
    let list = cc.join(",");
    if program == "bsd-mailx" {
        args.extend(["-c", &list]);
    } else {
        args.extend(cc.iter().flat_map(|c| ["-c", c.as_str()]));
    }
    args.push(&to);
    let out = mailx(program, home, &args, LETTER);
    assert_stopped(home, &out, "error[cc-exposure]");
    let out = mailx(program, home, &["-s", "Consent form", &to], FORGOTTEN);
    assert_stopped(home, &out, "warning[forgotten-attachment]");
    ok(mailx(program, home, &["-s", "Year 4 trip", &to], LETTER));
    assert!(home.join("stdin").exists());
}

#[test]
fn readme_bsd_mailx_set_up_stops_the_41_parents_and_a_forgotten_attachment() {
    if !prerequisites(
        "readme_bsd_mailx_set_up_stops_the_41_parents_and_a_forgotten_attachment",
        &[("bsd-mailx", Path::new("/usr/bin/bsd-mailx").exists())],
    ) {
        return;
    }
    mailx_stops_the_41_parents_and_a_forgotten_attachment("bsd-mailx", "bsd-mailx", "s-nail");
}

#[test]
fn readme_s_nail_set_up_stops_the_41_parents_and_a_forgotten_attachment() {
    if !prerequisites(
        "readme_s_nail_set_up_stops_the_41_parents_and_a_forgotten_attachment",
        &[("s-nail", Path::new("/usr/bin/s-nail").exists())],
    ) {
        return;
    }
    mailx_stops_the_41_parents_and_a_forgotten_attachment("s-nail", "s-nail", "bsd-mailx");
}

/// A repository with the README's organisation step done, and a way to
/// commit `message` and hand its patch to git send-email: `(format-patch
/// args, send-email args)` → git send-email's output.
fn git_send(repo: &Path) -> impl Fn(&str, &[String], &[String]) -> std::process::Output + '_ {
    let path_env = git_repo(repo);
    readme_organisation(repo);
    move |message: &str, patch_args: &[String], send_args: &[String]| {
        let _ = fs::remove_dir_all(repo.join("out"));
        let _ = fs::remove_file(repo.join("stdin"));
        // A file of its own: the diff shows no earlier message.
        let file = format!("{}.txt", message.len());
        fs::write(repo.join(&file), message).unwrap();
        ok(git(repo, &path_env, &["add", &file]));
        ok(git(repo, &path_env, &["commit", "-qm", message]));
        let mut args: Vec<String> = vec![
            "format-patch".into(),
            "-1".into(),
            "-o".into(),
            "out".into(),
        ];
        args.extend_from_slice(patch_args);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let patch = ok(git(repo, &path_env, &args));
        let patch_path = String::from_utf8(patch.stdout).unwrap().trim().to_string();
        let mut args: Vec<String> = vec![
            "send-email".into(),
            "--confirm=never".into(),
            "--quiet".into(),
            "--suppress-cc=all".into(),
        ];
        args.extend_from_slice(send_args);
        args.push(patch_path);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        git(repo, &path_env, &args)
    }
}

/// `--to=` the first parent, `--cc=` each of the forty others.
fn parents_as_git_options() -> Vec<String> {
    let (to, cc) = parents();
    let mut options = vec![format!("--to={to}")];
    options.extend(cc.iter().map(|c| format!("--cc={c}")));
    options
}

fn assert_git_stopped(repo: &Path, out: &std::process::Output, finding: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains(finding), "{finding}: {stderr}");
    assert!(!repo.join("stdin").exists(), "sent: {stderr}");
}

#[test]
fn readme_git_hook_set_up_stops_the_41_parents_and_a_forgotten_attachment() {
    if !git_send_email_installed(
        "readme_git_hook_set_up_stops_the_41_parents_and_a_forgotten_attachment",
    ) {
        return;
    }
    let dir = TempDir::new().unwrap();
    let repo = dir.path();
    let send = git_send(repo);
    let line = readme_block("**git send-email**, git 2.41 and later");
    assert_eq!(line, "maillint git-hook --install\n");
    run_readme_lines(repo, &line);
    let smtp = vec![format!(
        "--smtp-server={}",
        repo.join("fake-sendmail").display()
    )];
    // The parents in the patch's own headers, which every git passes to
    // the hook (git 2.41 and later also pass those given to send-email).
    let out = send("Year 4 trip on Thursday", &parents_as_git_options(), &smtp);
    assert_git_stopped(repo, &out, "error[cc-exposure]");
    let to = vec![format!("--to={}", parents().0)];
    let out = send("Please find attached the consent form", &to, &smtp);
    assert_git_stopped(repo, &out, "warning[forgotten-attachment]");
    ok(send("Trip on Thursday.", &to, &smtp));
    assert!(repo.join("stdin").exists());
}

#[test]
fn readme_git_sendmail_cmd_set_up_stops_the_41_parents_and_a_forgotten_attachment() {
    if !git_send_email_installed(
        "readme_git_sendmail_cmd_set_up_stops_the_41_parents_and_a_forgotten_attachment",
    ) {
        return;
    }
    let dir = TempDir::new().unwrap();
    let repo = dir.path();
    let send = git_send(repo);
    let line = readme_block("With those\nversions (git 2.33 and later)");
    assert_eq!(
        line,
        "git config sendemail.sendmailCmd \"maillint sendmail --fail-on warning --\"\n"
    );
    run_readme_lines(repo, &line);
    // The parents given to git send-email, which Debian 12's git does not
    // pass to the hook.
    let out = send("Year 4 trip on Thursday", &[], &parents_as_git_options());
    assert_git_stopped(repo, &out, "error[cc-exposure]");
    let to = vec![format!("--to={}", parents().0)];
    let out = send("Please find attached the consent form", &[], &to);
    assert_git_stopped(repo, &out, "warning[forgotten-attachment]");
    ok(send("Trip on Thursday.", &[], &to));
    assert!(repo.join("stdin").exists());
}
