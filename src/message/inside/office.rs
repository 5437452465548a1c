//! Zip containers: Office Open XML (xlsx, docx, pptx), OpenDocument
//! (ods, odt, odp) and plain zip archives, whose files are read in turn.

use super::{FileKind, Limit, Reader, Section, join};
use quick_xml::events::{BytesStart, Event};
use std::collections::HashMap;
use std::io::Cursor;

type Archive<'b> = zip::ZipArchive<Cursor<&'b [u8]>>;

/// XML as text: checked as UTF-8 (fast on valid input, which Office
/// files are), repaired only when it is not.
fn utf8(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// Reads a zip file: an Office or OpenDocument file by its parts, any
/// other zip as an archive of files.
pub(super) fn read_zip(reader: &mut Reader, path: &str, bytes: &[u8], depth: u32) {
    // The zip crate lists every entry before the first is read: a
    // directory of millions of entries is refused by its count first.
    if entry_count(bytes).is_some_and(|n| n > reader.limits.max_files) {
        reader.stop(Limit::Files, path);
        return;
    }
    let Ok(mut archive) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        reader.push(reader.file(path, FileKind::Archive, bytes.len(), depth));
        return;
    };
    let has = |archive: &Archive<'_>, name: &str| archive.index_for_name(name).is_some();
    let mut file = if has(&archive, "xl/workbook.xml") {
        let mut file = reader.file(path, FileKind::Spreadsheet, bytes.len(), depth);
        file.sections = xlsx(reader, &mut archive, path);
        file
    } else if has(&archive, "word/document.xml") {
        let mut file = reader.file(path, FileKind::Document, bytes.len(), depth);
        let parts = part_names(&archive, "word/", &["header", "document", "footer"]);
        file.sections = text_of_parts(reader, &mut archive, path, &parts, Dialect::Ooxml);
        file
    } else if has(&archive, "ppt/presentation.xml") {
        let mut file = reader.file(path, FileKind::Presentation, bytes.len(), depth);
        let mut parts = part_names(&archive, "ppt/slides/slide", &[""]);
        parts.extend(part_names(&archive, "ppt/notesSlides/notesSlide", &[""]));
        file.sections = text_of_parts(reader, &mut archive, path, &parts, Dialect::Ooxml);
        file
    } else if let Some(kind) = opendocument_kind(reader, &mut archive, path) {
        let mut file = reader.file(path, kind, bytes.len(), depth);
        let content = entry(reader, &mut archive, "content.xml", path);
        let content = utf8(content.as_deref().unwrap_or_default());
        file.sections = if kind == FileKind::Spreadsheet {
            ods(reader, &content, path)
        } else {
            let text = xml_text(reader, &content, path, Dialect::OpenDocument);
            vec![Section {
                text,
                ..Section::default()
            }]
        };
        file
    } else {
        read_archive(reader, &mut archive, path, bytes.len(), depth);
        return;
    };
    file.sections
        .retain(|s| !s.text.trim().is_empty() || s.hidden);
    reader.push(file);
}

/// The number of entries a zip's end of central directory record gives,
/// if it can be found (in the last 64 KB, where the comment may push it).
fn entry_count(bytes: &[u8]) -> Option<u64> {
    let tail_start = bytes.len().saturating_sub(22 + 65_535);
    let tail = bytes.get(tail_start..)?;
    let at = memchr::memmem::rfind(tail, b"PK\x05\x06")?;
    let count = tail.get(at + 10..at + 12)?;
    let count = u16::from_le_bytes([count[0], count[1]]);
    // 0xFFFF: the real count is in the zip64 record; the zip crate's
    // own listing is then bounded by the bytes the directory takes.
    Some(if count == u16::MAX {
        (bytes.len() / 46) as u64
    } else {
        u64::from(count)
    })
}

/// The OpenDocument kind its `mimetype` entry names.
fn opendocument_kind(
    reader: &mut Reader,
    archive: &mut Archive<'_>,
    path: &str,
) -> Option<FileKind> {
    archive.index_for_name("mimetype")?;
    let mimetype = entry(reader, archive, "mimetype", path)?;
    let mimetype = utf8(mimetype.get(..100).unwrap_or(&mimetype)).into_owned();
    let kind = mimetype.strip_prefix("application/vnd.oasis.opendocument.")?;
    Some(match kind.trim() {
        "spreadsheet" => FileKind::Spreadsheet,
        "text" => FileKind::Document,
        "presentation" => FileKind::Presentation,
        _ => return None,
    })
}

/// The entries of a plain zip archive, each read as a file of its own;
/// encrypted ones are listed as such.
fn read_archive(
    reader: &mut Reader,
    archive: &mut Archive<'_>,
    path: &str,
    size: usize,
    depth: u32,
) {
    reader.push(reader.file(path, FileKind::Archive, size, depth));
    for i in 0..archive.len() {
        if reader.stopped() {
            return;
        }
        let Ok(raw) = archive.by_index_raw(i) else {
            continue;
        };
        if raw.is_dir() {
            continue;
        }
        let name = raw.name().map(|n| n.into_owned()).unwrap_or_default();
        let inner = join(path, &name);
        if raw.encrypted() {
            let kind = kind_by_name(&name);
            let mut file = reader.file(&inner, kind, raw.compressed_size() as usize, depth + 1);
            file.encrypted = true;
            drop(raw);
            reader.push(file);
            continue;
        }
        drop(raw);
        let data = match archive.by_index(i) {
            Ok(entry) => reader.read_to_end(entry, &inner),
            Err(_) => None,
        };
        if let Some(data) = data {
            reader.read(&inner, &data, depth + 1);
        }
    }
}

/// What a file's name says it is, for an encrypted entry that cannot be
/// opened.
pub(super) fn kind_by_name(name: &str) -> FileKind {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "xls" | "xlsx" | "xlsm" | "ods" => FileKind::Spreadsheet,
        "doc" | "docx" | "odt" | "rtf" => FileKind::Document,
        "ppt" | "pptx" | "odp" => FileKind::Presentation,
        "pdf" => FileKind::Pdf,
        "zip" | "7z" | "rar" | "gz" | "tgz" | "tar" => FileKind::Archive,
        "csv" | "tsv" => FileKind::Table,
        "txt" => FileKind::Text,
        _ => FileKind::Other,
    }
}

/// One entry's bytes, decompressed within the budget.
fn entry(
    reader: &mut Reader,
    archive: &mut Archive<'_>,
    name: &str,
    path: &str,
) -> Option<Vec<u8>> {
    let entry = archive.by_name(name).ok()?;
    reader.read_to_end(entry, path)
}

/// The entries under `prefix` whose next name starts with one of
/// `stems` and ends `.xml`, in that order of stems, numbered ones in
/// number order (`slide2.xml` before `slide10.xml`).
fn part_names(archive: &Archive<'_>, prefix: &str, stems: &[&str]) -> Vec<String> {
    let mut found: Vec<(usize, u64, String)> = archive
        .file_names()
        .filter_map(|name| {
            let name = name.ok()?;
            let rest = name.strip_prefix(prefix)?.strip_suffix(".xml")?;
            if rest.contains('/') {
                return None;
            }
            let stem = stems.iter().position(|s| rest.starts_with(s))?;
            let number = rest
                .trim_start_matches(|c: char| !c.is_ascii_digit())
                .parse()
                .unwrap_or(0);
            Some((stem, number, name.to_string()))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, _, name)| name).collect()
}

/// The text of a document's parts, as one section.
fn text_of_parts(
    reader: &mut Reader,
    archive: &mut Archive<'_>,
    path: &str,
    parts: &[String],
    dialect: Dialect,
) -> Vec<Section> {
    let mut text = String::new();
    for part in parts {
        let Some(xml) = entry(reader, archive, part, path) else {
            break;
        };
        let part_text = xml_text(reader, &utf8(&xml), path, dialect);
        if !part_text.trim().is_empty() {
            text.push_str(&part_text);
            text.push('\n');
        }
    }
    vec![Section {
        text,
        ..Section::default()
    }]
}

/// How a dialect of office XML keeps its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    /// In `t` elements (`w:t`, `a:t`), deleted text in `w:delText`.
    Ooxml,
    /// Anywhere in the document's body.
    OpenDocument,
}

/// Events between two looks at the budget.
const EVENTS_PER_CHECK: u32 = 4096;

/// The next event of an XML document, or `None` at its end, at an error
/// or when the time is up (looked at every [`EVENTS_PER_CHECK`] events).
fn next_event<'x>(
    reader: &mut Reader,
    xml: &mut quick_xml::Reader<&'x [u8]>,
    events: &mut u32,
    path: &str,
) -> Option<Event<'x>> {
    *events = events.wrapping_add(1);
    if events.is_multiple_of(EVENTS_PER_CHECK) && !reader.in_time(path) {
        return None;
    }
    match xml.read_event() {
        Ok(Event::Eof) | Err(_) => None,
        Ok(event) => Some(event),
    }
}

/// The text of an XML document: paragraphs and rows on lines of their
/// own, tabs and table cells as tabs.
fn xml_text(reader: &mut Reader, xml: &str, path: &str, dialect: Dialect) -> String {
    let mut out = String::new();
    let mut xml_reader = quick_xml::Reader::from_str(xml);
    let mut inside = 0u32;
    let mut events = 0u32;
    while let Some(event) = next_event(reader, &mut xml_reader, &mut events, path) {
        match event {
            Event::Start(e) => {
                if holds_text(&e, dialect) {
                    inside += 1;
                }
                separator(&mut out, &e, dialect, false);
            }
            Event::Empty(e) => separator(&mut out, &e, dialect, true),
            Event::End(e) => {
                let local = e.local_name();
                let name = local.as_ref();
                if inside > 0 && is_text_holder(name, dialect) {
                    inside -= 1;
                }
                match name {
                    "p" | "h" | "tr" | "table-row" => out.push('\n'),
                    "tc" | "table-cell" => out.push('\t'),
                    _ => {}
                }
            }
            Event::Text(t) if inside > 0 => out.push_str(&t.xml10_content()),
            Event::CData(t) if inside > 0 => out.push_str(&t),
            Event::GeneralRef(r) if inside > 0 => push_reference(&mut out, &r),
            _ => {}
        }
    }
    out
}

fn is_text_holder(local: &str, dialect: Dialect) -> bool {
    match dialect {
        Dialect::Ooxml => matches!(local, "t" | "delText"),
        Dialect::OpenDocument => local == "body",
    }
}

fn holds_text(e: &BytesStart<'_>, dialect: Dialect) -> bool {
    is_text_holder(e.local_name().as_ref(), dialect)
}

/// The white space an element stands for.
fn separator(out: &mut String, e: &BytesStart<'_>, dialect: Dialect, empty: bool) {
    match (e.local_name().as_ref(), dialect) {
        ("tab", _) => out.push('\t'),
        ("br" | "cr" | "line-break", _) => out.push('\n'),
        ("s", Dialect::OpenDocument) => out.push(' '),
        ("p" | "h", _) if empty => out.push('\n'),
        _ => {}
    }
}

/// An entity or character reference: XML's five and numeric ones; any
/// other (a DTD's own entities, as in a billion laughs) is not expanded.
fn push_reference(out: &mut String, r: &quick_xml::events::BytesRef<'_>) {
    if let Ok(Some(c)) = r.resolve_char_ref() {
        out.push(c);
        return;
    }
    out.push_str(match &**r {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        _ => "",
    });
}

/// An attribute's value, unescaped where it can be.
fn attribute(e: &BytesStart<'_>, name: &str) -> Option<String> {
    let a = e.try_get_attribute(name).ok()??;
    Some(
        a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_or_else(|_| a.value.to_string(), |v| v.into_owned()),
    )
}

/// The sheets of an xlsx workbook, in order, with their text.
fn xlsx(reader: &mut Reader, archive: &mut Archive<'_>, path: &str) -> Vec<Section> {
    let workbook = entry(reader, archive, "xl/workbook.xml", path).unwrap_or_default();
    let rels = entry(reader, archive, "xl/_rels/workbook.xml.rels", path).unwrap_or_default();
    let targets = relationship_targets(&utf8(&rels));
    let shared = match archive.index_for_name("xl/sharedStrings.xml") {
        Some(_) => entry(reader, archive, "xl/sharedStrings.xml", path)
            .map(|xml| shared_strings(reader, &utf8(&xml), path))
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let mut sections = Vec::new();
    let workbook = utf8(&workbook);
    let mut xml = quick_xml::Reader::from_str(&workbook);
    let mut sheets = Vec::new();
    loop {
        match xml.read_event() {
            Ok(Event::Eof) | Err(_) => break,
            Ok(Event::Start(e) | Event::Empty(e)) if e.local_name().as_ref() == "sheet" => {
                let name = attribute(&e, "name").unwrap_or_default();
                let hidden = attribute(&e, "state").is_some_and(|s| s != "visible");
                let id = attribute(&e, "r:id").unwrap_or_default();
                sheets.push((name, hidden, id));
            }
            _ => {}
        }
    }
    for (i, (name, hidden, id)) in sheets.into_iter().enumerate() {
        if reader.stopped() {
            break;
        }
        let part = match targets.get(&id) {
            Some(target) if target.starts_with('/') => target.trim_start_matches('/').to_string(),
            Some(target) => format!("xl/{target}"),
            None => format!("xl/worksheets/sheet{}.xml", i + 1),
        };
        let Some(xml) = entry(reader, archive, &part, path) else {
            continue;
        };
        let mut section = xlsx_sheet(reader, &utf8(&xml), &shared, path);
        section.name = Some(name);
        section.hidden = hidden;
        sections.push(section);
    }
    sections
}

/// `Id` → `Target` of a relationships part.
fn relationship_targets(xml: &str) -> HashMap<String, String> {
    let mut targets = HashMap::new();
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event() {
            Ok(Event::Eof) | Err(_) => break,
            Ok(Event::Start(e) | Event::Empty(e)) if e.local_name().as_ref() == "Relationship" => {
                if let (Some(id), Some(target)) = (attribute(&e, "Id"), attribute(&e, "Target")) {
                    targets.insert(id, target);
                }
            }
            _ => {}
        }
    }
    targets
}

/// The shared strings of a workbook, in order: each `si`'s text runs
/// joined (phonetic guides left out).
fn shared_strings(reader: &mut Reader, xml: &str, path: &str) -> Vec<String> {
    let mut strings = Vec::new();
    let mut xml_reader = quick_xml::Reader::from_str(xml);
    let (mut in_t, mut in_phonetic) = (false, false);
    let mut current = String::new();
    let mut events = 0u32;
    while let Some(event) = next_event(reader, &mut xml_reader, &mut events, path) {
        match event {
            Event::Start(e) => match e.local_name().as_ref() {
                "t" => in_t = true,
                "rPh" => in_phonetic = true,
                "si" => current.clear(),
                _ => {}
            },
            Event::Empty(e) if e.local_name().as_ref() == "si" => strings.push(String::new()),
            Event::End(e) => match e.local_name().as_ref() {
                "t" => in_t = false,
                "rPh" => in_phonetic = false,
                "si" => strings.push(std::mem::take(&mut current)),
                _ => {}
            },
            Event::Text(t) if in_t && !in_phonetic => current.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if in_t && !in_phonetic => push_reference(&mut current, &r),
            _ => {}
        }
    }
    strings
}

/// Hidden column ranges kept per sheet: a sheet of a million one-column
/// ranges costs a thousand.
pub(super) const MAX_HIDDEN_RANGES: usize = 1024;

/// Empty cells written as tabs between two cells at most: a cell far to
/// the right is one tab away, not sixteen thousand.
const MAX_GAP: u32 = 64;

/// A sheet's rows as a table, cells separated by tabs, placed in their
/// columns.
#[derive(Default)]
pub(super) struct Table {
    text: String,
    rows: u64,
    row: Vec<(u32, String)>,
    /// The first row with anything in it, for the headings of hidden
    /// columns.
    headings: Vec<(u32, String)>,
    /// Columns (from 0) with anything in them.
    used: Vec<u32>,
}

impl Table {
    pub(super) fn cell(&mut self, column: u32, value: String) {
        if value.trim().is_empty() {
            return;
        }
        if !self.used.contains(&column) && self.used.len() < 16_384 {
            self.used.push(column);
        }
        self.row.push((column, value));
    }

    pub(super) fn end_row(&mut self) {
        if self.row.is_empty() {
            return;
        }
        self.rows += 1;
        let mut next = 0u32;
        for (column, value) in &self.row {
            let gap = column.saturating_sub(next).min(MAX_GAP);
            for _ in 0..gap {
                self.text.push('\t');
            }
            if next > 0 || gap > 0 {
                self.text.push('\t');
            }
            self.text.push_str(&value.replace(['\t', '\n', '\r'], " "));
            next = column + 1;
        }
        self.text.push('\n');
        if self.headings.is_empty() {
            self.headings = std::mem::take(&mut self.row);
        }
        self.row.clear();
    }

    /// The sheet's section: its rows, and the hidden column ranges
    /// (`(first, last)`, from 0) that hold something, named.
    pub(super) fn into_section(mut self, section: Section, hidden: &[(u32, u32)]) -> Section {
        self.end_row();
        Section {
            hidden_columns: self.hidden_columns(hidden),
            rows: self.rows,
            text: self.text,
            separator: Some('\t'),
            ..section
        }
    }

    /// The headings (or letters) of hidden columns that hold something.
    fn hidden_columns(&self, hidden: &[(u32, u32)]) -> Vec<String> {
        let mut names = Vec::new();
        for &column in &self.used {
            if hidden
                .iter()
                .any(|&(min, max)| (min..=max).contains(&column))
            {
                let heading = self.headings.iter().find(|(c, _)| *c == column);
                names.push(match heading {
                    Some((_, h)) => h.trim().to_string(),
                    None => column_letters(column),
                });
            }
        }
        names
    }
}

/// `0` → `A`, `27` → `AB`.
fn column_letters(mut column: u32) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'A' + (column % 26) as u8);
        if column < 26 {
            break;
        }
        column = column / 26 - 1;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap_or_default()
}

/// The column (from 0) of a cell reference such as `AB12`.
fn column_of(reference: &str) -> Option<u32> {
    let letters = reference.bytes().take_while(u8::is_ascii_alphabetic);
    let mut column = 0u32;
    let mut any = false;
    for b in letters {
        any = true;
        column = column
            .checked_mul(26)?
            .checked_add(u32::from(b.to_ascii_uppercase() - b'A') + 1)?;
    }
    any.then(|| column - 1)
}

/// One worksheet's cells as a table.
fn xlsx_sheet(reader: &mut Reader, xml: &str, shared: &[String], path: &str) -> Section {
    let mut table = Table::default();
    let mut hidden_columns: Vec<(u32, u32)> = Vec::new();
    let mut xml_reader = quick_xml::Reader::from_str(xml);
    let mut cell: Option<(u32, String)> = None;
    let mut value = String::new();
    let mut in_value = false;
    let mut next_column = 0u32;
    let mut events = 0u32;
    while let Some(event) = next_event(reader, &mut xml_reader, &mut events, path) {
        match event {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "col" => {
                let bound = |name| attribute(&e, name).and_then(|v| v.parse::<u32>().ok());
                let hidden = attribute(&e, "hidden").is_some_and(|v| v == "1" || v == "true");
                if let (true, Some(min), Some(max)) = (hidden, bound("min"), bound("max"))
                    && hidden_columns.len() < MAX_HIDDEN_RANGES
                {
                    hidden_columns.push((min.saturating_sub(1), max.saturating_sub(1)));
                }
            }
            Event::Start(e) => match e.local_name().as_ref() {
                "row" => {
                    table.end_row();
                    next_column = 0;
                }
                "c" => {
                    let column = attribute(&e, "r")
                        .and_then(|r| column_of(&r))
                        .unwrap_or(next_column);
                    next_column = column + 1;
                    cell = Some((column, attribute(&e, "t").unwrap_or_default()));
                    value.clear();
                }
                "v" | "t" => in_value = cell.is_some(),
                _ => {}
            },
            Event::Empty(e) if e.local_name().as_ref() == "c" => {
                let column = attribute(&e, "r").and_then(|r| column_of(&r));
                next_column = column.unwrap_or(next_column) + 1;
            }
            Event::Text(t) if in_value => value.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if in_value => push_reference(&mut value, &r),
            Event::End(e) => match e.local_name().as_ref() {
                "v" | "t" => in_value = false,
                "c" => {
                    if let Some((column, kind)) = cell.take() {
                        let text = if kind == "s" {
                            value
                                .trim()
                                .parse::<usize>()
                                .ok()
                                .and_then(|i| shared.get(i))
                                .cloned()
                                .unwrap_or_default()
                        } else {
                            std::mem::take(&mut value)
                        };
                        table.cell(column, text);
                    }
                }
                "row" => table.end_row(),
                _ => {}
            },
            _ => {}
        }
    }
    table.into_section(Section::default(), &hidden_columns)
}

/// Copies of a repeated cell or row written out at most: a repeat of a
/// billion empty cells is a count, not a billion tabs.
const MAX_REPEAT: u32 = 16;

/// A sheet being read: its section, its cells, its hidden column ranges
/// and the next column a `table:table-column` describes.
type OdsTable = (Section, Table, Vec<(u32, u32)>, u32);

/// The sheets of an OpenDocument spreadsheet (`content.xml`).
fn ods(reader: &mut Reader, xml: &str, path: &str) -> Vec<Section> {
    let mut sections = Vec::new();
    let mut hidden_styles: Vec<String> = Vec::new();
    let mut style: Option<String> = None;
    let mut table: Option<OdsTable> = None;
    let mut cell: Option<(u32, u32)> = None;
    let mut value = String::new();
    let mut row_repeat = 1u32;
    let mut column = 0u32;
    let mut xml_reader = quick_xml::Reader::from_str(xml);
    let mut events = 0u32;
    let repeat = |e: &BytesStart<'_>, name: &str| {
        attribute(e, name)
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(1)
            .max(1)
    };
    while let Some(event) = next_event(reader, &mut xml_reader, &mut events, path) {
        let (e, empty) = match &event {
            Event::Start(e) => (Some(e), false),
            Event::Empty(e) => (Some(e), true),
            _ => (None, false),
        };
        if let Some(e) = e {
            match e.local_name().as_ref() {
                "style" => style = attribute(e, "style:name"),
                "table-properties" => {
                    if attribute(e, "table:display").as_deref() == Some("false")
                        && let Some(name) = style.clone()
                    {
                        hidden_styles.push(name);
                    }
                }
                "table" => {
                    let hidden = attribute(e, "table:style-name")
                        .is_some_and(|s| hidden_styles.contains(&s));
                    let section = Section {
                        name: attribute(e, "table:name"),
                        hidden,
                        ..Section::default()
                    };
                    table = Some((section, Table::default(), Vec::new(), 0));
                }
                "table-column" => {
                    if let Some((_, _, hidden, next)) = &mut table {
                        let n = repeat(e, "table:number-columns-repeated");
                        if attribute(e, "table:visibility").is_some_and(|v| v != "visible")
                            && hidden.len() < MAX_HIDDEN_RANGES
                        {
                            hidden.push((*next, next.saturating_add(n - 1)));
                        }
                        *next = next.saturating_add(n);
                    }
                }
                "table-row" => {
                    row_repeat = repeat(e, "table:number-rows-repeated");
                    column = 0;
                }
                "table-cell" | "covered-table-cell" => {
                    let n = repeat(e, "table:number-columns-repeated");
                    if empty {
                        column = column.saturating_add(n);
                    } else {
                        cell = Some((column, n));
                        value.clear();
                    }
                }
                _ => {}
            }
            if empty && e.local_name().as_ref() == "p" && cell.is_some() {
                value.push(' ');
            }
            continue;
        }
        match event {
            Event::Text(t) if cell.is_some() => value.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if cell.is_some() => push_reference(&mut value, &r),
            Event::End(e) => match e.local_name().as_ref() {
                "p" if cell.is_some() => value.push(' '),
                "table-cell" | "covered-table-cell" => {
                    if let (Some((at, n)), Some((_, t, _, _))) = (cell.take(), &mut table) {
                        let text = value.trim().to_string();
                        for copy in 0..n.min(if text.is_empty() { 1 } else { MAX_REPEAT }) {
                            t.cell(at + copy, text.clone());
                        }
                        column = at.saturating_add(n);
                    }
                }
                "table-row" => {
                    if let Some((_, t, _, _)) = &mut table {
                        let has_cells = !t.row.is_empty();
                        t.end_row();
                        // The repeats of a row with something in it count
                        // as rows, written once.
                        if has_cells {
                            t.rows = t.rows.saturating_add(u64::from(row_repeat - 1));
                        }
                    }
                }
                "table" => {
                    if let Some((section, t, hidden, _)) = table.take() {
                        sections.push(t.into_section(section, &hidden));
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }
    sections
}
