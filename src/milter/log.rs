//! The decision log: one line per message the gateway decided on, and
//! one per problem with a connection or the storm store.

use super::{Decision, Envelope};
use std::io::{self, Write};
use std::path::Path;
use std::sync::Mutex;

/// Where log lines go: a file appended to, or standard error.
pub struct Log(Mutex<Box<dyn Write + Send>>);

impl Log {
    pub fn new(out: Box<dyn Write + Send>) -> Log {
        Log(Mutex::new(out))
    }

    /// The log at `path` (appended to), or standard error when unset.
    pub fn open(path: Option<&Path>) -> Result<Log, String> {
        let out: Box<dyn Write + Send> = match path {
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
        Ok(Log::new(out))
    }

    /// Writes one decision line. The sender is masked (first character of
    /// the local part and the domain), as findings mask personal data.
    pub fn decision(&self, envelope: &Envelope, message_id: Option<&str>, decision: &Decision) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut line = format!(
            "maillint milter: time={} queue_id={} message_id={} sender={} recipients={} rules={} action={}",
            utc_time(now),
            quoted(envelope.queue_id.as_deref().unwrap_or("-")),
            quoted(message_id.unwrap_or("-")),
            quoted(&mask_address(&envelope.sender)),
            envelope.recipients.len(),
            rule_list(&decision.rules),
            decision.action.as_str(),
        );
        if decision.would != decision.action {
            line.push_str(&format!(" would={}", decision.would.as_str()));
        }
        if !decision.audited.is_empty() {
            line.push_str(&format!(" audited={}", rule_list(&decision.audited)));
        }
        if !decision.allowed.is_empty() {
            line.push_str(&format!(" allowed={}", quoted(&decision.allowed.join(","))));
        }
        if let Some(fault) = &decision.fault {
            line.push_str(&format!(" fault={}", quoted(fault)));
        }
        self.line(&line);
    }

    /// Writes one line to the decision log; a log that cannot be written
    /// must not stop the mail.
    pub fn line(&self, line: &str) {
        let mut log = match self.0.lock() {
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
pub(super) fn quoted(value: &str) -> String {
    let value = escaped(value);
    match value.char_indices().nth(200) {
        Some((cut, _)) => format!("\"{}...\"", &value[..cut]),
        None => format!("\"{value}\""),
    }
}

/// Rule ids, whole however many (`maillint report` counts each): ids are
/// the configuration's, not the mail's, and as many as there are rules.
fn rule_list(rules: &[String]) -> String {
    format!("\"{}\"", escaped(&rules.join(",")))
}

/// One line, its quotes escaped.
fn escaped(value: &str) -> String {
    crate::guard::one_line(value).replace('"', "\\\"")
}

/// `secs` since the epoch as `2026-12-07T10:01:02Z`: one field that
/// sorts as it reads, for `maillint report`'s days.
pub(super) fn utc_time(secs: u64) -> String {
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = crate::numbers::civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_is_logged_however_many() {
        let rules: Vec<String> = (0..40).map(|i| format!("custom-rule-{i}")).collect();
        let decision = Decision {
            rules: rules.clone(),
            ..Decision::accept()
        };
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("milter.log");
        let log = Log::open(Some(&path)).unwrap();
        log.decision(&Envelope::default(), None, &decision);
        let line = std::fs::read_to_string(&path).unwrap();
        assert!(
            line.contains(&format!(" rules=\"{}\" action=accept", rules.join(","))),
            "{line}"
        );
    }

    #[test]
    fn times_are_utc_dates() {
        assert_eq!(utc_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_time(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_time(1_796_637_722), "2026-12-07T10:02:02Z");
        assert_eq!(utc_time(4_107_542_399), "2100-02-28T23:59:59Z");
    }

    #[test]
    fn senders_are_masked() {
        assert_eq!(mask_address("jane.doe@example.org"), "j•••@example.org");
        assert_eq!(mask_address(""), "<>");
        assert_eq!(mask_address("postmaster"), "p•••");
    }
}
