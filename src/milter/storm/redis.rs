//! Storm counters in Redis, shared by every gateway that uses the same
//! server (and key prefix).

use super::{Count, Counted, Limits, Secret, Store};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Connections to Redis, each message's count one script call on one of
/// them (count.lua: a single round trip). Messages count at once, each on
/// a connection of its own: no lock is held while Redis answers, so a
/// slow Redis costs each message its own wait, not the sum of the others'.
/// `timeout` bounds a message's whole wait: for a free connection, for
/// connecting, and for the answer.
///
/// A connection that fails (Redis restarted, or a connection a firewall
/// forgot) is replaced by a new one and the count tried again once, in
/// the same time; only when that fails too is the store down, and not
/// tried again for a second, so that an outage costs a message nothing
/// rather than a timeout.
pub struct RedisStore {
    client: redis::Client,
    prefix: String,
    timeout: Duration,
    script: redis::Script,
    /// Connections not in use.
    idle: Mutex<Vec<redis::Connection>>,
    /// Connections in use, at most `POOL`.
    busy: Mutex<usize>,
    freed: Condvar,
    down_since: Mutex<Option<Instant>>,
    secret: OnceLock<Secret>,
}

/// Connections at most: Redis answers a count in microseconds, so these
/// are enough for hundreds of messages at once; past them a message waits
/// (within its timeout) for one to be free.
const POOL: usize = 64;

/// How long the store is left alone after it failed.
const DOWN_FOR: Duration = Duration::from_secs(1);

const COUNT: &str = include_str!("count.lua");

/// Sets the installation's secret unless a gateway already did, and gives
/// it: every gateway sharing the store hashes keys alike.
const SECRET: &str = "redis.call('SET', KEYS[1], ARGV[1], 'NX') return redis.call('GET', KEYS[1])";

impl RedisStore {
    /// `url` is `redis://HOST:PORT` (or `redis+unix:///PATH`); keys start
    /// with `prefix`.
    pub fn new(url: &str, prefix: &str, timeout: Duration) -> Result<RedisStore, String> {
        let client = redis::Client::open(url).map_err(|e| format!("storm.store: {e}"))?;
        Ok(RedisStore {
            client,
            prefix: prefix.to_string(),
            timeout: timeout.max(Duration::from_millis(1)),
            script: redis::Script::new(COUNT),
            idle: Mutex::new(Vec::new()),
            busy: Mutex::new(0),
            freed: Condvar::new(),
            down_since: Mutex::new(None),
            secret: OnceLock::new(),
        })
    }

    /// Runs `f` on a connection before `timeout` is out.
    fn run<T>(
        &self,
        f: impl Fn(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, String> {
        let deadline = Instant::now() + self.timeout;
        if self
            .down_since
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|t| t.elapsed() < DOWN_FOR)
        {
            return Err("unreachable (trying again in a second)".into());
        }
        let _slot = self.slot(deadline)?;
        let result = self.attempt(&f, deadline);
        *self.down_since.lock().unwrap_or_else(|p| p.into_inner()) =
            result.is_err().then(Instant::now);
        result
    }

    /// `f` on an idle connection, or on a new one; once more on a new
    /// connection when a kept one turns out dead.
    fn attempt<T>(
        &self,
        f: &impl Fn(&mut redis::Connection) -> redis::RedisResult<T>,
        deadline: Instant,
    ) -> Result<T, String> {
        let kept = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        if let Some(mut connection) = kept {
            match call(&mut connection, f, deadline) {
                Ok(value) => {
                    self.keep(connection);
                    return Ok(value);
                }
                Err(e) if !(e.is_io_error() || e.is_connection_dropped()) || e.is_timeout() => {
                    return Err(e.to_string());
                }
                // Redis restarted or the connection was cut: the other
                // kept connections went with it.
                Err(_) => self.idle.lock().unwrap_or_else(|p| p.into_inner()).clear(),
            }
        }
        let mut connection = self
            .client
            .get_connection_with_timeout(remaining(deadline)?)
            .map_err(|e| e.to_string())?;
        let value = call(&mut connection, f, deadline).map_err(|e| e.to_string())?;
        self.keep(connection);
        Ok(value)
    }

    fn keep(&self, connection: redis::Connection) {
        self.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(connection);
    }

    /// Waits for fewer than `POOL` connections in use, until `deadline`.
    fn slot(&self, deadline: Instant) -> Result<Slot<'_>, String> {
        let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        while *busy >= POOL {
            let wait = remaining(deadline)?;
            busy = self
                .freed
                .wait_timeout(busy, wait)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        *busy += 1;
        Ok(Slot(self))
    }
}

/// A connection in use; freed when dropped.
struct Slot<'s>(&'s RedisStore);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *self.0.busy.lock().unwrap_or_else(|p| p.into_inner()) -= 1;
        self.0.freed.notify_one();
    }
}

/// The time left before `deadline`, or the error saying it is out.
fn remaining(deadline: Instant) -> Result<Duration, String> {
    Some(deadline.saturating_duration_since(Instant::now()))
        .filter(|d| !d.is_zero())
        .ok_or_else(|| "no answer in time".to_string())
}

/// `f` on `connection`, answered by `deadline`.
fn call<T>(
    connection: &mut redis::Connection,
    f: &impl Fn(&mut redis::Connection) -> redis::RedisResult<T>,
    deadline: Instant,
) -> redis::RedisResult<T> {
    let left = Some(deadline.saturating_duration_since(Instant::now()))
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut))
        })?;
    connection.set_read_timeout(Some(left))?;
    connection.set_write_timeout(Some(left))?;
    f(connection)
}

impl Store for RedisStore {
    fn secret(&self) -> Result<Secret, String> {
        if let Some(secret) = self.secret.get() {
            return Ok(*secret);
        }
        let proposed = Secret::random().to_hex();
        let key = format!("{}secret", self.prefix);
        let script = redis::Script::new(SECRET);
        let shared: String = self.run(|c| script.key(&key).arg(&proposed).invoke(c))?;
        let secret = Secret::from_hex(&shared)
            .ok_or_else(|| format!("{key} in Redis is not a maillint secret"))?;
        Ok(*self.secret.get_or_init(|| secret))
    }

    fn count(&self, count: &Count, limits: &Limits, _now: u64) -> Result<Counted, String> {
        let hex = |key: Option<u64>| key.map_or(String::new(), |k| format!("{k:016x}"));
        let reply = count.reply.as_ref();
        let (outcome, number): (u8, u64) = self.run(|c| {
            self.script
                .arg(&self.prefix)
                .arg(if reply.is_some() { "1" } else { "0" })
                .arg(hex(reply.map(|r| r.thread)))
                .arg(hex(reply.and_then(|r| r.parent)))
                .arg(hex(reply.and_then(|r| r.id)))
                .arg(limits.window.max(1))
                .arg(limits.block.max(1))
                .arg(limits.max_replies)
                .arg(hex(count.sender))
                .arg(limits.sender_per_hour)
                .invoke(c)
        })?;
        match outcome {
            0 => Ok(Counted::Pass),
            1 => Ok(Counted::Paused),
            2 => Ok(Counted::Storm(number)),
            3 => Ok(Counted::SenderLimit(number)),
            _ => Err(format!("unexpected answer {outcome} from count.lua")),
        }
    }
}
