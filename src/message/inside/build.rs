//! Small files of every kind read inside attachments, built for tests
//! (unit tests, and the fixtures under `fixtures/`, which
//! `attachment_fixtures_are_up_to_date` keeps equal to what these build).

use crate::message::{Message, parse_rfc5322};
use std::io::{Cursor, Write};

/// One zip entry: stored, or deflated; `encrypted` sets the flag that
/// says so (the data is not really encrypted: readers go by the flag).
pub(crate) struct Entry<'a> {
    pub name: &'a str,
    pub data: &'a [u8],
    pub encrypted: bool,
    pub deflate: bool,
}

/// A zip file of these entries, fixed dates, written by hand so that
/// tests can set any flag.
pub(crate) fn zip(entries: &[Entry<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for e in entries {
        let mut crc = flate2::Crc::new();
        crc.update(e.data);
        let stored = if e.deflate {
            let mut encoder =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
            encoder.write_all(e.data).unwrap();
            encoder.finish().unwrap()
        } else {
            e.data.to_vec()
        };
        let flags: u16 = if e.encrypted { 1 } else { 0 };
        let method: u16 = if e.deflate { 8 } else { 0 };
        let offset = out.len() as u32;
        let fields = |sig: &[u8], central: bool| {
            let mut h = sig.to_vec();
            if central {
                h.extend_from_slice(&20u16.to_le_bytes());
            }
            h.extend_from_slice(&20u16.to_le_bytes());
            h.extend_from_slice(&flags.to_le_bytes());
            h.extend_from_slice(&method.to_le_bytes());
            h.extend_from_slice(&[0, 0, 0x21, 0]); // 1980-01-01 00:00
            h.extend_from_slice(&crc.sum().to_le_bytes());
            h.extend_from_slice(&(stored.len() as u32).to_le_bytes());
            h.extend_from_slice(&(e.data.len() as u32).to_le_bytes());
            h.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes());
            if central {
                // Comment length, disk, internal and external attributes.
                h.extend_from_slice(&[0; 10]);
                h.extend_from_slice(&offset.to_le_bytes());
            }
            h.extend_from_slice(e.name.as_bytes());
            h
        };
        out.extend(fields(b"PK\x03\x04", false));
        out.extend_from_slice(&stored);
        central.extend(fields(b"PK\x01\x02", true));
    }
    let central_start = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(b"PK\x05\x06\0\0\0\0");
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&central_start.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// A zip of these parts, deflated, none encrypted.
fn deflated<N: AsRef<str>, D: AsRef<[u8]>>(parts: &[(N, D)]) -> Vec<u8> {
    zip(&parts
        .iter()
        .map(|(name, data)| Entry {
            name: name.as_ref(),
            data: data.as_ref(),
            encrypted: false,
            deflate: true,
        })
        .collect::<Vec<_>>())
}

/// `n` distinct NHS numbers from `base` on, with valid check digits.
pub(crate) fn nhs_numbers(n: usize, mut base: u64) -> Vec<String> {
    let mut out = Vec::new();
    while out.len() < n {
        base += 1;
        let digits: Vec<u64> = base
            .to_string()
            .bytes()
            .map(|b| u64::from(b - b'0'))
            .collect();
        let sum: u64 = digits
            .iter()
            .enumerate()
            .map(|(i, d)| d * (10 - i as u64))
            .sum();
        let check = (11 - sum % 11) % 11;
        if check < 10 {
            out.push(format!("{base}{check}"));
        }
    }
    out
}

/// A zip of stored entries: (name, data, encrypted).
pub(crate) fn zip_with(entries: &[(&str, &[u8], bool)]) -> Vec<u8> {
    zip(&entries
        .iter()
        .map(|&(name, data, encrypted)| Entry {
            name,
            data,
            encrypted,
            deflate: true,
        })
        .collect::<Vec<_>>())
}

/// A zip holding `1.zip`, which holds `2.zip`, ... `levels` deep, the last
/// holding `data.txt`.
pub(crate) fn nested_zips(levels: u32) -> Vec<u8> {
    let mut inner = zip_with(&[("data.txt", b"NHS number: 943 476 5919", false)]);
    for level in (1..levels).rev() {
        inner = zip_with(&[(&format!("{level}.zip"), &inner, false)]);
    }
    inner
}

/// One sheet of a workbook: its name, whether it is hidden, its rows, and
/// the columns (from 0) hidden in it.
pub(crate) struct Sheet<'a> {
    pub name: &'a str,
    pub hidden: bool,
    pub rows: Vec<Vec<String>>,
    pub hidden_columns: &'a [u32],
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An xlsx workbook of these sheets: strings shared, numbers as numbers.
pub(crate) fn xlsx(sheets: &[Sheet<'_>]) -> Vec<u8> {
    let mut shared: Vec<String> = Vec::new();
    let mut parts: Vec<(String, Vec<u8>)> = Vec::new();
    let mut workbook = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>"#,
    );
    let mut rels = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
    );
    for (i, sheet) in sheets.iter().enumerate() {
        let n = i + 1;
        workbook.push_str(&format!(
            r#"<sheet name="{}" sheetId="{n}"{} r:id="rId{n}"/>"#,
            escape(sheet.name),
            if sheet.hidden {
                r#" state="hidden""#
            } else {
                ""
            }
        ));
        rels.push_str(&format!(
            r#"<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{n}.xml"/>"#
        ));
        let mut xml = String::from(
            r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#,
        );
        if !sheet.hidden_columns.is_empty() {
            xml.push_str("<cols>");
            for c in sheet.hidden_columns {
                xml.push_str(&format!(
                    r#"<col min="{0}" max="{0}" width="0" hidden="1"/>"#,
                    c + 1
                ));
            }
            xml.push_str("</cols>");
        }
        xml.push_str("<sheetData>");
        for (r, row) in sheet.rows.iter().enumerate() {
            xml.push_str(&format!(r#"<row r="{}">"#, r + 1));
            for (c, value) in row.iter().enumerate() {
                let reference = format!("{}{}", (b'A' + c as u8) as char, r + 1);
                if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
                    xml.push_str(&format!(r#"<c r="{reference}"><v>{value}</v></c>"#));
                } else {
                    let index = shared.iter().position(|s| s == value).unwrap_or_else(|| {
                        shared.push(value.clone());
                        shared.len() - 1
                    });
                    xml.push_str(&format!(r#"<c r="{reference}" t="s"><v>{index}</v></c>"#));
                }
            }
            xml.push_str("</row>");
        }
        xml.push_str("</sheetData></worksheet>");
        parts.push((format!("xl/worksheets/sheet{n}.xml"), xml.into_bytes()));
    }
    workbook.push_str("</sheets></workbook>");
    rels.push_str("</Relationships>");
    let mut strings = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{0}" uniqueCount="{0}">"#,
        shared.len()
    );
    for s in &shared {
        strings.push_str(&format!("<si><t>{}</t></si>", escape(s)));
    }
    strings.push_str("</sst>");
    let mut all = vec![
        (
            "[Content_Types].xml".to_string(),
            CONTENT_TYPES.as_bytes().to_vec(),
        ),
        ("xl/workbook.xml".to_string(), workbook.into_bytes()),
        ("xl/_rels/workbook.xml.rels".to_string(), rels.into_bytes()),
        ("xl/sharedStrings.xml".to_string(), strings.into_bytes()),
    ];
    all.extend(parts);
    deflated(&all)
}

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>"#;

/// A docx with this header text and these paragraphs; `body_extra` is
/// put into the body's XML as it is (for hostile XML).
pub(crate) fn docx(header: &str, paragraphs: &[&str], doctype: &str) -> Vec<u8> {
    let para = |t: &str| {
        format!(
            r#"<w:p><w:r><w:t xml:space="preserve">{}</w:t></w:r></w:p>"#,
            escape(t)
        )
    };
    let ns = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main""#;
    let document = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>{doctype}<w:document {ns}><w:body>{}</w:body></w:document>"#,
        paragraphs.iter().map(|p| para(p)).collect::<String>()
    );
    let header = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><w:hdr {ns}>{}</w:hdr>"#,
        para(header)
    );
    let parts = [
        ("[Content_Types].xml", CONTENT_TYPES.as_bytes().to_vec()),
        ("word/document.xml", document.into_bytes()),
        ("word/header1.xml", header.into_bytes()),
    ];
    deflated(&parts)
}

/// An OpenDocument spreadsheet: one sheet, hidden or not.
pub(crate) fn ods(sheet: &str, hidden: bool, rows: &[Vec<String>]) -> Vec<u8> {
    let mut content = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:automatic-styles><style:style style:name="ta2" style:family="table"><style:table-properties table:display="false"/></style:style></office:automatic-styles><office:body><office:spreadsheet>"#,
    );
    content.push_str(&format!(
        r#"<table:table table:name="{}" table:style-name="{}">"#,
        escape(sheet),
        if hidden { "ta2" } else { "ta1" }
    ));
    for row in rows {
        content.push_str("<table:table-row>");
        for cell in row {
            content.push_str(&format!(
                r#"<table:table-cell office:value-type="string"><text:p>{}</text:p></table:table-cell>"#,
                escape(cell)
            ));
        }
        content.push_str(
            r#"<table:table-cell table:number-columns-repeated="16000"/></table:table-row>"#,
        );
    }
    content.push_str(r#"<table:table-row table:number-rows-repeated="1048000"><table:table-cell table:number-columns-repeated="16000"/></table:table-row>"#);
    content.push_str("</table:table></office:spreadsheet></office:body></office:document-content>");
    let parts = [
        (
            "mimetype",
            b"application/vnd.oasis.opendocument.spreadsheet".to_vec(),
        ),
        ("content.xml", content.into_bytes()),
    ];
    zip(&parts
        .iter()
        .map(|(name, data)| Entry {
            name,
            data,
            encrypted: false,
            deflate: *name != "mimetype",
        })
        .collect::<Vec<_>>())
}

/// An Office file saved with a password: an OLE2 file holding an
/// `EncryptedPackage` stream.
pub(crate) fn encrypted_office() -> Vec<u8> {
    let mut ole =
        cfb::CompoundFile::create_with_version(cfb::Version::V3, Cursor::new(Vec::new())).unwrap();
    ole.create_stream("/EncryptionInfo")
        .unwrap()
        .write_all(&[4, 0, 4, 0, 0x40, 0, 0, 0])
        .unwrap();
    ole.create_stream("/EncryptedPackage")
        .unwrap()
        .write_all(&[0x55; 600])
        .unwrap();
    ole.flush().unwrap();
    ole.into_inner().into_inner()
}

/// A PDF whose page shows these lines, its content stream deflated or not.
pub(crate) fn pdf(lines: &[&str], deflate: bool, encrypt: bool) -> Vec<u8> {
    let mut content = String::from("BT /F1 11 Tf 72 760 Td 14 TL\n");
    for line in lines {
        let escaped = line
            .replace('\\', "\\\\")
            .replace('(', "\\(")
            .replace(')', "\\)");
        content.push_str(&format!("({escaped}) Tj T*\n"));
    }
    content.push_str("ET\n");
    let (stream, filter) = if deflate {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(content.as_bytes()).unwrap();
        (e.finish().unwrap(), " /Filter /FlateDecode")
    } else {
        (content.into_bytes(), "")
    };
    let mut out = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >> endobj\n".to_vec();
    out.extend_from_slice(
        format!("4 0 obj << /Length {}{filter} >>\nstream\n", stream.len()).as_bytes(),
    );
    out.extend_from_slice(&stream);
    out.extend_from_slice(b"\nendstream\nendobj\n");
    if encrypt {
        out.extend_from_slice(b"5 0 obj << /Filter /Standard /V 2 /R 3 /Length 128 /P -1340 >> endobj\ntrailer << /Root 1 0 R /Encrypt 5 0 R >>\n%%EOF\n");
    } else {
        out.extend_from_slice(b"trailer << /Root 1 0 R >>\n%%EOF\n");
    }
    out
}

pub(crate) fn encrypted_pdf() -> Vec<u8> {
    pdf(&["Salary review 2025"], true, true)
}

/// Standard base64, lines of 76.
pub(crate) fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for (i, chunk) in data.chunks(3).enumerate() {
        if i > 0 && i % 19 == 0 {
            out.push('\n');
        }
        let n = chunk.iter().fold(0u32, |n, &b| n << 8 | u32::from(b)) << (8 * (3 - chunk.len()));
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A message from a@org.example to `to` (a To header's value) with a
/// short text and these attachments: (file name, content type, bytes).
pub(crate) fn attachment_eml(
    to: &str,
    subject: &str,
    text: &str,
    files: &[(&str, &str, &[u8])],
) -> String {
    let mut eml = format!(
        "From: Sam Rivera <sam.rivera@org.example>\nTo: {to}\nSubject: {subject}\nDate: Mon, 7 Dec 2026 09:30:00 +0000\nMessage-ID: <attachments-{}@org.example>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: text/plain; charset=utf-8\n\n{text}\n",
        subject.len()
    );
    for (name, ctype, data) in files {
        eml.push_str(&format!(
            "--b\nContent-Type: {ctype}; name=\"{name}\"\nContent-Disposition: attachment; filename=\"{name}\"\nContent-Transfer-Encoding: base64\n\n{}\n",
            base64(data)
        ));
    }
    eml.push_str("--b--\n");
    eml
}

/// [`attachment_eml`], parsed.
pub(crate) fn attach(to: &str, files: &[(&str, &str, &[u8])]) -> Message {
    parse_rfc5322(
        attachment_eml(to, "files", "See attached.", files).as_bytes(),
        1,
    )
    .unwrap()
}
