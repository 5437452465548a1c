use super::shared::data_files::data_file_kind;
use super::shared::size;
use super::{Context, Rule, declare_rule, plural, thousands};
use crate::config::{OptionError, RuleSettings};
use crate::finding::{Diagnostic, Location, Severity};
use crate::message::{Attachment, FileKind, InnerFile, Inside, PATH_SEPARATOR};
use serde::Deserialize;

declare_rule! {
    /// ## What it checks
    /// Data files attached to a message that goes outside the organisation,
    /// to an everyone-style list, or to as many people as recipient-count
    /// warns about (25 by default: a staff list of hundreds is a large
    /// send even inside):
    ///
    /// - spreadsheets: `xls`, `xlsx`, `xlsm`, `xlsb`, `ods`, `numbers`;
    /// - databases and dumps: `mdb`, `accdb`, `sqlite`, `sqlite3`, `db`, `sql`;
    /// - archives: `zip`, `7z`, `rar`, `tar`, `gz`, `tgz`;
    /// - tables: `csv`, `tsv`;
    ///
    /// and the extensions in `extensions`. A file is recognised by its name,
    /// or by its content type when the name has no extension maillint knows
    /// (`application/vnd.ms-excel`, `application/zip`, `text/csv`, ...),
    /// or by its bytes: an xlsx named `Q3 figures` and sent as
    /// `application/octet-stream` is a spreadsheet, and so is one renamed
    /// `notes.pdf`; a zip without an extension is an archive. A winmail.dat
    /// is one when a file it carries is. Documents, PDFs, images (inline or
    /// attached), audio, video and forwarded messages are not data files.
    /// Internal mail to few people is not checked.
    ///
    /// One finding per message names every data file with its size and
    /// what reading inside it found (within the `[attachments]` limits):
    /// its rows, the data files an archive or winmail.dat holds, and the
    /// hidden sheets and hidden columns that hold something, named. Hidden
    /// data makes it an error: nobody checks what they cannot see before
    /// sending.
    ///
    /// ## Why it matters
    /// The wrong spreadsheet is the classic email data breach: a full
    /// export attached instead of a summary, a table with hidden sheets or
    /// columns, an archive holding more than its name says. A whole data set
    /// leaves in one click, and nothing in the message text shows what it
    /// holds. Data emailed to the wrong people is one of the most common
    /// breaches reported to data protection regulators. A police service
    /// answering a freedom of information request released the names of
    /// its whole workforce: they were on a hidden tab of the spreadsheet.
    ///
    /// ## Example
    /// ```text
    /// To: supplier@partner.example
    /// Subject: Delivery addresses
    /// Attachment: customers-2024.xlsx (2.4 MB)
    /// ```
    ///
    /// ## How to fix
    /// Open each file and check it is the one you mean to send, that it holds
    /// only what the recipients need, and that they are the right people.
    /// Share data sets through an access-controlled link instead.
    ///
    /// ## Options
    /// ```toml
    /// [rules.data-attachment]
    /// extensions = []   # more data file extensions, e.g. ["parquet", "sav", "tar.zst"]
    /// min_size = 0      # bytes; smaller attachments are ignored
    /// ```
    id: "data-attachment",
    severity: Warning,
    summary: "A spreadsheet, database, archive or CSV file goes outside the organisation, to an everyone-style list or to many people; an error with hidden sheets or columns",
    build: DataAttachment::build,
}

#[derive(Deserialize, Default, Debug, PartialEq)]
#[serde(default, deny_unknown_fields)]
struct DataAttachment {
    extensions: Vec<String>,
    min_size: u64,
}

impl DataAttachment {
    fn build(settings: &RuleSettings) -> Result<Box<dyn Rule>, OptionError> {
        let mut rule: DataAttachment = settings.options()?;
        for ext in &mut rule.extensions {
            let clean = ext.trim().trim_start_matches('.').to_ascii_lowercase();
            if clean.is_empty()
                || !clean
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
            {
                return Err(OptionError::new(
                    "extensions",
                    format!("`{ext}` is not a file name extension"),
                ));
            }
            *ext = clean;
        }
        Ok(Box::new(rule))
    }

    /// What kind of data file an attachment is, if it is one.
    fn kind<'c>(
        &self,
        a: &Attachment,
        content: impl FnOnce() -> Option<&'c InnerFile>,
    ) -> Option<&'static str> {
        if a.size < self.min_size {
            return None;
        }
        data_file_kind(a, &self.extensions, content)
    }
}

/// Outlook's TNEF container, by its type or its usual name.
fn is_winmail(a: &Attachment) -> bool {
    a.content_type == "application/ms-tnef"
        || a.content_type == "application/vnd.ms-tnef"
        || a.filename
            .as_deref()
            .is_some_and(|n| n.trim().eq_ignore_ascii_case("winmail.dat"))
}

/// What reading inside a data file found: its rows, and the hidden
/// sheets and columns that hold something.
#[derive(Default)]
struct Contents {
    rows: u64,
    /// The names of the files inside (an archive, a winmail.dat) that
    /// are data files.
    data_files: Vec<String>,
    hidden: Vec<String>,
}

impl Contents {
    fn of(inside: &Inside, attachment: usize) -> Contents {
        let mut contents = Contents::default();
        for file in inside.files.iter().filter(|f| f.attachment == attachment) {
            let own_name = file.path.rsplit(PATH_SEPARATOR).next().unwrap_or_default();
            if file.depth > 0 && matches!(file.kind, FileKind::Spreadsheet | FileKind::Table) {
                contents.data_files.push(own_name.to_string());
            }
            let inner = if file.depth > 0 {
                format!(" in {own_name}")
            } else {
                String::new()
            };
            for section in &file.sections {
                contents.rows += section.rows;
                let sheet = section.name.as_deref().unwrap_or_default();
                if section.hidden && !section.text.trim().is_empty() {
                    contents.hidden.push(format!(
                        "hidden sheet \"{sheet}\"{inner} ({})",
                        plural(section.rows, "row", "rows")
                    ));
                }
                if !section.hidden_columns.is_empty() {
                    let columns: Vec<String> = section
                        .hidden_columns
                        .iter()
                        .take(NAMED)
                        .map(|c| format!("\"{c}\""))
                        .collect();
                    contents.hidden.push(format!(
                        "{} {} in sheet \"{sheet}\"{inner}",
                        if section.hidden_columns.len() == 1 {
                            "hidden column"
                        } else {
                            "hidden columns"
                        },
                        columns.join(", ")
                    ));
                }
            }
        }
        contents
    }

    /// `, 1,204 rows; hidden sheet "Hidden" (1,204 rows)`.
    fn describe(&self, kind: &str) -> String {
        let mut out = String::new();
        if kind != "spreadsheet" && kind != "table" && !self.data_files.is_empty() {
            let mut names = self
                .data_files
                .iter()
                .take(NAMED)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            if self.data_files.len() > NAMED {
                names.push_str(&format!(", and {} more", self.data_files.len() - NAMED));
            }
            out.push_str(&format!(", holding {names}"));
        }
        if self.rows > 0 {
            out.push_str(&format!(", {}", plural(self.rows, "row", "rows")));
        }
        for hidden in &self.hidden {
            out.push_str(&format!("; {hidden}"));
        }
        out
    }
}

/// Files named in one finding; the rest are counted.
const NAMED: usize = 5;

impl Rule for DataAttachment {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        let reach = cx.audience.reach();
        let audience = if cx.audience.goes_outside() {
            "goes outside the organisation".to_string()
        } else if cx.audience.reaches_mass_list() {
            "goes to an everyone-style list".to_string()
        } else if reach >= cx.many_recipients {
            format!("goes to {}", plural(reach, "recipient", "recipients"))
        } else {
            return;
        };
        let files: Vec<(&Attachment, &str, Contents)> = cx
            .message
            .attachments
            .iter()
            .enumerate()
            .filter_map(|(i, a)| {
                let kind = self.kind(a, || cx.inside().top(i)).or_else(|| {
                    // Outlook's winmail.dat carries the files it was
                    // given: it is a data file when one of them is.
                    let winmail = is_winmail(a)
                        && !Contents::of(cx.inside(), i).data_files.is_empty()
                        && a.size >= self.min_size;
                    winmail.then_some("Outlook attachment bundle")
                })?;
                Some((a, kind, Contents::of(cx.inside(), i)))
            })
            .collect();
        let Some((first, _, _)) = files.first() else {
            return;
        };
        let hidden = files.iter().any(|(_, _, c)| !c.hidden.is_empty());
        let name = |a: &Attachment| {
            a.filename
                .clone()
                .unwrap_or_else(|| "an unnamed attachment".to_string())
        };
        let mut listed = files
            .iter()
            .take(NAMED)
            .map(|(a, kind, contents)| {
                format!(
                    "{} ({kind}, {}{})",
                    name(a),
                    size(a.size),
                    contents.describe(kind)
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        if files.len() > NAMED {
            listed.push_str(&format!(
                ", and {} more",
                thousands((files.len() - NAMED) as u64)
            ));
        }
        let count = files.len() as u64;
        // Hidden sheets and columns are what nobody checks before sending
        // (the PSNI spreadsheet): data the sender never saw going out.
        let (severity, help) = if hidden {
            (
                Severity::Error,
                "unhide every sheet and column and check what they hold before sending, or send a copy with only what the recipients need; share data sets through an access-controlled link",
            )
        } else {
            (
                Severity::Warning,
                "open each file and check it is the right one and that every recipient may see all of it; share data sets through an access-controlled link",
            )
        };
        out.push(
            Diagnostic::new(
                severity,
                format!(
                    "{} attached to a message that {audience}: {listed}",
                    plural(count, "data file", "data files")
                ),
                Location::part(name(first), None),
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
            crate::testing::documented_options::<super::DataAttachment>(&super::RULE),
            super::DataAttachment::default()
        );
    }
    use super::size;
    use crate::finding::Severity;
    use crate::testing::{check_rule, check_rule_with, eml, option_error};

    fn with_attachments(to: &str, parts: &[(&str, &str)]) -> crate::message::Message {
        let mut text = format!(
            "From: a@org.example\nTo: {to}\nSubject: files\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nSee attached.\n"
        );
        for (name, ctype) in parts {
            let disposition = if name.is_empty() {
                "attachment".to_string()
            } else {
                format!("attachment; filename=\"{name}\"")
            };
            text.push_str(&format!(
                "--b\nContent-Type: {ctype}\nContent-Disposition: {disposition}\nContent-Transfer-Encoding: base64\n\nAAAAAAAAAAAAAAAA\n"
            ));
        }
        text.push_str("--b--\n");
        eml(&text)
    }

    #[test]
    fn warns_on_data_files_going_outside() {
        let msg = with_attachments(
            "b@partner.example",
            &[
                ("customers.xlsx", "application/octet-stream"),
                ("photo.jpg", "image/jpeg"),
                ("backup.sql.gz", "application/gzip"),
                ("report.pdf", "application/pdf"),
                ("", "application/vnd.ms-excel"),
            ],
        );
        let f = check_rule("data-attachment", &msg);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Warning);
        assert_eq!(
            f[0].message,
            "3 data files attached to a message that goes outside the organisation: customers.xlsx (spreadsheet, 12 bytes), backup.sql.gz (archive, 12 bytes), an unnamed attachment (spreadsheet, 12 bytes)"
        );
        assert_eq!(f[0].location.part.as_deref(), Some("customers.xlsx"));
    }

    #[test]
    fn every_kind_by_name_and_type() {
        for (name, ctype) in [
            ("a.xls", "application/octet-stream"),
            ("a.ods", "application/octet-stream"),
            ("a.numbers", "application/octet-stream"),
            ("a.accdb", "application/octet-stream"),
            ("a.sqlite", "application/octet-stream"),
            ("dump.sql", "text/plain"),
            ("a.7z", "application/octet-stream"),
            ("a.tgz", "application/octet-stream"),
            ("list.csv", "text/csv"),
            ("list.TSV", "text/plain"),
            ("export", "text/csv"),
            (
                "Book1",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
            ("data.bin", "application/zip"),
        ] {
            let msg = with_attachments("b@partner.example", &[(name, ctype)]);
            assert_eq!(
                check_rule("data-attachment", &msg).len(),
                1,
                "{name} {ctype}"
            );
        }
    }

    #[test]
    fn silent_for_documents_images_and_internal_mail() {
        for (name, ctype) in [
            ("report.pdf", "application/pdf"),
            ("letter.docx", "application/zip"),
            (
                "slides.pptx",
                "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            ),
            ("chart.png", "image/png"),
            ("notes.txt", "text/plain"),
            ("invite.ics", "text/calendar"),
        ] {
            let msg = with_attachments("b@partner.example", &[(name, ctype)]);
            assert!(check_rule("data-attachment", &msg).is_empty(), "{name}");
        }
        let internal = with_attachments(
            "b@hr.org.example",
            &[("staff.xlsx", "application/octet-stream")],
        );
        assert!(check_rule("data-attachment", &internal).is_empty());
        let everyone = with_attachments(
            "everyone@org.example",
            &[("staff.xlsx", "application/octet-stream")],
        );
        let f = check_rule("data-attachment", &everyone);
        assert!(
            f[0].message.contains("goes to an everyone-style list"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn options() {
        let msg = with_attachments(
            "b@partner.example",
            &[("survey.sav", "application/octet-stream")],
        );
        assert!(check_rule("data-attachment", &msg).is_empty());
        let f = check_rule_with(
            "[rules.data-attachment]\nextensions = [\".SAV\"]\n",
            "data-attachment",
            &msg,
        );
        assert!(
            f[0].message.contains("survey.sav (data file, 12 bytes)"),
            "{}",
            f[0].message
        );
        let small = with_attachments("b@partner.example", &[("a.csv", "text/csv")]);
        assert!(
            check_rule_with(
                "[rules.data-attachment]\nmin_size = 100\n",
                "data-attachment",
                &small
            )
            .is_empty()
        );
        for bad in [
            "extensions = [\"\"]",
            "extensions = [\"a b\"]",
            "min_size = -1",
            "size = 1",
        ] {
            assert!(option_error("data-attachment", bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(size(1), "1 byte");
        assert_eq!(size(1023), "1,023 bytes");
        assert_eq!(size(49_357), "48.2 KB");
        assert_eq!(size(2_516_582), "2.4 MB");
    }

    #[test]
    fn content_tells_the_kind_rows_and_hidden_sheets_and_columns() {
        use crate::message::inside_tests::{Sheet, attach, docx, xlsx};
        let people = |n: usize| {
            let mut rows = vec![vec!["Name".to_string(), "Date of birth".to_string()]];
            rows.extend((0..n).map(|i| vec![format!("Person {i}"), "1980-01-01".to_string()]));
            rows
        };
        let book = xlsx(&[
            Sheet {
                name: "Summary",
                hidden: false,
                rows: people(3),
                hidden_columns: &[1],
            },
            Sheet {
                name: "Hidden",
                hidden: true,
                rows: people(10),
                hidden_columns: &[],
            },
        ]);
        let msg = attach(
            "b@partner.example",
            &[("Q3 figures", "application/octet-stream", &book)],
        );
        let f = check_rule("data-attachment", &msg);
        assert_eq!(f[0].severity, Severity::Error);
        let expected = format!(
            "1 data file attached to a message that goes outside the organisation: Q3 figures (spreadsheet, {}, 15 rows; hidden column \"Date of birth\" in sheet \"Summary\"; hidden sheet \"Hidden\" (11 rows))",
            size(book.len() as u64)
        );
        assert_eq!(f[0].message, expected);
        // A plain list of people: a warning, with its rows.
        let plain = xlsx(&[Sheet {
            name: "Staff",
            hidden: false,
            rows: people(4),
            hidden_columns: &[],
        }]);
        let msg = attach(
            "b@partner.example",
            &[("staff.xlsx", "application/octet-stream", &plain)],
        );
        let f = check_rule("data-attachment", &msg);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(f[0].message.ends_with(", 5 rows)"), "{}", f[0].message);
        // Sent inside to hundreds of people: a large send is one too.
        let to: Vec<String> = (0..300).map(|i| format!("p{i}@org.example")).collect();
        let msg = attach(
            &to.join(", "),
            &[("staff.xlsx", "application/octet-stream", &plain)],
        );
        let f = check_rule("data-attachment", &msg);
        assert!(
            f[0].message
                .contains("a message that goes to 300 recipients"),
            "{}",
            f[0].message
        );
        // A document sent as octet-stream is not a data file.
        let doc = docx("", &["Minutes"], "");
        let msg = attach(
            "b@partner.example",
            &[("minutes", "application/octet-stream", &doc)],
        );
        assert!(check_rule("data-attachment", &msg).is_empty());
    }
}
