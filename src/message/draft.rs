//! JSON drafts in the shape mail-sending APIs accept.

use super::cost::check_parse_cost;
use super::rfc5322::{LinePlacer, push_addresses, with_address_list};
use super::{Attachment, BodyKind, BodyPart, Field, Message, ParseError, has_reply_prefix};
use crate::guard::catch_panic;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Draft {
    from: Option<String>,
    sender: Option<String>,
    #[serde(default)]
    to: OneOrMany,
    #[serde(default)]
    cc: OneOrMany,
    #[serde(default)]
    bcc: OneOrMany,
    #[serde(default)]
    reply_to: OneOrMany,
    subject: Option<String>,
    text: Option<String>,
    html: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    attachments: Vec<DraftAttachment>,
}

#[derive(Deserialize, Default)]
#[serde(untagged)]
enum OneOrMany {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::None => Vec::new(),
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DraftAttachment {
    filename: Option<String>,
    content_type: Option<String>,
    #[serde(default)]
    size: u64,
}

/// Builds the model from a JSON draft. The error is serde's description of
/// what is wrong, with its line and column in the draft. Like
/// [`parse_rfc5322`](super::parse_rfc5322), it never panics.
pub fn parse_json_draft(raw: &[u8]) -> Result<Message, ParseError> {
    catch_panic(|| build(raw)).map_err(ParseError::ParserPanicked)?
}

fn build(raw: &[u8]) -> Result<Message, ParseError> {
    let draft: Draft =
        serde_json::from_slice(raw).map_err(|e| ParseError::InvalidDraft(e.to_string()))?;
    let mut msg = Message {
        raw_size: raw.len(),
        ..Message::default()
    };
    for (field, entries) in [
        (Field::From, draft.from.into_iter().collect()),
        (Field::Sender, draft.sender.into_iter().collect()),
        (Field::ReplyTo, draft.reply_to.into_vec()),
        (Field::To, draft.to.into_vec()),
        (Field::Cc, draft.cc.into_vec()),
        (Field::Bcc, draft.bcc.into_vec()),
    ] {
        push_address_strings(&mut msg, field, &entries)?;
    }
    for (name, value) in draft.headers {
        match name.to_ascii_lowercase().as_str() {
            "in-reply-to" | "references" => msg.is_reply = true,
            "message-id" => msg.message_id = Some(value.clone()),
            "date" => msg.has_date = true,
            "list-id" => msg.list_id = Some(value.clone()),
            "precedence" => msg.precedence = Some(value.trim().to_ascii_lowercase()),
            _ => {}
        }
        msg.push_header(&name, &value, None);
    }
    if let Some(subject) = draft.subject {
        msg.is_reply |= has_reply_prefix(&subject);
        msg.push_header("Subject", &subject, None);
        msg.subject = Some(subject);
    }
    for (kind, text) in [(BodyKind::Text, draft.text), (BodyKind::Html, draft.html)] {
        if let Some(text) = text {
            msg.body.push(BodyPart::new(kind, text, None));
        }
    }
    msg.attachments = draft
        .attachments
        .into_iter()
        .map(|a| Attachment {
            filename: a.filename,
            content_type: a
                .content_type
                .unwrap_or_else(|| "application/octet-stream".into())
                .to_ascii_lowercase(),
            size: a.size,
            ..Attachment::default()
        })
        .collect();
    Ok(msg)
}

/// Parses `"Name <a@b>"` strings with mail-parser's address parser, the
/// same one .eml headers go through, by presenting them as one header.
pub(super) fn push_address_strings(
    msg: &mut Message,
    field: Field,
    entries: &[String],
) -> Result<(), ParseError> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut header = String::from("To: ");
    for (i, entry) in entries.iter().enumerate() {
        if i > 0 {
            header.push_str(",\r\n ");
        }
        // A line break inside a JSON string would end the synthetic header.
        header.extend(entry.chars().map(|c| if c.is_control() { ' ' } else { c }));
    }
    header.push_str("\r\n\r\n");
    check_parse_cost(header.as_bytes())?;
    let text = header
        .get("To: ".len()..header.len().saturating_sub(4))
        .unwrap_or_default();
    let copy = msg.push_unfolded(text);
    let value = header.as_bytes().get("To:".len()..).unwrap_or_default();
    with_address_list(value, |list| {
        push_addresses(
            msg,
            list,
            field,
            &mut LinePlacer::new(text.as_bytes(), None, copy),
        );
    });
    Ok(())
}
