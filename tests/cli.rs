//! The `maillint` binary end to end: inputs, exit codes, formats, config.
// A test: a failed unwrap is a failed run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use assert_cmd::Command;
use predicates::prelude::*;
use std::fs;
use std::path::Path;
use tempfile::TempDir;

/// A `maillint` command isolated from any config on this machine.
fn maillint(cwd: &Path) -> Command {
    let mut cmd = Command::cargo_bin("maillint").unwrap();
    cmd.current_dir(cwd)
        .env("XDG_CONFIG_HOME", cwd.join(".no-config"))
        .env("XDG_DATA_HOME", cwd.join(".no-data"))
        .env_remove("NO_COLOR");
    cmd
}

/// A temporary working directory for one test.
struct Workdir(TempDir);

impl Workdir {
    fn new() -> Workdir {
        Workdir(TempDir::new().unwrap())
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    /// Writes `name` (below the directory) with `contents`.
    fn write(&self, name: &str, contents: impl AsRef<[u8]>) {
        fs::write(self.path().join(name), contents).unwrap();
    }

    /// `maillint`, run here.
    fn maillint(&self) -> Command {
        maillint(self.path())
    }

    /// The JSON document `maillint ARGS` prints here, which must exit
    /// with `code`.
    fn json_output(&self, args: &[&str], code: i32) -> serde_json::Value {
        let out = self.maillint().args(args).assert().code(code);
        json(&out.get_output().stdout)
    }
}

fn fixture(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
        .display()
        .to_string()
}

const CLEAN: &str = "From: a@example.org\nTo: b@example.org\nSubject: lunch\n\nNoon?\n";
const STORM: &str =
    "From: a@example.org\nTo: everyone@example.org\nSubject: Re: test\n\nPlease remove me\n";
const MASS: &str = "From: a@example.org\nTo: everyone@example.org\nSubject: hello\n\nhi\n";

fn json(output: &[u8]) -> serde_json::Value {
    serde_json::from_slice(output).expect("output is JSON")
}

#[test]
fn clean_message_exits_zero() {
    let dir = Workdir::new();
    dir.write("ok.eml", CLEAN);
    dir.maillint()
        .args(["check", "ok.eml"])
        .assert()
        .code(0)
        .stdout("Checked 1 message: 0 errors, 0 warnings, 0 infos\n");
}

#[test]
fn error_finding_exits_one_with_located_output() {
    let dir = Workdir::new();
    dir.write("storm.eml", STORM);
    dir.maillint()
        .args(["check", "storm.eml", "--color", "never"])
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with(
            "storm.eml:2: error[reply-all-to-list]: this reply goes to everyone on everyone@example.org",
        ))
        .stdout(predicate::str::contains("  help: reply to the sender only"));
}

#[test]
fn fail_on_levels() {
    let dir = Workdir::new();
    dir.write("mass.eml", MASS);
    for (level, code) in [("error", 0), ("warning", 1), ("info", 1), ("never", 0)] {
        dir.maillint()
            .args(["check", "mass.eml", "--fail-on", level])
            .assert()
            .code(code);
    }
    dir.write("storm.eml", STORM);
    dir.maillint()
        .args(["check", "storm.eml", "--fail-on", "never"])
        .assert()
        .code(0);
}

#[test]
fn reads_standard_input() {
    let dir = Workdir::new();
    for args in [&["check", "-"][..], &["check"][..]] {
        let out = dir
            .maillint()
            .args(args)
            .args(["--format", "json"])
            .write_stdin(STORM)
            .assert()
            .code(1)
            .get_output()
            .stdout
            .clone();
        let doc = json(&out);
        assert_eq!(doc["messages"][0]["source"], "-");
        assert_eq!(
            doc["messages"][0]["findings"][0]["rule"],
            "reply-all-to-list"
        );
    }
}

#[test]
fn json_document_shape() {
    let dir = Workdir::new();
    dir.write(
        "storm.eml",
        format!("Message-ID: <m1@example.org>\n{STORM}"),
    );
    let doc = dir.json_output(&["check", "storm.eml", "--format", "json"], 1);
    assert_eq!(doc["version"], 1);
    let msg = &doc["messages"][0];
    assert_eq!(msg["source"], "storm.eml");
    assert_eq!(msg["index"], 0);
    assert_eq!(msg["message_id"], "m1@example.org");
    let finding = &msg["findings"][0];
    assert_eq!(finding["rule"], "reply-all-to-list");
    assert_eq!(finding["severity"], "error");
    assert_eq!(
        finding["location"],
        serde_json::json!({"header": "To", "line": 3})
    );
    assert!(finding["help"].as_str().unwrap().contains("sender only"));
    assert_eq!(finding["suppressed"], false);
    assert_eq!(
        doc["summary"],
        serde_json::json!({"messages": 1, "errors": 1, "warnings": 0, "infos": 0, "unreadable": 0, "suppressed": 0})
    );
}

#[test]
fn directory_is_walked_in_name_order() {
    let dir = Workdir::new();
    let mail = dir.path().join("mail");
    fs::create_dir_all(mail.join("sub")).unwrap();
    fs::write(mail.join("b.eml"), MASS).unwrap();
    fs::write(mail.join("a.eml"), CLEAN).unwrap();
    fs::write(mail.join("sub/c.eml"), STORM).unwrap();
    fs::write(mail.join(".hidden"), "not mail").unwrap();
    let doc = dir.json_output(&["check", "mail", "--format", "json"], 1);
    let sources: Vec<_> = doc["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["source"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(sources, ["mail/a.eml", "mail/b.eml", "mail/sub/c.eml"]);
}

#[test]
fn mbox_messages_are_each_checked_with_file_lines() {
    let dir = Workdir::new();
    let mbox = format!(
        "From a@example.org Mon Jan  1 00:00:00 2024\n{CLEAN}\nFrom a@example.org Mon Jan  1 00:00:00 2024\n{STORM}"
    );
    dir.write("box", mbox);
    let doc = dir.json_output(&["check", "box", "--format", "json"], 1);
    assert_eq!(doc["summary"]["messages"], 2);
    let second = &doc["messages"][1];
    assert_eq!(second["index"], 1);
    assert_eq!(second["findings"][0]["location"]["line"], 10);
}

#[test]
fn maildir_reads_cur_and_new_only() {
    let dir = Workdir::new();
    let md = dir.path().join("Maildir");
    for sub in ["cur", "new", "tmp", ".Sent/cur", ".Sent/new", ".Sent/tmp"] {
        fs::create_dir_all(md.join(sub)).unwrap();
    }
    fs::write(md.join("cur/1700000000.1.host:2,S"), CLEAN).unwrap();
    fs::write(md.join("new/1700000001.2.host"), MASS).unwrap();
    fs::write(md.join("tmp/1700000002.3.host"), "half-delivered").unwrap();
    fs::write(md.join(".Sent/cur/1700000003.4.host:2,S"), STORM).unwrap();
    fs::write(md.join("dovecot-uidlist"), "3 V1 N4\n").unwrap();
    let doc = dir.json_output(&["check", "Maildir", "--format", "json"], 1);
    assert_eq!(doc["summary"]["messages"], 3);
    assert_eq!(doc["summary"]["unreadable"], 0);
}

#[test]
fn json_draft() {
    let dir = Workdir::new();
    let draft = serde_json::json!({
        "from": "Survey <survey@police.example.gov.uk>",
        "to": ["survey@police.example.gov.uk"],
        "cc": (0..12).map(|i| format!("Victim {i} <victim{i}@gmail.com>")).collect::<Vec<_>>(),
        "subject": "How did we do?",
        "text": "Please take our survey.",
        "headers": {"X-Campaign": "survey-1"},
        "attachments": [{"filename": "survey.pdf", "content_type": "application/pdf", "size": 1234}]
    });
    dir.write("draft.json", draft.to_string());
    let doc = dir.json_output(&["check", "draft.json", "--format", "json"], 1);
    let finding = &doc["messages"][0]["findings"][0];
    assert_eq!(finding["rule"], "cc-exposure");
    assert_eq!(finding["severity"], "error");
    assert_eq!(finding["location"], serde_json::json!({"header": "Cc"}));
}

#[test]
fn bad_inputs_are_reported_and_the_rest_still_checked() {
    let dir = Workdir::new();
    dir.write("a-good.eml", MASS);
    dir.write("b-empty.eml", "");
    dir.write("c-junk.bin", [0u8, 159, 146, 150, 0xff, 0x00, 0x13]);
    dir.write("d-bad.json", "{\"to\": [1, 2]");
    dir.write("e-good.eml", STORM);
    let out = dir
        .maillint()
        .args([
            "check",
            "a-good.eml",
            "b-empty.eml",
            "c-junk.bin",
            "d-bad.json",
            "missing.eml",
            "e-good.eml",
            "--format",
            "json",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "maillint: error: b-empty.eml: empty file",
        ))
        .stderr(predicate::str::contains(
            "maillint: error: c-junk.bin: not an email message",
        ))
        .stderr(predicate::str::contains(
            "maillint: error: d-bad.json: invalid JSON draft",
        ))
        .stderr(predicate::str::contains(
            "maillint: error: missing.eml: no such file or directory",
        ))
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr.lines().count(),
        4,
        "one line per bad input:\n{stderr}"
    );
    let doc = json(&out.stdout);
    assert_eq!(doc["summary"]["messages"], 2);
    assert_eq!(doc["summary"]["unreadable"], 4);
    assert_eq!(doc["errors"][0]["source"], "b-empty.eml");
}

#[test]
fn unreadable_paths_are_errors_not_crashes() {
    let dir = Workdir::new();
    dir.write("m.eml", CLEAN);
    dir.maillint()
        .args(["check", "m.eml/inside", "m.eml"])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with(
            "maillint: error: m.eml/inside: cannot read:",
        ))
        .stdout(predicate::str::contains("Checked 1 message"));

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let locked = dir.path().join("locked.eml");
        fs::write(&locked, CLEAN).unwrap();
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
        // Permissions do not stop root, so this half only runs for other users.
        if fs::read(&locked).is_err() {
            dir.maillint()
                .args(["check", "locked.eml"])
                .assert()
                .code(2)
                .stderr(predicate::str::contains("locked.eml: permission denied"));
        }
    }
}

#[test]
fn config_is_discovered_upwards_and_applied() {
    let dir = Workdir::new();
    let nested = dir.path().join("a/b");
    fs::create_dir_all(&nested).unwrap();
    dir.write("maillint.toml", "[rules.mass-list]\nseverity = \"error\"\n");
    fs::write(nested.join("m.eml"), MASS).unwrap();
    maillint(&nested)
        .args(["check", "m.eml", "--color", "never"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("error[mass-list]"));
}

#[test]
fn xdg_config_is_the_fallback() {
    let dir = Workdir::new();
    let xdg = dir.path().join("xdg");
    fs::create_dir_all(xdg.join("maillint")).unwrap();
    fs::write(
        xdg.join("maillint/config.toml"),
        "[rules.mass-list]\nseverity = \"off\"\n",
    )
    .unwrap();
    dir.write("m.eml", MASS);
    dir.maillint()
        .env("XDG_CONFIG_HOME", &xdg)
        .args(["check", "m.eml", "--fail-on", "warning"])
        .assert()
        .code(0);
}

#[test]
fn bad_config_names_file_and_line() {
    let dir = Workdir::new();
    dir.write("m.eml", CLEAN);
    for (text, expected) in [
        (
            "[organization]\ndomains = [\"example.org\"]\ncolour = 1\n",
            "maillint.toml:3: organization.colour: unknown field `colour`",
        ),
        (
            "[rules.no-such-rule]\nseverity = \"error\"\n",
            "maillint.toml:1: unknown rule `no-such-rule`",
        ),
        (
            "[rules.recipient-count]\nwarning = 10\nerror = \"lots\"\n",
            "maillint.toml:3: ",
        ),
        (
            "[rules.recipient-count]\nwarning = 100\nerror = 50\n",
            "maillint.toml:3: rules.recipient-count.error: must not be below `warning`",
        ),
        (
            "[rules.cc-exposure]\nseverity = \"loud\"\n",
            "maillint.toml:2: rules.cc-exposure.severity",
        ),
        ("[rules.cc-exposure\n", "maillint.toml:1: "),
    ] {
        dir.write("maillint.toml", text);
        dir.maillint()
            .args(["check", "m.eml"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(expected));
    }
}

#[test]
fn explicit_config_flag() {
    let dir = Workdir::new();
    dir.write("m.eml", "From: a@example.org\nTo: big@example.org\n\nhi\n");
    dir.write(
        "org.toml",
        "[lists.\"big@example.org\"]\nmembers = 100000\n",
    );
    dir.maillint()
        .args(["check", "m.eml", "--config", "org.toml", "--color", "never"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "error[recipient-count]: 100,000 recipients",
        ));
    dir.maillint()
        .args(["check", "m.eml", "--config", "missing.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.toml: cannot read config"));
}

#[test]
fn select_and_ignore() {
    let dir = Workdir::new();
    dir.write("m.eml", MASS);
    dir.maillint()
        .args([
            "check",
            "m.eml",
            "--ignore",
            "mass-list",
            "--fail-on",
            "warning",
        ])
        .assert()
        .code(0);
    dir.maillint()
        .args([
            "check",
            "m.eml",
            "--select",
            "cc-exposure,recipient-count",
            "--fail-on",
            "warning",
        ])
        .assert()
        .code(0);
    dir.maillint()
        .args(["check", "m.eml", "--select", "cc-exposur"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown rule `cc-exposur`"));
}

#[test]
fn color_is_controlled() {
    let dir = Workdir::new();
    dir.write("m.eml", MASS);
    dir.maillint()
        .args(["check", "m.eml", "--color", "always"])
        .assert()
        .stdout(predicate::str::contains("\x1b["));
    dir.maillint()
        .args(["check", "m.eml"])
        .assert()
        .stdout(predicate::str::contains("\x1b[").not());
}

#[test]
fn rules_and_explain() {
    let dir = Workdir::new();
    dir.maillint().arg("rules").assert().code(0).stdout(
        predicate::str::contains("cc-exposure").and(predicate::str::contains("reply-all-to-list")),
    );
    dir.maillint()
        .args(["explain", "cc-exposure"])
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains("## Why it matters")
                .and(predicate::str::contains("1,136 crime victims")),
        );
    dir.maillint().args(["explain", "nope"]).assert().code(2);
}

#[test]
fn readme_rule_table_is_current() {
    let readme =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme
        .find("<!-- rules:start -->\n")
        .expect("README has the rules:start marker")
        + "<!-- rules:start -->\n".len();
    let end = readme
        .find("<!-- rules:end -->")
        .expect("README has the rules:end marker");
    assert_eq!(
        &readme[start..end],
        maillint::rules::markdown_table(),
        "README's rule table is stale: replace it with the output of `maillint rules --format markdown`"
    );
}

#[test]
fn the_bundled_incident_fixture_fails_the_check() {
    let dir = Workdir::new();
    dir.maillint()
        .args([
            "check",
            &fixture("incidents/police-cc-survey.eml"),
            "--color",
            "never",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "error[cc-exposure]: 150 external addresses",
        ));
}

/// The custom rule of the config unit tests, for an organisation.
fn falcon_config() -> String {
    format!(
        "[organization]\ndomains = [\"example.org\"]\n\n{}",
        include_str!("data/falcon.toml")
    )
}

#[test]
fn custom_rules_are_checked_listed_and_explained() {
    let dir = Workdir::new();
    dir.write("maillint.toml", falcon_config());
    dir.write("out.eml", "From: a@example.org\nTo: b@partner.example\nSubject: Falcon\n\nThe Project Falcon budget.\n");
    dir.maillint()
        .args(["check", "out.eml", "--color", "never"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "out.eml:5: error[project-falcon]: Codename Falcon must not leave the organisation",
        ));
    dir.maillint()
        .args(["check", "out.eml", "--ignore", "project-falcon"])
        .assert()
        .code(0);
    dir.maillint()
        .arg("rules")
        .assert()
        .stdout(predicate::str::contains("project-falcon       error    Codename Falcon must not leave the organisation (custom)"));
    dir.maillint()
        .args(["explain", "project-falcon"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "over subject, body; when = \"external\"",
        ));
    let out = dir
        .maillint()
        .args(["check", "out.eml", "--format", "json"])
        .assert()
        .get_output()
        .stdout
        .clone();
    let doc = json(&out);
    let findings = doc["messages"][0]["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["rule"] == "project-falcon" && f["severity"] == "error")
    );
}

#[test]
fn custom_rule_with_a_bad_regex_is_a_config_error() {
    let dir = Workdir::new();
    dir.write(
        "maillint.toml",
        falcon_config().replace("(?i)project", "(?i)project("),
    );
    dir.write("m.eml", CLEAN);
    dir.maillint()
        .args(["check", "m.eml"])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with(
            "maillint: error: maillint.toml:6: custom.pattern of `project-falcon`",
        ));
}

#[test]
fn inline_allow_silences_named_rules_unless_disabled() {
    let dir = Workdir::new();
    dir.write(
        "m.eml",
        format!("X-Maillint-Allow: reply-all-to-list; reason=agreed with comms\n{STORM}"),
    );
    dir.maillint()
        .args(["check", "m.eml", "--color", "never"])
        .assert()
        .code(0)
        .stdout("Checked 1 message: 0 errors, 0 warnings, 0 infos, 1 finding allowed by X-Maillint-Allow\n");
    let doc = dir.json_output(&["check", "m.eml", "--format", "json"], 0);
    assert_eq!(doc["messages"][0]["findings"][0]["suppressed"], true);
    assert_eq!(doc["summary"]["suppressed"], 1);
    assert_eq!(doc["summary"]["errors"], 0);
    dir.maillint()
        .args(["check", "m.eml", "--no-inline-allow"])
        .assert()
        .code(1);
}

#[test]
fn init_writes_a_starter_config_once() {
    let dir = Workdir::new();
    dir.maillint()
        .args(["init", "--domain", "example.ac.uk"])
        .assert()
        .code(0)
        .stdout("wrote maillint.toml for the organisation example.ac.uk\n");
    let text = fs::read_to_string(dir.path().join("maillint.toml")).unwrap();
    assert!(text.contains("domains = [\"example.ac.uk\"]"));
    dir.write("m.eml", MASS);
    dir.maillint().args(["check", "m.eml"]).assert().code(0);
    dir.maillint()
        .args(["init"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already exists"));
    assert_eq!(
        fs::read_to_string(dir.path().join("maillint.toml")).unwrap(),
        text
    );
}

#[test]
fn init_user_writes_your_own_config_and_force_replaces() {
    let dir = Workdir::new();
    let user_file = dir.path().join(".no-config/maillint/config.toml");
    dir.maillint()
        .args(["init", "--user", "--domain", "example.org"])
        .assert()
        .code(0)
        .stdout(format!(
            "wrote {} for the organisation example.org\n",
            user_file.display()
        ));
    assert!(
        fs::read_to_string(&user_file)
            .unwrap()
            .contains("domains = [\"example.org\"]")
    );
    assert!(!dir.path().join("maillint.toml").exists());
    dir.maillint()
        .args(["init", "--user", "--domain", "example.net"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "already exists; not overwriting it (--force replaces it)",
        ));
    dir.maillint()
        .args(["init", "--user", "--domain", "example.net", "--force"])
        .assert()
        .code(0);
    assert!(
        fs::read_to_string(&user_file)
            .unwrap()
            .contains("domains = [\"example.net\"]")
    );
}

#[test]
fn a_project_config_is_layered_over_your_own() {
    let dir = Workdir::new();
    // Your organisation, two domains, in your own config.
    fs::create_dir_all(dir.path().join(".no-config/maillint")).unwrap();
    dir.write(
        ".no-config/maillint/config.toml",
        "[organization]\ndomains = [\"example.org\", \"example-group.com\"]\n",
    );
    // A project's file as `maillint init` writes it without a domain,
    // with a rule setting of its own.
    let starter = maillint::config::starter(None).unwrap();
    dir.write(
        "maillint.toml",
        format!("{starter}\n[rules.external-recipients]\nseverity = \"error\"\n"),
    );
    // To your organisation's other domain: internal, as your config says.
    dir.write(
        "m.eml",
        "From: a@example.org\nTo: b@example-group.com, c@example.org\nSubject: lunch\n\nNoon?\n",
    );
    dir.maillint().args(["check", "m.eml"]).assert().code(0);
    // The project's rule setting holds.
    dir.write(
        "n.eml",
        "From: a@example.org\nTo: b@partner.example\nSubject: lunch\n\nNoon?\n",
    );
    dir.maillint()
        .args(["check", "n.eml"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("error[external-recipients]"));
    // An explicit --config is used as it is: the other domain is outside.
    dir.maillint()
        .args(["check", "m.eml", "--config", "maillint.toml"])
        .assert()
        .code(1);
}

#[test]
fn human_output_names_each_message_of_an_mbox() {
    let dir = Workdir::new();
    dir.write(
        "sent.mbox",
        format!("From a@example.org Mon Jan  1 00:00:00 2024\n{CLEAN}\nFrom a@example.org Mon Jan  1 00:00:00 2024\n{STORM}"),
    );
    let out = dir.maillint().args(["check", "sent.mbox"]).assert().code(1);
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        stdout.starts_with(
            "sent.mbox: message 2, \"Re: test\":\nsent.mbox:10: error[reply-all-to-list]"
        ),
        "{stdout}"
    );
    // The clean message has no findings, so no heading.
    assert!(!stdout.contains("message 1"), "{stdout}");
}

#[test]
fn explain_suggests_the_closest_rule_id() {
    let dir = Workdir::new();
    dir.maillint()
        .args(["explain", "cc-exposrue"])
        .assert()
        .code(2)
        .stderr("maillint: error: unknown rule `cc-exposrue`; did you mean `cc-exposure`? (see `maillint rules`)\n");
    dir.maillint()
        .args(["explain", "nothing-like-it"])
        .assert()
        .code(2)
        .stderr("maillint: error: unknown rule `nothing-like-it` (see `maillint rules`)\n");
}

#[test]
fn every_command_that_reads_the_config_explains_config() {
    let dir = Workdir::new();
    let mut commands = vec!["check", "sendmail", "git-hook", "held", "rules", "explain"];
    if cfg!(feature = "history") {
        commands.push("learn");
    }
    if cfg!(feature = "milter") {
        commands.push("milter");
    }
    for command in commands {
        dir.maillint()
            .args([command, "--help"])
            .assert()
            .code(0)
            .stdout(predicate::str::contains(
                "--config <FILE>  Configuration file, used as it is (default: the nearest maillint.toml, over your own",
            ).or(predicate::str::is_match(r"--config <FILE>\s+Configuration file, used as it is").unwrap()));
    }
}

#[test]
fn completions_and_man_page() {
    let dir = Workdir::new();
    dir.maillint()
        .args(["completions", "bash"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("_maillint()").and(predicate::str::contains("--fail-on")));
    dir.maillint()
        .arg("man")
        .assert()
        .code(0)
        .stdout(predicate::str::contains(".TH maillint").and(predicate::str::contains("sendmail")));
}

#[test]
fn completion_offers_rule_ids_after_explain_and_select() {
    let dir = Workdir::new();
    let out = dir
        .maillint()
        .args(["completions", "bash"])
        .output()
        .unwrap();
    let script = String::from_utf8(out.stdout).unwrap();
    let every_id = maillint::rules::REGISTRY
        .iter()
        .map(|r| r.id)
        .collect::<Vec<_>>()
        .join(" ");
    // `explain <TAB>`: the options and rule ids; `--select <TAB>`: rule ids.
    assert!(
        script.contains(&format!("opts=\"-h --config --help {every_id}\"")),
        "{script}"
    );
    assert!(script.contains(&format!("compgen -W \"{every_id}\"")));
}

#[test]
fn man_page_has_every_command_exit_status_and_files() {
    let dir = Workdir::new();
    let out = dir.maillint().arg("man").output().unwrap();
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).unwrap();
    for command in [
        "check",
        "sendmail",
        "git-hook",
        "init",
        "completions",
        "man",
        "rules",
        "explain",
        "held",
    ] {
        let heading = format!(".SS \"maillint {command}\"\n");
        assert!(page.contains(&heading), "{heading}");
    }
    for text in [
        r"\fB\-\-fail\-on\fR",
        r"\fB\-\-sendmail\fR \fI<PATH>\fR",
        r"\fB\-\-domain\fR",
        ".SH \"EXIT STATUS\"",
        ".SH CONFIGURATION",
        ".SH FILES",
        ".SH ENVIRONMENT",
    ] {
        assert!(page.contains(text), "{text}");
    }
    // The stub pointed to pages that do not exist.
    assert!(!page.contains("maillint-check(1)"));
    // One page: no command's own NAME or OPTIONS heading inside it.
    assert_eq!(page.matches(".SH OPTIONS").count(), 0);
}

#[test]
fn select_and_ignore_accept_spaces_after_commas() {
    let dir = Workdir::new();
    dir.write("storm.eml", STORM);
    dir.maillint()
        .args([
            "check",
            "storm.eml",
            "--select",
            "cc-exposure, reply-all-to-list",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("error[reply-all-to-list]"));
    dir.maillint()
        .args([
            "check",
            "storm.eml",
            "--ignore",
            "mass-list , reply-all-to-list",
        ])
        .assert()
        .code(0);
}

/// Copies a directory tree, such as an example, into a temporary directory.
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The fenced block that follows `after` in the README.
fn readme_block(readme: &str, after: &str) -> String {
    let start = readme.find(after).expect("README has the passage") + after.len();
    let rest = &readme[start..];
    let open = rest.find("```").unwrap();
    let body = &rest[open..];
    let body = &body[body.find('\n').unwrap() + 1..];
    body[..body.find("```").unwrap()].to_string()
}

#[test]
fn newsletter_example_runs_as_the_readme_says() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let example = root.join("examples/newsletter");
    let readme = fs::read_to_string(root.join("README.md")).unwrap();
    // The README shows the example's real configuration and templates.
    let config = fs::read_to_string(example.join("maillint.toml")).unwrap();
    assert_eq!(
        readme_block(&readme, "supplies:\n"),
        config,
        "README shows examples/newsletter/maillint.toml"
    );
    let welcome = fs::read_to_string(example.join("templates/welcome.eml")).unwrap();
    assert!(welcome.starts_with(&readme_block(
        &readme,
        "The start of `templates/welcome.eml`:"
    )));
    assert_eq!(
        readme_block(
            &readme,
            "(the configuration is found in\nthe current directory):"
        ),
        "maillint check templates/ --fail-on warning\n"
    );

    let dir = Workdir::new();
    copy_tree(&example, dir.path());
    dir.maillint()
        .args(["check", "templates/", "--fail-on", "warning"])
        .assert()
        .code(0)
        .stdout(readme_block(
            &readme,
            "maillint check templates/ --fail-on warning\n```\n",
        ));

    // The breakage the README shows: no one-click header, a misspelt variable.
    let welcome_path = dir.path().join("templates/welcome.eml");
    fs::write(
        &welcome_path,
        welcome.replace("List-Unsubscribe-Post: List-Unsubscribe=One-Click\n", ""),
    )
    .unwrap();
    let digest_path = dir.path().join("templates/monthly-digest.eml");
    let digest = fs::read_to_string(&digest_path).unwrap();
    assert!(digest.contains("<p>Hi {{ first_name }},</p>"));
    fs::write(
        &digest_path,
        digest.replace("<p>Hi {{ first_name }},</p>", "<p>Hi {{ frist_name }},</p>"),
    )
    .unwrap();
    dir.maillint()
        .args(["check", "templates/", "--fail-on", "warning"])
        .assert()
        .code(1)
        .stdout(readme_block(&readme, "fails with exit code 1:"));
}

#[test]
fn a_batch_ends_with_the_messages_each_rule_hit() {
    let dir = Workdir::new();
    let mail = dir.path().join("mail");
    fs::create_dir_all(&mail).unwrap();
    fs::write(mail.join("a.eml"), MASS).unwrap();
    fs::write(mail.join("b.eml"), STORM).unwrap();
    fs::write(mail.join("c.eml"), MASS).unwrap();
    fs::write(mail.join("d.eml"), CLEAN).unwrap();
    let out = dir
        .maillint()
        .args(["check", "mail", "--color", "never"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let table: Vec<&str> = text
        .lines()
        .skip_while(|l| *l != "Messages hit per rule:")
        .collect();
    assert_eq!(
        table,
        [
            "Messages hit per rule:",
            "  mass-list                    2",
            "  reply-all-to-list            1",
            "Checked 4 messages: 1 error, 2 warnings, 0 infos",
        ]
    );
    // One message: no table.
    dir.maillint()
        .args(["check", "mail/a.eml"])
        .assert()
        .stdout(predicate::str::contains("Messages hit per rule").not());
}

/// Batches are checked on every core, in chunks; the report still lists
/// messages and errors in input order, and a progress bar is never drawn
/// when stderr is not a terminal (CI logs, pipes).
#[test]
fn a_parallel_batch_reports_in_input_order() {
    let dir = Workdir::new();
    let mail = dir.path().join("mail");
    fs::create_dir_all(&mail).unwrap();
    let mut mbox = String::new();
    let mut expected_files = Vec::new();
    for i in 0..700 {
        let name = format!("{i:03}.eml");
        if i % 97 == 5 {
            fs::write(mail.join(&name), "").unwrap();
            continue;
        }
        // Some messages take far longer than their neighbours to check.
        let body = if i % 50 == 0 {
            "word ".repeat(200_000)
        } else {
            format!("hello {i}")
        };
        let text = format!("From: a@example.org\nTo: b@example.org\nSubject: n{i}\n\n{body}\n");
        fs::write(mail.join(&name), &text).unwrap();
        mbox.push_str(&format!(
            "From a@example.org Mon Jan  1 00:00:00 2024\n{text}\n"
        ));
        expected_files.push(format!("mail/{name}"));
    }
    dir.write("box", &mbox);
    let out = dir
        .maillint()
        .args(["check", "mail", "box", "--format", "json"])
        .env("RAYON_NUM_THREADS", "2")
        .assert()
        .code(2)
        .stderr(predicate::function(|err: &str| {
            err.lines().all(|l| l.starts_with("maillint: error: mail/"))
        }))
        .get_output()
        .stdout
        .clone();
    let doc = json(&out);
    let messages = doc["messages"].as_array().unwrap();
    let sources: Vec<&str> = messages
        .iter()
        .map(|m| m["source"].as_str().unwrap())
        .collect();
    let (files, boxed) = sources.split_at(expected_files.len());
    assert_eq!(files, expected_files);
    assert!(boxed.iter().all(|s| *s == "box"));
    let indices: Vec<u64> = messages[files.len()..]
        .iter()
        .map(|m| m["index"].as_u64().unwrap())
        .collect();
    assert_eq!(
        indices,
        (0..expected_files.len() as u64).collect::<Vec<_>>()
    );
    let errors: Vec<&str> = doc["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["source"].as_str().unwrap())
        .collect();
    assert_eq!(
        errors,
        [
            "mail/005.eml",
            "mail/102.eml",
            "mail/199.eml",
            "mail/296.eml",
            "mail/393.eml",
            "mail/490.eml",
            "mail/587.eml",
            "mail/684.eml"
        ]
    );
}

#[cfg(feature = "history")]
/// `maillint learn --index INDEX ARGS` in `dir`, which must succeed.
fn learning<'a>(
    dir: &'a Path,
    index: &'a Path,
) -> impl Fn(&[&str]) -> assert_cmd::assert::Assert + 'a {
    move |args| {
        let mut cmd = maillint(dir);
        cmd.arg("learn").arg("--index").arg(index).args(args);
        cmd.assert().success()
    }
}

#[cfg(feature = "history")]
/// `maillint check` of name-mismatch's slip in `dir`, with `index` as the
/// history.
fn check_slip(dir: &Path, index: &Path) -> assert_cmd::assert::Assert {
    std::fs::write(
        dir.join("maillint.toml"),
        format!("[history]\nindex = {:?}\n", index.display().to_string()),
    )
    .unwrap();
    let slip = fixture("name-mismatch/fire_warning_namesake_at_other_domain.eml");
    maillint(dir)
        .args(["check", &slip, "--color", "never"])
        .assert()
}

#[cfg(feature = "history")]
#[test]
fn learn_then_check_then_forget() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index.sqlite");
    let learn = learning(dir.path(), &index);
    let sent = fixture("name-mismatch/sent");
    learn(&[sent.as_str()]).stdout(predicate::str::starts_with("learned 18 messages"));
    learn(&[sent.as_str()]).stdout(
        predicate::str::contains("learned 0 messages into")
            .and(predicate::str::contains("(18 already learned)"))
            .and(predicate::str::ends_with("; read 0 messages\n")),
    );
    check_slip(dir.path(), &index).stdout(predicate::str::contains(
        "you have written to Jane Smith <jane.smith@agency.example> 9 times",
    ));
    learn(&["--forget", "Jane.Smith@agency.example"]).stdout("forgot Jane.Smith@agency.example\n");
    learn(&["--forget", "jane.smith@agency.example"])
        .stdout("jane.smith@agency.example was not in the index\n");
    check_slip(dir.path(), &index).stdout(predicate::str::contains("name-mismatch").not());
}

/// A gateway's index: each sender's history learned apart, from a Sent
/// folder under a login or from a journal, and one sender forgotten whole.
#[cfg(feature = "history")]
#[test]
fn learn_for_one_sender_from_a_journal_and_forget_a_sender() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index.sqlite");
    let learn = learning(dir.path(), &index);
    let sent = fixture("name-mismatch/sent");
    learn(&["--sender", "login:Alice", sent.as_str()])
        .stdout(predicate::str::starts_with("learned 18 messages"));
    // The same messages, from a journal: known already (each message is
    // learned once), and the journal's sender is read from each From.
    learn(&["--journal", sent.as_str()]).stdout(predicate::str::contains("(18 already learned)"));
    let history = maillint::history::History::open_for_reading(&index)
        .unwrap()
        .unwrap();
    let alice = history.for_sender("login:alice");
    assert_eq!(alice.known("jane.smith@agency.example").unwrap().count, 9);
    assert_eq!(
        history.known("jane.smith@agency.example"),
        None,
        "not the personal history"
    );
    drop((alice, history));
    check_slip(dir.path(), &index).stdout(predicate::str::contains("name-mismatch").not());
    learn(&["--forget-sender", "alice"]).stdout("forgot login:alice\n");
    learn(&["--forget-sender", "login:alice"]).stdout("login:alice was not in the index\n");
}

/// The index of a test's own: `maillint` runs with XDG_DATA_HOME in the
/// working directory, so `learn` without `--index` writes there and no test
/// reads the index of the person running the tests.
#[cfg(feature = "history")]
fn default_index(dir: &Workdir) -> std::path::PathBuf {
    dir.path().join(".no-data/maillint/history.sqlite")
}

#[cfg(feature = "history")]
#[test]
fn learn_writes_its_index_under_xdg_data_home_and_reads_only_new_mail_again() {
    let dir = Workdir::new();
    fs::create_dir(dir.path().join("sent")).unwrap();
    let message =
        |n: u32| format!("From: a@example.org\nTo: p{n}@example.net\nMessage-ID: <{n}@x>\n\nhi\n");
    dir.write("sent/1.eml", message(1));
    dir.write("sent/2.eml", message(2));
    let index = default_index(&dir);
    dir.maillint()
        .args(["learn", "sent"])
        .assert()
        .success()
        .stdout(format!(
            "learned 2 messages into {}; read 2 messages\n",
            index.display()
        ));
    dir.write("sent/3.eml", message(3));
    dir.maillint()
        .args(["learn", "sent"])
        .assert()
        .success()
        .stdout(format!(
            "learned 1 message into {} (2 already learned); read 1 message\n",
            index.display()
        ));
}

#[cfg(feature = "history")]
#[test]
fn a_damaged_index_is_said_once_and_the_other_rules_still_run() {
    let dir = Workdir::new();
    let index = default_index(&dir);
    fs::create_dir_all(index.parent().unwrap()).unwrap();
    fs::write(
        &index,
        "not an index, just text that is long enough to look like a file",
    )
    .unwrap();
    dir.write("a.eml", STORM);
    dir.write("b.eml", STORM);
    let out = dir
        .maillint()
        .args(["check", "a.eml", "b.eml", "--color", "never"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "Checked 2 messages: 2 errors, 0 warnings",
        ))
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr,
        format!(
            "maillint: warning: history index {}: file is not a database; checking without the \
             history rules (new-recipient, name-mismatch, unusual-company); move it away and run \
             `maillint learn` to rebuild it\n",
            index.display()
        )
    );
    // Without a history rule in the run, the index is not even opened.
    dir.maillint()
        .args(["check", "a.eml", "--select", "reply-all-to-list"])
        .assert()
        .code(1)
        .stderr("");
    // Asked to learn, maillint does not write over a file it cannot read.
    dir.maillint()
        .args(["learn", "a.eml"])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with(format!(
            "maillint: error: history index {}: file is not a database",
            index.display()
        )));
}

/// Everything an index knows, table by table, in a stable order.
#[cfg(feature = "history")]
fn index_contents(path: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut rows = Vec::new();
    for table in ["learned", "address", "name", "pair"] {
        let mut stmt = conn.prepare(&format!("SELECT * FROM {table}")).unwrap();
        let columns = stmt.column_count();
        let mut query = stmt.query([]).unwrap();
        while let Some(row) = query.next().unwrap() {
            let values: Vec<String> = (0..columns)
                .map(|i| format!("{:?}", row.get_ref(i).unwrap()))
                .collect();
            rows.push(format!("{table}: {}", values.join(" ")));
        }
    }
    rows.sort();
    rows
}

/// `maillint learn` killed (SIGKILL) while it writes: the index still opens
/// and is consistent (whole batches only), and a second run completes it to
/// exactly what an uninterrupted run learns.
#[cfg(feature = "history")]
#[cfg(unix)]
#[test]
fn learn_killed_midway_leaves_an_index_a_rerun_completes() {
    use std::fmt::Write as _;
    let dir = Workdir::new();
    let mut mbox = String::new();
    for n in 0..60_000 {
        let _ = write!(
            mbox,
            "From me Mon Jan  5 09:00:00 2026\nFrom: me@example.org\nTo: Person {a} <p{a}@org{b}.example>, p{c}@org{b}.example\n\
             Date: Mon, 5 Jan 2026 09:{m:02}:00 +0000\nMessage-ID: <{n}@example.org>\nSubject: s\n\nx\n\n",
            a = n % 997,
            b = n % 13,
            c = n % 89,
            m = n % 60,
        );
    }
    dir.write("sent.mbox", mbox);
    let killed = dir.path().join("killed.sqlite");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("maillint"))
        .current_dir(dir.path())
        .env("XDG_CONFIG_HOME", dir.path().join(".no-config"))
        .arg("learn")
        .arg("--index")
        .arg(&killed)
        .arg("sent.mbox")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed once the first batch is committed, while the next is written.
    // Looked at only once the index is in WAL mode (its -wal file exists),
    // and read-only, so as never to stand in the way of learn's setting up.
    let wal = dir.path().join("killed.sqlite-wal");
    let committed = || {
        if !wal.exists() {
            return 0;
        }
        rusqlite::Connection::open_with_flags(&killed, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|c| c.query_row("SELECT count(*) FROM learned", [], |r| r.get::<_, i64>(0)))
            .unwrap_or(0)
    };
    let start = std::time::Instant::now();
    while committed() == 0 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "learn ended before it could be interrupted"
        );
        assert!(start.elapsed().as_secs() < 60, "learn wrote nothing");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let conn = rusqlite::Connection::open(&killed).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let learned: i64 = conn
        .query_row("SELECT count(*) FROM learned", [], |r| r.get(0))
        .unwrap();
    assert!(
        learned > 0 && learned < 60_000,
        "interrupted midway: {learned} learned"
    );
    assert_eq!(learned % 2_000, 0, "only whole batches are committed");
    let (offset, messages): (i64, i64) = conn
        .query_row("SELECT offset, messages FROM source", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(
        messages, learned,
        "the mbox is read up to the messages learned"
    );
    assert!(offset > 0);
    drop(conn);
    let learn = |index: &Path| {
        let out = dir
            .maillint()
            .arg("learn")
            .arg("--index")
            .arg(index)
            .arg("sent.mbox")
            .assert()
            .success();
        String::from_utf8(out.get_output().stdout.clone()).unwrap()
    };
    let rerun = learn(&killed);
    let thousands = |n: i64| format!("{},{:03}", n / 1000, n % 1000);
    let rest = thousands(60_000 - learned);
    assert!(
        rerun.starts_with(&format!("learned {rest} messages"))
            && rerun.ends_with(&format!(
                "({} already learned); read {rest} messages\n",
                thousands(learned)
            )),
        "{rerun}"
    );
    let whole = dir.path().join("whole.sqlite");
    learn(&whole);
    assert_eq!(index_contents(&killed), index_contents(&whole));
}

/// Built without its optional parts (`--no-default-features`), maillint
/// has no `learn` or `milter` subcommand, and says so as for any unknown
/// one; `check` works as ever.
#[cfg(not(all(feature = "history", feature = "milter")))]
#[test]
fn subcommands_of_parts_left_out_are_unknown() {
    let dir = Workdir::new();
    dir.write("a.eml", STORM);
    let left_out = [
        ("learn", cfg!(feature = "history")),
        ("milter", cfg!(feature = "milter")),
    ];
    for (subcommand, _) in left_out.iter().filter(|(_, built)| !built) {
        dir.maillint()
            .args([subcommand, "--help"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!(
                "unrecognized subcommand '{subcommand}'"
            )));
    }
    dir.maillint()
        .args(["check", "a.eml", "--color", "never"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("reply-all-to-list"));
}

#[cfg(feature = "milter")]
#[test]
fn milter_socket_mode_is_octal() {
    let dir = Workdir::new();
    let socket = format!("unix:{}", dir.path().join("milter.sock").display());
    dir.maillint()
        .args(["milter", "--listen", &socket, "--socket-mode", "999"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`999` is not a mode such as 0660"));
}
