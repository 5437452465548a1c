//! Storm counters in Redis, shared by every gateway that uses the same
//! server (and key prefix).

use super::{Count, Counted, Limits, Secret, Store};
use crate::milter::pool::RedisPool;
use std::sync::OnceLock;
use std::time::Duration;

/// Storm counts in Redis, each message's count one script call
/// (count.lua: a single round trip) on a connection of the pool (see
/// [`RedisPool`] for how a slow or dead Redis is borne): `timeout` bounds
/// a message's whole wait.
pub struct RedisStore {
    pool: RedisPool,
    prefix: String,
    script: redis::Script,
    secret: OnceLock<Secret>,
}

const COUNT: &str = include_str!("count.lua");

/// Sets the installation's secret unless a gateway already did, and gives
/// it: every gateway sharing the store hashes keys alike.
const SECRET: &str = "redis.call('SET', KEYS[1], ARGV[1], 'NX') return redis.call('GET', KEYS[1])";

impl RedisStore {
    /// `url` is `redis://HOST:PORT` (or `redis+unix:///PATH`); keys start
    /// with `prefix`.
    pub fn new(url: &str, prefix: &str, timeout: Duration) -> Result<RedisStore, String> {
        Ok(RedisStore {
            pool: RedisPool::new("storm.store", url, timeout)?,
            prefix: prefix.to_string(),
            script: redis::Script::new(COUNT),
            secret: OnceLock::new(),
        })
    }
}

impl Store for RedisStore {
    fn secret(&self) -> Result<Secret, String> {
        if let Some(secret) = self.secret.get() {
            return Ok(*secret);
        }
        let proposed = Secret::random().to_hex();
        let key = format!("{}secret", self.prefix);
        let script = redis::Script::new(SECRET);
        let shared: String = self
            .pool
            .run(|c| script.key(&key).arg(&proposed).invoke(c))?;
        let secret = Secret::from_hex(&shared)
            .ok_or_else(|| format!("{key} in Redis is not a maillint secret"))?;
        Ok(*self.secret.get_or_init(|| secret))
    }

    fn count(&self, count: &Count, limits: &Limits, _now: u64) -> Result<Counted, String> {
        let hex = |key: Option<u64>| key.map_or(String::new(), |k| format!("{k:016x}"));
        let reply = count.reply.as_ref();
        let (outcome, number): (u8, u64) = self.pool.run(|c| {
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
