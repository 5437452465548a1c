//! The bytes the gateway holds for all its connections at once: messages
//! being rebuilt, envelopes, packets being read. One connection is bounded
//! by `max_message_size` and the event limits; this bounds them all
//! together, whatever the number of connections (`[milter]
//! memory_budget_mb`).

use std::sync::atomic::{AtomicU64, Ordering};

/// A shared count of bytes held, against a limit.
#[derive(Debug)]
pub struct Budget {
    held: AtomicU64,
    /// The most ever held at once.
    peak: AtomicU64,
    limit: u64,
}

impl Budget {
    pub fn new(limit: u64) -> Budget {
        Budget {
            held: AtomicU64::new(0),
            peak: AtomicU64::new(0),
            limit,
        }
    }

    /// Bytes held now, by every connection.
    pub fn held(&self) -> u64 {
        self.held.load(Ordering::Relaxed)
    }

    /// The most held at once since the gateway started.
    pub fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Takes `bytes` if they fit under the limit.
    fn take(&self, bytes: u64) -> bool {
        let taken = self
            .held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                held.checked_add(bytes).filter(|total| *total <= self.limit)
            });
        if let Ok(before) = taken {
            self.peak.fetch_max(before + bytes, Ordering::Relaxed);
        }
        taken.is_ok()
    }

    fn give_back(&self, bytes: u64) {
        self.held.fetch_sub(bytes, Ordering::AcqRel);
    }
}

/// Bytes one holder (a message, a packet) took from a budget; given back
/// when it is dropped or emptied, so that nothing is counted twice or
/// forgotten, whatever way a connection ends.
#[derive(Debug)]
pub struct Share<'b> {
    budget: &'b Budget,
    bytes: u64,
}

impl<'b> Share<'b> {
    pub fn new(budget: &'b Budget) -> Share<'b> {
        Share { budget, bytes: 0 }
    }

    /// Takes `bytes` more; `false` (and nothing taken) when the budget
    /// has no room for them.
    pub fn grow(&mut self, bytes: u64) -> bool {
        let taken = self.budget.take(bytes);
        if taken {
            self.bytes += bytes;
        }
        taken
    }

    /// Holds `bytes` in all, taking or giving back the difference;
    /// `false` (and nothing changed) when the budget has no room.
    pub fn resize(&mut self, bytes: u64) -> bool {
        if bytes > self.bytes {
            self.grow(bytes - self.bytes)
        } else {
            self.budget.give_back(self.bytes - bytes);
            self.bytes = bytes;
            true
        }
    }

    /// Gives everything back.
    pub fn clear(&mut self) {
        self.budget.give_back(std::mem::take(&mut self.bytes));
    }
}

impl Drop for Share<'_> {
    fn drop(&mut self) {
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_stay_under_the_limit_and_are_given_back() {
        let budget = Budget::new(100);
        let mut one = Share::new(&budget);
        assert!(one.grow(60));
        {
            let mut other = Share::new(&budget);
            assert!(!other.grow(41), "over the limit");
            assert!(other.grow(40));
            assert_eq!(budget.held(), 100);
        }
        assert_eq!(budget.peak(), 100);
        assert_eq!(budget.held(), 60, "given back when dropped");
        assert!(one.resize(30));
        assert_eq!(budget.held(), 30);
        assert!(!one.resize(101));
        assert!(one.resize(100));
        one.clear();
        assert_eq!(budget.held(), 0);
        assert!(one.grow(100));
    }
}
