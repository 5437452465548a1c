//! `maillint simulate`: sent mail replayed under a new configuration and
//! the one in force (fixtures in tests/data/simulate/).
// A test: a failed unwrap is a failed run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/simulate")
        .join(name)
}

/// `maillint simulate --config NEW --against CURRENT SENT...`, isolated
/// from any configuration or history index on this machine.
fn simulate(new: &Path, current: &Path, sent: &[&Path], json: bool) -> std::process::Output {
    let home = tempfile::TempDir::new().unwrap();
    let mut cmd = Command::cargo_bin("maillint").unwrap();
    cmd.env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_DATA_HOME", home.path().join("data"))
        .arg("simulate")
        .arg("--config")
        .arg(new)
        .arg("--against")
        .arg(current)
        .args(sent);
    if json {
        cmd.args(["--format", "json"]);
    }
    cmd.output().unwrap()
}

/// `simulate` of tests/data/simulate/`new` against current.toml over
/// sent.mbox.
fn over_sent_mail(new: &str, json: bool) -> std::process::Output {
    simulate(
        &data(new),
        &data("current.toml"),
        &[&data("sent.mbox")],
        json,
    )
}

/// The Message-IDs of the differences of one kind.
fn ids(report: &serde_json::Value, change: &str) -> Vec<String> {
    report["differences"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["change"] == change)
        .map(|d| d["message_id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_change_lists_what_it_newly_stops_and_lets_through() {
    let out = over_sent_mail("new.toml", true);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The forgotten attachment went out, and would be refused.
    assert_eq!(ids(&report, "newly_stopped"), ["report@example.org"]);
    // The small Cc exposure was held, and would go out tagged.
    assert_eq!(ids(&report, "newly_let_through"), ["dinner@example.org"]);
    // The everyone-list was held, and would be refused.
    assert_eq!(ids(&report, "changed"), ["enrolment@example.org"]);
    let dinner = &report["differences"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["message_id"] == "dinner@example.org")
        .unwrap();
    assert_eq!(dinner["current"]["action"], "quarantine");
    assert_eq!(dinner["new"]["action"], "tag");
    assert_eq!(dinner["new"]["rules"][0], "cc-exposure");
    assert!(
        dinner["source"]
            .as_str()
            .unwrap()
            .ends_with("sent.mbox (message 4, line 88)"),
        "{dinner}"
    );
    assert_eq!(report["messages"], 5);
    assert_eq!(report["unchanged"], 2);
    assert_eq!(report["newly_stopped"], 1);
    assert_eq!(report["newly_let_through"], 1);
    assert_eq!(report["changed"], 1);

    // The same for a person, with a summary line.
    let out = over_sent_mail("new.toml", false);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("Newly stopped (1):\n  ") && text.contains(" report@example.org\n    now accept (forgotten-attachment), would be reject (forgotten-attachment)\n"),
        "{text}"
    );
    assert!(
        text.contains("Newly let through (1):\n") && text.contains("Otherwise changed (1):\n"),
        "{text}"
    );
    assert!(
        text.ends_with(
            "\n5 messages: 1 newly stopped, 1 newly let through, 1 otherwise changed, 2 unchanged\n"
        ),
        "{text}"
    );
}

#[test]
fn no_change_exits_zero_and_an_unreadable_input_two() {
    let same = over_sent_mail("current.toml", false);
    assert_eq!(same.status.code(), Some(0), "{same:?}");
    assert_eq!(
        String::from_utf8(same.stdout).unwrap(),
        "5 messages: 0 newly stopped, 0 newly let through, 0 otherwise changed, 5 unchanged\n"
    );
    let missing = simulate(
        &data("new.toml"),
        &data("current.toml"),
        &[&data("sent.mbox"), &data("no-such.mbox")],
        false,
    );
    assert_eq!(missing.status.code(), Some(2), "{missing:?}");
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no-such.mbox"));
    let bad = over_sent_mail("sent.mbox", false);
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("--config"),
        "{bad:?}"
    );
}

#[test]
fn storms_are_replayed_at_the_times_the_messages_were_sent() {
    let dir = tempfile::TempDir::new().unwrap();
    // Five replies to everyone in a thread, `minutes` apart.
    let thread = |minutes: u32| -> PathBuf {
        let mut mbox = String::new();
        for i in 0..5 {
            let at = i * minutes;
            mbox.push_str(&format!(
                "From u{i}@example.org Mon Nov 18 09:00:00 2024\nFrom: u{i}@example.org\nTo: everyone@example.org\nSubject: Re: Test\nMessage-ID: <r{i}@example.org>\nReferences: <root@example.org>\nDate: Mon, 18 Nov 2024 {:02}:{:02}:00 +0000\n\nPlease remove me.\n\n",
                9 + at / 60,
                at % 60
            ));
        }
        let path = dir.path().join(format!("thread-{minutes}.mbox"));
        std::fs::write(&path, mbox).unwrap();
        path
    };
    let config = |storm: bool| -> PathBuf {
        let path = dir.path().join(format!("storm-{storm}.toml"));
        std::fs::write(
            &path,
            format!("[organization]\ndomains = [\"example.org\"]\n[rules.reply-all-to-list]\nseverity = \"off\"\n[rules.mass-list]\nseverity = \"off\"\n[storm]\nenabled = {storm}\n"),
        )
        .unwrap();
        path
    };
    // Within the storm window, the third reply on is stopped.
    let quick = simulate(&config(true), &config(false), &[&thread(1)], true);
    let report: serde_json::Value = serde_json::from_slice(&quick.stdout).unwrap();
    assert_eq!(
        ids(&report, "newly_stopped"),
        ["r2@example.org", "r3@example.org", "r4@example.org"],
        "{report}"
    );
    assert_eq!(report["differences"][0]["new"]["rules"][0], "storm");
    // Hours apart, none is.
    let slow = simulate(&config(true), &config(false), &[&thread(120)], true);
    let report: serde_json::Value = serde_json::from_slice(&slow.stdout).unwrap();
    assert_eq!(report["differences"], serde_json::json!([]), "{report}");
    assert_eq!(slow.status.code(), Some(0));
}
