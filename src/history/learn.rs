//! `maillint learn`: adding sent mail to the index.

use super::{BATCH, History, HistoryError, MAX_CIRCLE, address_key, index_path, name_key, ordered};
use crate::config::Config;
use crate::input::{self, Input, Item, Limits};
use crate::message::{Field, Message};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rusqlite::{Transaction, params};
use std::io::IsTerminal;
use std::path::Path;

/// What a learning run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LearnSummary {
    /// Messages added to the index.
    pub learned: u64,
    /// Messages already in it (from an earlier run), skipped.
    pub known: u64,
    /// Sources or messages that could not be read, with why.
    pub errors: Vec<String>,
}

/// Adds every message of the inputs to the index, calling `progress` after
/// each message read.
pub fn learn(
    history: &History,
    inputs: &[Input],
    limits: &Limits,
    progress: &dyn Fn(&LearnSummary),
) -> Result<LearnSummary, rusqlite::Error> {
    let mut summary = LearnSummary::default();
    let Ok(mut conn) = history.conn.lock() else {
        return Ok(summary);
    };
    let mut tx = conn.transaction()?;
    let mut in_batch = 0;
    let mut failure = None;
    input::read_inputs(inputs, limits, &mut |item| {
        if failure.is_some() {
            return;
        }
        let mut raw = match item {
            Item::Message(raw) => raw,
            Item::Error { source, error } => {
                summary.errors.push(format!("{source}: {error}"));
                return;
            }
        };
        let fallback_key = content_key(&raw.bytes);
        let message = match raw.parse() {
            Ok(m) => m,
            Err(e) => {
                summary
                    .errors
                    .push(format!("{}: {e}", raw.located_source()));
                return;
            }
        };
        match record(&tx, &message, fallback_key) {
            Ok(true) => summary.learned += 1,
            Ok(false) => summary.known += 1,
            Err(e) => failure = Some(e),
        }
        in_batch += 1;
        if in_batch == BATCH {
            in_batch = 0;
            // Swapping in a new transaction commits the batch.
            if let Err(e) = commit_batch(&mut tx) {
                failure = Some(e);
            }
        }
        progress(&summary);
    });
    if let Some(e) = failure {
        return Err(e);
    }
    tx.commit()?;
    Ok(summary)
}

/// Commits the messages learned so far and starts the next batch.
fn commit_batch(tx: &mut Transaction<'_>) -> Result<(), rusqlite::Error> {
    tx.execute_batch("COMMIT; BEGIN")
}

/// Adds one message (one that `maillint sendmail` passed on) to the index.
pub fn learn_message(
    history: &History,
    message: &Message,
    raw: &[u8],
) -> Result<bool, rusqlite::Error> {
    let Ok(mut conn) = history.conn.lock() else {
        return Ok(false);
    };
    let tx = conn.transaction()?;
    let learned = record(&tx, message, content_key(raw))?;
    tx.commit()?;
    Ok(learned)
}

/// After `maillint sendmail` passed a message on: learns it when
/// `[history] learn_on_send` is set. A failure is reported and otherwise
/// ignored: the message is sent already.
pub fn learn_sent(config: &Config, message: &Message, raw: &[u8]) {
    if !config.history.learn_on_send {
        return;
    }
    let Some(path) = index_path(config) else {
        return;
    };
    let learned = History::create(&path)
        .map_err(|e| e.to_string())
        .and_then(|h| learn_message(&h, message, raw).map_err(|e| e.to_string()));
    if let Err(e) = learned {
        eprintln!("maillint: warning: the message was sent but not learned: {e}");
    }
}

/// Records one message unless it was learned before: its recipients, the
/// names they were written under, who went together, and which of the
/// sender's addresses wrote to them.
fn record(tx: &Transaction<'_>, message: &Message, fallback_key: String) -> rusqlite::Result<bool> {
    let key = message
        .message_id
        .as_deref()
        .map_or(fallback_key, |id| format!("id:{id}"));
    if tx
        .prepare_cached("INSERT OR IGNORE INTO learned (key) VALUES (?1)")?
        .execute(params![key])?
        == 0
    {
        return Ok(false);
    }
    let own: Vec<String> = message
        .addresses_in(Field::From)
        .map(|a| address_key(a.addr))
        .filter(|a| a.contains('@'))
        .collect();
    let mut recipients: Vec<(String, Option<&str>)> = Vec::new();
    for address in message.addresses().filter(|a| a.field.is_recipient()) {
        let key = address_key(address.addr);
        if key.contains('@') && !own.contains(&key) && !recipients.iter().any(|(k, _)| *k == key) {
            recipients.push((key, address.name));
        }
    }
    let mut add_address = tx.prepare_cached(
        "INSERT INTO address (addr, local, domain, count) VALUES (?1, ?2, ?3, 1)
         ON CONFLICT (addr) DO UPDATE SET count = count + 1",
    )?;
    let mut add_name = tx.prepare_cached(
        "INSERT INTO name (name, addr, shown, count) VALUES (?1, ?2, ?3, 1)
         ON CONFLICT (name, addr) DO UPDATE SET count = count + 1, shown = excluded.shown",
    )?;
    let mut add_sender = tx.prepare_cached(
        "INSERT INTO sender (addr, own, count) VALUES (?1, ?2, 1)
         ON CONFLICT (addr, own) DO UPDATE SET count = count + 1",
    )?;
    for (addr, name) in &recipients {
        let (local, domain) = addr.rsplit_once('@').unwrap_or((addr, ""));
        add_address.execute(params![addr, local, domain])?;
        if let Some((name, key)) = name.and_then(|n| Some((n.trim(), name_key(n)?))) {
            add_name.execute(params![key, addr, name])?;
        }
        for own in &own {
            add_sender.execute(params![addr, own])?;
        }
    }
    if recipients.len() <= MAX_CIRCLE {
        let mut add_pair = tx.prepare_cached(
            "INSERT INTO pair (a, b, count) VALUES (?1, ?2, 1)
             ON CONFLICT (a, b) DO UPDATE SET count = count + 1",
        )?;
        for (i, (a, _)) in recipients.iter().enumerate() {
            for (b, _) in &recipients[i + 1..] {
                let (a, b) = ordered(a.clone(), b.clone());
                add_pair.execute(params![a, b])?;
            }
        }
    }
    Ok(true)
}

/// A message without a Message-ID is known by its content (FNV-1a: stable
/// across runs and Rust versions, unlike the standard library's hasher).
fn content_key(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("fnv:{hash:016x}:{}", bytes.len())
}

/// `maillint learn`: learns the paths, or forgets an address, in the index
/// at `path`, and prints a summary.
pub fn learn_or_forget(
    config: &Config,
    paths: &[String],
    forget: Option<&str>,
    path: &Path,
) -> Result<(), String> {
    let history = History::create(path).map_err(|e| e.to_string())?;
    let in_index = |e: rusqlite::Error| {
        HistoryError {
            path: path.display().to_string(),
            source: e,
        }
        .to_string()
    };
    if let Some(addr) = forget {
        if history.forget(addr).map_err(in_index)? {
            println!("forgot {addr}");
        } else {
            println!("{addr} was not in the index");
        }
        return Ok(());
    }
    let inputs: Vec<Input> = paths.iter().map(|p| Input::from_arg(p)).collect();
    let bar = ProgressBar::with_draw_target(
        None,
        if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    bar.set_style(
        ProgressStyle::with_template("{spinner} {human_pos} messages read in {elapsed} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let summary = learn(&history, &inputs, &config.input, &|s| {
        bar.inc(1);
        if s.known > 0 {
            bar.set_message(format!("{} already learned", s.known));
        }
    })
    .map_err(in_index)?;
    bar.finish_and_clear();
    for error in &summary.errors {
        eprintln!("maillint: error: {}", crate::guard::one_line(error));
    }
    println!(
        "learned {} into {}{}",
        crate::rules::plural(summary.learned, "message", "messages"),
        path.display(),
        if summary.known > 0 {
            format!(
                " ({} already learned)",
                crate::rules::thousands(summary.known)
            )
        } else {
            String::new()
        }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> (tempfile::TempDir, History) {
        let dir = tempfile::tempdir().unwrap();
        let history = History::create(&dir.path().join("h.sqlite")).unwrap();
        (dir, history)
    }

    const SENT: &str = "From: me@example.org
To: Jane Smith <Jane@Agency.gov>, bob@example.org
Cc: \"Smith, Jane\" <jane@agency.gov>
Message-ID: <1@example.org>
Subject: s

x
";

    #[test]
    fn learns_addresses_names_and_pairs_once() {
        let (_dir, history) = index();
        let msg = crate::testing::eml(SENT);
        assert!(learn_message(&history, &msg, SENT.as_bytes()).unwrap());
        // The same message again (a second run, or sendmail and learn).
        assert!(!learn_message(&history, &msg, SENT.as_bytes()).unwrap());
        let jane = history.known("JANE@agency.gov").unwrap();
        assert_eq!(jane.count, 1, "one message, however often it names her");
        assert_eq!(jane.name.as_deref(), Some("Jane Smith"));
        assert!(history.has_name("jane@agency.gov", "smith jane"));
        assert_eq!(history.named("Jane  Smith")[0].addr, "jane@agency.gov");
        assert_eq!(history.with_local_part("jane")[0].count, 1);
        assert_eq!(history.together("bob@example.org", "jane@agency.gov"), 1);
        assert_eq!(history.domain_count("agency.gov"), 1);
        assert_eq!(
            history.known("me@example.org"),
            None,
            "the sender is no recipient"
        );
    }

    #[test]
    fn forget_removes_every_trace_for_good() {
        let (dir, history) = index();
        let msg = crate::testing::eml(SENT);
        learn_message(&history, &msg, SENT.as_bytes()).unwrap();
        assert!(history.forget("jane@agency.gov").unwrap());
        assert!(!history.forget("jane@agency.gov").unwrap());
        assert_eq!(history.known("jane@agency.gov"), None);
        assert!(history.named("Jane Smith").is_empty());
        assert_eq!(history.together("bob@example.org", "jane@agency.gov"), 0);
        learn_message(&history, &msg, SENT.as_bytes()).unwrap();
        assert_eq!(history.known("jane@agency.gov"), None);
        drop(history);
        let reader = History::open_for_reading(&dir.path().join("h.sqlite"))
            .unwrap()
            .unwrap();
        assert_eq!(reader.known("bob@example.org").unwrap().count, 1);
    }

    #[test]
    fn learning_again_reads_only_new_messages() {
        let (dir, history) = index();
        let mbox = dir.path().join("sent.mbox");
        let one = |n: u32| {
            format!(
                "From me Mon Jan  1 00:00:00 2024\nFrom: me@example.org\nTo: p{n}@example.net\nSubject: s\n\nx\n\n"
            )
        };
        std::fs::write(&mbox, one(1) + &one(2)).unwrap();
        let inputs = [Input::Path(mbox.clone())];
        let first = learn(&history, &inputs, &Limits::default(), &|_| {}).unwrap();
        assert_eq!((first.learned, first.known), (2, 0));
        std::fs::write(&mbox, one(1) + &one(2) + &one(3)).unwrap();
        let second = learn(&history, &inputs, &Limits::default(), &|_| {}).unwrap();
        assert_eq!((second.learned, second.known), (1, 2));
        assert_eq!(history.known("p1@example.net").unwrap().count, 1);
    }

    #[test]
    fn a_missing_index_is_no_history_and_a_foreign_file_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            History::open_for_reading(&dir.path().join("none"))
                .unwrap()
                .is_none()
        );
        let junk = dir.path().join("junk");
        std::fs::write(&junk, "not a database, just text that is long enough").unwrap();
        assert!(History::open_for_reading(&junk).is_err());
    }
}
