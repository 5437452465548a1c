//! `[hold]` and `[web]`: held mail (the `confirm` action), who may let it
//! out, and the page where that happens.

use crate::finding::Severity;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Who may let a held message out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Releaser {
    /// The sender, from the link in their notification (and an administrator).
    Sender,
    /// Only an administrator, on the admin page.
    Admin,
    /// No one: the message waits for its expiry and is discarded.
    Nobody,
}

impl Releaser {
    pub fn as_str(self) -> &'static str {
        match self {
            Releaser::Sender => "sender",
            Releaser::Admin => "admin",
            Releaser::Nobody => "nobody",
        }
    }

    pub fn parse(text: &str) -> Option<Releaser> {
        match text {
            "sender" => Some(Releaser::Sender),
            "admin" => Some(Releaser::Admin),
            "nobody" => Some(Releaser::Nobody),
            _ => None,
        }
    }
}

/// `[hold]`: mail held for the sender's confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HoldConfig {
    /// The held-mail store (SQLite), shared by the milter and `maillint web`.
    pub store: PathBuf,
    /// A file of at least 32 random bytes that signs the senders' links
    /// (created, readable by its owner and group, when missing).
    pub secret_file: PathBuf,
    /// The page's address as senders reach it through the reverse proxy,
    /// e.g. `https://mail.example.org/maillint`.
    pub url: String,
    /// Where to ask (an address or a URL), in notifications, on the page
    /// and in the text of a rejection.
    pub help: Option<String>,
    /// The notifications' From address.
    pub from: String,
    /// How long a message stays held before it is discarded, e.g. `72h`,
    /// `30m`, `7d` (s, m, h, d).
    pub expire: String,
    /// Who may release a message by the severity of its worst finding.
    pub release_error: Releaser,
    pub release_warning: Releaser,
    pub release_info: Releaser,
    /// Who may release, by rule id: the strictest of a message's rules
    /// and severity counts.
    pub release_rules: BTreeMap<String, Releaser>,
    /// The MTA's `sendmail`, and its arguments, that sends notifications;
    /// `-i -f FROM -- SENDER` is added.
    pub sendmail: Vec<String>,
    /// Commands that let a held message go, in order; `{id}` is its queue
    /// id (Postfix: out of the hold queue, then flushed).
    pub release_commands: Vec<Vec<String>>,
    /// Commands that delete a held message (Postfix: `postsuper -d`).
    pub discard_commands: Vec<Vec<String>>,
    /// Several gateways: the Redis server (`redis://HOST:PORT`) where
    /// they share held mail and its audit log instead of `store`. Each
    /// message stays in the queue of the gateway that holds it, and only
    /// that gateway's `maillint web` runs its commands.
    pub shared: Option<String>,
    /// This gateway's name among those sharing held mail (e.g. `mx1`):
    /// letters, digits, `.`, `-`, `_`. Needed with `shared`.
    pub gateway: String,
    /// The keys' prefix in the shared Redis.
    pub shared_prefix: String,
    /// The longest wait for one answer from the shared Redis; past it the
    /// milter asks the client to try later and the page says Redis does
    /// not answer.
    pub shared_timeout_ms: u64,
}

impl Default for HoldConfig {
    fn default() -> Self {
        let words = |w: &[&str]| w.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
        HoldConfig {
            // Where contrib/'s units let both the milter and the page write.
            store: PathBuf::from("/var/spool/postfix/maillint/held.sqlite"),
            secret_file: PathBuf::from("/var/spool/postfix/maillint/secret"),
            url: "http://127.0.0.1:8025".into(),
            help: None,
            from: "postmaster".into(),
            expire: "72h".into(),
            release_error: Releaser::Admin,
            release_warning: Releaser::Sender,
            release_info: Releaser::Sender,
            release_rules: BTreeMap::new(),
            sendmail: words(&["/usr/sbin/sendmail"]),
            release_commands: vec![
                words(&["/usr/sbin/postsuper", "-H", "{id}"]),
                words(&["/usr/sbin/postqueue", "-i", "{id}"]),
            ],
            discard_commands: vec![words(&["/usr/sbin/postsuper", "-d", "{id}"])],
            shared: None,
            gateway: String::new(),
            shared_prefix: "maillint:held:".into(),
            shared_timeout_ms: 2000,
        }
    }
}

impl HoldConfig {
    /// Who may release a message with these findings: the strictest of
    /// its worst severity's and its rules' settings.
    pub fn releaser(&self, worst: Severity, rules: &[String]) -> Releaser {
        let by_severity = match worst {
            Severity::Error => self.release_error,
            Severity::Warning => self.release_warning,
            Severity::Info => self.release_info,
        };
        rules
            .iter()
            .filter_map(|r| self.release_rules.get(r).copied())
            .fold(by_severity, Releaser::max)
    }

    /// [`gateway`](Self::gateway), checked: required with `shared`, and
    /// safe in a Redis key.
    pub fn gateway_name(&self) -> Result<&str, String> {
        let name = self.gateway.as_str();
        let safe = name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
        if !safe {
            return Err(format!(
                "[hold] gateway = `{name}`: letters, digits, `.`, `-` and `_` only, at most 64"
            ));
        }
        if name.is_empty() && self.shared.is_some() {
            return Err(
                "[hold] gateway: name this gateway (e.g. `mx1`) when held mail is `shared`".into(),
            );
        }
        Ok(name)
    }

    /// [`expire`](Self::expire) in seconds.
    pub fn expire_seconds(&self) -> Result<u64, String> {
        parse_duration(&self.expire).ok_or_else(|| {
            format!(
                "[hold] expire = `{}`: expected e.g. 72h, 30m, 7d",
                self.expire
            )
        })
    }
}

/// `90s`, `30m`, `72h`, `7d` in seconds (a bare number is seconds).
pub fn parse_duration(text: &str) -> Option<u64> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let number: u64 = number.parse().ok()?;
    let unit = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return None,
    };
    number.checked_mul(unit).filter(|s| *s > 0)
}

/// `[web]`: `maillint web`, the page for senders and administrators.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    /// Where the page listens: loopback, behind the reverse proxy.
    pub listen: SocketAddr,
    /// Administrators by name, with their passwords' argon2 hashes
    /// (`maillint web --hash-password`).
    pub admins: BTreeMap<String, String>,
    /// A header the reverse proxy sets to the name of an administrator it
    /// has signed in (e.g. `X-Remote-User`); trusted as it comes, so only
    /// where nothing but the proxy reaches `listen`.
    pub trusted_header: Option<String>,
    /// A header the reverse proxy sets to the client's address
    /// (`X-Forwarded-For`, whose last address is the one the proxy added,
    /// or `X-Real-IP`): failed sign-ins are counted per address by it.
    /// Without it, by the address of the connection (the proxy's own).
    pub forwarded_for: Option<String>,
    /// Connections served at once; more wait until one closes.
    pub max_connections: usize,
    /// Seconds a client has to send its request's header.
    pub header_timeout: u64,
    /// Seconds for a whole request, its body and the answer included.
    pub request_timeout: u64,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8025)),
            admins: BTreeMap::new(),
            trusted_header: None,
            forwarded_for: None,
            max_connections: 64,
            header_timeout: 10,
            request_timeout: 60,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("72h"), Some(72 * 3600));
        assert_eq!(parse_duration("30m"), Some(1800));
        assert_eq!(parse_duration("7d"), Some(7 * 86400));
        assert_eq!(parse_duration("5"), Some(5));
        for bad in ["", "h", "0s", "3w", "-1h", "99999999999999999999d"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_shared_store_needs_a_gateway_name() {
        let mut hold = HoldConfig::default();
        assert_eq!(hold.gateway_name(), Ok(""));
        hold.shared = Some("redis://127.0.0.1:6379".into());
        assert!(
            hold.gateway_name()
                .unwrap_err()
                .contains("name this gateway")
        );
        hold.gateway = "mx1.example.org".into();
        assert_eq!(hold.gateway_name(), Ok("mx1.example.org"));
        for bad in ["mx 1", "mx:1", "mx*", &"m".repeat(65)] {
            hold.gateway = bad.to_string();
            assert!(hold.gateway_name().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_strictest_releaser_counts() {
        let mut hold = HoldConfig::default();
        assert_eq!(hold.releaser(Severity::Warning, &[]), Releaser::Sender);
        assert_eq!(hold.releaser(Severity::Error, &[]), Releaser::Admin);
        hold.release_rules
            .insert("cc-exposure".into(), Releaser::Nobody);
        assert_eq!(
            hold.releaser(
                Severity::Warning,
                &["mass-list".into(), "cc-exposure".into()]
            ),
            Releaser::Nobody
        );
    }
}
