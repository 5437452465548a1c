use super::{Context, Rule, declare_rule};
use crate::config::{OptionError, RuleSettings};
use crate::finding::{Diagnostic, Location, Severity};
use crate::message::BodyKind;
use serde::Deserialize;

declare_rule! {
    /// ## What it checks
    /// - An HTML part over 102 KB (KB = 1,024 bytes) of HTML source: a
    ///   warning. Not checked in replies, where what Gmail would hide is the
    ///   quoted history.
    /// - The whole message over 10 MB: a warning; over 25 MB: an error. The
    ///   size is the message as read (encoded, as it travels), or for a JSON
    ///   draft its bodies plus its attachments in base64.
    ///
    /// ## Why it matters
    /// Gmail clips a message whose HTML is larger than about 102 KB: the
    /// rest is hidden behind "[Message clipped] View entire message", and
    /// with it the footer, the unsubscribe link and the open-tracking pixel.
    /// Gmail, Outlook.com and Yahoo refuse messages over 20–25 MB, and many
    /// company servers refuse them over 10 MB, after the send has already
    /// "worked".
    ///
    /// ## Example
    /// ```text
    /// text/html part: 148 KB of inlined CSS and table markup
    /// ```
    ///
    /// ## How to fix
    /// Trim the HTML: remove unused CSS, comments and repeated inline styles,
    /// shorten tracking URLs, split a long newsletter. Share large files as
    /// links instead of attaching them.
    ///
    /// ## Options
    /// ```toml
    /// [rules.message-size]
    /// html_kb = 102      # HTML part size for a warning (Gmail clipping)
    /// warning_mb = 10    # whole message, warning (fractions allowed: 0.5)
    /// error_mb = 25      # whole message, error
    /// ```
    id: "message-size",
    severity: Warning,
    summary: "HTML that Gmail clips (over 102 KB), or a message too large to deliver (over 10 or 25 MB)",
    build: MessageSize::build,
}

#[derive(Deserialize, Debug, PartialEq)]
#[serde(default, deny_unknown_fields)]
struct MessageSize {
    html_kb: f64,
    warning_mb: f64,
    error_mb: f64,
}

impl Default for MessageSize {
    fn default() -> Self {
        MessageSize {
            html_kb: 102.0,
            warning_mb: 10.0,
            error_mb: 25.0,
        }
    }
}

impl MessageSize {
    fn build(settings: &RuleSettings) -> Result<Box<dyn Rule>, OptionError> {
        let rule: MessageSize = settings.options()?;
        for (key, value) in [
            ("html_kb", rule.html_kb),
            ("warning_mb", rule.warning_mb),
            ("error_mb", rule.error_mb),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(OptionError::new(key, "must be a size above 0"));
            }
        }
        if rule.error_mb < rule.warning_mb {
            return Err(OptionError::new(
                "error_mb",
                "must not be below `warning_mb`",
            ));
        }
        Ok(Box::new(rule))
    }
}

const KB: f64 = 1024.0;
const MB: f64 = 1024.0 * 1024.0;

/// `148.3 KB`, `12.5 MB`.
fn size(bytes: u64) -> String {
    let bytes = bytes as f64;
    if bytes >= MB {
        format!("{:.1} MB", bytes / MB)
    } else {
        format!("{:.1} KB", bytes / KB)
    }
}

impl Rule for MessageSize {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        let msg = cx.message;
        // A JSON draft's attachments are not in its bytes: count them as
        // they will travel, in base64.
        let parts: u64 = msg.body.iter().map(|p| p.text.len() as u64).sum::<u64>()
            + msg
                .attachments
                .iter()
                .map(|a| a.size.saturating_mul(4) / 3)
                .sum::<u64>();
        let total = (msg.raw_size as u64).max(parts);
        let from = || Location::header("From", msg.header_line("From"));
        if total as f64 > self.error_mb * MB {
            out.push(
                Diagnostic::new(
                    Severity::Error,
                    format!(
                        "the message is {}, over the {} MB most mailbox providers accept",
                        size(total),
                        self.error_mb
                    ),
                    from(),
                )
                .help("share large files as links instead of attaching them"),
            );
        } else if total as f64 > self.warning_mb * MB {
            out.push(
                Diagnostic::new(
                    Severity::Warning,
                    format!(
                        "the message is {}, over the {} MB many mail servers accept",
                        size(total),
                        self.warning_mb
                    ),
                    from(),
                )
                .help("share large files as links instead of attaching them"),
            );
        }
        if msg.is_reply {
            return;
        }
        let limit = self.html_kb * KB;
        for part in msg.body.iter().filter(|p| p.kind == BodyKind::Html) {
            let bytes = part.text.len() as u64;
            if bytes as f64 > limit {
                out.push(
                    Diagnostic::new(
                        Severity::Warning,
                        format!(
                            "the HTML part is {}: Gmail clips HTML over {} KB and hides the rest, footer and unsubscribe link included",
                            size(bytes),
                            self.html_kb
                        ),
                        Location::part(part.mime_type(), part.line),
                    )
                    .help("trim the HTML (unused CSS, comments, repeated inline styles, long tracking URLs) or split the message"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn documented_options_are_the_defaults() {
        assert_eq!(
            crate::testing::documented_options::<super::MessageSize>(&super::RULE),
            super::MessageSize::default()
        );
    }
    use crate::finding::Severity;
    use crate::message::{Attachment, Message, parse_json_draft};
    use crate::testing::{check_rule, check_rule_with, eml, option_error};

    fn html_message(bytes: usize, subject: &str) -> Message {
        let filler = "<td style=\"padding:0\">x</td>".repeat(bytes / 27 + 1);
        eml(&format!(
            "From: a@example.com\nTo: b@example.net\nSubject: {subject}\nContent-Type: text/html\n\n<table><tr>{filler}</tr></table>\n"
        ))
    }

    #[test]
    fn large_html_is_clipped() {
        let f = check_rule("message-size", &html_message(110 * 1024, "news"));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(
            f[0].message.starts_with("the HTML part is 11"),
            "{}",
            f[0].message
        );
        assert!(
            f[0].message.contains("Gmail clips HTML over 102 KB"),
            "{}",
            f[0].message
        );
        assert_eq!(f[0].location.part.as_deref(), Some("text/html"));
        assert!(check_rule("message-size", &html_message(90 * 1024, "news")).is_empty());
        assert!(check_rule("message-size", &html_message(110 * 1024, "Re: news")).is_empty());
        assert!(
            check_rule_with(
                "[rules.message-size]\nhtml_kb = 200\n",
                "message-size",
                &html_message(110 * 1024, "news")
            )
            .is_empty()
        );
    }

    #[test]
    fn whole_message_limits() {
        let mut msg = eml("From: a@example.com\nTo: b@example.net\nSubject: files\n\nattached\n");
        msg.raw_size = 12 * 1024 * 1024;
        let f = check_rule("message-size", &msg);
        assert_eq!(f[0].severity, Severity::Warning);
        assert_eq!(
            f[0].message,
            "the message is 12.0 MB, over the 10 MB many mail servers accept"
        );
        msg.raw_size = 30 * 1024 * 1024;
        assert_eq!(
            check_rule("message-size", &msg)[0].severity,
            Severity::Error
        );
    }

    #[test]
    fn options_take_fractions_and_are_checked() {
        let mut msg = eml("From: a@example.com\nTo: b@example.net\nSubject: files\n\nattached\n");
        msg.raw_size = 700 * 1024;
        let f = check_rule_with(
            "[rules.message-size]\nwarning_mb = 0.5\nerror_mb = 1\n",
            "message-size",
            &msg,
        );
        assert_eq!(
            f[0].message,
            "the message is 700.0 KB, over the 0.5 MB many mail servers accept"
        );
        for bad in [
            "html_kb = 0",
            "warning_mb = -1",
            "error_mb = 5",
            "html_kb = \"big\"",
        ] {
            assert!(option_error("message-size", bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn json_draft_attachments_count_in_base64() {
        let mut msg = parse_json_draft(br#"{"from": "a@example.com", "to": "b@example.net", "subject": "x", "text": "see attached"}"#).unwrap();
        msg.attachments.push(Attachment {
            filename: Some("video.mp4".into()),
            content_type: "video/mp4".into(),
            size: 20 * 1024 * 1024,
            ..Attachment::default()
        });
        let f = check_rule("message-size", &msg);
        assert_eq!(f[0].severity, Severity::Error, "{f:?}");
    }
}
