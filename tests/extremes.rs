//! Generated extreme inputs: each gives a report or a one-line error, with
//! no panic and no stack overflow; `work_grows_linearly` checks that the
//! time taken grows in proportion to the input, comparing runs at n and 16n
//! (no absolute time is asserted: the machine may be busy). Each test
//! prints how long it took, and
//! `cargo test --release --test extremes -- --include-ignored --nocapture`
//! adds the full-size (100 MB) cases and shows the figures.

use maillint::config::Config;
use maillint::linter::{Linter, Selection};
use maillint::message::parse_rfc5322;
use maillint::report::Report;
use std::io::Write;
use std::time::{Duration, Instant};

fn linter() -> Linter {
    Linter::new(Config::default(), &Selection::default()).unwrap()
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

const HEAD: &str = "From: ann@example.org\nTo: bob@example.org\nSubject: extreme\n";

/// `depth` multiparts, each inside the one before, around one text part.
fn nested_multipart(depth: usize) -> Vec<u8> {
    let mut s = HEAD.to_string();
    for i in 0..depth {
        s += &format!("Content-Type: multipart/mixed; boundary=\"b{i}\"\n\n--b{i}\n");
    }
    s += "Content-Type: text/plain\n\ninnermost\n";
    for i in (0..depth).rev() {
        s += &format!("--b{i}--\n");
    }
    s.into_bytes()
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

/// A multipart whose boundary never closes, over `lines` lines.
fn unclosed_boundary(lines: usize) -> Vec<u8> {
    let mut s = format!(
        "{HEAD}Content-Type: multipart/mixed; boundary=\"open\"\n\n--open\nContent-Type: text/plain\n\nstart\n"
    );
    for _ in 0..lines {
        s += "more text -- but no boundary --\n";
    }
    s.into_bytes()
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

/// `groups` address groups in one To header, none of them closed.
fn open_groups(groups: usize) -> Vec<u8> {
    let mut s = "From: ann@example.org\nTo: ".to_string();
    for i in 0..groups {
        s += &format!("team{i}: a{i}@example.com, b{i}@example.net,\n ");
    }
    s += "\nSubject: many open groups\n\nhi\n";
    s.into_bytes()
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

/// A header `name` folded over `lines` continuation lines, each `line`.
fn folded_header(name: &str, line: &str, lines: usize) -> Vec<u8> {
    let mut s = format!("From: ann@example.org\n{name}: start");
    s.reserve(line.len() * lines);
    for _ in 0..lines {
        s += line;
    }
    s += "\n\nbody\n";
    s.into_bytes()
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

fn header_fields(fields: usize) -> Vec<u8> {
    let mut s = String::from("From: ann@example.org\n");
    for i in 0..fields {
        s += &format!("X-H{i}: v\n");
    }
    s += "\nbody\n";
    s.into_bytes()
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

fn unterminated_encoded_words(words: usize) -> Vec<u8> {
    let mut s = String::from("From: ann@example.org\nSubject: ");
    for _ in 0..words {
        s += "=?ab?q? ";
    }
    s += "\n\nbody\n";
    s.into_bytes()
}

/// `names` recipients with RFC 2047 encoded display names.
fn encoded_names(names: usize) -> Vec<u8> {
    let mut s = String::from("From: ann@example.org\nTo: ");
    for i in 0..names {
        s += &format!("=?utf-8?q?M=C3=BCller_{i}?= <m{i}@example.com>,\n ");
    }
    s += "\n\nbody\n";
    s.into_bytes()
}

/// How long one check of `bytes` takes.
fn check_time(linter: &Linter, bytes: &[u8]) -> Duration {
    let start = Instant::now();
    let report = maillint::check_bytes("t", bytes, linter);
    let took = start.elapsed();
    assert_eq!(report.messages.len() + report.errors.len(), 1);
    took
}

/// A kind of input: its name, a size, and how to make it at a size.
type Shape = (&'static str, usize, fn(usize) -> Vec<u8>);

/// Sixteen times the input takes about sixteen times as long, not 256:
/// each shape that could make some stage quadratic (folding, fields,
/// address lists and groups, encoded words, MIME scanning and nesting, the
/// cost guard's own pass) is timed at n and 16n. Each size is checked five
/// times, in turn with the other, and the fastest run of each is compared:
/// the runs least disturbed by whatever else the machine is doing. The
/// bound of three times linear leaves room for what disturbance remains
/// and for memory effects, while quadratic work would take 256 times as
/// long.
#[test]
fn work_grows_linearly() {
    const FACTOR: usize = 16;
    let linter = linter();
    let shapes: [Shape; 8] = [
        ("folded Subject lines", 12_500, |n| {
            folded_header("Subject", "\n word", n)
        }),
        ("folded Cc lines", 12_500, |n| folded_header("Cc", "\n ", n)),
        ("header fields", 2_500, header_fields),
        ("open address groups", 500, open_groups),
        ("encoded display names", 500, encoded_names),
        (
            "lines inside an unclosed boundary",
            5_000,
            unclosed_boundary,
        ),
        (
            "unterminated encoded words (refused)",
            50_000,
            unterminated_encoded_words,
        ),
        ("multiparts nested deep", 500, nested_multipart),
    ];
    for (name, n, shape) in shapes {
        let (small_input, large_input) = (shape(n), shape(FACTOR * n));
        let (mut small, mut large) = (Duration::MAX, Duration::MAX);
        for _ in 0..5 {
            small = small.min(check_time(&linter, &small_input));
            large = large.min(check_time(&linter, &large_input));
        }
        let ratio = large.as_secs_f64() / small.as_secs_f64().max(1e-6);
        eprintln!(
            "{name}: x{n} {small:.2?}, x{} {large:.2?}: {ratio:.1} times",
            FACTOR * n
        );
        assert!(
            ratio < (3 * FACTOR) as f64,
            "{name}: {FACTOR} times the input took {ratio:.1} times as long (linear: {FACTOR}, quadratic: {})",
            FACTOR * FACTOR
        );
    }
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
    let linter = Linter::new(config, &Selection::default()).unwrap();
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
    assert!(report.errors[0].source.contains("message 30001"));
}
