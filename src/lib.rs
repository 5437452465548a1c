//! maillint: a linter for outgoing email.
//!
//! The pipeline is [`input`] (files, stdin, mbox, Maildir) → [`message`]
//! (the model, parsed once) → [`linter`] (rules from [`rules`] over an
//! [`audience`]) → [`report`] (printers). Checking never prints: the
//! library returns findings, summaries and warnings, and the command line
//! (src/cli/, in the binary) or the gateway's log says them.
//!
//! The modules are layers that point one way, each naming only those
//! below it (tests/layers.rs reads every path in src/ and fails on a
//! circle, and on a rule naming another rule):
//!
//! 1. leaves, naming no other module: [`guard`] (panics and one-line
//!    text), `gate` (literal pre-checks), [`finding`], [`numbers`]
//!    (counts as people read them, the stable hash for keys);
//! 2. [`message`] (the model) and [`input`] (reading it);
//! 3. `mass_names` and [`config`] (every section's types, the gateway's
//!    included);
//! 4. [`allow`] (the `X-Maillint-Allow` header) and [`audience`] (the
//!    recipients classified);
//! 5. [`history`] (what the rules may ask of past sent mail, and the index);
//! 6. [`rules`];
//! 7. [`linter`] (the rules in force, one message checked) and [`report`]
//!    (the printers, one [`report::Printer`] each);
//! 8. [`sendmail`] and [`held`] (the sendmail wrapper), `hold` (the
//!    gateway's held mail);
//! 9. the gateway, `milter`, and the held-mail page, `web`;
//! 10. the command line, src/cli/, in the binary.
//!
//! Optional parts are Cargo features, on by default: `history` (the SQLite
//! index and `maillint learn`; without it the history rules see no index
//! and stay silent), `milter` (the gateway, its Redis client and its
//! held-mail store) and `web` (the held-mail page, with `milter`).
//! `--no-default-features` builds the linter alone.

// Nothing here may panic on input: Cargo.toml's [lints] deny unwrap and
// expect outside tests crate-wide.
pub mod allow;
pub mod audience;
pub mod config;
pub mod finding;
mod gate;
pub mod guard;
pub mod held;
pub mod history;
#[cfg(feature = "milter")]
pub mod hold;
pub mod input;
pub mod linter;
mod mass_names;
pub mod message;
#[cfg(feature = "milter")]
pub mod milter;
pub mod numbers;
#[cfg(feature = "milter")]
pub mod redis_pool;
pub mod report;
pub mod rules;
pub mod sendmail;
#[cfg(feature = "web")]
pub mod web;

#[cfg(test)]
mod testing;

use input::{Input, Item, Limits, RawMessage};
use linter::Linter;
use rayon::prelude::*;
use report::{InputError, MessageReport, Report};
use std::sync::mpsc;

/// Messages handed to the cores together: enough to keep every core busy,
/// few enough that memory stays bounded on a mailbox of any size (one
/// chunk being checked, one waiting, one being read).
const CHUNK_MESSAGES: usize = 256;
const CHUNK_BYTES: usize = 32 << 20;

/// Checks every message in the inputs. Each input gives a message report
/// or an error, never a panic: a rule that panics on a message turns into
/// an error for that message, and the others are still checked.
///
/// One thread reads (files in order, an mbox message by message) while
/// the messages are parsed and checked on every core; the report lists
/// them in input order all the same.
pub fn check(inputs: &[Input], linter: &Linter) -> Report {
    check_with_progress(inputs, linter, &|| {})
}

/// [`check`], calling `progress` each time a message is checked (from any
/// thread, in any order): for a progress bar.
pub fn check_with_progress(
    inputs: &[Input],
    linter: &Linter,
    progress: &(dyn Fn() + Sync),
) -> Report {
    run(
        |limits, emit| input::read_inputs(inputs, limits, emit),
        linter,
        progress,
    )
}

/// Checks one input held in memory, as [`check`] checks a file: `source`
/// names it in the report.
pub fn check_bytes(source: &str, bytes: &[u8], linter: &Linter) -> Report {
    run(
        |limits, emit| input::read_bytes(source, bytes, limits, emit),
        linter,
        &|| {},
    )
}

fn run(
    read: impl FnOnce(&Limits, &mut dyn FnMut(Item)) + Send,
    linter: &Linter,
    progress: &(dyn Fn() + Sync),
) -> Report {
    let limits = linter.config().input;
    let (sender, chunks) = mpsc::sync_channel::<Vec<Item>>(1);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut chunk = Vec::new();
            let mut chunk_bytes = 0;
            // The receiver lives until every chunk is taken.
            read(&limits, &mut |item| {
                if let Item::Message(raw) = &item {
                    chunk_bytes += raw.bytes.len();
                }
                chunk.push(item);
                if chunk.len() >= CHUNK_MESSAGES || chunk_bytes >= CHUNK_BYTES {
                    _ = sender.send(std::mem::take(&mut chunk));
                    chunk_bytes = 0;
                }
            });
            _ = sender.send(chunk);
        });
        let mut report = Report::default();
        for chunk in chunks {
            check_chunk(chunk, linter, progress, &mut report);
        }
        report
    })
}

fn check_chunk(
    chunk: Vec<Item>,
    linter: &Linter,
    progress: &(dyn Fn() + Sync),
    report: &mut Report,
) {
    let check = |item| {
        let outcome = check_item(item, linter);
        progress();
        outcome
    };
    // A lone message (the usual pre-send check) needs no thread pool.
    let outcomes: Vec<_> = if chunk.len() == 1 {
        chunk.into_iter().map(check).collect()
    } else {
        chunk.into_par_iter().map(check).collect()
    };
    for outcome in outcomes {
        match outcome {
            Ok(checked) => report.messages.push(checked),
            Err(error) => report.errors.push(error),
        }
    }
}

/// Parses and checks one message: its report, or why it could not be
/// checked.
fn check_item(item: Item, linter: &Linter) -> Result<MessageReport, InputError> {
    let mut raw = match item {
        Item::Message(raw) => raw,
        Item::Error { source, error } => return Err(InputError { source, error }),
    };
    let failed = |raw: &RawMessage, error: String| InputError {
        source: raw.located_source(),
        error: guard::one_line(&error),
    };
    let message = raw.parse().map_err(|e| failed(&raw, e.to_string()))?;
    let findings = guard::catch_panic(|| linter.check(&message)).map_err(|panic| {
        failed(
            &raw,
            format!("internal error while checking ({panic}); not checked"),
        )
    })?;
    Ok(MessageReport {
        findings,
        message_id: message.message_id.clone(),
        mbox_entry: raw
            .in_mbox()
            .then(|| (raw.index + 1, message.subject.clone())),
        source: raw.source,
        index: raw.index,
    })
}
