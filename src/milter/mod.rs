//! `maillint milter`: the gateway. A milter server for Postfix and Sendmail
//! that checks every outgoing message of an organisation at its mail
//! server, with the same rules and configuration as the command line.
//!
//! [`protocol`] speaks the wire protocol, [`session`] follows one MTA
//! connection and rebuilds each message, and [`Gateway`] decides what
//! happens to it.

pub mod protocol;
mod session;
pub mod storm;

pub use storm::StormConfig;

use crate::config::Config;
use crate::finding::{Finding, Severity};
use crate::linter::{Linter, Selection};
use crate::message::Field;
use serde::Deserialize;
use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// What the gateway does with a message, from the mildest; when two
/// checks disagree, the later one in this order wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Let it through untouched.
    Accept,
    /// Let it through with an `X-Maillint:` header naming the findings.
    Tag,
    /// Keep it in the MTA's hold queue for an administrator to release.
    Quarantine,
    /// Ask the sender's server to try again later (SMTP 451 4.7.1).
    Tempfail,
    /// Refuse it with the findings in the SMTP reply (550 5.7.1).
    Reject,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Tag => "tag",
            Action::Quarantine => "quarantine",
            Action::Tempfail => "tempfail",
            Action::Reject => "reject",
        }
    }
}

/// A client network, `10.0.0.0/8` or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Network {
    address: IpAddr,
    prefix: u8,
}

impl TryFrom<String> for Network {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let bad = || format!("`{text}` is not a network such as 10.0.0.0/8 or 2001:db8::/32");
        let (address, prefix) = match text.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text.trim(), None),
        };
        let address: IpAddr = address.parse().map_err(|_| bad())?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(Network { address, prefix })
    }
}

impl Network {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let bits = |ip: IpAddr| -> u128 {
            match ip {
                IpAddr::V4(v4) => u128::from(u32::from(v4)) << 96,
                IpAddr::V6(v6) => u128::from(v6),
            }
        };
        let ip = ip.to_canonical();
        if ip.is_ipv4() != self.address.is_ipv4() {
            return false;
        }
        let mask = u128::MAX
            .checked_shl(128 - u32::from(self.prefix))
            .unwrap_or(0);
        bits(ip) & mask == bits(self.address) & mask
    }
}

/// `[milter]`: what the gateway does, by the most severe finding of a
/// message, and how it runs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MilterConfig {
    /// A message whose most severe finding is an error.
    pub error: Action,
    pub warning: Action,
    pub info: Action,
    /// A message that could not be checked: maillint failed on it (an
    /// internal error, a message it cannot parse).
    pub on_fault: Action,
    /// A message larger than `[input] max_message_size`.
    pub on_oversize: Action,
    /// Clients whose mail counts as outgoing whatever its sender, besides
    /// senders in `organization.domains` and SMTP-authenticated users.
    pub networks: Vec<Network>,
    /// MTA connections served at once; more wait for a free slot.
    pub max_connections: usize,
    /// Seconds the MTA may stay silent on a connection before it is closed.
    pub timeout: u64,
    /// Decision log (appended to); standard error when unset.
    pub log: Option<PathBuf>,
}

impl Default for MilterConfig {
    fn default() -> Self {
        MilterConfig {
            error: Action::Reject,
            warning: Action::Tag,
            info: Action::Accept,
            on_fault: Action::Tempfail,
            on_oversize: Action::Accept,
            networks: Vec::new(),
            max_connections: 64,
            timeout: 600,
            log: None,
        }
    }
}

impl MilterConfig {
    fn action_for(&self, severity: Severity) -> Action {
        match severity {
            Severity::Error => self.error,
            Severity::Warning => self.warning,
            Severity::Info => self.info,
        }
    }
}

/// Where the milter listens: `inet:HOST:PORT` (or Sendmail's
/// `inet:PORT@HOST`) or `unix:PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    Inet(SocketAddr),
    Unix(PathBuf),
}

impl FromStr for Listen {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("`{text}`: expected inet:HOST:PORT or unix:PATH");
        if let Some(path) = text
            .strip_prefix("unix:")
            .or_else(|| text.strip_prefix("local:"))
        {
            return if path.is_empty() {
                Err(bad())
            } else {
                Ok(Listen::Unix(PathBuf::from(path)))
            };
        }
        let rest = text.strip_prefix("inet:").ok_or_else(bad)?;
        let address = match rest.split_once('@') {
            Some((port, host)) => format!("{host}:{port}"),
            None => rest.to_string(),
        };
        address.parse().map(Listen::Inet).map_err(|_| bad())
    }
}

impl fmt::Display for Listen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Listen::Inet(a) => write!(f, "inet:{a}"),
            Listen::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

/// Everything a connection needs: the linter, the settings, the log.
pub struct Gateway {
    linter: Linter,
    settings: MilterConfig,
    /// Reply-all storm protection, unless switched off.
    storm: Option<storm::Storm>,
    log: Mutex<Box<dyn Write + Send>>,
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
    fn accept() -> Decision {
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
        let settings = config.milter.clone();
        let storm = if config.storm.enabled {
            Some(storm::Storm::new(config.storm.clone())?)
        } else {
            None
        };
        let linter = Linter::new(config, &Selection::default()).map_err(|e| e.to_string())?;
        Ok(Gateway {
            linter,
            settings,
            storm,
            log: Mutex::new(log),
        })
    }

    fn max_message_size(&self) -> u64 {
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
                    self.log_line(&format!(
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

    /// Writes one decision line. The sender is masked (first character of
    /// the local part and the domain), as findings mask personal data.
    fn log_decision(&self, envelope: &Envelope, message_id: Option<&str>, decision: &Decision) {
        let mut line = format!(
            "maillint milter: queue_id={} message_id={} sender={} recipients={} rules={} action={}",
            quoted(envelope.queue_id.as_deref().unwrap_or("-")),
            quoted(message_id.unwrap_or("-")),
            quoted(&mask_address(&envelope.sender)),
            envelope.recipients.len(),
            quoted(&decision.rules.join(",")),
            decision.action.as_str(),
        );
        if let Some(fault) = &decision.fault {
            line.push_str(&format!(" fault={}", quoted(fault)));
        }
        self.log_line(&line);
    }

    /// Writes one line to the decision log; a log that cannot be written
    /// must not stop the mail.
    fn log_line(&self, line: &str) {
        let mut log = match self.log.lock() {
            Ok(log) => log,
            Err(poisoned) => poisoned.into_inner(),
        };
        // One write per line: standard error is not buffered.
        _ = log
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| log.flush());
    }
}

/// A value for a `key=value` log line: quoted, one line, at most 200
/// characters.
fn quoted(value: &str) -> String {
    let value = crate::guard::one_line(value).replace('"', "\\\"");
    match value.char_indices().nth(200) {
        Some((cut, _)) => format!("\"{}...\"", &value[..cut]),
        None => format!("\"{value}\""),
    }
}

/// `jane.doe@example.org` as `j•••@example.org`: enough for an
/// administrator to tell senders apart, not enough to read the address.
pub fn mask_address(address: &str) -> String {
    if address.is_empty() {
        return "<>".into();
    }
    let (local, domain) = address.rsplit_once('@').unwrap_or((address, ""));
    let first: String = local.chars().take(1).collect();
    if domain.is_empty() {
        format!("{first}•••")
    } else {
        format!("{first}•••@{domain}")
    }
}

/// How long a kept thread waits for another connection before it ends, so
/// that the threads of a burst (and their caches) do not stay for good.
const IDLE_THREAD_LIFETIME: Duration = Duration::from_secs(60);

/// The threads that serve connections, one connection each at a time.
/// A thread that finishes a connection waits for the next one instead of
/// ending: starting a thread per connection was a good share of the
/// milter's own work per message, and of its latency.
///
/// Two condition variables, so that each change wakes only a thread that
/// can act on it: one idle thread for a new connection, the accepting
/// thread when a connection ends (waking every thread for both was most
/// of the milter's task switches).
struct Workers {
    state: Mutex<WorkerState>,
    /// A connection waits for a thread.
    connection_waiting: Condvar,
    /// A connection ended: room for another.
    connection_ended: Condvar,
    max_connections: usize,
    idle_lifetime: Duration,
}

#[derive(Default)]
struct WorkerState {
    /// Accepted connections no thread has taken yet.
    /// With whether each is pipelined (see `Server::run`).
    waiting: VecDeque<(Box<dyn session::Stream>, bool)>,
    /// Threads waiting for a connection.
    idle: usize,
    /// Connections being served.
    busy: usize,
}

impl Workers {
    fn new(max_connections: usize, idle_lifetime: Duration) -> Workers {
        Workers {
            state: Mutex::default(),
            connection_waiting: Condvar::new(),
            connection_ended: Condvar::new(),
            max_connections: max_connections.max(1),
            idle_lifetime,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, WorkerState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until fewer than `max_connections` connections are waiting
    /// or being served, so that the others wait in the listen queue.
    fn wait_for_room(&self) {
        let mut state = self.lock();
        while state.waiting.len() + state.busy >= self.max_connections {
            state = self
                .connection_ended
                .wait(state)
                .unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Hands a connection to an idle thread, or to a new one.
    fn serve(
        self: &Arc<Self>,
        gateway: &Arc<Gateway>,
        stream: Box<dyn session::Stream>,
        pipelined: bool,
    ) {
        let mut state = self.lock();
        state.waiting.push_back((stream, pipelined));
        if state.waiting.len() <= state.idle {
            self.connection_waiting.notify_one();
            return;
        }
        let (workers, for_thread) = (Arc::clone(self), Arc::clone(gateway));
        let spawned = std::thread::Builder::new()
            .name("milter".into())
            .spawn(move || workers.work(&for_thread));
        if let Err(e) = spawned {
            // Closing the connection lets the MTA apply its default action.
            state.waiting.pop_back();
            drop(state);
            gateway.log_line(&format!("maillint milter: cannot start a thread: {e}"));
        }
    }

    fn work(&self, gateway: &Gateway) {
        let mut state = self.lock();
        loop {
            match state.waiting.pop_front() {
                Some((stream, pipelined)) => {
                    state.busy += 1;
                    drop(state);
                    session::serve_connection(gateway, stream, pipelined);
                    state = self.lock();
                    state.busy -= 1;
                    self.connection_ended.notify_one();
                }
                None => {
                    state.idle += 1;
                    let (next, waited) = self
                        .connection_waiting
                        .wait_timeout(state, self.idle_lifetime)
                        .unwrap_or_else(|p| p.into_inner());
                    state = next;
                    state.idle -= 1;
                    if waited.timed_out() && state.waiting.is_empty() {
                        return;
                    }
                }
            }
        }
    }
}

/// A milter connection over TCP that acknowledges what it reads at once.
///
/// A pipelining MTA writes several small events in a row; Nagle's
/// algorithm on its side holds each one until the one before is
/// acknowledged, and Linux delays an acknowledgement (40 ms) while the
/// receiver has nothing to send: through Postfix that stalled every
/// message 45-55 ms. Quick-ack mode does not last, so it is set after
/// every read.
#[cfg(target_os = "linux")]
struct QuickAcks(std::net::TcpStream);

#[cfg(target_os = "linux")]
impl io::Read for QuickAcks {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use std::os::linux::net::TcpStreamExt;
        let read = io::Read::read(&mut self.0, buf)?;
        _ = self.0.set_quickack(true);
        Ok(read)
    }
}

#[cfg(target_os = "linux")]
impl Write for QuickAcks {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// A bound listening socket.
pub enum Server {
    Inet(TcpListener),
    #[cfg(unix)]
    Unix(std::os::unix::net::UnixListener),
}

impl Server {
    /// Binds `listen`; a Unix socket left by an earlier run is replaced.
    pub fn bind(listen: &Listen) -> io::Result<Server> {
        match listen {
            Listen::Inet(address) => TcpListener::bind(address).map(Server::Inet),
            #[cfg(unix)]
            Listen::Unix(path) => {
                use std::os::unix::fs::FileTypeExt;
                if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
                    std::fs::remove_file(path)?;
                }
                std::os::unix::net::UnixListener::bind(path).map(Server::Unix)
            }
            #[cfg(not(unix))]
            Listen::Unix(_) => Err(io::Error::other("Unix sockets need a Unix system")),
        }
    }

    /// The TCP address bound (for a port chosen by the system).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            Server::Inet(l) => l.local_addr().ok(),
            #[cfg(unix)]
            Server::Unix(_) => None,
        }
    }

    /// Serves connections until the process ends, each on a thread of
    /// its own, at most `max_connections` at once.
    ///
    /// Connections are pipelined: the MTA sends most events without
    /// waiting for their answers. Over TCP that needs the acknowledgements
    /// of `QuickAcks`, which only Linux offers; elsewhere every event is
    /// answered there.
    pub fn run(self, gateway: Arc<Gateway>) -> io::Result<()> {
        let workers = Arc::new(Workers::new(
            gateway.settings.max_connections,
            IDLE_THREAD_LIFETIME,
        ));
        let timeout = Some(Duration::from_secs(gateway.settings.timeout.max(1)));
        loop {
            workers.wait_for_room();
            let accepted: io::Result<(Box<dyn session::Stream>, bool)> = match &self {
                Server::Inet(l) => l.accept().and_then(|(s, _)| {
                    s.set_read_timeout(timeout)?;
                    s.set_write_timeout(timeout)?;
                    _ = s.set_nodelay(true);
                    #[cfg(target_os = "linux")]
                    return Ok((Box::new(QuickAcks(s)) as Box<dyn session::Stream>, true));
                    #[cfg(not(target_os = "linux"))]
                    Ok((Box::new(s) as Box<dyn session::Stream>, false))
                }),
                #[cfg(unix)]
                Server::Unix(l) => l.accept().and_then(|(s, _)| {
                    s.set_read_timeout(timeout)?;
                    s.set_write_timeout(timeout)?;
                    Ok((Box::new(s) as Box<dyn session::Stream>, true))
                }),
            };
            match accepted {
                Ok((stream, pipelined)) => workers.serve(&gateway, stream, pipelined),
                Err(e) => {
                    gateway.log_line(&format!("maillint milter: cannot accept a connection: {e}"));
                    // Out of file descriptors and the like: do not spin.
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }
}

/// `maillint milter`: opens the log, binds, and serves until the listener
/// fails. An error says why it could not start or stopped.
pub fn serve(listen: &Listen, config: Config) -> Result<(), String> {
    let log: Box<dyn Write + Send> = match &config.milter.log {
        Some(path) => match std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
        {
            Ok(file) => Box::new(file),
            Err(e) => return Err(format!("cannot open the log {}: {e}", path.display())),
        },
        None => Box::new(io::stderr()),
    };
    let gateway = Arc::new(Gateway::new(config, log)?);
    let server = Server::bind(listen).map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    gateway.log_line(&format!("maillint milter: listening on {listen}"));
    server.run(gateway).map_err(|e| format!("{listen}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_threads_end_and_new_ones_start() {
        let config = Config::parse("", "maillint.toml").unwrap();
        let gateway = Arc::new(Gateway::new(config, Box::new(io::sink())).unwrap());
        let workers = Arc::new(Workers::new(4, Duration::from_millis(50)));
        let wait_until = |what: &str, done: &dyn Fn(&WorkerState) -> bool| {
            for _ in 0..1000 {
                if done(&workers.lock()) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            panic!("{what}");
        };
        // A connection the MTA closes at once.
        let closed = || Box::new(io::Cursor::new(Vec::new())) as Box<dyn session::Stream>;
        workers.serve(&gateway, closed(), true);
        wait_until("served, then idle", &|s| s.idle == 1);
        wait_until("ended after its lifetime", &|s| s.idle == 0 && s.busy == 0);
        workers.serve(&gateway, closed(), true);
        wait_until("a new thread for the next one", &|s| {
            s.waiting.is_empty() && s.idle == 1
        });
    }

    #[test]
    fn listen_addresses() {
        assert_eq!(
            "inet:127.0.0.1:8895".parse::<Listen>(),
            Ok(Listen::Inet("127.0.0.1:8895".parse().unwrap()))
        );
        assert_eq!(
            "inet:8895@127.0.0.1".parse::<Listen>(),
            Ok(Listen::Inet("127.0.0.1:8895".parse().unwrap()))
        );
        assert_eq!(
            "unix:/run/maillint/milter.sock".parse::<Listen>(),
            Ok(Listen::Unix("/run/maillint/milter.sock".into()))
        );
        for bad in [
            "127.0.0.1:8895",
            "inet:",
            "inet:localhost",
            "unix:",
            "tcp:1",
        ] {
            assert!(bad.parse::<Listen>().is_err(), "{bad}");
        }
    }

    #[test]
    fn networks_contain_addresses() {
        let net = |s: &str| Network::try_from(s.to_string()).unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(net("10.0.0.0/8").contains(ip("10.1.2.3")));
        assert!(!net("10.0.0.0/8").contains(ip("11.1.2.3")));
        assert!(net("10.0.0.0/8").contains(ip("::ffff:10.1.2.3")));
        assert!(net("192.0.2.7").contains(ip("192.0.2.7")));
        assert!(!net("192.0.2.7").contains(ip("192.0.2.8")));
        assert!(net("0.0.0.0/0").contains(ip("203.0.113.1")));
        assert!(net("2001:db8::/32").contains(ip("2001:db8:1::1")));
        assert!(!net("2001:db8::/32").contains(ip("10.0.0.1")));
        for bad in ["10.0.0.0/33", "10.0.0/8", "x", "::/129"] {
            assert!(Network::try_from(bad.to_string()).is_err(), "{bad}");
        }
    }

    #[test]
    fn senders_are_masked() {
        assert_eq!(mask_address("jane.doe@example.org"), "j•••@example.org");
        assert_eq!(mask_address(""), "<>");
        assert_eq!(mask_address("postmaster"), "p•••");
    }
}
