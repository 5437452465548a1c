use super::shared::CALENDAR_PART;
use super::shared::lists::is_list_address;
use super::{Context, Rule, check_thresholds, declare_rule, plural, thousands};
use crate::config::{OptionError, RuleSettings};
use crate::finding::{Diagnostic, Location, Severity};
use crate::message::Field;
use serde::Deserialize;

declare_rule! {
    /// ## What it checks
    /// Recipients who do not know each other being able to see each other's
    /// addresses: many external addresses, belonging to several unrelated
    /// parties, in To or Cc. Each address at a personal mailbox provider
    /// (gmail.com, hotmail.co.uk, outlook.com, yahoo.*, icloud.com, aol.com,
    /// btinternet.com, ...) is its own party; other external addresses group
    /// by registrable domain, so a few people at one partner company count as
    /// one party. The sender's own addresses, internal recipients and
    /// mailing lists (at a list server's host such as `lists.example.org`,
    /// `googlegroups.com` or `vger.kernel.org`, or named like one:
    /// `-devel`, `-users`, `-announce`, ...) are not counted: a list's
    /// address is public, and its members see no one else's through it.
    /// Replies are not checked: their addresses were already shown by the
    /// message they answer.
    ///
    /// A meeting invitation (a `text/calendar` part or `.ics` file with
    /// `METHOD:REQUEST`) shows its ATTENDEE lines to every invitee, even
    /// when the mail itself goes Bcc: its attendees count as visible, and
    /// the finding points at the calendar part. Replies, cancellations and
    /// published calendars name no audience.
    ///
    /// It is a warning from 10 visible external addresses in at least 3
    /// parties, and an error from 50, or when To holds nobody outside the
    /// organisation (only the sender, a shared mailbox, a team's group or
    /// other addresses inside, or an empty group like
    /// `undisclosed-recipients:;`) while Cc carries 10 or more external
    /// parties: the classic Cc-instead-of-Bcc.
    ///
    /// It is also an error, whatever To holds, from 10 private individuals
    /// shown to each other: addresses at personal mailbox providers, and,
    /// when those are at least half of the addresses shown, the addresses
    /// that are the only one of their organisation (a parent writing from
    /// work). A business thread with many companies' addresses is left as
    /// it was: there, personal mailboxes are the exception.
    ///
    /// ## Why it matters
    /// A police force emailed 1,136 crime victims in batches with their
    /// addresses in Cc instead of Bcc: between 118 and 197 private addresses
    /// were visible in every mail, and the force had to refer itself to the
    /// data protection regulator. The UK regulator (ICO) has reprimanded
    /// organisations for far fewer: the Patient and Client Council for the
    /// addresses of 15 people in Cc (2023), NHS Highland for 37 (2024).
    /// Ten private individuals, below the smallest of those, is where the
    /// error starts.
    ///
    /// ## Example
    /// ```text
    /// From: Survey Team <survey@police.example.gov.uk>
    /// To: survey@police.example.gov.uk
    /// Cc: a.jones@gmail.com, bob.k@hotmail.co.uk, c.smith@outlook.com, ...
    /// ```
    ///
    /// ## How to fix
    /// Put recipients who do not know each other in Bcc, or send one message
    /// per recipient (mail merge).
    ///
    /// ## Options
    /// ```toml
    /// [rules.cc-exposure]
    /// warning = 10      # visible external addresses for a warning
    /// error = 50        # ... for an error
    /// min_parties = 3   # unrelated parties needed before anything fires
    /// individuals_error = 10   # private individuals shown to each other for an error
    /// ```
    id: "cc-exposure",
    severity: Warning,
    summary: "Recipients who do not know each other can see each other's addresses in To/Cc",
    build: CcExposure::build,
}

#[derive(Deserialize, Debug, PartialEq)]
#[serde(default, deny_unknown_fields)]
struct CcExposure {
    warning: u64,
    error: u64,
    min_parties: u64,
    individuals_error: u64,
}

impl Default for CcExposure {
    fn default() -> Self {
        CcExposure {
            warning: 10,
            error: 50,
            min_parties: 3,
            individuals_error: 10,
        }
    }
}

impl CcExposure {
    fn build(settings: &RuleSettings) -> Result<Box<dyn Rule>, OptionError> {
        let rule: CcExposure = settings.options()?;
        check_thresholds(rule.warning, rule.error)?;
        Ok(Box::new(rule))
    }
}

impl Rule for CcExposure {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        if cx.message.is_reply {
            return;
        }
        let mut exposed = 0u64;
        // Recipients are distinct mailboxes: each at a personal-mailbox
        // provider is a party of its own, the others count once per
        // organisation.
        let mut parties = 0u64;
        let mut personal = 0u64;
        // Addresses shown, per organisation.
        let mut organisations = vec![0u64; cx.audience.organisations()];
        let mut to_count = 0u64;
        let mut cc_count = 0u64;
        // Visible only as a meeting invitation's attendees.
        let mut attendee_count = 0u64;
        // Whether To names someone inside the organisation other than the
        // sender: a shared mailbox or a group rather than the sender alone.
        let mut to_internal = false;
        for r in cx.audience.recipients() {
            let Some(visible) = r.visible else { continue };
            if r.own {
                continue;
            }
            if !r.external {
                to_internal |= matches!(visible, Field::To | Field::ResentTo);
                continue;
            }
            if is_list_address(&r.first()) {
                continue;
            }
            exposed += 1;
            if r.domain.personal {
                parties += 1;
                personal += 1;
            } else if let Some(shown) = organisations.get_mut(r.domain.organisation) {
                if *shown == 0 {
                    parties += 1;
                }
                *shown += 1;
            }
            match visible {
                Field::To | Field::ResentTo => to_count += 1,
                Field::Attendee => attendee_count += 1,
                _ => cc_count += 1,
            }
        }
        if exposed < self.warning || parties < self.min_parties {
            return;
        }
        // Everyone outside is in Cc (or the invitation), and To is a
        // placeholder.
        let placeholder_to = to_count == 0 && parties >= self.warning;
        // Private individuals: personal mailboxes, and, among mostly
        // personal ones, parties of one address each.
        let individuals = if personal * 2 >= exposed {
            personal + organisations.iter().filter(|&&n| n == 1).count() as u64
        } else {
            personal
        };
        let private = individuals >= self.individuals_error;
        let severity = if exposed >= self.error || placeholder_to || private {
            Severity::Error
        } else {
            Severity::Warning
        };
        let header = if cc_count >= to_count { "Cc" } else { "To" };
        let location = if attendee_count > to_count.max(cc_count) {
            let line = cx
                .message
                .addresses_in(Field::Attendee)
                .find_map(|a| a.line);
            Location::part(CALENDAR_PART, line)
        } else {
            Location::header(header, cx.message.header_line(header))
        };
        let mut breakdown = match (to_count, cc_count) {
            (0, 0) => String::new(),
            (0, _) => "in Cc".to_string(),
            (_, 0) => "in To".to_string(),
            (to, cc) => format!("in To ({}) and Cc ({})", thousands(to), thousands(cc)),
        };
        if attendee_count > 0 && breakdown.is_empty() {
            breakdown.push_str("in the meeting invitation's attendee list");
        } else if attendee_count > 0 {
            breakdown.push_str(&format!(
                " and in the meeting invitation's attendee list ({})",
                thousands(attendee_count)
            ));
        }
        let mut message = format!(
            "{} from {} are visible to every recipient {breakdown}",
            plural(exposed, "external address", "external addresses"),
            plural(parties, "separate party", "separate parties"),
        );
        if private && !placeholder_to && exposed < self.error {
            message.push_str(&format!(
                "; {} private individuals see each other's addresses",
                thousands(individuals)
            ));
        }
        if placeholder_to {
            message.push_str(if to_internal {
                "; To names only the organisation's own addresses"
            } else {
                "; To names nobody but the sender"
            });
        }
        out.push(Diagnostic::new(severity, message, location).help(
            "put recipients who do not know each other in Bcc, or send one message per recipient",
        ));
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn documented_options_are_the_defaults() {
        assert_eq!(
            crate::testing::documented_options::<super::CcExposure>(&super::RULE),
            super::CcExposure::default()
        );
    }
    use crate::testing::{check_rule, eml};

    fn cc(n: usize, domain: impl Fn(usize) -> String) -> String {
        (0..n)
            .map(|i| format!("person{i}@{}", domain(i)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    #[test]
    fn warns_on_many_parties_in_cc() {
        let msg = eml(&format!(
            "From: a@org.example\nTo: b@org.example\nCc: {}\n\nhi\n",
            cc(12, |i| format!("co{}.example", i % 4))
        ));
        let f = check_rule("cc-exposure", &msg);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, crate::finding::Severity::Warning);
        assert!(
            f[0].message
                .starts_with("12 external addresses from 4 separate parties"),
            "{}",
            f[0].message
        );
        assert_eq!(f[0].location.header.as_deref(), Some("Cc"));
        assert_eq!(f[0].location.line, Some(3));
    }

    #[test]
    fn mailing_lists_are_not_people_shown_to_each_other() {
        // A patch series copied to the lists of every subsystem it touches.
        let lists = (0..8)
            .map(|i| format!("linux-sub{i}@vger.kernel.org"))
            .chain((0..4).map(|i| format!("project{i}-devel@lists.sourceforge.net")))
            .chain([
                "xen-devel@xen.example".into(),
                "dev@googlegroups.com".into(),
            ])
            .chain((0..3).map(|i| format!("team{i}-users@co{i}.example")))
            .collect::<Vec<_>>()
            .join(", ");
        let msg = eml(&format!(
            "From: a@org.example\nTo: maintainer@kernel.org\nCc: {lists}\n\nhi\n"
        ));
        assert!(check_rule("cc-exposure", &msg).is_empty());
        // People beside the lists still count.
        let msg = eml(&format!(
            "From: a@org.example\nTo: maintainer@kernel.org\nCc: {lists}, {}\n\nhi\n",
            cc(12, |i| format!("co{}.example", i % 4))
        ));
        let f = check_rule("cc-exposure", &msg);
        assert!(
            f[0].message.starts_with("13 external addresses"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn errors_when_to_is_only_the_sender() {
        let msg = eml(&format!(
            "From: survey@org.example\nTo: survey@org.example\nCc: {}\n\nhi\n",
            cc(11, |_| "gmail.com".into())
        ));
        let f = check_rule("cc-exposure", &msg);
        assert_eq!(f[0].severity, crate::finding::Severity::Error);
        assert!(f[0].message.contains("To names nobody but the sender"));
    }

    #[test]
    fn errors_when_to_is_only_the_organisations_own_addresses() {
        // A shared mailbox in To, private addresses in Cc.
        let msg = eml(&format!(
            "From: jo@org.example\nTo: team@org.example, office@dept.org.example\nCc: {}\n\nhi\n",
            cc(28, |_| "gmail.com".into())
        ));
        let f = check_rule("cc-exposure", &msg);
        assert_eq!(f[0].severity, crate::finding::Severity::Error);
        assert!(
            f[0].message
                .ends_with("in Cc; To names only the organisation's own addresses"),
            "{}",
            f[0].message
        );
        // Someone outside in To: the Cc of companies may be that person's
        // business.
        let msg = eml(&format!(
            "From: jo@org.example\nTo: team@org.example, client@partner.example\nCc: {}\n\nhi\n",
            cc(28, |i| format!("co{}.example", i % 14))
        ));
        assert_eq!(
            check_rule("cc-exposure", &msg)[0].severity,
            crate::finding::Severity::Warning
        );
    }

    #[test]
    fn private_individuals_shown_to_each_other_are_an_error_whatever_to_holds() {
        // A school's letter: a parent in To, 40 more in Cc, most at
        // personal mailboxes, some at their work (one address a company).
        let parents = |personal: usize, work: usize| {
            format!(
                "{}, {}",
                cc(personal, |i| ["gmail.com", "hotmail.co.uk", "yahoo.com"]
                    [i % 3]
                    .into()),
                (0..work)
                    .map(|i| format!("parent{i}@employer{i}.example"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let msg = eml(&format!(
            "From: head@school.example\nTo: parent@gmail.com\nCc: {}\n\nhi\n",
            parents(30, 10)
        ));
        let f = check_rule("cc-exposure", &msg);
        assert_eq!(f[0].severity, crate::finding::Severity::Error);
        assert!(
            f[0].message
                .ends_with("; 41 private individuals see each other's addresses"),
            "{}",
            f[0].message
        );
        // Six at personal mailboxes and four at their work: ten.
        let msg = eml(&format!(
            "From: head@school.example\nTo: parent@gmail.com\nCc: {}\n\nhi\n",
            parents(5, 4)
        ));
        assert_eq!(
            check_rule("cc-exposure", &msg)[0].severity,
            crate::finding::Severity::Error
        );
        // Nine, and two colleagues at one company: a warning, as before.
        let msg = eml(&format!(
            "From: head@school.example\nTo: parent@gmail.com\nCc: {}, a@bigco.example, b@bigco.example\n\nhi\n",
            parents(5, 3)
        ));
        assert_eq!(
            check_rule("cc-exposure", &msg)[0].severity,
            crate::finding::Severity::Warning
        );
    }

    #[test]
    fn a_business_thread_of_many_companies_stays_a_warning() {
        // Twenty companies, one contact each, and three personal
        // addresses: the companies are not private individuals.
        let msg = eml(&format!(
            "From: pm@org.example\nTo: client@partner.example\nCc: {}, {}\n\nhi\n",
            cc(20, |i| format!("supplier{i}.example")),
            cc(3, |_| "gmail.com".into())
        ));
        assert_eq!(
            check_rule("cc-exposure", &msg)[0].severity,
            crate::finding::Severity::Warning
        );
    }

    #[test]
    fn errors_at_fifty() {
        let msg = eml(&format!(
            "From: a@org.example\nTo: {}\n\nhi\n",
            cc(50, |i| format!("co{}.example", i % 5))
        ));
        assert_eq!(
            check_rule("cc-exposure", &msg)[0].severity,
            crate::finding::Severity::Error
        );
    }

    #[test]
    fn silent_for_one_partner_company_and_internal_mail() {
        let partner = eml(&format!(
            "From: a@org.example\nTo: {}\n\nhi\n",
            cc(30, |i| format!(
                "{}.partner.example.com",
                ["eu", "us"][i % 2]
            ))
        ));
        assert!(check_rule("cc-exposure", &partner).is_empty());
        let internal = eml(&format!(
            "From: a@org.example\nCc: {}\n\nhi\n",
            cc(60, |_| "dept.org.example".into())
        ));
        assert!(check_rule("cc-exposure", &internal).is_empty());
    }

    #[test]
    fn silent_for_bcc_and_replies() {
        let bcc = eml(&format!(
            "From: a@org.example\nTo: a@org.example\nBcc: {}\n\nhi\n",
            cc(100, |_| "gmail.com".into())
        ));
        assert!(check_rule("cc-exposure", &bcc).is_empty());
        let reply = eml(&format!(
            "From: a@org.example\nIn-Reply-To: <x@y>\nCc: {}\n\nhi\n",
            cc(100, |_| "gmail.com".into())
        ));
        assert!(check_rule("cc-exposure", &reply).is_empty());
    }

    #[test]
    fn below_threshold_is_silent() {
        let msg = eml(&format!(
            "From: a@org.example\nTo: b@org.example\nCc: {}\n\nhi\n",
            cc(9, |_| "gmail.com".into())
        ));
        assert!(check_rule("cc-exposure", &msg).is_empty());
    }

    #[test]
    fn a_meeting_invitation_shows_its_attendees() {
        let attendees: String = (0..12)
            .map(|i| format!("ATTENDEE;CN=P{i};RSVP=TRUE:mailto:p{i}@mail{i}.example\n"))
            .collect();
        let invite = |method: &str| {
            eml(&format!(
                "From: a@org.example\nTo: a@org.example\nBcc: p0@mail0.example\nSubject: Meeting\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/plain\n\nJoin us.\n--b\nContent-Type: text/calendar; method={method}\n\nBEGIN:VCALENDAR\nMETHOD:{method}\nBEGIN:VEVENT\n{attendees}END:VEVENT\nEND:VCALENDAR\n--b--\n"
            ))
        };
        let f = check_rule("cc-exposure", &invite("REQUEST"));
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "12 external addresses from 12 separate parties are visible to every recipient in the meeting invitation's attendee list; To names nobody but the sender"
        );
        assert_eq!(f[0].location.part.as_deref(), Some("text/calendar"));
        // The first ATTENDEE line.
        assert_eq!(f[0].location.line, Some(18));
        assert!(check_rule("cc-exposure", &invite("REPLY")).is_empty());
        assert!(check_rule("cc-exposure", &invite("CANCEL")).is_empty());
    }
}
