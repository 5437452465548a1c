//! The storm counters in this process, for a single gateway.

use super::Store;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Counters in this process.
#[derive(Default)]
pub struct MemoryStore {
    table: Mutex<Table>,
}

#[derive(Default)]
struct Table {
    /// Count and the second it expires at.
    entries: HashMap<String, (u64, u64)>,
    /// Expired entries are swept when the table reaches this size, which
    /// then doubles what is left: a bounded table at a constant cost per
    /// message.
    sweep_at: usize,
}

const SWEEP_AT_LEAST: usize = 4096;

impl MemoryStore {
    fn with<T>(&self, now: u64, f: impl FnOnce(&mut HashMap<String, (u64, u64)>) -> T) -> T {
        let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        if table.entries.len() >= table.sweep_at.max(SWEEP_AT_LEAST) {
            table.entries.retain(|_, (_, expires)| *expires > now);
            table.sweep_at = table.entries.len() * 2;
        }
        f(&mut table.entries)
    }
}

impl Store for MemoryStore {
    fn increment(&self, key: &str, ttl: Duration, now: u64) -> Result<u64, String> {
        Ok(self.with(now, |entries| {
            let entry = entries
                .entry(key.to_string())
                .or_insert((0, now + ttl.as_secs()));
            if entry.1 <= now {
                *entry = (0, now + ttl.as_secs());
            }
            entry.0 += 1;
            entry.0
        }))
    }

    fn set(&self, key: &str, value: u64, ttl: Duration, now: u64) -> Result<(), String> {
        self.with(now, |entries| {
            entries.insert(key.to_string(), (value, now + ttl.as_secs()));
        });
        Ok(())
    }

    fn get(&self, key: &str, now: u64) -> Result<Option<u64>, String> {
        Ok(self.with(now, |entries| {
            entries
                .get(key)
                .filter(|(_, expires)| *expires > now)
                .map(|(value, _)| *value)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memory_store_forgets_expired_entries() {
        let store = MemoryStore::default();
        for i in 0..SWEEP_AT_LEAST * 4 {
            store
                .increment(&i.to_string(), Duration::from_secs(10), i as u64)
                .unwrap();
        }
        assert!(store.table.lock().unwrap().entries.len() <= SWEEP_AT_LEAST);
    }
}
