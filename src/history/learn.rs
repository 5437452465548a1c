//! `maillint learn`: adding sent mail to the index.

use super::schema::is_busy;
use super::{
    BATCH, History, HistoryError, MAX_CIRCLE, address_key, index_path, name_key, name_tokens,
    ordered,
};
use crate::config::Config;
use crate::input::{self, FileStamp, Input, Item, Limits, MboxPosition, RawMessage, Start};
use crate::message::{Field, Message};
use crate::numbers::fnv1a;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use std::cell::RefCell;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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
/// Messages are parsed outside the write transaction and written
/// [`BATCH`] at a time, or every [`COMMIT_EVERY`] when reading is slow, so
/// the index is locked for milliseconds at a time and a `sendmail` that
/// learns a message meanwhile gets its turn.
///
/// What is learned goes to the history of `history`'s sender (see
/// [`History::for_sender`]).
pub fn learn(
    history: &History,
    inputs: &[Input],
    limits: &Limits,
    progress: &dyn Fn(&LearnSummary),
) -> Result<LearnSummary, rusqlite::Error> {
    learn_committing(history, inputs, limits, progress, COMMIT_EVERY, Owner::View)
}

/// [`learn`] from a journal or archive of many senders' mail: each message
/// goes to the history of the sender its From header names (its first
/// address, lowercased, as [`sender_key`](super::sender_key) keys an
/// envelope sender). Messages without a From address are not learned.
pub fn learn_journal(
    history: &History,
    inputs: &[Input],
    limits: &Limits,
    progress: &dyn Fn(&LearnSummary),
) -> Result<LearnSummary, rusqlite::Error> {
    learn_committing(
        history,
        inputs,
        limits,
        progress,
        COMMIT_EVERY,
        Owner::FromHeader,
    )
}

/// Whose history `maillint learn` adds to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Whose {
    /// The user's own (a personal index).
    Personal,
    /// One sender's at a gateway, by [`sender_key`](super::sender_key).
    Sender(String),
    /// A journal's: each message's sender's.
    Journal,
}

/// What `maillint learn --forget` removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Forget {
    /// One correspondent, from every sender's history.
    Address(String),
    /// One sender's whole history.
    Sender(String),
}

/// Whose history a learning run adds to.
#[derive(Clone, Copy)]
enum Owner {
    /// The sender of the `History` view it was given.
    View,
    /// Each message's own From.
    FromHeader,
}

/// How long parsed messages wait to be written at most.
const COMMIT_EVERY: Duration = Duration::from_secs(2);

/// One message read, parsed and waiting to be written, with where it was
/// read from.
struct Parsed {
    /// `None` for a message that did not parse: its place in its file
    /// is remembered all the same.
    sent: Option<Sent>,
    file: Option<std::sync::Arc<FileStamp>>,
    mbox_end: Option<MboxPosition>,
}

/// [`learn`], committing at least every `commit_every`.
fn learn_committing(
    history: &History,
    inputs: &[Input],
    limits: &Limits,
    progress: &dyn Fn(&LearnSummary),
    commit_every: Duration,
    owner: Owner,
) -> Result<LearnSummary, rusqlite::Error> {
    let summary = RefCell::new(LearnSummary::default());
    let Ok(conn) = history.conn.lock() else {
        return Ok(summary.into_inner());
    };
    learn_kept(history, &conn)?;
    let mut batch: Vec<Parsed> = Vec::new();
    let mut since = Instant::now();
    let mut failure = None;
    // The mbox being read: its last message's end is written down when the
    // batch is committed or the next file begins.
    let mut open_mbox: Option<(std::sync::Arc<FileStamp>, MboxPosition)> = None;
    let flush = |batch: &mut Vec<Parsed>,
                 open_mbox: &mut Option<(std::sync::Arc<FileStamp>, MboxPosition)>|
     -> rusqlite::Result<()> {
        let tx = Transaction::new_unchecked(&conn, TransactionBehavior::Immediate)?;
        for read in batch.drain(..) {
            if let Some((file, _)) = &open_mbox
                && read.file.as_ref() != Some(file)
                && let Some((file, end)) = open_mbox.take()
            {
                remember_mbox(&tx, &file, end)?;
            }
            if let Some(sent) = &read.sent {
                let mut s = summary.borrow_mut();
                if write(&tx, sent)? {
                    s.learned += 1;
                } else {
                    s.known += 1;
                }
            }
            match (read.file, read.mbox_end) {
                (Some(file), Some(end)) => *open_mbox = Some((file, end)),
                (Some(file), None) => remember_file(&tx, &file)?,
                (None, _) => {}
            }
        }
        if let Some((file, end)) = &open_mbox {
            remember_mbox(&tx, file, *end)?;
        }
        tx.commit()
    };
    input::read_inputs_from(
        inputs,
        limits,
        &mut |stamp| match where_to_start(&conn, stamp) {
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
            match item {
                Item::Message(mut raw) => {
                    let sent =
                        read_raw(&mut raw, &mut summary.borrow_mut(), |message| match owner {
                            Owner::View => Some(history.owner.clone()),
                            Owner::FromHeader => message
                                .addresses_in(Field::From)
                                .map(|a| address_key(a.addr))
                                .find(|a| a.contains('@'))
                                .map(|a| history.stored_owner(&a)),
                        });
                    if batch.is_empty() {
                        since = Instant::now();
                    }
                    batch.push(Parsed {
                        sent: sent.map(|s| s.stored_by(history)),
                        file: raw.file.clone(),
                        mbox_end: raw.mbox_end,
                    });
                }
                Item::Error { source, error } => {
                    summary
                        .borrow_mut()
                        .errors
                        .push(format!("{source}: {error}"));
                    return;
                }
            }
            if (batch.len() >= BATCH || since.elapsed() >= commit_every)
                && let Err(e) = flush(&mut batch, &mut open_mbox)
            {
                failure = Some(e);
            }
            progress(&summary.borrow());
        },
    );
    if let Some(e) = failure {
        return Err(e);
    }
    if !batch.is_empty() || open_mbox.is_some() {
        flush(&mut batch, &mut open_mbox)?;
    }
    Ok(summary.into_inner())
}

/// Parses one message read: `None` when it does not parse (the error is in
/// the summary).
fn read_raw(
    raw: &mut RawMessage,
    summary: &mut LearnSummary,
    owner: impl FnOnce(&Message) -> Option<String>,
) -> Option<Sent> {
    summary.read += 1;
    let fallback_key = content_key(&raw.bytes);
    let message = match raw.parse() {
        Ok(m) => m,
        Err(e) => {
            summary
                .errors
                .push(format!("{}: {e}", raw.located_source()));
            return None;
        }
    };
    let file_time = raw
        .file
        .as_ref()
        .and_then(|f| f.modified)
        .and_then(unix_time);
    let Some(owner) = owner(&message) else {
        summary.errors.push(format!(
            "{}: no sender address to learn it for",
            raw.located_source()
        ));
        return None;
    };
    Some(Sent::of(&message, owner, || fallback_key, file_time))
}

/// How much of a file to read, and how many messages of it are learned
/// already: an unchanged file is skipped; an mbox that only grew is read
/// from where the last run stopped (when the bytes before that point are
/// still the same); anything else is read whole, its messages learned
/// before being recognised by their keys.
fn where_to_start(tx: &Connection, stamp: &FileStamp) -> rusqlite::Result<(Start, u64)> {
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

fn source_row(tx: &Connection, key: &str) -> rusqlite::Result<Option<SourceRow>> {
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
    let sent = Sent::of(
        message,
        history.owner.clone(),
        || content_key(raw),
        sent.and_then(unix_time),
    )
    .stored_by(history);
    let Ok(conn) = history.conn.lock() else {
        return Ok(false);
    };
    learn_kept(history, &conn)?;
    let tx = Transaction::new_unchecked(&conn, TransactionBehavior::Immediate)?;
    let learned = write(&tx, &sent)?;
    tx.commit()?;
    Ok(learned)
}

/// What became of a sent message given to [`learn_or_keep`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    Learned,
    /// Learned before.
    Known,
    /// The index was busy (another process writing) beyond the wait: what
    /// is to be learned of the message waits beside the index, and the
    /// next writer learns it.
    ForLater,
}

/// Learns one sent message into `history` (opened for learning with
/// [`History::create`], and for a gateway the sender's view of it, see
/// [`History::for_sender`]), or, when the index stays busy for longer than
/// the wait, keeps what is to be learned of it beside the index for the
/// next writer instead of dropping it. A gateway calls this for each
/// message that leaves; `sent` is when.
pub fn learn_or_keep(
    history: &History,
    message: &Message,
    raw: &[u8],
    sent: SystemTime,
) -> Result<Kept, String> {
    learn_record_or_keep(history, &history.record(message, || content_key(raw), sent))
}

/// One sent message as the index learns it: whose history it goes to, its
/// key, its recipients with their names, and when it was sent, taken from
/// the message at once (hashed for a hashed index). Learning it later needs
/// neither the message nor its bytes: a gateway makes one while it checks
/// a message, and learns it on a thread of its own once the message has
/// left (see [`learn_record_or_keep`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Record(pub(super) Sent);

impl History {
    /// The record of `message`, sent at `sent`, for this view's sender
    /// (see [`History::for_sender`]). `id` names the message when it has no
    /// Message-ID (a gateway's queue id), so that it is learned once.
    /// Reads nothing from the index.
    pub fn record(
        &self,
        message: &Message,
        id: impl FnOnce() -> String,
        sent: SystemTime,
    ) -> Record {
        Record(Sent::of(message, self.owner.clone(), id, unix_time(sent)).stored_by(self))
    }
}

impl Record {
    /// The sender whose history it goes to (see [`History::for_sender`]).
    pub fn sender(&self) -> &str {
        &self.0.owner
    }

    /// How many recipients it holds: what it weighs in memory.
    pub fn recipients(&self) -> usize {
        self.0.recipients.len()
    }
}

/// Learns a record into `history`'s index (opened for learning; the
/// record says whose history it goes to), or, when the index stays busy
/// beyond the wait, keeps it beside the index for the next writer, as
/// [`learn_or_keep`] does.
pub fn learn_record_or_keep(history: &History, record: &Record) -> Result<Kept, String> {
    learn_records_or_keep(history, std::slice::from_ref(record))
        .pop()
        .unwrap_or_else(|| Err("no record was learned".into()))
}

/// Learns records in one transaction (a gateway's writer takes what has
/// queued: one commit for them all, where each is otherwise a commit of
/// its own), or, when the index stays busy beyond the wait, keeps every
/// one of them beside the index for the next writer. What became of each,
/// in order. A batch that fails for another reason is learned one record
/// at a time, so that a record the index refuses loses no other.
pub fn learn_records_or_keep(history: &History, records: &[Record]) -> Vec<Result<Kept, String>> {
    if history.path.is_none() {
        let refused = "the index was opened for reading, not for learning";
        return records.iter().map(|_| Err(refused.to_string())).collect();
    }
    let written = history
        .conn
        .lock()
        // Each error says whether the index was busy.
        .map_err(|_| (false, "the index's lock was poisoned".to_string()))
        .and_then(|conn| {
            learn_kept(history, &conn)
                .and_then(|()| {
                    let tx = Transaction::new_unchecked(&conn, TransactionBehavior::Immediate)?;
                    let learned = records
                        .iter()
                        .map(|record| write(&tx, &record.0))
                        .collect::<rusqlite::Result<Vec<bool>>>()?;
                    tx.commit().map(|()| learned)
                })
                .map_err(|e| (is_busy(&e), e.to_string()))
        });
    match written {
        Ok(learned) => learned
            .into_iter()
            .map(|new| Ok(if new { Kept::Learned } else { Kept::Known }))
            .collect(),
        Err((true, _)) => records
            .iter()
            .map(|record| keep_for_later(history, record).map(|()| Kept::ForLater))
            .collect(),
        Err((false, e)) if records.len() == 1 => vec![Err(e)],
        Err(_) => records
            .iter()
            .map(|record| learn_record_or_keep(history, record))
            .collect(),
    }
}

/// Keeps a record beside the index for the next writer without trying
/// the index (a gateway whose writer has more waiting than it holds).
pub fn keep_for_later(history: &History, record: &Record) -> Result<(), String> {
    let path = history
        .path
        .as_deref()
        .ok_or("the index was opened for reading, not for learning")?;
    let name = format!(
        "{}-{}",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
        std::process::id()
    );
    keep_in(&pending_dir(path), &name, &record.0).map_err(|e| {
        format!("the index was busy, and the message could not be kept for later: {e}")
    })
}

/// Keeps the record of a message held for its sender's confirmation
/// (`id`: its number in the held-mail store) beside the index, until
/// [`settle_held`] learns it (released) or drops it (discarded, expired).
pub fn keep_held(history: &History, id: i64, record: &Record) -> Result<(), String> {
    let path = history
        .path
        .as_deref()
        .ok_or("the index was opened for reading, not for learning")?;
    keep_in(&held_dir(path), &id.to_string(), &record.0)
        .map_err(|e| format!("cannot keep the held message's record for when it is released: {e}"))
}

/// The held-mail store's numbers of the held messages whose records wait
/// (see [`keep_held`]).
pub fn held_waiting(history: &History) -> Vec<i64> {
    let Some(dir) = history.path.as_deref().map(held_dir) else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name();
            name.to_str()?.strip_suffix(".json")?.parse().ok()
        })
        .collect()
}

/// What became of held message `id`: `released` learns its record (or
/// keeps it for the next writer when the index is busy) and gives it back
/// (for the other gateways, see `Shared`), otherwise the record is
/// dropped. Its file goes either way once that is done.
pub fn settle_held(
    history: &History,
    id: i64,
    released: bool,
) -> Result<Option<(Kept, Record)>, String> {
    let path = history
        .path
        .as_deref()
        .ok_or("the index was opened for reading, not for learning")?;
    let file = held_dir(path).join(format!("{id}.json"));
    let kept = if released {
        let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let record: Sent =
            serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", file.display()))?;
        let record = Record(record);
        Some((learn_record_or_keep(history, &record)?, record))
    } else {
        None
    };
    std::fs::remove_file(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    Ok(kept)
}

/// Where messages wait that found the index busy: a directory beside it,
/// `history.sqlite.pending/`, private like the index.
fn pending_dir(index: &Path) -> PathBuf {
    let mut name = index.as_os_str().to_owned();
    name.push(".pending");
    PathBuf::from(name)
}

/// Where the records of held messages wait to be released or
/// discarded: `history.sqlite.held/`, private like the index.
fn held_dir(index: &Path) -> PathBuf {
    let mut name = index.as_os_str().to_owned();
    name.push(".held");
    PathBuf::from(name)
}

/// Puts one message's record in `dir` (made 0700) as `NAME.json` (0600):
/// written whole under a temporary name, then renamed, so a reader never
/// sees half of one.
fn keep_in(dir: &Path, name: &str, record: &Sent) -> std::io::Result<()> {
    let json = serde_json::to_vec(record).map_err(std::io::Error::other)?;
    let temporary = dir.join(format!(".{name}"));
    let mut builder = std::fs::DirBuilder::new();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        builder.mode(0o700);
        options.mode(0o600);
    }
    builder.recursive(true).create(dir)?;
    std::io::Write::write_all(&mut options.open(&temporary)?, &json)?;
    std::fs::rename(&temporary, dir.join(format!("{name}.json")))
}

/// Learns the messages that found the index busy before (see
/// [`learn_or_keep`]), then removes them. One that cannot be read is left
/// where it is.
fn learn_kept(history: &History, conn: &Connection) -> rusqlite::Result<()> {
    let Some(dir) = history.path.as_deref().map(pending_dir) else {
        return Ok(());
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(());
    };
    let kept: Vec<(PathBuf, Sent)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter_map(|p| {
            let record = serde_json::from_slice(&std::fs::read(&p).ok()?).ok()?;
            Some((p, record))
        })
        .collect();
    if kept.is_empty() {
        return Ok(());
    }
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
    for (_, record) in &kept {
        write(&tx, record)?;
    }
    tx.commit()?;
    for (path, _) in kept {
        _ = std::fs::remove_file(path);
    }
    Ok(())
}

/// After `maillint sendmail` passed a message on: learns it when
/// `[history] learn_on_send` is set; an index busy for long keeps it for
/// later (see [`learn_or_keep`]). A failure comes back as a warning for
/// the caller to say, and is otherwise ignored: the message is sent already.
pub fn learn_sent(config: &Config, message: &Message, raw: &[u8]) -> Result<(), String> {
    if !config.history.learn_on_send {
        return Ok(());
    }
    let Some(path) = index_path(config) else {
        return Ok(());
    };
    open_to_learn(config, &path)
        .and_then(|history| {
            learn_or_keep(&history, message, raw, SystemTime::now())?;
            expire(config, &history)
        })
        .map_err(|e| format!("the message was sent but not learned: {e}"))
}

/// Opens the index at `path` for learning as the configuration asks:
/// hashed with `[history] hash_key_file`'s key, if set.
pub fn open_to_learn(config: &Config, path: &Path) -> Result<History, String> {
    let key = super::hash_key(config)?;
    History::create(path)
        .map_err(|e| e.to_string())?
        .with_hash_key(key)
        .map_err(|problem| HistoryError::new(path, problem).to_string())
}

/// Applies `[history] retention_days`.
fn expire(config: &Config, history: &History) -> Result<(), String> {
    let Some(days) = config.history.retention_days else {
        return Ok(());
    };
    let now = unix_time(SystemTime::now()).unwrap_or(0);
    history
        .expire(days, now)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// What the index learns of one sent message: its key, its recipients
/// (with the names they were written under) and when it was sent (the
/// Date, else the file's time or when `sendmail` passed it on).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) struct Sent {
    /// Whose history it goes to (see [`History::for_sender`]).
    pub(super) owner: String,
    key: String,
    recipients: Vec<SentTo>,
    time: Option<i64>,
}

/// One recipient of a sent message, each part as the index keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct SentTo {
    addr: String,
    local: String,
    domain: String,
    /// The display name's key (see [`name_key`]), and the name as written
    /// (not kept by a hashed index).
    name: Option<(String, Option<String>)>,
    /// In a hashed index, in place of the name as written: the keyed
    /// hashes of its tokens (see [`name_tokens`]), space separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    words: Option<String>,
}

impl Sent {
    fn of(
        message: &Message,
        owner: String,
        fallback_key: impl FnOnce() -> String,
        fallback_time: Option<i64>,
    ) -> Sent {
        let key = message
            .message_id
            .as_deref()
            .map_or_else(fallback_key, super::schema::message_id_key);
        // Learned once per sender: a sender who reuses another's
        // Message-ID must not keep that sender's message from being
        // learned, nor learn from whether it was.
        let key = if owner.is_empty() {
            key
        } else {
            format!("{key}:{:016x}", fnv1a(owner.as_bytes()))
        };
        // The sender's own addresses are no recipients.
        let own: Vec<String> = message
            .addresses_in(Field::From)
            .map(|a| address_key(a.addr))
            .filter(|a| a.contains('@'))
            .collect();
        let mut recipients: Vec<SentTo> = Vec::new();
        for address in message.addresses().filter(|a| a.field.is_recipient()) {
            let key = address_key(address.addr);
            if key.contains('@') && !own.contains(&key) && !recipients.iter().any(|r| r.addr == key)
            {
                let (local, domain) = key.rsplit_once('@').unwrap_or((&key, ""));
                let name = address
                    .name
                    .and_then(|n| Some((name_key(n)?, Some(n.trim().to_string()))));
                recipients.push(SentTo {
                    local: local.to_string(),
                    domain: domain.to_string(),
                    addr: key,
                    name,
                    words: None,
                });
            }
        }
        let time = message
            .header("Date")
            .and_then(|h| mail_parser::DateTime::parse_rfc822(h.value))
            .filter(mail_parser::DateTime::is_valid)
            .map(|d| d.to_timestamp())
            .or(fallback_time);
        Sent {
            owner,
            key,
            recipients,
            time,
        }
    }

    /// Whether `stored` (an address as the index keeps it) is among the
    /// recipients.
    pub(super) fn recipients_include(&self, stored: &str) -> bool {
        self.recipients.iter().any(|r| r.addr == stored)
    }

    /// The record as `history` keeps it: hashed for a hashed index (see
    /// [`History::with_hash_key`]), without the names as written.
    fn stored_by(mut self, history: &History) -> Sent {
        if history.key.is_some() {
            for r in &mut self.recipients {
                r.addr = history.stored(&r.addr).into_owned();
                r.local = history.stored(&r.local).into_owned();
                r.domain = history.stored(&r.domain).into_owned();
                if let Some((key, shown)) = &mut r.name {
                    *key = history.stored(key).into_owned();
                    let tokens = name_tokens(shown.take().as_deref().unwrap_or(""));
                    r.words = (!tokens.is_empty()).then(|| {
                        let hashes: Vec<String> =
                            tokens.iter().map(|t| history.token_hash(t)).collect();
                        hashes.join(" ")
                    });
                }
            }
        }
        self
    }
}

/// Records one message unless it was learned before: its recipients and
/// when they were written to, the names they were written under, and who
/// went together.
pub(super) fn write(tx: &Transaction<'_>, sent: &Sent) -> rusqlite::Result<bool> {
    if tx
        .prepare_cached("INSERT OR IGNORE INTO learned (key) VALUES (?1)")?
        .execute(params![sent.key])?
        == 0
    {
        return Ok(false);
    }
    let mut add_address = tx.prepare_cached(
        "INSERT INTO address (owner, addr, local, domain, count, first, last)
         VALUES (?5, ?1, ?2, ?3, 1, ?4, ?4)
         ON CONFLICT (owner, addr) DO UPDATE SET count = count + 1,
             first = min(coalesce(first, excluded.first), coalesce(excluded.first, first)),
             last = max(coalesce(last, excluded.last), coalesce(excluded.last, last))",
    )?;
    let mut add_name = tx.prepare_cached(
        "INSERT INTO name (owner, name, addr, shown, count, words) VALUES (?4, ?1, ?2, ?3, 1, ?5)
         ON CONFLICT (owner, name, addr) DO UPDATE SET count = count + 1, shown = excluded.shown,
             words = coalesce(excluded.words, words)",
    )?;
    for r in &sent.recipients {
        add_address.execute(params![r.addr, r.local, r.domain, sent.time, sent.owner])?;
        if let Some((key, shown)) = &r.name {
            let shown = shown.as_deref().unwrap_or("");
            add_name.execute(params![key, r.addr, shown, sent.owner, r.words])?;
        }
    }
    if sent.recipients.len() <= MAX_CIRCLE {
        let mut add_pair = tx.prepare_cached(
            "INSERT INTO pair (owner, a, b, count) VALUES (?3, ?1, ?2, 1)
             ON CONFLICT (owner, a, b) DO UPDATE SET count = count + 1",
        )?;
        for (i, a) in sent.recipients.iter().enumerate() {
            for b in &sent.recipients[i + 1..] {
                let (a, b) = ordered(a.addr.clone(), b.addr.clone());
                add_pair.execute(params![a, b, sent.owner])?;
            }
        }
    }
    Ok(true)
}

/// A message without a Message-ID is known by its content.
fn content_key(bytes: &[u8]) -> String {
    format!("fnv:{:016x}:{}", fnv1a(bytes), bytes.len())
}

/// What `maillint learn` did, for the command line to say.
#[derive(Debug)]
pub enum Learned {
    /// The paths were read: what they taught.
    Paths(LearnSummary),
    /// An address or a sender was forgotten (`true`), or was not in the
    /// index (`false`).
    Forgot(String, bool),
}

/// `maillint learn`: learns the paths, or forgets an address, in the index
/// at `path`, calling `progress` as [`learn`] does. What could not be read
/// is in the summary's `errors`; the caller says it.
pub fn learn_or_forget(
    config: &Config,
    paths: &[String],
    whose: &Whose,
    forget: Option<&Forget>,
    path: &Path,
    progress: &dyn Fn(&LearnSummary),
) -> Result<Learned, String> {
    let all = open_to_learn(config, path)?;
    let in_index = |e: rusqlite::Error| HistoryError::new(path, e.to_string()).to_string();
    expire(config, &all)?;
    let history = match whose {
        Whose::Sender(key) => all.for_sender(key),
        Whose::Personal | Whose::Journal => all,
    };
    if let Some(forget) = forget {
        let (forgot, what) = match forget {
            Forget::Address(addr) => (history.forget(addr), addr),
            Forget::Sender(key) => (history.forget_sender(key), key),
        };
        return Ok(Learned::Forgot(what.clone(), forgot.map_err(in_index)?));
    }
    let inputs: Vec<Input> = paths.iter().map(|p| Input::from_arg(p)).collect();
    let learn_as = match whose {
        Whose::Journal => learn_journal,
        Whose::Personal | Whose::Sender(_) => learn,
    };
    learn_as(&history, &inputs, &config.input, progress)
        .map(Learned::Paths)
        .map_err(in_index)
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

    fn mbox_of(dir: &Path, messages: u32) -> std::path::PathBuf {
        let mbox = dir.join("sent.mbox");
        let text: String = (0..messages)
            .map(|n| {
                format!(
                    "From me Mon Jan  1 00:00:00 2024\nFrom: me@example.org\nTo: p{n}@example.net\nMessage-ID: <{n}@x>\n\nx\n\n"
                )
            })
            .collect();
        std::fs::write(&mbox, text).unwrap();
        mbox
    }

    #[test]
    fn another_writer_gets_its_turn_while_messages_are_parsed() {
        let (dir, history) = index();
        let mbox = mbox_of(dir.path(), 5);
        let other = rusqlite::Connection::open(dir.path().join("h.sqlite")).unwrap();
        other.busy_timeout(Duration::ZERO).unwrap();
        let turns = std::cell::Cell::new(0);
        learn(&history, &[Input::Path(mbox)], &Limits::default(), &|_| {
            // What `sendmail` does to learn a message, without waiting.
            other
                .execute_batch("BEGIN IMMEDIATE; INSERT INTO learned VALUES ('other'); ROLLBACK")
                .unwrap();
            turns.set(turns.get() + 1);
        })
        .unwrap();
        assert_eq!(turns.get(), 5);
    }

    #[test]
    fn a_slow_read_is_committed_by_time() {
        let (dir, history) = index();
        let mbox = mbox_of(dir.path(), 4);
        let reader = rusqlite::Connection::open(dir.path().join("h.sqlite")).unwrap();
        let committed = std::cell::RefCell::new(Vec::new());
        learn_committing(
            &history,
            &[Input::Path(mbox)],
            &Limits::default(),
            &|_| {
                let n: i64 = reader
                    .query_row("SELECT count(*) FROM learned", [], |r| r.get(0))
                    .unwrap();
                committed.borrow_mut().push(n);
            },
            Duration::ZERO,
            Owner::View,
        )
        .unwrap();
        assert_eq!(*committed.borrow(), [1, 2, 3, 4]);
    }

    #[test]
    fn a_message_that_finds_the_index_busy_is_kept_for_later() {
        let (dir, history) = index();
        let path = dir.path().join("h.sqlite");
        drop(history);
        let msg = |n: u32| {
            crate::testing::eml(&format!(
                "From: me@example.org\nTo: p{n}@example.net\nMessage-ID: <{n}@x>\n\nx\n"
            ))
        };
        let blocker = rusqlite::Connection::open(&path).unwrap();
        blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
        let waiting = History::create_waiting(&path, Duration::ZERO).unwrap();
        let kept = learn_or_keep(&waiting, &msg(1), b"", SystemTime::now());
        assert_eq!(kept, Ok(Kept::ForLater));
        let pending: Vec<_> = std::fs::read_dir(pending_dir(&path)).unwrap().collect();
        assert_eq!(pending.len(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let file = pending[0].as_ref().unwrap().path();
            assert_eq!(
                std::fs::metadata(file).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        blocker.execute_batch("COMMIT").unwrap();
        // The next writer learns it, then its own message.
        let next = learn_or_keep(&waiting, &msg(2), b"", SystemTime::now());
        assert_eq!(next, Ok(Kept::Learned));
        let history = History::open_for_reading(&path).unwrap().unwrap();
        assert_eq!(history.known("p1@example.net").unwrap().count, 1);
        assert_eq!(history.known("p2@example.net").unwrap().count, 1);
        assert_eq!(std::fs::read_dir(pending_dir(&path)).unwrap().count(), 0);
    }

    #[test]
    fn records_are_learned_together_or_kept_together_when_the_index_is_busy() {
        let (dir, history) = index();
        let path = dir.path().join("h.sqlite");
        drop(history);
        let waiting = History::create_waiting(&path, Duration::ZERO).unwrap();
        let record = |n: u32| {
            let msg = crate::testing::eml(&format!(
                "From: me@example.org\nTo: p{n}@example.net\nMessage-ID: <{n}@x>\n\nx\n"
            ));
            waiting.record(&msg, String::new, SystemTime::now())
        };
        let kept = learn_records_or_keep(&waiting, &[record(1), record(2), record(1)]);
        assert_eq!(
            kept,
            [Ok(Kept::Learned), Ok(Kept::Learned), Ok(Kept::Known)]
        );
        // Busy: every record of the batch waits beside the index.
        let blocker = rusqlite::Connection::open(&path).unwrap();
        blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
        let kept = learn_records_or_keep(&waiting, &[record(3), record(4)]);
        assert_eq!(kept, [Ok(Kept::ForLater), Ok(Kept::ForLater)]);
        assert_eq!(std::fs::read_dir(pending_dir(&path)).unwrap().count(), 2);
        blocker.execute_batch("COMMIT").unwrap();
        let kept = learn_records_or_keep(&waiting, &[record(5)]);
        assert_eq!(kept, [Ok(Kept::Learned)]);
        let history = History::open_for_reading(&path).unwrap().unwrap();
        for n in 1..=5 {
            let known = history.known(&format!("p{n}@example.net")).unwrap();
            assert_eq!(known.count, 1, "p{n}");
        }
        assert_eq!(std::fs::read_dir(pending_dir(&path)).unwrap().count(), 0);
    }

    #[test]
    fn a_journal_is_learned_into_each_senders_history() {
        let (dir, history) = index();
        let mbox = dir.path().join("journal.mbox");
        let one = |from: &str, to: &str, n: u32| {
            format!(
                "From x Mon Jan  1 00:00:00 2024\nFrom: {from}\nTo: {to}\nMessage-ID: <{n}@j>\n\nx\n\n"
            )
        };
        let text = one("Alice <Alice@example.org>", "jane@agency.example", 1)
            + &one("bob@example.org", "tom@club.example", 2)
            + &one("alice@example.org", "tom@club.example", 3)
            + &one("undisclosed-recipients:;", "tom@club.example", 4);
        std::fs::write(&mbox, text).unwrap();
        let s = learn_journal(&history, &[Input::Path(mbox)], &Limits::default(), &|_| {}).unwrap();
        assert_eq!((s.learned, s.errors.len()), (3, 1), "{:?}", s.errors);
        let alice = history.for_sender("alice@example.org");
        let bob = history.for_sender("bob@example.org");
        assert_eq!(alice.known("jane@agency.example").unwrap().count, 1);
        assert_eq!(alice.known("tom@club.example").unwrap().count, 1);
        assert_eq!(bob.known("jane@agency.example"), None);
        assert_eq!(
            history.known("tom@club.example"),
            None,
            "no personal history"
        );
    }

    #[test]
    fn retention_and_forgetting_a_sender() {
        let (_dir, history) = index();
        let learn_for = |sender: &str, to: &str, date: &str, n: u32| {
            let text = format!(
                "From: me@example.org\nTo: Jane Smith <{to}>, bob@example.org\n{date}Message-ID: <{n}@r>\n\nx\n"
            );
            learn_message(
                &history.for_sender(sender),
                &crate::testing::eml(&text),
                b"",
                None,
            )
            .unwrap();
        };
        learn_for(
            "a",
            "old@example.net",
            "Date: Mon, 6 Jan 2020 09:00:00 +0000\n",
            1,
        );
        learn_for(
            "a",
            "new@example.net",
            "Date: Mon, 2 Mar 2026 09:00:00 +0000\n",
            2,
        );
        learn_for("b", "undated@example.net", "", 3);
        learn_for(
            "b",
            "old@example.net",
            "Date: Mon, 6 Jan 2020 09:00:00 +0000\n",
            4,
        );
        let june_2026 = 1_780_000_000;
        // old@ (twice) and bob@ of sender b, last written to in 2020.
        assert_eq!(history.expire(365, june_2026).unwrap(), 3);
        let (a, b) = (history.for_sender("a"), history.for_sender("b"));
        assert_eq!(a.known("old@example.net"), None);
        assert!(
            a.named("Jane Smith")
                .iter()
                .all(|k| k.addr != "old@example.net")
        );
        assert_eq!(a.together("old@example.net", "bob@example.org"), 0);
        assert_eq!(a.known("new@example.net").unwrap().count, 1);
        assert_eq!(
            a.known("bob@example.org").unwrap().count,
            2,
            "written to in 2026 too"
        );
        assert_eq!(
            b.known("undated@example.net").unwrap().count,
            1,
            "no date: kept"
        );
        assert!(history.forget_sender("a").unwrap());
        assert!(!history.forget_sender("a").unwrap());
        assert_eq!(a.known("new@example.net"), None);
        assert_eq!(b.known("undated@example.net").unwrap().count, 1);
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
    fn an_index_of_the_first_layout_is_upgraded_by_a_writer_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite");
        let old = rusqlite::Connection::open(&path).unwrap();
        old.execute_batch(FIRST_LAYOUT).unwrap();
        drop(old);
        // A reader does not write: it says what to do.
        let err = History::open_for_reading(&path).err().unwrap().to_string();
        assert!(
            err.contains("made by an older maillint; run `maillint learn`"),
            "{err}"
        );
        let history = History::create(&path).unwrap();
        let jane = history.known("jane@agency.example").unwrap();
        assert_eq!((jane.count, jane.last), (41, None));
        assert_eq!(jane.times_and_when(), "41 times");
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
        // No raw Message-ID and no `sender` table are kept.
        let conn = history.conn.lock().unwrap();
        let keys: Vec<String> = conn
            .prepare("SELECT key FROM learned")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(keys.len(), 2);
        assert!(keys.iter().all(|k| !k.contains("example.org")), "{keys:?}");
        assert!(keys.contains(&super::super::schema::message_id_key("<1@example.org>")));
        assert!(!super::super::schema::has_table(&conn, "sender"));
        drop(conn);
        drop(history);
        assert!(History::open_for_reading(&path).unwrap().is_some());
    }

    /// An index as the first maillint left it: `user_version` 0, no dates,
    /// raw Message-IDs and a `sender` table.
    const FIRST_LAYOUT: &str = "CREATE TABLE learned (key TEXT PRIMARY KEY) WITHOUT ROWID;
         CREATE TABLE address (addr TEXT PRIMARY KEY, local TEXT NOT NULL, domain TEXT NOT NULL,
             count INTEGER NOT NULL) WITHOUT ROWID;
         CREATE TABLE name (name TEXT NOT NULL, addr TEXT NOT NULL, shown TEXT NOT NULL,
             count INTEGER NOT NULL, PRIMARY KEY (name, addr)) WITHOUT ROWID;
         CREATE TABLE pair (a TEXT NOT NULL, b TEXT NOT NULL, count INTEGER NOT NULL,
             PRIMARY KEY (a, b)) WITHOUT ROWID;
         CREATE TABLE sender (addr TEXT NOT NULL, own TEXT NOT NULL, count INTEGER NOT NULL,
             PRIMARY KEY (addr, own)) WITHOUT ROWID;
         INSERT INTO learned VALUES ('id:<1@example.org>');
         INSERT INTO address VALUES ('jane@agency.example', 'jane', 'agency.example', 41);";

    #[test]
    fn concurrent_opens_of_an_old_index_migrate_it_once() {
        for round in 0..10 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("old.sqlite");
            rusqlite::Connection::open(&path)
                .unwrap()
                .execute_batch(FIRST_LAYOUT)
                .unwrap();
            let outcomes: Vec<Result<(), String>> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..6)
                    .map(|n| {
                        let path = &path;
                        s.spawn(move || {
                            if n % 2 == 0 {
                                History::create(path).map(drop).map_err(|e| e.to_string())
                            } else {
                                // A reader finds it old or up to date, never half done.
                                match History::open_for_reading(path) {
                                    Ok(_) => Ok(()),
                                    Err(e) if e.to_string().contains("older maillint") => Ok(()),
                                    Err(e) => Err(e.to_string()),
                                }
                            }
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            for outcome in outcomes {
                assert_eq!(outcome, Ok(()), "round {round}");
            }
            let reader = History::open_for_reading(&path).unwrap().unwrap();
            assert_eq!(reader.known("jane@agency.example").unwrap().count, 41);
        }
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
