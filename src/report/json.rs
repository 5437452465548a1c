use super::{InputError, MessageReport, PrintOptions, Printer, Report, Summarised, Summary};
use serde::Serialize;
use std::io::{self, Write};

/// Version of the JSON document; bumped only on incompatible changes.
pub const JSON_VERSION: u32 = 1;

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    messages: &'a [MessageReport],
    errors: &'a [InputError],
    summary: Summary,
}

/// One JSON document: every message's findings, the unreadable inputs and
/// the summary, for scripts.
pub struct Json;

impl Printer for Json {
    fn print(&self, report: &Report, _: &PrintOptions, out: &mut dyn Write) -> io::Result<()> {
        let doc = Document {
            version: JSON_VERSION,
            messages: &report.messages,
            errors: &report.errors,
            summary: report.summary(),
        };
        pretty(&doc, out)
    }
}

/// A command's summary as it serialises.
impl<S: Summarised> Printer<S> for Json {
    fn print(&self, summary: &S, _: &PrintOptions, out: &mut dyn Write) -> io::Result<()> {
        pretty(summary, out)
    }
}

/// `value` as indented JSON and a line break.
fn pretty(value: &impl Serialize, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)
}
