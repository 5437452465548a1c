//! One MTA connection: negotiation, the events of each message, the
//! message rebuilt from its header and body events, and the answer at
//! end-of-message.

use super::macros::Macros;
use super::protocol::{self, Command, ProtocolError, Reply, action, flag};
use super::{Action, Decision, Envelope, Gateway};
use std::io::{BufReader, Read, Write};

pub(super) trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

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

/// Serves one connection to its end, logging how it ended when that was
/// not a clean quit. A panic here ends this connection only. `pipelined`:
/// the MTA may send events without waiting for their answers (see
/// `super::server::Server::run`).
pub(super) fn serve_connection(gateway: &Gateway, mut stream: Box<dyn Stream>, pipelined: bool) {
    let _open = gateway.metrics.connection();
    let mut session = Session::new(gateway, pipelined);
    let outcome = crate::guard::catch_panic(|| session.run(&mut stream));
    let problem = match outcome {
        Ok(Ok(())) if session.in_message => {
            "the MTA closed the connection in the middle of a message".to_string()
        }
        Ok(Ok(())) => return,
        Ok(Err(e)) if e.is_timeout() => format!(
            "the MTA was silent for {} s; connection closed",
            gateway.settings.timeout
        ),
        Ok(Err(e)) => format!("connection closed: {e}"),
        Err(panic) => format!("internal error, connection closed: {panic}"),
    };
    gateway
        .log
        .line(&format!("maillint milter: {problem}{}", session.during()));
}

struct Session<'g> {
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
    /// How many `X-Maillint-Allow` and `X-Maillint` headers the message
    /// came with: removed before it goes out.
    allow_headers: u32,
    tag_headers: u32,
}

/// What to do after an event.
enum Step {
    Silent,
    Send(Vec<Reply>),
    Close,
}

impl<'g> Session<'g> {
    fn new(gateway: &'g Gateway, pipelined: bool) -> Self {
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
            allow_headers: 0,
            tag_headers: 0,
        }
    }

    fn run(&mut self, stream: &mut impl Stream) -> Result<(), ProtocolError> {
        // A header may be as large as a whole message; body chunks are
        // small (64 KB from Postfix and Sendmail).
        let max_packet = self.gateway.max_message_size().saturating_add(64 * 1024);
        // The MTA sends macros and their event together: buffered, a
        // packet or two take one read instead of two each.
        let mut stream = BufReader::new(stream);
        while let Some(command) = protocol::read_command(&mut stream, max_packet)? {
            match self.handle(command) {
                Step::Silent => {}
                Step::Send(replies) => {
                    let bytes: Vec<u8> = replies.iter().flat_map(Reply::encode).collect();
                    let stream = stream.get_mut();
                    stream.write_all(&bytes)?;
                    stream.flush()?;
                }
                Step::Close => return Ok(()),
            }
        }
        Ok(())
    }

    fn handle(&mut self, command: Command) -> Step {
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
                Step::Silent
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
                    self.envelope.recipients.push(unbracket(address));
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
    fn during(&self) -> String {
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
        if self.oversize {
            return;
        }
        if (self.raw.len() + bytes.len()) as u64 > self.gateway.max_message_size() {
            self.oversize = true;
            self.raw = Vec::new();
        } else {
            self.raw.extend_from_slice(bytes);
        }
    }

    fn reset_message(&mut self) {
        self.in_message = false;
        self.outgoing = false;
        self.envelope = Envelope::default();
        self.message_id = None;
        self.raw = Vec::new();
        self.oversize = false;
        self.allow_headers = 0;
        self.tag_headers = 0;
    }

    fn end_of_message(&mut self) -> Vec<Reply> {
        self.envelope.queue_id = self.queue_id().map(str::to_string);
        let decision = if !self.outgoing {
            // Only when the MTA skipped MAIL: nothing to judge.
            Decision::accept()
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
            self.gateway.judge(raw, &self.envelope)
        };
        self.gateway
            .decided(&self.envelope, self.message_id.as_deref(), &decision);
        let mut replies = Vec::new();
        if decision.action <= Action::Quarantine {
            replies.extend(self.header_edits());
        }
        replies.extend(answer(
            &decision,
            self.actions,
            self.flags & flag::HEADER_LEADING_SPACE != 0,
            self.envelope.local,
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
/// recipient, so it is kept to one line.
fn answer(decision: &Decision, allowed: u32, leading_space: bool, local: bool) -> Vec<Reply> {
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
        Action::Quarantine if allowed & action::QUARANTINE != 0 => {
            let mut reason = format!("maillint: {}", decision.lines.join("; "));
            if let Some((cut, _)) = reason.char_indices().nth(400) {
                reason.truncate(cut);
            }
            vec![
                Reply::Quarantine(crate::guard::one_line(&reason)),
                Reply::Continue,
            ]
        }
        Action::Quarantine | Action::Tempfail => tempfail(),
        Action::Reject => vec![Reply::ReplyCode(protocol::smtp_reply(
            "550", "5.7.1", &lines,
        ))],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Log(Arc<Mutex<Vec<u8>>>);

    impl Write for Log {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A connection whose reading panics.
    struct Panicking;

    impl Read for Panicking {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            panic!("boom");
        }
    }

    impl Write for Panicking {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_panic_ends_its_connection_with_a_log_line() {
        let log = Log::default();
        let gateway =
            Gateway::new(crate::config::Config::default(), Box::new(log.clone())).unwrap();
        serve_connection(&gateway, Box::new(Panicking), false);
        let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text,
            "maillint milter: internal error, connection closed: boom\n"
        );
    }
}
