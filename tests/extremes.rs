//! Generated extreme inputs: each gives a report or a one-line error, with
//! no panic and no stack overflow (tests/growth.rs checks that the time
//! grows linearly with the same shapes). Each test prints how long it took,
//! and
//! `cargo test --release --test extremes -- --include-ignored --nocapture`
//! adds the full-size (100 MB) cases and shows the figures.
// A test: a failed unwrap is a failed run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use maillint::config::Config;
use maillint::linter::{Linter, Selection};
use maillint::message::parse_rfc5322;
use maillint::report::Report;
use shapes::*;
use std::io::Write;
use std::time::Instant;

mod shapes;

fn linter() -> Linter {
    Linter::new(no_history(Config::default()), &Selection::default()).unwrap()
}

/// Checks `bytes` through the library path, asserting one well-formed
/// answer, and prints the time taken.
fn run(name: &str, bytes: &[u8]) -> Report {
    let start = Instant::now();
    let report = maillint::check_bytes(name, bytes, &linter());
    eprintln!("{name}: {} bytes in {:.2?}", bytes.len(), start.elapsed());
    assert_eq!(report.messages.len() + report.errors.len(), 1, "{name}");
    for e in &report.errors {
        assert!(!e.error.contains('\n'), "{name}: {}", e.error);
    }
    report
}

fn error_of(report: &Report) -> &str {
    &report.errors.first().expect("an error").error
}

#[test]
fn mime_nested_10_000_deep() {
    let report = run("multipart x10000", &nested_multipart(10_000));
    assert_eq!(report.messages.len(), 1);
    let msg = parse_rfc5322(&nested_multipart(10_000), 1).unwrap();
    assert_eq!(msg.body[0].text.trim(), "innermost");
}

#[test]
fn attached_messages_nested_100_000_deep_do_not_overflow_the_stack() {
    // mail-parser builds one Rust value inside the next for each level;
    // dropping them recursively overflowed the stack (an abort, which
    // nothing can catch) from about 100,000 levels on a 2 MB test thread.
    for depth in [10_000, 100_000] {
        let mut s = HEAD.to_string();
        for _ in 0..depth {
            s += "Content-Type: message/rfc822\n\nFrom: c@example.net\n";
        }
        s += "Content-Type: text/plain\n\nhello\n";
        let report = run(&format!("message/rfc822 x{depth}"), s.as_bytes());
        assert_eq!(report.messages.len(), 1);
    }
}

/// A line of `len` bytes with no line break, in the body or a header.
fn long_line(len: usize, in_header: bool) -> Vec<u8> {
    let mut raw = HEAD.as_bytes().to_vec();
    raw.extend_from_slice(if in_header { b"X-Long: " } else { b"\n" });
    raw.resize(raw.len() + len, b'a');
    raw
}

#[test]
fn a_10_mb_line_without_a_newline() {
    for in_header in [false, true] {
        let report = run(
            &format!("10 MB line, header {in_header}"),
            &long_line(10 << 20, in_header),
        );
        assert_eq!(report.messages.len(), 1);
    }
}

#[test]
#[cfg_attr(debug_assertions, ignore = "100 MB: run with --release")]
fn a_100_mb_line_without_a_newline() {
    // Just under the default limit of 100 MB; one byte more is refused.
    let len = (100 << 20) - HEAD.len() - 8;
    for in_header in [false, true] {
        let report = run(
            &format!("100 MB line, header {in_header}"),
            &long_line(len, in_header),
        );
        assert_eq!(report.messages.len(), 1);
    }
    let report = run("100 MB + 1 line", &long_line(100 << 20, false));
    assert!(error_of(&report).contains("larger than the 100 MB limit"));
}

#[test]
fn a_boundary_that_never_closes() {
    let report = run("boundary never closes", &unclosed_boundary(200_000));
    assert_eq!(report.messages.len(), 1);

    // Nested, and the inner boundary is never even opened.
    let s = format!(
        "{HEAD}Content-Type: multipart/mixed; boundary=\"outer\"\n\n--outer\nContent-Type: multipart/alternative; boundary=\"inner\"\n\nno inner boundary here\n--outer\nContent-Type: text/plain\n\ntail\n"
    );
    let report = run("inner boundary missing", s.as_bytes());
    assert_eq!(report.messages.len(), 1);
}

#[test]
fn a_million_empty_addresses() {
    let mut raw = b"From: ann@example.org\nTo: ".to_vec();
    raw.resize(raw.len() + 1_000_000, b',');
    raw.extend_from_slice(b"\nSubject: commas\n\nhi\n");
    let report = run("To: 1,000,000 commas", &raw);
    assert_eq!(report.messages.len(), 1);
    let msg = parse_rfc5322(&raw, 1).unwrap();
    assert_eq!(msg.recipients().count(), 0);
    assert_eq!(msg.subject.as_deref(), Some("commas"));
}

#[test]
fn address_groups_left_open() {
    let raw = b"From: ann@example.org\nTo: team: a@example.com, c@example.net\nSubject: open group\n\nhi\n";
    let msg = parse_rfc5322(raw, 1).unwrap();
    let addrs: Vec<&str> = msg.recipients().map(|a| a.addr).collect();
    assert_eq!(addrs, ["a@example.com", "c@example.net"]);
    assert_eq!(msg.groups.len(), 1);
    assert_eq!(msg.subject.as_deref(), Some("open group"));
    run("open group", raw);

    // 100,000 groups, none closed, in one header.
    let s = open_groups(100_000);
    let report = run("100,000 open groups", &s);
    assert_eq!(report.messages.len(), 1);
    let msg = parse_rfc5322(&s, 1).unwrap();
    assert_eq!(msg.recipients().count(), 200_000);
}

#[test]
fn a_header_of_a_million_folded_lines() {
    for (name, line) in [
        ("Subject", "\n word"),
        ("X-Custom", "\n\tvalue"),
        ("Cc", "\n "),
        ("Content-Type", "\n ; p=v"),
        ("References", "\n <id@example.org>"),
    ] {
        let s = folded_header(name, line, 1_000_000);
        let report = run(&format!("{name}: 1,000,000 folded lines"), &s);
        assert_eq!(report.messages.len(), 1, "{name}");
    }
}

#[test]
fn three_hundred_thousand_header_fields() {
    let report = run("300,000 header fields", &header_fields(300_000));
    assert_eq!(report.messages.len(), 1);
}

/// Shapes that would make mail-parser 0.11 quadratic are refused at once,
/// naming the cause; ordinary messages of the same size are not.
#[test]
fn quadratic_shapes_are_refused_with_a_reason() {
    let report = run(
        "200,000 unterminated encoded words",
        &unterminated_encoded_words(200_000),
    );
    assert!(error_of(&report).contains("encoded words"), "{report:?}");

    let mut missing = format!("{HEAD}Content-Type: multipart/mixed; boundary=\"A\"\n\n--A\n");
    for i in 0..20_000 {
        missing += &format!("Content-Type: multipart/mixed; boundary=\"nope{i}\"\n\nx\n--A\n");
    }
    missing += &"x".repeat(5 << 20);
    let report = run("20,000 missing boundaries", missing.as_bytes());
    assert!(error_of(&report).contains("boundaries that never appear"));

    let mut long = format!(
        "{HEAD}Content-Type: multipart/mixed; boundary=\"{}x\"\n\n",
        "-".repeat(100_000)
    );
    long += &"-".repeat(5 << 20);
    let report = run("100,000-byte boundary over 5 MB of dashes", long.as_bytes());
    assert!(error_of(&report).contains("long MIME boundary"));

    let mut params = format!("{HEAD}Content-Type: text/plain; ");
    for i in 0..100_000 {
        params += &format!("k{i}*1=a;\n ");
    }
    params += "\n\nbody\n";
    let report = run("100,000 parameter continuations", params.as_bytes());
    assert!(error_of(&report).contains("continuations"));

    // The same sizes, well formed: checked as usual.
    let report = run("100,000 encoded display names", &encoded_names(100_000));
    assert_eq!(report.messages.len(), 1);
}

#[test]
fn deeply_nested_json_draft() {
    let mut json = "{\"to\": ".to_string();
    json += &"[".repeat(100_000);
    let report = run("JSON nested 100,000 deep", json.as_bytes());
    assert!(error_of(&report).starts_with("invalid JSON draft"));
}

/// An mbox far larger than any one message is read message by message:
/// each is reported, and the size limit applies per message, not per file.
#[test]
fn a_large_mbox_is_streamed() {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("big.mbox");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let messages = 30_000;
    for i in 0..messages {
        write!(
            file,
            "From ann@example.org Mon Jan  1 00:00:00 2024\nFrom: ann@example.org\nTo: bob{i}@example.com\nSubject: number {i}\n\nHello {i}, this is the body of message {i}.\n\n"
        )
        .unwrap();
    }
    // A message with a 2 MB line and no line break, beyond a 1 MB limit.
    file.write_all(b"From x Mon Jan  1 00:00:00 2024\nFrom: x@example.org\n\n")
        .unwrap();
    file.write_all(&vec![b'a'; 2 << 20]).unwrap();
    file.write_all(b"\n\nFrom y Mon Jan  1 00:00:00 2024\nFrom: y@example.org\n\nlast\n")
        .unwrap();
    file.into_inner().unwrap().sync_all().unwrap();
    let size = std::fs::metadata(&path).unwrap().len();

    let config = Config::parse("[input]\nmax_message_size = \"1MB\"\n", "t.toml").unwrap();
    let linter = Linter::new(no_history(config), &Selection::default()).unwrap();
    let start = Instant::now();
    let report = maillint::check(&[maillint::input::Input::Path(path.clone())], &linter);
    eprintln!(
        "mbox of {messages} messages, {size} bytes, in {:.2?}",
        start.elapsed()
    );
    assert!(size > 5 << 20, "the file is far larger than the limit");
    assert_eq!(report.messages.len(), messages + 1);
    assert_eq!(report.messages[messages].index, messages + 1);
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert!(
        report.errors[0]
            .error
            .contains("larger than the 1 MB limit"),
        "{:?}",
        report.errors
    );
    assert_eq!(
        report.errors[0].source.mbox_message.map(|m| m.number),
        Some(30001)
    );
}

/// A zip of these (name, content) entries, deflated, through the zip crate.
fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(9));
    for (name, content) in entries {
        writer.start_file(*name, options).unwrap();
        writer.write_all(content).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// A message to an outside address carrying this file, base64 encoded.
fn with_attachment(name: &str, content: &[u8]) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut encoded = Vec::with_capacity(content.len() * 4 / 3 + content.len() / 50);
    for (i, chunk) in content.chunks(3).enumerate() {
        if i > 0 && i % 19 == 0 {
            encoded.push(b'\n');
        }
        let n = chunk.iter().fold(0u32, |n, &b| n << 8 | u32::from(b)) << (8 * (3 - chunk.len()));
        for k in 0..4 {
            encoded.push(if k <= chunk.len() {
                ALPHABET[(n >> (18 - 6 * k) & 63) as usize]
            } else {
                b'='
            });
        }
    }
    let mut out = format!(
        "From: a@org.example\nTo: b@partner.example\nSubject: files\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nAttached.\n--b\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename=\"{name}\"\nContent-Transfer-Encoding: base64\n\n"
    )
    .into_bytes();
    out.extend_from_slice(&encoded);
    out.extend_from_slice(b"\n--b--\n");
    out
}

/// The attachment-limit findings of a report.
fn limit_findings(report: &Report) -> Vec<String> {
    report.messages[0]
        .findings
        .iter()
        .filter(|f| f.rule == "attachment-limit")
        .map(|f| f.message.clone())
        .collect()
}

#[test]
fn a_zip_bomb_stops_at_the_byte_limit() {
    // 256 MB of zeros in a zip of a few hundred KB.
    let zeros = vec![0u8; 256 << 20];
    let bomb = zip_of(&[("export.csv", &zeros), ("second.csv", &zeros)]);
    drop(zeros);
    assert!(bomb.len() < 1 << 20, "{}", bomb.len());
    let report = run("zip bomb", &with_attachment("export.zip", &bomb));
    assert_eq!(
        limit_findings(&report),
        [
            "stopped reading inside the attachments at export.zip › export.csv: more than 64.0 MB decompressed ([attachments] max_bytes); what lies past it was not checked"
        ]
    );
}

#[test]
fn a_billion_laughs_inside_a_docx_is_not_expanded() {
    let mut entities = String::from(r#"<!ENTITY lol0 "lol">"#);
    for level in 1..10 {
        let previous = format!("&lol{};", level - 1).repeat(10);
        entities.push_str(&format!(r#"<!ENTITY lol{level} "{previous}">"#));
    }
    let document = format!(
        r#"<?xml version="1.0"?><!DOCTYPE lolz [{entities}]><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>CONFIDENTIAL &lol9;</w:t></w:r></w:p></w:body></w:document>"#
    );
    let docx = zip_of(&[
        ("[Content_Types].xml", b"<Types/>"),
        ("word/document.xml", document.as_bytes()),
    ]);
    let report = run("billion laughs", &with_attachment("laughs.docx", &docx));
    assert!(limit_findings(&report).is_empty());
    // The text around the entity is still read.
    assert!(
        report.messages[0]
            .findings
            .iter()
            .any(|f| f.rule == "confidential-broad" && f.message.contains("laughs.docx")),
        "{:?}",
        report.messages[0].findings
    );
}

#[test]
fn a_pdf_with_a_million_objects() {
    let mut pdf = b"%PDF-1.7\n".to_vec();
    for i in 1..=1_000_000u32 {
        pdf.extend_from_slice(
            format!("{i} 0 obj << /Length 12 >>\nstream\n(x) Tj (y) Tj\nendstream\nendobj\n")
                .as_bytes(),
        );
    }
    pdf.extend_from_slice(b"trailer << /Size 1000001 >>\n%%EOF\n");
    let report = run("million-object PDF", &with_attachment("objects.pdf", &pdf));
    // Read to its end, or stopped by the time limit on a slow machine:
    // either way a report, in bounded time and memory.
    for message in limit_findings(&report) {
        assert!(
            message.contains("max_milliseconds") || message.contains("max_bytes"),
            "{message}"
        );
    }
}

#[test]
fn a_pdf_of_font_dictionaries_that_never_close() {
    // A CMap, then a million font keys: inline dictionaries left open,
    // ToUnicode keys outside any object, indirect /Font references to
    // objects that are not there. Only a bounded number of each is read.
    let mut pdf = b"%PDF-1.4\n7 0 obj << /Length 90 >>\nstream\nbegincmap 1 begincodespacerange <0000> <FFFF> endcodespacerange 1 beginbfrange <0000> <FFFF> <0041> endbfrange\nendstream\nendobj\n".to_vec();
    for i in 0..1_000_000u32 {
        pdf.extend_from_slice(format!("/Font<</F1<< /ToUnicode 7 0 R /Font {i} 0 R ").as_bytes());
    }
    pdf.extend_from_slice(b"\n4 0 obj << /Length 30 >>\nstream\nBT /F1 9 Tf <0000> Tj ET\nendstream\nendobj\ntrailer << >>\n%%EOF\n");
    let report = run(
        "open font dictionaries",
        &with_attachment("fonts.pdf", &pdf),
    );
    for message in limit_findings(&report) {
        assert!(
            message.contains("max_milliseconds") || message.contains("max_bytes"),
            "{message}"
        );
    }
}

#[test]
fn zips_nested_fifty_deep_stop_at_the_depth_limit() {
    let mut inner = zip_of(&[("data.txt", b"NHS number 943 476 5919")]);
    for level in (1..50).rev() {
        inner = zip_of(&[(&format!("{level}.zip"), &inner)]);
    }
    let report = run("nested zips", &with_attachment("deep.zip", &inner));
    let found = limit_findings(&report);
    assert_eq!(found.len(), 1);
    assert!(
        found[0].contains("nested more than 5 levels deep"),
        "{}",
        found[0]
    );
}
