//! The index itself: an SQLite file, opened by the rules for reading and
//! by `maillint learn`, `maillint sendmail` and the gateway for learning;
//! its layout and migrations are in schema.rs.

use super::{Known, Recall, address_key, is_hash, name_key, schema};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Messages learned per transaction (see the module documentation in
/// mod.rs).
pub(super) const BATCH: usize = 2_000;

#[derive(Debug, thiserror::Error)]
#[error("history index {path}: {problem}")]
pub struct HistoryError {
    path: String,
    problem: String,
}

impl HistoryError {
    pub fn new(path: &Path, problem: String) -> HistoryError {
        HistoryError {
            path: path.display().to_string(),
            problem,
        }
    }
}

/// An open index. Rules share it across threads; SQLite connections are
/// not `Sync`, and a lookup is a few microseconds, so one lock will do.
pub struct History {
    /// Shared by the views of each sender (see [`for_sender`](Self::for_sender)).
    pub(super) conn: Arc<Mutex<Connection>>,
    /// Whose history this view reads and learns: a sender's key (see
    /// [`sender_key`](super::sender_key)), or empty for the one user of a personal index.
    pub(super) owner: String,
    /// The file, when opened for learning: messages that found it busy
    /// wait beside it (see [`learn_or_keep`](super::learn_or_keep)).
    pub(super) path: Option<PathBuf>,
    /// Lookups that failed (a damaged file): the linter tells of them,
    /// as loudly as of an index it cannot open.
    failures: Arc<std::sync::atomic::AtomicU64>,
    /// What the last of them said.
    failure: Arc<Mutex<Option<String>>>,
    /// With a key, addresses, local parts, domains and names are kept as
    /// keyed hashes (see [`with_hash_key`](Self::with_hash_key)).
    pub(super) key: Option<[u8; 16]>,
}

impl History {
    /// Opens the index for learning, creating it (0600, and its directory
    /// 0700) or bringing an older layout up to date.
    pub fn create(path: &Path) -> Result<History, HistoryError> {
        History::create_waiting(path, schema::BUSY_TIMEOUT)
    }

    /// [`create`](Self::create), waiting at most `busy` for another
    /// process's write.
    pub(crate) fn create_waiting(
        path: &Path,
        busy: std::time::Duration,
    ) -> Result<History, HistoryError> {
        schema::open_for_writing(path, busy)
            .map(|conn| History {
                path: Some(path.to_path_buf()),
                ..History::new(conn)
            })
            .map_err(|problem| HistoryError {
                path: path.display().to_string(),
                problem,
            })
    }

    /// Opens the index for the rules: `None` when there is none yet (the
    /// history rules are then silent). An index of an older layout is an
    /// error until a writer brings it up to date: readers never write.
    pub fn open_for_reading(path: &Path) -> Result<Option<History>, HistoryError> {
        if !path.is_file() {
            return Ok(None);
        }
        schema::open_for_reading(path)
            .map(|conn| Some(History::new(conn)))
            .map_err(|problem| HistoryError {
                path: path.display().to_string(),
                problem,
            })
    }

    fn new(conn: Connection) -> History {
        History {
            conn: Arc::new(Mutex::new(conn)),
            owner: String::new(),
            path: None,
            failures: Arc::default(),
            failure: Arc::default(),
            key: None,
        }
    }

    /// The same index as one sender's history: lookups see only what this
    /// sender sent, and learning adds to it alone. `key` is as
    /// [`sender_key`](super::sender_key) makes it. For a gateway, where every sender is judged
    /// by their own mail; the view shares this one's connection.
    ///
    /// In a hashed index the sender's key is kept hashed too: a login or
    /// an envelope address is as private as a recipient's, and a record
    /// shared with other gateways (see shared.rs) then names no sender.
    pub fn for_sender(&self, key: &str) -> History {
        History {
            conn: Arc::clone(&self.conn),
            owner: self.stored_owner(key),
            path: self.path.clone(),
            failures: Arc::clone(&self.failures),
            failure: Arc::clone(&self.failure),
            key: self.key,
        }
    }

    /// The index with addresses and names kept only as keyed hashes
    /// (`key`, from `[history] hash_key_file`), or in clear (`None`). An
    /// index is one or the other for good: it records which (and a check of
    /// the key) with its first entries, and refuses to be read or learned
    /// the other way or with another key.
    pub fn with_hash_key(mut self, key: Option<[u8; 16]>) -> Result<History, String> {
        self.key = key;
        self.owner = self.stored_owner(&self.owner);
        let check = key.map(|_| self.stored(HASH_CHECK).into_owned());
        let Ok(conn) = self.conn.lock() else {
            return Err("the index's lock was poisoned".into());
        };
        let recorded: Option<String> = conn
            .query_row(
                "SELECT value FROM meta WHERE name = 'hash_check'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| e.to_string())?;
        let empty = conn
            .query_row("SELECT 1 FROM address LIMIT 1", [], |_| Ok(()))
            .optional()
            .map_err(|e| e.to_string())?
            .is_none();
        match (check, recorded) {
            (Some(check), Some(recorded)) if check != recorded => {
                return Err(
                    "it keeps addresses hashed with another key than hash_key_file's".into(),
                );
            }
            (Some(_), None) if !empty => {
                return Err(
                    "it keeps addresses in clear, not hashed as hash_key_file asks: \
                     learn again into a new index"
                        .into(),
                );
            }
            (Some(check), None) if self.path.is_some() => {
                conn.execute(
                    "INSERT INTO meta (name, value) VALUES ('hash_check', ?1)",
                    params![check],
                )
                .map_err(|e| e.to_string())?;
            }
            (None, Some(_)) => {
                return Err(
                    "it keeps addresses as keyed hashes: set [history] hash_key_file".into(),
                );
            }
            _ => {}
        }
        drop(conn);
        Ok(self)
    }

    /// A key, local part, domain or name key as the index keeps it: its
    /// keyed hash (`h:` and 32 hexadecimal digits) when the index is
    /// hashed, else itself. A hash stays as it is, so what a lookup
    /// returned can be looked up again.
    pub fn stored<'a>(&self, plain: &'a str) -> std::borrow::Cow<'a, str> {
        use siphasher::sip128::Hasher128;
        use std::hash::Hasher;
        match &self.key {
            Some(key) if !is_hash(plain) => {
                let mut hasher = siphasher::sip128::SipHasher24::new_with_key(key);
                hasher.write(plain.as_bytes());
                format!("h:{:032x}", hasher.finish128().as_u128()).into()
            }
            _ => plain.into(),
        }
    }

    /// A name token (see [`name_tokens`](super::name_tokens)) as a hashed
    /// index keeps it: the first 64 bits of its keyed hash, which is ample
    /// to tell a few dozen tokens apart and keeps the name table small (a
    /// name has a dozen tokens).
    pub(super) fn token_hash(&self, token: &str) -> String {
        let hash = self.stored(token);
        hash.get(2..18).unwrap_or(&hash).to_string()
    }

    /// A sender's key as the index keeps it: hashed like an address in a
    /// hashed index; the personal index's empty key stays empty.
    pub(super) fn stored_owner(&self, key: &str) -> String {
        if key.is_empty() {
            String::new()
        } else {
            self.stored(key).into_owned()
        }
    }

    /// What tells this index's way of keeping addresses: empty in clear,
    /// else [`HASH_CHECK`] hashed with its key (which the index records,
    /// see [`with_hash_key`](Self::with_hash_key)). Gateways that share
    /// their history apply only records made the same way.
    pub(super) fn hash_check(&self) -> String {
        self.key
            .map(|_| self.stored(HASH_CHECK).into_owned())
            .unwrap_or_default()
    }

    /// Whether `stored`, as a lookup returned it, is `addr`.
    pub fn is_address(&self, stored: &str, addr: &str) -> bool {
        self.stored(&address_key(addr)) == stored
    }

    /// Forgets every entry last written to more than `days` days before
    /// `now` (Unix seconds), with its names and pairs, for every sender;
    /// entries learned without a date are kept. Returns how many went.
    pub fn expire(&self, days: u32, now: i64) -> Result<u64, rusqlite::Error> {
        let cutoff = now.saturating_sub(i64::from(days) * 86_400);
        let Ok(conn) = self.conn.lock() else {
            return Ok(0);
        };
        conn.pragma_update(None, "secure_delete", true)?;
        let tx = conn.unchecked_transaction()?;
        let expired: Vec<(String, String)> = tx
            .prepare_cached("SELECT owner, addr FROM address WHERE last < ?1")?
            .query_map(params![cutoff], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (owner, addr) in &expired {
            forget_rows(&tx, Some(owner), addr)?;
        }
        tx.commit()?;
        if !expired.is_empty() {
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        }
        Ok(expired.len() as u64)
    }

    /// Forgets one sender's whole history (someone who left). Returns
    /// whether there was any.
    pub fn forget_sender(&self, key: &str) -> Result<bool, rusqlite::Error> {
        let key = self.stored_owner(key);
        let Ok(conn) = self.conn.lock() else {
            return Ok(false);
        };
        conn.pragma_update(None, "secure_delete", true)?;
        let tx = conn.unchecked_transaction()?;
        let known = forget_owner_rows(&tx, &key)?;
        tx.commit()?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(known)
    }

    /// Runs a lookup. A failed lookup (a damaged file) answers as if
    /// nothing were known, so the rules go on, and is counted for
    /// [`failures`](Self::failures): it must not pass unnoticed.
    fn query<T: Default>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> T {
        let result = match self.conn.lock() {
            Ok(conn) => f(&conn).map_err(|e| e.to_string()),
            Err(_) => Err("a lookup panicked".to_string()),
        };
        result.unwrap_or_else(|problem| {
            self.failures
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if let Ok(mut last) = self.failure.lock() {
                *last = Some(problem);
            }
            T::default()
        })
    }

    /// How many lookups have failed since the index was opened, and what
    /// the last failure said.
    pub fn failures(&self) -> (u64, Option<String>) {
        let count = self.failures.load(std::sync::atomic::Ordering::Relaxed);
        let last = self.failure.lock().ok().and_then(|l| l.clone());
        (count, last)
    }

    // Lookups name their index (`INDEXED BY`): without statistics SQLite
    // takes a primary key's `owner` prefix as good as an index on
    // `(owner, addr)` and reads every entry of the sender (measured: the
    // history rules' cost per message went from 48 to 375 µs).

    /// How often `addr` was written to, and under which name most often.
    pub fn known(&self, addr: &str) -> Option<Known> {
        let plain = address_key(addr);
        let key = self.stored(&plain);
        self.query(|c| {
            c.prepare_cached(
                "SELECT a.addr, a.count, (SELECT NULLIF(shown, '') FROM name n INDEXED BY name_addr WHERE n.owner = a.owner
                 AND n.addr = a.addr ORDER BY count DESC LIMIT 1), a.last
                 FROM address a WHERE a.owner = ?1 AND a.addr = ?2",
            )?
            .query_row(params![self.owner, key], known_row)
            .optional()
        })
        // The caller's own address, not its hash.
        .map(|known| Known {
            addr: plain.clone(),
            ..known
        })
    }

    /// Messages sent to any address at `domain`.
    pub fn domain_count(&self, domain: &str) -> u64 {
        let domain = domain.to_lowercase();
        let domain = self.stored(&domain);
        self.query(|c| {
            c.prepare_cached(
                "SELECT coalesce(sum(count), 0) FROM address INDEXED BY address_domain
                 WHERE owner = ?1 AND domain = ?2",
            )?
            .query_row(params![self.owner, domain], |row| row.get::<_, i64>(0))
            .map(i64::unsigned_abs)
        })
    }

    /// The addresses written to under this display name (see [`name_key`]),
    /// most often first.
    pub fn named(&self, name: &str) -> Vec<Known> {
        let Some(key) = name_key(name) else {
            return Vec::new();
        };
        let key = self.stored(&key);
        self.query(|c| {
            c.prepare_cached(
                "SELECT n.addr, n.count, NULLIF(n.shown, ''), a.last FROM name n
                 LEFT JOIN address a ON a.owner = n.owner AND a.addr = n.addr
                 WHERE n.owner = ?1 AND n.name = ?2 ORDER BY n.count DESC LIMIT 5",
            )?
            .query_map(params![self.owner, key], known_row)?
            .collect()
        })
    }

    /// The addresses with this local part (at other domains), most often
    /// first.
    pub fn with_local_part(&self, local: &str) -> Vec<Known> {
        let local = local.to_lowercase();
        let local = self.stored(&local);
        self.query(|c| {
            c.prepare_cached(
                "SELECT a.addr, a.count, (SELECT NULLIF(shown, '') FROM name n INDEXED BY name_addr WHERE n.owner = a.owner
                 AND n.addr = a.addr ORDER BY count DESC LIMIT 1), a.last
                 FROM address a INDEXED BY address_local WHERE a.owner = ?1 AND a.local = ?2
                 ORDER BY a.count DESC LIMIT 5",
            )?
            .query_map(params![self.owner, local], known_row)?
            .collect()
        })
    }

    /// In a hashed index: the keyed hashes of the name tokens (see
    /// [`name_tokens`](super::name_tokens)) of the name `addr` was most
    /// often written with; empty in clear.
    pub fn name_hashes(&self, addr: &str) -> Vec<String> {
        if self.key.is_none() {
            return Vec::new();
        }
        let key = self.stored(&address_key(addr)).into_owned();
        let words: Option<String> = self.query(|c| {
            c.prepare_cached(
                "SELECT words FROM name INDEXED BY name_addr WHERE owner = ?1 AND addr = ?2
                 AND words IS NOT NULL ORDER BY count DESC LIMIT 1",
            )?
            .query_row(params![self.owner, key], |row| row.get(0))
            .optional()
        });
        words
            .map(|w| w.split(' ').map(str::to_string).collect())
            .unwrap_or_default()
    }

    /// Whether this display name was ever written with `addr`.
    pub fn has_name(&self, addr: &str, name: &str) -> bool {
        let (Some(name), addr) = (name_key(name), address_key(addr)) else {
            return false;
        };
        let (name, addr) = (self.stored(&name), self.stored(&addr));
        self.query(|c| {
            c.prepare_cached("SELECT 1 FROM name WHERE owner = ?1 AND name = ?2 AND addr = ?3")?
                .query_row(params![self.owner, name, addr], |_| Ok(()))
                .optional()
                .map(|r| r.is_some())
        })
    }

    /// Messages that went to both addresses.
    pub fn together(&self, a: &str, b: &str) -> u64 {
        let (a, b) = ordered(
            self.stored(&address_key(a)).into_owned(),
            self.stored(&address_key(b)).into_owned(),
        );
        self.query(|c| {
            c.prepare_cached("SELECT count FROM pair WHERE owner = ?1 AND a = ?2 AND b = ?3")?
                .query_row(params![self.owner, a, b], |row| row.get::<_, i64>(0))
                .optional()
                .map(|n| n.map_or(0, i64::unsigned_abs))
        })
    }

    /// The addresses ever written to together with `addr`.
    pub fn companions(&self, addr: &str) -> Vec<String> {
        let key = address_key(addr);
        let key = self.stored(&key);
        self.query(|c| {
            c.prepare_cached(
                "SELECT b FROM pair WHERE owner = ?1 AND a = ?2
                 UNION SELECT a FROM pair WHERE owner = ?1 AND b = ?2",
            )?
            .query_map(params![self.owner, key], |row| row.get(0))?
            .collect()
        })
    }

    /// Removes everything known about one address, from every sender's
    /// history (it stays forgotten: the messages it came from are still
    /// marked learned). Returns whether it was known.
    pub fn forget(&self, addr: &str) -> Result<bool, rusqlite::Error> {
        let key = address_key(addr);
        let key = self.stored(&key).into_owned();
        let Ok(mut conn) = self.conn.lock() else {
            return Ok(false);
        };
        // Overwritten, not only unlinked: without `secure_delete` the rows
        // stay readable in the file's free pages, and without the
        // checkpoint in the write-ahead log.
        conn.pragma_update(None, "secure_delete", true)?;
        let tx = conn.transaction()?;
        let known = forget_rows(&tx, None, &key)?;
        tx.commit()?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(known)
    }
}

/// Deletes an address with its names and pairs, in one sender's history
/// or (`None`) in every sender's that has it. Returns whether it was there.
pub(super) fn forget_rows(
    tx: &rusqlite::Transaction<'_>,
    owner: Option<&str>,
    addr: &str,
) -> rusqlite::Result<bool> {
    let owners: Vec<String> = match owner {
        Some(owner) => vec![owner.to_string()],
        // One pass over the addresses; each sender's rows are then found by
        // their indexes.
        None => tx
            .prepare_cached("SELECT owner FROM address WHERE addr = ?1")?
            .query_map(params![addr], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?,
    };
    let mut known = false;
    for owner in &owners {
        known |= tx
            .prepare_cached("DELETE FROM address WHERE owner = ?1 AND addr = ?2")?
            .execute(params![owner, addr])?
            > 0;
        for delete in [
            "DELETE FROM name INDEXED BY name_addr WHERE owner = ?1 AND addr = ?2",
            "DELETE FROM pair WHERE owner = ?1 AND a = ?2",
            "DELETE FROM pair INDEXED BY pair_b WHERE owner = ?1 AND b = ?2",
        ] {
            tx.prepare_cached(delete)?.execute(params![owner, addr])?;
        }
    }
    Ok(known)
}

/// Deletes one sender's whole history. Returns whether there was any.
pub(super) fn forget_owner_rows(
    tx: &rusqlite::Transaction<'_>,
    owner: &str,
) -> rusqlite::Result<bool> {
    let known = tx.execute("DELETE FROM address WHERE owner = ?1", params![owner])? > 0;
    tx.execute("DELETE FROM name WHERE owner = ?1", params![owner])?;
    tx.execute("DELETE FROM pair WHERE owner = ?1", params![owner])?;
    Ok(known)
}

/// What a hashed index keeps under `meta.hash_check`: this, hashed.
const HASH_CHECK: &str = "maillint history hash check";

fn known_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Known> {
    Ok(Known {
        addr: row.get(0)?,
        count: row.get::<_, i64>(1)?.unsigned_abs(),
        name: row.get(2)?,
        last: row.get(3)?,
    })
}

/// A pair's key: the two addresses in order, so (a, b) and (b, a) are one.
pub(super) fn ordered(a: String, b: String) -> (String, String) {
    if a <= b { (a, b) } else { (b, a) }
}

impl Recall for History {
    fn known(&self, addr: &str) -> Option<Known> {
        History::known(self, addr)
    }

    fn domain_count(&self, domain: &str) -> u64 {
        History::domain_count(self, domain)
    }

    fn named(&self, name: &str) -> Vec<Known> {
        History::named(self, name)
    }

    fn with_local_part(&self, local: &str) -> Vec<Known> {
        History::with_local_part(self, local)
    }

    fn together(&self, a: &str, b: &str) -> u64 {
        History::together(self, a, b)
    }

    fn companions(&self, addr: &str) -> Vec<String> {
        History::companions(self, addr)
    }

    fn is_address(&self, stored: &str, addr: &str) -> bool {
        History::is_address(self, stored, addr)
    }

    fn name_hashes(&self, addr: &str) -> Vec<String> {
        History::name_hashes(self, addr)
    }

    fn hashed(&self, token: &str) -> String {
        self.token_hash(token)
    }
}
