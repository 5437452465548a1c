//! The index's file: opening it, its layout and the ladder of migrations
//! from each older layout, and the permissions it is kept with.

use crate::numbers::fnv1a;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use std::path::Path;
use std::time::Duration;

/// How long a connection waits for another process's write (a `learn`
/// batch, a `sendmail` learning one message) before giving up with "database
/// is locked". A batch holds the lock for milliseconds (messages are parsed
/// outside it), so this is ample.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The layout, kept in SQLite's `user_version`: what [`MIGRATIONS`] brings
/// an index to.
pub(super) const VERSION: i64 = 5;

/// Step `n` brings an index of layout `n` to `n + 1`, inside the
/// migrating transaction. Layout 0 is an empty file, or an index of the
/// first layout (which left `user_version` at 0: its tables are then kept,
/// `IF NOT EXISTS`).
const MIGRATIONS: [fn(&Transaction<'_>) -> rusqlite::Result<()>; VERSION as usize] = [
    to_1_tables,
    to_2_dates_and_sources,
    to_3_private_keys,
    to_4_senders,
    to_5_name_words,
];

/// Layout 1: who was written to, how often, under which names, together.
fn to_1_tables(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS learned (key TEXT PRIMARY KEY) WITHOUT ROWID;
         CREATE TABLE IF NOT EXISTS address (
             addr TEXT PRIMARY KEY, local TEXT NOT NULL, domain TEXT NOT NULL,
             count INTEGER NOT NULL
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
         CREATE INDEX IF NOT EXISTS pair_b ON pair (b);",
    )
}

/// Layout 2: `address.first` and `last`, the dates (Unix seconds) of the
/// first and the last message to the address (unknown for what layout 1
/// learned), and `source`: how far each file was read (see `learn`).
fn to_2_dates_and_sources(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "ALTER TABLE address ADD COLUMN first INTEGER;
         ALTER TABLE address ADD COLUMN last INTEGER;
         CREATE TABLE IF NOT EXISTS source (
             path TEXT PRIMARY KEY, size INTEGER NOT NULL, modified INTEGER,
             offset INTEGER NOT NULL, line INTEGER NOT NULL, messages INTEGER NOT NULL,
             tail INTEGER
         ) WITHOUT ROWID;",
    )
}

/// Layout 3 keeps only what the rules need: the messages learned are known
/// by a hash of their Message-ID, not the Message-ID itself (which names
/// the sender's host and often the correspondent), and the `sender` table,
/// which nothing read, is gone.
fn to_3_private_keys(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch("DROP TABLE IF EXISTS sender")?;
    let raw: Vec<String> = tx
        .prepare("SELECT key FROM learned WHERE key LIKE 'id:%'")?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut delete = tx.prepare("DELETE FROM learned WHERE key = ?1")?;
    let mut insert = tx.prepare("INSERT OR IGNORE INTO learned (key) VALUES (?1)")?;
    for key in raw {
        delete.execute([&key])?;
        insert.execute([message_id_key(&key["id:".len()..])])?;
    }
    Ok(())
}

/// Layout 4 keeps each sender's history apart (`owner`: the sender's key,
/// see [`sender_key`](super::sender_key); empty for the one user of a
/// personal index, which is what layouts 1 to 3 learned), and `meta`:
/// whether, and under which key, addresses and names are kept as keyed
/// hashes (see [`History::with_hash_key`](super::History::with_hash_key)).
fn to_4_senders(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "CREATE TABLE address4 (
             owner TEXT NOT NULL, addr TEXT NOT NULL, local TEXT NOT NULL, domain TEXT NOT NULL,
             count INTEGER NOT NULL, first INTEGER, last INTEGER, PRIMARY KEY (owner, addr)
         ) WITHOUT ROWID;
         INSERT INTO address4 SELECT '', addr, local, domain, count, first, last FROM address;
         DROP TABLE address;
         ALTER TABLE address4 RENAME TO address;
         CREATE INDEX address_local ON address (owner, local);
         CREATE INDEX address_domain ON address (owner, domain);
         CREATE INDEX address_last ON address (last);
         CREATE TABLE name4 (
             owner TEXT NOT NULL, name TEXT NOT NULL, addr TEXT NOT NULL, shown TEXT NOT NULL,
             count INTEGER NOT NULL, PRIMARY KEY (owner, name, addr)
         ) WITHOUT ROWID;
         INSERT INTO name4 SELECT '', name, addr, shown, count FROM name;
         DROP TABLE name;
         ALTER TABLE name4 RENAME TO name;
         CREATE INDEX name_addr ON name (owner, addr);
         CREATE TABLE pair4 (
             owner TEXT NOT NULL, a TEXT NOT NULL, b TEXT NOT NULL, count INTEGER NOT NULL,
             PRIMARY KEY (owner, a, b)
         ) WITHOUT ROWID;
         INSERT INTO pair4 SELECT '', a, b, count FROM pair;
         DROP TABLE pair;
         ALTER TABLE pair4 RENAME TO pair;
         CREATE INDEX pair_b ON pair (owner, b);
         CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;",
    )
}

/// Layout 5: `name.words`, in a hashed index the keyed hashes of the
/// name's tokens (see [`name_tokens`](super::super::name_tokens)), space
/// separated, so that salutation-mismatch can compare a greeting with the
/// name without the index keeping it; NULL in clear (`shown` is the name)
/// and for what layout 4 learned.
fn to_5_name_words(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch("ALTER TABLE name ADD COLUMN words TEXT")
}

/// How the index knows a message learned by its Message-ID: a hash, so
/// that the file holds no Message-ID.
pub(super) fn message_id_key(id: &str) -> String {
    // Two FNV-1a hashes of differently prefixed input: 128 bits, so that
    // two of a million messages share a key with odds of about 1 in 10^26.
    let a = fnv1a(id.as_bytes());
    let b = fnv1a(format!("\u{1}{id}").as_bytes());
    format!("mid:{a:016x}{b:016x}")
}

fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
}

/// Opens the index for learning, creating it (0600, in a directory
/// created 0700) and bringing an older layout up to date.
pub(super) fn open_for_writing(path: &Path, busy: Duration) -> Result<Connection, String> {
    private_file(path)?;
    let conn = Connection::open(path).map_err(|e| e.to_string())?;
    conn.busy_timeout(busy).map_err(|e| e.to_string())?;
    // WAL: readers (every `check`) go on while one writer learns.
    wal(&conn, busy)?;
    conn.execute_batch("PRAGMA synchronous = NORMAL;")
        .map_err(|e| e.to_string())?;
    migrate(&conn)?;
    Ok(conn)
}

/// Puts the index in WAL mode. Changing the mode needs the file to
/// itself, and SQLite answers "database is locked" at once, without
/// waiting as `busy_timeout` asks, while another process has it open: so
/// this waits here, up to `busy`, as a write would.
fn wal(conn: &Connection, busy: Duration) -> Result<(), String> {
    let deadline = std::time::Instant::now() + busy;
    loop {
        let mode = conn.query_row("PRAGMA journal_mode = WAL", [], |row| {
            row.get::<_, String>(0)
        });
        match mode {
            Ok(_) => return Ok(()),
            Err(e) if is_busy(&e) && std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Whether an error is another process holding the index's write lock.
pub(super) fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Opens the index for the rules. A reader never writes: an index of an
/// older layout is refused (until `maillint learn` or a `sendmail` that
/// learns brings it up to date), never migrated here.
pub(super) fn open_for_reading(path: &Path) -> Result<Connection, String> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| e.to_string())?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| e.to_string())?;
    // A file that is not an index fails here, not at the first lookup.
    conn.query_row("SELECT count(*) FROM address", [], |_| Ok(()))
        .map_err(|e| e.to_string())?;
    let version = user_version(&conn).map_err(|e| e.to_string())?;
    if version > VERSION {
        return Err("made by a newer maillint".into());
    }
    if version < VERSION {
        return Err(
            "made by an older maillint; run `maillint learn` once to bring it up to date".into(),
        );
    }
    Ok(conn)
}

/// Brings the index to [`VERSION`]. The version is read again inside an
/// IMMEDIATE transaction (which takes the write lock at once), so of
/// several processes opening an old index together one migrates and the
/// others, waiting on the lock, find it done.
fn migrate(conn: &Connection) -> Result<(), String> {
    let err = |e: rusqlite::Error| e.to_string();
    // Up to date, the common case: no write lock taken.
    let version = user_version(conn).map_err(err)?;
    if version == VERSION {
        return Ok(());
    }
    if version > VERSION {
        return Err("made by a newer maillint".into());
    }
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate).map_err(err)?;
    let version = user_version(&tx).map_err(err)?;
    if version > VERSION {
        return Err("made by a newer maillint".into());
    }
    let from = usize::try_from(version).unwrap_or(0);
    for step in MIGRATIONS.iter().skip(from) {
        step(&tx).map_err(err)?;
    }
    tx.pragma_update(None, "user_version", VERSION)
        .map_err(err)?;
    tx.commit().map_err(err)
}

/// Creates the index file 0600 (and its directory 0700) when missing, and
/// takes group and other access from one that has it: it lists everyone
/// the user writes to. SQLite gives its `-wal` and `-shm` files the
/// database file's permissions.
fn private_file(path: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.exists()
        {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                // An index made before it was kept private, with its
                // journal files.
                let mut files = vec![path.to_path_buf()];
                for suffix in ["-wal", "-shm"] {
                    let mut name = path.as_os_str().to_owned();
                    name.push(suffix);
                    files.push(name.into());
                }
                for file in files {
                    let Ok(meta) = std::fs::metadata(&file) else {
                        continue;
                    };
                    let mode = meta.permissions().mode();
                    if mode & 0o077 != 0 {
                        std::fs::set_permissions(
                            &file,
                            std::fs::Permissions::from_mode(mode & 0o700),
                        )
                        .map_err(|e| format!("cannot make {} private: {e}", file.display()))?;
                    }
                }
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    #[cfg(not(unix))]
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    Ok(())
}

/// Whether an index's tables exist: for the tests of older layouts.
#[cfg(test)]
pub(super) fn has_table(conn: &Connection, table: &str) -> bool {
    conn.query_row(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [table],
        |_| Ok(()),
    )
    .is_ok()
}

#[cfg(test)]
mod tests {
    use super::super::{History, learn_message};
    use super::{Connection, MIGRATIONS, Transaction, TransactionBehavior, user_version};

    #[test]
    fn an_index_of_layout_4_is_brought_up_to_date_keeping_its_names() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        {
            let conn = Connection::open(&path).unwrap();
            let tx = Transaction::new_unchecked(&conn, TransactionBehavior::Immediate).unwrap();
            for step in &MIGRATIONS[..4] {
                step(&tx).unwrap();
            }
            tx.pragma_update(None, "user_version", 4).unwrap();
            tx.execute_batch(
                "INSERT INTO address VALUES ('', 'jane@agency.example', 'jane', 'agency.example', 3, NULL, NULL);
                 INSERT INTO name VALUES ('', 'jane smith', 'jane@agency.example', 'Jane Smith', 3);",
            )
            .unwrap();
            tx.commit().unwrap();
        }
        // Readers never migrate: it waits for a writer.
        assert!(History::open_for_reading(&path).is_err());
        let history = History::create(&path).unwrap();
        let jane = history.known("jane@agency.example").unwrap();
        assert_eq!((jane.count, jane.name.as_deref()), (3, Some("Jane Smith")));
        learn_message(&history, &crate::testing::eml(SENT), SENT.as_bytes(), None).unwrap();
        drop(history);
        let conn = Connection::open(&path).unwrap();
        assert_eq!(user_version(&conn).unwrap(), super::VERSION);
        // What layout 4 learned has no name words; a clear index keeps none.
        let words: Vec<Option<String>> = conn
            .prepare("SELECT words FROM name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(words, vec![None]);
        assert!(History::open_for_reading(&path).unwrap().is_some());
    }

    const SENT: &str = "From: me@example.org
To: Jane Smith <jane@agency.example>, bob@example.org
Message-ID: <1@example.org>
Subject: s

x
";

    #[cfg(unix)]
    #[test]
    fn the_index_is_private_to_its_user() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("maillint/history.sqlite");
        let history = History::create(&path).unwrap();
        learn_message(&history, &crate::testing::eml(SENT), SENT.as_bytes(), None).unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.path().join("maillint")), 0o700);
        for file in ["history.sqlite", "history.sqlite-wal", "history.sqlite-shm"] {
            assert_eq!(
                mode(&dir.path().join("maillint").join(file)),
                0o600,
                "{file}"
            );
        }
        drop(history);
        // One made readable by all before is made private by the next writer.
        let old = dir.path().join("maillint/history.sqlite");
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(History::create(&old).unwrap());
        assert_eq!(mode(&old), 0o600);
    }

    #[test]
    fn a_forgotten_address_leaves_no_bytes_in_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let history = History::create(&path).unwrap();
        learn_message(&history, &crate::testing::eml(SENT), SENT.as_bytes(), None).unwrap();
        assert!(history.forget("jane@agency.example").unwrap());
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend(std::fs::read(dir.path().join("h.sqlite-wal")).unwrap_or_default());
        let found = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
        assert!(!found(b"jane@agency.example"));
        assert!(!found(b"Jane Smith"));
        assert!(found(b"bob@example.org"), "the rest is kept");
    }
}
