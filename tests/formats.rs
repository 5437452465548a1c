//! Machine formats: SARIF validated against the vendored OASIS schema, and
//! GitHub Actions annotations.
// A test: a failed unwrap is a failed run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use assert_cmd::Command;
use std::fs;
use std::path::Path;
use tempfile::TempDir;

fn maillint(cwd: &Path) -> Command {
    let mut cmd = Command::cargo_bin("maillint").unwrap();
    cmd.current_dir(cwd)
        .env("XDG_CONFIG_HOME", cwd.join(".no-config"))
        .env("XDG_DATA_HOME", cwd.join(".no-data"));
    cmd
}

/// What `maillint ARGS` prints, run in `cwd`, asserting its exit code.
fn stdout_of(cwd: &Path, args: &[&str], code: i32) -> Vec<u8> {
    maillint(cwd)
        .args(args)
        .assert()
        .code(code)
        .get_output()
        .stdout
        .clone()
}

const STORM: &str =
    "From: a@example.org\nTo: everyone@example.org\nSubject: Re: test\n\nPlease remove me\n";

/// Validates a document against the vendored OASIS schema, formats
/// included (`uri`, `uri-reference`, `date-time`), and lists the violations.
fn sarif_violations(doc: &serde_json::Value) -> Vec<String> {
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sarif-schema-2.1.0.json");
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    let index = compiler
        .compile(schema.to_str().unwrap(), &mut schemas)
        .expect("the SARIF schema compiles");
    match schemas.validate(doc, index) {
        Ok(()) => Vec::new(),
        Err(e) => vec![format!("{e:#}")],
    }
}

#[test]
fn sarif_output_is_valid_and_located() {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("maillint.toml"), "[[custom]]\nid = \"no-tests\"\npattern = \"(?i)test\"\nfields = [\"subject\"]\nmessage = \"a test\"\n").unwrap();
    fs::write(dir.path().join("storm mail.eml"), STORM).unwrap();
    fs::write(
        dir.path().join("allowed.eml"),
        format!("X-Maillint-Allow: reply-all-to-list\n{STORM}"),
    )
    .unwrap();
    fs::write(dir.path().join("junk.eml"), "\u{0}\u{1}binary").unwrap();
    let out = stdout_of(
        dir.path(),
        &[
            "check",
            "storm mail.eml",
            "allowed.eml",
            "junk.eml",
            "--format",
            "sarif",
        ],
        2,
    );
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let errors = sarif_violations(&doc);
    assert!(errors.is_empty(), "SARIF schema violations: {errors:#?}");

    let run = &doc["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(
        rules
            .iter()
            .any(|r| r["id"] == "cc-exposure" && r["defaultConfiguration"]["level"] == "warning")
    );
    assert!(
        rules.iter().any(|r| r["id"] == "no-tests"),
        "custom rules are described"
    );
    let results = run["results"].as_array().unwrap();
    let storm = results
        .iter()
        .find(|r| r["ruleId"] == "reply-all-to-list")
        .unwrap();
    assert_eq!(storm["level"], "error");
    let location = &storm["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "storm%20mail.eml");
    assert_eq!(location["region"]["startLine"], 2);
    assert_eq!(
        rules[storm["ruleIndex"].as_u64().unwrap() as usize]["id"],
        "reply-all-to-list"
    );
    let allowed = results
        .iter()
        .find(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "allowed.eml"
                && r["ruleId"] == "reply-all-to-list"
        })
        .unwrap();
    assert_eq!(allowed["suppressions"][0]["kind"], "inSource");
    let notes = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0]["message"]["text"]
            .as_str()
            .unwrap()
            .starts_with("junk.eml: ")
    );
    assert_eq!(run["invocations"][0]["executionSuccessful"], false);
}

#[test]
fn sarif_of_a_clean_run_is_valid() {
    let dir = TempDir::new().unwrap();
    fs::write(
        dir.path().join("ok.eml"),
        "From: a@example.org\nTo: b@example.org\nSubject: lunch\n\nhi\n",
    )
    .unwrap();
    let out = stdout_of(dir.path(), &["check", "ok.eml", "--format", "sarif"], 0);
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(sarif_violations(&doc), Vec::<String>::new());
    assert_eq!(doc["runs"][0]["results"], serde_json::json!([]));
}

/// The validator does check formats: a bad `uri` is a violation.
#[test]
fn sarif_validation_checks_uri_formats() {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("m.eml"), STORM).unwrap();
    let out = maillint(dir.path())
        .args(["check", "m.eml", "--format", "sarif"])
        .output()
        .unwrap();
    let mut doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sarif_violations(&doc), Vec::<String>::new());
    doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] =
        "1700000000.1.host:2,S".into();
    assert_eq!(
        sarif_violations(&doc).len(),
        1,
        "a relative reference with a colon"
    );
    doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] =
        "a b.eml".into();
    assert_eq!(sarif_violations(&doc).len(), 1, "a space");
}

/// File names that are not URI references as they stand (a Maildir
/// `:2,S` flag suffix, a colon that would read as a scheme, a leading
/// `//` that would read as a host) are escaped into ones that name the
/// same file, and the document still validates.
#[test]
fn sarif_uris_of_awkward_file_names() {
    let dir = TempDir::new().unwrap();
    let cur = dir.path().join("Maildir/cur");
    fs::create_dir_all(&cur).unwrap();
    for name in ["1700000000.1.host:2,S", "c:d.eml", "100% [draft] #2?.eml"] {
        fs::write(cur.join(name), STORM).unwrap();
    }
    let out = stdout_of(dir.path(), &["check", "Maildir", "--format", "sarif"], 1);
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(sarif_violations(&doc), Vec::<String>::new());
    let mut uris: Vec<&str> = doc["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
        })
        .collect();
    uris.dedup();
    assert_eq!(
        uris,
        [
            "Maildir/cur/100%25%20%5Bdraft%5D%20%232%3F.eml",
            "Maildir/cur/1700000000.1.host%3A2,S",
            "Maildir/cur/c%3Ad.eml",
        ]
    );

    let slashes = format!("/{}", cur.join("c:d.eml").display());
    let out = maillint(dir.path())
        .args(["check", &slashes, "--format", "sarif"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sarif_violations(&doc), Vec::<String>::new());
    let uri = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
        ["uri"]
        .as_str()
        .unwrap();
    assert!(
        uri.starts_with("/.//") && uri.ends_with("/c%3Ad.eml"),
        "{uri}"
    );
}

#[test]
fn github_annotations() {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("a,b.eml"), STORM).unwrap();
    fs::write(dir.path().join("empty.eml"), "").unwrap();
    let out = stdout_of(
        dir.path(),
        &["check", "a,b.eml", "empty.eml", "--format", "github"],
        2,
    );
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "::error file=a%2Cb.eml,line=2,title=maillint reply-all-to-list::this reply goes to everyone on everyone@example.org (name matches `everyone`)%0Ahelp: reply to the sender only: remove the list from the recipients"
    );
    assert_eq!(
        lines[1],
        "::error file=empty.eml,title=maillint::empty file"
    );
    assert_eq!(lines.len(), 2);
}

/// An mbox whose second message is over the size limit: the error names the
/// mbox file and points at that message's `From ` line (line 8), not at a
/// file called "archive.mbox (message 2, line 8)".
fn mbox_with_unreadable_message(dir: &Path) {
    fs::write(
        dir.join("maillint.toml"),
        "[input]\nmax_message_size = 200\n",
    )
    .unwrap();
    let big = "x".repeat(300);
    let ok = "From: a@example.org\nTo: b@example.org\nSubject: hi\n\nhello\n";
    fs::write(
        dir.join("archive.mbox"),
        format!("From a@example.org Mon Jan  1 00:00:00 2024\n{ok}\nFrom a@example.org Mon Jan  1 00:00:00 2024\n{ok}{big}\n"),
    )
    .unwrap();
}

#[test]
fn sarif_locates_an_unreadable_mbox_message_in_its_file() {
    let dir = TempDir::new().unwrap();
    mbox_with_unreadable_message(dir.path());
    let out = stdout_of(
        dir.path(),
        &["check", "archive.mbox", "--format", "sarif"],
        2,
    );
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(sarif_violations(&doc), Vec::<String>::new());
    let notification = &doc["runs"][0]["invocations"][0]["toolExecutionNotifications"][0];
    let location = &notification["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "archive.mbox");
    assert_eq!(location["region"]["startLine"], 8);
    let text = notification["message"]["text"].as_str().unwrap();
    assert!(
        text.starts_with("archive.mbox (message 2, line 8): "),
        "{text}"
    );
}

#[test]
fn github_locates_an_unreadable_mbox_message_in_its_file() {
    let dir = TempDir::new().unwrap();
    mbox_with_unreadable_message(dir.path());
    let out = stdout_of(
        dir.path(),
        &["check", "archive.mbox", "--format", "github"],
        2,
    );
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.starts_with("::error file=archive.mbox,line=8,title=maillint::message 2: "),
        "{text}"
    );
}
