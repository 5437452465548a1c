//! Storm counters in this process, for a single gateway.

use super::{Count, Counted, Limits, Secret, Store};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// Counters in this process, at most `capacity` entries. A message to a
/// large audience keeps up to three (its thread's count, the thread it
/// belongs to, its sender's count), about 100 bytes each: the default of
/// [`super::StormConfig::memory_entries`], 200,000, is about 20 MB. Past
/// the capacity the oldest entry is forgotten, so that a flood of
/// counted mail costs a bounded amount of memory; what is forgotten is
/// what matters least (the oldest counts, the closest to expiring).
pub struct MemoryStore {
    table: Mutex<Counters>,
    secret: Secret,
}

impl MemoryStore {
    pub fn new(capacity: usize) -> MemoryStore {
        MemoryStore {
            table: Mutex::new(Counters::new(capacity)),
            // Nothing outside this process sees its keys: a secret of its own.
            secret: Secret::random(),
        }
    }
}

impl Store for MemoryStore {
    fn secret(&self) -> Result<Secret, String> {
        Ok(self.secret)
    }

    fn count(&self, count: &Count, limits: &Limits, now: u64) -> Result<Counted, String> {
        let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        Ok(table.count(count, limits, now))
    }
}

/// What an entry counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    /// The thread a message id was counted in.
    ThreadOf,
    /// A paused thread.
    Blocked,
    /// Replies in a thread's window.
    Replies,
    /// A sender's messages in the hour.
    Sender,
}

type Key = (Kind, u64);

struct Entry {
    value: u64,
    /// The second it expires at.
    expires: u64,
    /// Its place in `Counters::age`.
    born: u64,
}

struct Counters {
    entries: HashMap<Key, Entry>,
    /// Entries from the oldest, for eviction.
    age: BTreeMap<u64, Key>,
    next: u64,
    capacity: usize,
    /// Expired entries are swept when the table reaches this size, which
    /// then doubles what is left: a constant cost per message.
    sweep_at: usize,
}

const SWEEP_AT_LEAST: usize = 4096;

impl Counters {
    fn new(capacity: usize) -> Counters {
        Counters {
            entries: HashMap::new(),
            age: BTreeMap::new(),
            next: 0,
            capacity: capacity.max(1),
            sweep_at: SWEEP_AT_LEAST,
        }
    }

    /// The steps of count.lua, which must do the same.
    fn count(&mut self, count: &Count, limits: &Limits, now: u64) -> Counted {
        if self.entries.len() >= self.sweep_at {
            self.entries.retain(|_, e| e.expires > now);
            let entries = &self.entries;
            self.age.retain(|_, key| entries.contains_key(key));
            self.sweep_at = (self.entries.len() * 2).max(SWEEP_AT_LEAST);
        }
        if let Some(reply) = &count.reply {
            let thread = reply
                .parent
                .and_then(|parent| self.get((Kind::ThreadOf, parent), now))
                .unwrap_or(reply.thread);
            if let Some(id) = reply.id {
                self.set((Kind::ThreadOf, id), thread, limits.block, now);
            }
            if self.get((Kind::Blocked, thread), now).is_some() {
                return Counted::Paused;
            }
            let replies = self.increment((Kind::Replies, thread), limits.window, now);
            if replies > limits.max_replies {
                self.set((Kind::Blocked, thread), 1, limits.block, now);
                return Counted::Storm(replies);
            }
        }
        if let Some(sender) = count.sender {
            let sent = self.increment((Kind::Sender, sender), 3600, now);
            if sent > limits.sender_per_hour {
                return Counted::SenderLimit(sent);
            }
        }
        Counted::Pass
    }

    fn get(&self, key: Key, now: u64) -> Option<u64> {
        self.entries
            .get(&key)
            .filter(|e| e.expires > now)
            .map(|e| e.value)
    }

    /// Sets `key` for `ttl` seconds: a new entry, the youngest.
    fn set(&mut self, key: Key, value: u64, ttl: u64, now: u64) {
        let born = self.next;
        self.next += 1;
        let old = self.entries.insert(
            key,
            Entry {
                value,
                expires: now.saturating_add(ttl),
                born,
            },
        );
        if let Some(old) = old {
            self.age.remove(&old.born);
        }
        self.age.insert(born, key);
        while self.entries.len() > self.capacity {
            let Some((_, oldest)) = self.age.pop_first() else {
                break;
            };
            self.entries.remove(&oldest);
        }
    }

    /// Adds one to `key` and gives the count; the count starts again from
    /// zero `ttl` seconds after its first increment.
    fn increment(&mut self, key: Key, ttl: u64, now: u64) -> u64 {
        match self.entries.get_mut(&key).filter(|e| e.expires > now) {
            Some(entry) => {
                entry.value += 1;
                entry.value
            }
            None => {
                self.set(key, 1, ttl, now);
                1
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        window: 1800,
        block: 6 * 3600,
        max_replies: 2,
        sender_per_hour: 10,
    };

    fn sender(key: u64) -> Count {
        Count {
            reply: None,
            sender: Some(key),
        }
    }

    #[test]
    fn expired_entries_are_swept() {
        let mut counters = Counters::new(usize::MAX);
        for i in 0..SWEEP_AT_LEAST as u64 * 4 {
            counters.count(&sender(i), &LIMITS, i * 3600);
        }
        assert!(counters.entries.len() <= SWEEP_AT_LEAST);
        assert_eq!(counters.age.len(), counters.entries.len());
    }

    #[test]
    fn past_its_capacity_the_oldest_entry_is_forgotten() {
        let mut counters = Counters::new(100);
        // A flood of senders within the hour: nothing expires.
        for i in 0..10_000 {
            counters.count(&sender(i), &LIMITS, 0);
            assert!(counters.entries.len() <= 100);
            assert_eq!(counters.age.len(), counters.entries.len());
        }
        // The latest ones are still counted, the first forgotten.
        assert_eq!(counters.get((Kind::Sender, 9_999), 0), Some(1));
        assert_eq!(counters.get((Kind::Sender, 9_900), 0), Some(1));
        assert_eq!(counters.get((Kind::Sender, 0), 0), None);
        // Counting again keeps an entry's age: the window opened then.
        for _ in 0..20 {
            counters.count(&sender(9_950), &LIMITS, 0);
        }
        assert_eq!(counters.get((Kind::Sender, 9_950), 0), Some(21));
    }
}
