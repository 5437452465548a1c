use super::{Context, Rule, declare_rule, plural, thousands};
use crate::config::{OptionError, RuleSettings};
use crate::finding::{Diagnostic, Severity};
use serde::Deserialize;
use std::collections::HashMap;

declare_rule! {
    /// ## What it checks
    /// Like Outlook's "external recipients" MailTip: how many recipients are
    /// outside your organisation, and at which domains (grouped by
    /// registrable domain, most recipients first, at most 5 named).
    ///
    /// It needs to know the organisation: the configured
    /// `organization.domains`, or else the sender's domain. With configured
    /// domains it speaks up whenever a message leaves the organisation: you
    /// asked. With only the sender's domain to go on it speaks up when the
    /// message also goes to someone inside, which is when an outside address
    /// is easy to miss (an autocompleted namesake, a partner copied into an
    /// internal discussion); a message written only to outside people is
    /// obviously external, and a note on every one would be noise. A sender
    /// at a personal mailbox (gmail.com, ...) has no organisation, so it is
    /// silent. The sender's own addresses are neither inside nor outside.
    ///
    /// It is an info, and a warning from 5 external domains. Replies stay
    /// infos: answering the people already in a thread is normal business.
    /// So does a message whose outside recipients are all in Bcc (a letter
    /// to parents, a client mailing): they were put there on purpose, and
    /// nobody sees them.
    ///
    /// ## Why it matters
    /// An outside address slips into a message easily: a similar name
    /// picked by autocomplete, or a thread forwarded with an outside party
    /// still in Cc. The UK regulator's breach
    /// statistics list data emailed to the wrong recipient among the most
    /// common kinds of personal-data breach.
    ///
    /// ## Example
    /// ```text
    /// From: ann@example.org
    /// To: bob@example.org, carol@partner.example
    /// Cc: dan@example.com, erin@example.net, frank@example.com
    /// ```
    /// gives "4 recipients are outside your organisation (3 domains:
    /// example.com (2), partner.example, example.net)".
    ///
    /// ## How to fix
    /// Check that everyone outside should get the message and its
    /// attachments; move people who should not see each other to Bcc.
    ///
    /// ## Options
    /// ```toml
    /// [rules.external-recipients]
    /// warning = 5      # external domains from which a new message is a warning
    /// max_listed = 5   # domains named in the finding
    ///
    /// [organization]
    /// domains = ["example.org"]   # report every message leaving these
    /// ```
    id: "external-recipients",
    severity: Info,
    summary: "Recipients outside the organisation, counted and listed by domain (a MailTip)",
    build: ExternalRecipients::build,
}

#[derive(Deserialize, Debug, PartialEq)]
#[serde(default, deny_unknown_fields)]
struct ExternalRecipients {
    warning: usize,
    max_listed: usize,
}

impl Default for ExternalRecipients {
    fn default() -> Self {
        ExternalRecipients {
            warning: 5,
            max_listed: 5,
        }
    }
}

impl ExternalRecipients {
    fn build(settings: &RuleSettings) -> Result<Box<dyn Rule>, OptionError> {
        let rule: ExternalRecipients = settings.options()?;
        if rule.warning == 0 {
            return Err(OptionError::new("warning", "must be at least 1"));
        }
        if rule.max_listed == 0 {
            return Err(OptionError::new("max_listed", "must be at least 1"));
        }
        Ok(Box::new(rule))
    }
}

impl Rule for ExternalRecipients {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        let audience = cx.audience;
        if audience.org_domains.is_empty() {
            return;
        }
        let configured = !cx.config.organization.domains.is_empty();
        if !configured && !audience.recipients().any(|r| !r.external && !r.own) {
            return;
        }
        // Each domain's index into `groups`, found once per distinct domain
        // from the registrable domain the audience looked up.
        let mut group_of: Vec<Option<usize>> = vec![None; audience.domain_count()];
        let mut by_registrable: HashMap<&str, usize> = HashMap::new();
        // (registrable domain, recipients), in order of first appearance.
        let mut groups: Vec<(&str, u64)> = Vec::new();
        let mut first = None;
        let mut total = 0u64;
        let mut all_in_bcc = true;
        for r in audience.external() {
            all_in_bcc &= r.visible.is_none();
            let group = match group_of.get(r.domain.index).copied().flatten() {
                Some(g) => g,
                None => {
                    let lower = r.domain.name.as_str();
                    // A domain literal (`[192.0.2.1]`) is its own group.
                    let reg = match r.domain.registrable() {
                        Some(reg) if !lower.starts_with('[') => reg,
                        _ => lower,
                    };
                    let g = *by_registrable.entry(reg).or_insert_with(|| {
                        groups.push((reg, 0));
                        groups.len() - 1
                    });
                    if let Some(slot) = group_of.get_mut(r.domain.index) {
                        *slot = Some(g);
                    }
                    g
                }
            };
            groups[group].1 += 1;
            total += 1;
            if first.is_none() {
                first = Some(r.first());
            }
        }
        let Some(first) = first else { return };

        // Most recipients first; ties keep the order of appearance.
        groups.sort_by_key(|g| std::cmp::Reverse(g.1));
        let listed: Vec<String> = groups
            .iter()
            .take(self.max_listed)
            .map(|(d, n)| {
                if *n > 1 && groups.len() > 1 {
                    format!("{d} ({})", thousands(*n))
                } else {
                    d.to_string()
                }
            })
            .collect();
        let mut domains = listed.join(", ");
        if groups.len() > self.max_listed {
            domains.push_str(&format!(
                " and {} more",
                thousands((groups.len() - self.max_listed) as u64)
            ));
        }
        let domains = if groups.len() == 1 {
            domains
        } else {
            format!(
                "{}: {domains}",
                plural(groups.len() as u64, "domain", "domains")
            )
        };
        let verb = if total == 1 { "is" } else { "are" };
        let message = format!(
            "{} {verb} outside your organisation{} ({domains})",
            plural(total, "recipient", "recipients"),
            if all_in_bcc { ", in Bcc" } else { "" }
        );
        let severity = if groups.len() >= self.warning && !cx.message.is_reply && !all_in_bcc {
            Severity::Warning
        } else {
            Severity::Info
        };
        let help = if configured {
            "check that everyone outside the organisation should get this message and its attachments".to_string()
        } else {
            format!(
                "check that everyone outside the organisation should get this message and its attachments (the organisation is taken to be {}, the sender's domain; set `organization.domains` to change it)",
                audience.org_domains.join(", ")
            )
        };
        out.push(
            Diagnostic::new(
                severity,
                message,
                super::shared::address_location(first.field, first.line),
            )
            .help(help),
        );
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn documented_options_are_the_defaults() {
        assert_eq!(
            crate::testing::documented_options::<super::ExternalRecipients>(&super::RULE),
            super::ExternalRecipients::default()
        );
    }
    use crate::finding::Severity;
    use crate::testing::{check_rule, check_rule_with, eml, option_error_key};

    #[test]
    fn counts_and_lists_external_domains() {
        let msg = eml(concat!(
            "From: ann@example.org\n",
            "To: bob@example.org, carol@partner.example\n",
            "Cc: dan@example.com, erin@Example.net,\n",
            " frank@eu.example.com\n",
            "\n",
            "x\n"
        ));
        let f = check_rule("external-recipients", &msg);
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "4 recipients are outside your organisation (3 domains: example.com (2), partner.example, example.net)"
        );
        assert_eq!(f[0].severity, Severity::Info);
        assert_eq!(f[0].location.header.as_deref(), Some("To"));
        assert_eq!(f[0].location.line, Some(2));
        assert!(
            f[0].help
                .as_deref()
                .unwrap()
                .contains("example.org, the sender's domain")
        );
    }

    #[test]
    fn warning_from_five_domains_and_at_most_five_listed() {
        let externals: Vec<String> = (0..7).map(|i| format!("p{i}@co{i}.example")).collect();
        let msg = eml(&format!(
            "From: ann@example.org\nTo: bob@example.org, {}\n\nx\n",
            externals.join(", ")
        ));
        let f = check_rule("external-recipients", &msg);
        assert_eq!(f[0].severity, Severity::Warning);
        assert_eq!(
            f[0].message,
            "7 recipients are outside your organisation (7 domains: co0.example, co1.example, co2.example, co3.example, co4.example and 2 more)"
        );
        let reply = eml(&format!(
            "From: ann@example.org\nSubject: Re: plans\nTo: bob@example.org, {}\n\nx\n",
            externals.join(", ")
        ));
        assert_eq!(
            check_rule("external-recipients", &reply)[0].severity,
            Severity::Info
        );
        let f = check_rule_with(
            "[rules.external-recipients]\nwarning = 10\nmax_listed = 2\n",
            "external-recipients",
            &msg,
        );
        assert_eq!(f[0].severity, Severity::Info);
        assert!(
            f[0].message.ends_with("co1.example and 5 more)"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn outside_recipients_all_in_bcc_are_an_info() {
        let externals: Vec<String> = (0..7).map(|i| format!("p{i}@co{i}.example")).collect();
        let msg = eml(&format!(
            "From: head@example.org\nTo: office@example.org\nBcc: {}\n\nx\n",
            externals.join(", ")
        ));
        let f = check_rule("external-recipients", &msg);
        assert_eq!(f[0].severity, Severity::Info);
        assert!(
            f[0].message
                .starts_with("7 recipients are outside your organisation, in Bcc (7 domains:"),
            "{}",
            f[0].message
        );
        // One of them visible: the warning stands.
        let msg = eml(&format!(
            "From: head@example.org\nTo: office@example.org\nCc: p0@co0.example\nBcc: {}\n\nx\n",
            externals.join(", ")
        ));
        assert_eq!(
            check_rule("external-recipients", &msg)[0].severity,
            Severity::Warning
        );
    }

    #[test]
    fn domain_literals_and_invalid_domains_are_named_as_written() {
        let msg =
            eml("From: ann@example.org\nTo: bob@example.org, ops@[192.0.2.10], x@fernhill\n\nx\n");
        assert_eq!(
            check_rule("external-recipients", &msg)[0].message,
            "2 recipients are outside your organisation (2 domains: [192.0.2.10], fernhill)"
        );
    }

    #[test]
    fn only_outside_people_needs_configured_domains() {
        let msg = eml("From: ann@example.org\nTo: carol@partner.example\n\nx\n");
        assert!(check_rule("external-recipients", &msg).is_empty());
        let f = check_rule_with(
            "[organization]\ndomains = [\"example.org\"]\n",
            "external-recipients",
            &msg,
        );
        assert_eq!(
            f[0].message,
            "1 recipient is outside your organisation (partner.example)"
        );
        assert!(!f[0].help.as_deref().unwrap().contains("sender's domain"));
    }

    #[test]
    fn silent_inside_and_for_personal_senders() {
        let internal = eml("From: ann@example.org\nTo: bob@example.org, c@mail.example.org\n\nx\n");
        assert!(check_rule("external-recipients", &internal).is_empty());
        // No organisation: a personal mailbox.
        let personal = eml("From: ann@gmail.com\nTo: bob@gmail.com, c@example.org\n\nx\n");
        assert!(check_rule("external-recipients", &personal).is_empty());
        // The sender's own address is not an internal recipient.
        let to_self =
            eml("From: ann@example.org\nTo: ann@example.org\nBcc: c@partner.example\n\nx\n");
        assert!(check_rule("external-recipients", &to_self).is_empty());
    }

    #[test]
    fn rejects_zero_options() {
        for key in ["warning", "max_listed"] {
            assert_eq!(
                option_error_key("external-recipients", &format!("{key} = 0")).as_deref(),
                Some(key)
            );
        }
    }
}
