//! One MTA connection: negotiation, the events of each message, the
//! message rebuilt from its header and body events, and the answer at
//! end-of-message.

use super::budget::Share;
use super::macros::Macros;
use super::protocol::{self, Command, Reply, action, flag};
use super::{Action, Decision, Envelope, Gateway};

/// Protocol flags asked of the MTA (it grants those it can): no HELO,
/// DATA or unknown SMTP commands, which maillint has no use for, and
/// header values exactly as written.
const WANTED_FLAGS: u32 =
    flag::NO_HELO | flag::NO_DATA | flag::NO_UNKNOWN | flag::HEADER_LEADING_SPACE;

/// On a pipelined connection the MTA need not wait for the answers that
/// are always "continue": a round trip less for each of these events,
/// most of the milter's latency and of its CPU time (task switches).
const NO_REPLY_FLAGS: u32 = flag::NO_REPLY_CONNECT
    | flag::NO_REPLY_HELO
    | flag::NO_REPLY_RCPT
    | flag::NO_REPLY_DATA
    | flag::NO_REPLY_HEADER
    | flag::NO_REPLY_END_OF_HEADERS
    | flag::NO_REPLY_BODY;

const WANTED_ACTIONS: u32 = action::ADD_HEADERS | action::CHANGE_HEADERS | action::QUARANTINE;

/// The header a tagged message gets.
const TAG_HEADER: &str = "X-Maillint";

/// One MTA connection as a state machine: events in, answers out. The
/// server reads the events and writes the answers (`super::server`).
pub(super) struct Session<'g> {
    gateway: &'g Gateway,
    /// Flags wanted of the MTA on this connection.
    wanted: u32,
    /// Protocol flags and actions agreed with the MTA.
    flags: u32,
    actions: u32,
    macros: Macros,
    client: Option<std::net::IpAddr>,
    /// The MTA gave no network client (see [`Envelope::local`]).
    local: bool,
    /// Between MAIL and end-of-message or abort.
    in_message: bool,
    outgoing: bool,
    envelope: Envelope,
    message_id: Option<String>,
    /// The message as rebuilt so far (outgoing mail only).
    raw: Vec<u8>,
    oversize: bool,
    /// What the message holds of the gateway's memory budget: the
    /// rebuilt bytes and the envelope's recipients.
    held: Share<'g>,
    /// What the connection's macros hold of it.
    macros_held: Share<'g>,
    /// Why the message cannot be checked now: a limit of the gateway's
    /// own was reached, and the MTA is asked to try again later.
    over_limit: Option<String>,
    /// How many `X-Maillint-Allow` and `X-Maillint` headers the message
    /// came with: removed before it goes out.
    allow_headers: u32,
    tag_headers: u32,
}

/// What to do after an event.
pub(super) enum Step {
    Silent,
    Send(Vec<Reply>),
    Close,
}

impl<'g> Session<'g> {
    pub(super) fn new(gateway: &'g Gateway, pipelined: bool) -> Self {
        Session {
            gateway,
            wanted: if pipelined {
                WANTED_FLAGS | NO_REPLY_FLAGS
            } else {
                WANTED_FLAGS
            },
            flags: 0,
            actions: 0,
            macros: Macros::default(),
            client: None,
            local: false,
            in_message: false,
            outgoing: false,
            envelope: Envelope::default(),
            message_id: None,
            raw: Vec::new(),
            oversize: false,
            held: Share::new(&gateway.budget),
            macros_held: Share::new(&gateway.budget),
            over_limit: None,
            allow_headers: 0,
            tag_headers: 0,
        }
    }

    /// Between MAIL and the end of the message.
    pub(super) fn in_message(&self) -> bool {
        self.in_message
    }

    pub(super) fn handle(&mut self, command: Command) -> Step {
        match command {
            Command::Negotiate {
                version,
                actions,
                flags,
            } => {
                self.flags = self.wanted & flags;
                self.actions = WANTED_ACTIONS & actions;
                Step::Send(vec![Reply::Negotiate {
                    version: protocol::VERSION.min(version),
                    actions: self.actions,
                    flags: self.flags,
                }])
            }
            Command::Macros { stage, pairs } => {
                self.macros.set(stage, pairs);
                // Kept for the whole connection: held with the rest.
                if self.macros_held.resize(self.macros.bytes() as u64) {
                    Step::Silent
                } else {
                    self.gateway.log.line(&format!(
                        "maillint milter: limit reached: the macros would take the gateway past the {} it holds for all connections ([milter] memory_budget_mb); connection closed{}",
                        crate::input::format_size(self.gateway.budget.limit()),
                        self.during()
                    ));
                    Step::Close
                }
            }
            Command::Connect {
                family,
                port,
                address,
                ..
            } => {
                // Each event forgets the macros of the stages after it, as
                // libmilter does: its own came just before it.
                self.macros.clear_after(b'C');
                self.client = address.trim_start_matches("IPv6:").parse().ok();
                self.local = family == b'U' || port == 0;
                self.carry_on(flag::NO_REPLY_CONNECT)
            }
            Command::Helo(_) => {
                self.macros.clear_after(b'H');
                self.carry_on(flag::NO_REPLY_HELO)
            }
            Command::Mail(args) => {
                self.reset_message();
                self.macros.clear_after(b'M');
                self.in_message = true;
                self.envelope = Envelope {
                    queue_id: None,
                    sender: unbracket(args.first().map_or("", String::as_str)),
                    recipients: Vec::new(),
                    authenticated: self.macros.get("{auth_authen}").map(str::to_string),
                    client: self.client,
                    daemon: self.macros.get("{daemon_name}").map(str::to_string),
                    local: self.local,
                };
                self.outgoing = self.gateway.is_outgoing(&self.envelope);
                if self.outgoing {
                    Step::Send(vec![Reply::Continue])
                } else {
                    // Inbound: nothing more of this message is needed.
                    self.envelope.queue_id = self.queue_id().map(str::to_string);
                    self.gateway
                        .decided(&self.envelope, None, &Decision::accept());
                    self.in_message = false;
                    Step::Send(vec![Reply::Accept])
                }
            }
            Command::Rcpt(args) => {
                self.macros.clear_after(b'R');
                if let Some(address) = args.first() {
                    self.add_recipient(unbracket(address));
                }
                self.carry_on(flag::NO_REPLY_RCPT)
            }
            Command::Header { name, value } => {
                if name.eq_ignore_ascii_case("Message-ID") {
                    self.message_id = Some(String::from_utf8_lossy(&value).trim().to_string());
                } else if name.eq_ignore_ascii_case(crate::allow::ALLOW_HEADER) {
                    self.allow_headers += 1;
                } else if name.eq_ignore_ascii_case(TAG_HEADER) {
                    self.tag_headers += 1;
                }
                if self.outgoing {
                    let mut line = Vec::with_capacity(name.len() + value.len() + 4);
                    line.extend_from_slice(name.as_bytes());
                    line.push(b':');
                    if self.flags & flag::HEADER_LEADING_SPACE == 0 {
                        line.push(b' ');
                    }
                    // Continuation lines come separated by bare newlines.
                    for &b in &value {
                        if b == b'\n' && line.last() != Some(&b'\r') {
                            line.push(b'\r');
                        }
                        line.push(b);
                    }
                    line.extend_from_slice(b"\r\n");
                    self.append(&line);
                }
                self.carry_on(flag::NO_REPLY_HEADER)
            }
            Command::EndOfHeaders => {
                if self.outgoing {
                    self.append(b"\r\n");
                }
                self.carry_on(flag::NO_REPLY_END_OF_HEADERS)
            }
            Command::Body(chunk) => {
                if self.outgoing {
                    self.append(&chunk);
                }
                self.carry_on(flag::NO_REPLY_BODY)
            }
            Command::EndOfMessage(chunk) => {
                if self.outgoing {
                    self.append(&chunk);
                }
                let replies = self.end_of_message();
                self.reset_message();
                self.macros.clear_from(b'M');
                Step::Send(replies)
            }
            Command::Abort => {
                // After MAIL alone an abort is a plain RSET; in the middle
                // of the content it means the sender went away (or the MTA
                // gave up on the message), which an administrator should see.
                if self.in_message && (!self.raw.is_empty() || self.oversize) {
                    self.gateway.log.line(&format!(
                        "maillint milter: the MTA abandoned a message in the middle of its content (the client disconnected or the MTA refused it){}",
                        self.during()
                    ));
                }
                self.reset_message();
                self.macros.clear_from(b'M');
                Step::Silent
            }
            Command::QuitNewConnection => {
                self.reset_message();
                self.macros.clear_from(b'C');
                self.client = None;
                self.local = false;
                Step::Silent
            }
            Command::Quit => Step::Close,
            Command::Data => self.carry_on(flag::NO_REPLY_DATA),
            Command::Unknown(_) => Step::Send(vec![Reply::Continue]),
        }
    }

    /// "Continue", unless the MTA agreed not to wait for it (`no_reply`).
    fn carry_on(&self, no_reply: u32) -> Step {
        if self.flags & no_reply == 0 {
            Step::Send(vec![Reply::Continue])
        } else {
            Step::Silent
        }
    }

    /// The message in progress, for a log line about what happened to it.
    pub(super) fn during(&self) -> String {
        if self.in_message {
            format!(
                " (message queue_id={} sender={})",
                self.queue_id().unwrap_or("-"),
                super::log::mask_address(&self.envelope.sender)
            )
        } else {
            String::new()
        }
    }

    fn queue_id(&self) -> Option<&str> {
        self.macros.get("i")
    }

    /// Adds rebuilt bytes, or drops the message once it is over the limit.
    fn append(&mut self, bytes: &[u8]) {
        if self.oversize || self.over_limit.is_some() {
            return;
        }
        if (self.raw.len() + bytes.len()) as u64 > self.gateway.max_message_size() {
            self.oversize = true;
            self.raw = Vec::new();
        } else if self.hold(bytes.len()) {
            self.raw.extend_from_slice(bytes);
        }
    }

    /// Adds an envelope recipient, within `max_recipients` and the budget.
    fn add_recipient(&mut self, address: String) {
        if self.over_limit.is_some() {
            return;
        }
        let max = self.gateway.settings.max_recipients;
        if self.envelope.recipients.len() >= max {
            self.reach_limit(format!(
                "more than {max} recipients ([milter] max_recipients)"
            ));
        } else if self.hold(address.len() + std::mem::size_of::<String>()) {
            self.envelope.recipients.push(address);
        }
    }

    /// Takes `bytes` from the gateway's memory budget for this message.
    fn hold(&mut self, bytes: usize) -> bool {
        let held = self.held.grow(bytes as u64);
        if !held {
            let budget = crate::input::format_size(self.gateway.budget.limit());
            self.reach_limit(format!(
                "the gateway holds {budget} for messages being received ([milter] memory_budget_mb)"
            ));
        }
        held
    }

    /// Gives up on the message for a limit of the gateway's own: what it
    /// held is let go at once, and it is answered with a temporary failure.
    fn reach_limit(&mut self, limit: String) {
        self.gateway.log.line(&format!(
            "maillint milter: limit reached: {limit}; the message will get a temporary failure{}",
            self.during()
        ));
        self.raw = Vec::new();
        self.envelope.recipients = Vec::new();
        self.held.clear();
        self.over_limit = Some(limit);
    }

    fn reset_message(&mut self) {
        self.in_message = false;
        self.outgoing = false;
        self.envelope = Envelope::default();
        self.message_id = None;
        self.raw = Vec::new();
        self.oversize = false;
        self.held.clear();
        self.over_limit = None;
        self.allow_headers = 0;
        self.tag_headers = 0;
    }

    fn end_of_message(&mut self) -> Vec<Reply> {
        self.envelope.queue_id = self.queue_id().map(str::to_string);
        // What the sender's history learns if the message leaves.
        let mut record = None;
        let mut decision = if !self.outgoing {
            // Only when the MTA skipped MAIL: nothing to judge.
            Decision::accept()
        } else if let Some(limit) = &self.over_limit {
            let mut decision = self
                .gateway
                .not_checked(Action::Tempfail, format!("limit reached: {limit}"));
            decision.lines = vec![format!(
                "maillint could not check this message now ({limit}); try again later"
            )];
            decision
        } else if self.oversize {
            let limit = crate::input::format_size(self.gateway.max_message_size());
            let mut decision = self.gateway.not_checked(
                self.gateway.settings.on_oversize,
                format!("message larger than {limit}"),
            );
            decision.lines = vec![format!(
                "maillint could not check this message: it is larger than {limit}"
            )];
            decision
        } else {
            let raw = std::mem::take(&mut self.raw);
            let (decision, learns) = self.gateway.judge_to_learn(raw, &self.envelope);
            record = learns;
            decision
        };
        // Where the MTA cannot hold, `answer` asks for a later try instead.
        if decision.action == Action::Confirm && self.actions & action::QUARANTINE != 0 {
            match self.gateway.hold(&self.envelope, &decision) {
                Ok(id) => {
                    if let Some(record) = &record {
                        self.gateway.held_for_confirmation(id, record);
                    }
                }
                Err(e) => {
                    // Held without a record no one could find it: the
                    // sender's client tries again later instead.
                    self.gateway.log.line(&format!(
                        "maillint milter: cannot hold for confirmation: {}{}",
                        crate::guard::one_line(&e),
                        self.during()
                    ));
                    decision.action = Action::Tempfail;
                }
            }
        }
        self.gateway
            .decided(&self.envelope, self.message_id.as_deref(), &decision);
        // Only what goes out now is learned: not a refused message, nor a
        // held one (learned if released), nor one asked to come back later.
        if decision.action <= Action::Tag
            && let Some(record) = record
        {
            self.gateway.learned(record);
        }
        let mut replies = Vec::new();
        if decision.action <= Action::Quarantine {
            replies.extend(self.header_edits());
        }
        replies.extend(answer(
            &decision,
            self.actions,
            self.flags & flag::HEADER_LEADING_SPACE != 0,
            self.envelope.local,
            self.gateway.help.as_deref(),
        ));
        replies
    }

    /// Before a message goes out, the headers the sender gave that are
    /// maillint's to write: `X-Maillint-Allow` (addressed to maillint, its
    /// reason is the organisation's business) and `X-Maillint` (only
    /// maillint says what maillint found). The last first, so that the
    /// others keep their index.
    fn header_edits(&self) -> Vec<Reply> {
        if self.actions & action::CHANGE_HEADERS == 0 {
            return Vec::new();
        }
        let remove = |name: &'static str, count: u32| {
            (1..=count).rev().map(move |index| Reply::ChangeHeader {
                index,
                name: name.to_string(),
                value: String::new(),
            })
        };
        remove(crate::allow::ALLOW_HEADER, self.allow_headers)
            .chain(remove(TAG_HEADER, self.tag_headers))
            .collect()
    }
}

/// An envelope address without its angle brackets.
fn unbracket(address: &str) -> String {
    let address = address.trim();
    address
        .strip_prefix('<')
        .and_then(|a| a.strip_suffix('>'))
        .unwrap_or(address)
        .to_string()
}

/// What to send at end-of-message for a decision. Modifications come
/// before the final reply; an action the MTA did not allow falls back to
/// a temporary failure, so that nothing passes unchecked by mistake.
/// `leading_space`: the MTA takes header values as written, space after
/// the colon included. `local`: submitted on the server itself, where the
/// MTA turns a refusal into a bounce that repeats the reply once per
/// recipient, so it is kept to one line. `help`: where to ask, a last
/// line of a rejection.
fn answer(
    decision: &Decision,
    allowed: u32,
    leading_space: bool,
    local: bool,
    help: Option<&str>,
) -> Vec<Reply> {
    let first_line = if decision.fault.is_some() {
        "Message not delivered."
    } else {
        "Message not sent: maillint found problems. Fix them and send it again:"
    };
    let mut lines = vec![first_line.to_string()];
    if local {
        lines[0].push(' ');
        lines[0].push_str(decision.lines.first().map_or("", String::as_str));
        if decision.lines.len() > 1 {
            lines[0].push_str(&format!(
                " ({} more; rules: {})",
                decision.lines.len() - 1,
                decision.enforced_rules().collect::<Vec<_>>().join(", ")
            ));
        }
    } else {
        lines.extend(decision.lines.iter().cloned());
    }
    if let Some(help) = help {
        let line = format!("Questions, or if it must go out as it is: {help}");
        if local {
            lines[0].push_str(&format!(" {line}"));
        } else {
            lines.push(line);
        }
    }
    let tempfail = || {
        vec![Reply::ReplyCode(protocol::smtp_reply(
            "451", "4.7.1", &lines,
        ))]
    };
    match decision.action {
        Action::Accept => vec![Reply::Continue],
        Action::Tag if allowed & action::ADD_HEADERS != 0 => {
            let value = match &decision.fault {
                Some(fault) => format!("not checked ({fault})"),
                None => {
                    let rules: Vec<&str> = decision.enforced_rules().collect();
                    if rules.is_empty() {
                        "no findings".to_string()
                    } else {
                        rules.join(", ")
                    }
                }
            };
            let value = if leading_space {
                format!(" {value}")
            } else {
                value
            };
            vec![
                Reply::AddHeader {
                    name: TAG_HEADER.to_string(),
                    value,
                },
                Reply::Continue,
            ]
        }
        Action::Tag => vec![Reply::Continue],
        // Held for confirmation: held as quarantined, the sender told by
        // mail (`Gateway::hold`, `maillint web`).
        Action::Confirm | Action::Quarantine if allowed & action::QUARANTINE != 0 => {
            let mut reason = format!("maillint: {}", decision.lines.join("; "));
            if let Some((cut, _)) = reason.char_indices().nth(400) {
                reason.truncate(cut);
            }
            vec![
                Reply::Quarantine(crate::guard::one_line(&reason)),
                Reply::Continue,
            ]
        }
        Action::Confirm | Action::Quarantine | Action::Tempfail => tempfail(),
        Action::Reject => vec![Reply::ReplyCode(protocol::smtp_reply(
            "550", "5.7.1", &lines,
        ))],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(action: Action) -> Decision {
        Decision {
            action,
            rules: vec!["cc-exposure".into()],
            lines: vec!["error [cc-exposure]: 60 external addresses".into()],
            ..Decision::accept()
        }
    }

    #[test]
    fn a_rejection_says_where_to_ask() {
        let help = Some("helpdesk@example.org");
        let replies = answer(&decision(Action::Reject), 0, false, false, help);
        let [Reply::ReplyCode(text)] = &replies[..] else {
            panic!("{replies:?}")
        };
        assert!(
            text.ends_with(
                "550 5.7.1 Questions, or if it must go out as it is: helpdesk@example.org"
            ),
            "{text}"
        );
        let replies = answer(&decision(Action::Reject), 0, false, true, help);
        let [Reply::ReplyCode(text)] = &replies[..] else {
            panic!("{replies:?}")
        };
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains("Questions, or if it must go out as it is: helpdesk@example.org"));
    }

    #[test]
    fn confirm_holds_as_quarantine_does_or_asks_for_a_later_try() {
        let held = answer(
            &decision(Action::Confirm),
            action::QUARANTINE,
            false,
            false,
            None,
        );
        assert!(
            matches!(&held[..], [Reply::Quarantine(_), Reply::Continue]),
            "{held:?}"
        );
        let cannot = answer(&decision(Action::Confirm), 0, false, false, None);
        let [Reply::ReplyCode(text)] = &cannot[..] else {
            panic!("{cannot:?}")
        };
        assert!(text.starts_with("451"), "{text}");
    }
}
