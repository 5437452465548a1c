//! `maillint learn`: adding sent mail to the index.

use super::index::{BATCH, History, HistoryError, error_at, ordered};
use super::{MAX_CIRCLE, address_key, index_path, name_key};
use crate::config::Config;
use crate::input::{self, FileStamp, Input, Item, Limits, MboxPosition, RawMessage, Start};
use crate::message::{Field, Message};
use crate::numbers::fnv1a;
use rusqlite::{OptionalExtension, Transaction, params};
use std::cell::RefCell;
use std::io::{Read, Seek};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// What a learning run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LearnSummary {
    /// Messages added to the index.
    pub learned: u64,
    /// Messages already in it (from an earlier run), skipped: most without
    /// being read again.
    pub known: u64,
    /// Messages read and parsed by this run.
    pub read: u64,
    /// Sources or messages that could not be read, with why.
    pub errors: Vec<String>,
}

/// Bytes before an mbox position whose hash tells, on the next run, that
/// the mbox still holds what was read (mail was only added after it).
const TAIL: u64 = 4096;

/// What the index remembers of a file read before.
struct SourceRow {
    size: u64,
    modified: Option<i64>,
    /// `None` for a file of one message.
    mbox: Option<(MboxPosition, i64)>,
}

/// Adds every message of the inputs to the index, calling `progress` after
/// each message read. Files read before are skipped unread when unchanged,
/// and an mbox that has grown is read from where the last run stopped.
pub fn learn(
    history: &History,
    inputs: &[Input],
    limits: &Limits,
    progress: &dyn Fn(&LearnSummary),
) -> Result<LearnSummary, rusqlite::Error> {
    let summary = RefCell::new(LearnSummary::default());
    let Ok(mut conn) = history.conn.lock() else {
        return Ok(summary.into_inner());
    };
    let tx = conn.transaction()?;
    let mut in_batch = 0;
    let mut failure = None;
    // The mbox being read: its last message's end is written down when the
    // batch is committed or the next file begins.
    let mut open_mbox: Option<(std::sync::Arc<FileStamp>, MboxPosition)> = None;
    input::read_inputs_from(
        inputs,
        limits,
        &mut |stamp| match where_to_start(&tx, stamp) {
            Ok((start, known)) => {
                summary.borrow_mut().known += known;
                start
            }
            Err(_) => Start::Whole,
        },
        &mut |item| {
            if failure.is_some() {
                return;
            }
            let mut raw = match item {
                Item::Message(raw) => raw,
                Item::Error { source, error } => {
                    summary
                        .borrow_mut()
                        .errors
                        .push(format!("{source}: {error}"));
                    return;
                }
            };
            let mut step = || -> rusqlite::Result<()> {
                if let Some((file, _)) = &open_mbox
                    && raw.file.as_ref() != Some(file)
                    && let Some((file, end)) = open_mbox.take()
                {
                    remember_mbox(&tx, &file, end)?;
                }
                let learned = learn_raw(&tx, &mut raw, &mut summary.borrow_mut())?;
                let mut s = summary.borrow_mut();
                match learned {
                    Some(true) => s.learned += 1,
                    Some(false) => s.known += 1,
                    None => {}
                }
                match (&raw.file, raw.mbox_end) {
                    (Some(file), Some(end)) => open_mbox = Some((file.clone(), end)),
                    (Some(file), None) => remember_file(&tx, file)?,
                    (None, _) => {}
                }
                in_batch += 1;
                if in_batch == BATCH {
                    in_batch = 0;
                    if let Some((file, end)) = &open_mbox {
                        remember_mbox(&tx, file, *end)?;
                    }
                    tx.execute_batch("COMMIT; BEGIN")?;
                }
                Ok(())
            };
            if let Err(e) = step() {
                failure = Some(e);
            }
            progress(&summary.borrow());
        },
    );
    if let Some(e) = failure {
        return Err(e);
    }
    if let Some((file, end)) = open_mbox {
        remember_mbox(&tx, &file, end)?;
    }
    tx.commit()?;
    Ok(summary.into_inner())
}

/// Parses and records one message read: `Some(learned)`, or `None` when it
/// does not parse (the error is in the summary).
fn learn_raw(
    tx: &Transaction<'_>,
    raw: &mut RawMessage,
    summary: &mut LearnSummary,
) -> rusqlite::Result<Option<bool>> {
    summary.read += 1;
    let fallback_key = content_key(&raw.bytes);
    let message = match raw.parse() {
        Ok(m) => m,
        Err(e) => {
            summary
                .errors
                .push(format!("{}: {e}", raw.located_source()));
            return Ok(None);
        }
    };
    let file_time = raw
        .file
        .as_ref()
        .and_then(|f| f.modified)
        .and_then(unix_time);
    record(tx, &message, fallback_key, file_time).map(Some)
}

/// How much of a file to read, and how many messages of it are learned
/// already: an unchanged file is skipped; an mbox that only grew is read
/// from where the last run stopped (when the bytes before that point are
/// still the same); anything else is read whole, its messages learned
/// before being recognised by their keys.
fn where_to_start(tx: &Transaction<'_>, stamp: &FileStamp) -> rusqlite::Result<(Start, u64)> {
    let Some(row) = source_row(tx, &source_key(stamp))? else {
        return Ok((Start::Whole, 0));
    };
    let unchanged = row.size == stamp.size && row.modified == stamp.modified.and_then(nanos);
    Ok(match row.mbox {
        None if unchanged => (Start::Skip, 1),
        Some((end, tail))
            if end.offset <= stamp.size && tail_hash(stamp, end.offset) == Some(tail) =>
        {
            let start = if end.offset == stamp.size {
                Start::Skip
            } else {
                Start::MboxAt(end)
            };
            (start, end.messages as u64)
        }
        _ => (Start::Whole, 0),
    })
}

fn source_row(tx: &Transaction<'_>, key: &str) -> rusqlite::Result<Option<SourceRow>> {
    tx.prepare_cached(
        "SELECT size, modified, offset, line, messages, tail FROM source WHERE path = ?1",
    )?
    .query_row(params![key], |row| {
        let tail: Option<i64> = row.get(5)?;
        Ok(SourceRow {
            size: row.get::<_, i64>(0)?.unsigned_abs(),
            modified: row.get(1)?,
            mbox: tail
                .map(|tail| -> rusqlite::Result<_> {
                    let position = MboxPosition {
                        offset: row.get::<_, i64>(2)?.unsigned_abs(),
                        line: usize::try_from(row.get::<_, i64>(3)?).unwrap_or(0),
                        messages: usize::try_from(row.get::<_, i64>(4)?).unwrap_or(0),
                    };
                    Ok((position, tail))
                })
                .transpose()?,
        })
    })
    .optional()
}

/// A file of one message, learned.
fn remember_file(tx: &Transaction<'_>, file: &FileStamp) -> rusqlite::Result<()> {
    let size = i64::try_from(file.size).unwrap_or(i64::MAX);
    tx.prepare_cached(
        "INSERT OR REPLACE INTO source (path, size, modified, offset, line, messages, tail)
         VALUES (?1, ?2, ?3, ?2, 0, 1, NULL)",
    )?
    .execute(params![
        source_key(file),
        size,
        file.modified.and_then(nanos)
    ])?;
    Ok(())
}

/// An mbox learned up to `end`.
fn remember_mbox(
    tx: &Transaction<'_>,
    file: &FileStamp,
    end: MboxPosition,
) -> rusqlite::Result<()> {
    // Without the hash the next run reads the mbox whole, which is safe.
    let Some(tail) = tail_hash(file, end.offset) else {
        return Ok(());
    };
    let as_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    tx.prepare_cached(
        "INSERT OR REPLACE INTO source (path, size, modified, offset, line, messages, tail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        source_key(file),
        as_i64(file.size),
        file.modified.and_then(nanos),
        as_i64(end.offset),
        as_i64(end.line as u64),
        as_i64(end.messages as u64),
        tail
    ])?;
    Ok(())
}

/// A file as the index knows it: its absolute path, so that learning from
/// another directory finds it again (made without a system call per file:
/// a Maildir holds one file per message), less a Maildir file name's flags
/// (`:2,S`), which a mail client changes by renaming the file.
fn source_key(file: &FileStamp) -> String {
    let path = std::path::absolute(&file.path)
        .unwrap_or_else(|_| file.path.clone())
        .display()
        .to_string();
    match path.rsplit_once(":2,") {
        Some((unflagged, flags)) if !flags.contains('/') => unflagged.to_string(),
        _ => path,
    }
}

/// The hash of the up to [`TAIL`] bytes before `offset` in the file.
fn tail_hash(file: &FileStamp, offset: u64) -> Option<i64> {
    let start = offset.saturating_sub(TAIL);
    let mut f = std::fs::File::open(&file.path).ok()?;
    f.seek(std::io::SeekFrom::Start(start)).ok()?;
    let mut bytes = Vec::new();
    f.take(offset - start).read_to_end(&mut bytes).ok()?;
    (bytes.len() as u64 == offset - start).then(|| i64::from_ne_bytes(fnv1a(&bytes).to_ne_bytes()))
}

/// A file's time as the index keeps it, to the nanosecond: a file
/// rewritten within the same second is still told apart.
fn nanos(time: SystemTime) -> Option<i64> {
    i64::try_from(time.duration_since(UNIX_EPOCH).ok()?.as_nanos()).ok()
}

fn unix_time(time: SystemTime) -> Option<i64> {
    let secs = time.duration_since(UNIX_EPOCH).ok()?.as_secs();
    i64::try_from(secs).ok()
}

/// Adds one message (one that `maillint sendmail` passed on) to the index;
/// `sent` is when, for a message without a Date.
pub fn learn_message(
    history: &History,
    message: &Message,
    raw: &[u8],
    sent: Option<SystemTime>,
) -> Result<bool, rusqlite::Error> {
    let Ok(mut conn) = history.conn.lock() else {
        return Ok(false);
    };
    let tx = conn.transaction()?;
    let learned = record(&tx, message, content_key(raw), sent.and_then(unix_time))?;
    tx.commit()?;
    Ok(learned)
}

/// After `maillint sendmail` passed a message on: learns it when
/// `[history] learn_on_send` is set. A failure comes back as a warning for
/// the caller to say, and is otherwise ignored: the message is sent already.
pub fn learn_sent(config: &Config, message: &Message, raw: &[u8]) -> Result<(), String> {
    if !config.history.learn_on_send {
        return Ok(());
    }
    let Some(path) = index_path(config) else {
        return Ok(());
    };
    History::create(&path)
        .map_err(|e| e.to_string())
        .and_then(|h| {
            learn_message(&h, message, raw, Some(SystemTime::now())).map_err(|e| e.to_string())
        })
        .map(|_| ())
        .map_err(|e| format!("the message was sent but not learned: {e}"))
}

/// Records one message unless it was learned before: its recipients and
/// when they were written to (the Date, else `fallback_time`), the names
/// they were written under, who went together, and which of the sender's
/// addresses wrote to them.
fn record(
    tx: &Transaction<'_>,
    message: &Message,
    fallback_key: String,
    fallback_time: Option<i64>,
) -> rusqlite::Result<bool> {
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
    let sent = message
        .header("Date")
        .and_then(|h| mail_parser::DateTime::parse_rfc822(h.value))
        .filter(mail_parser::DateTime::is_valid)
        .map(|d| d.to_timestamp())
        .or(fallback_time);
    let mut add_address = tx.prepare_cached(
        "INSERT INTO address (addr, local, domain, count, first, last) VALUES (?1, ?2, ?3, 1, ?4, ?4)
         ON CONFLICT (addr) DO UPDATE SET count = count + 1,
             first = min(coalesce(first, excluded.first), coalesce(excluded.first, first)),
             last = max(coalesce(last, excluded.last), coalesce(excluded.last, last))",
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
        add_address.execute(params![addr, local, domain, sent])?;
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

/// A message without a Message-ID is known by its content.
fn content_key(bytes: &[u8]) -> String {
    format!("fnv:{:016x}:{}", fnv1a(bytes), bytes.len())
}

/// `maillint learn PATHS`: learns the paths into the index at `path`
/// (created when missing), calling `progress` as [`learn`] does. What could
/// not be read is in the summary's `errors`; the caller says it.
pub fn learn_paths(
    limits: &Limits,
    paths: &[String],
    path: &Path,
    progress: &dyn Fn(&LearnSummary),
) -> Result<LearnSummary, HistoryError> {
    let history = History::create(path)?;
    let inputs: Vec<Input> = paths.iter().map(|p| Input::from_arg(p)).collect();
    learn(&history, &inputs, limits, progress).map_err(error_at(path))
}

/// `maillint learn --forget ADDRESS`: removes the address from the index
/// at `path`; whether it was there.
pub fn forget(path: &Path, addr: &str) -> Result<bool, HistoryError> {
    History::create(path)?.forget(addr).map_err(error_at(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Recall;

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
        assert!(learn_message(&history, &msg, SENT.as_bytes(), None).unwrap());
        // The same message again (a second run, or sendmail and learn).
        assert!(!learn_message(&history, &msg, SENT.as_bytes(), None).unwrap());
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
        learn_message(&history, &msg, SENT.as_bytes(), None).unwrap();
        assert!(history.forget("jane@agency.gov").unwrap());
        assert!(!history.forget("jane@agency.gov").unwrap());
        assert_eq!(history.known("jane@agency.gov"), None);
        assert!(history.named("Jane Smith").is_empty());
        assert_eq!(history.together("bob@example.org", "jane@agency.gov"), 0);
        learn_message(&history, &msg, SENT.as_bytes(), None).unwrap();
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
        let run = || {
            let s = learn(
                &history,
                &[Input::Path(mbox.clone())],
                &Limits::default(),
                &|_| {},
            )
            .unwrap();
            (s.learned, s.known, s.read)
        };
        std::fs::write(&mbox, one(1) + &one(2)).unwrap();
        assert_eq!(run(), (2, 0, 2));
        assert_eq!(run(), (0, 2, 0), "an unchanged mbox is not read again");
        std::fs::write(&mbox, one(1) + &one(2) + &one(3)).unwrap();
        assert_eq!(run(), (1, 2, 1), "only the message added is read");
        assert_eq!(history.known("p1@example.net").unwrap().count, 1);
        // Rewritten (the first message deleted, one added): read whole, and
        // the messages learned before are known by their content.
        std::fs::write(&mbox, one(2) + &one(3) + &one(4)).unwrap();
        assert_eq!(run(), (1, 2, 3));
        assert_eq!(history.known("p3@example.net").unwrap().count, 1);
    }

    #[test]
    fn a_directory_learned_again_reads_only_new_files() {
        let (dir, history) = index();
        let maildir = dir.path().join("Sent");
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(maildir.join(sub)).unwrap();
        }
        let write = |n: u32| {
            std::fs::write(
                maildir.join(format!("cur/{n}.host:2,S")),
                format!("From: me@example.org\nTo: p{n}@example.net\nMessage-ID: <{n}@x>\n\nx\n"),
            )
            .unwrap();
        };
        let run = || {
            let s = learn(
                &history,
                &[Input::Path(maildir.clone())],
                &Limits::default(),
                &|_| {},
            )
            .unwrap();
            (s.learned, s.known, s.read)
        };
        (1..=3).for_each(write);
        assert_eq!(run(), (3, 0, 3));
        write(4);
        assert_eq!(run(), (1, 3, 1));
        assert_eq!(run(), (0, 4, 0));
        // Flags changed by a mail client (replied to): the same file.
        std::fs::rename(
            maildir.join("cur/1.host:2,S"),
            maildir.join("cur/1.host:2,RS"),
        )
        .unwrap();
        assert_eq!(run(), (0, 4, 0));
    }

    #[test]
    fn remembers_when_each_address_was_written_to() {
        let (dir, history) = index();
        let mail = dir.path().join("mail");
        std::fs::create_dir(&mail).unwrap();
        for (n, date) in [
            (1, "Date: Mon, 2 Mar 2026 09:00:00 +0000\n"),
            (2, "Date: Fri, 2 Jan 2026 09:00:00 +0000\n"),
            (3, ""),
        ] {
            std::fs::write(
                mail.join(format!("{n}.eml")),
                format!("From: me@example.org\nTo: jane@agency.example\n{date}Message-ID: <{n}@x>\n\nx\n"),
            )
            .unwrap();
        }
        // The message without a Date counts from its file's time.
        let file = std::fs::File::options()
            .write(true)
            .open(mail.join("3.eml"))
            .unwrap();
        let in_2025 = UNIX_EPOCH + std::time::Duration::from_secs(1_750_000_000);
        file.set_modified(in_2025).unwrap();
        learn(&history, &[Input::Path(mail)], &Limits::default(), &|_| {}).unwrap();
        let jane = history.known("jane@agency.example").unwrap();
        assert_eq!(jane.times_and_when(), "3 times, last on 2026-03-02");
        let (first, last): (i64, i64) = history
            .conn
            .lock()
            .unwrap()
            .query_row("SELECT first, last FROM address", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(
            (super::super::day(first), super::super::day(last)),
            ("2025-06-15".into(), "2026-03-02".into())
        );
    }

    #[test]
    fn an_index_of_the_first_layout_is_upgraded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite");
        let old = rusqlite::Connection::open(&path).unwrap();
        old.execute_batch(
            "CREATE TABLE learned (key TEXT PRIMARY KEY) WITHOUT ROWID;
             CREATE TABLE address (addr TEXT PRIMARY KEY, local TEXT NOT NULL, domain TEXT NOT NULL,
                 count INTEGER NOT NULL) WITHOUT ROWID;
             CREATE TABLE name (name TEXT NOT NULL, addr TEXT NOT NULL, shown TEXT NOT NULL,
                 count INTEGER NOT NULL, PRIMARY KEY (name, addr)) WITHOUT ROWID;
             CREATE TABLE pair (a TEXT NOT NULL, b TEXT NOT NULL, count INTEGER NOT NULL,
                 PRIMARY KEY (a, b)) WITHOUT ROWID;
             CREATE TABLE sender (addr TEXT NOT NULL, own TEXT NOT NULL, count INTEGER NOT NULL,
                 PRIMARY KEY (addr, own)) WITHOUT ROWID;
             INSERT INTO address VALUES ('jane@agency.example', 'jane', 'agency.example', 41);",
        )
        .unwrap();
        drop(old);
        // A reader upgrades it (the file is writable) and keeps what it knew.
        let reader = History::open_for_reading(&path).unwrap().unwrap();
        let jane = reader.known("jane@agency.example").unwrap();
        assert_eq!((jane.count, jane.last), (41, None));
        assert_eq!(jane.times_and_when(), "41 times");
        drop(reader);
        let history = History::create(&path).unwrap();
        let msg = crate::testing::eml(
            "From: me@example.org\nTo: jane@agency.example\nDate: Mon, 2 Mar 2026 09:00:00 +0000\n\nx\n",
        );
        learn_message(&history, &msg, b"x", None).unwrap();
        assert_eq!(
            history
                .known("jane@agency.example")
                .unwrap()
                .times_and_when(),
            "42 times, last on 2026-03-02"
        );
    }

    #[test]
    fn an_index_of_a_newer_layout_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.sqlite");
        drop(History::create(&path).unwrap());
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch("PRAGMA user_version = 99")
            .unwrap();
        let err = History::open_for_reading(&path).err().unwrap().to_string();
        assert!(
            err.ends_with("new.sqlite: made by a newer maillint"),
            "{err}"
        );
        assert!(History::create(&path).is_err());
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
