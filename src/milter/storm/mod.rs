//! Reply-all storm protection: what one message's check cannot see. The
//! gateway sees every outgoing message, so it counts replies to a large
//! audience per thread and stops the storm at its start; and it counts
//! each sender's messages to large audiences per hour.
//!
//! Counters live in memory (one gateway) or in Redis (several gateways
//! sharing them, so a storm started through one is stopped on all).
//! Both count in fixed windows that open with the first count: Redis's
//! atomic increment with an expiry gives exactly that.

mod memory;
mod redis;
mod store;

pub use self::memory::MemoryStore;
pub use self::redis::RedisStore;
pub use self::store::{Count, Counted, Limits, ReplyCount, Secret, Store};

use crate::config::StormConfig;
use crate::message::{Message, strip_subject_prefixes};
use std::time::Duration;

/// The storm rules over a store.
pub struct Storm {
    settings: StormConfig,
    store: Box<dyn Store>,
}

/// Why a message is stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    pub reason: String,
}

/// What storm protection says about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Blocked(Blocked),
    /// The store could not be asked.
    StoreError(String),
}

impl Storm {
    pub fn new(settings: StormConfig) -> Result<Storm, String> {
        let store: Box<dyn Store> = match &settings.store {
            Some(url) => Box::new(RedisStore::new(
                url,
                &settings.key_prefix,
                Duration::from_millis(settings.store_timeout_ms.max(1)),
            )?),
            None => Box::new(MemoryStore::new(settings.memory_entries)),
        };
        Ok(Storm::with_store(settings, store))
    }

    pub fn with_store(settings: StormConfig, store: Box<dyn Store>) -> Storm {
        Storm { settings, store }
    }

    pub fn settings(&self) -> &StormConfig {
        &self.settings
    }

    /// Where the counters are kept and whether the store answers, for the
    /// start-up line: `memory`, or the Redis server without its password.
    pub fn describe_store(&self) -> String {
        let Some(url) = &self.settings.store else {
            return "memory".into();
        };
        let url = crate::redis_pool::without_password(url);
        // Asking for the installation's secret is a round trip, and keeps
        // the secret for the first message.
        match self.store.secret() {
            Ok(_) => format!("{url} (answered)"),
            Err(e) => format!("{url} (not answering: {})", crate::guard::one_line(&e)),
        }
    }

    /// Counts a message to `reach` people (`mass`: a mass list among them)
    /// from `sender`, at `now` (seconds), and says whether it goes out.
    pub fn judge(
        &self,
        message: &Message,
        sender: &str,
        reach: u64,
        mass: bool,
        now: u64,
    ) -> Verdict {
        match self.check(message, sender, reach, mass, now) {
            Ok(None) => Verdict::Pass,
            Ok(Some(blocked)) => Verdict::Blocked(blocked),
            Err(e) => Verdict::StoreError(e),
        }
    }

    fn check(
        &self,
        message: &Message,
        sender: &str,
        reach: u64,
        mass: bool,
        now: u64,
    ) -> Result<Option<Blocked>, String> {
        let s = &self.settings;
        let counts_reply = message.is_reply;
        let counts_sender = s.sender_limit_per_hour > 0;
        if !s.enabled || !(mass || reach >= s.audience) || !(counts_reply || counts_sender) {
            return Ok(None);
        }
        let secret = self.store.secret()?;
        let count = Count {
            reply: counts_reply.then(|| thread(message, secret)),
            sender: counts_sender.then(|| secret.hash(sender.to_ascii_lowercase().as_bytes())),
        };
        let limits = Limits {
            window: s.window_minutes * 60,
            block: s.block_hours * 3600,
            max_replies: s.max_replies,
            sender_per_hour: s.sender_limit_per_hour,
        };
        let people = if mass {
            "a mass list".to_string()
        } else {
            format!("{reach} people")
        };
        let reason = match self.store.count(&count, &limits, now)? {
            Counted::Pass => return Ok(None),
            Counted::Paused => format!(
                "Reply-all storm: replies to everyone in this thread are paused (for {} hours after it had more than {} replies to a large audience within {} minutes). Reply to the sender only.",
                s.block_hours, s.max_replies, s.window_minutes
            ),
            Counted::Storm(count) => format!(
                "Reply-all storm: this is reply {count} to {people} in this thread within {} minutes; replies to everyone in it are paused for {} hours. Reply to the sender only.",
                s.window_minutes, s.block_hours
            ),
            Counted::SenderLimit(count) => format!(
                "Sending limit: message {count} to a large audience from this sender within an hour (the limit is {}).",
                s.sender_limit_per_hour
            ),
        };
        Ok(Some(Blocked { reason }))
    }
}

/// The thread a reply to a large audience is counted in, the same on
/// every gateway: its root, the first `References` id, else the message
/// it answers (`In-Reply-To`) or, when the gateway has seen that message,
/// the thread it was counted in (the store looks it up), so that a client
/// that keeps only In-Reply-To stays in its storm. Only a reply with
/// neither header is counted by its subject (without reply prefixes, case
/// and spacing): by subject alone, unrelated threads with a subject as
/// common as "Update" would count together. The message's own id is
/// remembered as part of its thread.
fn thread(message: &Message, secret: Secret) -> ReplyCount {
    let hash = |id: &str| secret.hash(id.as_bytes());
    let (thread, parent) = match (
        first_id(message, "References"),
        first_id(message, "In-Reply-To"),
    ) {
        (Some(root), _) => (hash(&root), None),
        (None, Some(parent)) => (hash(&parent), Some(hash(&parent))),
        (None, None) => (hash(&subject_key(message)), None),
    };
    ReplyCount {
        thread,
        parent,
        id: first_id(message, "Message-ID").map(|id| hash(&id)),
    }
}

/// The first message id in a header, `id:<local@domain>`.
fn first_id(message: &Message, name: &str) -> Option<String> {
    let value = message.header(name)?.value;
    value
        .split([',', ' ', '\t', '<', '>'])
        .find(|id| !id.is_empty())
        .map(|id| format!("id:<{id}>"))
}

/// A reply without references, by its subject: without reply prefixes,
/// case and spacing.
fn subject_key(message: &Message) -> String {
    let subject = message.subject.as_deref().unwrap_or("");
    let words: Vec<String> = strip_subject_prefixes(subject)
        .split_whitespace()
        .map(str::to_lowercase)
        .collect();
    format!("subject:{}", words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::parse_rfc5322;

    fn reply(subject: &str, references: Option<&str>) -> Message {
        let refs = references.map_or(String::new(), |r| {
            format!("In-Reply-To: {r}\nReferences: {r}\n")
        });
        parse_rfc5322(
            format!(
                "From: a@example.org\nTo: all@example.org\nSubject: {subject}\n{refs}\nremove me\n"
            )
            .as_bytes(),
            1,
        )
        .unwrap()
    }

    fn storm(settings: StormConfig) -> Storm {
        Storm::with_store(settings, Box::new(MemoryStore::new(100_000)))
    }

    const MINUTE: u64 = 60;

    #[test]
    fn the_third_reply_to_a_large_audience_is_blocked_and_so_are_later_ones() {
        let storm = storm(StormConfig::default());
        let msg = reply("Re: Test", Some("<root@nhs.example>"));
        let judge = |sender: &str, now| storm.judge(&msg, sender, 1_200_000, true, now);
        assert_eq!(judge("a@x", 0), Verdict::Pass);
        assert_eq!(judge("b@x", MINUTE), Verdict::Pass);
        assert!(
            matches!(judge("c@x", 2 * MINUTE), Verdict::Blocked(b) if b.reason.contains("reply 3 to a mass list"))
        );
        // Blocked for 6 hours, even after the window closed.
        assert!(
            matches!(judge("d@x", 5 * 60 * MINUTE), Verdict::Blocked(b) if b.reason.contains("paused"))
        );
        // Then replies go out again.
        assert_eq!(judge("e@x", 7 * 60 * MINUTE), Verdict::Pass);
    }

    #[test]
    fn replies_spread_beyond_the_window_are_not_a_storm() {
        let storm = storm(StormConfig::default());
        let msg = reply("Re: Test", Some("<root@nhs.example>"));
        for i in 0..10 {
            // Two replies every 31 minutes.
            let now = i * 31 * MINUTE;
            assert_eq!(storm.judge(&msg, "a@x", 600, false, now), Verdict::Pass);
            assert_eq!(storm.judge(&msg, "b@x", 600, false, now + 1), Verdict::Pass);
        }
    }

    #[test]
    fn small_audiences_other_threads_and_new_messages_do_not_count() {
        let storm = no_sender_limit();
        let msg = reply("Re: Test", Some("<root@nhs.example>"));
        for now in 0..10 {
            assert_eq!(storm.judge(&msg, "a@x", 499, false, now), Verdict::Pass);
        }
        let fresh = reply("Test", None);
        for now in 0..10 {
            assert_eq!(
                storm.judge(&fresh, "a@x", 5000, true, now),
                Verdict::Pass,
                "not a reply"
            );
        }
        for i in 0..10 {
            let other = reply(
                &format!("Re: Topic {i}"),
                Some(&format!("<root{i}@nhs.example>")),
            );
            assert_eq!(storm.judge(&other, "a@x", 5000, true, i), Verdict::Pass);
        }
    }

    fn no_sender_limit() -> Storm {
        storm(StormConfig {
            sender_limit_per_hour: 0,
            ..StormConfig::default()
        })
    }

    /// A reply with exactly the `headers` given (Message-ID, In-Reply-To,
    /// References).
    fn reply_with(subject: &str, headers: &str) -> Message {
        parse_rfc5322(
            format!("From: a@example.org\nTo: all@example.org\nSubject: {subject}\n{headers}\nremove me\n")
                .as_bytes(),
            1,
        )
        .unwrap()
    }

    #[test]
    fn unrelated_threads_with_the_same_subject_do_not_add_up() {
        let storm = no_sender_limit();
        for i in 0..10 {
            let other = reply("Re: Update", Some(&format!("<root{i}@nhs.example>")));
            assert_eq!(storm.judge(&other, "a@x", 5000, true, i), Verdict::Pass);
        }
        // Nor does a reply without references join one of them.
        let loose = reply("Re: Update", None);
        assert_eq!(storm.judge(&loose, "a@x", 5000, true, 20), Verdict::Pass);
    }

    #[test]
    fn a_reply_without_references_counts_by_subject() {
        let storm = no_sender_limit();
        let judge = |subject: &str, now| storm.judge(&reply(subject, None), "a@x", 0, true, now);
        assert_eq!(judge("Re: Please remove me", 0), Verdict::Pass);
        assert_eq!(judge("Re: Lunch", 1), Verdict::Pass);
        assert_eq!(judge("RE: Re:  please   REMOVE me", 2), Verdict::Pass);
        assert!(matches!(
            judge("re: PLEASE REMOVE ME", 3),
            Verdict::Blocked(b) if b.reason.contains("reply 3")
        ));
    }

    #[test]
    fn a_reply_keeping_only_in_reply_to_stays_in_its_thread() {
        let storm = no_sender_limit();
        let first = reply_with(
            "Re: Test",
            "Message-ID: <r1@x>\nIn-Reply-To: <root@x>\nReferences: <root@x>\n",
        );
        let to_first = reply_with("RE: Test", "Message-ID: <r2@x>\nIn-Reply-To: <r1@x>\n");
        let to_second = reply_with("RE: Test", "Message-ID: <r3@x>\nIn-Reply-To: <r2@x>\n");
        let edited = reply_with(
            "Re: Test - please remove me",
            "Message-ID: <r4@x>\nReferences: <root@x> <r3@x>\n",
        );
        assert_eq!(storm.judge(&first, "a@x", 0, true, 0), Verdict::Pass);
        assert_eq!(storm.judge(&to_first, "b@x", 0, true, 1), Verdict::Pass);
        assert!(matches!(
            storm.judge(&to_second, "c@x", 0, true, 2),
            Verdict::Blocked(b) if b.reason.contains("reply 3")
        ));
        // The root is blocked, so an edited subject does not escape.
        assert!(matches!(
            storm.judge(&edited, "d@x", 0, true, 3),
            Verdict::Blocked(b) if b.reason.contains("paused")
        ));
        // A parent the gateway has not seen is a thread of its own.
        let unseen = reply_with(
            "RE: Test",
            "Message-ID: <r5@x>\nIn-Reply-To: <elsewhere@x>\n",
        );
        assert_eq!(storm.judge(&unseen, "e@x", 0, true, 4), Verdict::Pass);
    }

    #[test]
    fn a_sender_is_limited_per_hour() {
        let storm = storm(StormConfig {
            sender_limit_per_hour: 3,
            ..StormConfig::default()
        });
        let msg = reply("Announcement", None);
        for now in 0..3 {
            assert_eq!(storm.judge(&msg, "Boss@x", 800, false, now), Verdict::Pass);
        }
        assert!(
            matches!(storm.judge(&msg, "boss@x", 800, false, 10), Verdict::Blocked(b) if b.reason.contains("Sending limit"))
        );
        assert_eq!(storm.judge(&msg, "other@x", 800, false, 10), Verdict::Pass);
        assert_eq!(
            storm.judge(&msg, "boss@x", 800, false, 3601),
            Verdict::Pass,
            "a new hour"
        );
    }
}
