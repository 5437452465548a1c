//! The held-mail store: one SQLite file that the milter writes held
//! messages to and `maillint web` reads and decides them from, with the
//! audit log beside them.

use super::backend::{HeldStore, Pending};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

/// Where a held message is in its life.
pub mod state {
    /// In the MTA's hold queue, waiting for a decision.
    pub const HELD: &str = "held";
    /// Claimed by one release or discard, whose MTA commands are running.
    pub const BUSY: &str = "busy";
    pub const RELEASED: &str = "released";
    pub const DISCARDED: &str = "discarded";
    pub const EXPIRED: &str = "expired";
}

/// A message as it is held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Held {
    pub id: i64,
    /// The gateway whose MTA holds it, among several sharing held mail
    /// (`[hold] gateway`); empty in a gateway's own store.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub gateway: String,
    pub queue_id: String,
    pub sender: String,
    pub recipients: Vec<String>,
    pub subject: String,
    /// The findings, one line each (`warning [rule]: what`).
    pub findings: Vec<String>,
    pub rules: Vec<String>,
    /// Who may release it: `sender`, `admin` or `nobody`.
    pub releaser: String,
    pub held_at: u64,
    pub expires_at: u64,
    pub state: String,
    pub decided_by: Option<String>,
    pub reason: Option<String>,
}

/// A message as the milter holds it.
#[derive(Debug, Clone)]
pub struct Hold<'a> {
    pub queue_id: &'a str,
    pub sender: &'a str,
    pub recipients: &'a [String],
    pub subject: &'a str,
    pub findings: &'a [String],
    pub rules: &'a [String],
    /// The worst finding's severity; none for a message stopped by the
    /// storm counters, which only an administrator releases.
    pub worst: Option<crate::finding::Severity>,
}

/// A message to record: as held, with what policy says of it.
#[derive(Debug, Clone)]
pub struct NewHeld<'a> {
    pub message: &'a Hold<'a>,
    pub releaser: &'a str,
    pub held_at: u64,
    pub expires_at: u64,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    /// Seconds since the epoch.
    pub at: u64,
    /// `hold`, `notify`, `notify-failed`, `release`, `discard`, `expire`,
    /// `release-failed`, `discard-failed`.
    pub event: String,
    pub held_id: Option<i64>,
    pub queue_id: Option<String>,
    /// `sender`, `admin:NAME`, `maillint`.
    pub actor: String,
    pub reason: Option<String>,
    pub detail: Option<String>,
    /// The gateway that wrote it, among several sharing held mail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
}

/// A gateway's own store: one SQLite file, one operation at a time per
/// process (several processes share the file).
pub struct Store {
    conn: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS held (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    recipients TEXT NOT NULL,
    subject TEXT NOT NULL,
    findings TEXT NOT NULL,
    rules TEXT NOT NULL,
    releaser TEXT NOT NULL,
    held_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    state TEXT NOT NULL,
    decided_at INTEGER,
    decided_by TEXT,
    reason TEXT,
    notified INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS held_state ON held (state, expires_at);
CREATE INDEX IF NOT EXISTS held_unnotified ON held (notified) WHERE notified = 0;
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    event TEXT NOT NULL,
    held_id INTEGER,
    queue_id TEXT,
    actor TEXT NOT NULL,
    reason TEXT,
    detail TEXT
);
CREATE TABLE IF NOT EXISTS admin_session (
    token_hash TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    seen_at INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
";

fn db(e: rusqlite::Error) -> String {
    format!("held-mail store: {e}")
}

fn json_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

fn to_json(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

/// Seconds since the epoch as SQLite keeps them (signed).
fn sql(time: u64) -> i64 {
    i64::try_from(time).unwrap_or(i64::MAX)
}

fn time(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// What the store keeps of a session token: its SHA-256, so that a copy
/// of the store opens no session.
pub(super) fn token_hash(token: &str) -> String {
    use sha2::Digest;
    super::token::hex(&sha2::Sha256::digest(token.as_bytes()))
}

const HELD_COLUMNS: &str = "id, queue_id, sender, recipients, subject, findings, rules, releaser, held_at, expires_at, state, decided_by, reason";

fn held_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Held> {
    Ok(Held {
        id: row.get(0)?,
        gateway: String::new(),
        queue_id: row.get(1)?,
        sender: row.get(2)?,
        recipients: json_list(&row.get::<_, String>(3)?),
        subject: row.get(4)?,
        findings: json_list(&row.get::<_, String>(5)?),
        rules: json_list(&row.get::<_, String>(6)?),
        releaser: row.get(7)?,
        held_at: time(row.get(8)?),
        expires_at: time(row.get(9)?),
        state: row.get(10)?,
        decided_by: row.get(11)?,
        reason: row.get(12)?,
    })
}

impl Store {
    /// Opens (creating) the store at `path`. Several processes share it:
    /// writers wait for each other up to 5 s.
    pub fn open(path: &Path) -> Result<Store, String> {
        let conn = Connection::open(path)
            .map_err(|e| format!("cannot open the held-mail store {}: {e}", path.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(db)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        conn.execute_batch(SCHEMA).map_err(db)?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl HeldStore for Store {
    fn hold(&self, new: &NewHeld<'_>) -> Result<i64, String> {
        let message = new.message;
        let conn = self.conn();
        conn.execute(
                "INSERT INTO held (queue_id, sender, recipients, subject, findings, rules, releaser, held_at, expires_at, state)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    message.queue_id,
                    message.sender,
                    to_json(message.recipients),
                    message.subject,
                    to_json(message.findings),
                    to_json(message.rules),
                    new.releaser,
                    sql(new.held_at),
                    sql(new.expires_at),
                    state::HELD
                ],
            )
            .map_err(db)?;
        let id = conn.last_insert_rowid();
        drop(conn);
        self.audit(
            new.held_at,
            "hold",
            Some((id, message.queue_id)),
            "maillint",
            None,
            Some(&message.rules.join(",")),
        )?;
        Ok(id)
    }

    fn get(&self, id: i64) -> Result<Option<Held>, String> {
        self.conn()
            .query_row(
                &format!("SELECT {HELD_COLUMNS} FROM held WHERE id = ?1"),
                [id],
                held_row,
            )
            .optional()
            .map_err(db)
    }

    fn list(&self, state: Option<&str>, limit: u32) -> Result<Vec<Held>, String> {
        let conn = self.conn();
        let mut statement = conn
            .prepare(&format!(
                "SELECT {HELD_COLUMNS} FROM held WHERE ?1 IS NULL OR state = ?1 ORDER BY id DESC LIMIT ?2"
            ))
            .map_err(db)?;
        let rows = statement
            .query_map(params![state, limit], held_row)
            .map_err(db)?;
        rows.collect::<Result<_, _>>().map_err(db)
    }

    fn due(&self, now: u64) -> Result<Vec<Held>, String> {
        let conn = self.conn();
        let mut statement = conn
            .prepare(&format!(
                "SELECT {HELD_COLUMNS} FROM held WHERE state = ?1 AND expires_at <= ?2 ORDER BY id"
            ))
            .map_err(db)?;
        let rows = statement
            .query_map(params![state::HELD, sql(now)], held_row)
            .map_err(db)?;
        rows.collect::<Result<_, _>>().map_err(db)
    }

    fn unnotified(&self) -> Result<Vec<Held>, String> {
        let conn = self.conn();
        let mut statement = conn
            .prepare(&format!(
                "SELECT {HELD_COLUMNS} FROM held WHERE notified = 0 AND state = ?1 ORDER BY id"
            ))
            .map_err(db)?;
        let rows = statement.query_map([state::HELD], held_row).map_err(db)?;
        rows.collect::<Result<_, _>>().map_err(db)
    }

    fn claim_notification(&self, id: i64) -> Result<bool, String> {
        let changed = self
            .conn()
            .execute(
                "UPDATE held SET notified = 1 WHERE id = ?1 AND notified = 0",
                [id],
            )
            .map_err(db)?;
        Ok(changed == 1)
    }

    /// One gateway: the decision is always carried out here.
    fn claim(&self, id: i64, _: &Pending, _: Option<&str>) -> Result<bool, String> {
        let changed = self
            .conn()
            .execute(
                "UPDATE held SET state = ?1 WHERE id = ?2 AND state = ?3",
                params![state::BUSY, id, state::HELD],
            )
            .map_err(db)?;
        Ok(changed == 1)
    }

    fn settle(
        &self,
        id: i64,
        to: &str,
        at: u64,
        by: &str,
        reason: Option<&str>,
    ) -> Result<(), String> {
        self.conn()
            .execute(
                "UPDATE held SET state = ?1, decided_at = ?2, decided_by = ?3, reason = ?4 WHERE id = ?5 AND state = ?6",
                params![to, sql(at), by, reason, id, state::BUSY],
            )
            .map_err(db)?;
        Ok(())
    }

    fn unclaim(&self, id: i64) -> Result<(), String> {
        self.conn()
            .execute(
                "UPDATE held SET state = ?1 WHERE id = ?2 AND state = ?3",
                params![state::HELD, id, state::BUSY],
            )
            .map_err(db)?;
        Ok(())
    }

    fn audit(
        &self,
        at: u64,
        event: &str,
        message: Option<(i64, &str)>,
        actor: &str,
        reason: Option<&str>,
        detail: Option<&str>,
    ) -> Result<(), String> {
        self.conn()
            .execute(
                "INSERT INTO audit (at, event, held_id, queue_id, actor, reason, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    sql(at),
                    event,
                    message.map(|m| m.0),
                    message.map(|m| m.1),
                    actor,
                    reason,
                    detail
                ],
            )
            .map_err(db)?;
        Ok(())
    }

    fn audit_log(&self, after: i64, limit: u32) -> Result<Vec<AuditEntry>, String> {
        let conn = self.conn();
        let mut statement = conn
            .prepare(
                "SELECT seq, at, event, held_id, queue_id, actor, reason, detail FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )
            .map_err(db)?;
        let rows = statement
            .query_map(params![after, limit], |row| {
                Ok(AuditEntry {
                    seq: row.get(0)?,
                    at: time(row.get(1)?),
                    event: row.get(2)?,
                    held_id: row.get(3)?,
                    queue_id: row.get(4)?,
                    actor: row.get(5)?,
                    reason: row.get(6)?,
                    detail: row.get(7)?,
                    gateway: None,
                })
            })
            .map_err(db)?;
        rows.collect::<Result<_, _>>().map_err(db)
    }

    fn recent_audit(&self, limit: u32) -> Result<Vec<AuditEntry>, String> {
        let last: i64 = self
            .conn()
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM audit", [], |r| r.get(0))
            .map_err(db)?;
        let mut entries = self.audit_log(last.saturating_sub(i64::from(limit)), limit)?;
        entries.reverse();
        Ok(entries)
    }

    /// Records an administrator's new session under its token's hash
    /// (the token itself is only in their cookie), and drops the sessions
    /// `lifetime` has ended.
    fn open_session(&self, token: &str, name: &str, now: u64, lifetime: u64) -> Result<(), String> {
        self.conn()
            .execute(
                "DELETE FROM admin_session WHERE created_at <= ?1",
                [sql(now.saturating_sub(lifetime))],
            )
            .map_err(db)?;
        self.conn()
            .execute(
                "INSERT OR REPLACE INTO admin_session (token_hash, name, created_at, seen_at) VALUES (?1, ?2, ?3, ?3)",
                params![token_hash(token), name, sql(now)],
            )
            .map_err(db)?;
        Ok(())
    }

    /// The administrator whose session `token` opens at `now`: made less
    /// than `lifetime` ago and used less than `idle` ago, and now used.
    fn session(
        &self,
        token: &str,
        now: u64,
        idle: u64,
        lifetime: u64,
    ) -> Result<Option<String>, String> {
        let hash = token_hash(token);
        let touched = self
            .conn()
            .execute(
                "UPDATE admin_session SET seen_at = ?1 WHERE token_hash = ?2 AND created_at > ?3 AND seen_at > ?4",
                params![
                    sql(now),
                    hash,
                    sql(now.saturating_sub(lifetime)),
                    sql(now.saturating_sub(idle))
                ],
            )
            .map_err(db)?;
        if touched == 0 {
            return Ok(None);
        }
        self.conn()
            .query_row(
                "SELECT name FROM admin_session WHERE token_hash = ?1",
                [hash],
                |row| row.get(0),
            )
            .optional()
            .map_err(db)
    }

    /// Ends a session (signing out).
    fn close_session(&self, token: &str) -> Result<(), String> {
        self.conn()
            .execute(
                "DELETE FROM admin_session WHERE token_hash = ?1",
                [token_hash(token)],
            )
            .map_err(db)?;
        Ok(())
    }

    fn since(&self, since: u64) -> Result<Vec<Held>, String> {
        let conn = self.conn();
        let mut statement = conn
            .prepare(&format!(
                "SELECT {HELD_COLUMNS} FROM held WHERE held_at >= ?1 ORDER BY id"
            ))
            .map_err(db)?;
        let rows = statement.query_map([sql(since)], held_row).map_err(db)?;
        rows.collect::<Result<_, _>>().map_err(db)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(store: &Store, id: i64) -> bool {
        let pending = Pending {
            decision: "release".into(),
            by: "sender".into(),
            reason: None,
        };
        store.claim(id, &pending, None).unwrap()
    }

    fn hold<'a>(recipients: &'a [String], rules: &'a [String]) -> Hold<'a> {
        Hold {
            queue_id: "4ABC",
            sender: "jane@example.org",
            recipients,
            subject: "<script>alert(1)</script>",
            findings: rules,
            rules,
            worst: None,
        }
    }

    fn new_held<'a>(message: &'a Hold<'a>) -> NewHeld<'a> {
        NewHeld {
            message,
            releaser: "sender",
            held_at: 100,
            expires_at: 200,
        }
    }

    #[test]
    fn one_claim_wins_and_the_audit_log_is_append_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("held.sqlite");
        let store = Store::open(&path).unwrap();
        let other = Store::open(&path).unwrap();
        let recipients = vec!["all-staff@example.org".to_string()];
        let rules = vec!["mass-list".to_string()];
        let id = store.hold(&new_held(&hold(&recipients, &rules))).unwrap();
        let held = other.get(id).unwrap().unwrap();
        assert_eq!(held.subject, "<script>alert(1)</script>");
        assert_eq!(held.recipients, recipients);
        assert_eq!(held.state, state::HELD);
        assert!(claim(&store, id));
        assert!(!claim(&other, id));
        store
            .settle(id, state::RELEASED, 150, "sender", Some("intended"))
            .unwrap();
        assert!(!claim(&other, id));
        assert_eq!(other.get(id).unwrap().unwrap().state, state::RELEASED);
        assert!(store.due(1000).unwrap().is_empty());
        assert!(store.unnotified().unwrap().is_empty());
        let log = store.audit_log(0, 10).unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].event, "hold");
        assert!(store.conn().execute("DELETE FROM audit", []).is_err());
        assert!(
            store
                .conn()
                .execute("UPDATE audit SET actor = 'x'", [])
                .is_err()
        );
    }

    #[test]
    fn sessions_are_kept_hashed_until_idle_or_old_and_end_at_sign_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("held.sqlite");
        let (idle, lifetime) = (3600, 8 * 3600);
        let store = Store::open(&path).unwrap();
        store.open_session("tok-a", "ann", 1000, lifetime).unwrap();
        store.open_session("tok-b", "bob", 1000, lifetime).unwrap();
        drop(store);
        // Another opening of the file (a restarted page) knows them.
        let store = Store::open(&path).unwrap();
        let kept: Vec<String> = store
            .conn()
            .prepare("SELECT token_hash FROM admin_session ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(kept.len(), 2);
        assert!(kept.iter().all(|h| h.len() == 64 && !h.contains("tok")));
        let at = |t| store.session("tok-a", t, idle, lifetime).unwrap();
        assert_eq!(at(1000 + 3599), Some("ann".to_string()));
        // Used at 4599 and 8198: then idle for an hour, and ended.
        assert_eq!(at(4599 + 3599), Some("ann".to_string()));
        assert_eq!(at(8198 + 3600), None);
        assert_eq!(store.session("nope", 1001, idle, lifetime).unwrap(), None);
        // However busy, no session outlives its lifetime.
        let mut t = 1000;
        while t < 1000 + lifetime - 1 {
            t += 1800;
            assert_eq!(
                store
                    .session("tok-b", t.min(1000 + lifetime - 1), idle, lifetime)
                    .unwrap()
                    .as_deref(),
                Some("bob")
            );
        }
        assert_eq!(
            store
                .session("tok-b", 1000 + lifetime, idle, lifetime)
                .unwrap(),
            None
        );
        // Signing out ends it at once.
        store.open_session("tok-c", "ann", 2000, lifetime).unwrap();
        store.close_session("tok-c").unwrap();
        assert_eq!(store.session("tok-c", 2001, idle, lifetime).unwrap(), None);
        // Old sessions are dropped when a new one opens.
        store
            .open_session("tok-d", "ann", 1000 + lifetime + 1, lifetime)
            .unwrap();
        let left: i64 = store
            .conn()
            .query_row("SELECT COUNT(*) FROM admin_session", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 1);
    }

    #[test]
    fn messages_fall_due_at_their_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("held.sqlite")).unwrap();
        let (recipients, rules) = (vec![], vec![]);
        let id = store.hold(&new_held(&hold(&recipients, &rules))).unwrap();
        assert_eq!(store.unnotified().unwrap()[0].id, id);
        assert!(store.claim_notification(id).unwrap());
        assert!(!store.claim_notification(id).unwrap());
        assert!(store.unnotified().unwrap().is_empty());
        assert!(store.due(199).unwrap().is_empty());
        assert_eq!(store.due(200).unwrap()[0].id, id);
        assert!(claim(&store, id));
        store.unclaim(id).unwrap();
        assert_eq!(store.due(200).unwrap().len(), 1);
    }
}
