//! The sendmail milter protocol, version 6, as Postfix 3.x and Sendmail
//! 8.14+ speak it: the MTA sends one packet per SMTP event, the filter
//! answers each (unless told not to) and decides at end-of-message.
//!
//! Written here rather than taken from a crate: the Rust milter crates
//! (indymilter, milter) are GPL-3.0-or-later, which maillint (MIT OR
//! Apache-2.0) cannot take, and the protocol is small.
//!
//! A packet is a 4-byte big-endian length (counting the command byte), a
//! command byte and its data; strings are NUL-terminated.

use std::io::{self, Read, Write};

/// The protocol version spoken.
pub const VERSION: u32 = 6;

/// Actions the filter may take (`SMFIF_*`): the ones maillint uses.
pub mod action {
    pub const ADD_HEADERS: u32 = 0x01;
    pub const CHANGE_HEADERS: u32 = 0x10;
    pub const QUARANTINE: u32 = 0x20;
}

/// Protocol flags (`SMFIP_*`) maillint asks for.
pub mod flag {
    /// HELO and DATA are not sent.
    pub const NO_HELO: u32 = 0x02;
    pub const NO_DATA: u32 = 0x200;
    /// The MTA does not wait for an answer to the header events.
    pub const NO_REPLY_HEADER: u32 = 0x80;
    /// Unknown SMTP commands are not sent.
    pub const NO_UNKNOWN: u32 = 0x100;
    /// No answer awaited to connect, HELO, RCPT, DATA, end of headers and
    /// body events.
    pub const NO_REPLY_CONNECT: u32 = 0x1000;
    pub const NO_REPLY_HELO: u32 = 0x2000;
    pub const NO_REPLY_RCPT: u32 = 0x8000;
    pub const NO_REPLY_DATA: u32 = 0x10000;
    pub const NO_REPLY_END_OF_HEADERS: u32 = 0x40000;
    pub const NO_REPLY_BODY: u32 = 0x80000;
    /// Header values come with their leading space, as written.
    pub const HEADER_LEADING_SPACE: u32 = 0x100000;
}

/// One event from the MTA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Option negotiation: the MTA's version, the actions it allows and
    /// the protocol flags it can honour.
    Negotiate {
        version: u32,
        actions: u32,
        flags: u32,
    },
    /// Macros for the event named by `stage` (a command byte).
    Macros {
        stage: u8,
        pairs: Vec<(String, String)>,
    },
    Connect {
        hostname: String,
        /// `4`, `6`, `L` (Unix socket) or `U` (unknown).
        family: u8,
        /// The client's port; 0 when the MTA has none to give (Postfix's
        /// mail submitted on the server itself, `non_smtpd_milters`).
        port: u16,
        address: String,
    },
    Helo(String),
    /// MAIL FROM: the address, then ESMTP arguments.
    Mail(Vec<String>),
    /// RCPT TO: the address, then ESMTP arguments.
    Rcpt(Vec<String>),
    /// A header field; the value keeps its bytes (it may be 8-bit), with
    /// continuation lines separated by line breaks.
    Header {
        name: String,
        value: Vec<u8>,
    },
    EndOfHeaders,
    Body(Vec<u8>),
    /// End of message, with an optional last body chunk.
    EndOfMessage(Vec<u8>),
    /// The current message is abandoned; the connection goes on.
    Abort,
    Quit,
    /// Quit this session; the MTA reuses the connection for a new one.
    QuitNewConnection,
    Data,
    Unknown(Vec<u8>),
}

/// The filter's answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Negotiate {
        version: u32,
        actions: u32,
        flags: u32,
    },
    Continue,
    Accept,
    Reject,
    Tempfail,
    /// A full SMTP reply, `550 5.7.1 text` or multi-line (see [`smtp_reply`]).
    ReplyCode(String),
    /// Put the message in the MTA's hold queue, with a reason.
    Quarantine(String),
    AddHeader {
        name: String,
        value: String,
    },
    /// Replaces the `index`th (from 1) header called `name`; an empty
    /// value removes it.
    ChangeHeader {
        index: u32,
        name: String,
        value: String,
    },
}

/// Why a connection could not go on.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("packet of {0} bytes is over the limit of {1} bytes")]
    TooLarge(u64, u64),
    #[error("empty packet")]
    Empty,
    #[error("connection closed in the middle of a packet")]
    Truncated,
    #[error("malformed {command} packet: {reason}")]
    Malformed {
        command: &'static str,
        reason: &'static str,
    },
    #[error("unknown command byte 0x{0:02x}")]
    UnknownCommand(u8),
    #[error("{0}")]
    Io(#[from] io::Error),
}

impl ProtocolError {
    /// The peer went quiet for longer than the read timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, ProtocolError::Io(e)
            if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut))
    }
}

/// Reads one packet: `Ok(None)` when the MTA closed the connection between
/// packets. A packet longer than `max_len` is refused before it is read,
/// and the buffer grows only as bytes arrive, so a lying length costs
/// nothing.
pub fn read_packet(
    r: &mut impl Read,
    max_len: u64,
) -> Result<Option<(u8, Vec<u8>)>, ProtocolError> {
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match r.read(&mut len[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(ProtocolError::Truncated),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    let len = u64::from(u32::from_be_bytes(len));
    if len == 0 {
        return Err(ProtocolError::Empty);
    }
    if len > max_len {
        return Err(ProtocolError::TooLarge(len, max_len));
    }
    let mut packet = Vec::with_capacity(len.min(64 * 1024) as usize);
    r.take(len).read_to_end(&mut packet)?;
    if (packet.len() as u64) < len {
        return Err(ProtocolError::Truncated);
    }
    let data = packet.split_off(1);
    Ok(Some((packet[0], data)))
}

/// Reads and decodes one command; `Ok(None)` at a clean end of connection.
pub fn read_command(r: &mut impl Read, max_len: u64) -> Result<Option<Command>, ProtocolError> {
    match read_packet(r, max_len)? {
        Some((code, data)) => decode(code, data).map(Some),
        None => Ok(None),
    }
}

/// Decodes a packet's data by its command byte.
pub fn decode(code: u8, data: Vec<u8>) -> Result<Command, ProtocolError> {
    let malformed = |command, reason| ProtocolError::Malformed { command, reason };
    Ok(match code {
        b'O' => {
            let word = |i: usize| {
                data.get(i * 4..i * 4 + 4)
                    .and_then(|b| b.try_into().ok())
                    .map(u32::from_be_bytes)
                    .ok_or(malformed("negotiate", "shorter than 12 bytes"))
            };
            Command::Negotiate {
                version: word(0)?,
                actions: word(1)?,
                flags: word(2)?,
            }
        }
        b'D' => {
            let (&stage, rest) = data
                .split_first()
                .ok_or(malformed("macro", "no event code"))?;
            let strings = strings(rest).ok_or(malformed("macro", "unterminated string"))?;
            if strings.len() % 2 != 0 {
                return Err(malformed("macro", "a name without a value"));
            }
            let pairs = strings
                .chunks_exact(2)
                .map(|pair| (lossy(pair[0]), lossy(pair[1])))
                .collect();
            Command::Macros { stage, pairs }
        }
        b'C' => {
            let end = memchr::memchr(0, &data).ok_or(malformed("connect", "no host name"))?;
            let hostname = lossy(&data[..end]);
            let rest = &data[end + 1..];
            let (&family, rest) = rest
                .split_first()
                .ok_or(malformed("connect", "no address family"))?;
            let (port, address) = if family == b'U' {
                (0, String::new())
            } else {
                // A 2-byte port, then the address.
                let port = rest
                    .get(..2)
                    .and_then(|p| p.try_into().ok())
                    .map(u16::from_be_bytes)
                    .ok_or(malformed("connect", "no port"))?;
                let address = rest
                    .get(2..)
                    .and_then(strings)
                    .ok_or(malformed("connect", "no address"))?;
                (port, address.first().map(|a| lossy(a)).unwrap_or_default())
            };
            Command::Connect {
                hostname,
                family,
                port,
                address,
            }
        }
        b'H' => Command::Helo(first_string(&data).ok_or(malformed("helo", "unterminated"))?),
        b'M' | b'R' => {
            // An empty MAIL address is the null sender, as Postfix passes
            // on mail submitted locally with `sendmail -f ''`; a recipient
            // must have one.
            let args: Vec<String> = strings(&data)
                .filter(|s| s.first().is_some_and(|a| code == b'M' || !a.is_empty()))
                .ok_or(malformed("envelope", "no address"))?
                .into_iter()
                .map(lossy)
                .collect();
            if code == b'M' {
                Command::Mail(args)
            } else {
                Command::Rcpt(args)
            }
        }
        b'L' => {
            let fields = strings(&data).ok_or(malformed("header", "unterminated"))?;
            match fields.as_slice() {
                [name, value] if !name.is_empty() => Command::Header {
                    name: lossy(name),
                    value: value.to_vec(),
                },
                _ => return Err(malformed("header", "not a name and a value")),
            }
        }
        b'N' => Command::EndOfHeaders,
        b'B' => Command::Body(data),
        b'E' => Command::EndOfMessage(data),
        b'A' => Command::Abort,
        b'Q' => Command::Quit,
        b'K' => Command::QuitNewConnection,
        b'T' => Command::Data,
        b'U' => Command::Unknown(data),
        other => return Err(ProtocolError::UnknownCommand(other)),
    })
}

/// NUL-terminated strings filling `data` exactly; `None` when the last is
/// not terminated.
fn strings(data: &[u8]) -> Option<Vec<&[u8]>> {
    if data.is_empty() {
        return Some(Vec::new());
    }
    let body = data.strip_suffix(&[0])?;
    Some(body.split(|&b| b == 0).collect())
}

fn first_string(data: &[u8]) -> Option<String> {
    memchr::memchr(0, data).map(|end| lossy(&data[..end]))
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

impl Reply {
    pub fn encode(&self) -> Vec<u8> {
        let mut data = Vec::new();
        let code = match self {
            Reply::Negotiate {
                version,
                actions,
                flags,
            } => {
                for word in [version, actions, flags] {
                    data.extend_from_slice(&word.to_be_bytes());
                }
                b'O'
            }
            Reply::Continue => b'c',
            Reply::Accept => b'a',
            Reply::Reject => b'r',
            Reply::Tempfail => b't',
            Reply::ReplyCode(text) => {
                push_string(&mut data, text);
                b'y'
            }
            Reply::Quarantine(reason) => {
                push_string(&mut data, reason);
                b'q'
            }
            Reply::AddHeader { name, value } => {
                push_string(&mut data, name);
                push_string(&mut data, value);
                b'h'
            }
            Reply::ChangeHeader { index, name, value } => {
                data.extend_from_slice(&index.to_be_bytes());
                push_string(&mut data, name);
                push_string(&mut data, value);
                b'm'
            }
        };
        let len = u32::try_from(data.len() + 1).unwrap_or(u32::MAX);
        let mut packet = Vec::with_capacity(data.len() + 5);
        packet.extend_from_slice(&len.to_be_bytes());
        packet.push(code);
        packet.extend_from_slice(&data);
        packet
    }

    pub fn write(&self, w: &mut impl Write) -> io::Result<()> {
        w.write_all(&self.encode())
    }
}

/// A string as the protocol carries it: NULs (which would end it early)
/// dropped, then a terminating NUL.
fn push_string(data: &mut Vec<u8>, s: &str) {
    data.extend(s.bytes().filter(|&b| b != 0));
    data.push(0);
}

/// Most lines a reply carries (libmilter allows 32) and the longest line
/// (SMTP allows 512 bytes with the code).
const MAX_REPLY_LINES: usize = 20;
const MAX_REPLY_LINE: usize = 400;

/// An SMTP reply such as `550 5.7.1 text`, in multi-line form when there
/// are several lines (`550-5.7.1 first` ... `550 5.7.1 last`), which the
/// sender's mail client shows. Control characters become spaces, long
/// lines are cut, and `%` is doubled: Sendmail reads the text as a format
/// string, and Postfix turns `%%` back into `%`.
pub fn smtp_reply(code: &str, enhanced: &str, lines: &[String]) -> String {
    let mut cleaned: Vec<String> = lines
        .iter()
        .map(|line| {
            let text: String = line
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            let text = match text.char_indices().nth(MAX_REPLY_LINE) {
                Some((cut, _)) => format!("{}...", &text[..cut]),
                None => text,
            };
            text.replace('%', "%%")
        })
        .collect();
    if cleaned.is_empty() {
        cleaned.push(String::new());
    }
    if cleaned.len() > MAX_REPLY_LINES {
        let more = cleaned.len() - (MAX_REPLY_LINES - 1);
        cleaned.truncate(MAX_REPLY_LINES - 1);
        cleaned.push(format!("... and {more} more lines"));
    }
    let last = cleaned.len() - 1;
    cleaned
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let sep = if i == last { ' ' } else { '-' };
            format!("{code}{sep}{enhanced} {text}")
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(code: u8, data: &[u8]) -> Vec<u8> {
        let mut p = ((data.len() + 1) as u32).to_be_bytes().to_vec();
        p.push(code);
        p.extend_from_slice(data);
        p
    }

    fn read_one(bytes: &[u8]) -> Result<Option<Command>, ProtocolError> {
        read_command(&mut &bytes[..], 1 << 20)
    }

    #[test]
    fn decodes_the_events_of_a_message() {
        let mut neg = Vec::new();
        for w in [6u32, 0x1ff, 0x1fffff] {
            neg.extend_from_slice(&w.to_be_bytes());
        }
        assert_eq!(
            read_one(&packet(b'O', &neg)).unwrap(),
            Some(Command::Negotiate {
                version: 6,
                actions: 0x1ff,
                flags: 0x1fffff
            })
        );
        assert_eq!(
            read_one(&packet(b'D', b"Ci\0ABC123\0{auth_authen}\0jane\0")).unwrap(),
            Some(Command::Macros {
                stage: b'C',
                pairs: vec![
                    ("i".into(), "ABC123".into()),
                    ("{auth_authen}".into(), "jane".into())
                ]
            })
        );
        assert_eq!(
            read_one(&packet(b'C', b"mail.example\x004\x00\x19127.0.0.1\0")).unwrap(),
            Some(Command::Connect {
                hostname: "mail.example".into(),
                family: b'4',
                port: 25,
                address: "127.0.0.1".into()
            })
        );
        assert_eq!(
            read_one(&packet(b'C', b"localhost\0U")).unwrap(),
            Some(Command::Connect {
                hostname: "localhost".into(),
                family: b'U',
                port: 0,
                address: String::new()
            })
        );
        assert_eq!(
            read_one(&packet(b'M', b"<a@example.org>\0SIZE=100\0")).unwrap(),
            Some(Command::Mail(vec![
                "<a@example.org>".into(),
                "SIZE=100".into()
            ]))
        );
        // The null sender as Postfix passes it for `sendmail -f ''`.
        assert_eq!(
            read_one(&packet(b'M', b"\0")).unwrap(),
            Some(Command::Mail(vec![String::new()]))
        );
        assert_eq!(
            read_one(&packet(b'L', b"Subject\0two\n\tlines\0")).unwrap(),
            Some(Command::Header {
                name: "Subject".into(),
                value: b"two\n\tlines".to_vec()
            })
        );
        assert_eq!(
            read_one(&packet(b'B', b"\xffbody\r\n")).unwrap(),
            Some(Command::Body(b"\xffbody\r\n".to_vec()))
        );
        assert_eq!(
            read_one(&packet(b'E', b"")).unwrap(),
            Some(Command::EndOfMessage(vec![]))
        );
        assert_eq!(
            read_one(&packet(b'K', b"")).unwrap(),
            Some(Command::QuitNewConnection)
        );
        assert_eq!(read_one(b"").unwrap(), None, "a clean close");
    }

    #[test]
    fn malformed_packets_are_errors_not_panics() {
        let cases: &[&[u8]] = &[
            &[0, 0, 0, 0],                   // empty packet
            &[0, 0, 0],                      // cut length
            &[0, 0, 0, 9, b'B', 1, 2],       // cut data
            &[0xff, 0xff, 0xff, 0xff, b'B'], // over the limit
        ];
        for bytes in cases {
            assert!(read_one(bytes).is_err(), "{bytes:?}");
        }
        let bad: &[(u8, &[u8])] = &[
            (b'O', b"\0\0\0\x06\0\0"),
            (b'D', b""),
            (b'D', b"Cname\0"),
            (b'D', b"Cname\0value"),
            (b'C', b"host"),
            (b'C', b"host\0"),
            (b'C', b"host\x004\0"),
            (b'H', b"helo"),
            (b'M', b""),
            (b'R', b"\0"),
            (b'L', b"Subject\0"),
            (b'L', b"\0value\0"),
            (b'L', b"a\0b\0c\0"),
            (b'z', b""),
        ];
        for (code, data) in bad {
            assert!(
                decode(*code, data.to_vec()).is_err(),
                "{} {:?}",
                *code as char,
                data
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_decode_or_fail_without_panicking(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let mut input = &bytes[..];
            while let Ok(Some(_)) = read_command(&mut input, 1 << 20) {}
        }
    }

    #[test]
    fn a_lying_length_allocates_nothing_up_front() {
        // 16 MB announced, 3 bytes sent: an error, not a 16 MB buffer.
        let bytes = [0, 0xff, 0, 0, b'B', 1, 2];
        assert!(matches!(
            read_command(&mut &bytes[..], 32 << 20),
            Err(ProtocolError::Truncated)
        ));
    }

    #[test]
    fn replies_encode_as_the_protocol_says() {
        assert_eq!(Reply::Continue.encode(), [0, 0, 0, 1, b'c']);
        assert_eq!(Reply::Accept.encode(), [0, 0, 0, 1, b'a']);
        assert_eq!(Reply::Tempfail.encode(), [0, 0, 0, 1, b't']);
        assert_eq!(
            Reply::AddHeader {
                name: "X-Maillint".into(),
                value: "ok".into()
            }
            .encode(),
            packet(b'h', b"X-Maillint\0ok\0")
        );
        assert_eq!(
            Reply::ChangeHeader {
                index: 2,
                name: "X-Maillint".into(),
                value: String::new()
            }
            .encode(),
            packet(b'm', b"\0\0\0\x02X-Maillint\0\0")
        );
        assert_eq!(
            Reply::Quarantine("held".into()).encode(),
            packet(b'q', b"held\0")
        );
        assert_eq!(
            Reply::Negotiate {
                version: 6,
                actions: 0x21,
                flags: 0x300
            }
            .encode(),
            packet(b'O', &[0, 0, 0, 6, 0, 0, 0, 0x21, 0, 0, 3, 0])
        );
    }

    #[test]
    fn smtp_replies_are_multi_line_and_clean() {
        let lines = vec!["first\nline".to_string(), "100% sure".to_string()];
        assert_eq!(
            smtp_reply("550", "5.7.1", &lines),
            "550-5.7.1 first line\r\n550 5.7.1 100%% sure"
        );
        assert_eq!(smtp_reply("451", "4.7.1", &[]), "451 4.7.1 ");
        let many: Vec<String> = (0..50).map(|i| i.to_string()).collect();
        let reply = smtp_reply("550", "5.7.1", &many);
        assert_eq!(reply.lines().count(), MAX_REPLY_LINES);
        assert!(reply.ends_with("550 5.7.1 ... and 31 more lines"));
        let long = smtp_reply("550", "5.7.1", &["x".repeat(5000)]);
        assert!(long.len() < 420);
    }
}
