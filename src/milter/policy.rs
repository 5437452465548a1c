//! What the gateway does with a message: whether it is outgoing, its
//! check and storm count, and the action its findings call for.

use super::budget::Budget;
use super::learner::Learner;
use super::log::Log;
use super::metrics::Metrics;
use super::storm;
use crate::config::{Action, Config, MilterConfig, Mode};
use crate::finding::{Finding, Severity};
use crate::history::Record;
use crate::hold::{Hold, Holder};
use crate::linter::{Linter, Selection};
use crate::message::Field;
use std::io::Write;
use std::net::IpAddr;
use std::sync::Arc;

/// Everything a connection needs: the linter, the settings, the log.
pub struct Gateway {
    linter: Linter,
    pub(super) settings: MilterConfig,
    /// Reply-all storm protection, unless switched off.
    storm: Option<storm::Storm>,
    pub(super) log: Arc<Log>,
    pub(super) metrics: Metrics,
    /// The bytes held for all connections at once.
    pub(super) budget: Budget,
    /// Held mail, where an action is `confirm`.
    holder: Option<Holder>,
    /// `[hold] help`: where senders ask, in the text of a rejection.
    pub(super) help: Option<String>,
    /// Learning as mail leaves, where `[history] index` is set and the
    /// gateway serves the MTA (a replay learns nothing).
    learner: Option<Learner>,
}

/// What the gateway decided for one message, and what to tell the MTA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// What the gateway does.
    pub action: Action,
    /// What it would have done with nothing in audit (`[milter] mode`,
    /// `audit_rules`): the same as `action` unless something was audited.
    pub would: Action,
    /// Rule ids of the findings that count, most severe first.
    pub rules: Vec<String>,
    /// Rules among `rules` whose findings were only logged (audit): the
    /// sender sees none of them.
    pub audited: Vec<String>,
    /// Lines for the SMTP reply, the hold reason or the header (the
    /// findings of the rules not audited).
    pub lines: Vec<String>,
    /// Why the message was not checked, when it was not.
    pub fault: Option<String>,
    /// Rules the sender's `X-Maillint-Allow` silenced (only where
    /// `[milter] inline_allow` honours it).
    pub allowed: Vec<String>,
    /// The severity of the worst finding that counts, when one does.
    pub worst: Option<Severity>,
    /// The message's subject, decoded, when it was read (for held mail).
    pub subject: Option<String>,
}

impl Decision {
    pub(super) fn accept() -> Decision {
        Decision {
            action: Action::Accept,
            would: Action::Accept,
            rules: Vec::new(),
            audited: Vec::new(),
            lines: Vec::new(),
            fault: None,
            allowed: Vec::new(),
            worst: None,
            subject: None,
        }
    }

    /// Raises what would happen to the message to at least `action`, and
    /// what does happen unless `audited`.
    fn raise(&mut self, action: Action, audited: bool) {
        self.would = self.would.max(action);
        if !audited {
            self.action = self.action.max(action);
        }
    }

    /// The rules the sender is told of: those not audited.
    pub fn enforced_rules(&self) -> impl Iterator<Item = &str> {
        self.rules
            .iter()
            .filter(|r| !self.audited.contains(r))
            .map(String::as_str)
    }
}

/// One message as the MTA handed it over.
#[derive(Debug, Default)]
pub struct Envelope {
    pub queue_id: Option<String>,
    /// MAIL FROM, without angle brackets (`""` for the null sender).
    pub sender: String,
    /// RCPT TO, without angle brackets.
    pub recipients: Vec<String>,
    /// SMTP-authenticated user (`{auth_authen}`).
    pub authenticated: Option<String>,
    pub client: Option<IpAddr>,
    /// The MTA's name for the service that received it (`{daemon_name}`).
    pub daemon: Option<String>,
    /// Submitted on the server itself, not over the network: the MTA gave
    /// no client port (Postfix's `non_smtpd_milters`) or no address.
    pub local: bool,
}

impl Gateway {
    /// The gateway over a configuration: `log` receives one line per
    /// decision. Without the held-mail store (a replay decides, holds
    /// nothing): a `confirm` it meets asks for a later try.
    pub fn new(config: Config, log: Box<dyn Write + Send>) -> Result<Gateway, String> {
        Gateway::assemble(config, Log::new(log), false)
    }

    /// The gateway that serves the MTA: with the held-mail store, opened
    /// now so that a store it cannot write stops the start, and learning
    /// as mail leaves where `[history] index` is set (the index created
    /// now if need be, so that the history rules read it from the start).
    pub(super) fn with_log(config: Config, log: Log) -> Result<Gateway, String> {
        Gateway::assemble(config, log, true)
    }

    fn assemble(config: Config, log: Log, serves: bool) -> Result<Gateway, String> {
        let log = Arc::new(log);
        let settings = config.milter.clone();
        // A misspelt rule would be enforced while the site believes it
        // tried out.
        let known = |id: &str| {
            id == "storm"
                || crate::rules::find(id).is_some()
                || config.custom.iter().any(|c| c.id == id)
        };
        if let Some(id) = settings.audit_rules.iter().find(|id| !known(id)) {
            return Err(format!(
                "[milter] audit_rules: unknown rule `{id}` (see `maillint rules`)"
            ));
        }
        let storm = if config.storm.enabled {
            Some(storm::Storm::new(config.storm.clone())?)
        } else {
            None
        };
        let budget = Budget::new(settings.memory_budget_mb.saturating_mul(1 << 20));
        // At the gateway the sender's own allowances would switch its checks
        // off for their message: ignored unless the site wants them.
        let selection = Selection {
            no_inline_allow: !settings.inline_allow,
            ..Selection::default()
        };
        let holder = if serves && confirms(&config) {
            Some(Holder::new(config.hold.clone())?)
        } else {
            None
        };
        // Before the linter, which opens the index for reading only if it
        // exists.
        let learner = if serves {
            Learner::start(&config, holder.is_some(), Arc::clone(&log))?
        } else {
            None
        };
        let help = config.hold.help.clone();
        let linter = Linter::new(config, &selection).map_err(|e| e.to_string())?;
        // Said once, in the log where the gateway's administrator looks.
        for warning in linter.warnings() {
            log.line(&format!("maillint milter: warning: {warning}"));
        }
        Ok(Gateway {
            linter,
            settings,
            storm,
            log,
            metrics: Metrics::new(),
            budget,
            holder,
            help,
            learner,
        })
    }

    /// Bytes held now for all connections (messages being rebuilt,
    /// envelopes, events being read), at most `[milter] memory_budget_mb`.
    pub fn held_bytes(&self) -> u64 {
        self.budget.held()
    }

    /// The most [`held_bytes`](Self::held_bytes) has been.
    pub fn held_bytes_peak(&self) -> u64 {
        self.budget.peak()
    }

    /// What an administrator checks first, for the start-up line: the
    /// configuration file, the organisation's domains, how outgoing mail
    /// is told apart, and the storm store with whether it answered.
    pub fn describe(&self) -> String {
        let config = self.linter.config();
        let source = config
            .source
            .as_ref()
            .map_or("none (defaults)".to_string(), |p| p.display().to_string());
        let s = &self.settings;
        let mut outgoing = vec![
            "logged-in senders".to_string(),
            "mail submitted on this server".to_string(),
        ];
        if !s.submission_daemons.is_empty() {
            outgoing.push(format!("daemon {}", s.submission_daemons.join(" or ")));
        }
        if !s.networks.is_empty() {
            let networks: Vec<String> = s.networks.iter().map(ToString::to_string).collect();
            outgoing.push(format!("clients in {}", networks.join(" ")));
        }
        if s.outgoing_by_sender_domain {
            outgoing.push("senders in the domains".to_string());
        }
        let storm = self
            .storm
            .as_ref()
            .map_or("off".to_string(), storm::Storm::describe_store);
        format!(
            "config={} domains={} outgoing={} storm={}",
            super::log::quoted(&source),
            super::log::quoted(&config.organization.domains.join(",")),
            super::log::quoted(&outgoing.join(", ")),
            super::log::quoted(&storm)
        )
    }

    /// Records a message the MTA is told to hold for its sender's
    /// confirmation (`maillint web` tells the sender).
    /// Its number in the held-mail store.
    pub(super) fn hold(&self, envelope: &Envelope, decision: &Decision) -> Result<i64, String> {
        let holder = self
            .holder
            .as_ref()
            .ok_or("no held-mail store is configured")?;
        let queue_id = envelope
            .queue_id
            .as_deref()
            .filter(|id| crate::hold::mta::valid_queue_id(id))
            .ok_or("the MTA gave no queue id (Postfix: macro i)")?;
        let now = crate::hold::now();
        let held = holder.hold(
            &Hold {
                queue_id,
                sender: &envelope.sender,
                recipients: &envelope.recipients,
                subject: decision.subject.as_deref().unwrap_or(""),
                findings: &decision.lines,
                rules: &decision.rules,
                worst: decision.worst,
            },
            now,
        )?;
        Ok(held.id)
    }

    /// A message left (accepted or tagged, or in audit, whatever was
    /// found): its sender's history learns its recipients, on the
    /// learner's thread. The one place the gateway hands over mail that
    /// went out; a held message released later is learned by the learner
    /// itself (see [`Gateway::held_for_confirmation`]).
    pub(super) fn learned(&self, record: Record) {
        if let Some(learner) = &self.learner {
            learner.learn(record);
        }
    }

    /// A message is held for its sender's confirmation as `id` in the
    /// held-mail store: its record waits to be learned if it is released.
    pub(super) fn held_for_confirmation(&self, id: i64, record: &Record) {
        if let Some(learner) = &self.learner {
            learner.held(id, record);
        }
    }

    pub(super) fn max_message_size(&self) -> u64 {
        self.linter.config().input.max_message_size
    }

    /// Whether the message leaves the organisation, by what the MTA
    /// vouches for: an SMTP-authenticated user, a client in `networks`,
    /// the MTA's submission service (`submission_daemons`) or a submission
    /// on the server itself. The envelope sender's domain, which anyone
    /// can claim, only where `outgoing_by_sender_domain` says so.
    /// Anything else is inbound and passes untouched.
    pub fn is_outgoing(&self, envelope: &Envelope) -> bool {
        let settings = &self.settings;
        envelope.local
            || envelope
                .authenticated
                .as_deref()
                .is_some_and(|a| !a.is_empty())
            || envelope
                .client
                .is_some_and(|ip| settings.networks.iter().any(|n| n.contains(ip)))
            || envelope.daemon.as_deref().is_some_and(|d| {
                settings
                    .submission_daemons
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(d))
            })
            || (settings.outgoing_by_sender_domain
                && sender_domain(&envelope.sender).is_some_and(|d| self.is_internal(&d)))
    }

    fn is_internal(&self, domain: &str) -> bool {
        crate::audience::is_internal(domain, &self.linter.config().organization.domains)
    }

    /// Who a message counts against for the sending limit: the login when
    /// the sender logged in, else the envelope sender without what varies
    /// for one mailbox (a `+tag`, quoting, case, a subdomain of the
    /// organisation), so that `boss+1@` and `"Boss"@mail.` count as one.
    pub fn sender_key(&self, envelope: &Envelope) -> String {
        if let Some(login) = envelope.authenticated.as_deref().filter(|a| !a.is_empty()) {
            return format!("login:{}", login.to_lowercase());
        }
        let (local, domain) = match envelope.sender.rsplit_once('@') {
            Some((local, _)) => (local, sender_domain(&envelope.sender).unwrap_or_default()),
            None => (envelope.sender.as_str(), String::new()),
        };
        let local = local
            .strip_prefix('"')
            .and_then(|l| l.strip_suffix('"'))
            .map_or_else(|| local.to_string(), |l| l.replace('\\', ""));
        let local = local.split('+').next().unwrap_or_default().to_lowercase();
        let domains = &self.linter.config().organization.domains;
        let domain = domains
            .iter()
            .find(|org| crate::audience::is_internal(&domain, std::slice::from_ref(org)))
            .cloned()
            .unwrap_or(domain);
        format!("address:{local}@{domain}")
    }

    /// Checks one outgoing message, rebuilt from the MTA's events, with
    /// its envelope recipients (those not in the headers are its Bcc), then
    /// counts it for storm protection.
    pub fn judge(&self, raw: Vec<u8>, envelope: &Envelope) -> Decision {
        self.judge_to_learn(raw, envelope).0
    }

    /// [`judge`](Self::judge), with the record its sender's history learns
    /// if the message leaves (see [`learned`](Self::learned)): made only
    /// where the gateway learns, and only for a message that may leave.
    pub(super) fn judge_to_learn(
        &self,
        raw: Vec<u8>,
        envelope: &Envelope,
    ) -> (Decision, Option<Record>) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let started = std::time::Instant::now();
        let judged = self.parse_and_judge(raw, envelope, now);
        self.metrics.checked(started.elapsed());
        judged
    }

    /// Logs and counts what was decided for a message.
    pub(super) fn decided(
        &self,
        envelope: &Envelope,
        message_id: Option<&str>,
        decision: &Decision,
    ) {
        self.log.decision(envelope, message_id, decision);
        self.metrics.decided(decision);
    }

    /// The gateway's metrics, in the text format Prometheus reads (what
    /// `/metrics` serves).
    pub fn metrics(&self) -> String {
        self.metrics.encode()
    }

    /// [`judge`](Self::judge) at `now` (seconds since the epoch), for
    /// replaying mail over simulated time.
    pub fn judge_at(&self, raw: Vec<u8>, envelope: &Envelope, now: u64) -> Decision {
        self.parse_and_judge(raw, envelope, now).0
    }

    fn parse_and_judge(
        &self,
        raw: Vec<u8>,
        envelope: &Envelope,
        now: u64,
    ) -> (Decision, Option<Record>) {
        let fault = |reason: String| (self.not_checked(self.settings.on_fault, reason), None);
        let mut message = match crate::message::parse_rfc5322_owned(raw, 1) {
            Ok(m) => m,
            Err(e) => return fault(e.to_string()),
        };
        if let Err(e) = message.add_recipients(Field::Bcc, &envelope.recipients) {
            return fault(e.to_string());
        }
        let decision = self.judge_message(&message, envelope, now);
        let record = self
            .learner
            .as_ref()
            .filter(|_| decision.action <= Action::Confirm)
            .and_then(|learner| {
                learner.record(
                    &history_key(envelope),
                    &message,
                    envelope.queue_id.as_deref(),
                )
            });
        (decision, record)
    }

    /// [`judge_at`](Self::judge_at) for a message already parsed, its
    /// envelope recipients among its own.
    pub(super) fn judge_message(
        &self,
        message: &crate::message::Message,
        envelope: &Envelope,
        now: u64,
    ) -> Decision {
        let fault = |reason: String| self.not_checked(self.settings.on_fault, reason);
        // By the sender's own history only: nothing another sender wrote
        // may show in their findings.
        let sender = history_key(envelope);
        let (findings, audience) =
            match crate::guard::catch_panic(|| self.linter.check_for_sender(message, &sender)) {
                Ok(checked) => checked,
                Err(panic) => return fault(format!("internal error ({panic})")),
            };
        let mut decision = self.decide(&findings);
        decision.subject = message.subject.clone();
        // Only messages that go out (or may, from quarantine) count: a
        // refused message reached nobody, and its sender may fix and resend.
        // One refused only in audit did go out.
        let goes_out = decision.action <= Action::Quarantine;
        if let Some(storm) = self.storm.as_ref().filter(|_| goes_out) {
            let verdict = storm.judge(
                message,
                &self.sender_key(envelope),
                audience.reach(),
                audience.reaches_mass_list(),
                now,
            );
            match verdict {
                storm::Verdict::Pass => {}
                storm::Verdict::Blocked(blocked) => {
                    let audited = self.audits(Some("storm"));
                    decision.raise(storm.settings().action, audited);
                    decision.rules.insert(0, "storm".into());
                    if audited {
                        decision.audited.insert(0, "storm".into());
                    } else {
                        decision.lines.insert(0, blocked.reason);
                    }
                }
                storm::Verdict::StoreError(e) => {
                    self.metrics.store_error();
                    let action = storm.settings().on_store_error;
                    self.log.line(&format!(
                        "maillint milter: warning: storm store: {}; message handled as on_store_error = {}",
                        crate::guard::one_line(&e),
                        action.as_str()
                    ));
                    decision.raise(action, self.audits(None));
                }
            }
        }
        decision
    }

    /// The action of the most severe finding, with the findings that
    /// count (suppressed ones do not).
    fn decide(&self, findings: &[Finding]) -> Decision {
        let mut allowed: Vec<String> = Vec::new();
        for f in findings.iter().filter(|f| f.suppressed) {
            if !allowed.iter().any(|r| *r == f.rule) {
                allowed.push(f.rule.to_string());
            }
        }
        let mut counted: Vec<&Finding> = findings.iter().filter(|f| !f.suppressed).collect();
        counted.sort_by_key(|f| std::cmp::Reverse(f.severity));
        let mut decision = Decision {
            allowed,
            worst: counted.first().map(|f| f.severity),
            ..Decision::accept()
        };
        for f in &counted {
            let audited = self.audits(Some(&f.rule));
            decision.raise(self.settings.action_for(f.severity, &f.rule), audited);
            if !decision.rules.iter().any(|r| *r == f.rule) {
                decision.rules.push(f.rule.to_string());
                if audited {
                    decision.audited.push(f.rule.to_string());
                }
            }
            if !audited {
                let line = format!("{} [{}]: {}", f.severity, f.rule, f.message);
                decision.lines.push(line);
            }
        }
        decision
    }

    /// Whether what `rule` calls for (`None`: a message maillint could
    /// not check, or a store that did not answer) is only logged: in
    /// audit mode, or for a rule in `audit_rules`.
    fn audits(&self, rule: Option<&str>) -> bool {
        self.settings.mode == Mode::Audit
            || rule.is_some_and(|rule| self.settings.audit_rules.iter().any(|r| r == rule))
    }

    /// The decision for a message maillint could not check, and why.
    pub(super) fn not_checked(&self, action: Action, reason: String) -> Decision {
        let mut decision = Decision {
            lines: vec![format!("maillint could not check this message: {reason}")],
            fault: Some(reason),
            ..Decision::accept()
        };
        decision.raise(action, self.audits(None));
        decision
    }
}

/// Whether any action of the configuration is `confirm`: only then does
/// the gateway need its held-mail store.
fn confirms(config: &Config) -> bool {
    let m = &config.milter;
    [m.error, m.warning, m.info, m.on_fault, m.on_oversize]
        .into_iter()
        .chain(m.rule_actions.values().copied())
        .chain(config.storm.enabled.then_some(config.storm.action))
        .any(|a| a == Action::Confirm)
}

/// Whose history judges a message and learns it: the SMTP login, else the
/// envelope sender (see [`crate::history::sender_key`], which
/// `maillint learn --sender` keys by too).
fn history_key(envelope: &Envelope) -> String {
    crate::history::sender_key(envelope.authenticated.as_deref(), &envelope.sender)
}

/// The envelope sender's domain, lowercased, without a final dot.
fn sender_domain(sender: &str) -> Option<String> {
    sender
        .rsplit_once('@')
        .map(|(_, d)| d.trim_end_matches('.').to_ascii_lowercase())
}
