use super::{Context, Rule, declare_rule, plural};
use crate::audience::is_internal;
use crate::config::{OptionError, RuleSettings};
use crate::finding::{Diagnostic, Location, Severity};
use serde::Deserialize;

declare_rule! {
    /// ## What it checks
    /// Organisation business sent from an account the organisation does not
    /// provide: the From address is at a personal mailbox provider
    /// (gmail.com, hotmail.co.uk, outlook.com, btinternet.com, ..., and
    /// `organization.personal_domains`) or at any other domain outside
    /// `organization.domains`, while the message goes to recipients inside
    /// the organisation or to a configured list (`[lists."..."]`).
    ///
    /// It needs `organization.domains`: without them there is nothing to
    /// compare the sender with, and the rule is silent. It is also silent
    /// when From is internal, for mail only to outsiders (a person writing
    /// privately), and for the senders in `allowed_senders`. Like every
    /// rule it judges mail about to be sent: run over an inbox, it would
    /// flag every outsider who writes to staff.
    ///
    /// ## Why it matters
    /// A county's schools ICT service reminded all staff to use
    /// school-provisioned accounts for any school business, citing Ofsted
    /// guidance that professional communication be transparent and open to
    /// scrutiny, and asked schools to tell parents which addresses they
    /// send from. Mail from a personal account is neither: the school
    /// cannot see, keep or protect it, and parents learn to trust addresses
    /// anyone can create.
    ///
    /// ## Example
    /// ```text
    /// From: Rachel Dunmore <rachel.dunmore84@gmail.com>
    /// To: Year 5 Parents <year5-parents@school.example.sch.uk>
    /// Cc: office@school.example.sch.uk
    /// ```
    ///
    /// ## How to fix
    /// Send from the account the organisation provides. An outside address
    /// that may write for the organisation (a mailing service, a partner)
    /// goes in `allowed_senders`.
    ///
    /// ## Options
    /// ```toml
    /// [organization]
    /// domains = ["school.example.sch.uk"]   # required for this rule
    ///
    /// [rules.personal-sender]
    /// allowed_senders = []   # addresses, or domains (subdomains included),
    ///                        # e.g. ["newsletters.example", "head@gmail.com"]
    /// ```
    id: "personal-sender",
    severity: Warning,
    summary: "Mail to the organisation is sent from a personal or outside account",
    build: PersonalSender::build,
}

#[derive(Deserialize, Default, Debug, PartialEq)]
#[serde(default, deny_unknown_fields)]
struct Options {
    allowed_senders: Vec<String>,
}

struct PersonalSender {
    /// Lowercased addresses.
    addresses: Vec<String>,
    /// Lowercased domains.
    domains: Vec<String>,
}

impl PersonalSender {
    fn build(settings: &RuleSettings) -> Result<Box<dyn Rule>, OptionError> {
        let options: Options = settings.options()?;
        let mut rule = PersonalSender {
            addresses: Vec::new(),
            domains: Vec::new(),
        };
        for entry in &options.allowed_senders {
            let entry = entry.trim().to_ascii_lowercase();
            if entry.is_empty() || entry.contains(char::is_whitespace) || entry.ends_with('@') {
                return Err(OptionError::new(
                    "allowed_senders",
                    format!("{entry:?} is neither an address nor a domain"),
                ));
            }
            if entry.contains('@') {
                rule.addresses.push(entry);
            } else {
                rule.domains.push(entry);
            }
        }
        Ok(Box::new(rule))
    }
}

impl Rule for PersonalSender {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        if cx.config.organization.domains.is_empty() {
            return;
        }
        let Some(from) = cx.message.sender() else {
            return;
        };
        let Some(domain) = from.domain().map(str::to_ascii_lowercase) else {
            return;
        };
        let audience = cx.audience;
        if audience.is_internal(&domain)
            || is_internal(&domain, &self.domains)
            || self.addresses.contains(&from.addr.to_ascii_lowercase())
        {
            return;
        }
        let configured = &cx.config.organization.domains;
        let mut internal = 0u64;
        let mut lists = 0u64;
        let mut first_list = None;
        // The organisation's domains the recipients are at, in order: the
        // account to send from is at one of these.
        let mut recipient_org: Vec<&str> = Vec::new();
        for r in audience.recipients() {
            if r.own {
                continue;
            }
            if r.list.is_some() {
                lists += 1;
                first_list.get_or_insert(r.first().addr);
            } else if !r.external {
                internal += 1;
            } else {
                continue;
            }
            let domain = &r.domain.name;
            if let Some(org) = configured
                .iter()
                .find(|org| is_internal(domain, std::slice::from_ref(org)))
                && !recipient_org.contains(&org.as_str())
            {
                recipient_org.push(org);
            }
        }
        if internal == 0 && lists == 0 {
            return;
        }
        // Lists outside the organisation's domains leave only the configured ones.
        if recipient_org.is_empty() {
            recipient_org = configured.iter().map(String::as_str).collect();
        }
        let org = recipient_org.join(", ");
        let mut to_whom = Vec::new();
        if internal > 0 {
            to_whom.push(format!(
                "{} ({org})",
                plural(
                    internal,
                    "recipient inside the organisation",
                    "recipients inside the organisation",
                )
            ));
        }
        match (lists, first_list) {
            (1, Some(list)) => to_whom.push(format!("the configured list {list}")),
            (n, Some(list)) => to_whom.push(format!(
                "{} ({list}, ...)",
                plural(n, "configured list", "configured lists")
            )),
            _ => {}
        }
        let what = if audience.is_personal(&domain) {
            format!("sent from a personal mailbox, {},", from.addr)
        } else {
            format!(
                "sent from {}, outside the organisation's domains,",
                from.addr
            )
        };
        out.push(
            Diagnostic::new(
                Severity::Warning,
                format!("{what} to {}", to_whom.join(" and ")),
                Location::header("From", from.line),
            )
            .help(format!(
                "send organisation mail from your account at {}; an outside sender that may write for the organisation goes in `allowed_senders`",
                recipient_org.join(" or ")
            )),
        );
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn documented_options_are_the_defaults() {
        assert_eq!(
            crate::testing::documented_options::<super::Options>(&super::RULE),
            super::Options::default()
        );
    }
    use super::*;
    use crate::testing::{check_rule, check_rule_with, eml, option_error_key};

    const CONFIG: &str = r#"
[organization]
domains = ["school.example.sch.uk"]
[lists."year5-parents@school.example.sch.uk"]
members = 28
"#;

    #[test]
    fn personal_mailbox_to_staff_and_lists() {
        let msg = eml(concat!(
            "From: Rachel <rachel.d84@gmail.com>\n",
            "To: year5-parents@school.example.sch.uk\n",
            "Cc: office@school.example.sch.uk, head@school.example.sch.uk, someone@yahoo.co.uk\n",
            "Subject: trip\n\nx\n"
        ));
        let f = check_rule_with(CONFIG, "personal-sender", &msg);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Warning);
        assert_eq!(
            f[0].message,
            "sent from a personal mailbox, rachel.d84@gmail.com, to 2 recipients inside the organisation (school.example.sch.uk) and the configured list year5-parents@school.example.sch.uk"
        );
        assert_eq!(f[0].location.header.as_deref(), Some("From"));
        assert_eq!(f[0].location.line, Some(1));
    }

    #[test]
    fn outside_domain_to_staff() {
        let msg = eml("From: r@home.example\nTo: office@mail.school.example.sch.uk\n\nx\n");
        let f = check_rule_with(CONFIG, "personal-sender", &msg);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.starts_with("sent from r@home.example, outside the organisation's domains, to 1 recipient inside"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn names_the_recipients_own_organisation_domain() {
        let config = "[organization]\ndomains = [\"trust.example.org.uk\", \"oakfield.example.sch.uk\", \"riverside.example.sch.uk\"]\n";
        let msg = eml(
            "From: tom@gmail.com\nTo: office@riverside.example.sch.uk\nCc: y6@mail.riverside.example.sch.uk\n\nx\n",
        );
        let f = check_rule_with(config, "personal-sender", &msg);
        assert_eq!(
            f[0].message,
            "sent from a personal mailbox, tom@gmail.com, to 2 recipients inside the organisation (riverside.example.sch.uk)"
        );
        assert_eq!(
            f[0].help.as_deref(),
            Some(
                "send organisation mail from your account at riverside.example.sch.uk; an outside sender that may write for the organisation goes in `allowed_senders`"
            )
        );
        let two = eml(
            "From: tom@gmail.com\nTo: office@riverside.example.sch.uk, head@oakfield.example.sch.uk\n\nx\n",
        );
        let f = check_rule_with(config, "personal-sender", &two);
        assert!(
            f[0].message
                .ends_with("(riverside.example.sch.uk, oakfield.example.sch.uk)"),
            "{}",
            f[0].message
        );
        assert!(
            f[0].help
                .as_deref()
                .unwrap()
                .contains("at riverside.example.sch.uk or oakfield.example.sch.uk;")
        );
    }

    #[test]
    fn silent_cases() {
        let personal_to_parents =
            eml("From: r@gmail.com\nTo: r@gmail.com\nBcc: p1@yahoo.co.uk, p2@example.com\n\nx\n");
        assert!(check_rule_with(CONFIG, "personal-sender", &personal_to_parents).is_empty());
        let internal =
            eml("From: r@school.example.sch.uk\nTo: year5-parents@school.example.sch.uk\n\nx\n");
        assert!(check_rule_with(CONFIG, "personal-sender", &internal).is_empty());
        let unconfigured = eml("From: r@gmail.com\nTo: office@school.example.sch.uk\n\nx\n");
        assert!(check_rule("personal-sender", &unconfigured).is_empty());
        // Writing only to oneself at work is not organisation mail either.
        let to_self = eml("From: r@gmail.com\nTo: r@gmail.com\n\nx\n");
        assert!(check_rule_with(CONFIG, "personal-sender", &to_self).is_empty());
    }

    #[test]
    fn allowed_senders() {
        let config = format!(
            "{CONFIG}[rules.personal-sender]\nallowed_senders = [\"news.example\", \"Head@Gmail.com\"]\n"
        );
        for from in ["bulletin@mail.news.example", "head@gmail.com"] {
            let msg = eml(&format!(
                "From: {from}\nTo: office@school.example.sch.uk\n\nx\n"
            ));
            assert!(
                check_rule_with(&config, "personal-sender", &msg).is_empty(),
                "{from}"
            );
        }
        let other = eml("From: deputy@gmail.com\nTo: office@school.example.sch.uk\n\nx\n");
        assert_eq!(check_rule_with(&config, "personal-sender", &other).len(), 1);
        assert_eq!(
            option_error_key("personal-sender", "allowed_senders = [\"a b\"]").as_deref(),
            Some("allowed_senders")
        );
    }
}
