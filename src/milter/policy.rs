//! What the gateway does with a message: whether it is outgoing, its
//! check and storm count, and the action its findings call for.

use super::log::Log;
use super::storm;
use crate::config::{Action, Config, MilterConfig};
use crate::finding::Finding;
use crate::linter::{Linter, Selection};
use crate::message::Field;
use std::io::Write;
use std::net::IpAddr;

/// Everything a connection needs: the linter, the settings, the log.
pub struct Gateway {
    linter: Linter,
    pub(super) settings: MilterConfig,
    /// Reply-all storm protection, unless switched off.
    storm: Option<storm::Storm>,
    pub(super) log: Log,
}

/// What the gateway decided for one message, and what to tell the MTA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub action: Action,
    /// Rule ids of the findings that count, most severe first.
    pub rules: Vec<String>,
    /// Lines for the SMTP reply, the hold reason or the header.
    pub lines: Vec<String>,
    /// Why the message was not checked, when it was not.
    pub fault: Option<String>,
}

impl Decision {
    pub(super) fn accept() -> Decision {
        Decision {
            action: Action::Accept,
            rules: Vec::new(),
            lines: Vec::new(),
            fault: None,
        }
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
}

impl Gateway {
    /// The gateway over a configuration: `log` receives one line per
    /// decision.
    pub fn new(config: Config, log: Box<dyn Write + Send>) -> Result<Gateway, String> {
        Gateway::with_log(config, Log::new(log))
    }

    pub(super) fn with_log(config: Config, log: Log) -> Result<Gateway, String> {
        let settings = config.milter.clone();
        let storm = if config.storm.enabled {
            Some(storm::Storm::new(config.storm.clone())?)
        } else {
            None
        };
        let linter = Linter::new(config, &Selection::default()).map_err(|e| e.to_string())?;
        // Said once, in the log where the gateway's administrator looks.
        for warning in linter.warnings() {
            log.line(&format!("maillint milter: warning: {warning}"));
        }
        Ok(Gateway {
            linter,
            settings,
            storm,
            log,
        })
    }

    pub(super) fn max_message_size(&self) -> u64 {
        self.linter.config().input.max_message_size
    }

    /// Whether the message leaves the organisation: from one of its
    /// domains, an authenticated user, or a configured client network.
    /// Anything else is inbound and passes untouched.
    pub fn is_outgoing(&self, envelope: &Envelope) -> bool {
        let domains = &self.linter.config().organization.domains;
        let sender_domain = envelope
            .sender
            .rsplit_once('@')
            .map(|(_, d)| d.trim_end_matches('.').to_ascii_lowercase());
        sender_domain.is_some_and(|d| crate::audience::is_internal(&d, domains))
            || envelope
                .authenticated
                .as_deref()
                .is_some_and(|a| !a.is_empty())
            || envelope
                .client
                .is_some_and(|ip| self.settings.networks.iter().any(|n| n.contains(ip)))
    }

    /// Checks one outgoing message, rebuilt from the MTA's events, with
    /// its envelope recipients (those not in the headers are its Bcc), then
    /// counts it for storm protection.
    pub fn judge(&self, raw: Vec<u8>, envelope: &Envelope) -> Decision {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.judge_at(raw, envelope, now)
    }

    /// [`judge`](Self::judge) at `now` (seconds since the epoch), for
    /// replaying mail over simulated time.
    pub fn judge_at(&self, raw: Vec<u8>, envelope: &Envelope, now: u64) -> Decision {
        let fault = |reason: String| Decision {
            action: self.settings.on_fault,
            rules: Vec::new(),
            lines: vec![format!("maillint could not check this message: {reason}")],
            fault: Some(reason),
        };
        let mut message = match crate::message::parse_rfc5322_owned(raw, 1) {
            Ok(m) => m,
            Err(e) => return fault(e.to_string()),
        };
        if let Err(e) = message.add_recipients(Field::Bcc, &envelope.recipients) {
            return fault(e.to_string());
        }
        let (findings, audience) =
            match crate::guard::catch_panic(|| self.linter.check_with_audience(&message)) {
                Ok(checked) => checked,
                Err(panic) => return fault(format!("internal error ({panic})")),
            };
        let mut decision = self.decide(&findings);
        // Only messages that go out (or may, from quarantine) count: a
        // refused message reached nobody, and its sender may fix and resend.
        let goes_out = decision.action <= Action::Quarantine;
        if let Some(storm) = self.storm.as_ref().filter(|_| goes_out) {
            let verdict = storm.judge(
                &message,
                &envelope.sender,
                audience.reach(),
                audience.reaches_mass_list(),
                now,
            );
            match verdict {
                storm::Verdict::Pass => {}
                storm::Verdict::Blocked(blocked) => {
                    decision.action = decision.action.max(storm.settings().action);
                    decision.rules.insert(0, "storm".into());
                    decision.lines.insert(0, blocked.reason);
                }
                storm::Verdict::StoreError(e) => {
                    let action = storm.settings().on_store_error;
                    self.log.line(&format!(
                        "maillint milter: warning: storm store: {}; message handled as on_store_error = {}",
                        crate::guard::one_line(&e),
                        action.as_str()
                    ));
                    decision.action = decision.action.max(action);
                }
            }
        }
        decision
    }

    /// The action of the most severe finding, with the findings that
    /// count (suppressed ones do not).
    fn decide(&self, findings: &[Finding]) -> Decision {
        let mut counted: Vec<&Finding> = findings.iter().filter(|f| !f.suppressed).collect();
        counted.sort_by_key(|f| std::cmp::Reverse(f.severity));
        let Some(worst) = counted.first() else {
            return Decision::accept();
        };
        let action = self.settings.action_for(worst.severity);
        let mut rules: Vec<String> = Vec::new();
        for f in &counted {
            if !rules.iter().any(|r| *r == f.rule) {
                rules.push(f.rule.to_string());
            }
        }
        let lines = counted
            .iter()
            .map(|f| format!("{} [{}]: {}", f.severity, f.rule, f.message))
            .collect();
        Decision {
            action,
            rules,
            lines,
            fault: None,
        }
    }
}
