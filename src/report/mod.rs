//! Printing: a [`Report`] holds everything checking produced; the printers
//! here only format it. Each output format is one file implementing
//! [`Printer`], listed once in [`PRINTERS`] under the name `--format`
//! takes: a new format is a new file and its line in that list. The
//! commands that sum something up (`report`, `simulate`) print their
//! [`Summarised`] values through the same printers, for a person or as
//! JSON ([`summary_printer`]).

mod github;
mod human;
mod json;
mod sarif;

pub use human::Human;

use crate::config::Config;
use crate::finding::{Finding, Severity};
use crate::input::Origin;
use serde::Serialize;
use std::io::{self, Write};

/// An output format of a `T`: a [`Report`] of findings, or a command's
/// [`Summarised`] value.
pub trait Printer<T: ?Sized = Report>: Sync {
    /// Writes the whole of `item` to `out`.
    fn print(&self, item: &T, options: &PrintOptions, out: &mut dyn Write) -> io::Result<()>;
}

/// What a command sums up (the decision log's counts, a simulation's
/// differences): its JSON is its serialisation, and it writes its own
/// text for a person.
pub trait Summarised: Serialize {
    /// The text for a person.
    fn human(&self, out: &mut dyn Write) -> io::Result<()>;
}

/// The names `--format` takes for a [`Summarised`] value, the first the
/// default.
pub const SUMMARY_FORMATS: [&str; 2] = ["human", "json"];

/// The printer of a [`Summarised`] value that `--format` names.
pub fn summary_printer<S: Summarised + 'static>(name: &str) -> Option<&'static dyn Printer<S>> {
    match name {
        "human" => Some(&Human),
        "json" => Some(&json::Json),
        _ => None,
    }
}

/// What a printer may use besides the report; each takes what it needs.
#[derive(Clone, Copy)]
pub struct PrintOptions<'a> {
    /// The configuration the report was made with (SARIF describes its
    /// custom rules).
    pub config: &'a Config,
    /// ANSI colours and bold, for a terminal.
    pub color: bool,
}

/// Every output format under the name `--format` takes, in the order it
/// lists them; the first is the default.
pub static PRINTERS: [(&str, &dyn Printer); 4] = [
    ("human", &Human),
    ("json", &json::Json),
    ("sarif", &sarif::Sarif),
    ("github", &github::Github),
];

/// The printer `--format` names.
pub fn printer(name: &str) -> Option<&'static dyn Printer> {
    PRINTERS.iter().find(|(n, _)| *n == name).map(|&(_, p)| p)
}

/// The findings for one message.
#[derive(Debug, Clone, Serialize)]
pub struct MessageReport {
    pub source: String,
    pub index: usize,
    pub message_id: Option<String>,
    pub findings: Vec<Finding>,
    /// For a person reading the report: which message of an mbox this is
    /// (its number from 1, and its subject), since line numbers alone do
    /// not say. `None` for a file of its own.
    #[serde(skip)]
    pub mbox_entry: Option<(usize, Option<String>)>,
}

/// An input that could not be checked.
#[derive(Debug, Clone, Serialize)]
pub struct InputError {
    pub source: Origin,
    pub error: String,
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub messages: Vec<MessageReport>,
    pub errors: Vec<InputError>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub messages: usize,
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
    pub unreadable: usize,
    /// Findings silenced by `X-Maillint-Allow`, counted in none of the above.
    pub suppressed: usize,
}

/// The least severity that makes the run fail (`--fail-on`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FailOn {
    #[default]
    Error,
    Warning,
    Info,
    Never,
}

impl FailOn {
    pub const ALL: [FailOn; 4] = [FailOn::Error, FailOn::Warning, FailOn::Info, FailOn::Never];

    /// The name `--fail-on` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            FailOn::Error => "error",
            FailOn::Warning => "warning",
            FailOn::Info => "info",
            FailOn::Never => "never",
        }
    }

    /// Whether a finding of this severity fails the run.
    pub fn fails(self, severity: Severity) -> bool {
        self.threshold().is_some_and(|t| severity >= t)
    }

    fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Error => Some(Severity::Error),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Info => Some(Severity::Info),
            FailOn::Never => None,
        }
    }
}

impl std::str::FromStr for FailOn {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        FailOn::ALL
            .into_iter()
            .find(|f| f.as_str() == name)
            .ok_or_else(|| {
                let names = FailOn::ALL.map(FailOn::as_str).join(", ");
                format!("expected one of {names}, not `{name}`")
            })
    }
}

impl MessageReport {
    /// The findings that count: not silenced by the message itself.
    pub fn active_findings(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| !f.suppressed)
    }
}

impl Report {
    pub fn summary(&self) -> Summary {
        let mut s = Summary {
            messages: self.messages.len(),
            unreadable: self.errors.len(),
            ..Summary::default()
        };
        for f in self.messages.iter().flat_map(|m| &m.findings) {
            if f.suppressed {
                s.suppressed += 1;
                continue;
            }
            match f.severity {
                Severity::Error => s.errors += 1,
                Severity::Warning => s.warnings += 1,
                Severity::Info => s.infos += 1,
            }
        }
        s
    }

    /// For each rule with findings, how many messages it hit: most first,
    /// then by id.
    pub fn rule_hits(&self) -> Vec<(&str, usize)> {
        let mut hits: std::collections::BTreeMap<&str, usize> = Default::default();
        for msg in &self.messages {
            let mut rules: Vec<&str> = msg.active_findings().map(|f| f.rule.as_ref()).collect();
            rules.sort_unstable();
            rules.dedup();
            for rule in rules {
                *hits.entry(rule).or_default() += 1;
            }
        }
        let mut hits: Vec<(&str, usize)> = hits.into_iter().collect();
        hits.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        hits
    }

    /// Whether a finding not silenced by its message is at or above
    /// `fail_on`.
    pub fn fails(&self, fail_on: FailOn) -> bool {
        self.messages
            .iter()
            .flat_map(MessageReport::active_findings)
            .any(|f| fail_on.fails(f.severity))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--format` finds each printer by the name it is listed under, in
    /// the order `--help` shows, and nothing else.
    #[test]
    fn printers_are_found_by_their_names() {
        let names: Vec<&str> = PRINTERS.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, ["human", "json", "sarif", "github"]);
        for (name, listed) in PRINTERS {
            let found = printer(name).unwrap();
            assert!(std::ptr::addr_eq(found, listed), "{name}");
        }
        assert!(printer("xml").is_none());
    }

    #[derive(Serialize)]
    struct Counted {
        messages: u32,
    }

    impl Summarised for Counted {
        fn human(&self, out: &mut dyn Write) -> io::Result<()> {
            writeln!(out, "{} messages", self.messages)
        }
    }

    /// Each summary format is found by its name and prints as it says.
    #[test]
    fn summaries_print_for_a_person_or_as_json() {
        let config = Config::default();
        let options = PrintOptions {
            config: &config,
            color: false,
        };
        let printed: Vec<String> = SUMMARY_FORMATS
            .iter()
            .map(|name| {
                let mut out = Vec::new();
                summary_printer::<Counted>(name)
                    .unwrap()
                    .print(&Counted { messages: 3 }, &options, &mut out)
                    .unwrap();
                String::from_utf8(out).unwrap()
            })
            .collect();
        assert_eq!(printed, ["3 messages\n", "{\n  \"messages\": 3\n}\n"]);
        assert!(summary_printer::<Counted>("sarif").is_none());
    }
}
