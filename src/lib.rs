//! maillint: a linter for outgoing email.
//!
//! The pipeline is [`input`] (files, stdin, mbox, Maildir) → [`message`]
//! (the model, parsed once) → [`linter`] (rules from [`rules`] over an
//! [`audience`]) → [`report`] (printers). Checking never prints.

// Nothing here may panic on input: Cargo.toml's [lints] deny unwrap and
// expect outside tests crate-wide.
pub mod audience;
pub mod config;
pub mod finding;
mod gate;
pub mod guard;
pub mod held;
pub mod history;
pub mod hold;
pub mod input;
pub mod linter;
mod mass_names;
pub mod message;
pub mod milter;
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

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;

    /// The layers point one way: the configuration is read by the others
    /// and imports none of them, and no rule imports another rule (what
    /// two rules share is in `rules/shared.rs`).
    #[test]
    fn layers_point_one_way() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let read = |file: &str| fs::read_to_string(src.join(file)).unwrap();
        for (file, layers) in [
            ("config.rs", &["audience", "rules", "linter", "report"][..]),
            ("mass_names.rs", &["config", "audience", "rules"][..]),
        ] {
            let text = read(file);
            for layer in layers {
                assert!(
                    !text.contains(&format!("crate::{layer}")),
                    "{file} uses {layer}"
                );
            }
        }
        let rules: Vec<String> = fs::read_dir(src.join("rules"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter_map(|name| name.strip_suffix(".rs").map(str::to_string))
            .filter(|name| name != "mod" && name != "shared")
            .collect();
        for rule in &rules {
            let text = read(&format!("rules/{rule}.rs"));
            for other in rules.iter().filter(|other| *other != rule) {
                let in_a_use_group = text.lines().any(|line| {
                    line.trim_start().starts_with("use super::{")
                        && line
                            .split(['{', '}', ',', ' '])
                            .any(|item| item == other.as_str())
                });
                let uses_other = in_a_use_group
                    || text.contains(&format!("super::{other}::"))
                    || text.contains(&format!("rules::{other}::"));
                assert!(!uses_other, "rule {rule} imports rule {other}");
            }
        }
    }
}
