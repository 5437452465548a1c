//! maillint: a linter for outgoing email.
//!
//! The pipeline is [`input`] (files, stdin, mbox, Maildir) → [`message`]
//! (the model, parsed once) → [`linter`] (rules from [`rules`] over an
//! [`audience`]) → [`report`] (printers). Checking never prints.

pub mod audience;
pub mod config;
pub mod finding;
pub mod input;
pub mod linter;
pub mod message;
pub mod report;
pub mod rules;
pub mod sendmail;

#[cfg(test)]
mod testing;

use input::{Input, Item};
use linter::Linter;
use report::{InputError, MessageReport, Report};

/// Checks every message in the inputs.
pub fn check(inputs: &[Input], linter: &Linter) -> Report {
    let mut report = Report::default();
    input::read_inputs(inputs, &mut |item| match item {
        Item::Message {
            source,
            index,
            message,
        } => report.messages.push(MessageReport {
            findings: linter.check(&message),
            message_id: message.message_id.clone(),
            source,
            index,
        }),
        Item::Error { source, error } => report.errors.push(InputError { source, error }),
    });
    report
}
