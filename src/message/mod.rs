//! The message model: everything rules read, parsed once per message.
//!
//! Two front ends build it: [`parse_rfc5322`] for .eml, mbox and Maildir
//! messages (through mail-parser), and [`parse_json_draft`] for the JSON
//! drafts mail APIs accept. Rules only ever see a [`Message`].

mod body;
mod calendar;
mod cost;
mod draft;
mod html;
mod inside;
mod pieces;
mod reply;
mod rfc5322;

pub(crate) use body::line_in;
pub use body::{is_disclaimer, paragraphs};
pub use draft::parse_json_draft;
pub use html::{HtmlImage, HtmlLink, HtmlView, count_bytes, url_host, url_scheme};
#[cfg(test)]
pub(crate) use inside::build as inside_tests;
pub use inside::{
    FileKind, InnerFile, Inside, Limit, MAX_DEPTH_LIMIT, PATH_SEPARATOR, ReadLimits, Section,
    Stopped,
};
pub use reply::{has_forward_prefix, has_reply_prefix, strip_subject_prefixes};
pub use rfc5322::{parse_rfc5322, parse_rfc5322_owned};

use rayon::iter::ParallelIterator;
use rayon::slice::ParallelSliceMut;
use std::borrow::Cow;

/// Why a message could not be read into the model. Each says what
/// happened in one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Its structure would make parsing take far longer than its size
    /// warrants (see `cost.rs`); names the cause.
    #[error("could not parse: {0} would make parsing take quadratic time; not checked")]
    TooCostly(&'static str),
    /// The parser panicked; the panic's message.
    #[error("could not parse: internal parser error ({0}); not checked")]
    ParserPanicked(String),
    #[error("not an email message: no header fields")]
    NoHeaderFields,
    /// serde's description, with the line and column in the draft.
    #[error("invalid JSON draft: {0}")]
    InvalidDraft(String),
}

/// The identity of a mailbox: local part as written, domain lowercased
/// (local parts may be case-sensitive; domains never are). Borrowed when the
/// address is already in that form, which is the usual case.
pub fn mailbox_key(addr: &str) -> Cow<'_, str> {
    match split_at_last_at(addr) {
        Some((local, domain)) if has_ascii_uppercase(domain) => {
            Cow::Owned(format!("{local}@{}", domain.to_ascii_lowercase()))
        }
        _ => Cow::Borrowed(addr),
    }
}

/// An address split at its last `@`. memchr's search: this runs several
/// times for each of a million recipients, where the standard library's
/// costs three times as much.
fn split_at_last_at(addr: &str) -> Option<(&str, &str)> {
    let at = memchr::memrchr(b'@', addr.as_bytes())?;
    Some((addr.get(..at)?, addr.get(at + 1..)?))
}

/// Whether `s` has an ASCII capital. Every byte is looked at, without
/// stopping at the first, so that the loop is vectorised: addresses are
/// short, and nearly always have none.
pub(crate) fn has_ascii_uppercase(s: &str) -> bool {
    s.as_bytes()
        .iter()
        .fold(false, |any, b| any | b.is_ascii_uppercase())
}

/// Address headers from this size have their line breaks turned into
/// spaces on every core, a piece of this size at a time.
const PARALLEL_UNFOLD_FROM: usize = 1 << 20;

/// Turns each invalid UTF-8 sequence into as many `?`.
fn replace_invalid_utf8(bytes: &mut [u8]) {
    let mut from = 0;
    while let Err(e) = std::str::from_utf8(&bytes[from..]) {
        let bad = from + e.valid_up_to();
        let end = e.error_len().map_or(bytes.len(), |n| bad + n);
        bytes[bad..end].fill(b'?');
        from = end;
    }
}

/// The address of a `<mailto:...>` header value, lowercased, without its
/// query (`?subject=...`).
fn mailto_address(value: &str) -> Option<String> {
    let lower = value.to_ascii_lowercase();
    let start = lower.find("mailto:")? + 7;
    let address = lower[start..].split(['>', '?', ',', ' ']).next()?.trim();
    Some(address.to_string())
}

/// A list owner's local part: `linux-kernel-owner`, `owner-linux-kernel`.
fn is_list_owner(local: &str) -> bool {
    let local = local.to_ascii_lowercase();
    local.ends_with("-owner") || local.starts_with("owner-")
}

/// The header an address was written in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Field {
    #[default]
    From,
    Sender,
    ReplyTo,
    To,
    Cc,
    Bcc,
    ResentTo,
    ResentCc,
    ResentBcc,
    /// An ATTENDEE of a meeting invitation (a `text/calendar` part or
    /// `.ics` attachment with `METHOD:REQUEST`): every invitee's calendar
    /// shows the list, whoever the mail itself went to.
    Attendee,
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
            Field::Attendee => "ATTENDEE",
        }
    }

    /// Whether every recipient of the message sees addresses in this field.
    pub fn is_visible(self) -> bool {
        matches!(
            self,
            Field::To | Field::Cc | Field::ResentTo | Field::ResentCc | Field::Attendee
        )
    }

    pub fn is_recipient(self) -> bool {
        !matches!(self, Field::From | Field::Sender | Field::ReplyTo)
    }
}

/// One mailbox as written in an address header: a view into the message,
/// which keeps its addresses compactly (a message may hold a million).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Address<'m> {
    /// Display name, decoded (RFC 2047), if any.
    pub name: Option<&'m str>,
    /// The addr-spec as written; empty when the entry had no address at all.
    pub addr: &'m str,
    pub field: Field,
    /// Line in the source file; `None` for sources without lines (JSON drafts).
    pub line: Option<usize>,
    /// Index into [`Message::groups`] when the address was written inside a group.
    pub group: Option<usize>,
}

impl<'m> Address<'m> {
    /// The part after the last `@`, as written (not lowercased).
    pub fn domain(&self) -> Option<&'m str> {
        split_at_last_at(self.addr)
            .map(|(_, d)| d)
            .filter(|d| !d.is_empty())
    }

    pub fn local_part(&self) -> &'m str {
        split_at_last_at(self.addr).map_or("", |(l, _)| l)
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

/// A header field: a view into the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderField<'m> {
    pub name: &'m str,
    /// The value, unfolded and decoded. Address headers keep their text as
    /// written, with each line break turned into a space: a million-address
    /// header is kept once, and its addresses point into it.
    pub value: &'m str,
    pub line: Option<usize>,
}

/// Where a string of the model lives: in [`Message`]'s `source` (the
/// message's own bytes) when the top bit of `start` is set, else in its
/// `text`. 32 bits suffice: maillint reads no message of 2 GB or more.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Span {
    start: u32,
    len: u32,
}

/// The bit of `Span::start` that says the string is in `source`.
const IN_SOURCE: u32 = 1 << 31;

impl Span {
    /// A range of the model's `text`.
    pub(crate) fn new(start: usize, len: usize) -> Span {
        Span {
            start: u32::try_from(start).unwrap_or(u32::MAX) & !IN_SOURCE,
            len: u32::try_from(len).unwrap_or(0),
        }
    }

    /// A range of the message's bytes, if offsets that large can be kept.
    pub(crate) fn in_source(start: usize, len: usize) -> Option<Span> {
        let end = u32::try_from(start.checked_add(len)?).ok()?;
        (end < IN_SOURCE).then_some(Span {
            start: start as u32 | IN_SOURCE,
            len: len as u32,
        })
    }

    /// The part of this span that starts `offset` bytes in and is `len` long.
    pub(crate) fn sub(self, offset: usize, len: usize) -> Span {
        Span {
            start: self
                .start
                .saturating_add(u32::try_from(offset).unwrap_or(u32::MAX)),
            len: u32::try_from(len).unwrap_or(0),
        }
    }

    /// This span, for strings of text appended after `shift` bytes of the
    /// model's text (a span of the message's bytes stays as it is).
    pub(crate) fn after(self, shift: usize) -> Span {
        if self.start & IN_SOURCE == 0 {
            self.sub(shift, self.len as usize)
        } else {
            self
        }
    }

    #[inline]
    fn get<'m>(self, text: &'m str, source: &'m str) -> &'m str {
        let (buffer, start) = if self.start & IN_SOURCE == 0 {
            (text, self.start)
        } else {
            (source, self.start & !IN_SOURCE)
        };
        let start = start as usize;
        buffer
            .get(start..start + self.len as usize)
            .unwrap_or_default()
    }
}

/// An address as the model stores it: 24 bytes, its strings in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct AddressEntry {
    addr: Span,
    /// Empty when there is no display name.
    name: Span,
    /// The lines after [`Message::first_line`] (unused without it) under
    /// [`LINE_BITS`], and the [`Field`] above them.
    line_and_field: u32,
    group: u32,
}

// A million-recipient message holds a million of them.
const _: () = assert!(std::mem::size_of::<AddressEntry>() == 24);

/// Bits of `AddressEntry::line_and_field` that hold the line: an address
/// 268 million lines into its header is placed on the last line they count.
const LINE_BITS: u32 = 28;
const LINE_MASK: u32 = (1 << LINE_BITS) - 1;
const FIELDS: [Field; 10] = [
    Field::From,
    Field::Sender,
    Field::ReplyTo,
    Field::To,
    Field::Cc,
    Field::Bcc,
    Field::ResentTo,
    Field::ResentCc,
    Field::ResentBcc,
    Field::Attendee,
];
const _: () = assert!(FIELDS.len() <= 1 << (32 - LINE_BITS));

impl AddressEntry {
    fn field(&self) -> Field {
        FIELDS
            .get((self.line_and_field >> LINE_BITS) as usize)
            .copied()
            .unwrap_or_default()
    }

    fn line(&self) -> usize {
        (self.line_and_field & LINE_MASK) as usize
    }
}

/// `AddressEntry::group` of an address outside any group.
const NO_GROUP: u32 = u32::MAX;

/// A header field as the model stores it: its name and value in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HeaderEntry {
    name: Span,
    value: Span,
    line: Option<usize>,
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
    /// For a quoted-printable part, the source line (counted from `line`)
    /// each line of the content starts on; empty otherwise.
    line_starts: Vec<u32>,
    /// Derived views, computed on first use (see `body.rs`).
    authored: std::sync::OnceLock<body::Authored>,
    html: std::sync::OnceLock<HtmlView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Attachment {
    pub filename: Option<String>,
    /// `type/subtype`, lowercased.
    pub content_type: String,
    /// Decoded size in bytes.
    pub size: u64,
    /// The decoded content of a text attachment: a `text/*` part, or a
    /// `.txt`/`.csv`/`.tsv` file sent with another type (often
    /// `application/octet-stream` or `application/vnd.ms-excel`); for an
    /// attached message (`message/rfc822`), its subject and body as text.
    pub text: Option<String>,
    /// Shown in the body rather than offered as a file: `Content-Disposition:
    /// inline`, or no disposition but a `Content-ID` for the HTML to show
    /// (signature logos, pasted screenshots). Always false in JSON drafts.
    pub inline: bool,
    /// The decoded content of a part not kept as text, for reading
    /// inside it ([`Message::inside`]); empty for text parts, images,
    /// audio, video and JSON drafts' attachments.
    pub bytes: Vec<u8>,
}

/// A parsed message: what every rule reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    /// Header fields in order; read through [`Message::headers`].
    headers: Vec<HeaderEntry>,
    /// From, Sender, Reply-To and every recipient field, in header order;
    /// read through [`Message::addresses`].
    addresses: Vec<AddressEntry>,
    /// The message's bytes up to the end of its last address header, line
    /// breaks in address headers turned into spaces: the values of address
    /// headers and the addresses found verbatim in them point into it, so
    /// that a million-address header is not copied.
    source: String,
    /// Every other string of headers and addresses, one after another.
    text: String,
    /// The line address lines count from; `None` for sources without lines.
    first_line: Option<usize>,
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
    /// What is inside the attachments, read on first use.
    inside: std::sync::OnceLock<Inside>,
}

impl Message {
    /// All header fields in order.
    pub fn headers(&self) -> impl DoubleEndedIterator<Item = HeaderField<'_>> + Clone {
        self.headers.iter().map(|h| self.header_field(h))
    }

    #[inline]
    fn header_field(&self, entry: &HeaderEntry) -> HeaderField<'_> {
        HeaderField {
            name: self.text_at(entry.name),
            value: self.text_at(entry.value),
            line: entry.line,
        }
    }

    /// The header fields with this name (case-insensitive), in order.
    pub fn headers_named<'m, 'n>(
        &'m self,
        name: &'n str,
    ) -> impl Iterator<Item = HeaderField<'m>> + use<'m, 'n> {
        // Rules ask for headers most messages lack: only names are read
        // until one matches, and only names of the same length at all (a
        // span's length is at hand; its text is found in one of two
        // strings).
        self.headers
            .iter()
            .filter(move |h| {
                h.name.len as usize == name.len() && self.text_at(h.name).eq_ignore_ascii_case(name)
            })
            .map(|h| self.header_field(h))
    }

    /// The first header field with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<HeaderField<'_>> {
        self.headers_named(name).next()
    }

    /// From, Sender, Reply-To and every recipient field, in header order.
    pub fn addresses(&self) -> impl ExactSizeIterator<Item = Address<'_>> + Clone {
        self.addresses.iter().map(|e| self.view(e))
    }

    /// The entry at this position of [`addresses`](Self::addresses).
    pub fn address(&self, index: usize) -> Option<Address<'_>> {
        self.addresses.get(index).map(|e| self.view(e))
    }

    /// The field of the entry at this position of
    /// [`addresses`](Self::addresses), without building its view.
    pub fn field_at(&self, index: usize) -> Option<Field> {
        self.addresses.get(index).map(AddressEntry::field)
    }

    fn view(&self, entry: &AddressEntry) -> Address<'_> {
        Address {
            name: (entry.name.len > 0).then(|| entry.name.get(&self.text, &self.source)),
            addr: entry.addr.get(&self.text, &self.source),
            field: entry.field(),
            line: self.first_line.map(|l| l + entry.line()),
            group: (entry.group != NO_GROUP).then_some(entry.group as usize),
        }
    }

    /// The entries of one field, in order. Only they are built into views:
    /// looking for a Reply-To among a million recipients costs a field
    /// comparison each.
    pub fn addresses_in(&self, field: Field) -> impl Iterator<Item = Address<'_>> {
        self.addresses
            .iter()
            .filter(move |e| e.field() == field)
            .map(|e| self.view(e))
    }

    /// To, Cc, Bcc and Resent-To/Cc/Bcc entries, duplicates included.
    pub fn recipients(&self) -> impl Iterator<Item = Address<'_>> {
        self.addresses
            .iter()
            .filter(|e| e.field().is_recipient())
            .map(|e| self.view(e))
    }

    /// From, Sender and Reply-To entries, in order; of a million
    /// recipients, only their fields are read.
    pub fn sender_addresses(&self) -> impl Iterator<Item = Address<'_>> {
        self.addresses
            .iter()
            .filter(|e| !e.field().is_recipient())
            .map(|e| self.view(e))
    }

    /// The first From address: who the message is from.
    pub fn sender(&self) -> Option<Address<'_>> {
        self.addresses_in(Field::From).next()
    }

    /// Appends text to the model's strings, giving where it is.
    pub(crate) fn push_text(&mut self, text: &str) -> Span {
        let start = self.text.len();
        self.text.push_str(text);
        Span::new(start, text.len())
    }

    /// Appends text as written, its line breaks turned into spaces, and
    /// gives where it is.
    pub(crate) fn push_unfolded(&mut self, text: &str) -> Span {
        let start = self.text.len();
        self.text.reserve(text.len());
        for (i, piece) in text.split(['\r', '\n']).enumerate() {
            if i > 0 {
                self.text.push(' ');
            }
            self.text.push_str(piece);
        }
        Span::new(start, text.len())
    }

    /// Appends a header field whose value is new text.
    pub(crate) fn push_header(&mut self, name: &str, value: &str, line: Option<usize>) {
        let value = self.push_text(value);
        self.push_header_at(name, value, line);
    }

    /// Appends a header field whose value is already in the model.
    pub(crate) fn push_header_at(&mut self, name: &str, value: Span, line: Option<usize>) {
        let name = self.push_text(name);
        self.headers.push(HeaderEntry { name, value, line });
    }

    /// The string of the model at `span`.
    #[inline]
    pub(crate) fn text_at(&self, span: Span) -> &str {
        span.get(&self.text, &self.source)
    }

    /// Keeps the start of the message's bytes that spans point into (see
    /// `source`): `unfold` are the ranges of address headers, in order and
    /// valid UTF-8, whose line breaks become spaces; any other invalid UTF-8
    /// becomes `?`, byte for byte, so that offsets stay true.
    pub(crate) fn keep_source(&mut self, mut bytes: Vec<u8>, unfold: &[std::ops::Range<usize>]) {
        for range in unfold {
            let Some(value) = bytes.get_mut(range.clone()) else {
                continue;
            };
            // A million-address header is tens of MB: on every core.
            let unfold = |bytes: &mut [u8]| {
                for b in bytes {
                    // Written without a branch, so that it is vectorised.
                    *b = if matches!(*b, b'\r' | b'\n') {
                        b' '
                    } else {
                        *b
                    };
                }
            };
            if value.len() >= PARALLEL_UNFOLD_FROM {
                value.par_chunks_mut(PARALLEL_UNFOLD_FROM).for_each(unfold);
            } else {
                unfold(value);
            }
        }
        // Nearly always valid throughout: then checked once, as the string
        // is made, rather than between the ranges first and again whole.
        self.source = String::from_utf8(bytes).unwrap_or_else(|invalid| {
            let mut bytes = invalid.into_bytes();
            // The ranges are already known to be valid: only what lies
            // between them is fixed (a million-address header is most of
            // the message).
            let mut checked = 0;
            let len = bytes.len();
            let in_bytes =
                |range: &&std::ops::Range<usize>| range.start <= range.end && range.end <= len;
            for range in unfold.iter().filter(in_bytes) {
                if let Some(between) = bytes.get_mut(checked..range.start) {
                    replace_invalid_utf8(between);
                }
                checked = checked.max(range.end);
            }
            if let Some(rest) = bytes.get_mut(checked..) {
                replace_invalid_utf8(rest);
            }
            String::from_utf8(bytes).unwrap_or_default()
        });
    }

    /// Appends an address; `addr` and `name` are already in the model.
    pub(crate) fn push_address(
        &mut self,
        field: Field,
        addr: Span,
        name: Option<Span>,
        line: Option<usize>,
        group: Option<usize>,
    ) {
        let line = match (self.first_line, line) {
            (Some(first), Some(line)) => line.saturating_sub(first).min(LINE_MASK as usize) as u32,
            _ => 0,
        };
        let field = FIELDS.iter().position(|f| *f == field).unwrap_or_default() as u32;
        self.addresses.push(AddressEntry {
            addr,
            name: name.unwrap_or_default(),
            line_and_field: field << LINE_BITS | line,
            group: group.map_or(NO_GROUP, |g| u32::try_from(g).unwrap_or(NO_GROUP)),
        });
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
    pub fn add_recipients(&mut self, field: Field, entries: &[String]) -> Result<(), ParseError> {
        let before = self.addresses.len();
        draft::push_address_strings(self, field, entries)?;
        let added = self.addresses.split_off(before);
        let mut known: std::collections::HashSet<String> = self
            .recipients()
            .map(|a| mailbox_key(a.addr).into_owned())
            .collect();
        for entry in added {
            if known.insert(mailbox_key(self.view(&entry).addr).into_owned()) {
                self.addresses.push(entry);
            }
        }
        Ok(())
    }

    /// Gives a message without a From header the sender the mail system
    /// will write into it (sendmail's envelope sender, or the local user),
    /// so that rules judge it as it will arrive. A From, even a broken one,
    /// is the author's and is kept.
    pub fn add_missing_sender(&mut self, addr: &str) -> Result<(), ParseError> {
        if self.header("From").is_some() {
            return Ok(());
        }
        draft::push_address_strings(self, Field::From, &[addr.to_string()])
    }

    /// A member's post as a discussion list relays it: `List-Post` names a
    /// `mailto:` address (an announce-only list says `List-Post: NO`), or,
    /// from list servers that write no List-Post (as LKML's did), a list
    /// header (`List-Id`, `X-Mailing-List`) with the list's owner as
    /// `Sender` (`linux-kernel-owner@`, `owner-linux-kernel@`). Its From
    /// is the author, and its list headers are the list server's. Not a
    /// post: what the list sends itself, From one of its `-digest`,
    /// `-request`, `-owner` addresses (`linux-kernel-digest-owner@`), or a
    /// digest From the list's own.
    pub fn is_discussion_list_post(&self) -> bool {
        let list_post = self
            .headers_named("List-Post")
            .find_map(|h| mailto_address(h.value));
        let relayed = list_post.is_some()
            || ((self.list_id.is_some() || self.header("X-Mailing-List").is_some())
                && self
                    .addresses_in(Field::Sender)
                    .any(|a| is_list_owner(a.local_part())));
        relayed && !self.sent_by_list(list_post.as_deref())
    }

    /// Whether the message comes from the list itself: From at the list's
    /// address (the List-Post one, or the `X-Mailing-List` one), or one
    /// made of it (`linux-kernel-digest@`, `linux-kernel-request@`).
    fn sent_by_list(&self, list_post: Option<&str>) -> bool {
        let list = list_post.map(str::to_string).or_else(|| {
            let value = self.header("X-Mailing-List")?.value;
            let start = value.find('<').map_or(0, |i| i + 1);
            let address = value[start..].split(['>', ' ']).next()?.trim();
            address.contains('@').then(|| address.to_ascii_lowercase())
        });
        let (Some(list), Some(from)) = (list, self.sender()) else {
            return false;
        };
        let Some((list_local, list_domain)) = list.rsplit_once('@') else {
            return false;
        };
        let from_local = from.local_part().to_ascii_lowercase();
        // A list that rewrites its members' From to its own address (for
        // DMARC) still relays posts: From the list itself counts only for
        // a digest.
        let digest = self
            .subject
            .as_deref()
            .is_some_and(|s| s.to_ascii_lowercase().contains("digest"));
        from.domain()
            .is_some_and(|d| d.eq_ignore_ascii_case(list_domain))
            && !list_local.is_empty()
            && ((from_local == list_local && digest)
                || (from_local.starts_with(&format!("{list_local}-"))
                    && ["-digest", "-request", "-owner", "-bounces"]
                        .iter()
                        .any(|suffix| from_local.ends_with(suffix))))
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

    /// What the attachments hold: each file's kind from its bytes, and
    /// the text of spreadsheets, documents, PDFs and archives (see
    /// `inside/`). Read on first use, once per message, within `limits`
    /// (the first caller's: every rule passes the configuration's); a
    /// message without attachments kept as bytes costs nothing. A panic
    /// in a reader leaves nothing read rather than ending the check.
    pub fn inside(&self, limits: &ReadLimits) -> &Inside {
        self.inside.get_or_init(|| {
            if self.attachments.iter().all(|a| a.bytes.is_empty()) {
                return Inside::default();
            }
            crate::guard::catch_panic(|| inside::read_attachments(&self.attachments, limits))
                .unwrap_or_default()
        })
    }

    /// Line of the first header with this name, for locating findings.
    pub fn header_line(&self, name: &str) -> Option<usize> {
        self.header(name).and_then(|h| h.line)
    }
}
