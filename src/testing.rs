//! Helpers for the unit tests of rules.

use crate::config::{Config, OptionError};
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
