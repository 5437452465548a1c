//! Reading what the user points maillint at: files, standard input,
//! directories, Maildirs and mbox files, each recognised by its content.

use crate::message::{Message, ParseError, parse_json_draft, parse_rfc5322_owned};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};
use std::time::SystemTime;

/// The default of [`Limits::max_message_size`]: 100 MB.
pub const DEFAULT_MAX_MESSAGE_SIZE: u64 = 100 * 1024 * 1024;

/// What reading may cost, from `[input]` in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A message larger than this (in bytes) is refused rather than read
    /// into memory. An mbox file may be of any size: it is read one
    /// message at a time, and this applies to each message.
    pub max_message_size: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
        }
    }
}

/// A byte count for people: `100 MB`, `64 KB`, `1500 bytes` (units of 1024).
pub fn format_size(bytes: u64) -> String {
    const KB: u64 = 1024;
    for (unit, size) in [("GB", KB * KB * KB), ("MB", KB * KB), ("KB", KB)] {
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{} {unit}", bytes / size);
        }
    }
    format!("{bytes} bytes")
}

/// Bytes read to tell what kind of input a file is.
const SNIFF_LEN: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Stdin,
    Path(PathBuf),
}

impl Input {
    pub fn from_arg(arg: &str) -> Input {
        if arg == "-" {
            Input::Stdin
        } else {
            Input::Path(PathBuf::from(arg))
        }
    }
}

/// One message read but not yet parsed, or the reason a source could not
/// be read. Parsing is left to whoever checks the message, so that a batch
/// parses on every core while one thread reads.
#[derive(Debug)]
pub enum Item {
    Message(RawMessage),
    Error {
        source: Origin,
        /// One line: control characters are escaped.
        error: String,
    },
}

impl Item {
    /// A file, or a directory, that could not be read.
    fn error(file: impl Into<String>, error: impl AsRef<str>) -> Item {
        Item::located_error(Origin::file(file), error)
    }

    fn located_error(source: Origin, error: impl AsRef<str>) -> Item {
        Item::Error {
            source,
            error: crate::guard::one_line(error.as_ref()),
        }
    }
}

/// Where an unreadable input is: a file, and inside an mbox which message.
/// Shown (and written to JSON) as `file (message N, line L)`; the SARIF and
/// GitHub printers need the file and the line apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: String,
    pub mbox_message: Option<MboxMessage>,
}

/// A message inside an mbox: its number, from 1, and the line of its
/// `From ` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MboxMessage {
    pub number: usize,
    pub line: usize,
}

impl Origin {
    pub fn file(file: impl Into<String>) -> Origin {
        Origin {
            file: file.into(),
            mbox_message: None,
        }
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.mbox_message {
            Some(m) => write!(f, "{} (message {}, line {})", self.file, m.number, m.line),
            None => f.write_str(&self.file),
        }
    }
}

impl serde::Serialize for Origin {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The bytes of one message, with where they came from.
#[derive(Debug)]
pub struct RawMessage {
    /// The file (or `-`) the message came from.
    pub source: String,
    /// Position of the message within its source (mbox), from 0.
    pub index: usize,
    /// The line of the source the message starts on (after an mbox `From `
    /// line), so findings point at lines of the file.
    first_line: usize,
    in_mbox: bool,
    is_json_draft: bool,
    pub bytes: Vec<u8>,
    /// The regular file the message was read from, for a reader that
    /// asked how much of each file to read ([`read_inputs_from`]).
    pub file: Option<Arc<FileStamp>>,
    /// In an mbox, where the next message starts: the byte offset, the
    /// line and the message's number, for reading on from there.
    pub mbox_end: Option<MboxPosition>,
}

/// A file as it was found before it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStamp {
    pub path: PathBuf,
    pub size: u64,
    pub modified: Option<SystemTime>,
}

/// A place in an mbox between two messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MboxPosition {
    /// Bytes before it.
    pub offset: u64,
    /// Lines before it.
    pub line: usize,
    /// Messages before it.
    pub messages: usize,
}

/// How much of a file to read, for callers that remember what they read
/// before (`maillint learn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    Whole,
    Skip,
    /// An mbox from this position on (one of its [`RawMessage::mbox_end`]).
    MboxAt(MboxPosition),
}

impl RawMessage {
    /// Parses the message, giving its bytes to the model (which keeps
    /// what it points into and frees the rest); a panic in the parser is an
    /// `Err` too.
    pub fn parse(&mut self) -> Result<Message, ParseError> {
        if self.is_json_draft {
            let message = parse_json_draft(&self.bytes);
            self.bytes = Vec::new();
            message
        } else {
            parse_rfc5322_owned(std::mem::take(&mut self.bytes), self.first_line)
        }
    }

    /// Whether the message is one of an mbox's.
    pub fn in_mbox(&self) -> bool {
        self.in_mbox
    }

    /// How an error about this message names it: the file, and inside an
    /// mbox the message's number and the line of its `From ` line.
    pub fn located_source(&self) -> Origin {
        if self.in_mbox {
            mbox_origin(&self.source, self.index, self.first_line - 1)
        } else {
            Origin::file(&self.source)
        }
    }
}

fn mbox_origin(source: &str, index: usize, from_line: usize) -> Origin {
    Origin {
        file: source.to_string(),
        mbox_message: Some(MboxMessage {
            number: index + 1,
            line: from_line,
        }),
    }
}

/// Reads every input in order, calling `f` for each message or error.
/// Directories are walked in a stable (sorted) order.
pub fn read_inputs(inputs: &[Input], limits: &Limits, f: &mut dyn FnMut(Item)) {
    Reader::new(limits, f).read_all(inputs);
}

/// [`read_inputs`], asking `start` before each regular file how much of it
/// to read.
pub fn read_inputs_from(
    inputs: &[Input],
    limits: &Limits,
    start: &mut dyn FnMut(&FileStamp) -> Start,
    f: &mut dyn FnMut(Item),
) {
    let mut reader = Reader::new(limits, f);
    reader.start = Some(start);
    reader.read_all(inputs);
}

/// Reads one input held in memory (a message, JSON draft or mbox, told
/// apart by content, as for files), calling `f` for each message or error.
pub fn read_bytes(source: &str, bytes: &[u8], limits: &Limits, f: &mut dyn FnMut(Item)) {
    Reader::new(limits, f).read_stream(source, bytes);
}

/// Why [`parse_message`] found no message to check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// Refused before parsing (empty, too large, not a message, ...): the
    /// reader's one-line reason.
    #[error("{0}")]
    Unreadable(String),
    #[error("several messages where one was expected")]
    Several,
}

/// Parses one message handed over whole (by a mail client or git), with the
/// same sniffing and limits as a file: an mbox `From ` line in front is
/// fine, several messages are not one message to send.
pub fn parse_message(bytes: &[u8], limits: &Limits) -> Result<Message, MessageError> {
    let mut items = Vec::new();
    read_bytes("message", bytes, limits, &mut |item| items.push(item));
    let mut items = items.into_iter();
    match (items.next(), items.next()) {
        (Some(Item::Message(mut raw)), None) => Ok(raw.parse()?),
        (Some(Item::Error { error, .. }), _) => Err(MessageError::Unreadable(error)),
        (None, _) => Err(MessageError::Unreadable("empty file".into())),
        (Some(Item::Message(_)), Some(_)) => Err(MessageError::Several),
    }
}

/// Reading state shared by every input of a run.
struct Reader<'a> {
    limits: &'a Limits,
    f: &'a mut dyn FnMut(Item),
    start: Option<&'a mut dyn FnMut(&FileStamp) -> Start>,
    /// The regular file being read.
    file: Option<Arc<FileStamp>>,
}

impl<'a> Reader<'a> {
    fn new(limits: &'a Limits, f: &'a mut dyn FnMut(Item)) -> Self {
        Reader {
            limits,
            f,
            start: None,
            file: None,
        }
    }
}

impl Reader<'_> {
    fn read_all(&mut self, inputs: &[Input]) {
        for input in inputs {
            match input {
                Input::Stdin => self.read_stream("-", io::stdin().lock()),
                Input::Path(path) => self.read_path(path, true),
            }
        }
    }

    fn emit(&mut self, item: Item) {
        (self.f)(item);
    }

    fn read_path(&mut self, path: &Path, explicit: bool) {
        let source = path.display().to_string();
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) => return self.emit(Item::error(source, io_error(&e))),
        };
        if meta.is_dir() {
            // Inside a directory, one met here is a symlink to a directory:
            // not followed, as such links can form cycles.
            if explicit {
                self.walk_dir(path);
            }
            return;
        }
        // Inside a directory only regular files are messages; named explicitly,
        // a pipe or device is read too (`maillint check /dev/stdin`).
        if !explicit && !meta.is_file() {
            return;
        }
        // Files are stamped only for a caller that remembers what it read.
        let mut start = Start::Whole;
        if let Some(ask) = &mut self.start
            && meta.is_file()
        {
            let stamp = FileStamp {
                path: path.to_path_buf(),
                size: meta.len(),
                modified: meta.modified().ok(),
            };
            start = ask(&stamp);
            if start == Start::Skip {
                return;
            }
            self.file = Some(Arc::new(stamp));
        }
        self.read_file(path, &source, start);
        self.file = None;
    }

    /// A file found in a directory. When the listing already says it is a
    /// regular file and nobody asks for its size and time, it is opened
    /// straight away: in a directory of small messages, a `stat` per file
    /// is a good part of the time.
    fn read_entry(&mut self, path: &Path, file_type: Option<std::fs::FileType>) {
        if self.start.is_none() && file_type.is_some_and(|t| t.is_file()) {
            // The name as `display` writes it, without the formatting
            // machinery (1,500 instructions a file).
            self.read_file(path, &path.to_string_lossy(), Start::Whole);
        } else {
            self.read_path(path, false);
        }
    }

    fn read_file(&mut self, path: &Path, source: &str, start: Start) {
        let opened = File::open(path).and_then(|mut file| {
            if let Start::MboxAt(at) = start {
                file.seek(io::SeekFrom::Start(at.offset))?;
            }
            Ok(file)
        });
        match (opened, start) {
            (Ok(file), Start::MboxAt(at)) => self.read_mbox(source, BufReader::new(file), at),
            (Ok(file), _) => self.read_opened(source, file),
            (Err(e), _) => self.emit(Item::error(source, io_error(&e))),
        }
    }

    /// A file from its start. A regular file no larger than the size limit
    /// is read in one go, into a buffer of its size: most are one message,
    /// which is then not grown and copied 8 KB at a time, nor searched for
    /// the next `From ` line a buffer at a time (45 M instructions over the
    /// public real mail). Memory stays bounded by the size limit.
    fn read_opened(&mut self, source: &str, mut file: File) {
        let size = file
            .metadata()
            .ok()
            .filter(std::fs::Metadata::is_file)
            .map(|meta| meta.len())
            .filter(|&len| len <= self.limits.max_message_size);
        let Some(size) = size else {
            return self.read_stream(source, BufReader::new(file));
        };
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0).saturating_add(1));
        match (&mut file)
            .take(size.saturating_add(1))
            .read_to_end(&mut bytes)
        {
            Err(e) => self.emit(Item::error(source, io_error(&e))),
            // Grown since its size was looked at: read on as a stream.
            Ok(_) if bytes.len() as u64 > size => {
                self.read_stream(source, io::Cursor::new(bytes).chain(BufReader::new(file)));
            }
            Ok(_) => self.read_whole(source, bytes),
        }
    }

    /// A directory: a Maildir's `cur/` and `new/` (and its Maildir++ `.folders`),
    /// otherwise every file below it that is not hidden, in name order.
    fn walk_dir(&mut self, dir: &Path) {
        let is_maildir = dir.join("cur").is_dir() && dir.join("new").is_dir();
        let Some(entries) = self.sorted_entries(dir) else {
            return;
        };
        for entry in entries {
            let name = entry.name.to_string_lossy();
            let path = &entry.path;
            // The listing's type is the entry's own, not its target's:
            // symlinked directories are not walked (see `read_path`).
            let is_dir = entry.file_type.is_some_and(|t| t.is_dir());
            let hidden = name.starts_with('.');
            if is_maildir {
                if is_dir && (name == "cur" || name == "new") {
                    self.read_files_in(path);
                } else if is_dir && hidden && path.join("cur").is_dir() {
                    self.walk_dir(path);
                }
            } else if hidden {
                continue;
            } else if is_dir {
                self.walk_dir(path);
            } else {
                self.read_entry(path, entry.file_type);
            }
        }
    }

    fn read_files_in(&mut self, dir: &Path) {
        for entry in self.sorted_entries(dir).unwrap_or_default() {
            self.read_entry(&entry.path, entry.file_type);
        }
    }

    /// The entries of a directory in name order, or `None` after reporting
    /// why it cannot be listed.
    fn sorted_entries(&mut self, dir: &Path) -> Option<Vec<DirEntry>> {
        match std::fs::read_dir(dir) {
            Ok(rd) => {
                let mut entries: Vec<DirEntry> = rd
                    .filter_map(Result::ok)
                    .map(|e| DirEntry {
                        name: e.file_name(),
                        path: e.path(),
                        file_type: e.file_type().ok(),
                    })
                    .collect();
                // Sorted by name, as the paths would sort (they share the
                // directory): comparing whole paths parses them into
                // components again on every comparison.
                entries.sort_unstable_by(|a, b| a.name.cmp(&b.name));
                Some(entries)
            }
            Err(e) => {
                self.emit(Item::error(dir.display().to_string(), io_error(&e)));
                None
            }
        }
    }

    fn read_stream(&mut self, source: &str, mut reader: impl BufRead) {
        // Read the head whole: a pipe may deliver it a few bytes at a time.
        let mut head = Vec::with_capacity(SNIFF_LEN);
        if let Err(e) = reader
            .by_ref()
            .take(SNIFF_LEN as u64)
            .read_to_end(&mut head)
        {
            return self.emit(Item::error(source, io_error(&e)));
        }
        // A head shorter than asked for is the whole input: reading on
        // would only meet its end again (a system call per file).
        if head.len() < SNIFF_LEN {
            return self.read_whole(source, head);
        }
        let kind = match sniff(&head) {
            Ok(kind) => kind,
            Err(reason) => return self.emit(Item::error(source, reason)),
        };
        if kind == Kind::Mbox {
            let start = MboxPosition::default();
            return self.read_mbox(source, io::Cursor::new(head).chain(reader), start);
        }
        let max = self.limits.max_message_size;
        let mut bytes = head;
        let rest = max.saturating_add(1).saturating_sub(bytes.len() as u64);
        if let Err(e) = reader.take(rest).read_to_end(&mut bytes) {
            return self.emit(Item::error(source, io_error(&e)));
        }
        self.emit_message(source, kind, bytes);
    }

    /// An input read whole: its head tells what it is, as a stream's does.
    fn read_whole(&mut self, source: &str, bytes: Vec<u8>) {
        let head = bytes.get(..SNIFF_LEN).unwrap_or(&bytes);
        let kind = match sniff(head) {
            Ok(kind) => kind,
            Err(reason) => return self.emit(Item::error(source, reason)),
        };
        if kind == Kind::Mbox {
            return self.read_mbox(source, io::Cursor::new(bytes), MboxPosition::default());
        }
        self.emit_message(source, kind, bytes);
    }

    /// One message read from a file or stream that is not an mbox.
    fn emit_message(&mut self, source: &str, kind: Kind, bytes: Vec<u8>) {
        let max = self.limits.max_message_size;
        if bytes.len() as u64 > max {
            return self.emit(Item::error(source, too_large(max)));
        }
        self.emit(Item::Message(RawMessage {
            source: source.to_string(),
            index: 0,
            first_line: 1,
            in_mbox: false,
            is_json_draft: kind == Kind::JsonDraft,
            bytes,
            file: self.file.clone(),
            mbox_end: None,
        }));
    }

    /// Splits an mbox into messages while reading it, so memory is bounded
    /// by the size limit, not the file: one message and one line are held
    /// at a time, each at most `max_message_size`. Hand-written rather
    /// than mail-parser's mbox iterator because findings must point at
    /// lines of the mbox file, which needs the line each message starts on.
    ///
    /// A `From ` line starts a message at the top of the file or after a
    /// blank line; `>From ` quoting (mboxrd) is undone.
    ///
    /// Lines are found in the reader's buffer and copied into the message
    /// a run at a time: only the lines that start a message, quote a
    /// `From ` or span two buffers are looked at one by one
    /// ([`MboxSplit::line`]).
    fn read_mbox(&mut self, source: &str, mut reader: impl BufRead, from: MboxPosition) {
        let max = self.limits.max_message_size;
        let cap = usize::try_from(max.saturating_add(1)).unwrap_or(usize::MAX);
        let mut split = MboxSplit {
            current: None,
            oversized: false,
            index: from.messages,
            line_no: from.line,
            offset: from.offset,
            previous_blank: true,
            max,
        };
        // A line that continues past the end of the buffer: at most `cap`
        // bytes of it, and its length in the file.
        let mut partial: Vec<u8> = Vec::new();
        let mut partial_len = 0;
        loop {
            let buf = match reader.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let end = split.end();
                    self.finish_mbox_message(source, split.current.take(), split.oversized, end);
                    return self.emit(Item::error(source, io_error(&e)));
                }
            };
            if buf.is_empty() {
                if partial_len > 0 {
                    split.line(self, source, &partial, partial_len);
                }
                let end = split.end();
                self.finish_mbox_message(source, split.current.take(), split.oversized, end);
                return;
            }
            let mut start = 0;
            if partial_len > 0 {
                let Some(newline) = memchr::memchr(b'\n', buf) else {
                    keep_capped(&mut partial, buf, cap);
                    partial_len += buf.len();
                    let read = buf.len();
                    reader.consume(read);
                    continue;
                };
                start = newline + 1;
                keep_capped(&mut partial, &buf[..start], cap);
                split.line(self, source, &partial, partial_len + start);
                partial.clear();
            }
            // The complete lines in the buffer.
            let mut end = memchr::memrchr(b'\n', &buf[start..]).map_or(start, |i| start + i + 1);
            if split.line_no == 0 && start < end {
                // The file's first line, which may start with a byte order mark.
                let first = memchr::memchr(b'\n', &buf[start..]).map_or(end, |i| start + i + 1);
                let line = &buf[start..first];
                split.line(self, source, &line[..line.len().min(cap)], line.len());
                start = first;
            }
            end = end.max(start);
            split.lines(self, source, &buf[start..end], cap);
            keep_capped(&mut partial, &buf[end..], cap);
            partial_len = buf.len() - end;
            let read = buf.len();
            reader.consume(read);
        }
    }

    /// Emits the message read so far, which ends at `end` (one more message
    /// than the ones before it); returns whether there was one.
    fn finish_mbox_message(
        &mut self,
        source: &str,
        current: Option<(usize, Vec<u8>)>,
        oversized: bool,
        end: MboxPosition,
    ) -> bool {
        let Some((first_line, bytes)) = current else {
            return false;
        };
        let index = end.messages - 1;
        let item = if oversized {
            Item::located_error(
                mbox_origin(source, index, first_line - 1),
                too_large(self.limits.max_message_size),
            )
        } else {
            Item::Message(RawMessage {
                source: source.to_string(),
                index,
                first_line,
                in_mbox: true,
                is_json_draft: false,
                bytes,
                file: self.file.clone(),
                mbox_end: Some(end),
            })
        };
        self.emit(item);
        true
    }
}

fn io_error(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or directory".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => format!("cannot read: {e}"),
    }
}

fn too_large(max: u64) -> String {
    format!(
        "message larger than the {} limit ([input] max_message_size); not checked",
        format_size(max)
    )
}

/// A directory's entry, with its type as the listing gives it (usually
/// without a `stat`; not following symlinks).
struct DirEntry {
    name: std::ffi::OsString,
    path: PathBuf,
    file_type: Option<std::fs::FileType>,
}

/// Where the splitting of an mbox stands (see [`Reader::read_mbox`]).
struct MboxSplit {
    /// The message being read: its first line in the file and its bytes.
    current: Option<(usize, Vec<u8>)>,
    /// The message being read is over the size limit; its bytes are dropped.
    oversized: bool,
    /// Messages before the one being read.
    index: usize,
    /// Lines and bytes of the file before the line being read.
    line_no: usize,
    offset: u64,
    previous_blank: bool,
    max: u64,
}

impl MboxSplit {
    /// The position before the line being read.
    fn end(&self) -> MboxPosition {
        MboxPosition {
            offset: self.offset,
            line: self.line_no,
            messages: self.index + 1,
        }
    }

    /// Takes complete lines of the file, after its first. Only a line with
    /// `From ` at its start (after any `>`) can start a message or need
    /// unquoting: those are found with one search and taken one by one
    /// ([`line`](Self::line)); the runs of lines between them go into the
    /// message whole.
    fn lines(&mut self, reader: &mut Reader<'_>, source: &str, lines: &[u8], cap: usize) {
        // `lines[..taken]` is counted in the position; `lines[..run]` is
        // in the message too.
        let mut taken = 0;
        let mut run = 0;
        // Built once: setting a searcher up cost more than searching a
        // small file's lines with it.
        static FROM: LazyLock<memchr::memmem::Finder<'static>> =
            LazyLock::new(|| memchr::memmem::Finder::new(b"From "));
        for from in FROM.find_iter(lines) {
            let quotes = lines[..from]
                .iter()
                .rev()
                .take_while(|&&b| b == b'>')
                .count();
            let start = from - quotes;
            if start < taken || (start > 0 && lines[start - 1] != b'\n') {
                continue;
            }
            if quotes == 0 && !self.blank_before(&lines[taken..start]) {
                continue;
            }
            let end = memchr::memchr(b'\n', &lines[from..]).map_or(lines.len(), |i| from + i + 1);
            self.pass_over(&lines[taken..start]);
            self.append(&lines[run..start]);
            let line = &lines[start..end];
            self.line(reader, source, &line[..line.len().min(cap)], line.len());
            taken = end;
            run = end;
        }
        self.pass_over(&lines[taken..]);
        self.append(&lines[run..]);
    }

    /// Whether the line before the complete `lines` not yet taken, or
    /// before them the last line taken, is blank.
    fn blank_before(&self, lines: &[u8]) -> bool {
        match lines.split_last() {
            None => self.previous_blank,
            Some((_, rest)) => {
                let last = memchr::memrchr(b'\n', rest).map_or(0, |i| i + 1);
                is_blank(&lines[last..])
            }
        }
    }

    /// Counts complete lines that start no message and quote no `From `
    /// into the position.
    fn pass_over(&mut self, lines: &[u8]) {
        if lines.is_empty() {
            return;
        }
        self.previous_blank = self.blank_before(lines);
        self.line_no += memchr::memchr_iter(b'\n', lines).count();
        self.offset += lines.len() as u64;
    }

    /// Takes one line of the file: `line` is at most the size limit and
    /// one byte of it, `len` its length in the file.
    fn line(&mut self, reader: &mut Reader<'_>, source: &str, line: &[u8], len: usize) {
        let end = self.end();
        self.offset += len as u64;
        self.line_no += 1;
        let line = match line.strip_prefix(b"\xEF\xBB\xBF") {
            Some(rest) if self.line_no == 1 => rest,
            _ => line,
        };
        if self.previous_blank && line.starts_with(b"From ") {
            if reader.finish_mbox_message(source, self.current.take(), self.oversized, end) {
                self.index += 1;
            }
            self.current = Some((self.line_no + 1, Vec::new()));
            self.oversized = false;
            self.previous_blank = false;
            return;
        }
        self.previous_blank = is_blank(line);
        self.append(if is_quoted_from(line) {
            &line[1..]
        } else {
            line
        });
    }

    /// Appends lines to the message being read, if any, dropping it once it
    /// is over the size limit.
    fn append(&mut self, lines: &[u8]) {
        if let Some((_, bytes)) = &mut self.current
            && !self.oversized
        {
            bytes.extend_from_slice(lines);
            if bytes.len() as u64 > self.max {
                self.oversized = true;
                *bytes = Vec::new();
            }
        }
    }
}

/// `>From `, `>>From `, ...: a line of the message that mboxrd quoted.
fn is_quoted_from(line: &[u8]) -> bool {
    line.first() == Some(&b'>')
        && line
            .iter()
            .position(|&b| b != b'>')
            .is_some_and(|i| line[i..].starts_with(b"From "))
}

fn is_blank(line: &[u8]) -> bool {
    line == b"\n" || line == b"\r\n"
}

/// Appends `bytes` to `kept` as far as `kept` stays within `cap` bytes, so
/// that a file without line breaks cannot fill memory.
fn keep_capped(kept: &mut Vec<u8>, bytes: &[u8], cap: usize) {
    let room = cap.saturating_sub(kept.len());
    kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Mbox,
    JsonDraft,
    Rfc5322,
}

/// What the first bytes say the input is.
fn sniff(head: &[u8]) -> Result<Kind, &'static str> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head.iter().position(|b| !b.is_ascii_whitespace());
    let Some(start) = start else {
        return Err("empty file");
    };
    if head[start] == b'{' {
        return Ok(Kind::JsonDraft);
    }
    // Blank lines before an mbox's first `From ` line are skipped, as
    // mail readers and Perl's Mail::Mbox::MessageParser skip them. Only
    // whole lines: after a lone `\r` the `From ` does not start a line, so
    // the mbox reader would find no message in the file at all.
    if head[start..].starts_with(b"From ")
        && head[..start].iter().all(|&b| b == b'\n' || b == b'\r')
        && (start == 0 || head[start - 1] == b'\n')
    {
        return Ok(Kind::Mbox);
    }
    // Leading blank space is tolerated: pasted messages often have it.
    let first_line = head[start..]
        .split(|&b| b == b'\n')
        .next()
        .unwrap_or_default();
    let name_len = first_line
        .iter()
        .position(|&b| !(b'!'..=b'~').contains(&b) || b == b':')
        .unwrap_or(first_line.len());
    if name_len > 0 && first_line.get(name_len) == Some(&b':') {
        Ok(Kind::Rfc5322)
    } else {
        Err("not an email message: the first line is not a header field")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(bytes: &[u8]) -> Vec<Item> {
        collect_with(bytes, &Limits::default())
    }

    fn collect_with(bytes: &[u8], limits: &Limits) -> Vec<Item> {
        let mut items = Vec::new();
        let mut f = |i| items.push(i);
        Reader::new(limits, &mut f).read_stream("t", BufReader::new(bytes));
        items
    }

    #[test]
    fn parse_message_takes_exactly_one_message() {
        let limits = Limits::default();
        let msg = parse_message(
            b"From a@b Mon Jan  1 00:00:00 2024\nSubject: hi\n\nx\n",
            &limits,
        )
        .unwrap();
        assert_eq!(msg.header_line("Subject"), Some(2));
        assert_eq!(
            parse_message(b"", &limits),
            Err(MessageError::Unreadable("empty file".into()))
        );
        assert!(matches!(
            parse_message(b"\x00\x01 junk", &limits),
            Err(MessageError::Unreadable(_))
        ));
        let two = b"From a@b Mon\nSubject: one\n\nx\n\nFrom a@b Mon\nSubject: two\n\ny\n";
        let several = parse_message(two, &limits).unwrap_err();
        assert_eq!(several, MessageError::Several);
        assert!(several.to_string().contains("several messages"));
        let draft = parse_message(b"{\"to\": 1}", &limits).unwrap_err();
        assert!(
            matches!(draft, MessageError::Parse(ParseError::InvalidDraft(_))),
            "{draft}"
        );
    }

    #[test]
    fn sniffs_kinds() {
        assert_eq!(sniff(b"From a@b Mon\n"), Ok(Kind::Mbox));
        assert_eq!(sniff(b"  {\"to\": []}"), Ok(Kind::JsonDraft));
        assert_eq!(sniff(b"Subject: hi\n\nx"), Ok(Kind::Rfc5322));
        assert_eq!(sniff(b"\xEF\xBB\xBFTo: a@b\r\n"), Ok(Kind::Rfc5322));
        assert_eq!(sniff(b" From: a@b\nTo: c@d\n"), Ok(Kind::Rfc5322));
        assert!(sniff(b"").is_err());
        assert!(sniff(b" \n\n").is_err());
        assert!(sniff(b"\x89PNG\r\n\x1a\n").is_err());
        assert!(sniff(b"hello world: not a header\n").is_err());
    }

    #[test]
    fn mbox_messages_keep_their_file_lines() {
        let mbox = b"From a@b Mon Jan  1 00:00:00 2024\nFrom: a@b\nTo: c@d\n\n>From the start\n\nFrom x@y Mon Jan  1 00:00:00 2024\nFrom: x@y\nSubject: two\n\nbody\n";
        let mut items = collect(mbox);
        assert_eq!(items.len(), 2);
        let Item::Message(raw) = &mut items[1] else {
            panic!("{:?}", items[1]);
        };
        assert_eq!(raw.index, 1);
        assert_eq!(raw.located_source().to_string(), "t (message 2, line 7)");
        assert_eq!(raw.parse().unwrap().header_line("Subject"), Some(9));
        let Item::Message(raw) = &mut items[0] else {
            panic!()
        };
        let message = raw.parse().unwrap();
        assert_eq!(message.header_line("To"), Some(3));
        assert_eq!(message.body[0].text, "From the start\n\n");
    }

    #[test]
    fn blank_lines_before_an_mbox_are_skipped() {
        let mbox = b"\n\nFrom a@b Mon Jan  1 00:00:00 2024\nFrom: a@b\nSubject: one\n\nbody\n";
        assert_eq!(sniff(mbox), Ok(Kind::Mbox));
        let mut items = collect(mbox);
        assert_eq!(items.len(), 1);
        let Item::Message(raw) = &mut items[0] else {
            panic!("{:?}", items[0]);
        };
        assert_eq!(raw.parse().unwrap().header_line("Subject"), Some(5));
    }

    #[test]
    fn a_from_line_after_a_lone_carriage_return_is_no_mbox_and_is_answered() {
        // Each input gets an answer: found by the robustness test, which
        // put a `\r` before an mbox, and the file was checked as empty.
        for input in [
            &b"\rFrom a@b Mon\nFrom: a@b\n\nhi\n"[..],
            b"\n\rFrom a@b Mon\n",
        ] {
            let items = collect(input);
            assert_eq!(items.len(), 1, "{items:?}");
            assert!(
                matches!(&items[0], Item::Error { error, .. } if error.contains("not an email message")),
                "{:?}",
                items[0]
            );
        }
        assert_eq!(sniff(b"\r\nFrom a@b Mon\n"), Ok(Kind::Mbox));
    }

    #[test]
    fn from_inside_a_paragraph_does_not_split() {
        let mbox = b"From a@b Mon\nFrom: a@b\n\nline\nFrom here on\n";
        assert_eq!(collect(mbox).len(), 1);
    }

    /// A reader that counts what has been taken from it.
    struct Counting<'a> {
        inner: &'a [u8],
        read: std::rc::Rc<std::cell::Cell<usize>>,
    }

    impl Read for Counting<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.read.set(self.read.get() + n);
            Ok(n)
        }
    }

    #[test]
    fn mbox_messages_are_handed_over_while_the_file_is_still_being_read() {
        let mut mbox = Vec::new();
        for i in 0..2000 {
            mbox.extend(format!("From a@b Mon\nFrom: a@b\nSubject: {i}\n\nbody {i}\n\n").bytes());
        }
        let read = std::rc::Rc::new(std::cell::Cell::new(0));
        let reader = BufReader::new(Counting {
            inner: &mbox,
            read: read.clone(),
        });
        // How much of the file had been read when each message arrived.
        let mut read_at = Vec::new();
        let mut f = |item| {
            assert!(matches!(item, Item::Message(_)));
            read_at.push(read.get());
        };
        Reader::new(&Limits::default(), &mut f).read_stream("t", reader);
        assert_eq!(read_at.len(), 2000);
        assert!(read_at[0] < 16 * 1024, "{}", read_at[0]);
        assert!(read_at[1000] < mbox.len() * 6 / 10, "{}", read_at[1000]);
    }

    #[test]
    fn a_line_is_kept_only_up_to_the_cap() {
        let mut partial = Vec::new();
        keep_capped(&mut partial, &[b'a'; 60], 100);
        keep_capped(&mut partial, &[b'b'; 60], 100);
        assert_eq!(partial.len(), 100);
        assert_eq!(partial[99], b'b');
        // In an mbox, a line longer than the limit refuses its message
        // only, and is not held whole.
        let limits = Limits {
            max_message_size: 100,
        };
        let mut mbox = b"From a\nFrom: a@b\n\n".to_vec();
        mbox.extend(vec![b'a'; 1 << 20]);
        mbox.extend(b"\n\nFrom b\nFrom: b@b\n\nok\n");
        let items = collect_with(&mbox, &limits);
        assert!(matches!(&items[0], Item::Error { .. }), "{items:?}");
        assert!(
            matches!(&items[1], Item::Message(raw) if raw.bytes == b"From: b@b\n\nok\n"),
            "{items:?}"
        );
    }

    /// What [`Reader::read_mbox`] gives, one line per item.
    fn describe(item: &Item) -> String {
        match item {
            Item::Message(raw) => format!(
                "{} {} {:?} {:?}",
                raw.index,
                raw.first_line,
                raw.mbox_end,
                String::from_utf8_lossy(&raw.bytes)
            ),
            Item::Error { source, error } => format!("{source}: {error}"),
        }
    }

    #[test]
    fn a_file_read_whole_gives_what_its_stream_gives() {
        let long = "a line of text\n".repeat(SNIFF_LEN / 10);
        let inputs = [
            format!("From a@b Mon\nFrom: a@b\nSubject: one\n\n{long}>From x\n"),
            format!("From a@b Mon\nSubject: one\n\n{long}\nFrom c@d Tue\nSubject: two\n\nx\n"),
            format!("From: a@b\nSubject: one\n\n{long}"),
            "From: a@b\nSubject: short\n\nx\n".to_string(),
            "\n\nFrom a@b Mon\nSubject: after blank lines\n\nx\n".to_string(),
            r#"{"to": ["a@b"]}"#.to_string(),
            format!("not a message {long}"),
            String::new(),
        ];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m");
        for max in [40, SNIFF_LEN as u64, DEFAULT_MAX_MESSAGE_SIZE] {
            let limits = Limits {
                max_message_size: max,
            };
            for input in &inputs {
                std::fs::write(&path, input).unwrap();
                let mut whole = Vec::new();
                let mut f = |i| whole.push(i);
                Reader::new(&limits, &mut f).read_file(&path, "t", Start::Whole);
                let mut streamed = Vec::new();
                let mut f = |i| streamed.push(i);
                Reader::new(&limits, &mut f)
                    .read_stream("t", BufReader::with_capacity(7, input.as_bytes()));
                let described = |items: &[Item]| -> Vec<String> {
                    items
                        .iter()
                        .map(|item| match item {
                            Item::Message(raw) => {
                                format!("{} {} {}", raw.in_mbox, raw.is_json_draft, describe(item))
                            }
                            Item::Error { .. } => describe(item),
                        })
                        .collect()
                };
                assert_eq!(
                    described(&whole),
                    described(&streamed),
                    "{max} {input:.60?}"
                );
            }
        }
    }

    fn mbox_items(mbox: &[u8], capacity: usize, limits: &Limits) -> Vec<String> {
        let mut items = Vec::new();
        let mut f = |i| items.push(i);
        Reader::new(limits, &mut f).read_mbox(
            "t",
            BufReader::with_capacity(capacity, mbox),
            MboxPosition::default(),
        );
        items.iter().map(describe).collect()
    }

    /// The splitting rules applied one line at a time, as written out in
    /// [`Reader::read_mbox`]'s comment, to check its runs against.
    fn mbox_items_line_by_line(mbox: &[u8], max: u64) -> Vec<String> {
        let mut items = Vec::new();
        let mut current: Option<(usize, Vec<u8>)> = None;
        let (mut oversized, mut index, mut line_no, mut offset) = (false, 0, 0, 0);
        let mut previous_blank = true;
        let mut finish = |current: Option<(usize, Vec<u8>)>, oversized: bool, end: MboxPosition| {
            let Some((first_line, bytes)) = current else {
                return false;
            };
            let index = end.messages - 1;
            items.push(if oversized {
                format!(
                    "{}: {}",
                    mbox_origin("t", index, first_line - 1),
                    too_large(max)
                )
            } else {
                format!(
                    "{index} {first_line} {:?} {:?}",
                    Some(end),
                    String::from_utf8_lossy(&bytes)
                )
            });
            true
        };
        for line in mbox.split_inclusive(|&b| b == b'\n') {
            let end = MboxPosition {
                offset,
                line: line_no,
                messages: index + 1,
            };
            offset += line.len() as u64;
            line_no += 1;
            let mut line = &line[..line.len().min(max as usize + 1)];
            if line_no == 1 {
                line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
            }
            if previous_blank && line.starts_with(b"From ") {
                if finish(current.take(), oversized, end) {
                    index += 1;
                }
                current = Some((line_no + 1, Vec::new()));
                oversized = false;
                previous_blank = false;
                continue;
            }
            previous_blank = line == b"\n" || line == b"\r\n";
            if let Some((_, bytes)) = &mut current
                && !oversized
            {
                let quotes = line.iter().take_while(|&&b| b == b'>').count();
                let quoted = quotes > 0 && line[quotes..].starts_with(b"From ");
                bytes.extend_from_slice(if quoted { &line[1..] } else { line });
                if bytes.len() as u64 > max {
                    oversized = true;
                    *bytes = Vec::new();
                }
            }
        }
        let end = MboxPosition {
            offset,
            line: line_no,
            messages: index + 1,
        };
        finish(current.take(), oversized, end);
        items
    }

    /// However the reader's buffer cuts the file, the messages, their
    /// lines and where each ends are the same.
    #[test]
    fn mbox_splitting_does_not_depend_on_the_buffer() {
        let mbox: &[u8] = b"\xEF\xBB\xBFFrom a@b Mon\r\nFrom: a@b\r\n\r\nhi\r\n>From here\r\n\r\nFrom b@b Tue\nFrom: b@b\n\nbody\nFrom inside\n>>From twice\nsaid >From and From x\n\n\nFrom c@b\nFrom: c@b\n\nlast";
        for max in [DEFAULT_MAX_MESSAGE_SIZE, 30] {
            let limits = Limits {
                max_message_size: max,
            };
            let whole = mbox_items(mbox, mbox.len(), &limits);
            assert_eq!(whole, mbox_items_line_by_line(mbox, max));
            assert_eq!(whole.len(), 3, "{whole:?}");
            for capacity in 1..mbox.len() {
                assert_eq!(
                    mbox_items(mbox, capacity, &limits),
                    whole,
                    "buffer of {capacity}"
                );
            }
        }
        let whole = mbox_items(mbox, mbox.len(), &Limits::default());
        assert!(
            whole[0].ends_with(r#""From: a@b\r\n\r\nhi\r\nFrom here\r\n\r\n""#),
            "{whole:?}"
        );
        assert!(
            whole[1].ends_with(
                r#""From: b@b\n\nbody\nFrom inside\n>From twice\nsaid >From and From x\n\n\n""#
            ),
            "{whole:?}"
        );
        assert!(whole[2].ends_with(r#""From: c@b\n\nlast""#), "{whole:?}");
    }

    proptest::proptest! {
        /// Any mix of the lines that matter, read through any buffer, is
        /// split as the rules say line by line.
        #[test]
        fn mbox_splitting_follows_the_rules_line_by_line(
            lines in proptest::collection::vec(
                proptest::sample::select(vec![
                    "From a@b Mon\n", "From a@b\r\n", "\n", "\r\n", " \n", ">From x\n",
                    ">>From x\n", "> From x\n", "x>From y\n", "From: a@b\n", "text\n",
                    "From From \n", "\u{FEFF}From x\n", "From x", "a long line of text\n",
                ]),
                0..24,
            ),
            capacity in 1usize..40,
            max in proptest::sample::select(vec![1u64, 8, 40, DEFAULT_MAX_MESSAGE_SIZE]),
        ) {
            let mbox = lines.concat();
            let limits = Limits { max_message_size: max };
            proptest::prop_assert_eq!(
                mbox_items(mbox.as_bytes(), capacity, &limits),
                mbox_items_line_by_line(mbox.as_bytes(), max)
            );
        }
    }

    #[test]
    fn the_size_limit_is_configurable_and_names_itself() {
        let limits = Limits {
            max_message_size: 64,
        };
        let small = b"From: a@b\n\nhi\n";
        assert!(matches!(collect_with(small, &limits)[0], Item::Message(_)));
        let big = [&small[..], &[b'x'; 64]].concat();
        let Item::Error { error, .. } = &collect_with(&big, &limits)[0] else {
            panic!("not refused");
        };
        assert_eq!(
            error,
            "message larger than the 64 bytes limit ([input] max_message_size); not checked"
        );
        // In an mbox the limit applies to each message, and the next is read.
        let mbox = [&b"From x\n"[..], &big, b"\n\nFrom y\nFrom: y@b\n\nok\n"].concat();
        let items = collect_with(&mbox, &limits);
        assert!(
            matches!(&items[0], Item::Error { source, .. } if source.to_string() == "t (message 1, line 1)")
        );
        assert!(matches!(&items[1], Item::Message(raw) if raw.index == 1));
    }

    #[test]
    fn symlinked_directories_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let inbox = dir.path().join("inbox");
        std::fs::create_dir(&inbox).unwrap();
        std::fs::write(inbox.join("a.eml"), "From: a@b\n\nhi\n").unwrap();
        std::os::unix::fs::symlink(&inbox, inbox.join("loop")).unwrap();
        std::os::unix::fs::symlink(inbox.join("a.eml"), inbox.join("b.eml")).unwrap();
        let mut sources = Vec::new();
        let mut f = |item| match item {
            Item::Message(raw) => sources.push(raw.source),
            Item::Error { error, .. } => panic!("{error}"),
        };
        read_inputs(&[Input::Path(inbox.clone())], &Limits::default(), &mut f);
        let shown = |name: &str| inbox.join(name).display().to_string();
        // A symlinked file is read; the link back to the directory is not
        // walked (it was, forty levels deep).
        assert_eq!(sources, [shown("a.eml"), shown("b.eml")]);
        // Named on the command line, a symlinked directory is walked.
        sources = Vec::new();
        let mut f = |item| match item {
            Item::Message(raw) => sources.push(raw.source),
            Item::Error { error, .. } => panic!("{error}"),
        };
        read_inputs(
            &[Input::Path(inbox.join("loop"))],
            &Limits::default(),
            &mut f,
        );
        assert_eq!(sources.len(), 2, "{sources:?}");
    }

    #[test]
    fn sizes_are_shown_in_round_units() {
        assert_eq!(format_size(DEFAULT_MAX_MESSAGE_SIZE), "100 MB");
        assert_eq!(format_size(2 << 30), "2 GB");
        assert_eq!(format_size(1536), "1536 bytes");
        assert_eq!(format_size(512 * 1024), "512 KB");
    }

    #[test]
    fn a_byte_order_mark_before_an_mbox() {
        let items = collect(b"\xEF\xBB\xBFFrom a@b Mon\nFrom: a@b\n\nhi\n");
        assert!(matches!(items[..], [Item::Message(_)]), "{items:?}");
    }

    /// A pipe may hand over the first bytes one at a time.
    #[test]
    fn sniffing_does_not_depend_on_how_the_input_arrives() {
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = buf.len().min(self.0.len()).min(1);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mbox = b"From a@b Mon\nFrom: a@b\n\nhi\n";
        let mut items = Vec::new();
        let mut f = |i| items.push(i);
        Reader::new(&Limits::default(), &mut f)
            .read_stream("t", BufReader::with_capacity(1, Trickle(mbox)));
        assert!(matches!(items[..], [Item::Message(_)]), "{items:?}");
    }
}
