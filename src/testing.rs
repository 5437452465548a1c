//! Helpers for the unit tests of rules.

use crate::config::{Config, OptionError};
use crate::finding::Finding;
use crate::linter::{Linter, Selection};
use crate::message::{Message, parse_rfc5322};
use crate::rules::RuleInfo;
use serde::de::DeserializeOwned;

pub fn eml(text: &str) -> Message {
    parse_rfc5322(text.as_bytes(), 1).expect("test message parses")
}

/// An HTML-only message to an outside recipient, with extra `headers`
/// (each ending in a newline) and `body` after a first paragraph.
pub fn html_eml(headers: &str, body: &str) -> Message {
    eml(&format!(
        "From: a@example.com\nTo: b@example.net\nSubject: news\n{headers}Content-Type: text/html\n\n<p>Hello</p>\n{body}\n"
    ))
}

/// Findings of one rule over a message, with the default configuration.
pub fn check_rule(id: &str, msg: &Message) -> Vec<Finding> {
    check_rule_with("", id, msg)
}

/// Why the rule `id` refuses these `[rules.<id>]` options (TOML lines),
/// built through the registry as a run builds it; `None` if it takes them.
pub fn option_error(id: &str, options: &str) -> Option<OptionError> {
    let config = Config::parse(&format!("[rules.{id}]\n{options}\n"), "test.toml")
        .expect("test config parses");
    let rule = crate::rules::find(id).expect("a built-in rule");
    (rule.build)(&config.rules[id]).err()
}

/// The key named by [`option_error`].
pub fn option_error_key(id: &str, options: &str) -> Option<String> {
    option_error(id, options).and_then(|e| e.key)
}

/// Findings of one rule over a message, with this `maillint.toml` text.
pub fn check_rule_with(config: &str, id: &str, msg: &Message) -> Vec<Finding> {
    let config = Config::parse(config, "test.toml").expect("test config parses");
    let selection = Selection {
        select: vec![id.to_string()],
        ..Selection::default()
    };
    Linter::new(config, &selection)
        .expect("test linter builds")
        .check(msg)
}

/// The `[rules.<id>]` example under a rule's Options, read as its options.
/// Each rule's test compares it with the options' `Default`, so the
/// documentation (and `maillint explain`) cannot drift from the code.
pub fn documented_options<T: DeserializeOwned>(rule: &RuleInfo) -> T {
    let doc = rule.doc_text();
    let table = doc
        .split("```toml")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .find_map(|block| {
            let parsed: toml::Table = toml::from_str(block)
                .unwrap_or_else(|e| panic!("{}: the Options example is not TOML: {e}", rule.id));
            parsed.get("rules")?.get(rule.id).cloned()
        })
        .unwrap_or_else(|| panic!("{}: no [rules.{}] example under Options", rule.id, rule.id));
    table
        .try_into()
        .unwrap_or_else(|e| panic!("{}: the Options example does not load: {e}", rule.id))
}

/// The starter with its commented-out settings switched on.
pub fn uncommented_starter() -> String {
    crate::config::starter(Some("example.org"))
        .unwrap()
        .lines()
        .map(|l| {
            let setting = |r: &&str| {
                r.starts_with('[')
                    || r.split_once(" = ").is_some_and(|(k, _)| {
                        k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                    })
            };
            l.strip_prefix("# ").filter(setting).unwrap_or(l)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A history index learned from these sent messages, and the
/// `maillint.toml` text that points the linter at it (keep the directory
/// alive while checking).
#[cfg(feature = "history")]
pub fn history(sent: &[&str]) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("history.sqlite");
    let history = crate::history::History::create(&path).expect("index");
    for text in sent {
        crate::history::learn_message(&history, &eml(text), text.as_bytes(), None)
            .expect("learned");
    }
    let config = format!("[history]\nindex = {:?}\n", path.display().to_string());
    (dir, config)
}
