use super::shared::{NoOptions, describe, location};
use super::{Context, Rule, declare_rule};
use crate::config::{OptionError, RuleSettings};
use crate::finding::{Diagnostic, Severity};

declare_rule! {
    /// ## What it checks
    /// A recipient that is an everyone-style list: a configured list with 500
    /// or more `members` or `mass = true`, or an address whose local part
    /// names everyone: `all`, `all-*`, `*-all`, `allstaff`, `all.staff`,
    /// `all_staff`, `everyone`, `everybody`, `all-users`, `all-students`,
    /// `all-employees`, `wholeschool`, and the names in
    /// `organization.mass_list_names`. A configured list below 500 members is
    /// never one, whatever its name. A built-in name that goes on to name the
    /// few people who plan or run something (`all-hands-planning`,
    /// `all-staff-social-committee`) or a list's managers (`all-staff-owner`,
    /// `everyone-moderators`, `-request`, `-bounces`) is their address, not
    /// everyone's. Silent when the sender is in the list's `allowed_senders`.
    /// A meeting invitation's attendees are recipients too: inviting
    /// `all-staff@` to a meeting puts it in every member's calendar.
    ///
    /// ## Why it matters
    /// A university's all-students lists lost their access controls: a
    /// student's enquiry reached every student, who replied to all. A
    /// contractor's test to a list of every NHSmail user started a storm that
    /// degraded the national service.
    ///
    /// ## Example
    /// ```text
    /// From: student@uni.example.ac.uk
    /// To: all-students@uni.example.ac.uk
    /// ```
    ///
    /// ## How to fix
    /// Make sure you mean to write to everyone. Announcements go through the
    /// people allowed to send them (add them to `allowed_senders`).
    ///
    /// ## Options
    /// ```toml
    /// [organization]
    /// mass_list_names = ["staff-announce", "*-everyone"]
    ///
    /// [lists."all-staff@example.ac.uk"]
    /// members = 5400
    /// allowed_senders = ["comms@example.ac.uk"]
    ///
    /// [lists."staff-social@example.ac.uk"]
    /// members = 80      # a known small list: never a mass list
    /// ```
    id: "mass-list",
    severity: Warning,
    summary: "A recipient is an everyone-style list (all-staff, everyone, ...)",
    build: MassListRule::build,
}

struct MassListRule;

impl MassListRule {
    fn build(settings: &RuleSettings) -> Result<Box<dyn Rule>, OptionError> {
        settings.options::<NoOptions>()?;
        Ok(Box::new(MassListRule))
    }
}

impl Rule for MassListRule {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        // A reply to a mass list is reply-all-to-list's error; saying it twice is noise.
        if cx.message.is_reply {
            return;
        }
        for (r, mass) in cx.audience.unapproved_mass_lists() {
            out.push(
                Diagnostic::new(
                    Severity::Warning,
                    format!("sent to an everyone-style list: {}", describe(r, mass)),
                    location(r),
                )
                .help("make sure you mean to write to everyone; announcements go through the list's allowed senders"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{check_rule, check_rule_with, eml};

    #[test]
    fn fires_on_everyone_names() {
        for to in [
            "everyone@example.org",
            "all@example.org",
            "all-students@uni.example.ac.uk",
            "sales-all@example.org",
            "AllStaff@example.org",
            "all.staff@example.org",
            "wholeschool@school.example",
        ] {
            let msg = eml(&format!("From: a@example.org\nTo: {to}\n\nx\n"));
            let f = check_rule("mass-list", &msg);
            assert_eq!(f.len(), 1, "{to}");
            assert_eq!(f[0].location.line, Some(2));
        }
    }

    #[test]
    fn silent_on_ordinary_names_and_discussion_lists() {
        for to in [
            "allison@example.org",
            "hall@example.org",
            "install-all-the-things@example.org",
            "rust-users@lists.example.org",
            "announce@example.org",
        ] {
            let msg = eml(&format!("From: a@example.org\nTo: {to}\n\nx\n"));
            assert!(check_rule("mass-list", &msg).is_empty(), "{to}");
        }
    }

    #[test]
    fn configured_lists() {
        let config = r#"
[organization]
mass_list_names = ["staff-announce"]
[lists."big@example.org"]
members = 900
allowed_senders = ["comms@example.org"]
[lists."all-small@example.org"]
members = 12
"#;
        let big =
            eml("From: a@example.org\nTo: big@example.org, staff-announce@example.org\n\nx\n");
        let f = check_rule_with(config, "mass-list", &big);
        assert_eq!(f.len(), 2);
        assert!(
            f[0].message.contains("a list of 900 members"),
            "{}",
            f[0].message
        );
        let allowed = eml("From: Comms@example.org\nTo: big@example.org\n\nx\n");
        assert!(check_rule_with(config, "mass-list", &allowed).is_empty());
        let small = eml("From: a@example.org\nTo: all-small@example.org\n\nx\n");
        assert!(check_rule_with(config, "mass-list", &small).is_empty());
    }
}
