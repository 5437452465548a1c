//! Where the storm counters are kept: the one interface of every store,
//! and what it counts.

use std::fmt;

/// One message's count, the keys hashed with the store's secret: all a
/// store needs to count it at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    /// A reply to a large audience: counted in its thread.
    pub reply: Option<ReplyCount>,
    /// The sender, when senders are limited.
    pub sender: Option<u64>,
}

/// A reply's thread, as far as the message knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyCount {
    /// The thread by the message's own headers.
    pub thread: u64,
    /// The message it answers, when it keeps only `In-Reply-To`: the
    /// thread that message was counted in, if the store remembers it, is
    /// this one's.
    pub parent: Option<u64>,
    /// The message's own id, remembered as part of its thread.
    pub id: Option<u64>,
}

/// `[storm]`'s numbers, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub window: u64,
    pub block: u64,
    pub max_replies: u64,
    pub sender_per_hour: u64,
}

/// What a store's count says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    Pass,
    /// The thread is paused.
    Paused,
    /// This reply, number `n` in the window, starts a storm.
    Storm(u64),
    /// The sender's message `n` in the hour, over the limit.
    SenderLimit(u64),
}

/// Where the counters are kept. `now` is in seconds (the memory store's
/// clock; Redis keeps its own).
pub trait Store: Send + Sync {
    /// The key of the keyed hash, the same for every gateway sharing the
    /// store.
    fn secret(&self) -> Result<Secret, String>;
    /// Counts one message, atomically.
    fn count(&self, count: &Count, limits: &Limits, now: u64) -> Result<Counted, String>;
}

/// The key of the hash that turns thread, message and sender ids into
/// counter keys: SipHash, keyed, so that someone who knows the ids cannot
/// make two threads (or senders) share a counter, as they could with an
/// unkeyed hash.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Secret(u64, u64);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// A new secret, from the system's randomness (the standard library
    /// seeds its hash maps from it).
    pub fn random() -> Secret {
        use std::hash::BuildHasher;
        let seed = std::collections::hash_map::RandomState::new();
        Secret(seed.hash_one(1u8), seed.hash_one(2u8))
    }

    pub fn to_hex(self) -> String {
        format!("{:016x}{:016x}", self.0, self.1)
    }

    pub fn from_hex(text: &str) -> Option<Secret> {
        let half = |range: std::ops::Range<usize>| {
            text.get(range)
                .and_then(|h| u64::from_str_radix(h, 16).ok())
        };
        (text.len() == 32)
            .then(|| Some(Secret(half(0..16)?, half(16..32)?)))
            .flatten()
    }

    pub fn hash(self, bytes: &[u8]) -> u64 {
        use std::hash::Hasher;
        let mut hasher = siphasher::sip::SipHasher13::new_with_keys(self.0, self.1);
        hasher.write(bytes);
        hasher.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_keys_the_hash_and_travels_as_hex() {
        let (one, other) = (Secret::random(), Secret::random());
        assert_ne!(one, other);
        assert_ne!(one.hash(b"id:<root@x>"), other.hash(b"id:<root@x>"));
        assert_eq!(one.hash(b"id:<root@x>"), one.hash(b"id:<root@x>"));
        assert_eq!(Secret::from_hex(&one.to_hex()), Some(one));
        for bad in ["", "00", &"g".repeat(32), &"0".repeat(33)] {
            assert_eq!(Secret::from_hex(bad), None, "{bad}");
        }
    }
}
