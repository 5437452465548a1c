use super::shared::{NoOptions, attachment_name, size};
use super::{Context, Rule, declare_rule, thousands};
use crate::config::{OptionError, RuleSettings};
use crate::finding::{Diagnostic, Location, Severity};
use crate::message::Limit;

declare_rule! {
    /// ## What it checks
    /// That maillint read everything inside the attachments. Spreadsheets,
    /// documents, PDFs, archives and winmail.dat are opened for the content
    /// rules (personal-data, confidential-broad, data-attachment,
    /// encrypted-attachment) within the limits of `[attachments]` in the
    /// configuration, per message: bytes decompressed or extracted
    /// (`max_bytes`, 64 MB), files opened (`max_files`, 1,000), files
    /// inside files (`max_depth`, 5 levels) and processor time
    /// (`max_milliseconds`, 2,000; the thread's own, so that a busy machine
    /// does not change the findings). When one runs out, reading stops there, and this rule says
    /// which limit and in which file.
    ///
    /// ## Why it matters
    /// What was not read was not checked: a finding's absence means nothing
    /// for the rest of that file. A zip bomb, XML that expands without end
    /// or archives nested fifty deep are also how malware hides from
    /// scanners, and rarely what a colleague means to send.
    ///
    /// ## Example
    /// ```text
    /// Attachment: export.zip (42 KB, holding 4 GB of zeros)
    /// ```
    ///
    /// ## How to fix
    /// Check the file by hand, or send it unpacked. Where large files are
    /// normal, raise the limits in `[attachments]`.
    ///
    /// ## Options
    /// None here; the limits are in `[attachments]` (see Configuration).
    id: "attachment-limit",
    severity: Warning,
    summary: "Reading inside an attachment stopped at a limit (size, files, nesting or time): the rest was not checked",
    build: AttachmentLimit::build,
}

struct AttachmentLimit;

impl AttachmentLimit {
    fn build(settings: &RuleSettings) -> Result<Box<dyn Rule>, OptionError> {
        settings.options::<NoOptions>()?;
        Ok(Box::new(AttachmentLimit))
    }
}

impl Rule for AttachmentLimit {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        if cx.message.attachments.iter().all(|a| a.bytes.is_empty()) {
            return;
        }
        let Some(stopped) = &cx.inside().stopped else {
            return;
        };
        let limits = &cx.config.attachments;
        let limit = match stopped.limit {
            Limit::Bytes => format!(
                "more than {} decompressed ([attachments] max_bytes)",
                size(limits.max_bytes)
            ),
            Limit::Files => format!(
                "more than {} files ([attachments] max_files)",
                thousands(limits.max_files)
            ),
            Limit::Depth => format!(
                "files nested more than {} levels deep ([attachments] max_depth)",
                limits.max_depth
            ),
            Limit::Time => format!(
                "more than {} ms of reading ([attachments] max_milliseconds)",
                thousands(limits.max_milliseconds)
            ),
        };
        out.push(
            Diagnostic::new(
                Severity::Warning,
                format!(
                    "stopped reading inside the attachments at {}: {limit}; what lies past it was not checked",
                    stopped.at
                ),
                Location::part(attachment_name(cx.message, stopped.attachment), None),
            )
            .help("check the file by hand or send it unpacked; raise the limits in [attachments] where such files are normal"),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::message::inside_tests::{attach, nested_zips};
    use crate::testing::{check_rule, check_rule_with};

    #[test]
    fn says_where_and_which_limit() {
        let nested = nested_zips(8);
        // The message keeps what was read with the first limits it was
        // read with: a new one for each configuration.
        let msg = || attach("b@org.example", &[("deep.zip", "application/zip", &nested)]);
        let f = check_rule("attachment-limit", &msg());
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "stopped reading inside the attachments at deep.zip › 1.zip › 2.zip › 3.zip › 4.zip › 5.zip: files nested more than 5 levels deep ([attachments] max_depth); what lies past it was not checked"
        );
        assert!(
            check_rule_with(
                "[attachments]\nmax_depth = 10\n",
                "attachment-limit",
                &msg()
            )
            .is_empty()
        );
        let small = check_rule_with(
            "[attachments]\nmax_bytes = 10\n",
            "attachment-limit",
            &msg(),
        );
        assert!(
            small[0].message.contains("more than 10 bytes decompressed"),
            "{}",
            small[0].message
        );
    }
}
