use super::cost::check_parse_cost;
use super::pieces::{CUTTING, Cutting, in_pieces, parse_in_pieces};
use super::{
    Attachment, BodyKind, BodyPart, Field, Group, Message, NO_GROUP, ParseError, Span,
    has_reply_prefix,
};
use crate::guard::catch_panic;
use mail_parser::parsers::MessageStream;
use mail_parser::{HeaderName, HeaderValue, MessageParser, MimeHeaders, PartType};
use rayon::prelude::*;
use std::borrow::Cow;
use std::sync::LazyLock;

/// How far past the previous address to look for the next one when placing
/// addresses on the lines of a folded header. Bounded so that addresses
/// mail-parser normalised (and so cannot be found verbatim) cost a constant.
const ADDRESS_SEARCH_WINDOW: usize = 512;

/// Builds the model from an RFC 5322 message. `first_line` is the line of
/// the source file the message starts on (1 for a single .eml), so that
/// every line in the model is a line of the file the user opened.
///
/// Never panics and takes time linear in the message: input that would
/// make mail-parser go quadratic is refused up front (see `cost.rs`), and
/// a panic inside mail-parser becomes an error. Errors are one line.
pub fn parse_rfc5322(raw: &[u8], first_line: usize) -> Result<Message, ParseError> {
    parse_rfc5322_cut(raw, first_line, CUTTING)
}

/// [`parse_rfc5322`], cutting address headers as `cutting` says (tests cut
/// small headers to compare with the whole-header parse).
pub(super) fn parse_rfc5322_cut(
    raw: &[u8],
    first_line: usize,
    cutting: Cutting,
) -> Result<Message, ParseError> {
    let (mut msg, kept) = parse(raw, first_line, cutting)?;
    msg.keep_source(
        raw.get(..kept.end).unwrap_or_default().to_vec(),
        &kept.unfold,
    );
    Ok(msg)
}

/// [`parse_rfc5322`] taking the bytes: the part the model points into (see
/// [`Kept`]) is kept rather than copied, and the rest freed.
pub fn parse_rfc5322_owned(mut raw: Vec<u8>, first_line: usize) -> Result<Message, ParseError> {
    let (mut msg, kept) = parse(&raw, first_line, CUTTING)?;
    raw.truncate(kept.end);
    raw.shrink_to_fit();
    msg.keep_source(raw, &kept.unfold);
    Ok(msg)
}

/// What the model needs of the message's bytes once parsed: the ranges of
/// its address headers, which the model points into instead of copying a
/// header of a million addresses, and where the last one ends.
#[derive(Default)]
struct Kept {
    end: usize,
    unfold: Vec<std::ops::Range<usize>>,
}

fn parse(raw: &[u8], first_line: usize, cutting: Cutting) -> Result<(Message, Kept), ParseError> {
    check_parse_cost(raw)?;
    catch_panic(|| {
        let shortened = Shortened::new(raw, cutting.from);
        let parsed = match &shortened {
            Some(shortened) => shortened.parse(),
            None => None,
        };
        let mut parsed = match parsed {
            Some(parsed) => parsed,
            None => MESSAGE_PARSER.parse(raw)?,
        };
        let built = build(&mut parsed, raw, first_line, cutting);
        dismantle(parsed);
        built
    })
    .map_err(ParseError::ParserPanicked)?
    .ok_or(ParseError::NoHeaderFields)
}

/// The message with the folded lines of its large address headers left
/// out, for mail-parser's main pass. That pass only skips an address
/// header (the model parses it on its own, see [`with_address_list`]), but
/// byte by byte: for a header of a million addresses, a tenth of checking
/// the message, on one core while the other waited. Each header is kept
/// to its first line and its final line break, so that mail-parser reads
/// the same header there, ending where it ends in the message, and then
/// the same bytes after it.
struct Shortened {
    bytes: Vec<u8>,
    /// Where each left-out range was, in `bytes` (the final line break of
    /// its header), and how long it and those before it were; in order.
    gaps: Vec<(usize, usize)>,
}

/// The first line break from `from` on that is not followed by a space or
/// tab: where mail-parser ends a header field. Looked for a block at a
/// time without a branch per byte, so that it is vectorised: a field may
/// be tens of MB folded over a million lines. Blocks start small and
/// double, so that a short field costs little more than its length.
fn field_end(raw: &[u8], from: usize) -> Option<usize> {
    const LARGEST_BLOCK: usize = 4096;
    let ends = |b: u8, next: Option<u8>| b == b'\n' && !matches!(next, Some(b' ' | b'\t'));
    let mut start = from;
    let mut block = 64;
    while start < raw.len() {
        let end = (start + block).min(raw.len() - 1);
        block = (2 * block).min(LARGEST_BLOCK);
        let bytes = raw.get(start..end).unwrap_or_default();
        let next = raw.get(start + 1..end + 1).unwrap_or_default();
        let any = bytes.iter().zip(next).fold(false, |any, (&b, &n)| {
            any | ((b == b'\n') & (n != b' ') & (n != b'\t'))
        });
        if any {
            return (start..end).find(|&i| ends(raw[i], raw.get(i + 1).copied()));
        }
        if end == raw.len() - 1 {
            return ends(raw[end], None).then_some(end);
        }
        start = end;
    }
    None
}

impl Shortened {
    /// `None` when no address header is `from` bytes or more.
    fn new(raw: &[u8], from: usize) -> Option<Shortened> {
        if raw.len() < from {
            return None;
        }
        let mut left_out = Vec::new();
        let mut field = 0;
        // Each field of the header block: its first line, and the line
        // breaks that fold it up to the one that ends it.
        while let Some(first_break) = memchr::memchr(b'\n', raw.get(field..)?).map(|i| field + i) {
            let first_line = &raw[field..first_break];
            if first_line.is_empty() || first_line == b"\r" {
                break;
            }
            let last_break = field_end(raw, first_break).unwrap_or(raw.len());
            let end = (last_break + 1).min(raw.len());
            let name = first_line
                .iter()
                .position(|&b| b == b':')
                .and_then(|colon| std::str::from_utf8(&first_line[..colon]).ok());
            let is_address_header = name.is_some_and(|name| {
                ADDRESS_FIELDS
                    .iter()
                    .any(|(field, _)| field.header_name().eq_ignore_ascii_case(name))
            });
            if is_address_header
                && end - field >= from
                && last_break < raw.len()
                && last_break > first_break
            {
                left_out.push(first_break..last_break);
            }
            field = end;
        }
        if left_out.is_empty() {
            return None;
        }
        let removed: usize = left_out.iter().map(|gap| gap.len()).sum();
        let mut bytes = Vec::with_capacity(raw.len() - removed);
        let mut gaps = Vec::with_capacity(left_out.len());
        let (mut kept_from, mut left_out_so_far) = (0, 0);
        for gap in left_out {
            bytes.extend_from_slice(&raw[kept_from..gap.start]);
            left_out_so_far += gap.len();
            gaps.push((bytes.len(), left_out_so_far));
            kept_from = gap.end;
        }
        bytes.extend_from_slice(&raw[kept_from..]);
        Some(Shortened { bytes, gaps })
    }

    /// mail-parser's parse of the shortened message, its offsets moved to
    /// the message's own; `None` unless mail-parser read each shortened
    /// header as an address header ending at the final line break kept,
    /// which is where it ends in the message.
    fn parse(&self) -> Option<mail_parser::Message<'_>> {
        let mut parsed = MESSAGE_PARSER.parse(&self.bytes)?;
        let headers = &parsed.parts.first()?.headers;
        let gap_at = |offset: usize| self.gaps.binary_search_by_key(&offset, |&(at, _)| at);
        let read_alike = headers
            .iter()
            .filter(|h| {
                let end = (h.offset_end as usize).wrapping_sub(1);
                address_field(&h.name).is_some()
                    && h.offset_start as usize <= end
                    && gap_at(end).is_ok()
            })
            .count()
            == self.gaps.len();
        if !read_alike {
            return None;
        }
        // Past a gap's final line break, offsets are as much further on as
        // was left out up to there.
        let moved = |offset: &mut u32| {
            let before = self.gaps.partition_point(|&(at, _)| at < *offset as usize);
            let shift = before
                .checked_sub(1)
                .and_then(|gap| self.gaps.get(gap))
                .map_or(0, |&(_, left_out)| left_out);
            *offset = offset.saturating_add(u32::try_from(shift).unwrap_or(u32::MAX));
        };
        for part in &mut parsed.parts {
            moved(&mut part.offset_header);
            moved(&mut part.offset_body);
            moved(&mut part.offset_end);
            for header in &mut part.headers {
                moved(&mut header.offset_field);
                moved(&mut header.offset_start);
                moved(&mut header.offset_end);
            }
        }
        Some(parsed)
    }
}

/// The headers mail-parser decodes for the model: unstructured text
/// (RFC 2047 encoded words), message ids, comma-separated lists, and the
/// MIME types it needs to find the body.
const TEXT_HEADERS: [HeaderName<'static>; 5] = [
    HeaderName::Subject,
    HeaderName::Comments,
    HeaderName::ContentDescription,
    HeaderName::ContentLocation,
    HeaderName::ContentTransferEncoding,
];
const ID_HEADERS: [HeaderName<'static>; 6] = [
    HeaderName::MessageId,
    HeaderName::References,
    HeaderName::InReplyTo,
    HeaderName::ReturnPath,
    HeaderName::ContentId,
    HeaderName::ResentMessageId,
];
const LIST_HEADERS: [HeaderName<'static>; 2] = [HeaderName::Keywords, HeaderName::ContentLanguage];
const TYPE_HEADERS: [HeaderName<'static>; 2] =
    [HeaderName::ContentType, HeaderName::ContentDisposition];

/// Headers mail-parser would parse (as dates, addresses, trace fields)
/// whose parsed value the model does not use: it keeps them as written,
/// unfolded (see [`push_header_value`]).
const UNFOLDED_HEADERS: [HeaderName<'static>; 12] = [
    HeaderName::Received,
    HeaderName::Date,
    HeaderName::ResentDate,
    HeaderName::ResentFrom,
    HeaderName::ResentSender,
    HeaderName::ListArchive,
    HeaderName::ListHelp,
    HeaderName::ListId,
    HeaderName::ListOwner,
    HeaderName::ListPost,
    HeaderName::ListSubscribe,
    HeaderName::ListUnsubscribe,
];

/// mail-parser's header parsers for the headers whose parsed value the
/// model uses; every other header is only skipped to its end, which is
/// where any parser ends it (a line break not followed by a space or tab).
/// The address headers are parsed on their own afterwards
/// ([`with_address_list`]), so that the parser's own list of a million
/// addresses is held for one header at a time, not for all of them.
/// Parsing dates, list headers and Resent-From/Sender was work thrown
/// away, and tokenizing Received's trace fields cost a tenth of the parse
/// of ordinary mail. Other headers (`X-...` and the rest) are read by
/// [`push_header_value`] as mail-parser's default parser gives them.
static MESSAGE_PARSER: LazyLock<MessageParser> = LazyLock::new(|| {
    let mut parser = MessageParser::new().default_header_ignore();
    for name in TEXT_HEADERS {
        parser = parser.header_text(name);
    }
    for name in ID_HEADERS {
        parser = parser.header_id(name);
    }
    for name in LIST_HEADERS {
        parser = parser.header_comma_separated(name);
    }
    for name in TYPE_HEADERS {
        parser = parser.header_content_type(name);
    }
    for name in ADDRESS_FIELDS
        .map(|(_, name)| name)
        .into_iter()
        .chain(UNFOLDED_HEADERS)
    {
        parser = parser.ignore_header(name);
    }
    parser
});

/// Whether mail-parser's default parser would read this header: only
/// headers it knows as dates, addresses and the like have one of their own.
fn has_default_parser(name: &HeaderName<'_>) -> bool {
    // By id, one per known header: comparing names costs more than
    // skipping the header did.
    static PARSED: LazyLock<[bool; 256]> = LazyLock::new(|| {
        let mut parsed = [false; 256];
        let names = [
            &UNFOLDED_HEADERS[..],
            &TEXT_HEADERS,
            &ID_HEADERS,
            &LIST_HEADERS,
            &TYPE_HEADERS,
        ];
        for name in names
            .concat()
            .iter()
            .chain(ADDRESS_FIELDS.map(|f| f.1).iter())
        {
            parsed[usize::from(name.id())] = true;
        }
        parsed
    });
    matches!(name, HeaderName::Other(_)) || !PARSED[usize::from(name.id())]
}

/// Parses the value of one address header (after the colon, up to and
/// including its final line break) and hands its address list to `f`:
/// `None` when it holds none (mail-parser gives `Empty` for a header
/// holding only `<>`). The value is read by mail-parser's address parser
/// directly, as it reads it inside a header block.
pub(super) fn with_address_list<R>(
    value: &[u8],
    f: impl FnOnce(Option<&mail_parser::Address<'_>>) -> R,
) -> R {
    match MessageStream::new(value).parse_address() {
        HeaderValue::Address(list) => f(Some(&list)),
        _ => f(None),
    }
}

/// The headers whose addresses the model keeps.
const ADDRESS_FIELDS: [(Field, HeaderName<'static>); 9] = [
    (Field::From, HeaderName::From),
    (Field::Sender, HeaderName::Sender),
    (Field::ReplyTo, HeaderName::ReplyTo),
    (Field::To, HeaderName::To),
    (Field::Cc, HeaderName::Cc),
    (Field::Bcc, HeaderName::Bcc),
    (Field::ResentTo, HeaderName::ResentTo),
    (Field::ResentCc, HeaderName::ResentCc),
    (Field::ResentBcc, HeaderName::ResentBcc),
];

/// Drops a parsed message without recursion. mail-parser nests each
/// attached `message/rfc822` inside its parent, and the default drop
/// recurses once per level: a message nested 100,000 deep (4 MB) would
/// overflow the stack, which aborts the process.
fn dismantle(parsed: mail_parser::Message<'_>) {
    let mut pending = vec![parsed];
    while let Some(mut message) = pending.pop() {
        for part in &mut message.parts {
            if matches!(part.body, PartType::Message(_))
                && let PartType::Message(inner) = std::mem::take(&mut part.body)
            {
                pending.push(inner);
            }
        }
    }
}

fn build(
    parsed: &mut mail_parser::Message<'_>,
    raw: &[u8],
    first_line: usize,
    cutting: Cutting,
) -> Option<(Message, Kept)> {
    let root = parsed.parts.first()?;
    let mut lines = LineCounter::new(raw, first_line);
    let mut msg = Message {
        raw_size: raw.len(),
        first_line: Some(first_line),
        ..Message::default()
    };
    let mut kept = Kept::default();
    // Room for the addresses of the headers cut into pieces, reserved at
    // once: grown piece by piece, the list would be copied as it doubles,
    // holding up to three times its size for a moment.
    let cut_entries: usize = root
        .headers
        .iter()
        .filter(|h| address_field(&h.name).is_some())
        .filter_map(|h| raw.get(h.offset_start as usize..h.offset_end as usize))
        .filter(|value| value.len() >= cutting.from)
        .map(|value| count_byte(b',', value) + 1)
        .sum();
    msg.addresses.reserve(cut_entries);
    // Room for the other headers' names and values, which the model's text
    // holds (address headers stay in the message's bytes): growing it
    // header by header copied it over and over.
    let address_bytes: usize = root
        .headers
        .iter()
        .filter(|h| address_field(&h.name).is_some())
        .map(|h| (h.offset_end as usize).saturating_sub(h.offset_start as usize))
        .sum();
    let header_bytes = (root.offset_body as usize).saturating_sub(root.offset_header as usize);
    msg.text.reserve(header_bytes.saturating_sub(address_bytes));
    msg.headers.reserve(root.headers.len());
    let header_block = HeaderBlock::new(raw, root.offset_body as usize);
    for header in &root.headers {
        let line = lines.line_at(header.offset_field as usize);
        let name = header.name.as_str();
        if let Some(field) = address_field(&header.name) {
            let range = header.offset_start as usize..header.offset_end as usize;
            let bytes = raw.get(range.clone()).unwrap_or_default();
            let kept_span = header_block
                .text(raw, range.clone())
                .and_then(|text| Some((text, Span::in_source(range.start, text.len())?)));
            let (text, copy) = match kept_span {
                Some((text, span)) => {
                    kept.end = kept.end.max(range.end);
                    kept.unfold.push(range);
                    (Cow::Borrowed(text), span)
                }
                None => {
                    let text = String::from_utf8_lossy(bytes);
                    let copy = msg.push_unfolded(&text);
                    (text, copy)
                }
            };
            let trimmed = trimmed(&text);
            msg.push_header_at(name, copy.sub(trimmed.start, trimmed.len()), Some(line));
            let mut placer = LinePlacer::new(text.as_bytes(), Some(line), copy);
            if bytes.len() >= cutting.from {
                // Kept in the message's bytes, the text is the bytes cut.
                let kept = matches!(text, Cow::Borrowed(_));
                if !(kept && place_on_every_core(&mut msg, field, bytes, line, copy, cutting.piece))
                {
                    let mut entries = Entries::new(field, &mut placer);
                    parse_in_pieces(bytes, cutting.piece, |list| entries.push(&mut msg, list));
                    entries.finish(&mut msg);
                }
            } else {
                with_address_list(bytes, |list| {
                    push_addresses(&mut msg, list, field, &mut placer);
                });
            }
            continue;
        }
        let value = push_header_value(&mut msg, header, raw, &header_block);
        match &header.name {
            HeaderName::Subject => msg.subject = Some(msg.text_at(value).to_string()),
            HeaderName::MessageId => msg.message_id = Some(msg.text_at(value).to_string()),
            HeaderName::Date => msg.has_date = true,
            HeaderName::InReplyTo | HeaderName::References => msg.is_reply = true,
            HeaderName::ListId => msg.list_id = Some(msg.text_at(value).to_string()),
            HeaderName::Other(n) if n.eq_ignore_ascii_case("Precedence") => {
                msg.precedence = Some(msg.text_at(value).trim().to_ascii_lowercase());
            }
            _ => {}
        }
        msg.push_header_at(name, value, Some(line));
    }
    if let Some(subject) = &msg.subject {
        msg.is_reply |= has_reply_prefix(subject);
    }

    let mut body_ids: Vec<u32> = parsed
        .text_body
        .iter()
        .chain(&parsed.html_body)
        .copied()
        .collect();
    body_ids.sort_unstable();
    body_ids.dedup();
    // mail-parser lists some inline parts as attachments too, whose text
    // is read again below.
    let mut attached = parsed.attachments.clone();
    attached.sort_unstable();
    for id in body_ids {
        let attached = attached.binary_search(&id).is_ok();
        let Some(part) = parsed.parts.get_mut(id as usize) else {
            continue;
        };
        let (kind, text) = match &mut part.body {
            PartType::Text(t) => (BodyKind::Text, t),
            PartType::Html(h) => (BodyKind::Html, h),
            _ => continue,
        };
        // The decoded text is moved out of the parse, not copied.
        let text = if attached {
            text.to_string()
        } else {
            std::mem::take(text).into_owned()
        };
        let line = Some(lines.line_at(part.offset_body as usize));
        let mut body = BodyPart::new(kind, text, line);
        let encoding = part.content_transfer_encoding().map(str::trim);
        body.verbatim = encoding.is_none_or(|cte| {
            ["7bit", "8bit", "binary"]
                .iter()
                .any(|v| cte.eq_ignore_ascii_case(v))
        });
        if encoding.is_some_and(|cte| cte.eq_ignore_ascii_case("quoted-printable")) {
            let source = raw
                .get(part.offset_body as usize..part.offset_end as usize)
                .unwrap_or_default();
            body.set_line_starts(quoted_printable_line_starts(source));
        }
        msg.body.push(body);
    }

    for &id in &parsed.attachments {
        let Some(part) = parsed.parts.get_mut(id as usize) else {
            continue;
        };
        let content_type = part.content_type().map_or_else(
            || "application/octet-stream".to_string(),
            |ct| match ct.subtype() {
                Some(sub) => format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase(),
                None => ct.ctype().to_ascii_lowercase(),
            },
        );
        let filename = part.attachment_name().map(str::to_string);
        let text = match &part.body {
            PartType::Text(t) | PartType::Html(t) => Some(t.to_string()),
            PartType::Message(inner) => Some(attached_message_text(inner)),
            PartType::Binary(b) | PartType::InlineBinary(b)
                if filename.as_deref().is_some_and(has_text_extension) =>
            {
                Some(String::from_utf8_lossy(b).into_owned())
            }
            _ => None,
        };
        let size = part.contents().len() as u64;
        let inline = part
            .content_disposition()
            .map_or(part.content_id().is_some(), |d| d.is_inline());
        // Kept for reading inside on demand: moved out of the parse, not
        // copied (a base64 part is already decoded into its own buffer).
        let top = content_type.split('/').next().unwrap_or_default();
        let bytes = match &mut part.body {
            PartType::Binary(b) | PartType::InlineBinary(b)
                if text.is_none() && !matches!(top, "image" | "audio" | "video") =>
            {
                std::mem::take(b).into_owned()
            }
            _ => Vec::new(),
        };
        if super::calendar::is_calendar(&content_type, filename.as_deref()) {
            let ics = match &text {
                Some(text) => Cow::Borrowed(text.as_str()),
                None => String::from_utf8_lossy(&bytes),
            };
            let attendees = super::calendar::request_attendees(&ics);
            if !attendees.is_empty() {
                let start = lines.line_at(part.offset_body as usize);
                // Lines inside an encoded part are not the file's lines:
                // its attendees are placed on its first.
                let verbatim = part.content_transfer_encoding().is_none_or(|cte| {
                    !["base64", "quoted-printable"]
                        .iter()
                        .any(|e| cte.trim().eq_ignore_ascii_case(e))
                });
                for attendee in attendees {
                    let addr = msg.push_text(&attendee.address);
                    let name = attendee.name.as_deref().map(|n| msg.push_text(n));
                    let line = if verbatim {
                        start + attendee.line
                    } else {
                        start
                    };
                    msg.push_address(Field::Attendee, addr, name, Some(line), None);
                }
            }
        }
        msg.attachments.push(Attachment {
            filename,
            content_type,
            size,
            text,
            inline,
            bytes,
        });
    }
    Some((msg, kept))
}

/// The text of an attached message (`message/rfc822`, as a forward is
/// often sent): its subject, then its body read as text.
fn attached_message_text(inner: &mail_parser::Message<'_>) -> String {
    let mut text = inner.subject().unwrap_or_default().to_string();
    for id in &inner.text_body {
        text.push_str("\n\n");
        match inner.parts.get(*id as usize).map(|p| &p.body) {
            Some(PartType::Text(t)) => text.push_str(t),
            Some(PartType::Html(h)) => text.push_str(&super::HtmlView::parse(h).text),
            _ => {}
        }
    }
    text
}

/// For each line of a quoted-printable part's decoded text, the line of the
/// encoded source it starts on (from 0): a line ending in `=` is a soft
/// break, continued on the next.
fn quoted_printable_line_starts(source: &[u8]) -> Vec<u32> {
    let mut starts = vec![0];
    let mut line_start = 0;
    // From line break to line break with memchr: a split stepped through
    // every byte of every quoted-printable part.
    for (i, end) in memchr::memchr_iter(b'\n', source).enumerate() {
        let line = source.get(line_start..end).unwrap_or_default();
        if !line.trim_ascii_end().ends_with(b"=") {
            starts.push(u32::try_from(i + 1).unwrap_or(u32::MAX));
        }
        line_start = end + 1;
    }
    starts
}

/// Files that are text whatever content type the sending client gave them.
fn has_text_extension(name: &str) -> bool {
    name.trim().rsplit_once('.').is_some_and(|(_, ext)| {
        ["txt", "csv", "tsv"]
            .iter()
            .any(|t| ext.eq_ignore_ascii_case(t))
    })
}

fn address_field(name: &HeaderName<'_>) -> Option<Field> {
    // A match, not a search of `ADDRESS_FIELDS`: it runs for every header.
    Some(match name {
        HeaderName::From => Field::From,
        HeaderName::Sender => Field::Sender,
        HeaderName::ReplyTo => Field::ReplyTo,
        HeaderName::To => Field::To,
        HeaderName::Cc => Field::Cc,
        HeaderName::Bcc => Field::Bcc,
        HeaderName::ResentTo => Field::ResentTo,
        HeaderName::ResentCc => Field::ResentCc,
        HeaderName::ResentBcc => Field::ResentBcc,
        _ => return None,
    })
}

/// Appends the addresses of one parsed address header to the model.
/// Shared with the JSON draft front end, which parses its address strings
/// with the same mail-parser code.
pub(super) fn push_addresses(
    msg: &mut Message,
    value: Option<&mail_parser::Address<'_>>,
    field: Field,
    placer: &mut LinePlacer<'_>,
) {
    let mut entries = Entries::new(field, placer);
    entries.push(msg, value);
    entries.finish(msg);
}

/// Appends the addresses of one address header to the model, as
/// mail-parser gives them: all at once, or a piece of the header at a time
/// (see `pieces.rs`), in header order.
///
/// Two things mail-parser loses are put back from the header's raw text, so
/// that no entry the user wrote vanishes: an empty `<>` entry (dropped by
/// mail-parser) becomes an [`Address`] with an empty `addr` and no name, and
/// a quoted local part (`"john doe"@example.com`, which mail-parser reads as
/// the name `john doe` and the address `@example.com`) is restored.
struct Entries<'p, 'a> {
    field: Field,
    placer: &'p mut LinePlacer<'a>,
    /// Offsets of the empty `<>` entries not yet added.
    empties: std::iter::Peekable<std::vec::IntoIter<usize>>,
    /// Newlines are counted forward from the previous empty entry, so a
    /// header of a million `<>` is still read once.
    counted: usize,
    empty_line: Option<usize>,
    /// What placing did first, and where the empty entries went: for
    /// checking a piece placed on its own (see [`Merge`]).
    first: First,
    empty_indices: Vec<usize>,
}

/// The first thing placing a piece of a header did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum First {
    /// Nothing: the piece held no entry but empty `<>` ones.
    Nothing,
    /// Found an address verbatim at `at`, `len` bytes long, and counted
    /// `line` lines from the piece's start to it.
    Found { at: usize, len: usize, line: usize },
    /// Anything else: a group, a comment, an address not found verbatim.
    Other,
}

impl<'p, 'a> Entries<'p, 'a> {
    fn new(field: Field, placer: &'p mut LinePlacer<'a>) -> Self {
        let empties = empty_angle_addrs(placer.text);
        Entries::with_empties(field, placer, empties, 0)
    }

    /// Entries whose empty `<>` ones are at these offsets, counting lines
    /// from `counted` (where the placer's first line is).
    fn with_empties(
        field: Field,
        placer: &'p mut LinePlacer<'a>,
        empties: Vec<usize>,
        counted: usize,
    ) -> Self {
        Entries {
            field,
            empties: empties.into_iter().peekable(),
            counted,
            empty_line: placer.first_line,
            placer,
            first: First::Nothing,
            empty_indices: Vec::new(),
        }
    }

    /// Notes what placing an entry did, if it is the first.
    fn note_first(&mut self, found: Option<(usize, usize)>) {
        if self.first == First::Nothing {
            self.first = match (found, self.placer.line) {
                (Some((at, len)), Some(line)) => First::Found { at, len, line },
                _ => First::Other,
            };
        }
    }

    /// Empty `<>` entries before this raw offset go in first, in header order.
    fn flush(&mut self, msg: &mut Message, before: usize) {
        while let Some(at) = self.empties.next_if(|&at| at < before) {
            let skipped = self.placer.text.get(self.counted..at).unwrap_or_default();
            self.empty_line = self
                .empty_line
                .map(|l| l + memchr::memchr_iter(b'\n', skipped).count());
            self.counted = at;
            self.empty_indices.push(msg.addresses.len());
            msg.push_address(self.field, Span::default(), None, self.empty_line, None);
        }
    }

    fn push(&mut self, msg: &mut Message, value: Option<&mail_parser::Address<'_>>) {
        match value {
            None => {}
            Some(mail_parser::Address::List(list)) => {
                msg.addresses.reserve(list.len());
                for addr in list {
                    self.push_one(msg, addr, None);
                }
            }
            Some(mail_parser::Address::Group(groups)) => {
                for group in groups {
                    // mail-parser represents addresses outside any group, in a
                    // header that also has groups, as groups without a name.
                    if group.name.is_some() {
                        self.note_first(None);
                    }
                    let index = group.name.as_ref().map(|name| {
                        msg.groups.push(Group {
                            name: name.to_string(),
                            field: self.field,
                            line: self.placer.line(),
                            members: group.addresses.len(),
                        });
                        msg.groups.len() - 1
                    });
                    msg.addresses.reserve(group.addresses.len());
                    for addr in &group.addresses {
                        self.push_one(msg, addr, index);
                    }
                }
            }
        }
    }

    fn push_one(&mut self, msg: &mut Message, addr: &mail_parser::Addr<'_>, group: Option<usize>) {
        let spec = addr.address.as_deref().unwrap_or("").trim();
        let mut name = addr
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty());
        if spec.is_empty()
            && let Some(comment) = name
            && self.placer.skip_comment_entry(comment)
        {
            // `group: (some text);`: a comment, which mail-parser reports
            // as a name without an address. Nothing was addressed.
            self.note_first(None);
            return;
        }
        let line = self.placer.place(spec);
        self.note_first(self.placer.last_match.map(|at| (at, spec.len())));
        let quoted = if spec.starts_with('@') {
            self.placer.quoted_before_match()
        } else {
            None
        };
        let spec = match (quoted, self.placer.copied_match(spec)) {
            // `"john doe"@example.com`: mail-parser took the quoted local
            // part for a display name.
            (Some(quoted), _) => {
                name = None;
                msg.push_text(&format!("{quoted}{spec}"))
            }
            (None, Some(span)) => span,
            (None, None) => msg.push_text(spec),
        };
        let name = name.map(|n| msg.push_text(n));
        if let Some(at) = self.placer.last_match {
            self.flush(msg, at);
        }
        msg.push_address(self.field, spec, name, line, group);
    }

    fn finish(mut self, msg: &mut Message) {
        self.flush(msg, usize::MAX);
    }
}

/// Places the addresses of a header cut into pieces on every core, each
/// piece from its own start (see [`Merge`]). False, with nothing added,
/// when a piece is not placed as placing the whole header places it: the
/// caller then places the header serially.
fn place_on_every_core(
    msg: &mut Message,
    field: Field,
    text: &[u8],
    line: usize,
    copy: Span,
    piece_bytes: usize,
) -> bool {
    let before = (msg.addresses.len(), msg.groups.len(), msg.text.len());
    let empties = empty_angle_addrs(text);
    let mut merge = Merge {
        text,
        cursor: 0,
        line,
        header_line: line,
        newlines: 0,
    };
    let placed = in_pieces(
        text,
        piece_bytes,
        |piece, parsed| place_piece(field, text, copy, &empties, piece, &parsed),
        |placed| merge.append(msg, placed),
    );
    if !placed {
        msg.addresses.truncate(before.0);
        msg.groups.truncate(before.1);
        msg.text.truncate(before.2);
    }
    placed
}

/// A piece of a header, its addresses placed as if placing had reached the
/// piece's start with nothing pending: in a model of its own, whose lines
/// count from the piece's first line.
struct Placed {
    model: Message,
    start: usize,
    /// Line breaks in the piece.
    newlines: usize,
    first: First,
    /// Which of the model's addresses are empty `<>` entries.
    empty_indices: Vec<usize>,
    /// Where placing ended: the placer's cursor, and its line.
    cursor: usize,
    line: usize,
}

fn place_piece(
    field: Field,
    text: &[u8],
    copy: Span,
    empties: &[usize],
    piece: std::ops::Range<usize>,
    parsed: &HeaderValue<'_>,
) -> Placed {
    let mut model = Message {
        first_line: Some(0),
        ..Message::default()
    };
    let mut placer = LinePlacer::new(text, Some(0), copy);
    placer.cursor = piece.start;
    let from = empties.partition_point(|&at| at < piece.start);
    let to = empties.partition_point(|&at| at < piece.end);
    let own_empties = empties.get(from..to).unwrap_or_default().to_vec();
    let (first, empty_indices) = {
        let mut entries = Entries::with_empties(field, &mut placer, own_empties, piece.start);
        let list = match parsed {
            HeaderValue::Address(list) => Some(list),
            _ => None,
        };
        entries.push(&mut model, list);
        entries.flush(&mut model, usize::MAX);
        (entries.first, entries.empty_indices)
    };
    let bytes = text.get(piece.clone()).unwrap_or_default();
    Placed {
        model,
        start: piece.start,
        newlines: memchr::memchr_iter(b'\n', bytes).count(),
        first,
        empty_indices,
        cursor: placer.cursor,
        line: placer.line.unwrap_or(0),
    }
}

/// Where placing the whole header would be at the start of the next
/// piece: pieces placed on their own are checked against it, and appended.
///
/// Placing searches for each address forward from the previous one, and
/// counts lines on the way. A piece placed from its own start is placed as
/// the whole header places it if placing its first address from this state
/// finds it at the same offset, and placing the previous piece stopped
/// before this one (so that it took none of its empty `<>` entries): from
/// that address on, both are in the same state, their lines apart by a
/// constant. Empty entries count their lines from the header's start
/// either way. The first piece starts in the state the header starts in.
struct Merge<'t> {
    text: &'t [u8],
    cursor: usize,
    line: usize,
    header_line: usize,
    /// Line breaks before the next piece.
    newlines: usize,
}

impl Merge<'_> {
    /// Appends the piece's addresses and groups to the model, or says it
    /// cannot (false), adding nothing.
    fn append(&mut self, msg: &mut Message, placed: Placed) -> bool {
        if self.cursor > placed.start {
            return false;
        }
        let base = match placed.first {
            First::Nothing => None,
            _ if placed.start == 0 => Some(self.header_line),
            First::Found { at, len, line } => {
                let end = self
                    .text
                    .len()
                    .min(self.cursor + ADDRESS_SEARCH_WINDOW + len);
                let window = self.text.get(self.cursor..end).unwrap_or_default();
                let address = self.text.get(at..at + len).unwrap_or_default();
                if find(window, address) != Some(at - self.cursor) {
                    return false;
                }
                let skipped = self.text.get(self.cursor..at).unwrap_or_default();
                let serial = self.line + memchr::memchr_iter(b'\n', skipped).count();
                Some(serial.saturating_sub(line))
            }
            First::Other => return false,
        };
        let empty_base = self.header_line + self.newlines;
        let line_base = base.unwrap_or(empty_base);
        let (text_shift, group_shift) = (msg.text.len(), msg.groups.len());
        msg.text.push_str(&placed.model.text);
        msg.groups
            .extend(placed.model.groups.into_iter().map(|group| Group {
                line: group.line.map(|l| line_base + l),
                ..group
            }));
        let mut empties = placed.empty_indices.into_iter().peekable();
        for (i, entry) in placed.model.addresses.iter().enumerate() {
            let (addr, line) = if empties.next_if_eq(&i).is_some() {
                (entry.addr, empty_base + entry.line())
            } else {
                (entry.addr.after(text_shift), line_base + entry.line())
            };
            let name = (entry.name.len > 0).then(|| entry.name.after(text_shift));
            let group = (entry.group != NO_GROUP).then(|| entry.group as usize + group_shift);
            msg.push_address(entry.field(), addr, name, Some(line), group);
        }
        self.newlines += placed.newlines;
        if let Some(base) = base {
            self.cursor = placed.cursor;
            self.line = base + placed.line;
        }
        true
    }
}

/// Offsets of empty angle addresses (`<>`, `< >`) that stand alone as an
/// entry, with no display name before them in the same entry: the ones
/// mail-parser drops. Quoted strings and comments are skipped. One pass;
/// headers without such an entry cost a `memchr` scan, and a header of a
/// million bare addresses (no `<` at all) a scan on every core.
fn empty_angle_addrs(text: &[u8]) -> Vec<usize> {
    let next_non_space = |from: usize| {
        text.get(from..)
            .and_then(|rest| rest.iter().position(|b| !b.is_ascii_whitespace()))
            .map(|i| from + i)
    };
    let has_angle = |text: &[u8]| memchr::memchr(b'<', text).is_some();
    let any = (text.len() < PARALLEL_SCAN_FROM
        || text.par_chunks(PARALLEL_SCAN_FROM).any(has_angle))
        && memchr::memchr_iter(b'<', text)
            .any(|i| next_non_space(i + 1).is_some_and(|j| text.get(j) == Some(&b'>')));
    if !any {
        return Vec::new();
    }
    let mut found = Vec::new();
    let mut i = 0;
    let mut content = false;
    while let Some(&b) = text.get(i) {
        match b {
            b'"' | b'(' => {
                // Skip a quoted string or a (possibly nested) comment.
                let mut depth = 0usize;
                let quote = b == b'"';
                i += 1;
                while let Some(&c) = text.get(i) {
                    match c {
                        b'\\' => i += 1,
                        b'"' if quote => break,
                        b'(' if !quote => depth += 1,
                        b')' if !quote => {
                            if depth == 0 {
                                break;
                            }
                            depth -= 1;
                        }
                        _ => {}
                    }
                    i += 1;
                }
                content = true;
            }
            b',' | b';' | b':' => content = false,
            b'<' => match next_non_space(i + 1) {
                Some(j) if text.get(j) == Some(&b'>') => {
                    if !content {
                        found.push(i);
                    }
                    content = true;
                    i = j;
                }
                _ => content = true,
            },
            b if b.is_ascii_whitespace() => {}
            _ => content = true,
        }
        i += 1;
    }
    found
}

/// Appends the value of a header to the model's text as rules read it:
/// decoded where mail-parser decoded it; a header mail-parser has no parser
/// for, as its default parser would give it (trimmed, line breaks kept);
/// any other, the raw value unfolded.
/// The message's header block as text, if it is valid UTF-8 (nearly all
/// are): checked once, so that a header's value is a slice of it rather
/// than checked on its own, which cost 140 instructions a header (24 M
/// over the public real mail).
struct HeaderBlock<'r>(Option<&'r str>);

impl<'r> HeaderBlock<'r> {
    /// The block: the message's bytes up to where its body starts.
    fn new(raw: &'r [u8], body_start: usize) -> Self {
        HeaderBlock(
            raw.get(..body_start)
                .and_then(|block| std::str::from_utf8(block).ok()),
        )
    }

    /// `raw[range]` as text, as `str::from_utf8` gives it.
    fn text(&self, raw: &'r [u8], range: std::ops::Range<usize>) -> Option<&'r str> {
        match self.0.and_then(|block| block.get(range.clone())) {
            Some(text) => Some(text),
            None => std::str::from_utf8(raw.get(range).unwrap_or_default()).ok(),
        }
    }
}

fn push_header_value(
    msg: &mut Message,
    header: &mail_parser::Header<'_>,
    raw: &[u8],
    header_block: &HeaderBlock<'_>,
) -> Span {
    let start = msg.text.len();
    match &header.value {
        HeaderValue::Text(t) => msg.text.push_str(trim(t)),
        HeaderValue::TextList(list) => {
            for (i, item) in list.iter().enumerate() {
                if i > 0 {
                    msg.text.push_str(", ");
                }
                msg.text.push_str(item);
            }
        }
        _ => {
            let range = header.offset_start as usize..header.offset_end as usize;
            // Validating first is much faster than the lossy conversion
            // on the usual, valid text.
            let text = match header_block.text(raw, range.clone()) {
                Some(text) => Cow::Borrowed(text),
                None => String::from_utf8_lossy(raw.get(range).unwrap_or_default()),
            };
            if has_default_parser(&header.name) {
                // As mail-parser's default (raw) parser gives it, trimmed:
                // line breaks kept.
                msg.text.push_str(trim(&text));
            } else {
                unfold_into(&mut msg.text, &text);
            }
        }
    }
    Span::new(start, msg.text.len() - start)
}

/// The range of `s` that `str::trim` leaves. Header values start and end
/// in ASCII: their white space is stepped over byte by byte, and the
/// standard library's trim, which decodes a character at a time at each
/// end (75 instructions a value, for every header of every message), runs
/// only when a non-ASCII byte is left at an end.
fn trimmed(s: &str) -> std::ops::Range<usize> {
    let bytes = s.as_bytes();
    // ASCII's white space as `char::is_white_space` has it (with \x0B).
    let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\x0B' | b'\x0C' | b'\r');
    let start = bytes.iter().position(|b| !space(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !space(b))
        .map_or(start, |i| i + 1);
    let non_ascii = |b: Option<&u8>| b.is_some_and(|b| !b.is_ascii());
    if non_ascii(bytes.get(start)) || non_ascii(end.checked_sub(1).and_then(|i| bytes.get(i))) {
        let rest = s.get(start..end).unwrap_or_default();
        let lead = rest.len() - rest.trim_start().len();
        return start + lead..start + lead + rest.trim().len();
    }
    start..end
}

/// `str::trim`, by [`trimmed`].
fn trim(s: &str) -> &str {
    s.get(trimmed(s)).unwrap_or_default()
}

/// Appends a folded value's lines, trimmed, joined by single spaces.
fn unfold_into(out: &mut String, value: &str) {
    let value = trim(value);
    let start = out.len();
    let mut line_start = 0;
    for line_end in memchr::memchr_iter(b'\n', value.as_bytes()).chain([value.len()]) {
        let line = trim(value.get(line_start..line_end).unwrap_or_default());
        line_start = line_end + 1;
        if line.is_empty() {
            continue;
        }
        if out.len() > start {
            out.push(' ');
        }
        out.push_str(line);
    }
}

/// Turns byte offsets into file line numbers in one forward pass; offsets
/// arrive in increasing order, so the whole message is scanned at most once.
struct LineCounter<'a> {
    raw: &'a [u8],
    offset: usize,
    line: usize,
}

impl<'a> LineCounter<'a> {
    fn new(raw: &'a [u8], first_line: usize) -> Self {
        LineCounter {
            raw,
            offset: 0,
            line: first_line,
        }
    }

    fn line_at(&mut self, offset: usize) -> usize {
        let offset = offset.min(self.raw.len());
        if offset < self.offset {
            // Out of order (a malformed MIME tree): count from the start again.
            self.line -= count_byte(b'\n', &self.raw[offset..self.offset]);
        } else {
            self.line += count_byte(b'\n', &self.raw[self.offset..offset]);
        }
        self.offset = offset;
        self.line
    }
}

/// How many times `byte` is in `bytes`, by memchr's vector code; in a
/// header of a million addresses, on every core. A header's few dozen
/// bytes cost less this way too than by a loop of our own, which the
/// compiler left byte by byte (85 M instructions of the 2,000 M parsing
/// the public real mail took, against 44 M).
fn count_byte(byte: u8, bytes: &[u8]) -> usize {
    let count = |bytes: &[u8]| memchr::memchr_iter(byte, bytes).count();
    if bytes.len() < PARALLEL_SCAN_FROM {
        count(bytes)
    } else {
        bytes.par_chunks(PARALLEL_SCAN_FROM).map(count).sum()
    }
}

/// Spans from this size are counted or searched on every core, a piece of
/// this size at a time.
const PARALLEL_SCAN_FROM: usize = 1 << 20;

/// Finds the line of each address inside a (possibly folded) header value,
/// searching forward from the previous address.
pub(super) struct LinePlacer<'a> {
    text: &'a [u8],
    cursor: usize,
    /// Line of the header's first line; `None` for sources without lines.
    first_line: Option<usize>,
    line: Option<usize>,
    /// Offset in `text` where the last placed address was found.
    last_match: Option<usize>,
    /// Where the model keeps `text` (line breaks turned into spaces).
    copy: Span,
}

impl<'a> LinePlacer<'a> {
    /// `text` is the header's raw value; `line` the line it starts on, or
    /// `None` for sources without line numbers (JSON drafts).
    /// `copy` is where the model keeps `text`, so that addresses found in
    /// it need no string of their own.
    pub(super) fn new(text: &'a [u8], line: Option<usize>, copy: Span) -> Self {
        LinePlacer {
            text,
            cursor: 0,
            first_line: line,
            line,
            last_match: None,
            copy,
        }
    }

    /// Where the copy of the address just placed is in the model's text,
    /// if it was found verbatim and is the same in the copy (no line break).
    fn copied_match(&self, spec: &str) -> Option<Span> {
        let at = self.last_match?;
        // Bytes, not characters: this runs once per address.
        (memchr::memchr2(b'\r', b'\n', spec.as_bytes()).is_none())
            .then(|| self.copy.sub(at, spec.len()))
    }

    fn line(&self) -> Option<usize> {
        self.line
    }

    fn place(&mut self, spec: &str) -> Option<usize> {
        self.last_match = None;
        if spec.is_empty() {
            return self.line;
        }
        let end = self
            .text
            .len()
            .min(self.cursor + ADDRESS_SEARCH_WINDOW + spec.len());
        let window = self.text.get(self.cursor..end).unwrap_or_default();
        if let Some(pos) = find(window, spec.as_bytes()) {
            // Usually a few bytes (`,\n `): counted without memchr's setup.
            let newlines = window[..pos].iter().filter(|&&b| b == b'\n').count();
            self.line = self.line.map(|line| line + newlines);
            self.last_match = Some(self.cursor + pos);
            self.cursor += pos + spec.len();
        }
        self.line
    }

    /// Whether `(comment)` stands alone as an entry (only separators or
    /// the header's ends around it) ahead of the cursor; if so the cursor
    /// moves past it.
    fn skip_comment_entry(&mut self, comment: &str) -> bool {
        let needle = format!("({comment})");
        let end = self
            .text
            .len()
            .min(self.cursor + ADDRESS_SEARCH_WINDOW + needle.len());
        let window = self.text.get(self.cursor..end).unwrap_or_default();
        let Some(pos) = find(window, needle.as_bytes()) else {
            return false;
        };
        let separated = |b: Option<&u8>| b.is_none_or(|b| matches!(b, b',' | b';' | b':'));
        let alone = separated(
            window[..pos]
                .iter()
                .rev()
                .find(|b| !b.is_ascii_whitespace()),
        ) && separated(
            window[pos + needle.len()..]
                .iter()
                .find(|b| !b.is_ascii_whitespace()),
        );
        if alone {
            self.cursor += pos + needle.len();
        }
        alone
    }

    /// The quoted string (quotes included) that ends right where the last
    /// placed address starts, if there is one: `"john doe"` before
    /// `@example.com`.
    fn quoted_before_match(&self) -> Option<String> {
        let at = self.last_match?;
        let before = self.text.get(..at)?;
        let close = before.len().checked_sub(1)?;
        if before.get(close) != Some(&b'"') {
            return None;
        }
        // The opening quote: the previous `"` not escaped by a backslash.
        let mut open = close;
        loop {
            open = memchr::memrchr(b'"', before.get(..open)?)?;
            let escapes = before[..open]
                .iter()
                .rev()
                .take_while(|&&b| b == b'\\')
                .count();
            if escapes % 2 == 0 {
                break;
            }
        }
        let quoted = String::from_utf8_lossy(&before[open..=close]);
        // A folded quoted string: unfold it as mail-parser would.
        Some(quoted.replace(['\r', '\n'], ""))
    }
}

/// First occurrence of `needle` in a short `haystack`. The address is
/// usually within a few bytes of the cursor, where building a `memmem`
/// searcher would cost more than the search.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut from = 0;
    while let Some(i) = memchr::memchr(first, &haystack[from..]) {
        let at = from + i;
        if haystack[at + 1..].starts_with(rest) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{
        Entries, Field, LinePlacer, Message, Span, parse_in_pieces, parse_rfc5322,
        parse_rfc5322_owned, place_on_every_core,
    };
    use crate::message::parse_json_draft;
    use mail_parser::HeaderName;

    /// A header's value placed serially and piece by piece on every core;
    /// whether the latter managed.
    fn placed_both_ways(value: &str, piece: usize) -> (Message, Message, bool) {
        let copy = Span::in_source(0, value.len()).unwrap();
        let blank = Message {
            first_line: Some(1),
            ..Message::default()
        };
        let mut serial = blank.clone();
        let mut placer = LinePlacer::new(value.as_bytes(), Some(2), copy);
        let mut entries = Entries::new(Field::To, &mut placer);
        parse_in_pieces(value.as_bytes(), piece, |list| {
            entries.push(&mut serial, list);
        });
        entries.finish(&mut serial);
        let mut parallel = blank;
        let placed =
            place_on_every_core(&mut parallel, Field::To, value.as_bytes(), 2, copy, piece);
        (serial, parallel, placed)
    }

    #[test]
    fn pieces_placed_on_every_core_are_placed_as_the_whole_header() {
        let entries: Vec<String> = (0..3_000)
            .map(|i| match i % 6 {
                0 => format!("\"Smith, {i}\" <u{i}@example.com>"),
                1 => format!("(c, {i}) c{i}@example.net"),
                2 => "<>".to_string(),
                3 => format!("\"john {i}\"@example.com"),
                4 => format!("=?utf-8?q?d_{i}?= <d{i}@example.com>"),
                _ => format!("e{i}@example.com"),
            })
            .collect();
        let value = format!(" {}\n", entries.join(",\n "));
        let (serial, parallel, placed) = placed_both_ways(&value, 1_000);
        assert!(placed);
        assert_eq!(serial.addresses().count(), 3_000);
        assert_eq!(parallel, serial);
    }

    #[test]
    fn a_piece_starting_with_a_group_is_placed_serially() {
        let value = " a@x.com,\n team: b@x.com, c@x.com;,\n d@x.com\n";
        let (serial, parallel, placed) = placed_both_ways(value, 1);
        assert!(!placed);
        assert!(parallel.addresses().next().is_none() && parallel.groups.is_empty());
        assert_eq!(serial.addresses().count(), 4);
    }

    #[test]
    fn shortened_address_headers_parse_as_the_message() {
        let raw = concat!(
            "From: me@example.com\r\n",
            "To: a@x.com,\r\n b@x.com,\r\n\t\"c, d\" <c@x.com>\r\n",
            "Subject: folded\r\n too\r\n",
            "cc:\n e@x.com,\n f@x.com\n",
            "Content-Type: multipart/mixed; boundary=\"b\"\r\n",
            "\r\n",
            "--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n",
            "--b\r\nContent-Type: text/csv\r\nContent-Disposition: attachment; ",
            "filename=x.csv\r\n\r\na,b\r\n--b--\r\n"
        );
        let shortened = super::Shortened::new(raw.as_bytes(), 0).unwrap();
        assert_eq!(shortened.gaps.len(), 2);
        let parsed = shortened.parse().unwrap();
        let whole = super::MESSAGE_PARSER.parse(raw.as_bytes()).unwrap();
        assert_eq!(parsed.parts, whole.parts);
        // Where mail-parser read no address header ending at a gap, the
        // shortened message is not used.
        let bogus = super::Shortened {
            bytes: raw.as_bytes().to_vec(),
            gaps: vec![(30, 5)],
        };
        assert!(bogus.parse().is_none());
        // A header that is not what it seemed is parsed from the message.
        let raw = "From: me@example.com\nX: y\nTo\n x@y.com\n\nbody\n";
        assert!(super::Shortened::new(raw.as_bytes(), 0).is_none());
        let raw = "From: a@b.com\n\n\nTo: x@y.com,\n z@y.com\n\nbody\n";
        assert!(super::Shortened::new(raw.as_bytes(), 0).is_none());
    }

    proptest::proptest! {
        /// A field ends at its first line break not followed by white
        /// space, looked for block by block (fields longer than a block).
        #[test]
        fn field_end_is_where_mail_parser_ends_a_field(
            folds in 0usize..3_000,
            tail in "[\n \tx]{0,4}",
            from in 0usize..12,
        ) {
            let raw = format!("{}{tail}", "a\n ".repeat(folds));
            let raw = raw.as_bytes();
            let expected = (from..raw.len())
                .find(|&i| raw[i] == b'\n' && !matches!(raw.get(i + 1), Some(b' ' | b'\t')));
            proptest::prop_assert_eq!(super::field_end(raw, from), expected);
        }

        /// `trim` is `str::trim`, Unicode white space and all.
        #[test]
        fn trim_is_the_standard_trim(text in "[ \t\r\n\x0B\x0C\u{1C}\u{85}\u{A0}\u{3000}aé]{0,8}") {
            proptest::prop_assert_eq!(super::trim(&text), text.trim());
        }
    }

    fn entries(to: &str) -> Vec<(Option<String>, String, Option<usize>)> {
        let raw = format!("From: a@example.com\nTo: {to}\n\nx\n");
        parse_rfc5322(raw.as_bytes(), 1)
            .unwrap()
            .recipients()
            .map(|a| (a.name.map(str::to_string), a.addr.to_string(), a.line))
            .collect()
    }

    fn addrs(to: &str) -> Vec<String> {
        entries(to).into_iter().map(|(_, a, _)| a).collect()
    }

    #[test]
    fn broken_entries_are_kept_as_written() {
        assert_eq!(addrs("j.doe@@example.com"), ["j.doe@@example.com"]);
        assert_eq!(addrs("parent.smith@example"), ["parent.smith@example"]);
        assert_eq!(addrs("a@b..com"), ["a@b..com"]);
        assert_eq!(
            entries("mrs.khan.hotmail.co.uk"),
            [(
                Some("mrs.khan.hotmail.co.uk".to_string()),
                String::new(),
                Some(2)
            )]
        );
    }

    #[test]
    fn empty_angle_addresses_are_kept_in_order_and_place() {
        assert_eq!(entries("<>"), [(None, String::new(), Some(2))]);
        assert_eq!(addrs("a@b.com, <>, c@d.com"), ["a@b.com", "", "c@d.com"]);
        assert_eq!(
            entries("a@b.com,\n < >,\n c@d.com")
                .iter()
                .map(|e| e.2)
                .collect::<Vec<_>>(),
            [Some(2), Some(3), Some(4)]
        );
        // With a name, mail-parser keeps the entry itself; not counted twice.
        assert_eq!(
            entries("Bob <>, \"x <> y\" <x@y.com>"),
            [
                (Some("Bob".to_string()), String::new(), Some(2)),
                (Some("x <> y".to_string()), "x@y.com".to_string(), Some(2)),
            ]
        );
    }

    #[test]
    fn quoted_local_parts_are_restored() {
        assert_eq!(
            entries("\"john doe\"@example.com, Bob <b@x.com>"),
            [
                (None, "\"john doe\"@example.com".to_string(), Some(2)),
                (Some("Bob".to_string()), "b@x.com".to_string(), Some(2)),
            ]
        );
        assert_eq!(addrs("\"a\\\"b\"@example.com"), ["\"a\\\"b\"@example.com"]);
        assert_eq!(addrs("John <\"j d\"@example.com>"), ["\"j d\"@example.com"]);
    }

    #[test]
    fn comments_are_not_entries() {
        assert_eq!(entries("team: (to follow);, b@x.com").len(), 1);
        assert_eq!(
            entries("(Bob) bob@x.com")[0],
            (Some("Bob".to_string()), "bob@x.com".to_string(), Some(2))
        );
    }

    #[test]
    fn address_headers_keep_their_text_with_line_breaks_as_spaces() {
        let raw = "From: a@example.com\nTo: Ann <ann@x.com>,\n bob@y.com\nSubject: s\n\nx\n";
        let msg = parse_rfc5322(raw.as_bytes(), 1).unwrap();
        assert_eq!(
            msg.header("To").unwrap().value,
            "Ann <ann@x.com>,  bob@y.com"
        );
        assert_eq!(msg.header("Subject").unwrap().value, "s");
        let to: Vec<_> = msg.recipients().map(|a| (a.name, a.addr, a.line)).collect();
        assert_eq!(
            to,
            [
                (Some("Ann"), "ann@x.com", Some(2)),
                (None, "bob@y.com", Some(3))
            ]
        );
        // Giving the parser the bytes builds the same model.
        assert_eq!(
            parse_rfc5322_owned(raw.as_bytes().to_vec(), 1).unwrap(),
            msg
        );
    }

    #[test]
    fn address_fields_are_the_headers_parsed_for_addresses() {
        for (field, name) in super::ADDRESS_FIELDS {
            assert_eq!(super::address_field(&name), Some(field));
        }
        assert_eq!(super::address_field(&HeaderName::ResentFrom), None);
        assert_eq!(
            super::address_field(&HeaderName::Other("X-To".into())),
            None
        );
    }

    #[test]
    fn only_headers_without_a_parser_of_their_own_are_read_raw() {
        use super::{TEXT_HEADERS, UNFOLDED_HEADERS, has_default_parser};
        assert!(has_default_parser(&HeaderName::Other("X-Note".into())));
        assert!(has_default_parser(&HeaderName::MimeVersion));
        for name in TEXT_HEADERS.iter().chain(&UNFOLDED_HEADERS) {
            assert!(!has_default_parser(name), "{name:?}");
        }
        assert!(!has_default_parser(&HeaderName::To));
        assert!(!has_default_parser(&HeaderName::ContentType));
    }

    #[test]
    fn header_values_are_kept_decoded_or_unfolded() {
        let raw = concat!(
            "From: a@example.com\n",
            "Date: Mon, 1 Jan 2024\n  10:00:00 +0000\n",
            "List-Id: Team\n <team.example.com>\n",
            "Resent-From: Ann <ann@example.com>\n",
            "References: <a@x>\n <b@x>\n",
            "Subject: =?utf-8?q?caf=C3=A9?= \n",
            "X-Note:  one\n two \n",
            "MIME-Version: 1.0\n (generated)\n",
            "X-Empty: \n",
            "Content-Type: text/plain;\n charset=utf-8\n",
            "\nx\n"
        );
        let msg = parse_rfc5322(raw.as_bytes(), 1).unwrap();
        let values: Vec<(&str, &str)> = msg.headers().map(|h| (h.name, h.value)).collect();
        assert_eq!(
            values,
            [
                ("From", "a@example.com"),
                ("Date", "Mon, 1 Jan 2024 10:00:00 +0000"),
                ("List-ID", "Team <team.example.com>"),
                ("Resent-From", "Ann <ann@example.com>"),
                ("References", "a@x, b@x"),
                ("Subject", "café"),
                // Other headers keep their line breaks, as mail-parser gives them.
                ("X-Note", "one\n two"),
                ("MIME-Version", "1.0\n (generated)"),
                ("X-Empty", ""),
                ("Content-Type", "text/plain; charset=utf-8"),
            ]
        );
        assert!(msg.has_date && msg.is_reply);
        assert_eq!(msg.list_id.as_deref(), Some("Team <team.example.com>"));
    }

    #[test]
    fn invalid_utf8_in_headers_does_not_shift_addresses() {
        let raw =
            b"Subject: caf\xe9\nFrom: a@example.com\nTo: \xe9l\xe8ve <e@x.com>, f@x.com\n\nx\n";
        for msg in [
            parse_rfc5322(raw, 1).unwrap(),
            parse_rfc5322_owned(raw.to_vec(), 1).unwrap(),
        ] {
            let to: Vec<&str> = msg.recipients().map(|a| a.addr).collect();
            assert_eq!(to, ["e@x.com", "f@x.com"]);
            assert_eq!(msg.sender().unwrap().addr, "a@example.com");
            assert!(
                msg.header("To")
                    .unwrap()
                    .value
                    .ends_with("<e@x.com>, f@x.com")
            );
        }
    }

    #[test]
    fn invalid_utf8_between_address_headers_is_kept_out_of_them() {
        let raw = b"From: a@example.com\nX-Junk: caf\xe9\nTo: \xe9l <e@x.com>,\n f@x.com\n\nx\n";
        let msg = parse_rfc5322_owned(raw.to_vec(), 1).unwrap();
        let to: Vec<&str> = msg.recipients().map(|a| a.addr).collect();
        assert_eq!(to, ["e@x.com", "f@x.com"]);
        assert_eq!(msg.sender().unwrap().addr, "a@example.com");
        assert_eq!(msg.header("From").unwrap().value, "a@example.com");
        assert_eq!(msg.header("X-Junk").unwrap().value, "caf\u{FFFD}");
        let msg = parse_rfc5322_owned(
            b"From: a@example.com\nTo: b@x.com,\n c@x.com\n\nx\n".to_vec(),
            1,
        )
        .unwrap();
        assert_eq!(msg.header("To").unwrap().value, "b@x.com,  c@x.com");
    }

    proptest::proptest! {
        /// A range of the header block is the text `str::from_utf8` makes
        /// of its bytes, whether the block is valid or not.
        #[test]
        fn header_block_text_is_the_bytes_as_text(
            bytes in proptest::collection::vec(
                proptest::sample::select(vec![b'a', b':', b'\n', b' ', 0xC3, 0xA9, 0xE9, 0xFF]),
                0..40,
            ),
            body_start in 0usize..48,
            start in 0usize..48,
            len in 0usize..48,
        ) {
            let block = super::HeaderBlock::new(&bytes, body_start);
            let range = start..start + len;
            let expected = std::str::from_utf8(bytes.get(range.clone()).unwrap_or_default()).ok();
            proptest::prop_assert_eq!(block.text(&bytes, range), expected);
        }
    }

    #[test]
    fn json_drafts_get_the_same_repairs() {
        let msg =
            parse_json_draft(br#"{"to": ["<>", "\"john doe\"@example.com", "ann@example.com"]}"#)
                .unwrap();
        let got: Vec<&str> = msg.recipients().map(|a| a.addr).collect();
        assert_eq!(got, ["", "\"john doe\"@example.com", "ann@example.com"]);
        assert!(msg.recipients().all(|a| a.line.is_none()));
    }
}
