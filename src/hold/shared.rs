//! Held mail shared by several gateways, in Redis (`[hold] shared`).
//! Each message stays in the queue of the gateway whose MTA holds it;
//! here are its record (which gateway, queue id, sender, subject,
//! findings, state, expiry), the indexes the pages list by, the audit log,
//! and, per gateway, the decisions other gateways' pages handed to it.
//!
//! Keys, all under the prefix: `next-id`; `msg:ID` (a hash); `all`,
//! `state:STATE` and `time` (sorted sets of ids, by id or by the time
//! held); `due:GATEWAY` (by expiry) and `unnotified:GATEWAY`;
//! `requests:GATEWAY` (a list of ids); `audit` (a list of JSON lines, the
//! line's number its position); `secret-check`.

use super::backend::{HeldStore, Pending};
use super::state;
use super::store::{AuditEntry, Held, NewHeld, token_hash};
use super::token::Signer;
use crate::redis_pool::{Pool, SET_ONCE};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::Duration;

pub struct SharedStore {
    pool: Pool,
    prefix: String,
    /// This gateway's name.
    gateway: String,
    hold: redis::Script,
    moves: redis::Script,
}

const HOLD: &str = include_str!("hold.lua");
const MOVE: &str = include_str!("move.lua");

/// A line of the audit log as Redis keeps it (its number is its place).
#[derive(Serialize, Deserialize)]
struct Line {
    at: u64,
    event: String,
    #[serde(default)]
    held_id: Option<i64>,
    #[serde(default)]
    queue_id: Option<String>,
    actor: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    gateway: Option<String>,
}

fn json_list(text: Option<&String>) -> Vec<String> {
    text.and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default()
}

fn to_json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".into())
}

/// A record as Redis gives it (`HGETALL`), or none for an empty hash.
fn held(id: i64, mut fields: HashMap<String, String>) -> Option<Held> {
    let mut take = |name: &str| fields.remove(name).unwrap_or_default();
    let state = take("state");
    if state.is_empty() {
        return None;
    }
    let number = |text: String| text.parse::<u64>().unwrap_or(0);
    let optional = |text: String| Some(text).filter(|t| !t.is_empty());
    Some(Held {
        id,
        gateway: take("gateway"),
        queue_id: take("queue_id"),
        sender: take("sender"),
        recipients: json_list(Some(&take("recipients"))),
        subject: take("subject"),
        findings: json_list(Some(&take("findings"))),
        rules: json_list(Some(&take("rules"))),
        releaser: take("releaser"),
        held_at: number(take("held_at")),
        expires_at: number(take("expires_at")),
        state,
        decided_by: optional(take("decided_by")),
        reason: optional(take("reason")),
    })
}

impl SharedStore {
    /// Held mail in the Redis at `url`, under `prefix`, for the gateway
    /// named `gateway`; each answer awaited at most `timeout`.
    pub fn new(
        url: &str,
        prefix: &str,
        gateway: &str,
        timeout: Duration,
    ) -> Result<SharedStore, String> {
        Ok(SharedStore {
            pool: Pool::new(url, timeout, "[hold] shared")?,
            prefix: prefix.to_string(),
            gateway: gateway.to_string(),
            hold: redis::Script::new(HOLD),
            moves: redis::Script::new(MOVE),
        })
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// Where a session is kept: under its token's hash only.
    fn session_key(&self, token: &str) -> String {
        self.key(&format!("session:{}", token_hash(token)))
    }

    fn set_session(&self, key: &str, value: &str, seconds: u64) -> Result<(), String> {
        self.pool
            .run(|c| {
                redis::cmd("SET")
                    .arg(key)
                    .arg(value)
                    .arg("EX")
                    .arg(seconds.max(1))
                    .query::<()>(c)
            })
            .map_err(Self::error)
    }

    fn error(e: String) -> String {
        format!("shared held-mail store (Redis): {e}")
    }

    /// Whether `signer` signs as the other gateways' do: the first
    /// gateway leaves a MAC of a fixed text, every other compares. A
    /// sender's link must open on every gateway's page. An unreachable
    /// Redis is not a mismatch: its errors show where it is used.
    pub fn check_secret(&self, signer: &Signer) -> Result<(), String> {
        let mine = signer.mac("maillint held-mail secret check");
        let key = self.key("secret-check");
        let script = redis::Script::new(SET_ONCE);
        let Ok(theirs) = self
            .pool
            .run(|c| script.key(&key).arg(&mine).invoke::<String>(c))
        else {
            return Ok(());
        };
        match theirs {
            theirs if theirs != mine => Err(
                "[hold] secret_file differs from the secret of the other gateways sharing held mail: copy theirs here, so that every sender's link opens on every gateway's page"
                    .into(),
            ),
            _ => Ok(()),
        }
    }

    /// The records of `ids`, in their order, in one round trip.
    fn fetch(&self, ids: &[i64]) -> Result<Vec<Held>, String> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = ids
            .iter()
            .map(|id| self.key(&format!("msg:{id}")))
            .collect();
        let records: Vec<HashMap<String, String>> = self
            .pool
            .run(|c| {
                let mut pipe = redis::pipe();
                for key in &keys {
                    pipe.cmd("HGETALL").arg(key);
                }
                pipe.query(c)
            })
            .map_err(Self::error)?;
        Ok(ids
            .iter()
            .zip(records)
            .filter_map(|(id, fields)| held(*id, fields))
            .collect())
    }

    fn ids(&self, command: &redis::Cmd) -> Result<Vec<i64>, String> {
        self.pool.run(|c| command.query(c)).map_err(Self::error)
    }

    /// Moves message `id` from state `from` to `to` (see move.lua).
    fn move_state(
        &self,
        id: i64,
        (from, to): (&str, &str),
        queue_for: Option<&str>,
        fields: &[(&str, String)],
    ) -> Result<bool, String> {
        let moved: i64 = self
            .pool
            .run(|c| {
                let mut call = self.moves.prepare_invoke();
                call.arg(&self.prefix)
                    .arg(id)
                    .arg(from)
                    .arg(to)
                    .arg(queue_for.unwrap_or(""));
                for (name, value) in fields {
                    call.arg(*name).arg(value);
                }
                call.invoke(c)
            })
            .map_err(Self::error)?;
        Ok(moved == 1)
    }
}

impl HeldStore for SharedStore {
    fn hold(&self, new: &NewHeld<'_>) -> Result<i64, String> {
        let m = new.message;
        self.pool
            .run(|c| {
                self.hold
                    .arg(&self.prefix)
                    .arg(&self.gateway)
                    .arg(m.queue_id)
                    .arg(m.sender)
                    .arg(to_json(m.recipients))
                    .arg(m.subject)
                    .arg(to_json(m.findings))
                    .arg(to_json(m.rules))
                    .arg(new.releaser)
                    .arg(new.held_at)
                    .arg(new.expires_at)
                    .arg(m.rules.join(","))
                    .invoke(c)
            })
            .map_err(Self::error)
    }

    fn get(&self, id: i64) -> Result<Option<Held>, String> {
        Ok(self.fetch(&[id])?.pop())
    }

    fn list(&self, state: Option<&str>, limit: u32) -> Result<Vec<Held>, String> {
        let set = state.map_or_else(|| self.key("all"), |s| self.key(&format!("state:{s}")));
        let last = i64::from(limit) - 1;
        let ids = self.ids(redis::cmd("ZREVRANGE").arg(set).arg(0).arg(last))?;
        self.fetch(&ids)
    }

    fn due(&self, now: u64) -> Result<Vec<Held>, String> {
        let set = self.key(&format!("due:{}", self.gateway));
        let ids = self.ids(redis::cmd("ZRANGEBYSCORE").arg(set).arg("-inf").arg(now))?;
        let mut due = self.fetch(&ids)?;
        due.retain(|h| h.state == state::HELD);
        Ok(due)
    }

    fn unnotified(&self) -> Result<Vec<Held>, String> {
        let set = self.key(&format!("unnotified:{}", self.gateway));
        let mut ids = self.ids(redis::cmd("SMEMBERS").arg(set))?;
        ids.sort_unstable();
        let mut waiting = self.fetch(&ids)?;
        waiting.retain(|h| h.state == state::HELD);
        Ok(waiting)
    }

    fn claim_notification(&self, id: i64) -> Result<bool, String> {
        let set = self.key(&format!("unnotified:{}", self.gateway));
        let removed: i64 = self
            .pool
            .run(|c| redis::cmd("SREM").arg(&set).arg(id).query(c))
            .map_err(Self::error)?;
        Ok(removed == 1)
    }

    fn claim(&self, id: i64, pending: &Pending, queue_for: Option<&str>) -> Result<bool, String> {
        self.move_state(
            id,
            (state::HELD, state::BUSY),
            queue_for,
            &[("pending", to_json(pending))],
        )
    }

    fn settle(
        &self,
        id: i64,
        to: &str,
        at: u64,
        by: &str,
        reason: Option<&str>,
    ) -> Result<(), String> {
        self.move_state(
            id,
            (state::BUSY, to),
            None,
            &[
                ("pending", String::new()),
                ("decided_at", at.to_string()),
                ("decided_by", by.to_string()),
                ("reason", reason.unwrap_or("").to_string()),
            ],
        )
        .map(drop)
    }

    fn unclaim(&self, id: i64) -> Result<(), String> {
        self.move_state(
            id,
            (state::BUSY, state::HELD),
            None,
            &[("pending", String::new())],
        )
        .map(drop)
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
        let line = to_json(&Line {
            at,
            event: event.to_string(),
            held_id: message.map(|m| m.0),
            queue_id: message.map(|m| m.1.to_string()),
            actor: actor.to_string(),
            reason: reason.map(str::to_string),
            detail: detail.map(str::to_string),
            gateway: Some(self.gateway.clone()),
        });
        let key = self.key("audit");
        self.pool
            .run(|c| redis::cmd("RPUSH").arg(&key).arg(&line).query::<i64>(c))
            .map_err(Self::error)
            .map(drop)
    }

    fn audit_log(&self, after: i64, limit: u32) -> Result<Vec<AuditEntry>, String> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let after = after.max(0);
        let key = self.key("audit");
        let lines: Vec<String> = self
            .pool
            .run(|c| {
                redis::cmd("LRANGE")
                    .arg(&key)
                    .arg(after)
                    .arg(after + i64::from(limit) - 1)
                    .query(c)
            })
            .map_err(Self::error)?;
        let mut entries = Vec::with_capacity(lines.len());
        for (seq, line) in (after + 1..).zip(&lines) {
            let line: Line = serde_json::from_str(line)
                .map_err(|e| Self::error(format!("audit line {seq}: {e}")))?;
            entries.push(AuditEntry {
                seq,
                at: line.at,
                event: line.event,
                held_id: line.held_id,
                queue_id: line.queue_id,
                actor: line.actor,
                reason: line.reason,
                detail: line.detail,
                gateway: line.gateway,
            });
        }
        Ok(entries)
    }

    fn recent_audit(&self, limit: u32) -> Result<Vec<AuditEntry>, String> {
        let key = self.key("audit");
        let length: i64 = self
            .pool
            .run(|c| redis::cmd("LLEN").arg(&key).query(c))
            .map_err(Self::error)?;
        let mut entries = self.audit_log(length.saturating_sub(i64::from(limit)), limit)?;
        entries.reverse();
        Ok(entries)
    }

    /// A session is `session:HASH` holding "CREATED SEEN NAME" and
    /// expiring with its lifetime: every gateway's page knows every session.
    fn open_session(&self, token: &str, name: &str, now: u64, lifetime: u64) -> Result<(), String> {
        let key = self.session_key(token);
        self.set_session(&key, &format!("{now} {now} {name}"), lifetime)
    }

    fn session(
        &self,
        token: &str,
        now: u64,
        idle: u64,
        lifetime: u64,
    ) -> Result<Option<String>, String> {
        let key = self.session_key(token);
        let value: Option<String> = self
            .pool
            .run(|c| redis::cmd("GET").arg(&key).query(c))
            .map_err(Self::error)?;
        let mut fields = value.as_deref().unwrap_or_default().splitn(3, ' ');
        let (Some(created), Some(seen), Some(name)) = (fields.next(), fields.next(), fields.next())
        else {
            return Ok(None);
        };
        let (Ok(created), Ok(seen)) = (created.parse::<u64>(), seen.parse::<u64>()) else {
            return Ok(None);
        };
        let left = (created + lifetime).saturating_sub(now);
        if left == 0 || seen + idle <= now {
            return Ok(None);
        }
        self.set_session(&key, &format!("{created} {now} {name}"), left)?;
        Ok(Some(name.to_string()))
    }

    fn close_session(&self, token: &str) -> Result<(), String> {
        let key = self.session_key(token);
        self.pool
            .run(|c| redis::cmd("DEL").arg(&key).query::<()>(c))
            .map_err(Self::error)
    }

    fn since(&self, since: u64) -> Result<Vec<Held>, String> {
        let mut ids = self.ids(
            redis::cmd("ZRANGEBYSCORE")
                .arg(self.key("time"))
                .arg(since)
                .arg("+inf"),
        )?;
        ids.sort_unstable();
        self.fetch(&ids)
    }

    fn take_request(&self) -> Result<Option<(Held, Pending)>, String> {
        let key = self.key(&format!("requests:{}", self.gateway));
        loop {
            let Some(id) = self
                .pool
                .run(|c| redis::cmd("LPOP").arg(&key).query::<Option<i64>>(c))
                .map_err(Self::error)?
            else {
                return Ok(None);
            };
            let record_key = self.key(&format!("msg:{id}"));
            let fields: HashMap<String, String> = self
                .pool
                .run(|c| redis::cmd("HGETALL").arg(&record_key).query(c))
                .map_err(Self::error)?;
            let pending = fields
                .get("pending")
                .and_then(|p| serde_json::from_str::<Pending>(p).ok());
            // A request whose message is no longer waiting for it (gone,
            // or decided) is dropped.
            if let Some(request) = held(id, fields).zip(pending) {
                return Ok(Some(request));
            }
        }
    }
}
