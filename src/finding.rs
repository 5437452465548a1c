use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;

/// How serious a finding is; ordered so that `Error > Warning > Info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where in the message a finding points.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Location {
    /// Header name, when the finding is about a header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// Body part (`text/plain`, `text/html`) or attachment name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
    /// Line in the source file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

impl Location {
    pub fn header(name: impl Into<String>, line: Option<usize>) -> Self {
        Location {
            header: Some(name.into()),
            part: None,
            line,
        }
    }

    pub fn part(name: impl Into<String>, line: Option<usize>) -> Self {
        Location {
            header: None,
            part: Some(name.into()),
            line,
        }
    }
}

/// One problem a rule found in one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// A built-in rule's id, or a custom rule's from the configuration.
    pub rule: Cow<'static, str>,
    pub severity: Severity,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    pub location: Location,
    /// Silenced by the message's own `X-Maillint-Allow` header: kept for
    /// the record, not printed, not counted.
    pub suppressed: bool,
}

/// What a rule reports: a finding before the engine stamps the rule id on it
/// and applies the configured severity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    pub help: Option<String>,
    pub location: Location,
}

impl Diagnostic {
    pub fn new(severity: Severity, message: impl Into<String>, location: Location) -> Self {
        Diagnostic {
            severity,
            message: message.into(),
            help: None,
            location,
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}
