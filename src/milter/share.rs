//! The history shared between gateways, carried through Redis: each
//! gateway appends what it learns and forgets to one stream, and applies
//! what the others appended to its own index (see `crate::history`'s
//! shared.rs for the records and why every gateway keeps its own index).
//!
//! Nothing here is on a message's path: a message's record goes into a
//! queue in memory, and two threads of their own send the queue to Redis
//! and read the stream into the index. A dead or slow Redis stops neither
//! mail nor learning here: the queue keeps up to `[history]
//! shared_backlog` records until Redis answers again, and the reader goes
//! on from the last record it applied, which the index keeps with what it
//! applied (so a gateway started again goes on where it stopped).

use crate::config::HistoryConfig;
use crate::history::{Applied, History, Shared};
use crate::redis_pool::Pool;
use redis::streams::{StreamRangeReply, StreamReadReply};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// A gateway's link to the shared history.
pub struct Sharing {
    pool: Pool,
    /// The stream's key.
    stream: String,
    max_records: u64,
    /// Records waiting to be sent, as JSON, oldest first.
    queue: Mutex<VecDeque<String>>,
    queue_max: usize,
    queued: Condvar,
    /// Records dropped from a full queue since the last time it was said.
    dropped: AtomicU64,
    stop: AtomicBool,
}

/// Records sent or read in one call to Redis.
const CHUNK: usize = 500;

/// How long the reader waits for new records in one call; also how long
/// it takes to notice it should stop.
const BLOCK: Duration = Duration::from_secs(1);

/// How long a thread waits after Redis failed before trying again.
const PAUSE: Duration = Duration::from_secs(1);

/// The field of a stream entry that holds the record.
const FIELD: &str = "r";

impl Sharing {
    /// The link `[history] shared` asks for, or `None` without it.
    pub fn new(settings: &HistoryConfig) -> Result<Option<Sharing>, String> {
        let Some(url) = &settings.shared else {
            return Ok(None);
        };
        Ok(Some(Sharing {
            pool: Pool::new(url, settings.shared_timeout(), "history.shared")?,
            stream: format!("{}stream", settings.shared_key_prefix()),
            max_records: settings.shared_max_records(),
            queue: Mutex::new(VecDeque::new()),
            queue_max: settings.shared_backlog(),
            queued: Condvar::new(),
            dropped: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        }))
    }

    /// Queues a record for the other gateways; never waits for Redis. A
    /// full queue (Redis unreachable for long) drops its oldest record.
    pub fn publish(&self, record: &Shared) {
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        if self.queue_max == 0 {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        while queue.len() >= self.queue_max {
            queue.pop_front();
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        queue.push_back(record.to_json());
        drop(queue);
        self.queued.notify_one();
    }

    /// Records waiting to be sent.
    pub fn waiting(&self) -> usize {
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Records dropped from a full queue since the last call.
    pub fn take_dropped(&self) -> u64 {
        self.dropped.swap(0, Ordering::Relaxed)
    }

    /// Sends the queue to Redis, up to [`CHUNK`] records a call, each
    /// chunk taken off the queue only once Redis has it. Returns how many
    /// were sent; an error leaves the rest queued.
    pub fn flush(&self) -> Result<usize, String> {
        let mut sent = 0;
        loop {
            let chunk: Vec<String> = {
                let queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
                queue.iter().take(CHUNK).cloned().collect()
            };
            if chunk.is_empty() {
                return Ok(sent);
            }
            self.append(&chunk)?;
            let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
            // Records dropped meanwhile went from the front too: take off
            // no more than are still there.
            let n = chunk.len().min(queue.len());
            queue.drain(..n);
            sent += n;
        }
    }

    /// Appends records to the stream in one round trip, trimming it to
    /// `max_records`.
    fn append(&self, records: &[String]) -> Result<(), String> {
        self.pool
            .run(|c| {
                let mut pipe = redis::pipe();
                for record in records {
                    // Trimmed exactly (one old record per new one): a
                    // bound a gateway can rely on to know what it missed.
                    pipe.cmd("XADD")
                        .arg(&self.stream)
                        .arg("MAXLEN")
                        .arg(self.max_records)
                        .arg("*")
                        .arg(FIELD)
                        .arg(record)
                        .ignore();
                }
                pipe.query::<()>(c)
            })
            .map_err(|e| format!("history.shared: {e}"))
    }

    /// Applies to `history` what the stream holds after the position it
    /// applied last, at most [`CHUNK`] records, waiting up to `wait` for
    /// one when there is none yet.
    pub fn pull(&self, history: &History, wait: Option<Duration>) -> Result<Applied, String> {
        let position = history.shared_position()?.unwrap_or_else(|| "0".into());
        let reply: Option<StreamReadReply> = self
            .pool
            .run_within(self.pool_timeout() + wait.unwrap_or_default(), |c| {
                let mut cmd = redis::cmd("XREAD");
                cmd.arg("COUNT").arg(CHUNK);
                if let Some(wait) = wait {
                    let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
                    cmd.arg("BLOCK").arg(ms.max(1));
                }
                cmd.arg("STREAMS").arg(&self.stream).arg(&position);
                cmd.query(c)
            })
            .map_err(|e| format!("history.shared: {e}"))?;
        let ids = reply
            .into_iter()
            .flat_map(|r| r.keys)
            .flat_map(|k| k.ids)
            .collect::<Vec<_>>();
        let Some(last) = ids.last().map(|id| id.id.clone()) else {
            return Ok(Applied::default());
        };
        let mut unreadable = 0;
        let records: Vec<Shared> = ids
            .iter()
            .filter_map(|id| {
                let record = id
                    .get::<Vec<u8>>(FIELD)
                    .and_then(|bytes| Shared::from_json(&bytes).ok());
                unreadable += u64::from(record.is_none());
                record
            })
            .collect();
        let mut applied = history.apply_shared(&records, Some(&last))?;
        applied.refused += unreadable;
        Ok(applied)
    }

    /// The pool's own timeout (a call's), for a blocking read to add to.
    fn pool_timeout(&self) -> Duration {
        self.pool.timeout()
    }

    /// Whether the stream may have lost records before `history` read
    /// them: Redis keeps `shared_max_records`, dropping the oldest, so a
    /// gateway whose last applied record is gone from the stream (or a new
    /// gateway, when any record is gone) was away for longer than the
    /// stream spans, and is seeded again with `maillint learn`.
    pub fn missed(&self, history: &History) -> Result<bool, String> {
        let position = history.shared_position()?;
        self.pool
            .run(|c| {
                // No stream yet: nothing was missed (and XINFO would fail).
                let exists: bool = redis::cmd("EXISTS").arg(&self.stream).query(c)?;
                if !exists {
                    return Ok(false);
                }
                let info: redis::Value = redis::cmd("XINFO")
                    .arg("STREAM")
                    .arg(&self.stream)
                    .query(c)?;
                let field = |name: &str| stream_info_field(&info, name).unwrap_or_default();
                Ok(match &position {
                    Some(position) => {
                        stream_id(&field("recorded-first-entry-id")) > stream_id(position)
                    }
                    None => {
                        field("entries-added").parse::<u64>().unwrap_or(0)
                            > field("length").parse::<u64>().unwrap_or(0)
                    }
                })
            })
            .map_err(|e| format!("history.shared: {e}"))
    }

    /// Sends a forget record at once (the administrator's `maillint learn
    /// --forget`, which says whether it reached the other gateways), and
    /// deletes from the stream the records it erases, so that Redis no
    /// longer holds them either. Returns how many were deleted.
    pub fn forget(&self, record: &Shared) -> Result<u64, String> {
        self.append(&[record.to_json()])?;
        let mut deleted = 0;
        let mut from = "-".to_string();
        loop {
            let range: StreamRangeReply = self
                .pool
                .run(|c| {
                    redis::cmd("XRANGE")
                        .arg(&self.stream)
                        .arg(&from)
                        .arg("+")
                        .arg("COUNT")
                        .arg(CHUNK)
                        .query(c)
                })
                .map_err(|e| format!("history.shared: {e}"))?;
            let Some(last) = range.ids.last() else {
                return Ok(deleted);
            };
            from = format!("({}", last.id);
            let erased: Vec<&str> = range
                .ids
                .iter()
                .filter(|id| {
                    id.get::<Vec<u8>>(FIELD)
                        .and_then(|bytes| Shared::from_json(&bytes).ok())
                        .is_some_and(|other| record.erases(&other))
                })
                .map(|id| id.id.as_str())
                .collect();
            if !erased.is_empty() {
                let n: u64 = self
                    .pool
                    .run(|c| redis::cmd("XDEL").arg(&self.stream).arg(&erased).query(c))
                    .map_err(|e| format!("history.shared: {e}"))?;
                deleted += n;
            }
            if range.ids.len() < CHUNK {
                return Ok(deleted);
            }
        }
    }

    /// Starts the two threads that send the queue and read the stream into
    /// `history` (an index of this gateway's own, opened for learning with
    /// a connection of its own, so that applying records never holds up
    /// a lookup). `log` receives a line when Redis fails or comes back,
    /// when records were dropped or missed, and when records were refused.
    pub fn start(
        self: &Arc<Sharing>,
        history: History,
        log: Arc<dyn Fn(&str) + Send + Sync>,
    ) -> std::io::Result<()> {
        let sender = Arc::clone(self);
        let sender_log = Arc::clone(&log);
        std::thread::Builder::new()
            .name("history-send".into())
            .spawn(move || sender.send_loop(&*sender_log))?;
        let reader = Arc::clone(self);
        std::thread::Builder::new()
            .name("history-read".into())
            .spawn(move || reader.read_loop(&history, &*log))?;
        Ok(())
    }

    /// Asks the threads to stop (within a second).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.queued.notify_all();
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn send_loop(&self, log: &dyn Fn(&str)) {
        let mut outage = Outage::default();
        while !self.stopping() {
            {
                let queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
                if queue.is_empty() {
                    _ = self
                        .queued
                        .wait_timeout(queue, BLOCK)
                        .unwrap_or_else(|p| p.into_inner());
                }
            }
            let dropped = self.take_dropped();
            if dropped > 0 {
                log(&format!(
                    "maillint milter: history.shared: {dropped} records dropped from a full queue ([history] shared_backlog); the other gateways will not learn them"
                ));
            }
            match self.flush() {
                Ok(_) => outage.over(log, "sending"),
                Err(e) => {
                    outage.began(log, &e, "sending", self.waiting());
                    std::thread::sleep(PAUSE);
                }
            }
        }
    }

    fn read_loop(&self, history: &History, log: &dyn Fn(&str)) {
        let mut outage = Outage::default();
        let mut checked = false;
        while !self.stopping() {
            if !checked {
                match self.missed(history) {
                    Ok(missed) => {
                        checked = true;
                        if missed {
                            log(
                                "maillint milter: history.shared: this gateway was away for longer than Redis keeps records ([history] shared_max_records): what the others learned meanwhile may be missing here; seed this index again with `maillint learn`",
                            );
                        }
                    }
                    Err(e) => {
                        outage.began(log, &e, "reading", 0);
                        std::thread::sleep(PAUSE);
                        continue;
                    }
                }
            }
            match self.pull(history, Some(BLOCK)) {
                Ok(applied) => {
                    outage.over(log, "reading");
                    if applied.refused > 0 {
                        log(&format!(
                            "maillint milter: history.shared: {} records not applied: made by a gateway with another [history] hash_key_file, or unreadable",
                            applied.refused
                        ));
                    }
                }
                Err(e) => {
                    outage.began(log, &e, "reading", 0);
                    std::thread::sleep(PAUSE);
                }
            }
        }
    }
}

/// Whether Redis is failing, so that an outage is said once when it
/// begins and once when it ends, not every second.
#[derive(Default)]
struct Outage(bool);

impl Outage {
    fn began(&mut self, log: &dyn Fn(&str), error: &str, doing: &str, waiting: usize) {
        if !self.0 {
            self.0 = true;
            let kept = if waiting > 0 {
                format!("; {waiting} records kept until it answers")
            } else {
                String::new()
            };
            log(&format!(
                "maillint milter: warning: {error} while {doing} the shared history; mail and learning go on here{kept}"
            ));
        }
    }

    fn over(&mut self, log: &dyn Fn(&str), doing: &str) {
        if std::mem::take(&mut self.0) {
            log(&format!(
                "maillint milter: history.shared: Redis answers again; {doing} the shared history again"
            ));
        }
    }
}

/// A stream position, `MILLISECONDS-SEQUENCE`, as numbers to compare.
fn stream_id(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    (ms.parse().unwrap_or(0), seq.parse().unwrap_or(0))
}

/// One field of `XINFO STREAM`'s answer (a list of names and values, or
/// a map), as text.
fn stream_info_field(info: &redis::Value, name: &str) -> Option<String> {
    let pairs: Vec<(&redis::Value, &redis::Value)> = match info {
        redis::Value::Map(pairs) => pairs.iter().map(|(k, v)| (k, v)).collect(),
        redis::Value::Array(items) => items
            .chunks_exact(2)
            .map(|pair| (&pair[0], &pair[1]))
            .collect(),
        _ => return None,
    };
    pairs.into_iter().find_map(|(k, v)| {
        let k: String = redis::from_redis_value_ref(k).ok()?;
        (k == name).then(|| redis::from_redis_value_ref(v).ok())?
    })
}
