//! Where the storm counters are kept: the one interface of every store.

use std::time::Duration;

/// Where the counters are kept. `now` is in seconds (the memory store's
/// clock; Redis keeps its own).
pub trait Store: Send + Sync {
    /// Adds one to `key` and gives the count; the count starts again from
    /// zero `ttl` after its first increment.
    fn increment(&self, key: &str, ttl: Duration, now: u64) -> Result<u64, String>;
    /// Sets `key` to `value` for `ttl`.
    fn set(&self, key: &str, value: u64, ttl: Duration, now: u64) -> Result<(), String>;
    /// The value of `key`, unless it expired.
    fn get(&self, key: &str, now: u64) -> Result<Option<u64>, String>;
}
