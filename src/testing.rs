//! Helpers for the unit tests of rules.

use crate::config::Config;
use crate::finding::Finding;
use crate::linter::{Linter, Selection};
use crate::message::{Message, parse_rfc5322};

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

/// A history index learned from these sent messages, and the
/// `maillint.toml` text that points the linter at it (keep the directory
/// alive while checking).
pub fn history(sent: &[&str]) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("history.sqlite");
    let history = crate::history::History::create(&path).expect("index");
    for text in sent {
        crate::history::learn_message(&history, &eml(text), text.as_bytes()).expect("learned");
    }
    let config = format!("[history]\nindex = {:?}\n", path.display().to_string());
    (dir, config)
}
