//! `maillint report`'s counts: the decision log read back, per day, rule,
//! action taken and action that would have been taken (audit mode).

use super::Action;
use crate::report::Summarised;
use serde::Serialize;
use serde::ser::SerializeStruct;
use std::collections::BTreeMap;
use std::io::{self, BufRead, Read, Write};

/// The longest log line read; the gateway's own are far shorter (each
/// value at most 200 characters), so a longer one is not a decision line.
const MAX_LINE: usize = 64 * 1024;

/// Where the gateway's lines start, in its own file or after the prefix
/// of syslog or the journal.
const MARK: &str = "maillint milter: ";

/// How many messages got one combination of day, rule and actions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Row {
    /// `2026-12-07` (UTC), or `-` for a line without a time.
    pub day: String,
    /// A rule id, or `-` for messages without findings.
    pub rule: String,
    /// What the gateway did.
    pub action: &'static str,
    /// What it would have done with nothing in audit.
    pub would: &'static str,
    pub messages: u64,
}

/// The counts over one or more logs.
#[derive(Debug, Default)]
pub struct Tally {
    /// Decision lines read (messages).
    pub messages: u64,
    /// Messages whose decision audit mode changed (`would` ≠ `action`).
    pub changed_by_audit: u64,
    /// Lines of the gateway that are not decisions, and lines too long to
    /// be the gateway's: start-up lines, warnings, connection problems.
    pub other_lines: u64,
    counts: BTreeMap<(String, String, Action, Action), u64>,
}

impl Tally {
    /// Counts the decision lines of `log`. Only the reading can fail: a
    /// line that is not the gateway's is skipped.
    pub fn read(&mut self, mut log: impl BufRead) -> std::io::Result<()> {
        let mut line = Vec::new();
        loop {
            line.clear();
            let read = (&mut log)
                .take(MAX_LINE as u64)
                .read_until(b'\n', &mut line)?;
            if read == 0 {
                return Ok(());
            }
            if line.last() != Some(&b'\n') && read == MAX_LINE {
                // Too long: skipped to its end, never held whole.
                self.other_lines += 1;
                skip_line(&mut log)?;
                continue;
            }
            self.line(&String::from_utf8_lossy(&line));
        }
    }

    /// Counts one line, if it is a decision.
    pub fn line(&mut self, line: &str) {
        let Some((_, fields)) = line.split_once(MARK) else {
            return;
        };
        let fields = parse_fields(fields.trim_end());
        let get = |key: &str| fields.iter().find(|(k, _)| *k == key).map(|(_, v)| v);
        let Some(action) = get("action").and_then(|a| parse_action(a)) else {
            self.other_lines += 1;
            return;
        };
        let would = get("would").and_then(|w| parse_action(w)).unwrap_or(action);
        let day = get("time")
            .and_then(|t| t.get(..10))
            .filter(|d| d.bytes().all(|b| b.is_ascii_digit() || b == b'-'))
            .unwrap_or("-")
            .to_string();
        self.messages += 1;
        if would != action {
            self.changed_by_audit += 1;
        }
        let rules = get("rules").map(String::as_str).unwrap_or_default();
        let mut rules: Vec<&str> = rules.split(',').filter(|r| !r.is_empty()).collect();
        if rules.is_empty() {
            rules.push("-");
        }
        for rule in rules {
            *self
                .counts
                .entry((day.clone(), rule.to_string(), action, would))
                .or_default() += 1;
        }
    }

    /// The counts by day, then rule, then action: a message with several
    /// rules counts once for each.
    pub fn rows(&self) -> Vec<Row> {
        self.counts
            .iter()
            .map(|((day, rule, action, would), &messages)| Row {
                day: day.clone(),
                rule: rule.clone(),
                action: action.as_str(),
                would: would.as_str(),
                messages,
            })
            .collect()
    }
}

/// Its JSON: the totals and the [`rows`](Tally::rows).
impl Serialize for Tally {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tally = serializer.serialize_struct("Tally", 4)?;
        tally.serialize_field("changed_by_audit", &self.changed_by_audit)?;
        tally.serialize_field("messages", &self.messages)?;
        tally.serialize_field("other_lines", &self.other_lines)?;
        tally.serialize_field("rows", &self.rows())?;
        tally.end()
    }
}

/// For a person: a table, what audit mode changed marked.
impl Summarised for Tally {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        let rows = self.rows();
        let width = rows.iter().map(|r| r.rule.len()).max().unwrap_or(0).max(4);
        writeln!(
            out,
            "{:<10}  {:<width$}  {:<10}  {:<10}  messages",
            "day", "rule", "did", "would"
        )?;
        for row in &rows {
            // What audit mode changed stands out.
            let mark = if row.action == row.would { "" } else { "  *" };
            writeln!(
                out,
                "{:<10}  {:<width$}  {:<10}  {:<10}  {:>8}{mark}",
                row.day, row.rule, row.action, row.would, row.messages
            )?;
        }
        writeln!(
            out,
            "\n{} messages; {} of them (*) the gateway would have handled more strictly without audit. A message counts once for each of its rules.",
            self.messages, self.changed_by_audit
        )
    }
}

fn skip_line(log: &mut impl BufRead) -> std::io::Result<()> {
    loop {
        let buffer = log.fill_buf()?;
        if buffer.is_empty() {
            return Ok(());
        }
        match memchr::memchr(b'\n', buffer) {
            Some(end) => {
                log.consume(end + 1);
                return Ok(());
            }
            None => {
                let all = buffer.len();
                log.consume(all);
            }
        }
    }
}

fn parse_action(name: &str) -> Option<Action> {
    [
        Action::Accept,
        Action::Tag,
        Action::Confirm,
        Action::Quarantine,
        Action::Tempfail,
        Action::Reject,
    ]
    .into_iter()
    .find(|a| a.as_str() == name)
}

/// `key=value key="quoted \" value"` as the log writes them (see
/// `super::log::quoted`).
fn parse_fields(text: &str) -> Vec<(&str, String)> {
    let mut fields = Vec::new();
    let mut rest = text;
    while let Some((key, after)) = rest.trim_start().split_once('=') {
        let (value, next) = match after.strip_prefix('"') {
            Some(quoted) => {
                let mut value = String::new();
                let mut chars = quoted.char_indices();
                let mut end = quoted.len();
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' if quoted[i + 1..].starts_with('"') => {
                            value.push('"');
                            chars.next();
                        }
                        '"' => {
                            end = i + 1;
                            break;
                        }
                        c => value.push(c),
                    }
                }
                (value, &quoted[end..])
            }
            None => {
                let end = after.find(' ').unwrap_or(after.len());
                (after[..end].to_string(), &after[end..])
            }
        };
        // A key is one word; anything else is not a field of the gateway's.
        if key.contains(' ') {
            break;
        }
        fields.push((key, value));
        rest = next;
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_counted_per_day_rule_and_actions() {
        let log = concat!(
            "maillint milter: listening on inet:127.0.0.1:8895 config=\"x\"\n",
            "maillint milter: time=2026-12-07T10:00:00Z queue_id=\"A\" message_id=\"<a \\\" b>\" sender=\"j•••@example.org\" recipients=1 rules=\"cc-exposure,recipient-count\" action=accept would=reject audited=\"cc-exposure,recipient-count\"\n",
            "Dec 07 23:59:59 mx maillint[7]: maillint milter: time=2026-12-07T23:59:59Z queue_id=\"B\" message_id=\"-\" sender=\"<>\" recipients=0 rules=\"\" action=accept\n",
            "maillint milter: time=2026-12-08T00:00:00Z queue_id=\"C\" message_id=\"-\" sender=\"b•••@example.org\" recipients=2 rules=\"cc-exposure\" action=reject\n",
            "maillint milter: queue_id=\"D\" message_id=\"-\" sender=\"b•••@example.org\" recipients=2 rules=\"mass-list\" action=tag\n",
            "maillint milter: warning: storm store: refused; message handled as on_store_error = accept\n",
            "unrelated line action=reject\n",
        );
        let mut tally = Tally::default();
        tally.read(log.as_bytes()).unwrap();
        let row = |day: &str, rule: &str, action, would, messages| Row {
            day: day.into(),
            rule: rule.into(),
            action,
            would,
            messages,
        };
        assert_eq!(
            tally.rows(),
            [
                row("-", "mass-list", "tag", "tag", 1),
                row("2026-12-07", "-", "accept", "accept", 1),
                row("2026-12-07", "cc-exposure", "accept", "reject", 1),
                row("2026-12-07", "recipient-count", "accept", "reject", 1),
                row("2026-12-08", "cc-exposure", "reject", "reject", 1),
            ]
        );
        assert_eq!(tally.messages, 4);
        assert_eq!(tally.changed_by_audit, 1);
        assert_eq!(tally.other_lines, 2);
    }

    #[test]
    fn an_endless_line_is_skipped_in_bounded_memory() {
        let mut log = vec![b'x'; 3 * MAX_LINE];
        log.extend_from_slice(
            b"\nmaillint milter: time=2026-12-07T10:00:00Z rules=\"\" action=accept\n",
        );
        let mut tally = Tally::default();
        tally.read(log.as_slice()).unwrap();
        assert_eq!(tally.messages, 1);
        assert_eq!(tally.other_lines, 1);
    }

    #[test]
    fn quoted_values_keep_their_spaces_and_quotes() {
        let fields = parse_fields(r#"a="x \" y" b=z c="""#);
        assert_eq!(
            fields,
            [
                ("a", "x \" y".to_string()),
                ("b", "z".to_string()),
                ("c", String::new())
            ]
        );
    }
}
