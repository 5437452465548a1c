//! GitHub Actions workflow commands: each finding becomes an annotation on
//! the file and line in the pull request.

use super::{PrintOptions, Printer, Report};
use crate::finding::Severity;
use std::io::{self, Write};

/// Escaping of a command's message, as the Actions runner expects.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escaping of a property value (`file=`, `title=`): also `:` and `,`.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

pub struct Github;

impl Printer for Github {
    fn print(&self, report: &Report, _: &PrintOptions, out: &mut dyn Write) -> io::Result<()> {
        for msg in &report.messages {
            for f in msg.active_findings() {
                let command = match f.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                    Severity::Info => "notice",
                };
                let mut props = format!("file={}", escape_property(&msg.source));
                if let Some(line) = f.location.line {
                    props.push_str(&format!(",line={line}"));
                }
                props.push_str(&format!(
                    ",title={}",
                    escape_property(&format!("maillint {}", f.rule))
                ));
                let text = match &f.help {
                    Some(help) => format!("{}\nhelp: {help}", f.message),
                    None => f.message.clone(),
                };
                writeln!(out, "::{command} {props}::{}", escape_data(&text))?;
            }
        }
        for e in &report.errors {
            let mut props = format!("file={}", escape_property(&e.source.file));
            let mut text = e.error.clone();
            if let Some(m) = e.source.mbox_message {
                props.push_str(&format!(",line={}", m.line));
                text = format!("message {}: {text}", m.number);
            }
            writeln!(
                out,
                "::error {props},title=maillint::{}",
                escape_data(&text)
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(escape_data("50% of\na"), "50%25 of%0Aa");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
    }
}
