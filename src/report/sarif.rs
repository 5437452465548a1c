//! SARIF 2.1.0, for code-scanning dashboards and CI tools.

use super::{MessageReport, PrintOptions, Printer, Report};
use crate::config::Config;
use crate::finding::{Finding, Severity};
use crate::input::Origin;
use crate::rules::REGISTRY;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde_json::{Value, json};
use std::io::{self, Write};

const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// Characters escaped when a path becomes a URI reference: everything but
/// unreserved characters, sub-delimiters and `/`. A `:` is escaped too:
/// unescaped, `c:d.eml` would read as a URI of the scheme `c`, and a
/// Maildir name such as `1700000000.1.host:2,S` would be no URI at all.
const PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b':')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// The `rules` of the driver: every built-in rule, then the custom ones.
fn rule_descriptors(config: &Config) -> Vec<Value> {
    let builtin = REGISTRY.iter().map(|r| {
        let doc = r.doc_text();
        json!({
            "id": r.id,
            "name": r.id,
            "shortDescription": {"text": r.summary},
            "fullDescription": {"text": doc},
            "help": {"text": doc, "markdown": doc},
            "defaultConfiguration": {"level": level(r.default_severity)},
        })
    });
    let custom = config.custom.iter().map(|c| {
        json!({
            "id": c.id,
            "name": c.id,
            "shortDescription": {"text": c.message},
            "fullDescription": {"text": format!("Custom rule: pattern `{}`", c.pattern)},
            "help": {"text": c.help.clone().unwrap_or_else(|| c.message.clone())},
            "defaultConfiguration": {"level": level(c.severity)},
        })
    });
    builtin.chain(custom).collect()
}

/// A file path as a relative or absolute URI reference.
fn artifact_uri(path: &str) -> String {
    let uri = utf8_percent_encode(path, PATH).to_string();
    // `//host/...` would name a host; `/.//host/...` is the same file.
    if uri.starts_with("//") {
        format!("/.{uri}")
    } else {
        uri
    }
}

/// An unreadable input's file, and inside an mbox the `From ` line of the
/// message that could not be read.
fn error_location(origin: &Origin) -> Value {
    let mut physical = json!({"artifactLocation": {"uri": artifact_uri(&origin.file)}});
    if let Some(m) = origin.mbox_message {
        physical["region"] = json!({"startLine": m.line});
    }
    physical
}

fn result(msg: &MessageReport, f: &Finding, rule_index: Option<usize>) -> Value {
    let mut physical = json!({"artifactLocation": {"uri": artifact_uri(&msg.source)}});
    if let Some(line) = f.location.line {
        physical["region"] = json!({"startLine": line});
    }
    let text = match &f.help {
        Some(help) => format!("{}\nhelp: {help}", f.message),
        None => f.message.clone(),
    };
    let mut result = json!({
        "ruleId": f.rule,
        "level": level(f.severity),
        "message": {"text": text},
        "locations": [{"physicalLocation": physical}],
    });
    if let Some(i) = rule_index {
        result["ruleIndex"] = json!(i);
    }
    if let Some(id) = &msg.message_id {
        result["properties"] = json!({"messageId": id, "index": msg.index});
    }
    if f.suppressed {
        result["suppressions"] =
            json!([{"kind": "inSource", "justification": "X-Maillint-Allow header"}]);
    }
    result
}

/// SARIF 2.1.0, for code-scanning tools: the rules in force (custom ones
/// from the configuration) and a result per finding.
pub struct Sarif;

impl Printer for Sarif {
    fn print(
        &self,
        report: &Report,
        options: &PrintOptions,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let config = options.config;
        let rules = rule_descriptors(config);
        let index_of = |id: &str| rules.iter().position(|r| r["id"] == id);
        let results: Vec<Value> = report
            .messages
            .iter()
            .flat_map(|m| m.findings.iter().map(move |f| (m, f)))
            .map(|(m, f)| result(m, f, index_of(&f.rule)))
            .collect();
        let notifications: Vec<Value> = report
            .errors
            .iter()
            .map(|e| {
                json!({
                    "level": "error",
                    "message": {"text": format!("{}: {}", e.source, e.error)},
                    "locations": [{"physicalLocation": error_location(&e.source)}],
                })
            })
            .collect();
        let doc = json!({
            "$schema": SCHEMA,
            "version": "2.1.0",
            "runs": [{
                "tool": {"driver": {
                    "name": "maillint",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }},
                "invocations": [{
                    "executionSuccessful": report.errors.is_empty(),
                    "toolExecutionNotifications": notifications,
                }],
                "results": results,
            }],
        });
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        writeln!(out)
    }
}
