//! Rules written in the configuration (`[[custom]]`): a regex over chosen
//! parts of the message, checked like the built-in rules.

use super::{Context, Rule};
use crate::config::{CustomField, CustomRule, When};
use crate::finding::{Diagnostic, Location};

impl Rule for CustomRule {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        let applies = match self.when {
            When::Any => true,
            When::External => cx.audience.goes_outside(),
            When::MassList => cx.audience.reaches_mass_list(),
        };
        if !applies {
            return;
        }
        for field in &self.fields {
            if let Some(location) = self.find(cx, *field) {
                let mut d = Diagnostic::new(self.severity, self.message.clone(), location);
                d.help = self.help.clone();
                out.push(d);
            }
        }
    }
}

impl CustomRule {
    /// Where the pattern first matches in one field.
    fn find(&self, cx: &Context<'_>, field: CustomField) -> Option<Location> {
        let msg = cx.message;
        let header = |name: &str| Location::header(name, msg.header_line(name));
        match field {
            CustomField::Subject => msg
                .subject
                .as_deref()
                .filter(|s| self.pattern.is_match(s))
                .map(|_| header("Subject")),
            // All readable text, quoted history included: it leaves too.
            CustomField::Body => msg.readable_parts().find_map(|p| {
                let m = self.pattern.find(p.plain())?;
                let found = p.plain().get(m.start()..)?;
                Some(Location::part(p.mime_type(), p.line_of(found)))
            }),
            CustomField::Headers => msg
                .headers()
                .find(|h| self.pattern.is_match(&format!("{}: {}", h.name, h.value)))
                .map(|h| Location::header(h.name, h.line)),
            CustomField::AttachmentNames => msg
                .attachments
                .iter()
                .filter_map(|a| a.filename.as_deref())
                .find(|name| self.pattern.is_match(name))
                .map(|name| Location::part(name, None)),
            CustomField::Recipients => msg
                .recipients()
                .find(|a| {
                    self.pattern.is_match(a.addr)
                        || a.name.is_some_and(|n| self.pattern.is_match(n))
                })
                .map(|a| Location::header(a.field.header_name(), a.line)),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{check_rule_with, eml};

    const CONFIG: &str = r#"
[organization]
domains = ["example.org"]

[[custom]]
id = "project-falcon"
pattern = "(?i)project\\s+falcon"
fields = ["subject", "body", "attachment-names"]
when = "external"
severity = "error"
message = "Codename Falcon must not leave the organisation"
help = "remove the codename"
"#;

    #[test]
    fn fires_per_matching_field_when_external() {
        let msg = eml(
            "From: a@example.org\nTo: b@partner.example\nSubject: Project Falcon plan\n\nHello,\n\nabout project   falcon.\n",
        );
        let f = check_rule_with(CONFIG, "project-falcon", &msg);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].rule, "project-falcon");
        assert_eq!(f[0].severity.as_str(), "error");
        assert_eq!(f[0].location.header.as_deref(), Some("Subject"));
        assert_eq!(f[0].location.line, Some(3));
        assert_eq!(f[1].location.part.as_deref(), Some("text/plain"));
        assert_eq!(f[1].location.line, Some(7));
        assert_eq!(f[1].help.as_deref(), Some("remove the codename"));
    }

    #[test]
    fn silent_when_internal_or_not_matching() {
        let internal =
            eml("From: a@example.org\nTo: b@example.org\nSubject: Project Falcon\n\nx\n");
        assert!(check_rule_with(CONFIG, "project-falcon", &internal).is_empty());
        let other =
            eml("From: a@example.org\nTo: b@partner.example\nSubject: Falcon project\n\nx\n");
        assert!(check_rule_with(CONFIG, "project-falcon", &other).is_empty());
    }

    #[test]
    fn recipients_and_headers() {
        let config = r#"
[[custom]]
id = "no-press"
pattern = "@press\\.example$"
fields = ["recipients"]
message = "the press is on the recipient list"

[[custom]]
id = "draft-marker"
pattern = "(?i)^x-draft-status: unreviewed"
fields = ["headers"]
severity = "info"
message = "the draft has not been reviewed"
"#;
        let msg = eml(
            "From: a@example.org\nTo: b@example.org,\n  desk@press.example\nX-Draft-Status: unreviewed\n\nx\n",
        );
        let f = check_rule_with(config, "no-press", &msg);
        assert_eq!(f[0].location.line, Some(3));
        assert_eq!(f[0].severity.as_str(), "warning");
        let f = check_rule_with(config, "draft-marker", &msg);
        assert_eq!(f[0].location.header.as_deref(), Some("X-Draft-Status"));
    }
}
