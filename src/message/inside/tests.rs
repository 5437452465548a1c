use super::build::*;
use super::{FileKind, Limit, ReadLimits, tnef};
use crate::message::Message;

fn people(n: usize) -> Vec<Vec<String>> {
    let mut rows = vec![vec!["Name".to_string(), "NHS number".to_string()]];
    for i in 0..n {
        rows.push(vec![format!("Patient {i}"), "9434765919".to_string()]);
    }
    rows
}

fn inside(msg: &Message) -> &super::Inside {
    msg.inside(&ReadLimits::default())
}

#[test]
fn a_spreadsheet_is_known_by_its_bytes_with_its_sheets_rows_and_hidden_parts() {
    let book = xlsx(&[
        Sheet {
            name: "Summary",
            hidden: false,
            rows: vec![vec!["Ward".into(), "Beds".into()], vec!["A".into(), "12".into()]],
            hidden_columns: &[],
        },
        Sheet {
            name: "Hidden",
            hidden: true,
            rows: people(3),
            hidden_columns: &[1],
        },
    ]);
    let msg = attach("b@partner.example", &[("Q3 figures", "application/octet-stream", &book)]);
    let found = inside(&msg);
    assert_eq!(found.stopped, None);
    let file = found.top(0).unwrap();
    assert_eq!((file.kind, file.encrypted), (FileKind::Spreadsheet, false));
    assert_eq!(file.path, "Q3 figures");
    let sheets: Vec<_> = file
        .sections
        .iter()
        .map(|s| (s.name.as_deref().unwrap(), s.hidden, s.rows))
        .collect();
    assert_eq!(sheets, [("Summary", false, 2), ("Hidden", true, 4)]);
    assert_eq!(file.sections[1].text.lines().nth(1), Some("Patient 0\t9434765919"));
    assert_eq!(file.sections[1].hidden_columns, ["NHS number"]);
}

#[test]
fn documents_presentations_pdfs_and_rtf_are_read_as_text() {
    let doc = docx("STRICTLY CONFIDENTIAL", &["Board minutes", "Item 1 & 2"], "");
    let plain_pdf = pdf(&["Patient list", "NHS number 943 476 5919"], false, false);
    let packed_pdf = pdf(&["Salary (gross): 52,000"], true, false);
    let rtf = br"{\rtf1\ansi{\fonttbl{\f0 Arial;}}\f0 Strictly private\par}".to_vec();
    let msg = attach(
        "b@partner.example",
        &[
            ("minutes.docx", "application/octet-stream", &doc),
            ("list.pdf", "application/pdf", &plain_pdf),
            ("pay.pdf", "application/pdf", &packed_pdf),
            ("memo.rtf", "application/rtf", &rtf),
        ],
    );
    let found = inside(&msg);
    let text = |i: usize| found.top(i).unwrap().sections[0].text.clone();
    assert_eq!(found.top(0).unwrap().kind, FileKind::Document);
    assert_eq!(text(0), "STRICTLY CONFIDENTIAL\n\nBoard minutes\nItem 1 & 2\n\n");
    assert!(text(1).contains("Patient list\nNHS number 943 476 5919"), "{:?}", text(1));
    assert!(text(2).contains("Salary (gross): 52,000"), "{:?}", text(2));
    assert_eq!(text(3), "Strictly private\n");
}

#[test]
fn archives_gzip_tar_and_winmail_dat_are_opened() {
    let book = xlsx(&[Sheet {
        name: "Sheet1",
        hidden: false,
        rows: people(2),
        hidden_columns: &[],
    }]);
    let zip = zip_with(&[("export/patients.xlsx", &book, false), ("notes.txt", b"see sheet", false)]);
    let winmail = tnef::build(&[("patients.xlsx", &book), ("list.csv", b"a,b\n1,2\n")]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, b"name,nhs number\nA,9434765919\n").unwrap();
    let gz = gz.finish().unwrap();
    let msg = attach(
        "b@partner.example",
        &[
            ("export.zip", "application/zip", &zip),
            ("winmail.dat", "application/ms-tnef", &winmail),
            ("data.csv.gz", "application/gzip", &gz),
        ],
    );
    let paths: Vec<(&str, FileKind, u32)> = inside(&msg)
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.kind, f.depth))
        .collect();
    assert_eq!(
        paths,
        [
            ("export.zip", FileKind::Archive, 0),
            ("export.zip › export/patients.xlsx", FileKind::Spreadsheet, 1),
            ("export.zip › notes.txt", FileKind::Text, 1),
            ("winmail.dat", FileKind::Winmail, 0),
            ("winmail.dat › patients.xlsx", FileKind::Spreadsheet, 1),
            ("winmail.dat › list.csv", FileKind::Table, 1),
            ("data.csv.gz", FileKind::Archive, 0),
            ("data.csv.gz › data.csv", FileKind::Table, 1),
        ]
    );
}

#[test]
fn encrypted_files_are_recognised() {
    let zip = zip_with(&[("salaries.xlsx", b"PK\x03\x04", true)]);
    let seven = {
        // Signature, version, start header CRC, next header at 0 (right
        // after the 32-byte start header), holding the AES coder id.
        let mut b = b"7z\xBC\xAF\x27\x1C\x00\x04".to_vec();
        b.extend_from_slice(&[0; 4]);
        b.extend_from_slice(&0u64.to_le_bytes());
        b.extend_from_slice(&[0; 12]);
        b.extend_from_slice(b"\x17\x06\x01\x24\x06\xF1\x07\x01");
        b
    };
    let plain_seven = b"7z\xBC\xAF\x27\x1C\x00\x04\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01\x04\x06".to_vec();
    let msg = attach(
        "b@partner.example",
        &[
            ("pay.zip", "application/zip", &zip),
            ("Q3", "application/octet-stream", &encrypted_office()),
            ("scan.pdf", "application/pdf", &encrypted_pdf()),
            ("a.7z", "application/x-7z-compressed", &seven),
            ("b.7z", "application/x-7z-compressed", &plain_seven),
            ("c.rar", "application/vnd.rar", b"Rar!\x1A\x07\x01\x00\x00\x00\x00\x00\x03\x04"),
        ],
    );
    let encrypted: Vec<&str> = inside(&msg)
        .files
        .iter()
        .filter(|f| f.encrypted)
        .map(|f| f.path.as_str())
        .collect();
    assert_eq!(encrypted, ["pay.zip › salaries.xlsx", "Q3", "scan.pdf", "a.7z", "c.rar"]);
}

fn limited(limits: ReadLimits, files: &[(&str, &str, &[u8])]) -> super::Inside {
    let msg = attach("b@partner.example", files);
    msg.inside(&limits).clone()
}

#[test]
fn a_zip_bomb_stops_at_the_byte_budget() {
    let zeros = vec![0u8; 8 << 20];
    let bomb = zip(&[Entry {
        name: "big.csv",
        data: &zeros,
        encrypted: false,
        deflate: true,
    }]);
    assert!(bomb.len() < 20_000, "{}", bomb.len());
    let limits = ReadLimits {
        max_bytes: 1 << 20,
        ..ReadLimits::default()
    };
    let found = limited(limits, &[("bomb.zip", "application/zip", &bomb)]);
    let stopped = found.stopped.unwrap();
    assert_eq!((stopped.limit, stopped.at.as_str()), (Limit::Bytes, "bomb.zip › big.csv"));
}

#[test]
fn nesting_stops_at_the_depth_limit_and_files_at_the_file_limit() {
    let deep = nested_zips(50);
    let found = limited(ReadLimits::default(), &[("deep.zip", "application/zip", &deep)]);
    assert_eq!(found.stopped.as_ref().unwrap().limit, Limit::Depth);
    assert_eq!(found.files.len(), 5);
    let many: Vec<(String, Vec<u8>)> = (0..50).map(|i| (format!("{i}.txt"), vec![b'x'])).collect();
    let entries: Vec<(&str, &[u8], bool)> =
        many.iter().map(|(n, d)| (n.as_str(), d.as_slice(), false)).collect();
    let wide = zip_with(&entries);
    let limits = ReadLimits {
        max_files: 20,
        ..ReadLimits::default()
    };
    let found = limited(limits, &[("wide.zip", "application/zip", &wide)]);
    assert_eq!(found.stopped.unwrap().limit, Limit::Files);
    let limits = ReadLimits {
        max_files: 10,
        ..ReadLimits::default()
    };
    // A directory listing more entries than may be opened is refused
    // before the zip crate lists them.
    assert_eq!(
        limited(limits, &[("wide.zip", "application/zip", &wide)]).files.len(),
        0
    );
}

#[test]
fn a_billion_laughs_is_not_expanded() {
    let laughs = r#"<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;"><!ENTITY lol9 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>"#;
    let doc = docx("Header", &["before &lol9; after"], laughs);
    let found = limited(ReadLimits::default(), &[("laughs.docx", "application/octet-stream", &doc)]);
    assert_eq!(found.stopped, None);
    let text = &found.top(0).unwrap().sections[0].text;
    assert!(text.len() < 100, "{text}");
}

#[test]
fn opendocument_repeats_are_counted_not_written_out() {
    let book = ods("Staff", true, &people(2));
    let found = limited(ReadLimits::default(), &[("staff.ods", "application/octet-stream", &book)]);
    let sheet = &found.top(0).unwrap().sections[0];
    assert_eq!((sheet.name.as_deref(), sheet.hidden, sheet.rows), (Some("Staff"), true, 3));
    assert!(sheet.text.len() < 200, "{}", sheet.text.len());
    assert_eq!(sheet.text.lines().nth(1), Some("Patient 0\t9434765919"));
}

#[test]
fn mail_without_binary_attachments_reads_nothing() {
    let msg = crate::testing::eml(
        "From: a@org.example\nTo: b@partner.example\nSubject: s\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhi\n--b\nContent-Type: text/csv\nContent-Disposition: attachment; filename=a.csv\n\na,b\n--b\nContent-Type: image/png\nContent-Disposition: attachment; filename=a.png\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--b--\n",
    );
    assert!(msg.attachments.iter().all(|a| a.bytes.is_empty()));
    assert_eq!(inside(&msg), &super::Inside::default());
}
