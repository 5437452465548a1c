use super::Report;
use crate::finding::{Finding, Severity};
use crate::guard::one_line;
use colored::Colorize;
use std::io::{self, Write};

/// `source:line: severity[rule]: message` and a `help:` line per finding;
/// for a batch, how many messages each rule hit; then a summary.
/// Unreadable inputs are only counted here: they are reported on standard
/// error as they happen. Colours follow the global `colored` setting.
pub fn print_human(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for msg in &report.messages {
        for finding in msg.active_findings() {
            print_finding(&msg.source, finding, out)?;
        }
    }
    let hits = report.rule_hits();
    if report.messages.len() > 1 && !hits.is_empty() {
        writeln!(out, "{}", "Messages hit per rule:".bold())?;
        for (rule, messages) in hits {
            writeln!(out, "  {rule:<22} {messages:>7}")?;
        }
    }
    let s = report.summary();
    let mut parts = vec![
        count(s.errors, "error", "errors"),
        count(s.warnings, "warning", "warnings"),
        count(s.infos, "info", "infos"),
    ];
    if s.unreadable > 0 {
        parts.push(count(s.unreadable, "unreadable input", "unreadable inputs"));
    }
    if s.suppressed > 0 {
        parts.push(format!(
            "{} allowed by {}",
            count(s.suppressed, "finding", "findings"),
            crate::linter::ALLOW_HEADER
        ));
    }
    let line = format!(
        "Checked {}: {}",
        count(s.messages, "message", "messages"),
        parts.join(", ")
    );
    let line = if s.errors > 0 || s.unreadable > 0 {
        line.red().bold()
    } else if s.warnings > 0 {
        line.yellow().bold()
    } else {
        line.green().bold()
    };
    writeln!(out, "{line}")
}

fn print_finding(source: &str, f: &Finding, out: &mut dyn Write) -> io::Result<()> {
    let source = one_line(source);
    let place = match f.location.line {
        Some(line) => format!("{source}:{line}:"),
        None => format!("{source}:"),
    };
    let label = format!("{}[{}]", f.severity, f.rule);
    let label = match f.severity {
        Severity::Error => label.red().bold(),
        Severity::Warning => label.yellow().bold(),
        Severity::Info => label.cyan().bold(),
    };
    // Messages quote addresses from the mail, which may hold a carriage
    // return or an escape sequence: one finding stays one line.
    let message = one_line(&f.message);
    writeln!(out, "{} {label}: {message}", place.bold())?;
    if let Some(help) = &f.help {
        writeln!(out, "  {} {}", "help:".cyan(), one_line(help))?;
    }
    Ok(())
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
