//! Every fixture, checked with the default configuration, or with the
//! `maillint.toml` in its directory when there is one: `fire_*` files must
//! produce their rule (`fixtures/<rule>/`, subdirectories included),
//! `silent_*` files must not, incidents give
//! the findings listed below, and the full output of each is a reviewed
//! insta snapshot.
// A test: a failed unwrap is a failed run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use maillint::config::Config;
#[cfg(feature = "history")]
use maillint::history::History;
use maillint::input::Input;
use maillint::linter::{Linter, Selection};
use maillint::report::{self, PrintOptions, Report};
use maillint::rules::HISTORY_RULES;
use std::path::Path;

/// Checks a fixture file or directory with the configuration of its
/// directory: `maillint.toml` beside it, else the defaults. The history
/// rules read an index learned from the sent mail in `sent/` beside it, as `maillint
/// learn` would; without one, an empty place, so that the developer's own
/// index never reaches the fixtures.
fn check(path: &Path) -> Report {
    let dir = if path.is_dir() {
        path
    } else {
        path.parent().unwrap()
    };
    let config_file = dir.join(maillint::config::FILE_NAME);
    let mut config = if config_file.is_file() {
        Config::load(&config_file).unwrap()
    } else {
        Config::default()
    };
    let index_dir = tempfile::tempdir().unwrap();
    let index = index_dir.path().join("history.sqlite");
    #[cfg(feature = "history")]
    {
        let sent = dir.join("sent");
        if sent.is_dir() {
            let history = History::create(&index).unwrap();
            let learned =
                maillint::history::learn(&history, &[Input::Path(sent)], &config.input, &|_| {})
                    .unwrap();
            assert!(learned.errors.is_empty(), "{:?}", learned.errors);
        }
    }
    config.history.index = Some(index);
    let linter = Linter::new(config, &Selection::default()).unwrap();
    maillint::check(&[Input::Path(path.to_path_buf())], &linter)
}

fn relative(path: &Path) -> &Path {
    path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap()
}

/// The report in one format, without colours.
fn printed(format: &str, report: &Report) -> String {
    let config = Config::default();
    let options = PrintOptions {
        config: &config,
        color: false,
    };
    let mut out = Vec::new();
    let printer = report::printer(format).unwrap();
    printer.print(report, &options, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// Rules with findings that count: one silenced by the message's own
/// `X-Maillint-Allow` header is not shown, so it did not fire.
fn rules_fired(report: &Report) -> Vec<&str> {
    let mut rules: Vec<_> = report
        .messages
        .iter()
        .flat_map(|m| m.active_findings())
        .map(|f| f.rule.as_ref())
        .collect();
    rules.dedup();
    rules
}

#[test]
fn rule_fixtures_fire_or_stay_silent() {
    let mut checked = 0;
    insta::glob!("../fixtures", "**/*.eml", |path| {
        // `fixtures/<rule>/...`: a rule's fixtures may sit in subdirectories
        // with their own maillint.toml (a rule's other mode).
        let rule = fixture_dir(path);
        if rule == "incidents" || rule == "malformed" {
            return;
        }
        let name = path.file_name().unwrap().to_str().unwrap();
        let report = check(relative(path));
        assert!(report.errors.is_empty(), "{name}: {:?}", report.errors);
        let fired = rules_fired(&report).contains(&rule);
        // Without the `history` feature there is no index: the history
        // rules stay silent on their fire_ fixtures too, as do the fixtures
        // that need their `sent/` history.
        let can_fire = cfg!(feature = "history") || !needs_history(path);
        if name.starts_with("fire_") && can_fire {
            assert!(
                fired,
                "{rule}/{name} should fire:\n{}",
                printed("human", &report)
            );
            for severity in ["info", "warning", "error"] {
                if name.starts_with(&format!("fire_{severity}_")) {
                    let got = report.messages[0]
                        .active_findings()
                        .find(|f| f.rule == rule)
                        .unwrap();
                    assert_eq!(got.severity.as_str(), severity, "{rule}/{name}");
                }
            }
        } else {
            assert!(
                name.starts_with("silent_") || !can_fire,
                "{name}: fixtures are fire_* or silent_*"
            );
            assert!(
                !fired,
                "{rule}/{name} should stay silent:\n{}",
                printed("human", &report)
            );
        }
        checked += 1;
    });
    assert!(checked >= 30, "only {checked} rule fixtures found");
}

/// Every built-in rule has fixtures showing it fire and stay silent
/// (custom rules are the configuration's, and tested in tests/cli.rs).
#[test]
fn every_rule_has_fire_and_silent_fixtures() {
    fn names(dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                names(&path, out);
            } else if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                out.push(name.to_string());
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut missing = Vec::new();
    for rule in maillint::rules::REGISTRY {
        let mut files = Vec::new();
        names(&root.join(rule.id), &mut files);
        for kind in ["fire_", "silent_"] {
            if !files
                .iter()
                .any(|f| f.starts_with(kind) && f.ends_with(".eml"))
            {
                missing.push(format!("fixtures/{}/{kind}*.eml", rule.id));
            }
        }
    }
    assert!(missing.is_empty(), "missing fixtures: {missing:?}");
}

#[test]
fn incidents_are_caught_and_their_counterparts_pass() {
    let expected: &[(&str, &[&str])] = &[
        ("police-cc-survey.eml", &["cc-exposure", "recipient-count"]),
        ("police-bcc-survey.eml", &["recipient-count"]),
        ("nhs-test-to-everyone.eml", &["mass-list", "test-message"]),
        ("nhs-normal-to-team.eml", &[]),
        ("nhs-reply-all-storm.eml", &["reply-all-to-list"]),
        ("nhs-reply-to-sender.eml", &[]),
        ("university-all-students.eml", &["mass-list"]),
        ("university-reply-all.eml", &["reply-all-to-list"]),
        ("university-discussion-list.eml", &[]),
        (
            "newsroom-confidential-reply-all.eml",
            &["reply-all-to-list", "confidential-broad"],
        ),
        ("newsroom-reply-to-one.eml", &[]),
        (
            "passport-numbers-wrong-recipients.eml",
            &["personal-data", "confidential-broad"],
        ),
        ("passport-clean.eml", &[]),
        (
            "school-personal-account.eml",
            &["recipient-count", "invalid-address"],
        ),
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
        let mut fired = rules_fired(&report);
        fired.sort_unstable();
        fired.dedup();
        let mut want = rules.to_vec();
        want.sort_unstable();
        assert_eq!(fired, want, "{file}:\n{}", printed("human", &report));
    }
}

/// The newsletter everything in the bulk rules asks for: one-click
/// unsubscribe headers covered by an aligned DKIM signature, text and HTML
/// alternatives, https links with words as their text, alt text, a Date and
/// a Message-ID. No rule may find anything in it, with the default
/// configuration or with every message treated as bulk mail.
#[test]
fn well_formed_newsletter_is_silent_for_every_rule() {
    let path = Path::new("fixtures/list-unsubscribe/silent_well_formed_newsletter.eml");
    for config in ["", "[bulk]\nalways = true\n"] {
        let config = Config::parse(config, "maillint.toml").unwrap();
        let linter = Linter::new(config, &Selection::default()).unwrap();
        let report = maillint::check(&[Input::Path(path.to_path_buf())], &linter);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert_eq!(report.messages.len(), 1);
        assert!(
            report.messages[0].findings.is_empty(),
            "{}",
            printed("human", &report)
        );
    }
}

/// Everyday mail: an internal thread (with a legal footer, "attached" and
/// "confidential" only in quoted or footer text), a one-to-one reply to an
/// outside supplier, and the newsletter above. No warning or error.
#[test]
fn everyday_mail_gets_no_warning_or_error() {
    for file in [
        "fixtures/external-recipients/silent_internal_thread.eml",
        "fixtures/external-recipients/silent_one_to_one_external_reply.eml",
        "fixtures/list-unsubscribe/silent_well_formed_newsletter.eml",
    ] {
        let report = check(Path::new(file));
        assert_eq!(report.messages.len(), 1, "{file}");
        let loud: Vec<_> = report.messages[0]
            .findings
            .iter()
            .filter(|f| f.severity >= maillint::finding::Severity::Warning)
            .collect();
        assert!(loud.is_empty(), "{file}:\n{}", printed("human", &report));
    }
}

/// The directory of fixtures/ a fixture is in: its rule's id, or
/// `incidents` or `malformed`.
fn fixture_dir(path: &Path) -> &str {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let dir = path
        .strip_prefix(&root)
        .unwrap()
        .components()
        .next()
        .unwrap();
    dir.as_os_str().to_str().unwrap()
}

/// Whether a fixture's findings come from a history: a history rule's,
/// or one beside a `sent/` directory to learn (another rule's fixtures of
/// what it does with a history).
fn needs_history(path: &Path) -> bool {
    HISTORY_RULES.contains(&fixture_dir(path))
        || path.parent().is_some_and(|dir| dir.join("sent").is_dir())
}

#[test]
fn snapshots() {
    insta::glob!("../fixtures", "**/*.eml", |path| {
        // Broken input has its own test, in tests/robustness.rs.
        if path.parent().is_some_and(|dir| dir.ends_with("malformed")) {
            return;
        }
        // The history rules' snapshots show what they find with an index;
        // without the `history` feature the test above checks them silent.
        if !cfg!(feature = "history") && needs_history(path) {
            return;
        }
        insta::assert_snapshot!(printed("human", &check(relative(path))));
    });
}

#[test]
fn json_snapshot_of_incidents() {
    let report = check(Path::new("fixtures/incidents"));
    insta::assert_snapshot!(printed("json", &report));
}
