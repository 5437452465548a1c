//! Held mail (the `confirm` action): the milter records a message the MTA
//! holds; `maillint web` tells its sender, who may send it anyway with a
//! reason or discard it from a signed link, shows it to administrators,
//! and releases, discards and expires it, each step in the audit log.
//! The page, not the milter, sends the notifications and runs the MTA's
//! commands: `postsuper` is for the superuser, and Postfix's `sendmail`
//! needs its setgid `postdrop`, which the milter's hardened unit
//! (`NoNewPrivileges=`) cannot use.
//!
//! Several gateways may share held mail (`[hold] shared`, Redis): every
//! page lists every gateway's held messages, and a decision taken on one
//! gateway's page for a message another holds is handed to that gateway,
//! whose `maillint web` runs its MTA's commands.
//!
//! One job per file: `store` keeps held messages and the audit log
//! (SQLite), `shared` the same in Redis for several gateways, `backend`
//! what both offer, `token` signs the links and the page's form tokens,
//! `mta` runs the MTA's commands and its `sendmail`, and [`Holder`] here
//! ties them to `[hold]`'s settings.

pub mod backend;
pub mod mta;
pub mod shared;
pub mod store;
pub mod token;

use crate::config::{HoldConfig, Releaser};
use crate::finding::Severity;
pub use backend::{HeldStore, Pending};
use std::time::{Duration, Instant};
pub use store::{AuditEntry, Held, Hold, NewHeld, Store, state};
pub use token::{Signer, TokenError};

/// `[hold]` at work: the store, the signer, the MTA's commands.
pub struct Holder {
    pub settings: HoldConfig,
    pub signer: Signer,
    expire: u64,
    /// This gateway's name among those sharing held mail; empty alone.
    gateway: String,
    store: Box<dyn HeldStore>,
}

/// How long a page waits for the gateway holding a message to carry out
/// a decision handed to it, before it says the decision is on its way.
const HANDED_OVER_WAIT: Duration = Duration::from_secs(10);

/// Decisions handed over carried out at most per call of
/// [`Holder::carry_out_requests`], so a flood cannot starve the rest.
const REQUESTS_PER_ROUND: usize = 100;

/// The store `settings` name: Redis shared by several gateways, or this
/// gateway's own SQLite file. A shared store is checked to sign links as
/// the other gateways do (`signer`, when given).
pub fn open_store(
    settings: &HoldConfig,
    signer: Option<&Signer>,
) -> Result<Box<dyn HeldStore>, String> {
    let gateway = settings.gateway_name()?;
    match &settings.shared {
        Some(url) => {
            let shared = shared::SharedStore::new(
                url,
                &settings.shared_prefix,
                gateway,
                Duration::from_millis(settings.shared_timeout_ms.max(1)),
            )?;
            if let Some(signer) = signer {
                shared.check_secret(signer)?;
            }
            Ok(Box::new(shared))
        }
        None => Ok(Box::new(Store::open(&settings.store)?)),
    }
}

/// Who decides, for the audit log and the permission check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Sender,
    Admin(String),
    /// maillint itself (expiry).
    Maillint,
}

impl Actor {
    pub fn name(&self) -> String {
        match self {
            Actor::Sender => "sender".into(),
            Actor::Admin(name) => format!("admin:{name}"),
            Actor::Maillint => "maillint".into(),
        }
    }
}

/// What became of a release or discard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Someone else decided first (or is deciding): nothing was run.
    AlreadyDecided(String),
    /// Handed to the gateway that holds the message (named), which has
    /// not carried it out yet.
    HandedOver(String),
    /// The store did not answer: nothing was done, the message is held.
    Unavailable(String),
    /// Policy does not let this actor release this message.
    NotAllowed,
    NotFound,
    /// The MTA's command failed: the message is still held.
    Failed(String),
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Holder {
    pub fn new(settings: HoldConfig) -> Result<Holder, String> {
        let expire = settings.expire_seconds()?;
        let signer = Signer::load_or_create(&settings.secret_file)?;
        let store = open_store(&settings, Some(&signer))?;
        Ok(Holder {
            gateway: settings.gateway_name()?.to_string(),
            settings,
            signer,
            expire,
            store,
        })
    }

    /// The store.
    pub fn store(&self) -> &dyn HeldStore {
        &*self.store
    }

    /// Records a message the MTA now holds; the record.
    pub fn hold(&self, hold: &Hold<'_>, now: u64) -> Result<Held, String> {
        let releaser = self
            .settings
            .releaser(hold.worst.unwrap_or(Severity::Error), hold.rules);
        let store = self.store();
        let id = store.hold(&NewHeld {
            message: hold,
            releaser: releaser.as_str(),
            held_at: now,
            expires_at: now.saturating_add(self.expire),
        })?;
        store
            .get(id)?
            .ok_or_else(|| "held-mail store: the message just held is gone".to_string())
    }

    /// The sender's page for a held message.
    pub fn link(&self, held: &Held) -> String {
        format!(
            "{}/held/{}",
            self.settings.url.trim_end_matches('/'),
            self.signer.sender_token(held.id, held.expires_at)
        )
    }

    /// Tells the senders of newly held messages, each once however many
    /// pages run; how many were told.
    pub fn notify_pending(&self, now: u64) -> Result<usize, String> {
        let pending = self.store().unnotified()?;
        let mut told = 0;
        for held in pending {
            if self.store().claim_notification(held.id)? {
                self.notify_held(&held, now);
                told += 1;
            }
        }
        Ok(told)
    }

    /// Tells the sender their message is held and why, with their link;
    /// audited either way.
    fn notify_held(&self, held: &Held, now: u64) {
        let may_release = held.releaser == Releaser::Sender.as_str();
        let mut text = format!(
            "Your message has not been sent yet: maillint, the mail server's check, found something to confirm.\n\nSubject: {}\nTo: {}\n\nWhat was found:\n",
            one_line(&held.subject),
            held.recipients.join(", ")
        );
        for finding in &held.findings {
            text.push_str(&format!("  - {}\n", one_line(finding)));
        }
        text.push('\n');
        text.push_str(if may_release {
            "If it is right as it is, send it anyway (with a reason); if not, discard it and send a corrected message from your mail program:\n"
        } else if held.releaser == Releaser::Admin.as_str() {
            "An administrator decides whether it goes out; you can discard it here and send a corrected message from your mail program:\n"
        } else {
            "Policy lets no one send it as it is: discard it here and send a corrected message from your mail program:\n"
        });
        text.push_str(&format!("\n  {}\n\n", self.link(held)));
        text.push_str(&format!(
            "The link works once. Unless someone decides first, the message is discarded {}.\n",
            describe_time(held.expires_at)
        ));
        self.help_line(&mut text);
        self.tell(held, "Held: ", &text, now, "notify");
    }

    /// Tells the sender a held message was discarded at its expiry.
    fn notify_expired(&self, held: &Held, now: u64) {
        let mut text = format!(
            "Your message was held for confirmation and no one confirmed it in time: it has been discarded and was not sent.\n\nSubject: {}\nTo: {}\n\nSend a corrected message from your mail program if it is still needed.\n",
            one_line(&held.subject),
            held.recipients.join(", ")
        );
        self.help_line(&mut text);
        self.tell(held, "Not sent: ", &text, now, "notify-expired");
    }

    fn help_line(&self, text: &mut String) {
        if let Some(help) = &self.settings.help {
            text.push_str(&format!("Questions: {help}\n"));
        }
    }

    fn tell(&self, held: &Held, prefix: &str, text: &str, now: u64, event: &str) {
        if held.sender.is_empty() {
            return;
        }
        let subject = format!("{prefix}{}", one_line(&held.subject));
        let message = format!(
            "From: {from}\nTo: {to}\nSubject: {subject}\nAuto-Submitted: auto-generated\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n{text}",
            from = self.settings.from,
            to = held.sender,
            subject = encode_subject(&subject),
        );
        let sent = mta::send(&self.settings.sendmail, "", &held.sender, &message);
        let (event, detail) = match &sent {
            Ok(()) => (event.to_string(), None),
            Err(e) => (format!("{event}-failed"), Some(e.as_str())),
        };
        _ = self.store().audit(
            now,
            &event,
            Some((held.id, &held.queue_id)),
            "maillint",
            None,
            detail,
        );
    }

    /// Lets a held message out: once, whoever else tries at the same time.
    pub fn release(&self, id: i64, actor: &Actor, reason: &str, now: u64) -> Outcome {
        self.decide(id, actor, reason, now, Decision::Release)
    }

    /// Deletes a held message from the MTA's queue.
    pub fn discard(&self, id: i64, actor: &Actor, reason: &str, now: u64) -> Outcome {
        self.decide(id, actor, reason, now, Decision::Discard)
    }

    /// Discards every message whose time is up, telling its sender; how
    /// many.
    pub fn expire_due(&self, now: u64) -> Result<usize, String> {
        let due = self.store().due(now)?;
        let mut expired = 0;
        for held in due {
            if self.decide(held.id, &Actor::Maillint, "", now, Decision::Expire) == Outcome::Done {
                self.notify_expired(&held, now);
                expired += 1;
            }
        }
        Ok(expired)
    }

    fn decide(&self, id: i64, actor: &Actor, reason: &str, now: u64, what: Decision) -> Outcome {
        let held = match self.store.get(id) {
            Ok(Some(held)) => held,
            Ok(None) => return Outcome::NotFound,
            Err(e) => return Outcome::Unavailable(e),
        };
        if what == Decision::Release && !may_release(actor, &held.releaser) {
            return Outcome::NotAllowed;
        }
        let pending = Pending {
            decision: what.as_str().to_string(),
            by: actor.name(),
            reason: Some(reason.trim())
                .filter(|r| !r.is_empty())
                .map(str::to_string),
        };
        // A message another gateway holds is that gateway's to let out:
        // the claim hands the decision to it in the same step.
        let elsewhere = (!held.gateway.is_empty() && held.gateway != self.gateway)
            .then_some(held.gateway.as_str());
        match self.store.claim(id, &pending, elsewhere) {
            Ok(true) => {}
            // Decided (or being decided) since it was read: say how now.
            Ok(false) => {
                let now_state = self.store.get(id).ok().flatten().map(|h| h.state);
                return Outcome::AlreadyDecided(now_state.unwrap_or(held.state));
            }
            Err(e) => return Outcome::Unavailable(e),
        }
        match elsewhere {
            Some(gateway) => self.await_handed_over(id, gateway),
            None => self.carry_out(&held, &pending, what, now),
        }
    }

    /// Runs the MTA's commands for a claimed message and records what
    /// came of them: settled, or held again when a command failed.
    fn carry_out(&self, held: &Held, pending: &Pending, what: Decision, now: u64) -> Outcome {
        let (commands, state, event) = match what {
            Decision::Release => (&self.settings.release_commands, state::RELEASED, "release"),
            Decision::Discard => (&self.settings.discard_commands, state::DISCARDED, "discard"),
            Decision::Expire => (&self.settings.discard_commands, state::EXPIRED, "expire"),
        };
        let (id, who, reason) = (held.id, pending.by.as_str(), pending.reason.as_deref());
        let store_error = |e: String| Outcome::Failed(e);
        match mta::run_commands(commands, &held.queue_id) {
            Ok(()) => {
                let store = self.store();
                if let Err(e) = store.settle(id, state, now, who, reason) {
                    return store_error(e);
                }
                match store.audit(now, event, Some((id, &held.queue_id)), who, reason, None) {
                    Ok(()) => Outcome::Done,
                    Err(e) => store_error(e),
                }
            }
            Err(e) => {
                let store = self.store();
                _ = store.unclaim(id);
                _ = store.audit(
                    now,
                    &format!("{event}-failed"),
                    Some((id, &held.queue_id)),
                    who,
                    reason,
                    Some(&e),
                );
                Outcome::Failed(e)
            }
        }
    }

    /// Carries out the decisions other gateways' pages handed to this
    /// gateway; how many.
    pub fn carry_out_requests(&self, now: u64) -> Result<usize, String> {
        let mut done = 0;
        while done < REQUESTS_PER_ROUND {
            let Some((held, pending)) = self.store.take_request()? else {
                break;
            };
            let what = Decision::parse(&pending.decision);
            match what {
                Some(what) if held.state == state::BUSY => {
                    self.carry_out(&held, &pending, what, now);
                }
                // Not a decision this version knows: held again, for
                // someone to decide anew.
                _ => _ = self.store.unclaim(held.id),
            }
            done += 1;
        }
        Ok(done)
    }

    /// Waits a little for `gateway` to carry out the decision on message
    /// `id` handed to it: done, failed (held again), or still on its way.
    fn await_handed_over(&self, id: i64, gateway: &str) -> Outcome {
        let deadline = Instant::now() + HANDED_OVER_WAIT;
        loop {
            match self.store.get(id) {
                Ok(Some(held)) if held.state == state::HELD => {
                    return Outcome::Failed(format!(
                        "gateway {gateway}, which holds the message, could not carry it out (its reason is in the audit log)"
                    ));
                }
                Ok(Some(held)) if held.state != state::BUSY => return Outcome::Done,
                Ok(None) => return Outcome::NotFound,
                Ok(Some(_)) | Err(_) => {}
            }
            if Instant::now() >= deadline {
                return Outcome::HandedOver(gateway.to_string());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Release,
    Discard,
    Expire,
}

impl Decision {
    fn as_str(self) -> &'static str {
        match self {
            Decision::Release => "release",
            Decision::Discard => "discard",
            Decision::Expire => "expire",
        }
    }

    fn parse(text: &str) -> Option<Decision> {
        [Decision::Release, Decision::Discard, Decision::Expire]
            .into_iter()
            .find(|d| d.as_str() == text)
    }
}

/// Whether `actor` may release a message whose releaser is `releaser`:
/// an administrator unless no one may, the sender only where policy says.
pub fn may_release(actor: &Actor, releaser: &str) -> bool {
    match actor {
        Actor::Sender => releaser == Releaser::Sender.as_str(),
        Actor::Admin(_) | Actor::Maillint => releaser != Releaser::Nobody.as_str(),
    }
}

fn one_line(text: &str) -> String {
    crate::guard::one_line(text)
}

/// A Subject header value: as it is in ASCII, else an RFC 2047 encoded
/// word per chunk of UTF-8.
fn encode_subject(text: &str) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    if text.is_ascii() {
        return text.to_string();
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    words.push(chunk);
    words
        .iter()
        .map(|w| format!("=?UTF-8?B?{}?=", STANDARD.encode(w.as_bytes())))
        .collect::<Vec<_>>()
        .join("\n ")
}

/// When a time comes, in UTC, for a notification.
pub fn describe_time(at: u64) -> String {
    let days = at / 86400;
    let secs = at % 86400;
    let (y, m, d) = crate::numbers::civil_from_days(days as i64);
    format!(
        "on {y:04}-{m:02}-{d:02} at {:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_encodings() {
        assert_eq!(describe_time(86_400 + 3_660), "on 1970-01-02 at 01:01 UTC");
        assert_eq!(encode_subject("Hi"), "Hi");
        assert_eq!(encode_subject("café"), "=?UTF-8?B?Y2Fmw6k=?=");
        // Long subjects in several words, each within a header line.
        let long = "Einladung zur Übergabe, ".repeat(6);
        let encoded = encode_subject(&long);
        let words: Vec<&str> = encoded.split("\n ").collect();
        assert!(
            words.len() > 1 && words.iter().all(|w| w.len() <= 75),
            "{encoded}"
        );
        let decoded: String = words
            .iter()
            .map(|w| {
                use base64::Engine;
                let inner = &w["=?UTF-8?B?".len()..w.len() - 2];
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(inner)
                    .unwrap();
                String::from_utf8(bytes).unwrap()
            })
            .collect();
        assert_eq!(decoded, long);
    }

    #[test]
    fn who_may_release() {
        assert!(may_release(&Actor::Sender, "sender"));
        assert!(!may_release(&Actor::Sender, "admin"));
        assert!(may_release(&Actor::Admin("ann".into()), "admin"));
        assert!(!may_release(&Actor::Admin("ann".into()), "nobody"));
    }

    #[test]
    fn a_release_runs_its_commands_once_and_a_failure_keeps_it_held() {
        let dir = tempfile::tempdir().unwrap();
        let ran = dir.path().join("ran");
        let settings = HoldConfig {
            store: dir.path().join("held.sqlite"),
            secret_file: dir.path().join("secret"),
            release_commands: vec![vec![
                "sh".into(),
                "-c".into(),
                format!("echo {{id}} >> {}", ran.display()),
            ]],
            discard_commands: vec![vec!["false".into()]],
            ..HoldConfig::default()
        };
        let holder = Holder::new(settings).unwrap();
        let (recipients, findings) = (vec!["a@b.example".to_string()], vec![]);
        let hold = Hold {
            queue_id: "Q1",
            sender: "",
            recipients: &recipients,
            subject: "s",
            findings: &findings,
            rules: &findings,
            worst: Some(Severity::Warning),
        };
        let held = holder.hold(&hold, 10).unwrap();
        assert_eq!(held.releaser, "sender");
        let failed = holder.discard(held.id, &Actor::Sender, "", 11);
        assert!(matches!(failed, Outcome::Failed(_)), "{failed:?}");
        assert_eq!(
            holder.release(held.id, &Actor::Sender, "intended", 12),
            Outcome::Done
        );
        assert_eq!(
            holder.release(held.id, &Actor::Admin("ann".into()), "", 13),
            Outcome::AlreadyDecided("released".into())
        );
        assert_eq!(std::fs::read_to_string(&ran).unwrap(), "Q1\n");
        let events: Vec<String> = holder
            .store()
            .audit_log(0, 10)
            .unwrap()
            .into_iter()
            .map(|e| format!("{} {}", e.event, e.actor))
            .collect();
        assert_eq!(
            events,
            ["hold maillint", "discard-failed sender", "release sender"]
        );
        let stopped = Hold {
            worst: None,
            ..hold
        };
        let admin_only = holder.hold(&stopped, 20).unwrap();
        assert_eq!(
            holder.release(admin_only.id, &Actor::Sender, "", 21),
            Outcome::NotAllowed
        );
    }
}
