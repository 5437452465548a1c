//! Reading what the user points maillint at: files, standard input,
//! directories, Maildirs and mbox files, each recognised by its content.

use crate::message::{Message, parse_json_draft, parse_rfc5322};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// Messages larger than this are refused rather than read into memory.
pub const MAX_MESSAGE_SIZE: u64 = 100 * 1024 * 1024;

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

/// One message read, or the reason a source could not be read.
#[derive(Debug)]
pub enum Item {
    Message {
        /// The file (or `-`) the message came from.
        source: String,
        /// Position of the message within its source (mbox), from 0.
        index: usize,
        message: Box<Message>,
    },
    Error {
        source: String,
        error: String,
    },
}

/// Reads every input in order, calling `f` for each message or error.
/// Directories are walked in a stable (sorted) order.
pub fn read_inputs(inputs: &[Input], f: &mut dyn FnMut(Item)) {
    for input in inputs {
        match input {
            Input::Stdin => read_stream("-", io::stdin().lock(), f),
            Input::Path(path) => read_path(path, true, f),
        }
    }
}

fn read_path(path: &Path, explicit: bool, f: &mut dyn FnMut(Item)) {
    let source = path.display().to_string();
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            return f(Item::Error {
                source,
                error: io_error(&e),
            });
        }
    };
    if meta.is_dir() {
        return walk_dir(path, f);
    }
    // Inside a directory only regular files are messages; named explicitly,
    // a pipe or device is read too (`maillint check /dev/stdin`).
    if !explicit && !meta.is_file() {
        return;
    }
    match File::open(path) {
        Ok(file) => read_stream(&source, BufReader::new(file), f),
        Err(e) => f(Item::Error {
            source,
            error: io_error(&e),
        }),
    }
}

fn io_error(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or directory".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => format!("cannot read: {e}"),
    }
}

/// A directory: a Maildir's `cur/` and `new/` (and its Maildir++ `.folders`),
/// otherwise every file below it that is not hidden, in name order.
fn walk_dir(dir: &Path, f: &mut dyn FnMut(Item)) {
    let is_maildir = dir.join("cur").is_dir() && dir.join("new").is_dir();
    let mut entries = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect::<Vec<_>>(),
        Err(e) => {
            return f(Item::Error {
                source: dir.display().to_string(),
                error: io_error(&e),
            });
        }
    };
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // Symlinked directories are not followed: they can form cycles.
        let is_dir = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
        let hidden = name.starts_with('.');
        if is_maildir {
            if is_dir && (name == "cur" || name == "new") {
                read_files_in(&path, f);
            } else if is_dir && hidden && path.join("cur").is_dir() {
                walk_dir(&path, f);
            }
        } else if hidden {
            continue;
        } else if is_dir {
            walk_dir(&path, f);
        } else {
            read_path(&path, false, f);
        }
    }
}

fn read_files_in(dir: &Path, f: &mut dyn FnMut(Item)) {
    let mut files = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect::<Vec<_>>(),
        Err(e) => {
            return f(Item::Error {
                source: dir.display().to_string(),
                error: io_error(&e),
            });
        }
    };
    files.sort();
    for path in files {
        read_path(&path, false, f);
    }
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
    if head.starts_with(b"From ") {
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

fn read_stream(source: &str, mut reader: impl BufRead, f: &mut dyn FnMut(Item)) {
    let error = |error: String| Item::Error {
        source: source.to_string(),
        error,
    };
    let head = match reader.fill_buf() {
        Ok(buf) => buf[..buf.len().min(SNIFF_LEN)].to_vec(),
        Err(e) => return f(error(io_error(&e))),
    };
    let kind = match sniff(&head) {
        Ok(kind) => kind,
        Err(reason) => return f(error(reason.to_string())),
    };
    if kind == Kind::Mbox {
        return read_mbox(source, reader, f);
    }
    let mut bytes = Vec::new();
    if let Err(e) = reader.take(MAX_MESSAGE_SIZE + 1).read_to_end(&mut bytes) {
        return f(error(io_error(&e)));
    }
    if bytes.len() as u64 > MAX_MESSAGE_SIZE {
        return f(error(too_large()));
    }
    let parsed = match kind {
        Kind::JsonDraft => parse_json_draft(&bytes),
        _ => parse_rfc5322(&bytes, 1).ok_or_else(|| "not an email message".to_string()),
    };
    f(match parsed {
        Ok(message) => Item::Message {
            source: source.to_string(),
            index: 0,
            message: Box::new(message),
        },
        Err(e) => error(e),
    })
}

/// Parses one RFC 5322 message handed over whole (by a mail client or git),
/// tolerating an mbox `From ` line in front of it.
pub fn parse_message(bytes: &[u8]) -> Result<Message, String> {
    if bytes.len() as u64 > MAX_MESSAGE_SIZE {
        return Err(too_large());
    }
    match sniff(&bytes[..bytes.len().min(SNIFF_LEN)]) {
        Ok(Kind::Rfc5322) => parse_rfc5322(bytes, 1),
        Ok(Kind::Mbox) => {
            let body = memchr::memchr(b'\n', bytes).map_or(&[][..], |i| &bytes[i + 1..]);
            parse_rfc5322(body, 2)
        }
        Ok(Kind::JsonDraft) => None,
        Err(reason) => return Err(reason.to_string()),
    }
    .ok_or_else(|| "not an email message".to_string())
}

fn too_large() -> String {
    format!(
        "message larger than {} MB; not checked",
        MAX_MESSAGE_SIZE / (1024 * 1024)
    )
}

/// Splits an mbox into messages while reading it, so memory is bounded by
/// the largest message, not the file. Hand-written rather than
/// mail-parser's mbox iterator because findings must point at lines of the
/// mbox file, which needs the line each message starts on.
///
/// A `From ` line starts a message at the top of the file or after a blank
/// line; `>From ` quoting (mboxrd) is undone.
fn read_mbox(source: &str, mut reader: impl BufRead, f: &mut dyn FnMut(Item)) {
    let mut line_no = 0usize;
    let mut current: Option<(usize, Vec<u8>)> = None;
    let mut oversized = false;
    let mut index = 0usize;
    let mut previous_blank = true;
    let mut line = Vec::new();
    let mut finish = |current: Option<(usize, Vec<u8>)>, oversized: bool, index: &mut usize| {
        let Some((first_line, bytes)) = current else {
            return;
        };
        let item = if oversized {
            Item::Error {
                source: format!("{source} (message {}, line {})", *index + 1, first_line - 1),
                error: too_large(),
            }
        } else {
            match parse_rfc5322(&bytes, first_line) {
                Some(message) => Item::Message {
                    source: source.to_string(),
                    index: *index,
                    message: Box::new(message),
                },
                None => Item::Error {
                    source: format!("{source} (message {}, line {})", *index + 1, first_line - 1),
                    error: "not an email message".into(),
                },
            }
        };
        *index += 1;
        f(item);
    };
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                finish(current.take(), oversized, &mut index);
                return f(Item::Error {
                    source: source.to_string(),
                    error: io_error(&e),
                });
            }
        }
        line_no += 1;
        if previous_blank && line.starts_with(b"From ") {
            finish(current.take(), oversized, &mut index);
            current = Some((line_no + 1, Vec::new()));
            oversized = false;
            previous_blank = false;
            continue;
        }
        previous_blank = line == b"\n" || line == b"\r\n";
        if let Some((_, bytes)) = &mut current {
            if oversized {
                continue;
            }
            let quoted_from = line
                .iter()
                .position(|&b| b != b'>')
                .is_some_and(|i| i > 0 && line[i..].starts_with(b"From "));
            bytes.extend_from_slice(if quoted_from { &line[1..] } else { &line });
            if bytes.len() as u64 > MAX_MESSAGE_SIZE {
                oversized = true;
                *bytes = Vec::new();
            }
        }
    }
    finish(current, oversized, &mut index);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(bytes: &[u8]) -> Vec<Item> {
        let mut items = Vec::new();
        read_stream("t", BufReader::new(bytes), &mut |i| items.push(i));
        items
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
        let items = collect(mbox);
        assert_eq!(items.len(), 2);
        let Item::Message { message, index, .. } = &items[1] else {
            panic!("{:?}", items[1]);
        };
        assert_eq!(*index, 1);
        assert_eq!(message.header_line("Subject"), Some(9));
        let Item::Message { message, .. } = &items[0] else {
            panic!()
        };
        assert_eq!(message.header_line("To"), Some(3));
        assert_eq!(message.body[0].text, "From the start\n\n");
    }

    #[test]
    fn parse_message_accepts_an_mbox_from_line() {
        let msg = parse_message(b"From a@b Mon Jan  1 00:00:00 2024\nSubject: hi\n\nx\n").unwrap();
        assert_eq!(msg.header_line("Subject"), Some(2));
        assert_eq!(parse_message(b"").unwrap_err(), "empty file");
        assert!(parse_message(b"{\"to\": []}").is_err());
    }

    #[test]
    fn from_inside_a_paragraph_does_not_split() {
        let mbox = b"From a@b Mon\nFrom: a@b\n\nline\nFrom here on\n";
        assert_eq!(collect(mbox).len(), 1);
    }
}
