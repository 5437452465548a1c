use super::cost::check_parse_cost;
use super::{
    Address, Attachment, BodyKind, BodyPart, Field, Group, HeaderField, Message, has_reply_prefix,
};
use crate::guard::catch_panic;
use mail_parser::{HeaderName, HeaderValue, MessageParser, MimeHeaders, PartType};

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
pub fn parse_rfc5322(raw: &[u8], first_line: usize) -> Result<Message, String> {
    check_parse_cost(raw)?;
    catch_panic(|| {
        let parsed = MessageParser::default().parse(raw)?;
        let msg = build(&parsed, raw, first_line);
        dismantle(parsed);
        msg
    })
    .map_err(|panic| format!("could not parse: internal parser error ({panic}); not checked"))?
    .ok_or_else(|| "not an email message: no header fields".to_string())
}

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

fn build(parsed: &mail_parser::Message<'_>, raw: &[u8], first_line: usize) -> Option<Message> {
    let root = parsed.parts.first()?;
    let mut lines = LineCounter::new(raw, first_line);
    let mut msg = Message {
        raw_size: raw.len(),
        ..Message::default()
    };

    for header in &root.headers {
        let line = lines.line_at(header.offset_field as usize);
        let name = header.name.as_str();
        let value = header_text(&header.value, raw, header);
        match &header.name {
            HeaderName::Subject => msg.subject = Some(value.clone()),
            HeaderName::MessageId => msg.message_id = Some(value.clone()),
            HeaderName::Date => msg.has_date = true,
            HeaderName::InReplyTo | HeaderName::References => msg.is_reply = true,
            HeaderName::ListId => msg.list_id = Some(value.clone()),
            HeaderName::Other(n) if n.eq_ignore_ascii_case("Precedence") => {
                msg.precedence = Some(value.trim().to_ascii_lowercase());
            }
            _ => {}
        }
        if let (Some(field), HeaderValue::Address(list)) =
            (address_field(&header.name), &header.value)
        {
            let text = raw
                .get(header.offset_start as usize..header.offset_end as usize)
                .unwrap_or_default();
            let mut placer = LinePlacer::new(text, line);
            push_addresses(&mut msg, list, field, &mut placer);
        }
        msg.headers.push(HeaderField {
            name: name.to_string(),
            value,
            line: Some(line),
        });
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
    for id in body_ids {
        let Some(part) = parsed.parts.get(id as usize) else {
            continue;
        };
        let (kind, text) = match &part.body {
            PartType::Text(t) => (BodyKind::Text, t),
            PartType::Html(h) => (BodyKind::Html, h),
            _ => continue,
        };
        let line = Some(lines.line_at(part.offset_body as usize));
        msg.body.push(BodyPart::new(kind, text.to_string(), line));
    }

    for part in parsed.attachments() {
        let content_type = part.content_type().map_or_else(
            || "application/octet-stream".to_string(),
            |ct| match ct.subtype() {
                Some(sub) => format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase(),
                None => ct.ctype().to_ascii_lowercase(),
            },
        );
        let text = match &part.body {
            PartType::Text(t) | PartType::Html(t) => Some(t.to_string()),
            _ => None,
        };
        msg.attachments.push(Attachment {
            filename: part.attachment_name().map(str::to_string),
            content_type,
            size: part.contents().len() as u64,
            text,
        });
    }
    Some(msg)
}

fn address_field(name: &HeaderName<'_>) -> Option<Field> {
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
    value: &mail_parser::Address<'_>,
    field: Field,
    placer: &mut LinePlacer<'_>,
) {
    let push = |msg: &mut Message,
                placer: &mut LinePlacer<'_>,
                addr: &mail_parser::Addr<'_>,
                group: Option<usize>| {
        let spec = addr.address.as_deref().unwrap_or("").trim().to_string();
        let line = placer.place(&spec);
        msg.addresses.push(Address {
            name: addr
                .name
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string),
            addr: spec,
            field,
            line,
            group,
        });
    };
    match value {
        mail_parser::Address::List(list) => {
            for addr in list {
                push(msg, placer, addr, None);
            }
        }
        mail_parser::Address::Group(groups) => {
            for group in groups {
                // mail-parser represents addresses outside any group, in a
                // header that also has groups, as groups without a name.
                let index = group.name.as_ref().map(|name| {
                    msg.groups.push(Group {
                        name: name.to_string(),
                        field,
                        line: placer.line(),
                        members: group.addresses.len(),
                    });
                    msg.groups.len() - 1
                });
                for addr in &group.addresses {
                    push(msg, placer, addr, index);
                }
            }
        }
    }
}

/// The value of a header as text: decoded where mail-parser decoded it,
/// otherwise the raw value, unfolded.
fn header_text(value: &HeaderValue<'_>, raw: &[u8], header: &mail_parser::Header<'_>) -> String {
    match value {
        HeaderValue::Text(t) => t.trim().to_string(),
        HeaderValue::TextList(list) => list.join(", "),
        _ => {
            let bytes = raw
                .get(header.offset_start as usize..header.offset_end as usize)
                .unwrap_or_default();
            unfold(&String::from_utf8_lossy(bytes))
        }
    }
}

fn unfold(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (i, line) in value.lines().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(line.trim());
    }
    out.trim().to_string()
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
            self.line -= memchr::memchr_iter(b'\n', &self.raw[offset..self.offset]).count();
        } else {
            self.line += memchr::memchr_iter(b'\n', &self.raw[self.offset..offset]).count();
        }
        self.offset = offset;
        self.line
    }
}

/// Finds the line of each address inside a (possibly folded) header value,
/// searching forward from the previous address.
pub(super) struct LinePlacer<'a> {
    text: &'a [u8],
    cursor: usize,
    line: Option<usize>,
}

impl<'a> LinePlacer<'a> {
    pub(super) fn new(text: &'a [u8], line: usize) -> Self {
        LinePlacer {
            text,
            cursor: 0,
            line: Some(line),
        }
    }

    /// For sources without line numbers.
    pub(super) fn without_lines() -> Self {
        LinePlacer {
            text: &[],
            cursor: 0,
            line: None,
        }
    }

    fn line(&self) -> Option<usize> {
        self.line
    }

    fn place(&mut self, spec: &str) -> Option<usize> {
        let line = self.line?;
        if spec.is_empty() {
            return Some(line);
        }
        let end = self
            .text
            .len()
            .min(self.cursor + ADDRESS_SEARCH_WINDOW + spec.len());
        let window = &self.text[self.cursor..end];
        if let Some(pos) = find(window, spec.as_bytes()) {
            let newlines = memchr::memchr_iter(b'\n', &window[..pos]).count();
            self.line = Some(line + newlines);
            self.cursor += pos + spec.len();
        }
        self.line
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
