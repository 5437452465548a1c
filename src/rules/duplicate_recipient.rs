use super::shared::Capped;
use super::{Context, Rule, declare_rule, plural, thousands};
use crate::config::{OptionError, RuleSettings};
use crate::finding::{Diagnostic, Location, Severity};
use crate::message::{Address, Field};
use serde::Deserialize;

declare_rule! {
    /// ## What it checks
    /// The same mailbox written more than once across To, Cc and Bcc: the
    /// part before the `@` compared exactly, the domain without regard to
    /// case (`Bob@Example.com` is `Bob@example.com`, but not `bob@example.com`,
    /// since some servers tell those apart). The finding names the address
    /// and the headers it is in, on the line of its second appearance.
    /// Resent-To/Cc/Bcc are a later resend and are not compared with the
    /// original recipients. Past 20 repeated addresses the rest are summed
    /// up in one finding.
    ///
    /// ## Why it matters
    /// A repeated address is usually a sign of lists merged by hand, which is
    /// also how stale and invalid addresses get in. An address in Bcc that is
    /// also in To or Cc is not hidden at all: everyone sees it in To or Cc.
    ///
    /// ## Example
    /// ```text
    /// To: Ann Lee <ann.lee@example.com>, team@example.com
    /// Bcc: ann.lee@example.com
    /// ```
    ///
    /// ## How to fix
    /// Remove the extra entries. If someone should be hidden, they must be
    /// in Bcc only.
    ///
    /// ## Options
    /// ```toml
    /// [rules.duplicate-recipient]
    /// max_reported = 20   # repeated addresses reported one by one; the rest in one summary
    /// ```
    id: "duplicate-recipient",
    severity: Info,
    summary: "The same address appears more than once in To/Cc/Bcc",
    build: DuplicateRecipient::build,
}

#[derive(Deserialize, Debug, PartialEq)]
#[serde(default, deny_unknown_fields)]
struct DuplicateRecipient {
    max_reported: usize,
}

impl Default for DuplicateRecipient {
    fn default() -> Self {
        DuplicateRecipient { max_reported: 20 }
    }
}

impl DuplicateRecipient {
    fn build(settings: &RuleSettings) -> Result<Box<dyn Rule>, OptionError> {
        let rule: DuplicateRecipient = settings.options()?;
        if rule.max_reported == 0 {
            return Err(OptionError::new("max_reported", "must be at least 1"));
        }
        Ok(Box::new(rule))
    }
}

const FIELDS: [Field; 3] = [Field::To, Field::Cc, Field::Bcc];

/// A repeated mailbox and where it was written.
struct Seen<'m> {
    first: Address<'m>,
    /// The second appearance: where the finding points.
    second: Address<'m>,
    /// Appearances per field of [`FIELDS`].
    counts: [u64; 3],
}

/// What is known of one distinct recipient so far, in 4 bytes (a message
/// may have a million): [`UNSEEN`]; written once, at this index of
/// `Message::addresses`; or written again, this index into the repeated
/// mailboxes with [`REPEATED`] set.
type Slot = u32;
const UNSEEN: Slot = u32::MAX;
const REPEATED: Slot = 1 << 31;

impl Rule for DuplicateRecipient {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        // The audience has already told mailboxes apart; this only counts,
        // in one slot per distinct recipient.
        let mut slots: Vec<Slot> = vec![UNSEEN; cx.audience.len()];
        // In order of their second appearance.
        let mut repeated: Vec<Seen<'_>> = Vec::new();
        let field_of = |field: Field| FIELDS.iter().position(|f| *f == field);
        // Fields only: an address is read when it is a repeat.
        for position in 0..cx.message.addresses().len() {
            let Some(field) = cx.message.field_at(position).and_then(field_of) else {
                continue;
            };
            let Some(recipient) = cx.audience.recipient_index(position) else {
                continue;
            };
            let slot = &mut slots[recipient];
            match *slot {
                // Positions and repeats stay far below 2^31: the size
                // limit keeps messages far below 2 GB.
                UNSEEN => *slot = position as Slot,
                first if first & REPEATED == 0 => {
                    let first = cx.message.address(first as usize).unwrap_or_default();
                    let mut counts = [0; 3];
                    if let Some(first_field) = field_of(first.field) {
                        counts[first_field] += 1;
                    }
                    counts[field] += 1;
                    *slot = REPEATED | repeated.len() as Slot;
                    repeated.push(Seen {
                        first,
                        second: cx.message.address(position).unwrap_or_default(),
                        counts,
                    });
                }
                index => repeated[(index & !REPEATED) as usize].counts[field] += 1,
            }
        }
        let mut capped = Capped::new(self.max_reported);
        for m in &repeated {
            let location = Location::header(m.second.field.header_name(), m.second.line);
            capped.push(out, location, |location| describe(m, location));
        }
        capped.finish(out, |n, location| {
            Diagnostic::new(
                Severity::Info,
                format!(
                    "and {} written more than once",
                    plural(n, "more address", "more addresses")
                ),
                location,
            )
            .help("remove the repeated entries")
        });
    }
}

fn describe(m: &Seen<'_>, location: Location) -> Diagnostic {
    let total: u64 = m.counts.iter().sum();
    let fields: Vec<(&str, u64)> = FIELDS
        .iter()
        .zip(m.counts)
        .filter(|(_, n)| *n > 0)
        .map(|(f, n)| (f.header_name(), n))
        .collect();
    let addr = m.first.addr;
    let message = match fields.as_slice() {
        [(field, n)] => format!("`{addr}` is in {field} {} times", thousands(*n)),
        _ if total as usize == fields.len() => {
            let names: Vec<&str> = fields.iter().map(|(f, _)| *f).collect();
            let both = if names.len() == 2 { "both " } else { "" };
            format!("`{addr}` is in {both}{}", join_and(&names))
        }
        _ => {
            let parts: Vec<String> = fields
                .iter()
                .map(|(f, n)| {
                    if *n > 1 {
                        format!("{f} ({})", thousands(*n))
                    } else {
                        f.to_string()
                    }
                })
                .collect();
            format!(
                "`{addr}` is written {} times: in {}",
                thousands(total),
                join_and(&parts)
            )
        }
    };
    let hidden_in_vain = m.counts[2] > 0 && (m.counts[0] > 0 || m.counts[1] > 0);
    let (message, help) = if hidden_in_vain {
        (
            format!("{message}; the Bcc copy does not hide it"),
            "keep the address in one header: in Bcc only if it should be hidden",
        )
    } else {
        (message, "remove the repeated entry")
    };
    Diagnostic::new(Severity::Info, message, location).help(help)
}

/// `To`, `To and Cc`, `To, Cc and Bcc`.
fn join_and<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [rest @ .., last] => format!(
            "{} and {}",
            rest.iter()
                .map(AsRef::as_ref)
                .collect::<Vec<_>>()
                .join(", "),
            last.as_ref()
        ),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn documented_options_are_the_defaults() {
        assert_eq!(
            crate::testing::documented_options::<super::DuplicateRecipient>(&super::RULE),
            super::DuplicateRecipient::default()
        );
    }
    use crate::finding::Severity;
    use crate::testing::{check_rule, check_rule_with, eml};

    #[test]
    fn names_the_address_and_headers() {
        let msg = eml(concat!(
            "From: a@example.org\n",
            "To: Ann <ann@example.com>, team@example.org\n",
            "Cc: bob@example.net,\n",
            " ann@EXAMPLE.com\n",
            "\n",
            "x\n"
        ));
        let f = check_rule("duplicate-recipient", &msg);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].message, "`ann@example.com` is in both To and Cc");
        assert_eq!(f[0].severity, Severity::Info);
        assert_eq!(f[0].location.header.as_deref(), Some("Cc"));
        assert_eq!(f[0].location.line, Some(4));
    }

    #[test]
    fn same_field_and_bcc() {
        let msg = eml(
            "From: a@example.org\nTo: b@example.com, b@example.com, c@example.com\nCc: c@example.com\nBcc: c@example.com\n\nx\n",
        );
        let f = check_rule("duplicate-recipient", &msg);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].message, "`b@example.com` is in To 2 times");
        assert_eq!(f[0].location.line, Some(2));
        assert_eq!(
            f[1].message,
            "`c@example.com` is in To, Cc and Bcc; the Bcc copy does not hide it"
        );
        let three =
            eml("From: a@example.org\nTo: b@example.com, b@example.com\nBcc: b@example.com\n\nx\n");
        assert_eq!(
            check_rule("duplicate-recipient", &three)[0].message,
            "`b@example.com` is written 3 times: in To (2) and Bcc; the Bcc copy does not hide it"
        );
    }

    #[test]
    fn silent_for_distinct_mailboxes() {
        // Local parts may be case-sensitive; From and Resent-* are not compared.
        let msg = eml(concat!(
            "From: ann@example.com\n",
            "To: Bob@example.com, bob@example.com, ann@example.com\n",
            "Resent-To: bob@example.com\n",
            "\n",
            "x\n"
        ));
        assert!(check_rule("duplicate-recipient", &msg).is_empty());
    }

    #[test]
    fn capped_output() {
        let list: Vec<String> = (0..30).map(|i| format!("p{i}@example.com")).collect();
        let msg = eml(&format!(
            "From: a@example.org\nTo: {}\nCc: {}\n\nx\n",
            list.join(", "),
            list.join(", ")
        ));
        let f = check_rule("duplicate-recipient", &msg);
        assert_eq!(f.len(), 21);
        assert_eq!(
            f[20].message,
            "and 10 more addresses written more than once"
        );
        let f = check_rule_with(
            "[rules.duplicate-recipient]\nmax_reported = 5\n",
            "duplicate-recipient",
            &msg,
        );
        assert_eq!(f.len(), 6);
    }
}
