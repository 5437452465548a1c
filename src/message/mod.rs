//! The message model: everything rules read, parsed once per message.
//!
//! Two front ends build it: [`parse_rfc5322`] for .eml, mbox and Maildir
//! messages (through mail-parser), and [`parse_json_draft`] for the JSON
//! drafts mail APIs accept. Rules only ever see a [`Message`].

mod body;
mod cost;
mod draft;
mod html;
mod reply;
mod rfc5322;

pub use body::{is_disclaimer, paragraphs};
pub use draft::parse_json_draft;
pub use html::{HtmlImage, HtmlLink, HtmlView, url_host, url_scheme};
pub use reply::{has_forward_prefix, has_reply_prefix, strip_subject_prefixes};
pub use rfc5322::parse_rfc5322;

use std::borrow::Cow;

/// The identity of a mailbox: local part as written, domain lowercased
/// (local parts may be case-sensitive; domains never are). Borrowed when the
/// address is already in that form, which is the usual case.
pub fn mailbox_key(addr: &str) -> Cow<'_, str> {
    match addr.rsplit_once('@') {
        Some((local, domain)) if domain.bytes().any(|b| b.is_ascii_uppercase()) => {
            Cow::Owned(format!("{local}@{}", domain.to_ascii_lowercase()))
        }
        _ => Cow::Borrowed(addr),
    }
}

/// The header an address was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    From,
    Sender,
    ReplyTo,
    To,
    Cc,
    Bcc,
    ResentTo,
    ResentCc,
    ResentBcc,
}

impl Field {
    pub fn header_name(self) -> &'static str {
        match self {
            Field::From => "From",
            Field::Sender => "Sender",
            Field::ReplyTo => "Reply-To",
            Field::To => "To",
            Field::Cc => "Cc",
            Field::Bcc => "Bcc",
            Field::ResentTo => "Resent-To",
            Field::ResentCc => "Resent-Cc",
            Field::ResentBcc => "Resent-Bcc",
        }
    }

    /// Whether every recipient of the message sees addresses in this field.
    pub fn is_visible(self) -> bool {
        matches!(
            self,
            Field::To | Field::Cc | Field::ResentTo | Field::ResentCc
        )
    }

    pub fn is_recipient(self) -> bool {
        !matches!(self, Field::From | Field::Sender | Field::ReplyTo)
    }
}

/// One mailbox as written in an address header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// Display name, decoded (RFC 2047), if any.
    pub name: Option<Box<str>>,
    /// The addr-spec as written; empty when the entry had no address at all.
    /// Boxed strings, as a message may hold a million addresses.
    pub addr: Box<str>,
    pub field: Field,
    /// Line in the source file; `None` for sources without lines (JSON drafts).
    pub line: Option<usize>,
    /// Index into [`Message::groups`] when the address was written inside a group.
    pub group: Option<usize>,
}

impl Address {
    /// The part after the last `@`, as written (not lowercased).
    pub fn domain(&self) -> Option<&str> {
        self.addr
            .rsplit_once('@')
            .map(|(_, d)| d)
            .filter(|d| !d.is_empty())
    }

    pub fn local_part(&self) -> &str {
        self.addr.rsplit_once('@').map_or("", |(l, _)| l)
    }
}

/// An RFC 5322 group such as `undisclosed-recipients:;`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub field: Field,
    pub line: Option<usize>,
    pub members: usize,
}

/// A header field with its unfolded, decoded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderField {
    pub name: String,
    pub value: String,
    pub line: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Text,
    Html,
}

/// An inline body part, decoded to text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyPart {
    pub kind: BodyKind,
    /// The decoded content: plain text, or HTML source.
    pub text: String,
    /// Line where the part's content starts in the source file.
    pub line: Option<usize>,
    /// The content's lines are the source file's lines, one for one: the
    /// part was not quoted-printable or base64 encoded. Only then can a
    /// line inside the content be turned into a file line
    /// ([`source_line`](Self::source_line)).
    pub verbatim: bool,
    /// Derived views, computed on first use (see `body.rs`).
    plain: std::sync::OnceLock<String>,
    authored: std::sync::OnceLock<String>,
    html: std::sync::OnceLock<HtmlView>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: Option<String>,
    /// `type/subtype`, lowercased.
    pub content_type: String,
    /// Decoded size in bytes.
    pub size: u64,
    /// The decoded content of a text attachment: a `text/*` part, or a
    /// `.txt`/`.csv`/`.tsv` file sent with another type (often
    /// `application/octet-stream` or `application/vnd.ms-excel`).
    pub text: Option<String>,
    /// Shown in the body rather than offered as a file: `Content-Disposition:
    /// inline`, or no disposition but a `Content-ID` for the HTML to show
    /// (signature logos, pasted screenshots). Always false in JSON drafts.
    pub inline: bool,
}

/// A parsed message: what every rule reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    /// All header fields in order.
    pub headers: Vec<HeaderField>,
    /// From, Sender, Reply-To and every recipient field, in header order.
    pub addresses: Vec<Address>,
    pub groups: Vec<Group>,
    pub subject: Option<String>,
    pub message_id: Option<String>,
    pub has_date: bool,
    /// In-Reply-To or References present, or a reply prefix in the subject.
    pub is_reply: bool,
    pub list_id: Option<String>,
    pub precedence: Option<String>,
    pub body: Vec<BodyPart>,
    pub attachments: Vec<Attachment>,
    /// Size of the message as read, in bytes.
    pub raw_size: usize,
}

impl Message {
    /// The first header field with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&HeaderField> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
    }

    pub fn addresses_in(&self, field: Field) -> impl Iterator<Item = &Address> {
        self.addresses.iter().filter(move |a| a.field == field)
    }

    /// To, Cc, Bcc and Resent-To/Cc/Bcc entries, duplicates included.
    pub fn recipients(&self) -> impl Iterator<Item = &Address> {
        self.addresses.iter().filter(|a| a.field.is_recipient())
    }

    /// The first From address: who the message is from.
    pub fn sender(&self) -> Option<&Address> {
        self.addresses_in(Field::From).next()
    }

    /// The parts to read the message's text from: the text/plain parts, or
    /// the HTML ones when there is no plain text (so that a multipart/
    /// alternative message is not read twice).
    pub fn readable_parts(&self) -> impl Iterator<Item = &BodyPart> {
        let has_text = self.body.iter().any(|p| p.kind == BodyKind::Text);
        let wanted = if has_text {
            BodyKind::Text
        } else {
            BodyKind::Html
        };
        self.body.iter().filter(move |p| p.kind == wanted)
    }

    /// Adds recipients given outside the headers (a sendmail command line,
    /// an SMTP envelope), parsed like header addresses. Mailboxes already
    /// among the recipients are not added again: they were not written twice.
    /// Fails, adding nothing, when the addresses are too costly to parse.
    pub fn add_recipients(&mut self, field: Field, entries: &[String]) -> Result<(), String> {
        let before = self.addresses.len();
        draft::push_address_strings(self, field, entries)?;
        let added = self.addresses.split_off(before);
        let mut known: std::collections::HashSet<String> = self
            .recipients()
            .map(|a| mailbox_key(&a.addr).into_owned())
            .collect();
        self.addresses.extend(
            added
                .into_iter()
                .filter(|a| known.insert(mailbox_key(&a.addr).into_owned())),
        );
        Ok(())
    }

    /// A member's post as a discussion list relays it: `List-Post` names a
    /// `mailto:` address (an announce-only list says `List-Post: NO`). Its
    /// From is the author, and its list headers are the list server's.
    pub fn is_discussion_list_post(&self) -> bool {
        self.headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case("List-Post"))
            .any(|h| h.value.to_ascii_lowercase().contains("mailto:"))
    }

    /// A message a program sent on its own: `Auto-Submitted` other than
    /// `no` (RFC 3834: auto-replies, vacation notices), or From a mail
    /// system's own sender (`MAILER-DAEMON`, `postmaster`, MDaemon's
    /// `MDaemon`), which is how delivery reports arrive.
    pub fn is_automatic(&self) -> bool {
        let auto_submitted = self
            .header("Auto-Submitted")
            .is_some_and(|h| !h.value.trim().eq_ignore_ascii_case("no"));
        let system_sender = self.sender().is_some_and(|a| {
            ["mailer-daemon", "postmaster", "mdaemon"]
                .iter()
                .any(|s| a.local_part().eq_ignore_ascii_case(s))
        });
        auto_submitted || system_sender
    }

    /// Line of the first header with this name, for locating findings.
    pub fn header_line(&self, name: &str) -> Option<usize> {
        self.header(name).and_then(|h| h.line)
    }
}
