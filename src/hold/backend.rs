//! Where held mail is recorded: a gateway's own SQLite store
//! ([`Store`](super::Store)), or Redis shared by several gateways
//! ([`SharedStore`](super::shared::SharedStore)); the page and the
//! milter see both through [`HeldStore`].

use super::store::{AuditEntry, Held, NewHeld};
use serde::{Deserialize, Serialize};

/// A decision taken and not yet carried out: what the page of one gateway
/// hands to the gateway that holds the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// `release`, `discard` or `expire`.
    pub decision: String,
    /// Who decided (`sender`, `admin:NAME`, `maillint`).
    pub by: String,
    pub reason: Option<String>,
}

/// What the milter and the page ask of the held-mail store. A message
/// moves `held` → `busy` (taken for one decision, by one caller only) →
/// `released`, `discarded` or `expired`, or back to `held` when the MTA's
/// command failed.
pub trait HeldStore: Send + Sync {
    /// Records a held message and its `hold` audit line; its id.
    fn hold(&self, new: &NewHeld<'_>) -> Result<i64, String>;
    fn get(&self, id: i64) -> Result<Option<Held>, String>;
    /// Messages in `state` (all when `None`), newest first, at most `limit`.
    fn list(&self, state: Option<&str>, limit: u32) -> Result<Vec<Held>, String>;
    /// This gateway's held messages whose time is up at `now`.
    fn due(&self, now: u64) -> Result<Vec<Held>, String>;
    /// This gateway's held messages whose sender has not been told yet.
    fn unnotified(&self) -> Result<Vec<Held>, String>;
    /// Takes a message's notification: true for one caller only.
    fn claim_notification(&self, id: i64) -> Result<bool, String>;
    /// Takes a held message for `pending`: true for exactly one of any
    /// number of concurrent callers. With `queue_for`, in the same step
    /// the decision is handed to that gateway, which holds the message.
    fn claim(&self, id: i64, pending: &Pending, queue_for: Option<&str>) -> Result<bool, String>;
    /// Ends a claimed message's decision in its final state `to`.
    fn settle(
        &self,
        id: i64,
        to: &str,
        at: u64,
        by: &str,
        reason: Option<&str>,
    ) -> Result<(), String>;
    /// Gives a claimed message back (its commands failed).
    fn unclaim(&self, id: i64) -> Result<(), String>;
    /// Appends one line to the audit log.
    fn audit(
        &self,
        at: u64,
        event: &str,
        message: Option<(i64, &str)>,
        actor: &str,
        reason: Option<&str>,
        detail: Option<&str>,
    ) -> Result<(), String>;
    /// The audit log from its line `after` on, oldest first, at most `limit`.
    fn audit_log(&self, after: i64, limit: u32) -> Result<Vec<AuditEntry>, String>;
    /// The latest `limit` lines of the audit log, newest first.
    fn recent_audit(&self, limit: u32) -> Result<Vec<AuditEntry>, String>;
    /// Records an administrator's new session under its token's hash
    /// (the token itself is only in their cookie), for at most `lifetime`
    /// seconds.
    fn open_session(&self, token: &str, name: &str, now: u64, lifetime: u64) -> Result<(), String>;
    /// The administrator whose session `token` opens at `now`: made less
    /// than `lifetime` ago and used less than `idle` ago, and now used.
    fn session(
        &self,
        token: &str,
        now: u64,
        idle: u64,
        lifetime: u64,
    ) -> Result<Option<String>, String>;
    /// Ends a session (signing out).
    fn close_session(&self, token: &str) -> Result<(), String>;
    /// Every message held since `since`, oldest first.
    fn since(&self, since: u64) -> Result<Vec<Held>, String>;
    /// The next decision another gateway's page handed to this one, with
    /// the message as it is now; none in a gateway's own store.
    fn take_request(&self) -> Result<Option<(Held, Pending)>, String> {
        Ok(None)
    }
}
