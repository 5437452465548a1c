//! The storm counters in Redis, shared by several gateways.

use super::Store;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counters in Redis, shared by every gateway that uses the same server.
/// One connection, reopened after an error; after a failure the store is
/// not tried again for a few seconds, so that a Redis outage costs each
/// message nothing rather than a timeout.
pub struct RedisStore {
    client: redis::Client,
    timeout: Duration,
    connection: Mutex<Option<redis::Connection>>,
    failed_at: Mutex<Option<Instant>>,
}

const RETRY_AFTER: Duration = Duration::from_secs(5);

impl RedisStore {
    pub fn new(url: &str, timeout: Duration) -> Result<RedisStore, String> {
        let client = redis::Client::open(url).map_err(|e| format!("storm.store: {e}"))?;
        Ok(RedisStore {
            client,
            timeout,
            connection: Mutex::new(None),
            failed_at: Mutex::new(None),
        })
    }

    fn run<T>(
        &self,
        f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, String> {
        let mut failed_at = self.failed_at.lock().unwrap_or_else(|p| p.into_inner());
        if failed_at.is_some_and(|t| t.elapsed() < RETRY_AFTER) {
            return Err("unreachable (retrying in a few seconds)".into());
        }
        let mut slot = self.connection.lock().unwrap_or_else(|p| p.into_inner());
        let result = self
            .connected(&mut slot)
            .and_then(|c| f(c).map_err(|e| e.to_string()));
        match &result {
            Ok(_) => *failed_at = None,
            Err(_) => {
                *slot = None;
                *failed_at = Some(Instant::now());
            }
        }
        result
    }

    fn connected<'c>(
        &self,
        slot: &'c mut Option<redis::Connection>,
    ) -> Result<&'c mut redis::Connection, String> {
        if slot.is_none() {
            let connection = self
                .client
                .get_connection_with_timeout(self.timeout)
                .map_err(|e| e.to_string())?;
            connection
                .set_read_timeout(Some(self.timeout))
                .and_then(|()| connection.set_write_timeout(Some(self.timeout)))
                .map_err(|e| e.to_string())?;
            *slot = Some(connection);
        }
        slot.as_mut().ok_or_else(|| "no connection".to_string())
    }
}

impl Store for RedisStore {
    fn increment(&self, key: &str, ttl: Duration, _now: u64) -> Result<u64, String> {
        // SET NX EX opens the window, INCR counts in it (keeping its
        // expiry), atomically.
        self.run(|c| {
            let (count,): (u64,) = redis::pipe()
                .atomic()
                .cmd("SET")
                .arg(key)
                .arg(0)
                .arg("EX")
                .arg(ttl.as_secs().max(1))
                .arg("NX")
                .ignore()
                .cmd("INCR")
                .arg(key)
                .query(c)?;
            Ok(count)
        })
    }

    fn set(&self, key: &str, value: u64, ttl: Duration, _now: u64) -> Result<(), String> {
        self.run(|c| {
            redis::cmd("SET")
                .arg(key)
                .arg(value)
                .arg("EX")
                .arg(ttl.as_secs().max(1))
                .query(c)
        })
    }

    fn get(&self, key: &str, _now: u64) -> Result<Option<u64>, String> {
        self.run(|c| redis::cmd("GET").arg(key).query(c))
    }
}
