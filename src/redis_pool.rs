//! Connections to a Redis server shared by several gateways, each call
//! bounded in time: what the storm counters (`[storm] store`), the
//! shared index of held mail (`[hold] shared`) and the history shared
//! between gateways (`[history] shared`) ask of Redis.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// Calls run at once, each on a connection of its own: no lock is held
/// while Redis answers, so a slow Redis costs each caller its own wait,
/// not the sum of the others'. `timeout` bounds a call's whole wait: for
/// a free connection, for connecting, and for the answer.
///
/// A connection that fails (Redis restarted, or a connection a firewall
/// forgot) is replaced by a new one and the call tried again once, in
/// the same time; only when that fails too is Redis down, and not tried
/// again for a second, so that an outage costs a caller nothing rather
/// than a timeout.
pub struct Pool {
    client: redis::Client,
    timeout: Duration,
    /// Connections not in use.
    idle: Mutex<Vec<redis::Connection>>,
    /// Connections in use, at most `POOL`.
    busy: Mutex<usize>,
    freed: Condvar,
    down_since: Mutex<Option<Instant>>,
}

/// Connections at most: Redis answers a call in microseconds, so these
/// are enough for hundreds of messages at once; past them a caller waits
/// (within its timeout) for one to be free.
const POOL: usize = 64;

/// How long Redis is left alone after it failed.
const DOWN_FOR: Duration = Duration::from_secs(1);

/// A script that sets `KEYS[1]` to `ARGV[1]` unless it is set, and gives
/// its value: what every gateway sharing a Redis must agree on.
pub const SET_ONCE: &str =
    "redis.call('SET', KEYS[1], ARGV[1], 'NX') return redis.call('GET', KEYS[1])";

/// A Redis URL as a log line may show it: without its user and password.
pub fn without_password(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
            format!("{scheme}://{host}")
        }
        None => url.to_string(),
    }
}

impl Pool {
    /// `url` is `redis://HOST:PORT` (or `redis+unix:///PATH`); `setting`
    /// names it in an error (`[storm] store`).
    pub fn new(url: &str, timeout: Duration, setting: &str) -> Result<Pool, String> {
        let client = redis::Client::open(url).map_err(|e| format!("{setting}: {e}"))?;
        Ok(Pool {
            client,
            timeout: timeout.max(Duration::from_millis(1)),
            idle: Mutex::new(Vec::new()),
            busy: Mutex::new(0),
            freed: Condvar::new(),
            down_since: Mutex::new(None),
        })
    }

    /// How long one call may take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Runs `f` on a connection before the pool's timeout is out.
    pub fn run<T>(
        &self,
        f: impl Fn(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, String> {
        self.run_within(self.timeout, f)
    }

    /// Runs `f` on a connection before `timeout` is out (a blocking read
    /// waits longer than a count).
    pub fn run_within<T>(
        &self,
        timeout: Duration,
        f: impl Fn(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, String> {
        let deadline = Instant::now() + timeout;
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
struct Slot<'s>(&'s Pool);

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

#[cfg(test)]
mod tests {
    #[test]
    fn a_url_is_shown_without_its_password() {
        assert_eq!(
            super::without_password("redis://maillint:s3cret@10.0.0.5:6379/2"),
            "redis://10.0.0.5:6379/2"
        );
        assert_eq!(
            super::without_password("redis://10.0.0.5"),
            "redis://10.0.0.5"
        );
    }
}
