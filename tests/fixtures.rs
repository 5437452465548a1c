//! Every fixture, checked with the default configuration: `fire_*` files must
//! produce their directory's rule, `silent_*` files must not, incidents give
//! the findings listed below, and the full output of each is a reviewed
//! insta snapshot.

use maillint::config::Config;
use maillint::input::Input;
use maillint::linter::{Linter, Selection};
use maillint::report::{Report, print_human, print_json};
use std::path::Path;

fn check(path: &Path) -> Report {
    let linter = Linter::new(Config::default(), &Selection::default()).unwrap();
    maillint::check(&[Input::Path(path.to_path_buf())], &linter)
}

fn relative(path: &Path) -> &Path {
    path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap()
}

fn human(report: &Report) -> String {
    colored::control::set_override(false);
    let mut out = Vec::new();
    print_human(report, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn rules_fired(report: &Report) -> Vec<&str> {
    let mut rules: Vec<_> = report
        .messages
        .iter()
        .flat_map(|m| &m.findings)
        .map(|f| f.rule.as_ref())
        .collect();
    rules.dedup();
    rules
}

#[test]
fn rule_fixtures_fire_or_stay_silent() {
    let mut checked = 0;
    insta::glob!("../fixtures", "*/*.eml", |path| {
        let rule = path
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap();
        if rule == "incidents" || rule == "malformed" {
            return;
        }
        let name = path.file_name().unwrap().to_str().unwrap();
        let report = check(relative(path));
        assert!(report.errors.is_empty(), "{name}: {:?}", report.errors);
        let fired = rules_fired(&report).contains(&rule);
        if name.starts_with("fire_") {
            assert!(fired, "{rule}/{name} should fire:\n{}", human(&report));
            for severity in ["warning", "error"] {
                if name.starts_with(&format!("fire_{severity}_")) {
                    let got = report.messages[0]
                        .findings
                        .iter()
                        .find(|f| f.rule == rule)
                        .unwrap();
                    assert_eq!(got.severity.as_str(), severity, "{rule}/{name}");
                }
            }
        } else {
            assert!(
                name.starts_with("silent_"),
                "{name}: fixtures are fire_* or silent_*"
            );
            assert!(
                !fired,
                "{rule}/{name} should stay silent:\n{}",
                human(&report)
            );
        }
        checked += 1;
    });
    assert!(checked >= 30, "only {checked} rule fixtures found");
}

#[test]
fn incidents_are_caught_and_their_counterparts_pass() {
    let expected: &[(&str, &[&str])] = &[
        ("police-cc-survey.eml", &["cc-exposure", "recipient-count"]),
        ("police-bcc-survey.eml", &["recipient-count"]),
        ("nhs-test-to-everyone.eml", &["mass-list"]),
        ("nhs-normal-to-team.eml", &[]),
        ("nhs-reply-all-storm.eml", &["reply-all-to-list"]),
        ("nhs-reply-to-sender.eml", &[]),
        ("university-all-students.eml", &["mass-list"]),
        ("university-reply-all.eml", &["reply-all-to-list"]),
        ("university-discussion-list.eml", &[]),
        (
            "newsroom-confidential-reply-all.eml",
            &["reply-all-to-list"],
        ),
        ("newsroom-reply-to-one.eml", &[]),
        ("passport-numbers-wrong-recipients.eml", &[]),
        ("passport-clean.eml", &[]),
        ("school-personal-account.eml", &["recipient-count"]),
        ("school-provisioned-account.eml", &[]),
    ];
    let dir = Path::new("fixtures/incidents");
    assert_eq!(
        std::fs::read_dir(dir).unwrap().count(),
        expected.len(),
        "every incident fixture is listed here"
    );
    for (file, rules) in expected {
        let report = check(&dir.join(file));
        assert_eq!(&rules_fired(&report), rules, "{file}:\n{}", human(&report));
    }
}

#[test]
fn snapshots() {
    insta::glob!("../fixtures", "**/*.eml", |path| {
        // Broken input has its own test, in tests/robustness.rs.
        if path.parent().is_some_and(|dir| dir.ends_with("malformed")) {
            return;
        }
        insta::assert_snapshot!(human(&check(relative(path))));
    });
}

#[test]
fn json_snapshot_of_incidents() {
    let report = check(Path::new("fixtures/incidents"));
    let mut out = Vec::new();
    print_json(&report, &mut out).unwrap();
    insta::assert_snapshot!(String::from_utf8(out).unwrap());
}
