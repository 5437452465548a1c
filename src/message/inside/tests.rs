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

/// A BIFF8 workbook written by xlwt (`tests/data/xls/make.py`): a
/// "Summary" sheet and a hidden "Patients" sheet of 40 NHS numbers.
const PATIENTS_XLS: &[u8] = include_bytes!("../../../tests/data/xls/patients.xls");

/// A BIFF8 workbook of parts and barcodes (the same script).
const STOCK_XLS: &[u8] = include_bytes!("../../../tests/data/xls/stock.xls");

/// A BIFF8 rota whose "NHS number" column is hidden (the same script).
const ROTA_XLS: &[u8] = include_bytes!("../../../tests/data/xls/rota.xls");

/// The same rota without NHS numbers: a widened column and an empty hidden
/// one.
const SHIFTS_XLS: &[u8] = include_bytes!("../../../tests/data/xls/shifts.xls");

/// Rows of cells as a sheet's rows.
fn table<const N: usize>(rows: &[[&str; N]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

/// Each sheet's name, whether it is hidden, and its rows.
fn sheets_of(file: &super::InnerFile) -> Vec<(&str, bool, u64)> {
    file.sections
        .iter()
        .map(|s| (s.name.as_deref().unwrap(), s.hidden, s.rows))
        .collect()
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
            rows: vec![
                vec!["Ward".into(), "Beds".into()],
                vec!["A".into(), "12".into()],
            ],
            hidden_columns: &[],
        },
        Sheet {
            name: "Hidden",
            hidden: true,
            rows: people(3),
            hidden_columns: &[1],
        },
    ]);
    let msg = attach(
        "b@partner.example",
        &[("Q3 figures", "application/octet-stream", &book)],
    );
    let found = inside(&msg);
    assert_eq!(found.stopped, None);
    let file = found.top(0).unwrap();
    assert_eq!((file.kind, file.encrypted), (FileKind::Spreadsheet, false));
    assert_eq!(file.path, "Q3 figures");
    let sheets = sheets_of(file);
    assert_eq!(sheets, [("Summary", false, 2), ("Hidden", true, 4)]);
    assert_eq!(
        file.sections[1].text.lines().nth(1),
        Some("Patient 0\t9434765919")
    );
    assert_eq!(file.sections[1].hidden_columns, ["NHS number"]);
}

#[test]
fn documents_presentations_pdfs_and_rtf_are_read_as_text() {
    let doc = docx(
        "STRICTLY CONFIDENTIAL",
        &["Board minutes", "Item 1 & 2"],
        "",
    );
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
    assert_eq!(
        text(0),
        "STRICTLY CONFIDENTIAL\n\nBoard minutes\nItem 1 & 2\n\n"
    );
    assert!(
        text(1).contains("Patient list\nNHS number 943 476 5919"),
        "{:?}",
        text(1)
    );
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
    let zip = zip_with(&[
        ("export/patients.xlsx", &book, false),
        ("notes.txt", b"see sheet", false),
    ]);
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
            (
                "export.zip › export/patients.xlsx",
                FileKind::Spreadsheet,
                1
            ),
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
    let plain_seven =
        b"7z\xBC\xAF\x27\x1C\x00\x04\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01\x04\x06"
            .to_vec();
    let msg = attach(
        "b@partner.example",
        &[
            ("pay.zip", "application/zip", &zip),
            ("Q3", "application/octet-stream", &encrypted_office()),
            ("scan.pdf", "application/pdf", &encrypted_pdf()),
            ("a.7z", "application/x-7z-compressed", &seven),
            ("b.7z", "application/x-7z-compressed", &plain_seven),
            (
                "c.rar",
                "application/vnd.rar",
                b"Rar!\x1A\x07\x01\x00\x00\x00\x00\x00\x03\x04",
            ),
        ],
    );
    let encrypted: Vec<&str> = inside(&msg)
        .files
        .iter()
        .filter(|f| f.encrypted)
        .map(|f| f.path.as_str())
        .collect();
    assert_eq!(
        encrypted,
        ["pay.zip › salaries.xlsx", "Q3", "scan.pdf", "a.7z", "c.rar"]
    );
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
    assert_eq!(
        (stopped.limit, stopped.at.as_str()),
        (Limit::Bytes, "bomb.zip › big.csv")
    );
}

#[test]
fn nesting_stops_at_the_depth_limit_and_files_at_the_file_limit() {
    let deep = nested_zips(50);
    let found = limited(
        ReadLimits::default(),
        &[("deep.zip", "application/zip", &deep)],
    );
    assert_eq!(found.stopped.as_ref().unwrap().limit, Limit::Depth);
    assert_eq!(found.files.len(), 5);
    let many: Vec<(String, Vec<u8>)> = (0..50).map(|i| (format!("{i}.txt"), vec![b'x'])).collect();
    let entries: Vec<(&str, &[u8], bool)> = many
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice(), false))
        .collect();
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
        limited(limits, &[("wide.zip", "application/zip", &wide)])
            .files
            .len(),
        0
    );
}

#[test]
fn a_billion_laughs_is_not_expanded() {
    let laughs = r#"<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;"><!ENTITY lol9 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>"#;
    let doc = docx("Header", &["before &lol9; after"], laughs);
    let found = limited(
        ReadLimits::default(),
        &[("laughs.docx", "application/octet-stream", &doc)],
    );
    assert_eq!(found.stopped, None);
    let text = &found.top(0).unwrap().sections[0].text;
    assert!(text.len() < 100, "{text}");
}

#[test]
fn opendocument_repeats_are_counted_not_written_out() {
    let book = ods(&Sheet {
        name: "Staff",
        hidden: true,
        rows: people(2),
        hidden_columns: &[],
    });
    let found = limited(
        ReadLimits::default(),
        &[("staff.ods", "application/octet-stream", &book)],
    );
    let sheet = &found.top(0).unwrap().sections[0];
    assert_eq!(
        (sheet.name.as_deref(), sheet.hidden, sheet.rows),
        (Some("Staff"), true, 3)
    );
    assert!(sheet.text.len() < 200, "{}", sheet.text.len());
    assert_eq!(sheet.text.lines().nth(1), Some("Patient 0\t9434765919"));
}

#[test]
fn an_old_excel_workbook_is_read_through_calamine_with_its_hidden_sheet() {
    let found = limited(
        ReadLimits::default(),
        &[("register", "application/octet-stream", PATIENTS_XLS)],
    );
    assert_eq!(found.stopped, None);
    let file = found.top(0).unwrap();
    assert_eq!((file.kind, file.encrypted), (FileKind::Spreadsheet, false));
    let sheets = sheets_of(file);
    assert_eq!(sheets, [("Summary", false, 2), ("Patients", true, 41)]);
    let mut lines = file.sections[1].text.lines();
    assert_eq!(lines.next(), Some("Surname\tFirst name\tNHS number"));
    assert_eq!(lines.next(), Some("Surname0\tAlex\t9434760011"));
    // Within a budget too small for its grid of cells, calamine is not
    // called at all.
    let tight = ReadLimits {
        max_bytes: 100,
        ..ReadLimits::default()
    };
    let found = limited(
        tight,
        &[("register.xls", "application/vnd.ms-excel", PATIENTS_XLS)],
    );
    assert_eq!(found.stopped.unwrap().limit, Limit::Bytes);
    assert!(found.files.iter().all(|f| f.sections.is_empty()));
}

#[test]
fn old_excel_hidden_columns_are_named_by_their_headings() {
    let found = limited(
        ReadLimits::default(),
        &[
            ("rota.xls", "application/vnd.ms-excel", ROTA_XLS),
            ("shifts.xls", "application/vnd.ms-excel", SHIFTS_XLS),
        ],
    );
    let rota = &found.top(0).unwrap().sections[0];
    assert_eq!((rota.name.as_deref(), rota.rows), (Some("Rota"), 13));
    // The empty hidden column G is not named; a widened column is not
    // hidden.
    assert_eq!(rota.hidden_columns, ["NHS number"]);
    assert!(!rota.hidden);
    let shifts = &found.top(1).unwrap().sections[0];
    assert_eq!(shifts.rows, 13);
    assert!(shifts.hidden_columns.is_empty());
    // A hidden sheet is not a hidden column.
    let found = limited(
        ReadLimits::default(),
        &[("register.xls", "application/vnd.ms-excel", PATIENTS_XLS)],
    );
    let file = found.top(0).unwrap();
    assert!(file.sections.iter().all(|s| s.hidden_columns.is_empty()));
}

#[test]
fn presentations_are_read_slide_by_slide_with_their_notes() {
    let slides: &[(&str, &[&str])] = &[
        ("Project Heron", &["STRICTLY CONFIDENTIAL", "Board only"]),
        ("Options", &["Buy & build", "Passport no. 617644717"]),
    ];
    let deck = pptx(slides, "Say nothing outside the room");
    let impress = odp(slides);
    let found = limited(
        ReadLimits::default(),
        &[
            ("heron.pptx", "application/octet-stream", &deck),
            ("heron", "application/octet-stream", &impress),
        ],
    );
    let expected = "Project Heron\nSTRICTLY CONFIDENTIAL\nBoard only\n";
    for (i, notes) in [(0, true), (1, false)] {
        let file = found.top(i).unwrap();
        assert_eq!(file.kind, FileKind::Presentation);
        let text = &file.sections[0].text;
        assert!(text.starts_with(expected), "{text:?}");
        assert!(
            text.contains("Buy & build\nPassport no. 617644717\n"),
            "{text:?}"
        );
        assert_eq!(
            text.contains("Say nothing outside the room"),
            notes,
            "{text:?}"
        );
    }
}

#[test]
fn opendocument_hidden_columns_are_named_by_their_headings() {
    let rows = table(&[
        ["Name", "Team", "Home address", "Date of birth"],
        ["J. Harper", "Response", "4 Mill Lane", "1984-03-02"],
    ]);
    let book = ods(&Sheet {
        name: "Rota",
        hidden: false,
        rows,
        hidden_columns: &[2, 3],
    });
    let found = limited(
        ReadLimits::default(),
        &[(
            "rota.ods",
            "application/vnd.oasis.opendocument.spreadsheet",
            &book,
        )],
    );
    let sheet = &found.top(0).unwrap().sections[0];
    assert_eq!(sheet.hidden_columns, ["Home address", "Date of birth"]);
    assert!(!sheet.hidden);
}

#[test]
fn rar_archives_protected_either_way_are_recognised() {
    let files: &[(&str, &[u8])] = &[("readme.txt", b"hello"), ("pay.xlsx", b"PK\x03\x04")];
    let rars = [
        rar4(files, RarPassword::None),
        rar4(files, RarPassword::Files),
        rar4(files, RarPassword::Headers),
        rar5(files, RarPassword::None),
        rar5(files, RarPassword::Files),
        rar5(files, RarPassword::Headers),
    ];
    let names = ["a.rar", "b.rar", "c.rar", "d.rar", "e.rar", "f.rar"];
    let attachments: Vec<(&str, &str, &[u8])> = names
        .iter()
        .zip(&rars)
        .map(|(n, r)| (*n, "application/vnd.rar", r.as_slice()))
        .collect();
    let found = limited(ReadLimits::default(), &attachments);
    let encrypted: Vec<(&str, bool)> = found
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.encrypted))
        .collect();
    assert_eq!(
        encrypted,
        [
            ("a.rar", false),
            ("b.rar", true),
            ("c.rar", true),
            ("d.rar", false),
            ("e.rar", true),
            ("f.rar", true)
        ]
    );
    // Only the second of two RAR 4 files protected: each header is read.
    let mut mixed = rar4(&files[..1], RarPassword::None);
    let second = rar4(&files[1..], RarPassword::Files);
    let end_block = 7;
    mixed.truncate(mixed.len() - end_block);
    mixed.extend_from_slice(&second[20..]);
    let found = limited(
        ReadLimits::default(),
        &[("g.rar", "application/vnd.rar", &mixed)],
    );
    assert!(found.top(0).unwrap().encrypted);
    // Truncated headers and a header too short to move on end the walk.
    for broken in [
        &rars[0][..30],
        &rars[3][..20],
        b"Rar!\x1A\x07\x00\0\0\x74\0\0\0\0",
    ] {
        let found = limited(
            ReadLimits::default(),
            &[("h.rar", "application/vnd.rar", broken)],
        );
        assert!(!found.top(0).unwrap().encrypted);
    }
}

#[test]
fn pdf_text_in_cid_fonts_reads_through_the_tounicode_cmap() {
    let lines = [
        "ŚCIŚLE POUFNE",
        "Passport no. 617644717 – J. Marsh",
        "Zażółć gęślą jaźń",
    ];
    let cid = cid_pdf(&lines, "Page 1 of 1");
    // Without the CMap the two-byte glyph numbers would be read as
    // control bytes and letters that say nothing.
    assert!(!cid.windows(4).any(|w| w == b"POUF"));
    let found = limited(
        ReadLimits::default(),
        &[("memo.pdf", "application/pdf", &cid)],
    );
    let text = &found.top(0).unwrap().sections[0].text;
    assert!(text.contains(&lines.join("\n")), "{text:?}");
    assert!(text.contains("Page 1 of 1"), "{text:?}");
}

#[test]
fn mail_without_binary_attachments_reads_nothing() {
    let msg = crate::message::parse_rfc5322(
        b"From: a@org.example\nTo: b@partner.example\nSubject: s\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhi\n--b\nContent-Type: text/csv\nContent-Disposition: attachment; filename=a.csv\n\na,b\n--b\nContent-Type: image/png\nContent-Disposition: attachment; filename=a.png\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--b--\n",
        1,
    )
    .unwrap();
    assert!(msg.attachments.iter().all(|a| a.bytes.is_empty()));
    assert_eq!(inside(&msg), &super::Inside::default());
}

/// The fixtures with attachments, as [`build`](super::build) makes them:
/// (path under `fixtures/`, message).
fn attachment_fixtures() -> Vec<(&'static str, String)> {
    let mut patients = vec![vec![
        "Surname".to_string(),
        "First name".to_string(),
        "NHS number".to_string(),
    ]];
    patients.extend(
        nhs_numbers(1_204, 999_000_000)
            .into_iter()
            .enumerate()
            .map(|(i, n)| vec![format!("Surname{i}"), "Alex".to_string(), n]),
    );
    let summary = vec![
        vec!["Practice".to_string(), "Patients".to_string()],
        vec!["Riverside".to_string(), "1204".to_string()],
    ];
    let patients_book = xlsx(&[
        Sheet {
            name: "Summary",
            hidden: false,
            rows: summary.clone(),
            hidden_columns: &[],
        },
        Sheet {
            name: "Hidden",
            hidden: true,
            rows: patients.clone(),
            hidden_columns: &[],
        },
    ]);
    let staff = table(&[
        ["Rank", "Surname", "Initial", "Unit", "Location"],
        ["Constable", "Harper", "J", "Response", "Station A"],
        ["Sergeant", "Okafor", "T", "Surveillance", "Station B"],
        ["Constable", "Lindqvist", "M", "Intelligence", "Station A"],
    ]);
    let foi_book = xlsx(&[
        Sheet {
            name: "FOI 2023-0417",
            hidden: false,
            rows: vec![
                vec!["Rank".into(), "Headcount".into()],
                vec!["Constable".into(), "2".into()],
            ],
            hidden_columns: &[],
        },
        Sheet {
            name: "Sheet2",
            hidden: true,
            rows: staff.clone(),
            hidden_columns: &[1, 2],
        },
    ]);
    let rota = xlsx(&[Sheet {
        name: "Rota",
        hidden: false,
        rows: staff,
        hidden_columns: &[],
    }]);
    let plain_numbers = xlsx(&[Sheet {
        name: "Stock",
        hidden: false,
        rows: vec![
            vec!["Part".into(), "Barcode".into()],
            vec!["Valve".into(), "9990000018".into()],
            vec!["Seal".into(), "9990000026".into()],
        ],
        hidden_columns: &[],
    }]);
    let minutes = docx(
        "STRICTLY CONFIDENTIAL",
        &[
            "Board minutes, 3 December",
            "Item 4: the proposed closure of the Leeds office.",
        ],
        "",
    );
    let invoice = pdf(
        &[
            "Invoice 2041 - Garden maintenance, November",
            "Total due: 480.00",
            "This document and any attachments are confidential and intended solely for the addressee.",
            "If you have received it in error, please notify the sender.",
        ],
        true,
        false,
    );
    let passports = pdf(
        &[
            "Delegation travel list",
            "Passport no. 617644717 - J. Marsh",
            "Passport no. 525380048 - K. Osei",
        ],
        true,
        false,
    );
    let travel_zip = zip_with(&[("travel/delegation.pdf", &passports, false)]);
    let payroll_zip = zip_with(&[("payroll-march.xlsx", &rota, true)]);
    let readme_zip = zip_with(&[("readme.txt", b"Install notes for the kiosk app.", false)]);
    let winmail = tnef::build(&[("patients.xlsx", &patients_book)]);
    let heron: &[(&str, &[&str])] = &[
        (
            "Project Heron: acquisition options",
            &[
                "STRICTLY CONFIDENTIAL",
                "Prepared for the board, 3 December",
            ],
        ),
        ("Options", &["Buy and build", "Merge with a peer"]),
    ];
    let training: &[(&str, &[&str])] = &[
        (
            "Handling customer information",
            &[
                "Why confidentiality matters to our customers",
                "Keep customer records confidential: lock your screen",
            ],
        ),
        ("Quiz", &["Which of these may you email outside?"]),
    ];
    let delegation: &[(&str, &[&str])] = &[(
        "Delegation travel list",
        &[
            "Passport no. 617644717 - J. Marsh",
            "Passport no. 525380048 - K. Osei",
        ],
    )];
    let rota_columns = table(&[
        ["Name", "Team", "Shift", "Home address", "Date of birth"],
        [
            "J. Harper",
            "Response",
            "Early",
            "4 Mill Lane, Leeds",
            "1984-03-02",
        ],
        [
            "T. Okafor",
            "Response",
            "Late",
            "18 Park Road, Leeds",
            "1990-11-23",
        ],
        [
            "M. Lindqvist",
            "Custody",
            "Night",
            "2 Vale Close, Otley",
            "1979-06-14",
        ],
    ]);
    let rota_ods = ods(&Sheet {
        name: "Rota",
        hidden: false,
        rows: rota_columns,
        hidden_columns: &[3, 4],
    });
    let rar_files: &[(&str, &[u8])] = &[("payroll-march.xlsx", &rota)];
    let cid_marked = cid_pdf(
        &[
            "ŚCIŚLE POUFNE",
            "Zestawienie wynagrodzeń za maj",
            "Dział kadr, Kraków",
        ],
        "Strona 1 z 1",
    );
    let cid_passports = cid_pdf(
        &[
            "Delegation travel list – Zürich, 12–14 May",
            "Passport no. 617644717 – J. Marsh",
            "Passport no. 525380048 – K. Osei",
        ],
        "Page 1 of 1",
    );
    let cid_invoice = cid_pdf(
        &[
            "Rechnung 2041 – Gartenpflege, November",
            "Gesamtbetrag: 480,00 €",
            "This document and any attachments are confidential and intended solely for the addressee.",
            "If you have received it in error, please notify the sender.",
        ],
        "Seite 1 von 1",
    );
    let to_partner = "Dana Whitfield <dana.whitfield@partner.example>";
    let internal_list: Vec<String> = (1..=300)
        .map(|i| format!("staff{i:03}@org.example"))
        .collect();
    let internal_list = internal_list.join(",\n ");
    let mut fixtures = vec![
        (
            "data-attachment/fire_error_hidden_sheet_in_foi_response.eml",
            attachment_eml(
                "foi.requester@mail.example",
                "FOI 2023-0417: officer numbers by rank",
                "Please find our response attached.",
                &[(
                    "FOI 2023-0417 response",
                    "application/octet-stream",
                    &foi_book,
                )],
            ),
        ),
        (
            "data-attachment/fire_warning_rota_to_internal_list_of_hundreds.eml",
            attachment_eml(
                &internal_list,
                "Weekend rota",
                "Rota for the weekend attached.",
                &[(
                    "rota.xlsx",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    &rota,
                )],
            ),
        ),
        (
            "data-attachment/fire_error_winmail_dat_with_hidden_sheet.eml",
            attachment_eml(
                to_partner,
                "Patient list",
                "As discussed.",
                &[("winmail.dat", "application/ms-tnef", &winmail)],
            ),
        ),
        (
            "data-attachment/silent_document_without_extension.eml",
            attachment_eml(
                to_partner,
                "Minutes",
                "The minutes, as promised.",
                &[(
                    "Minutes 3 December",
                    "application/octet-stream",
                    &docx("", &["Minutes"], ""),
                )],
            ),
        ),
        (
            "personal-data/fire_error_nhs_numbers_in_hidden_sheet.eml",
            attachment_eml(
                to_partner,
                "Practice figures",
                "Figures for the quarter attached.",
                &[("patients.xlsx", "application/octet-stream", &patients_book)],
            ),
        ),
        (
            "personal-data/fire_error_passports_in_zipped_pdf.eml",
            attachment_eml(
                to_partner,
                "Delegation",
                "Travel list attached.",
                &[("travel.zip", "application/zip", &travel_zip)],
            ),
        ),
        (
            "personal-data/silent_unlabelled_numbers_in_spreadsheet.eml",
            attachment_eml(
                to_partner,
                "Stock",
                "Stock list attached.",
                &[("stock.xlsx", "application/octet-stream", &plain_numbers)],
            ),
        ),
        (
            "confidential-broad/fire_error_marked_document_to_partner.eml",
            attachment_eml(
                to_partner,
                "Minutes",
                "Minutes attached.",
                &[(
                    "minutes.docx",
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                    &minutes,
                )],
            ),
        ),
        (
            "confidential-broad/silent_pdf_with_legal_footer.eml",
            attachment_eml(
                to_partner,
                "Invoice 2041",
                "Invoice attached.",
                &[("invoice-2041.pdf", "application/pdf", &invoice)],
            ),
        ),
        (
            "encrypted-attachment/fire_warning_encrypted_zip_entry.eml",
            attachment_eml(
                to_partner,
                "Payroll",
                "Password to follow.",
                &[("payroll.zip", "application/zip", &payroll_zip)],
            ),
        ),
        (
            "encrypted-attachment/fire_warning_password_protected_office_file.eml",
            attachment_eml(
                to_partner,
                "Salaries",
                "Password by phone.",
                &[(
                    "salaries.xlsx",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    &encrypted_office(),
                )],
            ),
        ),
        (
            "encrypted-attachment/silent_plain_zip_and_pdf.eml",
            attachment_eml(
                to_partner,
                "Kiosk",
                "Notes attached.",
                &[
                    ("kiosk.zip", "application/zip", &readme_zip),
                    ("invoice-2041.pdf", "application/pdf", &invoice),
                ],
            ),
        ),
        (
            "personal-data/fire_error_nhs_numbers_in_hidden_sheet_of_old_excel_file.eml",
            attachment_eml(
                to_partner,
                "Practice list",
                "The list you asked for.",
                &[("register.xls", "application/vnd.ms-excel", PATIENTS_XLS)],
            ),
        ),
        (
            "personal-data/silent_unlabelled_numbers_in_old_excel_file.eml",
            attachment_eml(
                to_partner,
                "Stock",
                "Stock list attached.",
                &[("stock.xls", "application/vnd.ms-excel", STOCK_XLS)],
            ),
        ),
        (
            "personal-data/fire_error_passports_on_a_slide.eml",
            attachment_eml(
                to_partner,
                "Delegation",
                "Slides for Thursday.",
                &[(
                    "delegation.odp",
                    "application/vnd.oasis.opendocument.presentation",
                    &odp(delegation),
                )],
            ),
        ),
        (
            "personal-data/fire_error_passports_in_pdf_with_cid_font.eml",
            attachment_eml(
                to_partner,
                "Delegation",
                "Travel list attached.",
                &[("delegation.pdf", "application/pdf", &cid_passports)],
            ),
        ),
        (
            "data-attachment/fire_error_hidden_sheet_in_old_excel_file.eml",
            attachment_eml(
                to_partner,
                "Practice figures",
                "Figures attached.",
                &[("figures.xls", "application/octet-stream", PATIENTS_XLS)],
            ),
        ),
        (
            "data-attachment/fire_error_hidden_column_in_old_excel_rota.eml",
            attachment_eml(
                to_partner,
                "Rota",
                "Next week's rota.",
                &[("rota.xls", "application/vnd.ms-excel", ROTA_XLS)],
            ),
        ),
        (
            "data-attachment/fire_warning_old_excel_rota_without_hidden_data.eml",
            attachment_eml(
                to_partner,
                "Rota",
                "Next week's rota.",
                &[("rota.xls", "application/vnd.ms-excel", SHIFTS_XLS)],
            ),
        ),
        (
            "data-attachment/fire_error_hidden_columns_in_opendocument_rota.eml",
            attachment_eml(
                to_partner,
                "Rota",
                "Next week's rota.",
                &[(
                    "rota.ods",
                    "application/vnd.oasis.opendocument.spreadsheet",
                    &rota_ods,
                )],
            ),
        ),
        (
            "confidential-broad/fire_error_marked_presentation_to_partner.eml",
            attachment_eml(
                to_partner,
                "Heron",
                "Slides for tomorrow.",
                &[(
                    "heron.pptx",
                    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                    &pptx(heron, "Do not share the figures on slide 2."),
                )],
            ),
        ),
        (
            "confidential-broad/silent_training_slides_about_confidentiality.eml",
            attachment_eml(
                to_partner,
                "Training",
                "The slides from today's session.",
                &[(
                    "training.pptx",
                    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                    &pptx(training, ""),
                )],
            ),
        ),
        (
            "confidential-broad/fire_error_polish_marking_in_pdf_with_cid_font.eml",
            attachment_eml(
                to_partner,
                "Zestawienie",
                "W załączniku.",
                &[("zestawienie.pdf", "application/pdf", &cid_marked)],
            ),
        ),
        (
            "confidential-broad/silent_pdf_with_cid_font_and_legal_footer.eml",
            attachment_eml(
                to_partner,
                "Rechnung 2041",
                "Anbei die Rechnung.",
                &[("rechnung-2041.pdf", "application/pdf", &cid_invoice)],
            ),
        ),
        (
            "encrypted-attachment/silent_plain_rar_archives.eml",
            attachment_eml(
                to_partner,
                "Payroll",
                "Both formats attached.",
                &[
                    (
                        "payroll.rar",
                        "application/vnd.rar",
                        &rar4(rar_files, RarPassword::None),
                    ),
                    (
                        "payroll5.rar",
                        "application/vnd.rar",
                        &rar5(rar_files, RarPassword::None),
                    ),
                ],
            ),
        ),
        (
            "attachment-limit/fire_warning_zips_nested_fifty_deep.eml",
            attachment_eml(
                to_partner,
                "Export",
                "Export attached.",
                &[("export.zip", "application/zip", &nested_zips(50))],
            ),
        ),
        (
            "attachment-limit/silent_ordinary_zip.eml",
            attachment_eml(
                to_partner,
                "Kiosk",
                "Notes attached.",
                &[("kiosk.zip", "application/zip", &readme_zip)],
            ),
        ),
    ];
    // Protected RAR archives, one per format and protection.
    let protected = [
        (
            "encrypted-attachment/fire_warning_rar4_with_protected_files.eml",
            "application/vnd.rar",
            rar4(rar_files, RarPassword::Files),
        ),
        (
            "encrypted-attachment/fire_warning_rar4_with_protected_names.eml",
            "application/x-rar-compressed",
            rar4(rar_files, RarPassword::Headers),
        ),
        (
            "encrypted-attachment/fire_warning_rar5_with_protected_files.eml",
            "application/vnd.rar",
            rar5(rar_files, RarPassword::Files),
        ),
    ];
    fixtures.extend(protected.map(|(path, content_type, rar)| {
        let files: &[(&str, &str, &[u8])] = &[("payroll.rar", content_type, &rar)];
        (
            path,
            attachment_eml(to_partner, "Payroll", "Password to follow.", files),
        )
    }));
    fixtures
}

/// The attachment fixtures are what the builders make: rebuilt with
/// `MAILLINT_WRITE_FIXTURES=1`, compared otherwise.
#[test]
fn attachment_fixtures_are_up_to_date() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let write = std::env::var_os("MAILLINT_WRITE_FIXTURES").is_some();
    for (path, eml) in attachment_fixtures() {
        let path = root.join(path);
        if write {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &eml).unwrap();
        } else {
            let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                on_disk == eml,
                "{} is stale: run this test with MAILLINT_WRITE_FIXTURES=1",
                path.display()
            );
        }
    }
}
