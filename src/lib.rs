//! maillint: a linter for outgoing email.
//!
//! The pipeline is [`input`] (files, stdin, mbox, Maildir) → [`message`]
//! (the model, parsed once) → [`linter`] (rules from [`rules`] over an
//! [`audience`]) → [`report`] (printers). Checking never prints.

// The modules that read untrusted input (messages, config files) must not
// panic: no unwrap or expect there outside tests (clippy.toml allows them
// in tests).
#[deny(clippy::unwrap_used, clippy::expect_used)]
pub mod audience;
#[deny(clippy::unwrap_used, clippy::expect_used)]
pub mod config;
pub mod finding;
#[deny(clippy::unwrap_used, clippy::expect_used)]
pub mod guard;
#[deny(clippy::unwrap_used, clippy::expect_used)]
pub mod input;
#[deny(clippy::unwrap_used, clippy::expect_used)]
pub mod linter;
#[deny(clippy::unwrap_used, clippy::expect_used)]
pub mod message;
pub mod report;
pub mod rules;
pub mod sendmail;

#[cfg(test)]
mod testing;

use input::{Input, Item};
use linter::Linter;
use report::{InputError, MessageReport, Report};

/// Checks every message in the inputs. Each input gives a message report
/// or an error, never a panic: a rule that panics on a message turns into
/// an error for that message, and the others are still checked.
pub fn check(inputs: &[Input], linter: &Linter) -> Report {
    let mut report = Report::default();
    input::read_inputs(inputs, &linter.config().input, &mut |item| {
        add(&mut report, linter, item);
    });
    report
}

/// Checks one input held in memory, as [`check`] checks a file: `source`
/// names it in the report.
pub fn check_bytes(source: &str, bytes: &[u8], linter: &Linter) -> Report {
    let mut report = Report::default();
    input::read_bytes(source, bytes, &linter.config().input, &mut |item| {
        add(&mut report, linter, item);
    });
    report
}

fn add(report: &mut Report, linter: &Linter, item: Item) {
    match item {
        Item::Message {
            source,
            index,
            message,
        } => match guard::catch_panic(|| linter.check(&message)) {
            Ok(findings) => report.messages.push(MessageReport {
                findings,
                message_id: message.message_id.clone(),
                source,
                index,
            }),
            Err(panic) => report.errors.push(InputError {
                source,
                error: format!("internal error while checking ({panic}); not checked"),
            }),
        },
        Item::Error { source, error } => report.errors.push(InputError { source, error }),
    }
}
