use super::shared::{NoOptions, describe, location};
use super::{Context, Rule, declare_rule};
use crate::config::{OptionError, RuleSettings};
use crate::finding::{Diagnostic, Severity};

declare_rule! {
    /// ## What it checks
    /// A reply (In-Reply-To or References present, or a reply prefix such as
    /// `Re:`, `AW:`, `SV:`, `Antw:` or `回复:` in the subject) addressed to an
    /// everyone-style list, as `mass-list` defines it, in any recipient field.
    ///
    /// ## Why it matters
    /// Reply-all storms: after a test message reached every NHSmail user,
    /// hundreds replied to all asking to be removed, making about 186 million
    /// messages. A newspaper's president replied to all with confidential
    /// layoff plans and reached the whole newsroom.
    ///
    /// ## Example
    /// ```text
    /// Subject: Re: test
    /// In-Reply-To: <test-1@nhs.example.net>
    /// To: everyone@nhs.example.net
    ///
    /// Please remove me from this list
    /// ```
    ///
    /// ## How to fix
    /// Reply to the sender only: remove the list from To, Cc and Bcc.
    ///
    /// ## Options
    /// None of its own; which addresses are mass lists is configured under
    /// `[organization] mass_list_names` and `[lists]` (see `mass-list`).
    id: "reply-all-to-list",
    severity: Error,
    summary: "A reply goes to an everyone-style list: the start of a reply-all storm",
    build: ReplyAllToList::build,
}

struct ReplyAllToList;

impl ReplyAllToList {
    fn build(settings: &RuleSettings) -> Result<Box<dyn Rule>, OptionError> {
        settings.options::<NoOptions>()?;
        Ok(Box::new(ReplyAllToList))
    }
}

impl Rule for ReplyAllToList {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        if !cx.message.is_reply {
            return;
        }
        for (r, mass) in cx.audience.unapproved_mass_lists() {
            out.push(
                Diagnostic::new(
                    Severity::Error,
                    format!("this reply goes to everyone on {}", describe(r, mass)),
                    location(r),
                )
                .help("reply to the sender only: remove the list from the recipients"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{check_rule, eml};

    #[test]
    fn fires_on_replies_to_mass_lists() {
        for headers in [
            "Subject: Re: test\n",
            "In-Reply-To: <a@b>\nSubject: test\n",
            "References: <a@b>\n",
            "Subject: AW: Termin\n",
            "Subject: =?UTF-8?B?5Zue5aSNOiDkvJrorq4=?=\n",
        ] {
            let msg = eml(&format!(
                "From: a@example.org\nTo: everyone@example.org\n{headers}\nx\n"
            ));
            let f = check_rule("reply-all-to-list", &msg);
            assert_eq!(f.len(), 1, "{headers}");
            assert_eq!(f[0].severity, crate::finding::Severity::Error);
        }
    }

    #[test]
    fn silent_for_new_messages_and_ordinary_replies() {
        let new = eml("From: a@example.org\nTo: everyone@example.org\nSubject: hello\n\nx\n");
        assert!(check_rule("reply-all-to-list", &new).is_empty());
        let reply = eml(
            "From: a@example.org\nTo: b@example.org, dev@lists.example.org\nSubject: Re: hello\n\nx\n",
        );
        assert!(check_rule("reply-all-to-list", &reply).is_empty());
    }
}
