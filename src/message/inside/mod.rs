//! What is inside attachments: the type of each file from its bytes, and
//! the text of spreadsheets, documents, presentations, PDFs, RTF files, zip
//! and gzip archives and winmail.dat, for the content rules.
//!
//! Read lazily: nothing here runs until a rule asks
//! ([`Message::inside`](super::Message::inside)), and then once per
//! message, every attachment under one budget ([`ReadLimits`]): each byte
//! decompressed or extracted, each file opened, each level of nesting and
//! the time spent count against it, and reading stops where one runs out,
//! saying where ([`Inside::stopped`]). Mail without such attachments costs
//! nothing.
//!
//! Written by hand where the crates read whole files without a bound:
//! the magic numbers (ten signatures, and the containers must be opened
//! anyway to tell an xlsx from a docx or an encrypted Office file), the
//! spreadsheets of OOXML and OpenDocument (calamine builds a dense grid
//! from the two farthest cells, gigabytes from a few bytes), PDF text
//! (the PDF crates load every object first: a million-object file is a
//! million allocations before the first word), RTF and TNEF (no
//! maintained crate). Zip containers go through the `zip` crate, XML
//! through `quick-xml` (which expands no entity: a billion laughs stays
//! three words), OLE2 through `cfb`, and old Excel files through calamine
//! once their extent is checked (`xls.rs`).

#[cfg(test)]
pub(crate) mod build;
mod cmap;
mod office;
mod pdf;
mod rtf;
mod tnef;
mod xls;

use std::io::Read;
use std::time::{Duration, Instant};

/// The time reading has taken: the thread's processor time where the
/// system gives it, so that a busy machine (other programs, other
/// messages checked on the other cores) does not cut the reading short
/// and change the findings; else the wall clock.
enum Clock {
    Thread(cpu_time::ThreadTime),
    Wall(Instant),
}

impl Clock {
    fn start() -> Clock {
        cpu_time::ThreadTime::try_now().map_or_else(|_| Clock::Wall(Instant::now()), Clock::Thread)
    }

    fn elapsed(&self) -> Duration {
        match self {
            Clock::Thread(start) => start.try_elapsed().unwrap_or(Duration::ZERO),
            Clock::Wall(start) => start.elapsed(),
        }
    }
}

/// Calls of [`Reader::in_time`] between two looks at the clock (a
/// system call): each stands for a bounded piece of work (a chunk, a few
/// thousand XML events, a file, a PDF stream).
const CALLS_PER_CLOCK: u32 = 64;

/// What reading inside attachments may cost per message, from
/// `[attachments]` in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Bytes decompressed or extracted, all files together.
    pub max_bytes: u64,
    /// Files opened: attachments, archive entries, parts of a document.
    pub max_files: u64,
    /// Levels of files inside files (an attachment is level 1, a file in
    /// its archive level 2).
    pub max_depth: u32,
    /// Processor time spent, in milliseconds.
    pub max_milliseconds: u64,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_bytes: 64 * 1024 * 1024,
            max_files: 1_000,
            max_depth: 5,
            max_milliseconds: 2_000,
        }
    }
}

/// The deepest `max_depth` accepted: each level is a frame of recursion.
pub const MAX_DEPTH_LIMIT: u32 = 32;

/// What kind of file something is, from its bytes (and, for files that
/// have no signature, its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    Spreadsheet,
    Document,
    Presentation,
    Pdf,
    Archive,
    /// CSV and TSV files.
    Table,
    Text,
    /// Outlook's winmail.dat (TNEF), which carries attachments.
    Winmail,
    /// An OLE2 file of another kind, or one not read (`.doc`, `.msg`).
    Other,
}

impl FileKind {
    pub fn noun(self) -> &'static str {
        match self {
            FileKind::Spreadsheet => "spreadsheet",
            FileKind::Document => "document",
            FileKind::Presentation => "presentation",
            FileKind::Pdf => "PDF",
            FileKind::Archive => "archive",
            FileKind::Table => "table",
            FileKind::Text => "text file",
            FileKind::Winmail => "winmail.dat",
            FileKind::Other => "file",
        }
    }
}

/// One piece of a file's text: a spreadsheet's sheet, or a document's
/// whole text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Section {
    /// The sheet's name; `None` for a document's text.
    pub name: Option<String>,
    /// A sheet hidden in the workbook.
    pub hidden: bool,
    pub text: String,
    /// Rows with something in them (a table's rows, a sheet's rows).
    pub rows: u64,
    /// Its text is rows of cells separated by this (a sheet: tabs).
    pub separator: Option<char>,
    /// The first cell of each hidden column (its heading), or its letter.
    pub hidden_columns: Vec<String>,
}

/// A file found in an attachment, or the attachment itself, read by its
/// content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InnerFile {
    /// Index into [`Message::attachments`](super::Message::attachments).
    pub attachment: usize,
    /// The names from the attachment down: `patients.zip › patients.xlsx`.
    pub path: String,
    pub kind: FileKind,
    /// Encrypted or password-protected: its content cannot be read.
    pub encrypted: bool,
    /// Size in bytes (as stored, for an encrypted entry).
    pub size: u64,
    /// Levels down from the attachment (0: the attachment itself).
    pub depth: u32,
    pub sections: Vec<Section>,
}

/// A limit that stopped reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Bytes,
    Files,
    Depth,
    Time,
}

/// Where reading inside the attachments stopped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stopped {
    pub limit: Limit,
    /// The path of the file being read when it stopped.
    pub at: String,
    /// Index of the attachment it was in.
    pub attachment: usize,
}

/// What the attachments of a message hold, as far as it was read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Inside {
    /// Every file read by its content, in order, each followed by the
    /// files inside it.
    pub files: Vec<InnerFile>,
    pub stopped: Option<Stopped>,
}

impl Inside {
    /// The attachment itself, when its content told what it is.
    pub fn top(&self, attachment: usize) -> Option<&InnerFile> {
        self.files
            .iter()
            .find(|f| f.attachment == attachment && f.depth == 0)
    }
}

/// The separator shown between the names of a path.
pub const PATH_SEPARATOR: &str = " › ";

/// Reads inside every attachment that was kept as bytes.
pub(super) fn read_attachments(attachments: &[super::Attachment], limits: &ReadLimits) -> Inside {
    let mut reader = Reader {
        limits: *limits,
        bytes: 0,
        files: 0,
        started: Clock::start(),
        calls: 0,
        out: Inside::default(),
        attachment: 0,
    };
    for (i, a) in attachments.iter().enumerate() {
        if a.bytes.is_empty() {
            continue;
        }
        reader.attachment = i;
        let name = a.filename.clone().unwrap_or_else(|| a.content_type.clone());
        reader.read(&name, &a.bytes, 0);
        if reader.out.stopped.is_some() {
            break;
        }
    }
    reader.out
}

/// Reads one message's attachments, keeping count of the budget.
pub(super) struct Reader {
    limits: ReadLimits,
    bytes: u64,
    files: u64,
    started: Clock,
    /// Calls of `in_time` so far.
    calls: u32,
    out: Inside,
    /// The attachment being read.
    attachment: usize,
}

/// Bytes read from a decompressing reader at a time, so that the budget
/// is checked before a bomb goes far.
const CHUNK: usize = 64 * 1024;

impl Reader {
    fn stop(&mut self, limit: Limit, at: &str) {
        if self.out.stopped.is_none() {
            self.out.stopped = Some(Stopped {
                limit,
                at: at.to_string(),
                attachment: self.attachment,
            });
        }
    }

    fn stopped(&self) -> bool {
        self.out.stopped.is_some()
    }

    /// Counts `n` bytes decompressed or extracted for `path`; false (and
    /// reading stops) when that passes the budget or the time is up.
    pub(super) fn spend(&mut self, n: usize, path: &str) -> bool {
        if self.stopped() {
            return false;
        }
        self.bytes = self.bytes.saturating_add(n as u64);
        if self.bytes > self.limits.max_bytes {
            self.stop(Limit::Bytes, path);
            return false;
        }
        self.in_time(path)
    }

    /// Whether there is time left; when not, reading stops.
    pub(super) fn in_time(&mut self, path: &str) -> bool {
        if self.stopped() {
            return false;
        }
        self.calls = self.calls.wrapping_add(1);
        if !self.calls.is_multiple_of(CALLS_PER_CLOCK) {
            return true;
        }
        if self.started.elapsed() > Duration::from_millis(self.limits.max_milliseconds) {
            self.stop(Limit::Time, path);
            return false;
        }
        true
    }

    /// Counts one more file opened at `depth`; false when it may not be.
    fn open(&mut self, path: &str, depth: u32) -> bool {
        if !self.in_time(path) {
            return false;
        }
        if depth >= self.limits.max_depth {
            self.stop(Limit::Depth, path);
            return false;
        }
        self.files += 1;
        if self.files > self.limits.max_files {
            self.stop(Limit::Files, path);
            return false;
        }
        true
    }

    /// Everything `from` yields, decompressed, up to what the budget
    /// allows; `None` when the budget ran out or nothing could be read.
    pub(super) fn read_to_end(&mut self, mut from: impl Read, path: &str) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        let mut chunk = vec![0; CHUNK];
        loop {
            let n = match from.read(&mut chunk) {
                Ok(0) => return Some(out),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // What came before a broken end (a truncated stream, a bad
                // checksum) is still the file's text.
                Err(_) => return (!out.is_empty()).then_some(out),
            };
            if !self.spend(n, path) {
                return None;
            }
            out.extend_from_slice(chunk.get(..n)?);
        }
    }

    pub(super) fn push(&mut self, file: InnerFile) {
        self.out.files.push(file);
    }

    pub(super) fn file(&self, path: &str, kind: FileKind, size: usize, depth: u32) -> InnerFile {
        InnerFile {
            attachment: self.attachment,
            path: path.to_string(),
            kind,
            encrypted: false,
            size: size as u64,
            depth,
            sections: Vec::new(),
        }
    }

    /// Reads one file found at `depth` (0: an attachment): what it is
    /// from its bytes, then its text or the files inside it.
    pub(super) fn read(&mut self, path: &str, bytes: &[u8], depth: u32) {
        let Some(signature) = sniff(bytes) else {
            self.read_unsigned(path, bytes, depth);
            return;
        };
        if !self.open(path, depth) {
            return;
        }
        match signature {
            Signature::Zip => office::read_zip(self, path, bytes, depth),
            Signature::Ole2 => xls::read_ole2(self, path, bytes, depth),
            Signature::Pdf => pdf::read(self, path, bytes, depth),
            Signature::Rtf => {
                let mut file = self.file(path, FileKind::Document, bytes.len(), depth);
                let text = rtf::text(bytes);
                if self.spend(text.len(), path) {
                    file.sections.push(Section {
                        text,
                        ..Section::default()
                    });
                }
                self.push(file);
            }
            Signature::Tnef => tnef::read(self, path, bytes, depth),
            Signature::Gzip => {
                self.push(self.file(path, FileKind::Archive, bytes.len(), depth));
                let inner = inner_name(path, &[".gz", ".tgz"]);
                let decoder = flate2::read::MultiGzDecoder::new(bytes);
                if let Some(data) = self.read_to_end(decoder, path) {
                    self.read(&join(path, &inner), &data, depth + 1);
                }
            }
            Signature::Tar => read_tar(self, path, bytes, depth),
            Signature::SevenZip => {
                let mut file = self.file(path, FileKind::Archive, bytes.len(), depth);
                file.encrypted = seven_zip_is_encrypted(bytes);
                self.push(file);
            }
            Signature::Rar => {
                let mut file = self.file(path, FileKind::Archive, bytes.len(), depth);
                file.encrypted = rar_is_encrypted(bytes);
                self.push(file);
            }
        }
    }

    /// A file without a signature: a table or text file inside an
    /// archive is read by its name (at the top, the message model has
    /// already read text attachments as text).
    fn read_unsigned(&mut self, path: &str, bytes: &[u8], depth: u32) {
        if depth == 0 {
            return;
        }
        let name = path
            .rsplit(PATH_SEPARATOR)
            .next()
            .unwrap_or(path)
            .to_ascii_lowercase();
        let (kind, separator) = if name.ends_with(".csv") {
            (FileKind::Table, Some(','))
        } else if name.ends_with(".tsv") {
            (FileKind::Table, Some('\t'))
        } else if name.ends_with(".txt") {
            (FileKind::Text, None)
        } else {
            return;
        };
        if !self.open(path, depth) {
            return;
        }
        let text = String::from_utf8_lossy(bytes).into_owned();
        let rows = if separator.is_some() {
            text.lines().filter(|l| !l.trim().is_empty()).count() as u64
        } else {
            0
        };
        let mut file = self.file(path, kind, bytes.len(), depth);
        file.sections.push(Section {
            text,
            rows,
            separator,
            ..Section::default()
        });
        self.push(file);
    }
}

/// `outer › inner`.
pub(super) fn join(outer: &str, inner: &str) -> String {
    format!("{outer}{PATH_SEPARATOR}{inner}")
}

/// The name of what a compressed file holds: its own name without the
/// compression's extension (`data.csv.gz` holds `data.csv`; `a.tgz`, a
/// tar).
fn inner_name(path: &str, extensions: &[&str]) -> String {
    let name = path.rsplit(PATH_SEPARATOR).next().unwrap_or(path);
    let lower = name.to_ascii_lowercase();
    for ext in extensions {
        if lower.ends_with(ext) {
            let stem = &name[..name.len() - ext.len()];
            return if *ext == ".tgz" {
                format!("{stem}.tar")
            } else {
                stem.to_string()
            };
        }
    }
    format!("{name} (contents)")
}

/// What a file's first bytes say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signature {
    Zip,
    Ole2,
    Pdf,
    Rtf,
    Tnef,
    Gzip,
    Tar,
    SevenZip,
    Rar,
}

fn sniff(bytes: &[u8]) -> Option<Signature> {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    Some(if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") {
        Signature::Zip
    } else if starts(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        Signature::Ole2
    // PDF readers accept the header anywhere in the first kilobyte.
    } else if memchr::memmem::find(bytes.get(..1024).unwrap_or(bytes), b"%PDF-").is_some() {
        Signature::Pdf
    } else if starts(b"{\\rtf") {
        Signature::Rtf
    } else if starts(b"\x78\x9F\x3E\x22") {
        Signature::Tnef
    } else if starts(b"\x1F\x8B") {
        Signature::Gzip
    } else if bytes.get(257..262) == Some(b"ustar") {
        Signature::Tar
    } else if starts(b"7z\xBC\xAF\x27\x1C") {
        Signature::SevenZip
    } else if starts(b"Rar!\x1A\x07") {
        Signature::Rar
    } else {
        return None;
    })
}

/// The files of a tar archive (512-byte headers, sizes in octal).
fn read_tar(reader: &mut Reader, path: &str, bytes: &[u8], depth: u32) {
    reader.push(reader.file(path, FileKind::Archive, bytes.len(), depth));
    let mut at = 0usize;
    while let Some(header) = bytes.get(at..at + 512) {
        if header.iter().all(|&b| b == 0) || reader.stopped() {
            break;
        }
        let name_end = header[..100].iter().position(|&b| b == 0).unwrap_or(100);
        let name = String::from_utf8_lossy(&header[..name_end]).into_owned();
        let size = std::str::from_utf8(&header[124..136])
            .ok()
            .map(|s| s.trim_matches(|c: char| c == '\0' || c == ' '))
            .and_then(|s| usize::from_str_radix(s, 8).ok())
            .unwrap_or(0);
        let data_start = at + 512;
        let Some(data) = data_start
            .checked_add(size)
            .and_then(|end| bytes.get(data_start..end))
        else {
            break;
        };
        // Regular files only ('0' or NUL); directories, links and the
        // extended headers of pax are skipped.
        if matches!(header[156], b'0' | 0) && !name.is_empty() {
            reader.read(&join(path, &name), data, depth + 1);
        }
        at = data_start + size.div_ceil(512) * 512;
    }
}

/// Whether a 7z archive is encrypted: its header (plain or itself
/// packed, at the offset its start header gives) names the AES coder
/// (`06 F1 07 01`).
fn seven_zip_is_encrypted(bytes: &[u8]) -> bool {
    let Some(offset) = bytes
        .get(12..20)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
    else {
        return false;
    };
    let start = usize::try_from(offset)
        .ok()
        .and_then(|o| o.checked_add(32))
        .unwrap_or(usize::MAX);
    bytes
        .get(start..)
        .is_some_and(|header| memchr::memmem::find(header, b"\x06\xF1\x07\x01").is_some())
}

/// Whether a RAR archive is encrypted, by walking its blocks (each
/// step moves forward, so a crafted archive cannot loop): RAR 5 writes an
/// archive encryption header (type 4) first when the names are protected
/// too (`-hp`), and gives each protected file an encryption record in its
/// header's extra area (`-p`); RAR 4 sets the archive header's "block
/// headers encrypted" flag (0x80) or a file header's "encrypted" flag
/// (0x04).
fn rar_is_encrypted(bytes: &[u8]) -> bool {
    if bytes.starts_with(b"Rar!\x1A\x07\x01\x00") {
        rar5_is_encrypted(bytes)
    } else {
        rar4_is_encrypted(bytes)
    }
}

/// A RAR 5 variable-length integer at `*at`, moving past it.
fn rar_vint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..63).step_by(7) {
        let b = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(b & 0x7F) << shift;
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn rar5_is_encrypted(bytes: &[u8]) -> bool {
    let mut block = 8usize;
    let walk = |block: usize| -> Option<(bool, usize)> {
        // CRC32, then the header's size, counted from its type on.
        let mut at = block + 4;
        let size = usize::try_from(rar_vint(bytes, &mut at)?).ok()?;
        let header_end = at.checked_add(size)?;
        // A header cut short still says what it is: the walk ends after.
        let header = bytes.get(at..header_end).or_else(|| bytes.get(at..))?;
        let mut i = 0;
        let kind = rar_vint(header, &mut i)?;
        if kind == 4 {
            return Some((true, header_end));
        }
        let flags = rar_vint(header, &mut i)?;
        let extra = if flags & 1 != 0 {
            usize::try_from(rar_vint(header, &mut i)?).ok()?
        } else {
            0
        };
        let data = if flags & 2 != 0 {
            usize::try_from(rar_vint(header, &mut i)?).ok()?
        } else {
            0
        };
        let encrypted = match kind {
            // A file's extra area is the end of its header: records of a
            // size (from the type on), a type (1: encryption) and data.
            2 => {
                let mut records = header.get(header.len().checked_sub(extra)?..)?;
                let mut found = false;
                while !records.is_empty() {
                    let mut j = 0;
                    let Some(record_size) = rar_vint(records, &mut j) else {
                        break;
                    };
                    let record_start = j;
                    if rar_vint(records, &mut j) == Some(1) {
                        found = true;
                        break;
                    }
                    let next = usize::try_from(record_size)
                        .ok()
                        .and_then(|s| record_start.checked_add(s));
                    // Each record moves on by at least its type's byte.
                    match next.and_then(|n| records.get(n..)) {
                        Some(rest) => records = rest,
                        None => break,
                    }
                }
                found
            }
            _ => false,
        };
        Some((encrypted, header_end.checked_add(data)?))
    };
    while let Some((encrypted, next)) = walk(block) {
        if encrypted {
            return true;
        }
        block = next;
    }
    false
}

fn rar4_is_encrypted(bytes: &[u8]) -> bool {
    // The marker block (7 bytes), then blocks of a CRC, a type, flags
    // and a size, followed by more data when flag 0x8000 says so.
    let mut block = 7usize;
    while let Some(head) = bytes.get(block..block + 7) {
        let kind = head[2];
        let flags = u16::from_le_bytes([head[3], head[4]]);
        let size = usize::from(u16::from_le_bytes([head[5], head[6]]));
        match kind {
            0x73 if flags & 0x80 != 0 => return true,
            0x74 if flags & 0x04 != 0 => return true,
            0x7B => return false,
            _ => {}
        }
        if size < 7 {
            return false;
        }
        let added = if flags & 0x8000 != 0 {
            match bytes.get(block + 7..block + 11) {
                Some(b) => u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize,
                None => return false,
            }
        } else {
            0
        };
        block = block.saturating_add(size).saturating_add(added);
    }
    false
}

#[cfg(test)]
mod tests;
