//! A message with as many recipients as the NHSmail list is an ordinary
//! input. No timing is asserted here; speed lives in the benchmarks.
//!
//! Release builds (`cargo test --release --test scale`) use the full
//! 1,200,000 recipients; debug builds a tenth of them, where unoptimised
//! code would otherwise spend half of `cargo test` here. The findings are
//! the same at either size.

use maillint::audience::{Audience, Org};
use maillint::config::Config;
use maillint::linter::{Linter, Selection};
use maillint::message::parse_rfc5322;

/// The default configuration with no history index: never the index of
/// whoever runs the tests, whose rules would look up every recipient.
fn no_history() -> Config {
    let mut config = Config::default();
    config.history.index = Some("/nonexistent/history.sqlite".into());
    config
}

const RECIPIENTS: usize = if cfg!(debug_assertions) {
    120_000
} else {
    1_200_000
};

/// `1234567` as findings write it: `1,234,567`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn huge_message() -> Vec<u8> {
    let mut raw = String::with_capacity(RECIPIENTS * 40);
    raw.push_str("From: contractor@nhs.example.net\nSubject: test\nTo: ");
    for i in 0..RECIPIENTS {
        if i > 0 {
            raw.push_str(",\n ");
        }
        raw.push_str(&format!("user{i}@trust{}.nhs.example.net", i % 300));
    }
    raw.push_str("\n\ntest\n");
    raw.into_bytes()
}

#[test]
fn million_recipient_header_is_counted() {
    let raw = huge_message();
    let msg = parse_rfc5322(&raw, 1).expect("parses");
    assert_eq!(msg.recipients().count(), RECIPIENTS);
    let last = msg.recipients().last().unwrap();
    assert_eq!(
        last.addr,
        format!(
            "user{}@trust{}.nhs.example.net",
            RECIPIENTS - 1,
            (RECIPIENTS - 1) % 300
        )
    );
    assert_eq!(
        last.line,
        Some(3 + RECIPIENTS - 1),
        "each address keeps its own line"
    );

    let config = no_history();
    let org = Org::new(&config).unwrap();
    assert_eq!(Audience::new(&msg, &org).len(), RECIPIENTS);

    let linter = Linter::new(config, &Selection::default()).unwrap();
    let findings = linter.check(&msg);
    let count = findings
        .iter()
        .find(|f| f.rule == "recipient-count")
        .expect("recipient-count fires");
    let n = thousands(RECIPIENTS);
    assert_eq!(count.message, format!("{n} recipients (To {n})"));
    assert_eq!(count.severity.as_str(), "error");
}

/// A junk list as long as the NHSmail one (in release builds): every entry
/// broken, and some written twice. Findings stay a readable handful.
#[test]
fn million_junk_recipients_give_capped_findings() {
    let mut raw = String::with_capacity(RECIPIENTS * 40);
    raw.push_str("From: contractor@nhs.example.net\nSubject: test\nTo: ");
    for i in 0..RECIPIENTS {
        if i > 0 {
            raw.push_str(",\n ");
        }
        match i % 4 {
            0 => raw.push_str(&format!("user{i}@@trust{}.example.net", i % 300)),
            1 => raw.push_str(&format!("user{i}.gmail.com")),
            2 => raw.push_str(&format!("user{i}@gmial.com")),
            _ => raw.push_str(&format!("user{}@gmial.com", i - 1)),
        }
    }
    raw.push_str("\n\ntest\n");
    let msg = parse_rfc5322(raw.as_bytes(), 1).expect("parses");
    let linter = Linter::new(no_history(), &Selection::default()).unwrap();
    let findings = linter.check(&msg);
    let of = |rule: &str| -> Vec<&str> {
        findings
            .iter()
            .filter(|f| f.rule == rule)
            .map(|f| f.message.as_str())
            .collect()
    };
    let invalid = of("invalid-address");
    assert_eq!(invalid.len(), 21);
    assert_eq!(
        invalid[20],
        format!(
            "and {} more invalid addresses",
            thousands(RECIPIENTS / 2 - 20)
        )
    );
    let duplicates = of("duplicate-recipient");
    assert_eq!(duplicates.len(), 21);
    assert_eq!(
        duplicates[20],
        format!(
            "and {} more addresses written more than once",
            thousands(RECIPIENTS / 4 - 20)
        )
    );
    assert_eq!(
        of("lookalike-domain"),
        [format!(
            "{} recipients at gmial.com (first `user2@gmial.com`): gmial.com looks like a typo of gmail.com (a major mail provider)",
            thousands(RECIPIENTS / 4)
        )]
    );
    assert!(findings.len() < 50, "{} findings", findings.len());
}
