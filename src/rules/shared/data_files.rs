//! Data files (spreadsheets, databases, archives, tables) among a message's
//! attachments, for data-attachment (which reports them) and new-recipient
//! (which weighs a message carrying them).

use crate::message::{Attachment, FileKind, InnerFile};

/// What kind of data file an attachment is (`spreadsheet`, `archive`, ...),
/// if it is one: by its name's extension (those built in, and `extra`:
/// lowercase, without the dot), else by its content type; and by its
/// bytes (`content`, what reading inside it found), which tell a
/// spreadsheet or table whatever its name says (an xlsx named `Q3
/// figures`, or renamed `notes.pdf`), and an archive when its name does
/// not say what it is.
///
/// `content` is asked only when the name and type leave a doubt: reading
/// inside is not needed to know that `staff.xlsx` is a spreadsheet.
pub(in crate::rules) fn data_file_kind<'c>(
    a: &Attachment,
    extra: &[String],
    content: impl FnOnce() -> Option<&'c InnerFile>,
) -> Option<&'static str> {
    let by_name = data_file_kind_by_name(a, extra);
    if by_name.is_some() {
        return by_name;
    }
    let by_content = content().and_then(|f| match f.kind {
        FileKind::Spreadsheet => Some("spreadsheet"),
        FileKind::Table => Some("table"),
        FileKind::Archive => Some("archive"),
        _ => None,
    });
    match by_content {
        Some("archive") => {
            // A zip with a name of its own kind (an .epub, a .jar) is that
            // kind, not a data set: only a name that says nothing counts.
            let has_extension = a
                .filename
                .as_deref()
                .is_some_and(|n| n.trim().trim_matches('"').contains('.'));
            (!has_extension).then_some("archive")
        }
        content => content,
    }
}

fn data_file_kind_by_name(a: &Attachment, extra: &[String]) -> Option<&'static str> {
    let name = a
        .filename
        .as_deref()
        .map(|n| n.trim().trim_matches('"').to_ascii_lowercase());
    if let Some(name) = &name
        && extra.iter().any(|ext| {
            name.strip_suffix(ext.as_str())
                .and_then(|rest| rest.strip_suffix('.'))
                .is_some_and(|stem| !stem.is_empty())
        })
    {
        return Some("data file");
    }
    let top = a.content_type.split('/').next().unwrap_or("");
    if matches!(top, "image" | "audio" | "video" | "message") {
        return None;
    }
    let ext = name
        .as_deref()
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, e)| e);
    match ext.map(by_extension) {
        Some(Known::Data(kind)) => Some(kind),
        Some(Known::Other) => None,
        // No extension, or one maillint does not know: the type decides.
        Some(Known::Unknown) | None => by_content_type(&a.content_type),
    }
}

enum Known {
    Data(&'static str),
    /// A document, image or other file that is not a data set.
    Other,
    Unknown,
}

fn by_extension(ext: &str) -> Known {
    match ext {
        "xls" | "xlsx" | "xlsm" | "xlsb" | "ods" | "numbers" => Known::Data("spreadsheet"),
        "mdb" | "accdb" | "sqlite" | "sqlite3" | "db" => Known::Data("database"),
        "sql" => Known::Data("database dump"),
        "zip" | "7z" | "rar" | "tar" | "gz" | "tgz" => Known::Data("archive"),
        "csv" | "tsv" => Known::Data("table"),
        "pdf" | "doc" | "docx" | "docm" | "dot" | "dotx" | "odt" | "rtf" | "txt" | "md" | "ppt"
        | "pptx" | "odp" | "key" | "pages" | "htm" | "html" | "eml" | "msg" | "ics" | "vcf"
        | "jpg" | "jpeg" | "png" | "gif" | "bmp" | "tif" | "tiff" | "heic" | "webp" | "svg"
        | "mp3" | "mp4" | "m4a" | "mov" | "wav" | "p7s" | "p7m" | "asc" | "sig" | "pgp" | "gpg" => {
            Known::Other
        }
        _ => Known::Unknown,
    }
}

fn by_content_type(content_type: &str) -> Option<&'static str> {
    Some(match content_type {
        "application/vnd.ms-excel"
        | "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        | "application/vnd.ms-excel.sheet.macroenabled.12"
        | "application/vnd.ms-excel.sheet.binary.macroenabled.12"
        | "application/vnd.oasis.opendocument.spreadsheet"
        | "application/vnd.apple.numbers"
        | "application/x-iwork-numbers-sffnumbers" => "spreadsheet",
        "application/x-msaccess"
        | "application/vnd.ms-access"
        | "application/x-sqlite3"
        | "application/vnd.sqlite3" => "database",
        "application/sql" | "application/x-sql" => "database dump",
        "application/zip"
        | "application/x-zip-compressed"
        | "application/x-7z-compressed"
        | "application/x-rar-compressed"
        | "application/vnd.rar"
        | "application/x-tar"
        | "application/gzip"
        | "application/x-gzip"
        | "application/x-compressed-tar" => "archive",
        "text/csv" | "application/csv" | "text/tab-separated-values" => "table",
        _ => return None,
    })
}
