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

/// An OpenDocument spreadsheet of one sheet, hidden or not, its hidden
/// columns collapsed as LibreOffice writes them.
pub(crate) fn ods(sheet: &Sheet<'_>) -> Vec<u8> {
    let mut content = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:automatic-styles><style:style style:name="ta2" style:family="table"><style:table-properties table:display="false"/></style:style></office:automatic-styles><office:body><office:spreadsheet>"#,
    );
    content.push_str(&format!(
        r#"<table:table table:name="{}" table:style-name="{}">"#,
        escape(sheet.name),
        if sheet.hidden { "ta2" } else { "ta1" }
    ));
    let columns = sheet.rows.iter().map(Vec::len).max().unwrap_or(0) as u32;
    for c in 0..columns {
        let visibility = if sheet.hidden_columns.contains(&c) {
            "collapse"
        } else {
            "visible"
        };
        content.push_str(&format!(
            r#"<table:table-column table:style-name="co1" table:visibility="{visibility}"/>"#
        ));
    }
    content.push_str(r#"<table:table-column table:number-columns-repeated="16000"/>"#);
    for row in &sheet.rows {
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
    opendocument("spreadsheet", &content)
}

/// An OpenDocument file of this kind (`spreadsheet`, `presentation`)
/// and content: its `mimetype` first and stored, as the standard asks.
fn opendocument(kind: &str, content: &str) -> Vec<u8> {
    let mimetype = format!("application/vnd.oasis.opendocument.{kind}");
    zip(&[
        Entry {
            name: "mimetype",
            data: mimetype.as_bytes(),
            encrypted: false,
            deflate: false,
        },
        Entry {
            name: "content.xml",
            data: content.as_bytes(),
            encrypted: false,
            deflate: true,
        },
    ])
}

/// A pptx of these slides, each a title and lines of body text, and
/// speaker notes for the first (as PowerPoint writes them: `a:t` runs in
/// `p:sp` shapes).
pub(crate) fn pptx(slides: &[(&str, &[&str])], notes: &str) -> Vec<u8> {
    let ns = r#"xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main""#;
    let shape = |paragraphs: &[&str]| {
        let body: String = paragraphs
            .iter()
            .map(|t| {
                format!(
                    r#"<a:p><a:r><a:rPr lang="en-GB"/><a:t>{}</a:t></a:r></a:p>"#,
                    escape(t)
                )
            })
            .collect();
        format!(
            r#"<p:sp><p:nvSpPr><p:cNvPr id="2" name="Text"/></p:nvSpPr><p:txBody><a:bodyPr/>{body}</p:txBody></p:sp>"#
        )
    };
    let mut parts = vec![
        (
            "[Content_Types].xml".to_string(),
            CONTENT_TYPES.as_bytes().to_vec(),
        ),
        (
            "ppt/presentation.xml".to_string(),
            format!(r#"<?xml version="1.0" encoding="UTF-8"?><p:presentation {ns}/>"#).into_bytes(),
        ),
    ];
    for (i, (title, lines)) in slides.iter().enumerate() {
        let xml = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><p:sld {ns}><p:cSld><p:spTree>{}{}</p:spTree></p:cSld></p:sld>"#,
            shape(&[title]),
            shape(lines)
        );
        parts.push((format!("ppt/slides/slide{}.xml", i + 1), xml.into_bytes()));
    }
    if !notes.is_empty() {
        let xml = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><p:notes {ns}><p:cSld><p:spTree>{}</p:spTree></p:cSld></p:notes>"#,
            shape(&[notes])
        );
        parts.push((
            "ppt/notesSlides/notesSlide1.xml".to_string(),
            xml.into_bytes(),
        ));
    }
    deflated(&parts)
}

/// An OpenDocument presentation of these slides, each a title and lines
/// of text in frames (as LibreOffice Impress writes them).
pub(crate) fn odp(slides: &[(&str, &[&str])]) -> Vec<u8> {
    let mut content = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:presentation>"#,
    );
    for (i, (title, lines)) in slides.iter().enumerate() {
        content.push_str(&format!(
            r#"<draw:page draw:name="page{}"><draw:frame presentation:class="title"><draw:text-box><text:p>{}</text:p></draw:text-box></draw:frame><draw:frame presentation:class="outline"><draw:text-box>"#,
            i + 1,
            escape(title)
        ));
        for line in *lines {
            content.push_str(&format!("<text:p>{}</text:p>", escape(line)));
        }
        content.push_str("</draw:text-box></draw:frame></draw:page>");
    }
    content.push_str("</office:presentation></office:body></office:document-content>");
    opendocument("presentation", &content)
}

/// What a RAR archive protects with its password.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum RarPassword {
    None,
    /// `rar a -p`: the files' data; their names stay readable.
    Files,
    /// `rar a -hp`: the block headers too (names and all).
    Headers,
}

/// A RAR 4 archive (the format WinRAR wrote until 2013, and still writes
/// when asked) of these stored files, its headers laid out as the
/// RAR 4 technical note describes (marker, archive header, a file header
/// before each file's data, end of archive), each with its header CRC.
/// The data of a "protected" file is not really encrypted (readers go by
/// the flags); protected headers are bytes standing for ciphertext.
pub(crate) fn rar4(files: &[(&str, &[u8])], password: RarPassword) -> Vec<u8> {
    fn block(kind: u8, flags: u16, fields: &[u8]) -> Vec<u8> {
        let size = (7 + fields.len()) as u16;
        let mut head = vec![kind];
        head.extend_from_slice(&flags.to_le_bytes());
        head.extend_from_slice(&size.to_le_bytes());
        head.extend_from_slice(fields);
        let mut crc = flate2::Crc::new();
        crc.update(&head);
        let mut out = ((crc.sum() & 0xFFFF) as u16).to_le_bytes().to_vec();
        out.extend(head);
        out
    }
    let mut out = b"Rar!\x1A\x07\x00".to_vec();
    let archive_flags: u16 = if password == RarPassword::Headers {
        0x0080
    } else {
        0
    };
    out.extend(block(0x73, archive_flags, &[0; 6]));
    if password == RarPassword::Headers {
        // Everything after the archive header is ciphertext: a salt and
        // the encrypted blocks.
        out.extend(std::iter::repeat_n(0x5A, 16 + 48 * files.len()));
        return out;
    }
    for (name, data) in files {
        let mut crc = flate2::Crc::new();
        crc.update(data);
        let mut fields = Vec::new();
        fields.extend_from_slice(&(data.len() as u32).to_le_bytes()); // packed
        fields.extend_from_slice(&(data.len() as u32).to_le_bytes()); // unpacked
        fields.push(3); // Unix
        fields.extend_from_slice(&crc.sum().to_le_bytes());
        fields.extend_from_slice(&0x5587_0000u32.to_le_bytes()); // 2022-12-07
        fields.push(29); // version 2.9 to unpack
        fields.push(0x30); // stored
        fields.extend_from_slice(&(name.len() as u16).to_le_bytes());
        fields.extend_from_slice(&0o100644u32.to_le_bytes());
        fields.extend_from_slice(name.as_bytes());
        // LONG_BLOCK: the data follows the header.
        let mut flags = 0x8000u16;
        if password != RarPassword::None {
            flags |= 0x0004;
        }
        out.extend(block(0x74, flags, &fields));
        out.extend_from_slice(data);
    }
    out.extend(block(0x7B, 0x4000, &[]));
    out
}

/// A RAR 5 archive of these stored files, as the RAR 5 technical note
/// lays it out (signature, main archive header, a file header before each
/// file's data, end of archive; CRC32 over each header). With `Files`,
/// each file header carries an encryption record (`rar a -p`); with
/// `Headers`, an archive encryption header comes first and the rest is
/// ciphertext (`rar a -hp`). No data is really encrypted.
pub(crate) fn rar5(files: &[(&str, &[u8])], password: RarPassword) -> Vec<u8> {
    fn vint(mut n: u64, out: &mut Vec<u8>) {
        loop {
            let b = (n & 0x7F) as u8;
            n >>= 7;
            if n == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }
    fn header(fields: &[u8]) -> Vec<u8> {
        let mut sized = Vec::new();
        vint(fields.len() as u64, &mut sized);
        sized.extend_from_slice(fields);
        let mut crc = flate2::Crc::new();
        crc.update(&sized);
        let mut out = crc.sum().to_le_bytes().to_vec();
        out.extend(sized);
        out
    }
    // A KDF count, a salt, an IV or check value: fixed bytes.
    let crypto = |with_iv: bool| {
        let mut f = vec![0, 1, 15]; // version 0, password check present, 2^15 rounds
        f.extend_from_slice(&[0x11; 16]);
        if with_iv {
            f.extend_from_slice(&[0x22; 16]);
        }
        f.extend_from_slice(&[0x33; 12]);
        f
    };
    let mut out = b"Rar!\x1A\x07\x01\x00".to_vec();
    if password == RarPassword::Headers {
        let mut fields = vec![4, 0];
        fields.extend(crypto(false));
        out.extend(header(&fields));
        out.extend(std::iter::repeat_n(0x5A, 64 * files.len().max(1)));
        return out;
    }
    out.extend(header(&[1, 0, 0]));
    for (name, data) in files {
        let mut extra = Vec::new();
        if password == RarPassword::Files {
            let record = [vec![1], crypto(true)].concat();
            vint(record.len() as u64, &mut extra);
            extra.extend(record);
        }
        let mut fields = vec![2];
        fields.push(if extra.is_empty() { 0x02 } else { 0x03 });
        if !extra.is_empty() {
            vint(extra.len() as u64, &mut fields);
        }
        vint(data.len() as u64, &mut fields);
        fields.push(0); // file flags
        vint(data.len() as u64, &mut fields);
        vint(0o644, &mut fields);
        fields.push(0); // stored
        fields.push(1); // Unix
        vint(name.len() as u64, &mut fields);
        fields.extend_from_slice(name.as_bytes());
        fields.extend(extra);
        out.extend(header(&fields));
        out.extend_from_slice(data);
    }
    out.extend(header(&[5, 0, 0]));
    out
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

/// A PDF as LibreOffice and Word write text in a TrueType font they
/// embed as a subset: a Type0 font with the Identity-H encoding, each
/// line shown as two-byte glyph numbers, and a ToUnicode CMap giving the
/// character of each glyph (runs of consecutive glyphs and characters as
/// `bfrange`, the others as `bfchar`); the page's fonts behind an
/// indirect `/Font` dictionary, as LibreOffice writes it, beside a
/// standard font `/F2` that shows `plain` in a literal string.
pub(crate) fn cid_pdf(lines: &[&str], plain: &str) -> Vec<u8> {
    let mut chars: Vec<char> = lines.iter().flat_map(|l| l.chars()).collect();
    chars.sort_unstable();
    chars.dedup();
    // Glyph numbers from 3 on, in the order of the characters.
    let glyph = |c: char| 3 + chars.iter().position(|&d| d == c).unwrap() as u16;
    let mut content = String::from("BT\n/F1 11 Tf 72 760 Td 14 TL\n");
    for line in lines {
        let hex: String = line.chars().map(|c| format!("{:04X}", glyph(c))).collect();
        content.push_str(&format!("<{hex}> Tj T*\n"));
    }
    if !plain.is_empty() {
        content.push_str(&format!("/F2 9 Tf ({plain}) Tj T*\n"));
    }
    content.push_str("ET\n");
    let utf16 = |c: char| {
        let mut units = [0u16; 2];
        c.encode_utf16(&mut units)
            .iter()
            .map(|u| format!("{u:04X}"))
            .collect::<String>()
    };
    let (mut singles, mut runs) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < chars.len() {
        let mut j = i;
        while j + 1 < chars.len() && chars[j + 1] as u32 == chars[j] as u32 + 1 {
            j += 1;
        }
        if j > i {
            runs.push(format!(
                "<{:04X}> <{:04X}> <{}>",
                glyph(chars[i]),
                glyph(chars[j]),
                utf16(chars[i])
            ));
        } else {
            singles.push(format!("<{:04X}> <{}>", glyph(chars[i]), utf16(chars[i])));
        }
        i = j + 1;
    }
    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    if !singles.is_empty() {
        cmap.push_str(&format!(
            "{} beginbfchar\n{}\nendbfchar\n",
            singles.len(),
            singles.join("\n")
        ));
    }
    if !runs.is_empty() {
        cmap.push_str(&format!(
            "{} beginbfrange\n{}\nendbfrange\n",
            runs.len(),
            runs.join("\n")
        ));
    }
    cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    let deflate = |data: &[u8]| {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    };
    let mut out = b"%PDF-1.4\n%\xC7\xEC\x8F\xA2\n".to_vec();
    let mut object = |n: u32, dictionary: &str, stream: Option<&[u8]>| {
        out.extend_from_slice(format!("{n} 0 obj\n").as_bytes());
        match stream {
            Some(data) => {
                let data = deflate(data);
                out.extend_from_slice(
                    format!(
                        "<</Length {}/Filter/FlateDecode{dictionary}>>\nstream\n",
                        data.len()
                    )
                    .as_bytes(),
                );
                out.extend_from_slice(&data);
                out.extend_from_slice(b"\nendstream\n");
            }
            None => out.extend_from_slice(format!("{dictionary}\n").as_bytes()),
        }
        out.extend_from_slice(b"endobj\n\n");
    };
    object(7, "", Some(cmap.as_bytes()));
    object(
        5,
        "<</Type/Font/Subtype/Type0/BaseFont/BAAAAA+LiberationSans/Encoding/Identity-H/DescendantFonts[6 0 R]/ToUnicode 7 0 R>>",
        None,
    );
    object(
        6,
        "<</Type/Font/Subtype/CIDFontType2/BaseFont/BAAAAA+LiberationSans/CIDSystemInfo<</Registry(Adobe)/Ordering(Identity)/Supplement 0>>/DW 556>>",
        None,
    );
    object(
        8,
        "<</Type/Font/Subtype/Type1/BaseFont/Helvetica/Encoding/WinAnsiEncoding>>",
        None,
    );
    object(10, "<</F1 5 0 R/F2 8 0 R\n>>", None);
    object(9, "<</Font 10 0 R\n/ProcSet[/PDF/Text]\n>>", None);
    object(4, "", Some(content.as_bytes()));
    object(
        3,
        "<</Type/Page/Parent 2 0 R/Resources 9 0 R/MediaBox[0 0 595 842]/Contents 4 0 R>>",
        None,
    );
    object(2, "<</Type/Pages/Kids[3 0 R]/Count 1>>", None);
    object(1, "<</Type/Catalog/Pages 2 0 R>>", None);
    out.extend_from_slice(b"trailer\n<</Size 11/Root 1 0 R>>\n%%EOF\n");
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
