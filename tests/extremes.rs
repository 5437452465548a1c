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
