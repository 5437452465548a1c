use super::shared::data_files::data_file_kind;
use super::shared::personal::{Screen, new_text_only};
use super::shared::{NoOptions, judged, location};
use super::{Context, Rule, declare_rule};
use crate::audience::Recipient;
use crate::config::{OptionError, RuleSettings};
use crate::finding::{Diagnostic, Severity};
use crate::history::{Known, Recall};

declare_rule! {
    /// ## What it checks
    /// Needs a history: the index `maillint learn` builds from your sent mail
    /// (silent without one). An outside address you have never written to,
    /// in a message whose other recipients you write to: the shape of most
    /// misdirected mail, where one address among familiar ones was picked
    /// by autocomplete.
    ///
    /// It is an info; a warning when nobody at the new address's domain has
    /// ever had mail from you either and the address resembles a contact you
    /// know: its local part or its display name is one you have written to
    /// at another address (`jane.smith@` or `Jane Smith` at a new
    /// organisation: autocomplete's pick of a namesake). A first message to
    /// someone at a new organisation who resembles nobody you know is how
    /// new contacts begin, and stays an info. Replies stay infos too:
    /// answering someone who wrote to you first is how new contacts begin. Either is an error
    /// when the message carries personal data (what personal-data finds,
    /// with its options) or a data file (a spreadsheet, database, archive
    /// or table, as data-attachment knows them): then a wrong address is a
    /// data breach.
    ///
    /// Without configured `organization.domains`, the sender's domain is
    /// inside; a sender at a personal mailbox has everyone outside.
    ///
    /// ## Why it matters
    /// A G20 staffer emailed 31 world leaders' passport numbers to a football
    /// tournament's organisers: the mail client's autocomplete picked the
    /// wrong contact. The address was valid and the domain real; only the
    /// sender's history shows that it had never been written to.
    ///
    /// ## Example
    /// ```text
    /// From: me@example.org
    /// To: jane@agency.example, pat@asiancup.example
    /// ```
    /// gives "you have never written to pat@asiancup.example (nor to anyone
    /// at asiancup.example); the other recipients are familiar:
    /// jane@agency.example (41 times); you know this local part at another
    /// address: pat@club.example (3 times)", a warning for that last part.
    ///
    /// ## How to fix
    /// Check the new address is the one you meant. Once sent, it is familiar:
    /// learn it with `maillint learn`, or `[history] learn_on_send = true`.
    ///
    /// ## Options
    /// None of its own. The index is `[history] index` (default
    /// `$XDG_DATA_HOME/maillint/history.sqlite`).
    id: "new-recipient",
    severity: Warning,
    summary: "An outside address never written to before, among familiar recipients (needs `maillint learn`)",
    build: NewRecipient::build,
}

struct NewRecipient;

impl NewRecipient {
    fn build(settings: &RuleSettings) -> Result<Box<dyn Rule>, OptionError> {
        settings.options::<NoOptions>()?;
        Ok(Box::new(NewRecipient))
    }
}

impl Rule for NewRecipient {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        let Some(history) = cx.history else { return };
        let everyone_outside = cx.audience.org_domains.is_empty();
        let mut familiar: Vec<Known> = Vec::new();
        let mut new: Vec<Recipient<'_>> = Vec::new();
        for r in judged(cx) {
            match history.known(r.first().addr) {
                Some(known) => familiar.push(known),
                None if r.external || everyone_outside => new.push(r),
                None => {}
            }
        }
        if familiar.is_empty() {
            return;
        }
        familiar.sort_by_key(|k| std::cmp::Reverse(k.count));
        let listed: Vec<String> = familiar
            .iter()
            .take(3)
            .map(|k| format!("{} ({})", k.mailbox(), k.times()))
            .collect();
        let more = familiar.len().saturating_sub(3);
        let familiar = if more > 0 {
            format!("{} and {more} more", listed.join(", "))
        } else {
            listed.join(", ")
        };
        let carries = if new.is_empty() { None } else { sensitive(cx) };
        for r in new {
            let domain = r.first().domain().unwrap_or("");
            let new_domain = history.domain_count(domain) == 0;
            // Only a slip that autocomplete could have made is worth a
            // warning: the lookalike is looked up only when it decides one.
            let lookalike = (new_domain && !cx.message.is_reply)
                .then(|| resembles(history, r))
                .flatten();
            let severity = if carries.is_some() {
                Severity::Error
            } else if lookalike.is_some() {
                Severity::Warning
            } else {
                Severity::Info
            };
            let nor_domain = if new_domain {
                format!(" (nor to anyone at {domain})")
            } else {
                String::new()
            };
            out.push(
                Diagnostic::new(
                    severity,
                    format!(
                        "you have never written to {}{nor_domain}; the other recipients are familiar: {familiar}{}{}",
                        r.first().addr,
                        lookalike.as_deref().map_or(String::new(), |like| format!("; {like}")),
                        carries.as_deref().map_or(String::new(), |what| format!("; the message carries {what}")),
                    ),
                    location(r),
                )
                .help("check that this is the address you meant, and not one autocomplete picked"),
            );
        }
    }
}

/// The familiar contact a new address resembles, as the finding says it:
/// its display name or its local part written to at another address.
/// `None` when it resembles nobody the sender knows.
fn resembles(history: &dyn Recall, r: Recipient<'_>) -> Option<String> {
    let local = r.first().local_part();
    let (what, like) = match r.first().name.map(|n| history.named(n)) {
        Some(named) if !named.is_empty() => ("a name like it", named),
        _ if local.is_empty() => return None,
        _ => ("this local part", history.with_local_part(local)),
    };
    let known = like.into_iter().next()?;
    Some(if known.is_hidden() {
        format!("you know {what} at another address ({})", known.times())
    } else {
        format!(
            "you know {what} at another address: {} ({})",
            known.mailbox(),
            known.times()
        )
    })
}

/// What makes a misdirection of this message a breach, if anything: the
/// first data file attached, else the personal data in it.
fn sensitive(cx: &Context<'_>) -> Option<String> {
    let msg = cx.message;
    if let Some((a, kind)) = msg
        .attachments
        .iter()
        .enumerate()
        .find_map(|(i, a)| Some((a, data_file_kind(a, &[], || cx.inside().top(i))?)))
    {
        return Some(match &a.filename {
            Some(name) => format!("a {kind} ({name})"),
            None => format!("a {kind}"),
        });
    }
    let settings = cx.config.rules.get("personal-data");
    if settings.is_some_and(|s| s.level.is_some_and(|l| l.severity().is_none())) {
        return None;
    }
    let screen = Screen::build(settings.unwrap_or(&RuleSettings::default())).ok()?;
    screen.first_found(
        msg,
        new_text_only(msg, cx.audience.reaches_mass_list()),
        cx.inside(),
    )
}

// Every test here learns an index: the `history` feature.
#[cfg(feature = "history")]
#[cfg(test)]
mod tests {
    use crate::finding::Severity;
    use crate::testing::{check_rule_with, eml, history};

    const SENT: &[&str] = &[
        "From: me@example.org\nTo: Jane Smith <jane@agency.example>\nMessage-ID: <1@x>\n\nx\n",
        "From: me@example.org\nTo: jane@agency.example, tom@agency.example\nMessage-ID: <2@x>\n\nx\n",
    ];

    fn check(headers: &str) -> Vec<crate::finding::Finding> {
        let (_dir, config) = history(SENT);
        let msg = eml(&format!("From: me@example.org\n{headers}\nx\n"));
        check_rule_with(&config, "new-recipient", &msg)
    }

    #[test]
    fn a_stranger_among_familiar_recipients() {
        let f = check("To: jane@agency.example, pat@asiancup.example\n");
        assert_eq!(f.len(), 1);
        // Someone new at a new organisation, like nobody known: how new
        // contacts begin.
        assert_eq!(f[0].severity, Severity::Info);
        assert_eq!(
            f[0].message,
            "you have never written to pat@asiancup.example (nor to anyone at asiancup.example); \
             the other recipients are familiar: Jane Smith <jane@agency.example> (twice)"
        );
        // Someone new at a known organisation is only worth a note.
        let f = check("To: jane@agency.example, ann@agency.example\n");
        assert_eq!(f[0].severity, Severity::Info);
    }

    #[test]
    fn a_warning_when_the_stranger_resembles_a_familiar_contact() {
        // The local part of a familiar address, at a new organisation.
        let f = check("To: jane@agency.example, tom@asiancup.example\n");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Warning);
        assert_eq!(
            f[0].message,
            "you have never written to tom@asiancup.example (nor to anyone at asiancup.example); \
             the other recipients are familiar: Jane Smith <jane@agency.example> (twice); \
             you know this local part at another address: tom@agency.example (once)"
        );
        // A familiar display name.
        let f = check("To: jane@agency.example, Jane Smith <js@asiancup.example>\n");
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(
            f[0].message.ends_with(
                "; you know a name like it at another address: Jane Smith <jane@agency.example> (once)"
            ),
            "{}",
            f[0].message
        );
        // In a reply it stays a note.
        let f = check("To: jane@agency.example, tom@asiancup.example\nIn-Reply-To: <9@x>\n");
        assert_eq!(f[0].severity, Severity::Info);
    }

    #[test]
    fn an_error_when_the_message_carries_personal_data_or_a_data_file() {
        let passports = "To: jane@agency.example, pat@asiancup.example\n\nPassport number: 123456789\nPassport number: 987654321\n";
        let f = check(passports);
        assert_eq!(f[0].severity, Severity::Error);
        assert!(
            f[0].message
                .ends_with("; the message carries 2 passport numbers in the text body"),
            "{}",
            f[0].message
        );
        // A reply to someone new is an error too when it carries them.
        let f = check(&format!("In-Reply-To: <9@x>\n{passports}"));
        assert_eq!(f[0].severity, Severity::Error);
        let sheet = "To: jane@agency.example, ann@agency.example\nMIME-Version: 1.0\n\
            Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nSee attached.\n\
            --b\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename=leaders.xlsx\n\nxx\n--b--\n";
        let f = check(sheet);
        assert_eq!(f[0].severity, Severity::Error);
        assert!(
            f[0].message
                .ends_with("; the message carries a spreadsheet (leaders.xlsx)")
        );
    }

    #[test]
    fn personal_data_counts_as_its_rule_is_configured() {
        let (_dir, config) = history(SENT);
        let msg = eml(
            "From: me@example.org\nTo: jane@agency.example, pat@asiancup.example\n\nPay to GB82 WEST 1234 5698 7654 32\n",
        );
        let f = check_rule_with(&config, "new-recipient", &msg);
        assert_eq!(f[0].severity, Severity::Error);
        // The organisation's own IBAN, allowed, or the rule switched off.
        for rule in [
            "[rules.personal-data]\nallow = [\"GB82 WEST 1234 5698 7654 32\"]\n",
            "[rules.personal-data]\nseverity = \"off\"\n",
        ] {
            let f = check_rule_with(&format!("{config}{rule}"), "new-recipient", &msg);
            assert_eq!(f[0].severity, Severity::Info, "{rule}");
        }
    }

    #[test]
    fn silent_without_familiar_company_or_history() {
        assert!(check("To: pat@asiancup.example\n").is_empty());
        assert!(check("To: jane@agency.example, tom@agency.example\n").is_empty());
        // Colleagues are not outside.
        assert!(check("To: jane@agency.example, new@example.org\n").is_empty());
        let msg = eml("From: me@example.org\nTo: jane@agency.example, pat@asiancup.example\n\nx\n");
        let no_index = "[history]\nindex = \"/nonexistent/history.sqlite\"\n";
        assert!(check_rule_with(no_index, "new-recipient", &msg).is_empty());
    }
}
