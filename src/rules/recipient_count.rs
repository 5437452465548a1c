use super::shared::CALENDAR_PART;
use super::{Context, Rule, check_thresholds, declare_rule, plural, thousands};
use crate::config::{OptionError, RuleSettings};
use crate::finding::{Diagnostic, Location, Severity};
use crate::message::Field;
use serde::Deserialize;

declare_rule! {
    /// ## What it checks
    /// How many people the message reaches: every distinct mailbox in To, Cc
    /// and Bcc (and Resent-To/Cc/Bcc) and the attendees of a meeting
    /// invitation (`METHOD:REQUEST`), a mailbox written twice counting once
    /// and a configured list counting as its number of members. It is a
    /// warning from 25 and an error from 500.
    ///
    /// A list counts as one recipient when the sender is one of its
    /// `allowed_senders`: reaching its members is what those senders are
    /// for (the other recipients still count).
    ///
    /// ## Why it matters
    /// A test message sent to a list of every NHSmail user reached about 1.2
    /// million people; the replies that followed made some 186 million
    /// messages and slowed the national service for a day. A count checked
    /// before sending turns "oops" into a prompt.
    ///
    /// ## Example
    /// ```text
    /// To: all-staff@example.ac.uk            # [lists] says 5,400 members
    /// Cc: head@example.ac.uk
    /// ```
    ///
    /// ## How to fix
    /// Check that the message is meant for that many people. For a bulk send
    /// use the organisation's mailing tool, or put the list in Bcc.
    ///
    /// ## Options
    /// ```toml
    /// [rules.recipient-count]
    /// warning = 25
    /// error = 500
    ///
    /// [lists."all-staff@example.ac.uk"]
    /// members = 5400   # the list counts as 5,400 recipients,
    /// allowed_senders = ["comms@example.ac.uk"]   # as one when these send
    /// ```
    id: "recipient-count",
    severity: Warning,
    summary: "The message reaches many people (lists count as their members)",
    build: RecipientCount::build,
}

#[derive(Deserialize, Debug, PartialEq)]
#[serde(default, deny_unknown_fields)]
struct RecipientCount {
    warning: u64,
    error: u64,
}

impl Default for RecipientCount {
    fn default() -> Self {
        RecipientCount {
            warning: 25,
            error: 500,
        }
    }
}

/// The configured warning number: other rules (test-message, bulk
/// detection) treat a message reaching this many people as a large send.
pub fn many_recipients(settings: &RuleSettings) -> u64 {
    settings
        .options::<RecipientCount>()
        .map_or(RecipientCount::default().warning, |r| r.warning)
}

impl RecipientCount {
    fn build(settings: &RuleSettings) -> Result<Box<dyn Rule>, OptionError> {
        let rule: RecipientCount = settings.options()?;
        check_thresholds(rule.warning, rule.error)?;
        Ok(Box::new(rule))
    }
}

/// Recipient fields in the order a breakdown lists them.
const FIELDS: [Field; 7] = [
    Field::To,
    Field::Cc,
    Field::Bcc,
    Field::ResentTo,
    Field::ResentCc,
    Field::ResentBcc,
    Field::Attendee,
];

impl Rule for RecipientCount {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        let audience = cx.audience;
        let mut total = audience.reach();
        let mut per_field = [0u64; FIELDS.len()];
        let mut expanded = Vec::new();
        for r in audience.recipients() {
            if let Some(i) = FIELDS.iter().position(|f| *f == r.first_field()) {
                per_field[i] += 1;
            }
            if r.reach() > 1 {
                if r.list.is_some_and(|l| audience.sender_allowed(l)) {
                    total = total.saturating_sub(r.reach() - 1);
                } else {
                    expanded.push(format!(
                        "{} counts as {}",
                        r.first().addr,
                        thousands(r.reach())
                    ));
                }
            }
        }
        if total < self.warning {
            return;
        }
        let severity = if total >= self.error {
            Severity::Error
        } else {
            Severity::Warning
        };
        let breakdown: Vec<String> = FIELDS
            .iter()
            .zip(per_field)
            .filter(|(_, n)| *n > 0)
            .map(|(f, n)| match f {
                Field::Attendee => format!("invitation attendees {}", thousands(n)),
                f => format!("{} {}", f.header_name(), thousands(n)),
            })
            .collect();
        let mut message = format!(
            "{} ({})",
            plural(total, "recipient", "recipients"),
            breakdown.join(", ")
        );
        if !expanded.is_empty() {
            message.push_str("; ");
            message.push_str(&expanded.join(", "));
        }
        // Point at the field holding most recipients.
        let busiest = FIELDS
            .iter()
            .zip(per_field)
            .max_by_key(|(_, n)| *n)
            .map_or(Field::To, |(f, _)| *f);
        let location = match busiest {
            Field::Attendee => {
                let line = cx
                    .message
                    .addresses_in(Field::Attendee)
                    .find_map(|a| a.line);
                Location::part(CALENDAR_PART, line)
            }
            field => Location::header(
                field.header_name(),
                cx.message.header_line(field.header_name()),
            ),
        };
        out.push(
            Diagnostic::new(severity, message, location)
            .help("check the message is meant for this many people; for a bulk send use a mailing tool or put the list in Bcc"),
        );
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn documented_options_are_the_defaults() {
        assert_eq!(
            crate::testing::documented_options::<super::RecipientCount>(&super::RULE),
            super::RecipientCount::default()
        );
    }
    use crate::finding::Severity;
    use crate::testing::{check_rule, check_rule_with, eml};

    fn addrs(n: usize, prefix: &str) -> String {
        (0..n)
            .map(|i| format!("{prefix}{i}@example.com"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    #[test]
    fn counts_distinct_mailboxes_across_fields() {
        let msg = eml(&format!(
            "From: me@example.org\nTo: {}\nCc: {}\nBcc: {}, p0@EXAMPLE.COM\n\nx\n",
            addrs(10, "p"),
            addrs(10, "q"),
            addrs(10, "r")
        ));
        let f = check_rule("recipient-count", &msg);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Warning);
        assert_eq!(f[0].message, "30 recipients (To 10, Cc 10, Bcc 10)");
    }

    #[test]
    fn duplicates_count_once() {
        let msg = eml(&format!(
            "From: me@example.org\nTo: {}\nCc: {}\n\nx\n",
            addrs(20, "p"),
            addrs(20, "p")
        ));
        assert!(check_rule("recipient-count", &msg).is_empty());
    }

    #[test]
    fn configured_list_counts_as_its_members() {
        let msg = eml("From: me@example.ac.uk\nTo: all-staff@Example.ac.uk\n\nx\n");
        let f = check_rule_with(
            "[lists.\"all-staff@example.ac.uk\"]\nmembers = 5400\n",
            "recipient-count",
            &msg,
        );
        assert_eq!(f[0].severity, Severity::Error);
        assert_eq!(
            f[0].message,
            "5,400 recipients (To 1); all-staff@Example.ac.uk counts as 5,400"
        );
    }

    #[test]
    fn a_list_counts_as_one_from_its_allowed_senders() {
        let config = "[lists.\"all-staff@example.ac.uk\"]\nmembers = 5400\nallowed_senders = [\"comms@example.ac.uk\"]\n[lists.\"year1@example.ac.uk\"]\nmembers = 180\n";
        let allowed = eml("From: Comms@Example.ac.uk\nTo: all-staff@example.ac.uk\n\nx\n");
        assert!(check_rule_with(config, "recipient-count", &allowed).is_empty());
        let other = eml("From: sam@example.ac.uk\nTo: all-staff@example.ac.uk\n\nx\n");
        assert_eq!(
            check_rule_with(config, "recipient-count", &other)[0].severity,
            Severity::Error
        );
        // The other recipients still count.
        let both = eml(
            "From: comms@example.ac.uk\nTo: all-staff@example.ac.uk\nBcc: year1@example.ac.uk\n\nx\n",
        );
        let f = check_rule_with(config, "recipient-count", &both);
        assert_eq!(f[0].severity, Severity::Warning);
        assert_eq!(
            f[0].message,
            "181 recipients (To 1, Bcc 1); year1@example.ac.uk counts as 180"
        );
    }

    #[test]
    fn thresholds_are_configurable() {
        let msg = eml(&format!(
            "From: me@example.org\nBcc: {}\n\nx\n",
            addrs(5, "p")
        ));
        assert!(check_rule("recipient-count", &msg).is_empty());
        let f = check_rule_with(
            "[rules.recipient-count]\nwarning = 3\nerror = 5\n",
            "recipient-count",
            &msg,
        );
        assert_eq!(f[0].severity, Severity::Error);
        assert_eq!(f[0].location.header.as_deref(), Some("Bcc"));
    }
}
