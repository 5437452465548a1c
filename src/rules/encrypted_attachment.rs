use super::shared::{NoOptions, attachment_name, size};
use super::{Context, Rule, declare_rule, plural};
use crate::config::{OptionError, RuleSettings};
use crate::finding::{Diagnostic, Location, Severity};

declare_rule! {
    /// ## What it checks
    /// Attachments that are, or hold, encrypted or password-protected
    /// files, recognised by their bytes whatever their names say:
    ///
    /// - zip archives with encrypted entries (ZipCrypto or AES), 7z
    ///   archives with encrypted contents or headers, and RAR 4 and RAR 5
    ///   archives with any protected file or with protected names;
    /// - Office files saved with a password (xlsx, docx, pptx: an OLE2
    ///   file holding an `EncryptedPackage`; old xls, doc and ppt files
    ///   with their encryption flag or record);
    /// - PDFs with an encryption dictionary (`/Encrypt`), whether they
    ///   need a password to open or only restrict printing and copying.
    ///
    /// Files inside zip, gzip and tar archives and inside winmail.dat are
    /// looked at too (within the `[attachments]` limits). One finding per
    /// attachment names its encrypted files with their sizes.
    ///
    /// ## Why it matters
    /// No check can read what an encrypted file holds: not maillint's
    /// personal-data, confidential-broad or data-attachment rules, nor the
    /// recipient's malware scanner. Some organisations require encryption
    /// for personal data sent outside, others forbid it because it blinds
    /// their filters (and sending the password in the next mail to the same
    /// address protects nothing); either way it is a policy decision, made
    /// here. The names and sizes are still judged by the other rules.
    ///
    /// ## Example
    /// ```text
    /// To: accounts@supplier.example
    /// Attachment: payroll-march.zip (payroll.xlsx, encrypted)
    /// ```
    ///
    /// ## How to fix
    /// Follow your organisation's policy: send the file through the approved
    /// secure channel, share the password another way (by phone, not in the
    /// next email), or, where encryption is required, set this rule's
    /// severity to `"off"`.
    ///
    /// ## Options
    /// None; set `severity` to match your policy (`"off"` where encrypted
    /// files are required, `"error"` where they are forbidden).
    id: "encrypted-attachment",
    severity: Warning,
    summary: "An attachment is, or holds, an encrypted or password-protected file that no check can read",
    build: EncryptedAttachment::build,
}

struct EncryptedAttachment;

impl EncryptedAttachment {
    fn build(settings: &RuleSettings) -> Result<Box<dyn Rule>, OptionError> {
        settings.options::<NoOptions>()?;
        Ok(Box::new(EncryptedAttachment))
    }
}

/// Encrypted files named in one finding; the rest are counted.
const NAMED: usize = 5;

impl Rule for EncryptedAttachment {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        let msg = cx.message;
        if msg.attachments.iter().all(|a| a.bytes.is_empty()) {
            return;
        }
        let inside = cx.inside();
        for (i, _) in msg.attachments.iter().enumerate() {
            let encrypted: Vec<_> = inside
                .files
                .iter()
                .filter(|f| f.attachment == i && f.encrypted)
                .collect();
            if encrypted.is_empty() {
                continue;
            }
            let mut listed = encrypted
                .iter()
                .take(NAMED)
                .map(|f| format!("{} ({}, {})", f.path, f.kind.noun(), size(f.size)))
                .collect::<Vec<_>>()
                .join(", ");
            if encrypted.len() > NAMED {
                listed.push_str(&format!(", and {} more", encrypted.len() - NAMED));
            }
            out.push(
                Diagnostic::new(
                    Severity::Warning,
                    format!(
                        "{} that no check can read: {listed}",
                        plural(
                            encrypted.len() as u64,
                            "encrypted or password-protected file",
                            "encrypted or password-protected files"
                        )
                    ),
                    Location::part(attachment_name(msg, i), None),
                )
                .help("follow your organisation's policy for encrypted files: use the approved secure channel, and never send the password by email"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::message::inside_tests::{attach, encrypted_office, encrypted_pdf, zip_with};
    use crate::testing::{check_rule, option_error};

    #[test]
    fn encrypted_zip_entries_office_files_and_pdfs() {
        let zip = zip_with(&[
            ("payroll.xlsx", b"PK", true),
            ("readme.txt", b"hello", false),
        ]);
        let msg = attach(
            "b@partner.example",
            &[("payroll-march.zip", "application/zip", &zip)],
        );
        let f = check_rule("encrypted-attachment", &msg);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(
            f[0].message.starts_with("1 encrypted or password-protected file that no check can read: payroll-march.zip › payroll.xlsx (spreadsheet, "),
            "{}",
            f[0].message
        );
        assert_eq!(f[0].location.part.as_deref(), Some("payroll-march.zip"));
        for (name, bytes) in [
            ("Q3 figures", encrypted_office()),
            ("scan.pdf", encrypted_pdf()),
        ] {
            let msg = attach(
                "b@org.example",
                &[(name, "application/octet-stream", &bytes)],
            );
            assert_eq!(check_rule("encrypted-attachment", &msg).len(), 1, "{name}");
        }
    }

    #[test]
    fn silent_for_readable_files() {
        let zip = zip_with(&[("readme.txt", b"hello", false)]);
        let msg = attach(
            "b@partner.example",
            &[("notes.zip", "application/zip", &zip)],
        );
        assert!(check_rule("encrypted-attachment", &msg).is_empty());
        assert!(option_error("encrypted-attachment", "x = 1").is_some());
    }
}
