//! Property tests: whatever bytes arrive, maillint answers with a message
//! report or a one-line error, and never panics or hangs.
//!
//! The library path is the one the binary takes: content sniffing, parsing
//! (mail-parser or the JSON draft reader) and every rule, built-in and
//! custom, then both printers. Inputs are arbitrary bytes, and the fixture
//! messages mutated: truncated, refolded, with broken encodings, lying
//! charsets, NUL bytes, invalid UTF-8, and random flips, insertions and
//! deletions.
//!
//! The case count keeps `cargo test` quick; `PROPTEST_CASES=100000 cargo
//! test --release --test robustness` runs a long search. Failures proptest
//! finds are saved in `robustness.proptest-regressions` beside this file
//! and replayed first.
// A test: a failed unwrap is a failed run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use maillint::config::Config;
use maillint::linter::{Linter, Selection};
use maillint::report::{self, Human, PrintOptions, Printer, Report};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::strategy::ValueTree;
use proptest::test_runner::FileFailurePersistence;
use std::path::Path;
use std::sync::LazyLock;

/// Cases per property: `PROPTEST_CASES` when set, else `default`. Read
/// here because an explicit `cases` in the config would override it.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Every rule, plus a custom rule over every field and a configured list,
/// so that all of the model is read.
static LINTER: LazyLock<Linter> = LazyLock::new(|| {
    let config = Config::parse(
        r#"
[organization]
domains = ["example.org"]

# Never the history index of whoever runs the tests.
[history]
index = "/nonexistent/history.sqlite"

[lists."all-staff@example.org"]
members = 5000

[[custom]]
id = "anything"
pattern = "(?i)secret|\\d{4}"
fields = ["subject", "body", "headers", "attachment-names", "recipients"]
message = "matched"
"#,
        "robustness.toml",
    )
    .unwrap();
    Linter::new(config, &Selection::default()).unwrap()
});

/// Checks one input the way the binary does and asserts the outcome is
/// well-formed; returns the report.
fn check(bytes: &[u8]) -> Report {
    let report = maillint::check_bytes("case", bytes, &LINTER);
    let answers = report.messages.len() + report.errors.len();
    assert!(answers >= 1, "no answer at all");
    let mbox = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(bytes)
        .starts_with(b"From ");
    assert!(
        mbox || answers == 1,
        "one input, one answer (got {answers})"
    );
    for error in &report.errors {
        if error.error.contains("internal") {
            // Contained, as it must be; shown so a long run can report it.
            eprintln!(
                "contained: {}\n  input: {:?}",
                error.error,
                String::from_utf8_lossy(bytes)
            );
        }
        assert!(!error.error.is_empty(), "empty error");
        assert!(
            !error.error.contains(['\n', '\r']),
            "error spans lines: {:?}",
            error.error
        );
    }
    // The human format keeps one line per finding and per help, whatever
    // the message quoted from the mail.
    let config = Config::default();
    let options = PrintOptions {
        config: &config,
        color: false,
    };
    let mut out = Vec::new();
    Human.print(&report, &options, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let findings = report.messages.iter().flat_map(|m| m.active_findings());
    // Inside an mbox, each message with findings has a heading line too.
    let headings = report
        .messages
        .iter()
        .filter(|m| m.mbox_entry.is_some() && m.active_findings().next().is_some())
        .count();
    let expected_lines = 1
        + headings
        + findings
            .map(|f| 1 + usize::from(f.help.is_some()))
            .sum::<usize>();
    assert_eq!(text.lines().count(), expected_lines, "{text}");
    assert!(!text.contains(['\r', '\x1b', '\0']), "{text:?}");
    let mut out = Vec::new();
    let json = report::printer("json").unwrap();
    json.print(&report, &options, &mut out).unwrap();
    serde_json::from_slice::<serde_json::Value>(&out).unwrap();
    report
}

/// Every message under fixtures/, the seeds for mutation.
static FIXTURES: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    let mut files = Vec::new();
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e != "md") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(files.len() > 40, "fixtures found: {}", files.len());
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
});

/// Fragments that break mail in the ways real senders and attackers do.
const NASTY: &[&[u8]] = &[
    b"\0",
    b"\0\0\0\0",
    b"\xff\xfe",
    b"\xc3\x28",
    b"\xe2\x82",
    b"\xf0\x9f\x92",
    b"\xed\xa0\x80",
    b"\r",
    b"\n",
    b"\r\n",
    b"\n\n",
    b"\n ",
    b"\n\t",
    b" \n",
    b":",
    b";",
    b",",
    b",,,,,,,,",
    b"<",
    b">",
    b"\"",
    b"(",
    b")",
    b"\\",
    b"@",
    b"@@",
    b"=",
    b"=?",
    b"?=",
    b"=?utf-8?b?!!!!?=",
    b"=?utf-8?q?=FF=FE=?=",
    b"=?unknown-8bit?q?caf=E9?=",
    b"=?utf-16?b?2D3eAA==?=",
    b"=?iso-2022-jp?b?GyRCJDMbKEI=?=",
    b"=?utf-8*en?q?x?=",
    b"=?x?q?",
    b"=\n",
    b"=ZZ",
    b"=3",
    b"===",
    b"--",
    b"\n--",
    b"\n--b\n",
    b"\n--b--\n",
    b"boundary=",
    b"boundary=\"b\"",
    b"Content-Type: multipart/mixed; boundary=\"b\"\n",
    b"Content-Type: multipart/alternative; boundary=b\n",
    b"Content-Type: multipart/digest; boundary=\"d\"\n\n--d\n\n",
    b"Content-Type: message/rfc822\n",
    b"Content-Type: text/html\n",
    b"Content-Type: text/plain; charset=\"utf-7\"\n",
    b"Content-Type: text/plain; charset=x-no-such-charset\n",
    b"Content-Type: text/plain; charset=utf-16\n",
    b"Content-Type: text/plain; charset=\"iso-8859-1\"; charset=utf-8\n",
    b"Content-Type: application/pdf; name*0*=utf-8''a%FF; name*1=\"b\"\n",
    b"Content-Disposition: attachment; filename=\"\0.exe\"\n",
    b"Content-Transfer-Encoding: base64\n",
    b"Content-Transfer-Encoding: quoted-printable\n",
    b"Content-Transfer-Encoding: x-uuencode\n",
    b"SGVsbG8gd29ybGQ=",
    b"SGVsbG8@#$%",
    b"====",
    b"To: ",
    b"To: team: a@example.org, b@example.net\n",
    b"Cc: undisclosed-recipients:;\n",
    b"Cc: a@example.com, \"B, C\" <b@example.com>, (comment) d@example.com\n",
    b"From: <>\n",
    b"Subject: Re: \n",
    b"In-Reply-To: <x@y>\n",
    b"X-Maillint-Allow: cc-exposure, nope; reason=\n",
    b"<html><body><p>hi</p><br><script>",
    b"&amp;&#xFFFFFFFF;&#0;&",
    b"<!--",
    b"\xef\xbb\xbf",
    b"From ",
    b"\n>From ",
    b"{",
    b"}",
];

#[derive(Debug, Clone)]
enum Mutation {
    /// Cut the message here.
    Truncate(Index),
    /// XOR one byte.
    Flip(Index, u8),
    /// Insert random bytes.
    Insert(Index, Vec<u8>),
    /// Insert a fragment from [`NASTY`].
    InsertNasty(Index, Index),
    /// Overwrite with a fragment from [`NASTY`].
    Overwrite(Index, Index),
    /// Delete a run of bytes.
    Delete(Index, usize),
    /// Copy a run of bytes elsewhere.
    Duplicate(Index, Index, usize),
    /// Unfold a folded line, or fold an unfolded one: break the header
    /// structure where it is most fragile.
    Refold(Index),
    /// Replace every `\n` with `\r\n`, or every `\r\n` with `\r`.
    LineEnds(bool),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        1 => any::<Index>().prop_map(Mutation::Truncate),
        3 => (any::<Index>(), 1u8..).prop_map(|(i, x)| Mutation::Flip(i, x)),
        2 => (any::<Index>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        5 => (any::<Index>(), any::<Index>()).prop_map(|(i, n)| Mutation::InsertNasty(i, n)),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(i, n)| Mutation::Overwrite(i, n)),
        2 => (any::<Index>(), 1usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        1 => (any::<Index>(), any::<Index>(), 1usize..256)
            .prop_map(|(a, b, n)| Mutation::Duplicate(a, b, n)),
        3 => any::<Index>().prop_map(Mutation::Refold),
        1 => any::<bool>().prop_map(Mutation::LineEnds),
    ]
}

/// A position, biased towards the header section where most damage is done.
fn position(index: &Index, len: usize) -> usize {
    let at = index.index(len + 1);
    if index.index(2) == 0 { at / 4 } else { at }
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len();
    match m {
        Mutation::Truncate(i) => bytes.truncate(i.index(len + 1)),
        Mutation::Flip(i, x) => {
            if len > 0 {
                bytes[position(i, len - 1)] ^= x;
            }
        }
        Mutation::Insert(i, b) => {
            let at = position(i, len);
            bytes.splice(at..at, b.iter().copied());
        }
        Mutation::InsertNasty(i, n) => {
            let at = position(i, len);
            bytes.splice(at..at, n.get(NASTY).iter().copied());
        }
        Mutation::Overwrite(i, n) => {
            let at = position(i, len);
            let nasty = n.get(NASTY);
            let end = (at + nasty.len()).min(len);
            bytes.splice(at..end, nasty.iter().copied());
        }
        Mutation::Delete(i, n) => {
            let at = position(i, len);
            bytes.drain(at..(at + n).min(len));
        }
        Mutation::Duplicate(from, to, n) => {
            let from = from.index(len + 1);
            let chunk = bytes[from..(from + n).min(len)].to_vec();
            let to = position(to, len);
            bytes.splice(to..to, chunk);
        }
        Mutation::Refold(i) => {
            let newlines: Vec<usize> = memchr_all(bytes, b'\n');
            if newlines.is_empty() {
                return;
            }
            let at = *i.get(&newlines);
            match bytes.get(at + 1) {
                // A continuation line loses its indentation.
                Some(b' ' | b'\t') => {
                    bytes.remove(at + 1);
                }
                // A line becomes a continuation of the one before.
                _ => bytes.insert(at + 1, b' '),
            }
        }
        Mutation::LineEnds(crlf) => {
            let mut out = Vec::with_capacity(len + len / 16);
            for (j, &b) in bytes.iter().enumerate() {
                match (crlf, b) {
                    (true, b'\n') if j == 0 || bytes[j - 1] != b'\r' => out.extend(b"\r\n"),
                    (false, b'\n') if j > 0 && bytes[j - 1] == b'\r' => {}
                    _ => out.push(b),
                }
            }
            *bytes = out;
        }
    }
}

fn memchr_all(bytes: &[u8], needle: u8) -> Vec<usize> {
    bytes
        .iter()
        .enumerate()
        .filter(|&(_, &b)| b == needle)
        .map(|(i, _)| i)
        .collect()
}

/// Input that gets past sniffing, so the parsers see the random bytes.
fn with_prefix() -> impl Strategy<Value = Vec<u8>> {
    let prefixes: &[&[u8]] = &[
        b"",
        b"From: a@example.org\n",
        b"To: ",
        b"Subject: ",
        b"Content-Type: multipart/mixed; boundary=b\n\n--b\n",
        b"From a@example.org Mon Jan  1 00:00:00 2024\nFrom: a@example.org\n",
        b"{\"to\": ",
        b"{",
    ];
    (
        prop::sample::select(prefixes),
        prop::collection::vec(any::<u8>(), 0..1024),
    )
        .prop_map(|(prefix, rest)| [prefix, &rest[..]].concat())
}

const WORDS: &[&[u8]] = &[b"a@example.org", b"all@example.org", b"Bob", b"x"];
const HEADS: &[&[u8]] = &[b"From: a@example.org\n", b"To: ", b"Content-Type: "];

/// A message assembled from [`NASTY`] fragments and short random runs: the
/// parser's state machines meet their delimiters in every order.
fn token_soup() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        4 => prop::sample::select(NASTY).prop_map(<[u8]>::to_vec),
        1 => prop::collection::vec(any::<u8>(), 1..8),
        1 => prop::sample::select(WORDS).prop_map(<[u8]>::to_vec),
    ];
    (
        prop::sample::select(HEADS),
        prop::collection::vec(piece, 0..96),
    )
        .prop_map(|(head, pieces)| [head.to_vec(), pieces.concat()].concat())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(2000),
        // Next to this file: tests/robustness.proptest-regressions.
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        check(&bytes);
    }

    #[test]
    fn arbitrary_bytes_past_the_sniffer(bytes in with_prefix()) {
        check(&bytes);
    }

    #[test]
    fn token_soup_messages(bytes in token_soup()) {
        check(&bytes);
    }

    #[test]
    fn mutated_fixtures(
        seed in any::<Index>(),
        mutations in prop::collection::vec(mutation(), 1..12),
    ) {
        let mut bytes = seed.get(&FIXTURES).clone();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        check(&bytes);
    }
}

/// Mutated fixtures that were parsed must still mostly parse: the mutation
/// harness is exercising the parser, not only the sniffer.
#[test]
fn mutated_fixtures_mostly_reach_the_rules() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = (any::<Index>(), prop::collection::vec(mutation(), 1..4));
    let (mut parsed, total) = (0, 200);
    for _ in 0..total {
        let (seed, mutations) = strategy.new_tree(&mut runner).unwrap().current();
        let mut bytes = seed.get(&FIXTURES).clone();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        if !check(&bytes).messages.is_empty() {
            parsed += 1;
        }
    }
    assert!(parsed > total / 2, "only {parsed} of {total} parsed");
}

/// The `maillint` binary over fixtures/malformed/: it exits normally (no
/// crash signal) with 0, 1 or 2, and reports each file exactly once:
/// `checked_*` files as messages, `refused_*` files as one-line errors.
#[test]
fn the_binary_reports_every_malformed_file_once() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("fixtures/malformed");
    let output = assert_cmd::Command::cargo_bin("maillint")
        .unwrap()
        .current_dir(root)
        .env("XDG_CONFIG_HOME", dir.join(".no-config"))
        .env("XDG_DATA_HOME", dir.join(".no-data"))
        .args(["check", "fixtures/malformed", "--format", "json"])
        .output()
        .unwrap();
    let code = output.status.code();
    assert!(
        matches!(code, Some(0..=2)),
        "exit {:?} (a signal if None)\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let sources = |key: &str| -> Vec<String> {
        doc[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["source"].as_str().unwrap().to_string())
            .collect()
    };
    let (messages, errors) = (sources("messages"), sources("errors"));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), errors.len(), "{stderr}");

    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert!(names.len() >= 30, "{names:?}");
    // An mbox error names the message inside the file: `f.mbox (message 1, line 1)`.
    let of = |source: &String, name: &str| {
        let path = format!("fixtures/malformed/{name}");
        *source == path || source.starts_with(&format!("{path} ("))
    };
    for name in &names {
        let in_messages = messages.iter().filter(|s| of(s, name)).count();
        let in_errors = errors.iter().filter(|s| of(s, name)).count();
        assert_eq!(
            in_messages + in_errors,
            1,
            "{name}: {in_messages} + {in_errors}"
        );
        if name.starts_with("checked_") {
            assert_eq!(in_messages, 1, "{name} should be checked:\n{stderr}");
        } else {
            assert!(
                name.starts_with("refused_"),
                "{name}: checked_* or refused_*"
            );
            assert_eq!(in_errors, 1, "{name} should be refused");
        }
    }
    assert_eq!(messages.len() + errors.len(), names.len());
}

/// A carriage return or escape sequence in an address does not reach the
/// terminal: it could hide or rewrite a finding.
#[test]
fn control_characters_in_findings_are_escaped() {
    let dir = tempfile::TempDir::new().unwrap();
    std::fs::write(
        dir.path().join("m.eml"),
        "From: a@example.org\nTo: all-\rstaff@example.org, every\x1b[2Kone@example.org\nSubject: x\n\nhi\n",
    )
    .unwrap();
    let output = assert_cmd::Command::cargo_bin("maillint")
        .unwrap()
        .current_dir(dir.path())
        .env("XDG_CONFIG_HOME", dir.path().join(".no-config"))
        .env("XDG_DATA_HOME", dir.path().join(".no-data"))
        .args(["check", "m.eml", "--color", "never"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("all-\\rstaff@example.org"), "{stdout}");
    assert!(!stdout.contains(['\r', '\x1b']), "{stdout:?}");
}

/// A file name with a line break in it still gives one line per error.
#[cfg(unix)]
#[test]
fn file_names_with_line_breaks_stay_on_one_line() {
    let dir = tempfile::TempDir::new().unwrap();
    std::fs::write(dir.path().join("not\na message.eml"), "hello\n").unwrap();
    let output = assert_cmd::Command::cargo_bin("maillint")
        .unwrap()
        .current_dir(dir.path())
        .env("XDG_CONFIG_HOME", dir.path().join(".no-config"))
        .env("XDG_DATA_HOME", dir.path().join(".no-data"))
        .args(["check", "."])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(
        stderr,
        "maillint: error: ./not\\na message.eml: not an email message: the first line is not a header field\n"
    );
}
