//! Learning as mail leaves: with `[history] index` set, each message that
//! goes out adds its recipients to its sender's history (see
//! [`crate::history::sender_key`]), so that the history rules know what
//! the sender wrote yesterday at the gateway.
//!
//! Off the critical path: a check makes the message's record (no I/O) and
//! hands it to a bounded queue; one writer thread learns the records into
//! the index. A full queue, a writer that has stopped, or an index another
//! process keeps busy puts the record beside the index for the next write
//! (`history.sqlite.pending/`), said in the log: nothing waits for the
//! index, and nothing is dropped unsaid.
//!
//! A message held for its sender's confirmation is not learned when held:
//! its record waits in `history.sqlite.held/` under its number in the
//! held-mail store, and the writer looks there every [`SETTLE_EVERY`]: a
//! message released since (by `maillint web`, another process) is learned
//! then, one discarded or expired is dropped.

use super::log::Log;
use super::share::Sharing;
use crate::config::Config;
use crate::config::HoldConfig;
use crate::history::{self, History, Kept, Record, Shared};
use crate::hold::{HeldStore, state};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant, SystemTime};

/// Records waiting for the writer at most: a few seconds of a busy
/// gateway's mail; beyond it, records go to disk (see the module
/// documentation).
const QUEUE: usize = 4096;

/// Recipients in the records waiting, at most: a record is a recipient
/// list (about a hundred bytes a recipient), and one message may have a
/// million, so the queue is bounded by what it holds too (some tens of
/// megabytes at most).
const QUEUED_RECIPIENTS: usize = 250_000;

/// The writer learns what has queued in one transaction (one commit for
/// the lot), taking up to this many records ...
const BATCH_RECORDS: usize = 512;

/// ... or what comes within this time of the first: learning waits a
/// little so that a busy gateway's messages share a commit (the mail
/// itself waits for none of it).
const BATCH_WAIT: Duration = Duration::from_millis(50);

/// How often the writer looks at held messages and applies
/// `[history] retention_days`, when it is not woken sooner.
const SETTLE_EVERY: Duration = Duration::from_secs(10);

/// `first` with what follows it in the queue, as one batch: up to
/// [`BATCH_RECORDS`], taken within [`BATCH_WAIT`] of the first.
fn gather(first: Record, records: &Receiver<Record>) -> Vec<Record> {
    let until = Instant::now() + BATCH_WAIT;
    let mut batch = vec![first];
    while batch.len() < BATCH_RECORDS {
        match records.recv_timeout(until.saturating_duration_since(Instant::now())) {
            Ok(record) => batch.push(record),
            Err(_) => break,
        }
    }
    batch
}

/// The gateway's side of learning: makes records and queues them.
pub(super) struct Learner {
    /// The index opened for learning. Checks only make records with it
    /// (the sender's key, hashing); the writer thread writes through it.
    history: Arc<History>,
    queue: SyncSender<Record>,
    /// Recipients in the records in the queue (see [`QUEUED_RECIPIENTS`]).
    queued: Arc<AtomicUsize>,
    log: Arc<Log>,
}

impl Learner {
    /// Opens `[history] index` for learning (creating it, so that the
    /// linter opened after finds it) and starts the writer; `None` when no
    /// index is set. `holds`: the gateway records held messages in
    /// `[hold] store`, which the writer reads to learn the released ones.
    pub(super) fn start(
        config: &Config,
        holds: bool,
        log: Arc<Log>,
    ) -> Result<Option<Learner>, String> {
        let Some(path) = config.history.index.as_deref() else {
            return Ok(None);
        };
        let history = Arc::new(history::open_to_learn(config, path)?);
        let (queue, records) = std::sync::mpsc::sync_channel(QUEUE);
        let queued = Arc::new(AtomicUsize::new(0));
        let writer = Writer {
            history: Arc::clone(&history),
            queued: Arc::clone(&queued),
            log: Arc::clone(&log),
            held_store: holds.then(|| config.hold.clone()),
            retention_days: config.history.retention_days,
            sharing: share(config, path, &log)?,
        };
        std::thread::Builder::new()
            .name("milter-learn".into())
            .spawn(move || writer.run(&records))
            .map_err(|e| format!("cannot start the history's writer: {e}"))?;
        Ok(Some(Learner {
            history,
            queue,
            queued,
            log,
        }))
    }

    /// The record of a message being checked, for its sender `key`, to
    /// learn if it leaves; `queue_id` names it (with the time) when it has
    /// no Message-ID.
    /// `None` for the null sender without a login, who has no history.
    pub(super) fn record(
        &self,
        key: &str,
        message: &crate::message::Message,
        queue_id: Option<&str>,
    ) -> Option<Record> {
        if key.is_empty() {
            return None;
        }
        let now = SystemTime::now();
        // A queue id is reused in time: with the time, it names one message.
        let id = || {
            let nanos = now
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            format!("queue:{}:{nanos}", queue_id.unwrap_or("-"))
        };
        Some(self.history.for_sender(key).record(message, id, now))
    }

    /// Hands a record to the writer without waiting: when the queue is
    /// full (or the writer gone), the record is kept beside the index for
    /// the next write instead.
    pub(super) fn learn(&self, record: Record) {
        let weight = record.recipients();
        let full = "the writer has more waiting than it holds";
        let queued = self.queued.fetch_add(weight, Ordering::Relaxed);
        let (record, why) = if queued.saturating_add(weight) > QUEUED_RECIPIENTS {
            (record, full)
        } else {
            match self.queue.try_send(record) {
                Ok(()) => return,
                Err(TrySendError::Full(record)) => (record, full),
                Err(TrySendError::Disconnected(record)) => (record, "the writer has stopped"),
            }
        };
        self.queued.fetch_sub(weight, Ordering::Relaxed);
        let line = match history::keep_for_later(&self.history, &record) {
            Ok(()) => format!(
                "maillint milter: history: {why}; a sent message's record was kept for the next write"
            ),
            Err(e) => format!(
                "maillint milter: history: {why}; a sent message was not learned: {}",
                crate::guard::one_line(&e)
            ),
        };
        self.log.line(&line);
    }

    /// Keeps the record of a message held for confirmation (`id`: its
    /// number in the held-mail store) until it is released or discarded.
    pub(super) fn held(&self, id: i64, record: &Record) {
        if let Err(e) = history::keep_held(&self.history, id, record) {
            self.log.line(&format!(
                "maillint milter: history: held message {id} will not be learned when released: {}",
                crate::guard::one_line(&e)
            ));
        }
    }
}

/// With `[history] shared`: the link to the other gateways, its threads
/// started (sending what leaves here, and applying what left elsewhere to
/// the index through a connection of their own, so that they never wait
/// for the writer's).
fn share(config: &Config, path: &Path, log: &Arc<Log>) -> Result<Option<Arc<Sharing>>, String> {
    let Some(sharing) = Sharing::new(&config.history)? else {
        return Ok(None);
    };
    let sharing = Arc::new(sharing);
    let log = Arc::clone(log);
    sharing
        .start(
            history::open_to_learn(config, path)?,
            Arc::new(move |line: &str| log.line(line)),
        )
        .map_err(|e| format!("cannot start sharing the history: {e}"))?;
    Ok(Some(sharing))
}

/// The writer thread's part.
struct Writer {
    history: Arc<History>,
    /// The learner's count of recipients queued, given back as records
    /// are taken.
    queued: Arc<AtomicUsize>,
    log: Arc<Log>,
    /// `[hold]`: the store (local or shared) where the release of a held
    /// message shows.
    held_store: Option<HoldConfig>,
    retention_days: Option<u32>,
    /// `[history] shared`: where the other gateways learn what leaves here.
    sharing: Option<Arc<Sharing>>,
}

impl Writer {
    /// Learns records until the gateway goes away, and every
    /// [`SETTLE_EVERY`] settles held messages and applies retention.
    fn run(self, records: &Receiver<Record>) {
        let store = self.held_store.as_ref().and_then(|settings| {
            crate::hold::open_store(settings, None)
                .map_err(|e| {
                    self.log.line(&format!(
                        "maillint milter: history: held mail will not be learned when released: {}",
                        crate::guard::one_line(&e)
                    ));
                })
                .ok()
        });
        let mut settled: Option<Instant> = None;
        loop {
            match records.recv_timeout(SETTLE_EVERY) {
                Ok(record) => {
                    let batch = gather(record, records);
                    let weight: usize = batch.iter().map(Record::recipients).sum();
                    self.queued.fetch_sub(weight, Ordering::Relaxed);
                    self.learned(&batch);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            if settled.is_none_or(|at| at.elapsed() >= SETTLE_EVERY) {
                if let Some(store) = &store {
                    self.settle_held(store.as_ref());
                }
                self.expire();
                settled = Some(Instant::now());
            }
        }
    }

    /// Messages left (sent, tagged, or released from hold): their senders'
    /// histories learn their recipients, in one transaction. The one place
    /// the gateway learns; on the writer thread, off the path of any
    /// message.
    fn learned(&self, records: &[Record]) {
        for record in records {
            self.share(record);
        }
        let kept = history::learn_records_or_keep(&self.history, records);
        let later = kept
            .iter()
            .filter(|k| matches!(k, Ok(Kept::ForLater)))
            .count();
        if later > 0 {
            self.log.line(&format!(
                "maillint milter: history: the index was busy; {} kept for the next write",
                match later {
                    1 => "a sent message's record was".to_string(),
                    n => format!("{n} sent messages' records were"),
                }
            ));
        }
        for e in kept.iter().filter_map(|k| k.as_ref().err()) {
            self.log.line(&format!(
                "maillint milter: history: a sent message was not learned: {}",
                crate::guard::one_line(e)
            ));
        }
    }

    /// With `[history] shared`: the other gateways learn it too (queued
    /// for Redis; whatever became of it here, it left).
    fn share(&self, record: &Record) {
        if let Some(sharing) = &self.sharing {
            sharing.publish(&Shared::sent(&self.history, record));
        }
    }

    /// Learns the held messages released since, drops the ones discarded
    /// or expired; the ones still held wait.
    fn settle_held(&self, store: &dyn HeldStore) {
        for id in history::held_waiting(&self.history) {
            let released = match store.get(id) {
                Ok(Some(held)) if held.state == state::RELEASED => true,
                Ok(Some(held)) if held.state == state::HELD || held.state == state::BUSY => {
                    continue;
                }
                // Discarded, expired, or gone from the store.
                Ok(_) => false,
                Err(e) => {
                    self.log.line(&format!(
                        "maillint milter: history: cannot read the held-mail store: {}",
                        crate::guard::one_line(&e)
                    ));
                    return;
                }
            };
            match history::settle_held(&self.history, id, released) {
                Ok(Some((kept, record))) => {
                    if kept == Kept::ForLater {
                        self.log.line(
                            "maillint milter: history: the index was busy; a released message's record was kept for the next write",
                        );
                    }
                    self.share(&record);
                }
                Ok(None) => {}
                Err(e) => self.log.line(&format!(
                    "maillint milter: history: held message {id}: {}",
                    crate::guard::one_line(&e)
                )),
            }
        }
    }

    /// `[history] retention_days`, for every sender.
    fn expire(&self) {
        let Some(days) = self.retention_days else {
            return;
        };
        let now = crate::hold::now();
        if let Err(e) = self
            .history
            .expire(days, i64::try_from(now).unwrap_or(i64::MAX))
        {
            self.log.line(&format!(
                "maillint milter: history: cannot apply retention_days: {}",
                crate::guard::one_line(&e.to_string())
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hold::{Hold, NewHeld, Pending, Store};

    struct Fixture {
        _dir: tempfile::TempDir,
        writer: Writer,
        learner: Learner,
        store: Store,
        log: Arc<Log>,
        written: Arc<std::sync::Mutex<Vec<u8>>>,
    }

    #[derive(Clone)]
    struct Written(Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Written {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A learner over a new index whose writer is driven by the test (the
    /// learner's own writer thread gets nothing: its queue is replaced).
    fn fixture(queue: usize) -> (Fixture, Receiver<Record>) {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.history.index = Some(dir.path().join("history.sqlite"));
        config.hold.store = dir.path().join("held.sqlite");
        let written = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = Arc::new(Log::new(Box::new(Written(Arc::clone(&written)))));
        let started = Learner::start(&config, true, Arc::clone(&log))
            .unwrap()
            .unwrap();
        let (queue, records) = std::sync::mpsc::sync_channel(queue);
        let learner = Learner { queue, ..started };
        let writer = Writer {
            history: Arc::clone(&learner.history),
            queued: Arc::clone(&learner.queued),
            log: Arc::clone(&log),
            held_store: None,
            retention_days: None,
            sharing: None,
        };
        let store = Store::open(&config.hold.store).unwrap();
        let fixture = Fixture {
            _dir: dir,
            writer,
            learner,
            store,
            log,
            written,
        };
        (fixture, records)
    }

    fn letter(to: &str, id: u32) -> crate::message::Message {
        crate::testing::eml(&format!(
            "From: alice@example.org\nTo: {to}\nMessage-ID: <{id}@example.org>\n\nx\n"
        ))
    }

    fn knows(f: &Fixture, sender: &str, addr: &str) -> u64 {
        f.writer
            .history
            .for_sender(sender)
            .known(addr)
            .map_or(0, |k| k.count)
    }

    fn hold(store: &Store) -> i64 {
        let recipients = vec!["pat@asiancup.example".to_string()];
        let message = Hold {
            queue_id: "4ABC",
            sender: "alice@example.org",
            recipients: &recipients,
            subject: "",
            findings: &[],
            rules: &[],
            worst: None,
        };
        store
            .hold(&NewHeld {
                message: &message,
                releaser: "sender",
                held_at: 100,
                expires_at: 200,
            })
            .unwrap()
    }

    #[test]
    fn a_record_learned_goes_to_its_senders_history_only() {
        let (f, records) = fixture(4);
        let record = f
            .learner
            .record(
                "login:alice",
                &letter("jane@agency.example", 1),
                Some("4ABC"),
            )
            .unwrap();
        assert_eq!(record.sender(), "login:alice");
        f.learner.learn(record);
        f.writer.learned(&[records.try_recv().unwrap()]);
        assert_eq!(knows(&f, "login:alice", "jane@agency.example"), 1);
        assert_eq!(knows(&f, "login:bob", "jane@agency.example"), 0);
        assert_eq!(knows(&f, "", "jane@agency.example"), 0);
        // The null sender without a login has no history to learn into.
        assert!(
            f.learner
                .record("", &letter("tom@club.example", 2), None)
                .is_none()
        );
    }

    #[test]
    fn one_senders_message_id_does_not_keep_anothers_from_being_learned() {
        let (f, records) = fixture(4);
        for (sender, to) in [
            ("login:bob", "tom@club.example"),
            ("login:alice", "jane@agency.example"),
        ] {
            let record = f.learner.record(sender, &letter(to, 1), None).unwrap();
            f.learner.learn(record);
            f.writer.learned(&[records.try_recv().unwrap()]);
        }
        assert_eq!(knows(&f, "login:alice", "jane@agency.example"), 1);
        assert_eq!(knows(&f, "login:bob", "tom@club.example"), 1);
    }

    #[test]
    fn the_writer_learns_what_has_queued_in_batches() {
        let (f, records) = fixture(BATCH_RECORDS + 100);
        for n in 0..BATCH_RECORDS + 88 {
            let to = format!("p{n}@example.net");
            let record = f
                .learner
                .record("login:alice", &letter(&to, n as u32), None)
                .unwrap();
            f.learner.learn(record);
        }
        let first = gather(records.try_recv().unwrap(), &records);
        assert_eq!(first.len(), BATCH_RECORDS, "bounded by count");
        let second = gather(records.try_recv().unwrap(), &records);
        assert_eq!(second.len(), 88, "what was left, once the wait is over");
        f.writer.learned(&first);
        f.writer.learned(&second);
        for n in [0, BATCH_RECORDS - 1, BATCH_RECORDS + 87] {
            assert_eq!(knows(&f, "login:alice", &format!("p{n}@example.net")), 1);
        }
        assert!(f.written.lock().unwrap().is_empty(), "nothing to say");
    }

    #[test]
    fn records_past_the_recipients_the_queue_holds_go_to_disk() {
        let (f, records) = fixture(4);
        // As if large messages were waiting already.
        f.learner
            .queued
            .store(QUEUED_RECIPIENTS - 1, Ordering::Relaxed);
        let record = |to: &str, id| {
            f.learner
                .record("login:alice", &letter(to, id), None)
                .unwrap()
        };
        f.learner
            .learn(record("tom@club.example, pat@asiancup.example", 1));
        assert!(records.try_recv().is_err(), "not in the queue");
        assert_eq!(
            f.learner.queued.load(Ordering::Relaxed),
            QUEUED_RECIPIENTS - 1
        );
        f.learner.queued.store(0, Ordering::Relaxed);
        f.learner.learn(record("jane@agency.example", 2));
        f.writer.learned(&[records.try_recv().unwrap()]);
        assert_eq!(knows(&f, "login:alice", "pat@asiancup.example"), 1);
    }

    #[test]
    fn a_full_queue_keeps_the_record_for_the_next_write_and_says_so() {
        let (f, records) = fixture(1);
        let record = |to: &str, id| {
            f.learner
                .record("login:alice", &letter(to, id), None)
                .unwrap()
        };
        f.learner.learn(record("jane@agency.example", 1));
        f.learner.learn(record("tom@club.example", 2));
        let log = String::from_utf8(f.written.lock().unwrap().clone()).unwrap();
        assert!(
            log.contains("history: the writer has more waiting than it holds; a sent message's record was kept for the next write"),
            "{log}"
        );
        assert_eq!(knows(&f, "login:alice", "tom@club.example"), 0);
        // The next write learns the one kept on disk too.
        f.writer.learned(&[records.try_recv().unwrap()]);
        assert_eq!(knows(&f, "login:alice", "jane@agency.example"), 1);
        assert_eq!(knows(&f, "login:alice", "tom@club.example"), 1);
        drop(f.log);
    }

    #[test]
    fn a_held_message_is_learned_when_released_and_dropped_when_discarded() {
        let (f, _records) = fixture(4);
        let released = hold(&f.store);
        let discarded = hold(&f.store);
        for (id, to) in [
            (released, "pat@asiancup.example"),
            (discarded, "kim@school.example"),
        ] {
            let record = f
                .learner
                .record("login:alice", &letter(to, id as u32), None)
                .unwrap();
            f.learner.held(id, &record);
        }
        // Still held: nothing learned, both wait.
        f.writer.settle_held(&f.store);
        assert_eq!(knows(&f, "login:alice", "pat@asiancup.example"), 0);
        assert_eq!(history::held_waiting(&f.writer.history).len(), 2);
        for (id, to) in [(released, state::RELEASED), (discarded, state::DISCARDED)] {
            let pending = Pending {
                decision: if to == state::RELEASED {
                    "release"
                } else {
                    "discard"
                }
                .into(),
                by: "sender".into(),
                reason: None,
            };
            assert!(f.store.claim(id, &pending, None).unwrap());
            f.store.settle(id, to, 150, "sender", None).unwrap();
        }
        f.writer.settle_held(&f.store);
        assert_eq!(knows(&f, "login:alice", "pat@asiancup.example"), 1);
        assert_eq!(knows(&f, "login:alice", "kim@school.example"), 0);
        assert!(history::held_waiting(&f.writer.history).is_empty());
    }

    /// Sends a message from the login `alice` to `to` through a session of
    /// `gateway`, as an MTA does; the answer at end of message.
    fn send(
        gateway: &super::super::Gateway,
        to: &str,
        id: &str,
    ) -> Vec<super::super::protocol::Reply> {
        use super::super::protocol::Command;
        use super::super::session::{Session, Step};
        let mut session = Session::new(gateway, false);
        let mut last = Vec::new();
        let header = |name: &str, value: &str| Command::Header {
            name: name.into(),
            value: value.as_bytes().to_vec(),
        };
        for command in [
            Command::Negotiate {
                version: 6,
                actions: 0x1ff,
                flags: 0,
            },
            Command::Macros {
                stage: b'M',
                pairs: vec![
                    ("{auth_authen}".into(), "alice".into()),
                    ("i".into(), "4ABC".into()),
                ],
            },
            Command::Mail(vec!["<alice@example.org>".into()]),
            Command::Rcpt(vec![format!("<{to}>")]),
            header("From", " Alice <alice@example.org>"),
            header("To", &format!(" {to}")),
            header("Subject", " Open enrolment"),
            header("Message-ID", &format!(" {id}")),
            Command::EndOfHeaders,
            Command::EndOfMessage(b"Open enrolment closes on Friday.\r\n".to_vec()),
        ] {
            if let Step::Send(replies) = session.handle(command) {
                last = replies;
            }
        }
        last
    }

    /// Waits (up to 10 s) until `login:alice`'s history at `index` has
    /// `times` messages to `address`.
    fn wait_for(index: &std::path::Path, address: &str, times: u64) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let known = History::open_for_reading(index)
                .unwrap()
                .and_then(|h| h.for_sender("login:alice").known(address))
                .map_or(0, |k| k.count);
            if known == times {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{known} messages to {address}, not {times}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn what_is_refused_is_not_learned_and_what_audit_lets_out_is() {
        use super::super::protocol::Reply;
        for audit in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let index = dir.path().join("history.sqlite");
            let mode = if audit { "mode = \"audit\"\n" } else { "" };
            let config = Config::parse(
                &format!(
                    "[organization]\ndomains = [\"example.org\"]\n[history]\nindex = \"{}\"\n[milter]\nwarning = \"reject\"\n{mode}",
                    index.display()
                ),
                "maillint.toml",
            )
            .unwrap();
            let gateway =
                super::super::Gateway::with_log(config, Log::new(Box::new(std::io::sink())))
                    .unwrap();
            // A list that reaches everyone: a warning, refused unless audited.
            let replies = send(&gateway, "all-staff@example.org", "<list@example.org>");
            assert_eq!(
                matches!(replies.last(), Some(Reply::ReplyCode(code)) if code.starts_with("550")),
                !audit,
                "{replies:?}"
            );
            // The writer learns in order: once this one is in, the first
            // would have been too.
            let replies = send(&gateway, "bob@partner.example", "<bob@example.org>");
            assert!(
                matches!(replies.last(), Some(Reply::Continue)),
                "{replies:?}"
            );
            wait_for(&index, "bob@partner.example", 1);
            wait_for(&index, "all-staff@example.org", u64::from(audit));
        }
    }
}
