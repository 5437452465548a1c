//! The history several gateways share: what one gateway learns or
//! forgets, as a record the others apply to their own index.
//!
//! Every gateway keeps its own index and reads only it, so a lookup stays
//! local (microseconds, on the message's path) whatever becomes of the
//! others or of the store between them. What a gateway learns as a
//! message leaves, and what an administrator forgets, goes to the others
//! as a [`Shared`] record (the gateway's `milter` module carries them
//! through Redis). A record is already in the form the index keeps: with
//! `[history] hash_key_file`, addresses, names and the sender's key are
//! keyed hashes, so the store between the gateways never holds them in
//! clear. A record applied twice changes nothing the second time: a
//! message is learned once by its key, and a forgotten address is gone.

use super::index::{forget_owner_rows, forget_rows};
use super::learn::{Record, Sent, write};
use super::{History, address_key};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

/// One record shared between gateways.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shared {
    /// The index's hash check (see `History::hash_check`): a record is
    /// applied only by an index that keeps addresses the same way, so a
    /// gateway with another key (or none) never mixes two kinds of entry.
    check: String,
    what: What,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
enum What {
    /// A message that left: learned.
    Sent(Sent),
    /// One correspondent forgotten from every sender's history (as the
    /// index keeps the address).
    ForgetAddress(String),
    /// One sender's whole history forgotten (the sender's key as kept).
    ForgetSender(String),
}

/// What applying records did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Messages learned.
    pub learned: u64,
    /// Messages known already (learned here, or applied before).
    pub known: u64,
    /// Forget records applied.
    pub forgotten: u64,
    /// Records made by an index that keeps addresses another way (another
    /// hash key, or none): not applied.
    pub refused: u64,
}

impl Shared {
    /// The record of a message that left, as `history` (the index it is
    /// learned into) made it (see [`History::record`]).
    pub fn sent(history: &History, record: &Record) -> Shared {
        Shared {
            check: history.hash_check(),
            what: What::Sent(record.0.clone()),
        }
    }

    /// The record that forgets `addr` in every sender's history.
    pub fn forget_address(history: &History, addr: &str) -> Shared {
        Shared {
            check: history.hash_check(),
            what: What::ForgetAddress(history.stored(&address_key(addr)).into_owned()),
        }
    }

    /// The record that forgets a sender's whole history; `key` as
    /// [`sender_key`](super::sender_key) makes it.
    pub fn forget_sender(history: &History, key: &str) -> Shared {
        Shared {
            check: history.hash_check(),
            what: What::ForgetSender(history.stored_owner(key)),
        }
    }

    /// Applies the record to `history` here, as to another gateway's.
    pub fn learn(&self, history: &History) -> Result<Applied, String> {
        history.apply_shared(std::slice::from_ref(self), None)
    }

    /// Whether this is a forget record.
    pub fn is_forget(&self) -> bool {
        !matches!(self.what, What::Sent(_))
    }

    /// Whether this forget record removes what `other` holds: a message
    /// to the forgotten address, or of the forgotten sender (so that it
    /// can be deleted from the store too).
    pub fn erases(&self, other: &Shared) -> bool {
        let What::Sent(sent) = &other.what else {
            return false;
        };
        match &self.what {
            What::ForgetAddress(addr) => sent.recipients_include(addr),
            What::ForgetSender(owner) => sent.owner == *owner,
            What::Sent(_) => false,
        }
    }

    pub fn to_json(&self) -> String {
        // Strings and numbers only: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(text: &[u8]) -> Result<Shared, String> {
        serde_json::from_slice(text).map_err(|e| format!("not a shared history record: {e}"))
    }
}

impl History {
    /// Applies records from other gateways in one transaction, and
    /// remembers `last` (the store's position of the last of them, see
    /// [`shared_position`](Self::shared_position)) with them, so that a
    /// gateway started again goes on from there and applies nothing twice.
    pub fn apply_shared(&self, records: &[Shared], last: Option<&str>) -> Result<Applied, String> {
        let check = self.hash_check();
        let conn = self
            .conn
            .lock()
            .map_err(|_| "the index's lock was poisoned".to_string())?;
        let forgets = records.iter().any(Shared::is_forget);
        let run = || -> rusqlite::Result<Applied> {
            let mut applied = Applied::default();
            if forgets {
                // As `forget` does: overwritten, not only unlinked.
                conn.pragma_update(None, "secure_delete", true)?;
            }
            let tx = rusqlite::Transaction::new_unchecked(&conn, TransactionBehavior::Immediate)?;
            for record in records {
                if record.check != check {
                    applied.refused += 1;
                    continue;
                }
                match &record.what {
                    What::Sent(sent) if write(&tx, sent)? => applied.learned += 1,
                    What::Sent(_) => applied.known += 1,
                    What::ForgetAddress(addr) => {
                        forget_rows(&tx, None, addr)?;
                        applied.forgotten += 1;
                    }
                    What::ForgetSender(owner) => {
                        forget_owner_rows(&tx, owner)?;
                        applied.forgotten += 1;
                    }
                }
            }
            if let Some(last) = last {
                tx.execute(
                    "INSERT OR REPLACE INTO meta (name, value) VALUES ('shared_position', ?1)",
                    params![last],
                )?;
            }
            tx.commit()?;
            if applied.forgotten > 0 {
                conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            }
            Ok(applied)
        };
        run().map_err(|e| e.to_string())
    }

    /// Where in the shared store this index has applied records up to, as
    /// the last [`apply_shared`](Self::apply_shared) left it.
    pub fn shared_position(&self) -> Result<Option<String>, String> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| "the index's lock was poisoned".to_string())?;
        conn.query_row(
            "SELECT value FROM meta WHERE name = 'shared_position'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(dir: &std::path::Path, name: &str, key: Option<[u8; 16]>) -> History {
        History::create(&dir.join(name))
            .unwrap()
            .with_hash_key(key)
            .unwrap()
    }

    fn sent(history: &History, sender: &str, to: &str) -> Shared {
        let message = crate::testing::eml(&format!(
            "From: {sender}\nTo: Jane Smith <{to}>\nMessage-ID: <1@x>\n\nx\n"
        ));
        let view = history.for_sender(sender);
        let record = view.record(&message, String::new, std::time::SystemTime::now());
        Shared::sent(history, &record)
    }

    #[test]
    fn a_record_read_back_applies_once_and_keeps_the_position() {
        let dir = tempfile::tempdir().unwrap();
        let (one, two) = (index(dir.path(), "1", None), index(dir.path(), "2", None));
        let record = sent(&one, "alice@example.org", "jane@agency.example");
        let read = Shared::from_json(record.to_json().as_bytes()).unwrap();
        assert_eq!(read, record);
        let twice = [read.clone(), read];
        let applied = two.apply_shared(&twice, Some("5-0")).unwrap();
        assert_eq!((applied.learned, applied.known), (1, 1));
        let jane = two
            .for_sender("alice@example.org")
            .known("jane@agency.example")
            .unwrap();
        assert_eq!((jane.count, jane.name.as_deref()), (1, Some("Jane Smith")));
        assert_eq!(two.shared_position().unwrap().as_deref(), Some("5-0"));
        assert!(Shared::from_json(b"{\"check\":\"\"}").is_err());
    }

    #[test]
    fn records_of_another_kind_of_index_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let hashed = index(dir.path(), "h", Some(*b"0123456789abcdef"));
        let other_key = index(dir.path(), "k", Some(*b"fedcba9876543210"));
        let clear = index(dir.path(), "c", None);
        let record = sent(&hashed, "alice@example.org", "jane@agency.example");
        for history in [&other_key, &clear] {
            let applied = history
                .apply_shared(std::slice::from_ref(&record), None)
                .unwrap();
            assert_eq!((applied.learned, applied.refused), (0, 1));
        }
        let json = record.to_json();
        assert!(!json.contains('@') && !json.contains("alice"), "{json}");
    }

    #[test]
    fn a_forget_record_erases_what_it_names() {
        let dir = tempfile::tempdir().unwrap();
        let history = index(dir.path(), "h", Some(*b"0123456789abcdef"));
        let record = sent(&history, "alice@example.org", "jane@agency.example");
        record.learn(&history).unwrap();
        let jane = Shared::forget_address(&history, "Jane@Agency.example");
        let alice = Shared::forget_sender(&history, "alice@example.org");
        let bob = Shared::forget_sender(&history, "bob@example.org");
        assert!(jane.erases(&record) && alice.erases(&record));
        assert!(!bob.erases(&record) && !jane.erases(&alice));
        assert_eq!(jane.learn(&history).unwrap().forgotten, 1);
        let view = history.for_sender("alice@example.org");
        assert_eq!(view.known("jane@agency.example"), None);
    }

    #[test]
    fn a_hashed_index_keeps_the_senders_key_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let history = index(dir.path(), "h", Some(*b"0123456789abcdef"));
        sent(&history, "login:alice", "jane@agency.example")
            .learn(&history)
            .unwrap();
        let owners: Vec<String> = history
            .conn
            .lock()
            .unwrap()
            .prepare("SELECT DISTINCT owner FROM address")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(owners.len(), 1);
        assert!(owners[0].starts_with("h:"), "{owners:?}");
        assert!(history.forget_sender("login:alice").unwrap());
    }
}
