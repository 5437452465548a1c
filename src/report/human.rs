use super::{PrintOptions, Printer, Report, Summarised};
use crate::finding::{Finding, Severity};
use crate::guard::one_line;
use anstyle::{AnsiColor, Style};
use std::io::{self, Write};

/// For a person: `source:line: severity[rule]: message` and a `help:` line
/// per finding; for a batch, how many messages each rule hit; then a
/// summary. Unreadable inputs are only counted here: they are reported on
/// standard error as they happen.
pub struct Human;

/// A command's summary in its own words.
impl<S: Summarised> Printer<S> for Human {
    fn print(&self, summary: &S, _: &PrintOptions, out: &mut dyn Write) -> io::Result<()> {
        summary.human(out)
    }
}

impl Printer for Human {
    fn print(
        &self,
        report: &Report,
        options: &PrintOptions,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let paint = Paint(options.color);
        for msg in &report.messages {
            let mut findings = msg.active_findings().peekable();
            // Inside an mbox, which message: lines alone do not say.
            if let (Some((number, subject)), Some(_)) = (&msg.mbox_entry, findings.peek()) {
                let subject = subject.as_deref().map_or_else(
                    || "(no subject)".to_string(),
                    |s| format!("\"{}\"", one_line(s)),
                );
                let heading = format!("{}: message {number}, {subject}:", one_line(&msg.source));
                writeln!(out, "{}", paint.bold(&heading))?;
            }
            for finding in findings {
                print_finding(&msg.source, finding, paint, out)?;
            }
        }
        let hits = report.rule_hits();
        if report.messages.len() > 1 && !hits.is_empty() {
            writeln!(out, "{}", paint.bold("Messages hit per rule:"))?;
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
                crate::allow::ALLOW_HEADER
            ));
        }
        let line = format!(
            "Checked {}: {}",
            count(s.messages, "message", "messages"),
            parts.join(", ")
        );
        let colour = if s.errors > 0 || s.unreadable > 0 {
            AnsiColor::Red
        } else if s.warnings > 0 {
            AnsiColor::Yellow
        } else {
            AnsiColor::Green
        };
        writeln!(out, "{}", paint.bold_in(colour, &line))
    }
}

/// Styles text when colour is on, and leaves it alone otherwise.
#[derive(Clone, Copy)]
struct Paint(bool);

impl Paint {
    fn styled(self, style: Style, text: &str) -> String {
        if self.0 {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }

    fn bold(self, text: &str) -> String {
        self.styled(Style::new().bold(), text)
    }

    fn bold_in(self, colour: AnsiColor, text: &str) -> String {
        self.styled(Style::new().bold().fg_color(Some(colour.into())), text)
    }
}

fn print_finding(source: &str, f: &Finding, paint: Paint, out: &mut dyn Write) -> io::Result<()> {
    let source = one_line(source);
    let place = match f.location.line {
        Some(line) => format!("{source}:{line}:"),
        None => format!("{source}:"),
    };
    let label = format!("{}[{}]", f.severity, f.rule);
    let label = match f.severity {
        Severity::Error => paint.bold_in(AnsiColor::Red, &label),
        Severity::Warning => paint.bold_in(AnsiColor::Yellow, &label),
        Severity::Info => paint.bold_in(AnsiColor::Cyan, &label),
    };
    // Messages quote addresses from the mail, which may hold a carriage
    // return or an escape sequence: one finding stays one line.
    let message = one_line(&f.message);
    writeln!(out, "{} {label}: {message}", paint.bold(&place))?;
    if let Some(help) = &f.help {
        let help_label = paint.styled(AnsiColor::Cyan.on_default(), "help:");
        writeln!(out, "  {help_label} {}", one_line(help))?;
    }
    Ok(())
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
