//! `[milter]` and `[storm]`: the gateway's settings, with the
//! configuration rather than in `crate::milter`, so that reading a
//! configuration does not need the gateway.

use crate::finding::Severity;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;

/// What the gateway does with a message, from the mildest; when two
/// checks disagree, the later one in this order wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Let it through untouched.
    Accept,
    /// Let it through with an `X-Maillint:` header naming the findings.
    Tag,
    /// Hold it in the MTA's hold queue and ask the sender: a notification
    /// with a link where they send it anyway, with a reason, or discard
    /// it (see `[hold]`).
    Confirm,
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
            Action::Confirm => "confirm",
            Action::Quarantine => "quarantine",
            Action::Tempfail => "tempfail",
            Action::Reject => "reject",
        }
    }
}

/// Whether the gateway applies its actions or only logs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The actions apply.
    #[default]
    Enforce,
    /// Nothing is refused, held or tagged: each decision is logged (and
    /// counted) as what would have happened, to try a policy on real mail
    /// before it stops any.
    Audit,
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

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
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
    /// `audit`: every message goes through untouched, and the log says
    /// what would have happened to it (`would=`).
    pub mode: Mode,
    /// Rules tried out while the others are enforced: their findings (and
    /// `storm`'s blocks) only say what would have happened.
    pub audit_rules: Vec<String>,
    /// A message whose most severe finding is an error.
    pub error: Action,
    pub warning: Action,
    pub info: Action,
    /// Actions by rule id, over the severity's (`[milter.rule_actions]
    /// cc-exposure = "confirm"`): a message gets the strictest action of
    /// its findings.
    pub rule_actions: BTreeMap<String, Action>,
    /// A message that could not be checked: maillint failed on it (an
    /// internal error, a message it cannot parse).
    pub on_fault: Action,
    /// A message larger than `[input] max_message_size`.
    pub on_oversize: Action,
    /// Clients whose mail is outgoing, besides SMTP-authenticated users,
    /// mail through `submission_daemons` and mail submitted on the server.
    pub networks: Vec<Network>,
    /// The MTA's mark for its submission service, as `{daemon_name}`:
    /// mail it received there is outgoing. Postfix: `-o
    /// milter_macro_daemon_name=ORIGINATING` on the submission service in
    /// master.cf; Sendmail: the `Name=` of the daemon in DAEMON_OPTIONS.
    pub submission_daemons: Vec<String>,
    /// Also take mail whose envelope sender is in `organization.domains`
    /// as outgoing. Anyone can claim such a sender on port 25, so only
    /// for a server that receives no mail from outside.
    pub outgoing_by_sender_domain: bool,
    /// Honour the sender's own `X-Maillint-Allow` headers. Off at the
    /// gateway: a sender would switch its checks off for their message.
    pub inline_allow: bool,
    /// MTA connections open at once (each holds one for a whole SMTP
    /// session, idle or not; an idle one costs a few kilobytes and no
    /// thread); more wait in the listen queue, and the log says so.
    pub max_connections: usize,
    /// Messages checked at once, each on a thread; more wait their turn.
    pub max_checks: usize,
    /// Seconds the MTA may stay silent in the middle of a message, or take
    /// to send one event, before the connection is closed.
    pub timeout: u64,
    /// Seconds a connection may stay idle between messages (libmilter's
    /// default: the MTA keeps a connection for its whole SMTP session).
    pub idle_timeout: u64,
    /// Seconds a message may take from MAIL to its end.
    pub message_timeout: u64,
    /// Envelope recipients of one message; past them it gets a temporary
    /// failure.
    pub max_recipients: usize,
    /// Megabytes the gateway may hold for all connections at once
    /// (messages being rebuilt, envelopes, events being read); a message
    /// that would go past it gets a temporary failure.
    pub memory_budget_mb: u64,
    /// Decision log (appended to); standard error when unset.
    pub log: Option<PathBuf>,
    /// Where to serve Prometheus metrics (`/metrics`): a port, on
    /// loopback, or `HOST:PORT`. None when unset.
    pub metrics: Option<MetricsAddress>,
}

impl Default for MilterConfig {
    fn default() -> Self {
        MilterConfig {
            mode: Mode::Enforce,
            audit_rules: Vec::new(),
            error: Action::Reject,
            warning: Action::Tag,
            info: Action::Accept,
            rule_actions: BTreeMap::new(),
            on_fault: Action::Tempfail,
            on_oversize: Action::Accept,
            networks: Vec::new(),
            submission_daemons: vec!["ORIGINATING".into(), "MSA".into()],
            outgoing_by_sender_domain: false,
            inline_allow: false,
            max_connections: 10_000,
            max_checks: 64,
            timeout: 600,
            idle_timeout: 7210,
            message_timeout: 3600,
            max_recipients: 100_000,
            memory_budget_mb: 512,
            log: None,
            metrics: None,
        }
    }
}

impl MilterConfig {
    /// The action for one finding: its rule's, else its severity's.
    pub fn action_for(&self, severity: Severity, rule: &str) -> Action {
        if let Some(action) = self.rule_actions.get(rule) {
            return *action;
        }
        match severity {
            Severity::Error => self.error,
            Severity::Warning => self.warning,
            Severity::Info => self.info,
        }
    }
}

/// Where the metrics are served: `9464` (on 127.0.0.1) or `HOST:PORT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct MetricsAddress(pub SocketAddr);

impl TryFrom<String> for MetricsAddress {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let text = text.trim();
        if let Ok(port) = text.parse::<u16>() {
            return Ok(MetricsAddress(SocketAddr::from(([127, 0, 0, 1], port))));
        }
        text.parse()
            .map(MetricsAddress)
            .map_err(|_| format!("`{text}` is not a port or an address such as 127.0.0.1:9464"))
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

/// `[storm]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StormConfig {
    pub enabled: bool,
    /// A message goes to a large audience when it reaches a mass list or
    /// at least this many people.
    pub audience: u64,
    /// Replies to a large audience a thread may have within the window;
    /// the next one is blocked, and so is every later one for `block_hours`.
    pub max_replies: u64,
    pub window_minutes: u64,
    pub block_hours: u64,
    /// What happens to a blocked message.
    pub action: Action,
    /// Messages to a large audience one sender may send per hour (0: no
    /// limit).
    pub sender_limit_per_hour: u64,
    /// `redis://HOST:PORT` to share the counters between gateways; in
    /// memory when unset.
    pub store: Option<String>,
    /// Milliseconds a message may wait for the store, all included (a free
    /// connection, connecting, the answer) before it is handled as
    /// `on_store_error`.
    pub store_timeout_ms: u64,
    /// Start of every key in Redis: several organisations or
    /// environments can share one server, each with a prefix of its own.
    pub key_prefix: String,
    /// Counters kept at most by the memory store (about 100 bytes each);
    /// past it the oldest is forgotten.
    pub memory_entries: usize,
    /// What happens to a message when the store cannot be reached
    /// (`accept`: fail open, with a warning in the log).
    pub on_store_error: Action,
}

impl Default for StormConfig {
    fn default() -> Self {
        StormConfig {
            enabled: true,
            audience: 500,
            max_replies: 2,
            window_minutes: 30,
            block_hours: 6,
            action: Action::Reject,
            sender_limit_per_hour: 10,
            store: None,
            store_timeout_ms: 500,
            key_prefix: "maillint:storm:".into(),
            memory_entries: 200_000,
            on_store_error: Action::Accept,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn metrics_addresses_are_on_loopback_unless_given() {
        let parse = |s: &str| MetricsAddress::try_from(s.to_string()).map(|a| a.0.to_string());
        assert_eq!(parse("9464"), Ok("127.0.0.1:9464".into()));
        assert_eq!(parse("0.0.0.0:9464"), Ok("0.0.0.0:9464".into()));
        assert_eq!(parse("[::1]:9464"), Ok("[::1]:9464".into()));
        assert!(parse("localhost:9464").is_err());
        assert!(parse("99999").is_err());
    }

    #[test]
    fn a_rule_action_overrides_its_severity() {
        let mut milter = MilterConfig::default();
        milter
            .rule_actions
            .insert("mass-list".into(), Action::Confirm);
        assert_eq!(
            milter.action_for(Severity::Warning, "mass-list"),
            Action::Confirm
        );
        assert_eq!(
            milter.action_for(Severity::Warning, "cc-exposure"),
            Action::Tag
        );
        assert_eq!(
            milter.action_for(Severity::Error, "cc-exposure"),
            Action::Reject
        );
        assert!(Action::Tag < Action::Confirm && Action::Confirm < Action::Quarantine);
    }

    #[test]
    fn networks_contain_addresses() {
        let net = |s: &str| Network::try_from(s.to_string()).unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(net("10.0.0.0/8").contains(ip("10.1.2.3")));
        assert_eq!(net("192.0.2.7").to_string(), "192.0.2.7/32");
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
}
