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
        let mut line = format!(
            "maillint milter: queue_id={} message_id={} sender={} recipients={} rules={} action={}",
            quoted(envelope.queue_id.as_deref().unwrap_or("-")),
            quoted(message_id.unwrap_or("-")),
            quoted(&mask_address(&envelope.sender)),
            envelope.recipients.len(),
            quoted(&decision.rules.join(",")),
            decision.action.as_str(),
        );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn senders_are_masked() {
        assert_eq!(mask_address("jane.doe@example.org"), "j•••@example.org");
        assert_eq!(mask_address(""), "<>");
        assert_eq!(mask_address("postmaster"), "p•••");
    }
}
