//! `maillint simulate`: past sent mail replayed through the gateway under
//! the configuration in force and a new one, to see before a change which
//! messages it would newly stop or newly let through.

use super::{Action, Decision, Envelope, Gateway};
use crate::config::Config;
use crate::guard::one_line;
use crate::input::{Input, Item, Limits, Origin};
use crate::report::Summarised;
use serde::Serialize;
use std::io::{self, Write};

/// What one configuration does with a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub action: &'static str,
    /// The rules whose findings count, most severe first.
    pub rules: Vec<String>,
}

impl Outcome {
    fn of(decision: &Decision) -> Outcome {
        Outcome {
            action: decision.action.as_str(),
            rules: decision.rules.clone(),
        }
    }

    /// `tag (mass-list, cc-exposure)`, or the action alone.
    fn described(&self) -> String {
        if self.rules.is_empty() {
            self.action.to_string()
        } else {
            format!("{} ({})", self.action, self.rules.join(", "))
        }
    }
}

/// How a message's fate changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// It went out (perhaps tagged), and would be held, deferred or refused.
    NewlyStopped,
    /// It was held, deferred or refused, and would go out.
    NewlyLetThrough,
    /// Another action on the same side of that line (tagged instead of
    /// accepted, held instead of refused, ...).
    Changed,
}

/// One message the new configuration treats otherwise.
#[derive(Debug, Clone, Serialize)]
pub struct Difference {
    pub source: Origin,
    pub message_id: Option<String>,
    pub change: Change,
    pub current: Outcome,
    pub new: Outcome,
}

/// An input that could not be read.
#[derive(Debug, Clone, Serialize)]
pub struct Unread {
    pub source: Origin,
    pub error: String,
}

/// The replay of a set of messages.
#[derive(Debug, Default, Serialize)]
pub struct Simulation {
    /// Messages replayed.
    pub messages: u64,
    pub unchanged: u64,
    pub newly_stopped: u64,
    pub newly_let_through: u64,
    pub changed: u64,
    /// The messages treated otherwise, in input order.
    pub differences: Vec<Difference>,
    pub errors: Vec<Unread>,
}

/// For a person: the messages treated otherwise, by kind of change, and
/// the counts.
impl Summarised for Simulation {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        for (change, title) in [
            (Change::NewlyStopped, "Newly stopped"),
            (Change::NewlyLetThrough, "Newly let through"),
            (Change::Changed, "Otherwise changed"),
        ] {
            let listed: Vec<&Difference> = self
                .differences
                .iter()
                .filter(|d| d.change == change)
                .collect();
            if listed.is_empty() {
                continue;
            }
            writeln!(out, "{title} ({}):", listed.len())?;
            for d in listed {
                writeln!(
                    out,
                    "  {} {}\n    now {}, would be {}",
                    one_line(&d.source.to_string()),
                    one_line(d.message_id.as_deref().unwrap_or("(no Message-ID)")),
                    d.current.described(),
                    d.new.described(),
                )?;
            }
            writeln!(out)?;
        }
        writeln!(
            out,
            "{} messages: {} newly stopped, {} newly let through, {} otherwise changed, {} unchanged",
            self.messages, self.newly_stopped, self.newly_let_through, self.changed, self.unchanged
        )
    }
}

/// Replays `inputs` (mailboxes, Maildirs, files of sent mail) through a
/// gateway configured by `current` and one configured by `new`, in
/// order, each message at the time its Date header gives (the storm
/// counts across messages). Each message is taken as outgoing, from its
/// From address; both configurations count storms in memory, never in
/// the store they may share with the running gateways.
pub fn simulate(inputs: &[Input], current: Config, new: Config) -> Result<Simulation, String> {
    let gateway = |mut config: Config| {
        config.storm.store = None;
        Gateway::new(config, Box::new(std::io::sink()))
    };
    let limits = Limits {
        max_message_size: current
            .input
            .max_message_size
            .max(new.input.max_message_size),
    };
    let (current, new) = (gateway(current)?, gateway(new)?);
    let mut simulation = Simulation::default();
    // A message without a date is taken to follow the one before.
    let mut clock = 0;
    crate::input::read_inputs(inputs, &limits, &mut |item| {
        let mut raw = match item {
            Item::Message(raw) => raw,
            Item::Error { source, error } => {
                simulation.errors.push(Unread { source, error });
                return;
            }
        };
        let size = raw.bytes.len() as u64;
        let source = raw.located_source();
        let message = raw.parse().map_err(|e| e.to_string());
        if let Ok(message) = &message
            && let Some(time) = date(message)
        {
            clock = time;
        }
        let now = clock;
        let judge = |gateway: &Gateway, message: &Result<crate::message::Message, String>| {
            if size > gateway.max_message_size() {
                let limit = crate::input::format_size(gateway.max_message_size());
                return gateway.not_checked(
                    gateway.settings.on_oversize,
                    format!("message larger than {limit}"),
                );
            }
            match message {
                Ok(message) => {
                    let envelope = Envelope {
                        sender: message
                            .sender()
                            .map_or_else(String::new, |a| a.addr.to_string()),
                        local: true,
                        ..Envelope::default()
                    };
                    gateway.judge_message(message, &envelope, now)
                }
                Err(e) => gateway.not_checked(gateway.settings.on_fault, e.clone()),
            }
        };
        let (before, after) = (judge(&current, &message), judge(&new, &message));
        simulation.messages += 1;
        // Held for the sender's confirmation is stopped too, until released.
        let stopped = |action: Action| action >= Action::Confirm;
        let change = match (stopped(before.action), stopped(after.action)) {
            _ if before.action == after.action => None,
            (false, true) => Some(Change::NewlyStopped),
            (true, false) => Some(Change::NewlyLetThrough),
            _ => Some(Change::Changed),
        };
        let Some(change) = change else {
            simulation.unchanged += 1;
            return;
        };
        *match change {
            Change::NewlyStopped => &mut simulation.newly_stopped,
            Change::NewlyLetThrough => &mut simulation.newly_let_through,
            Change::Changed => &mut simulation.changed,
        } += 1;
        simulation.differences.push(Difference {
            source,
            message_id: message.ok().and_then(|m| m.message_id),
            change,
            current: Outcome::of(&before),
            new: Outcome::of(&after),
        });
    });
    Ok(simulation)
}

/// The message's Date, in seconds since the epoch.
fn date(message: &crate::message::Message) -> Option<u64> {
    let value = message.header("Date")?.value;
    let date = mail_parser::DateTime::parse_rfc822(value)?;
    u64::try_from(date.to_timestamp()).ok()
}
