//! The index itself: an SQLite file, opened by the rules for reading and
//! by `maillint learn` and `maillint sendmail` for learning.

use super::{Known, Recall, address_key, name_key};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::path::Path;
use std::sync::Mutex;

/// Messages learned per transaction (see the module documentation in
/// mod.rs).
pub(super) const BATCH: usize = 2_000;

/// The index's layout, kept in SQLite's `user_version`: 1 had no dates and
/// no sources (and left `user_version` at 0); 2 added both.
const VERSION: i64 = 2;

/// The columns version 2 added to version 1's tables (its new table is
/// in [`SCHEMA`], created where missing).
const UPGRADE_FROM_1: &str = "
ALTER TABLE address ADD COLUMN first INTEGER;
ALTER TABLE address ADD COLUMN last INTEGER;
";

/// `address.first` and `last`: the dates (Unix seconds) of the first and
/// the last message to the address. `source`: how far each file was read
/// (see `learn`).
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS learned (key TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS address (
    addr TEXT PRIMARY KEY, local TEXT NOT NULL, domain TEXT NOT NULL, count INTEGER NOT NULL,
    first INTEGER, last INTEGER
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS address_local ON address (local);
CREATE INDEX IF NOT EXISTS address_domain ON address (domain);
CREATE TABLE IF NOT EXISTS name (
    name TEXT NOT NULL, addr TEXT NOT NULL, shown TEXT NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (name, addr)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS name_addr ON name (addr);
CREATE TABLE IF NOT EXISTS pair (
    a TEXT NOT NULL, b TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (a, b)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS pair_b ON pair (b);
CREATE TABLE IF NOT EXISTS sender (
    addr TEXT NOT NULL, own TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (addr, own)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS source (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, modified INTEGER,
    offset INTEGER NOT NULL, line INTEGER NOT NULL, messages INTEGER NOT NULL, tail INTEGER
) WITHOUT ROWID;
";

#[derive(Debug, thiserror::Error)]
#[error("history index {path}: {problem}")]
pub struct HistoryError {
    path: String,
    problem: String,
}

/// An open index. Rules share it across threads; SQLite connections are
/// not `Sync`, and a lookup is a few microseconds, so one lock will do.
pub struct History {
    pub(super) conn: Mutex<Connection>,
}

impl History {
    /// Opens the index for learning, creating it (and its directory).
    pub fn create(path: &Path) -> Result<History, HistoryError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // An error here shows up as the open's error just below.
            _ = std::fs::create_dir_all(dir);
        }
        let conn = Connection::open(path).map_err(error_at(path))?;
        upgrade(&conn).map_err(|problem| HistoryError {
            path: path.display().to_string(),
            problem,
        })?;
        Ok(History {
            conn: Mutex::new(conn),
        })
    }

    /// Opens the index for the rules: `None` when there is none yet (the
    /// history rules are then silent).
    pub fn open_for_reading(path: &Path) -> Result<Option<History>, HistoryError> {
        if !path.is_file() {
            return Ok(None);
        }
        let err = error_at(path);
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(&err)?;
        // A file that is not an index fails here, not at the first lookup.
        conn.query_row("SELECT count(*) FROM address", [], |_| Ok(()))
            .map_err(&err)?;
        let version = user_version(&conn).map_err(&err)?;
        if version < VERSION {
            // Readers cannot add the new columns; a writer can, once.
            drop(conn);
            let upgraded = Connection::open(path)
                .map_err(|e| e.to_string())
                .and_then(|c| upgrade(&c));
            upgraded.map_err(|e| HistoryError {
                path: path.display().to_string(),
                problem: format!(
                    "made by an older maillint and cannot be upgraded here ({e}); \
                     run `maillint learn` once to upgrade it"
                ),
            })?;
            return History::open_for_reading(path);
        }
        if version > VERSION {
            return Err(HistoryError {
                path: path.display().to_string(),
                problem: "made by a newer maillint".into(),
            });
        }
        Ok(Some(History {
            conn: Mutex::new(conn),
        }))
    }

    /// Runs a lookup. A failed lookup (a damaged file) counts as knowing
    /// nothing: the history rules then stay silent rather than guess.
    fn query<T: Default>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> T {
        match self.conn.lock() {
            Ok(conn) => f(&conn).unwrap_or_default(),
            Err(_) => T::default(),
        }
    }

    /// Whether this display name was ever written with `addr`.
    pub fn has_name(&self, addr: &str, name: &str) -> bool {
        let (Some(name), addr) = (name_key(name), address_key(addr)) else {
            return false;
        };
        self.query(|c| {
            c.prepare_cached("SELECT 1 FROM name WHERE name = ?1 AND addr = ?2")?
                .query_row(params![name, addr], |_| Ok(()))
                .optional()
                .map(|r| r.is_some())
        })
    }

    /// Removes everything known about one address (it stays forgotten: the
    /// messages it came from are still marked learned). Returns whether it
    /// was known.
    pub fn forget(&self, addr: &str) -> Result<bool, rusqlite::Error> {
        let key = address_key(addr);
        let Ok(mut conn) = self.conn.lock() else {
            return Ok(false);
        };
        let tx = conn.transaction()?;
        let known = tx.execute("DELETE FROM address WHERE addr = ?1", params![key])? > 0;
        tx.execute("DELETE FROM name WHERE addr = ?1", params![key])?;
        tx.execute("DELETE FROM pair WHERE a = ?1 OR b = ?1", params![key])?;
        tx.execute("DELETE FROM sender WHERE addr = ?1", params![key])?;
        tx.commit()?;
        Ok(known)
    }
}

impl Recall for History {
    fn known(&self, addr: &str) -> Option<Known> {
        let key = address_key(addr);
        self.query(|c| {
            c.prepare_cached(
                "SELECT a.addr, a.count, (SELECT shown FROM name n WHERE n.addr = a.addr
                 ORDER BY count DESC LIMIT 1), a.last FROM address a WHERE a.addr = ?1",
            )?
            .query_row(params![key], known_row)
            .optional()
        })
    }

    fn domain_count(&self, domain: &str) -> u64 {
        let domain = domain.to_lowercase();
        self.query(|c| {
            c.prepare_cached("SELECT coalesce(sum(count), 0) FROM address WHERE domain = ?1")?
                .query_row(params![domain], |row| row.get::<_, i64>(0))
                .map(i64::unsigned_abs)
        })
    }

    fn named(&self, name: &str) -> Vec<Known> {
        let Some(key) = name_key(name) else {
            return Vec::new();
        };
        self.query(|c| {
            c.prepare_cached(
                "SELECT n.addr, n.count, n.shown, a.last FROM name n
                 LEFT JOIN address a ON a.addr = n.addr
                 WHERE n.name = ?1 ORDER BY n.count DESC LIMIT 5",
            )?
            .query_map(params![key], known_row)?
            .collect()
        })
    }

    fn with_local_part(&self, local: &str) -> Vec<Known> {
        let local = local.to_lowercase();
        self.query(|c| {
            c.prepare_cached(
                "SELECT a.addr, a.count, (SELECT shown FROM name n WHERE n.addr = a.addr
                 ORDER BY count DESC LIMIT 1), a.last
                 FROM address a WHERE a.local = ?1 ORDER BY a.count DESC LIMIT 5",
            )?
            .query_map(params![local], known_row)?
            .collect()
        })
    }

    fn together(&self, a: &str, b: &str) -> u64 {
        let (a, b) = ordered(address_key(a), address_key(b));
        self.query(|c| {
            c.prepare_cached("SELECT count FROM pair WHERE a = ?1 AND b = ?2")?
                .query_row(params![a, b], |row| row.get::<_, i64>(0))
                .optional()
                .map(|n| n.map_or(0, i64::unsigned_abs))
        })
    }

    fn companions(&self, addr: &str) -> Vec<String> {
        let key = address_key(addr);
        self.query(|c| {
            c.prepare_cached(
                "SELECT b FROM pair WHERE a = ?1 UNION SELECT a FROM pair WHERE b = ?1",
            )?
            .query_map(params![key], |row| row.get(0))?
            .collect()
        })
    }
}

fn known_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Known> {
    Ok(Known {
        addr: row.get(0)?,
        count: row.get::<_, i64>(1)?.unsigned_abs(),
        name: row.get(2)?,
        last: row.get(3)?,
    })
}

fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
}

/// Creates the tables, or brings an index of version 1 up to date (its
/// addresses then have no dates until they are written to again); an
/// index up to date is not written to (`sendmail` opens it for each
/// message it learns).
fn upgrade(conn: &Connection) -> Result<(), String> {
    let version = user_version(conn).map_err(|e| e.to_string())?;
    if version > VERSION {
        return Err("made by a newer maillint".into());
    }
    if version == VERSION {
        return conn
            .execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
            .map_err(|e| e.to_string());
    }
    let has_addresses = conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'address'",
            [],
            |_| Ok(()),
        )
        .optional()
        .map_err(|e| e.to_string())?
        .is_some();
    let upgrade = if has_addresses && version < 2 {
        UPGRADE_FROM_1
    } else {
        ""
    };
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         BEGIN; {upgrade} {SCHEMA} PRAGMA user_version = {VERSION}; COMMIT;"
    ))
    .map_err(|e| e.to_string())
}

pub(super) fn error_at(path: &Path) -> impl Fn(rusqlite::Error) -> HistoryError + '_ {
    move |source| HistoryError {
        path: path.display().to_string(),
        problem: source.to_string(),
    }
}

/// A pair's key: the two addresses in order, so (a, b) and (b, a) are one.
pub(super) fn ordered(a: String, b: String) -> (String, String) {
    if a <= b { (a, b) } else { (b, a) }
}
