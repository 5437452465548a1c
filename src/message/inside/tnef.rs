//! winmail.dat (TNEF, `application/ms-tnef`): the attachments Outlook
//! packs into it, each read as a file of its own. Written by hand: no
//! maintained crate reads TNEF. Only the attachment attributes are read:
//! a new attachment starts at its rendering data, and has a title and
//! data; every length is checked against what is left.

use super::{FileKind, Reader, join};

const SIGNATURE: u32 = 0x223E_9F78;
/// attAttachRendData: starts an attachment.
const RENDER_DATA: u32 = 0x0006_9002;
/// attAttachTitle: its file name.
const TITLE: u32 = 0x0001_8010;
/// attAttachData: its content.
const DATA: u32 = 0x0006_800F;

pub(super) fn read(reader: &mut Reader, path: &str, bytes: &[u8], depth: u32) {
    reader.push(reader.file(path, FileKind::Winmail, bytes.len(), depth));
    let u32_at = |at: usize| {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    if u32_at(0) != Some(SIGNATURE) {
        return;
    }
    // Signature, then a two-byte key.
    let mut at = 6;
    let mut attachments: Vec<(Option<String>, Option<&[u8]>)> = Vec::new();
    // level (1), id (4), length (4), data, checksum (2)
    while let (Some(&level), Some(id), Some(length)) =
        (bytes.get(at), u32_at(at + 1), u32_at(at + 5))
    {
        let start = at + 9;
        let Some(data) = usize::try_from(length)
            .ok()
            .and_then(|len| start.checked_add(len))
            .and_then(|end| bytes.get(start..end))
        else {
            break;
        };
        at = start + data.len() + 2;
        if level != 2 {
            continue;
        }
        match id {
            RENDER_DATA => attachments.push((None, None)),
            TITLE => {
                if let Some(last) = attachments.last_mut() {
                    let name = data.split(|&b| b == 0).next().unwrap_or_default();
                    last.0 = Some(String::from_utf8_lossy(name).into_owned());
                }
            }
            DATA => {
                if let Some(last) = attachments.last_mut() {
                    last.1 = Some(data);
                }
            }
            _ => {}
        }
    }
    for (i, (name, data)) in attachments.into_iter().enumerate() {
        if reader.stopped() {
            return;
        }
        let Some(data) = data else { continue };
        let name = name.unwrap_or_else(|| format!("attachment {}", i + 1));
        let inner = join(path, &name);
        // Inside winmail.dat, a table or text file is known by its name
        // as in an archive, and an attached file is read like one.
        reader.read(&inner, data, depth + 1);
    }
}

/// A winmail.dat holding the given files, for tests.
#[cfg(test)]
pub(crate) fn build(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = SIGNATURE.to_le_bytes().to_vec();
    out.extend_from_slice(&[0x01, 0x00]);
    let attribute = |out: &mut Vec<u8>, level: u8, id: u32, data: &[u8]| {
        out.push(level);
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
        let checksum = data.iter().fold(0u16, |s, &b| s.wrapping_add(u16::from(b)));
        out.extend_from_slice(&checksum.to_le_bytes());
    };
    attribute(&mut out, 1, 0x0009_8008, b"IPM.Microsoft Mail.Note\0");
    for (name, data) in files {
        attribute(&mut out, 2, RENDER_DATA, &[0; 14]);
        let mut title = name.as_bytes().to_vec();
        title.push(0);
        attribute(&mut out, 2, TITLE, &title);
        attribute(&mut out, 2, DATA, data);
    }
    out
}
