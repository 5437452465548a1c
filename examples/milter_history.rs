//! The history rules at the gateway: what `[history] index` adds to the
//! milter's latency and CPU time per message, over the index of a generated
//! organisation. Run by `scripts/bench-milter-history` (as root, with
//! Debian's postfix installed), which builds the release binary:
//!
//! ```sh
//! cargo run --release --example milter_history -- target/release/maillint [MESSAGES_IN_INDEX]
//! ```
//!
//! The index: a journal of `MESSAGES_IN_INDEX` sent messages (default
//! 200,000) of 1,000 senders, each writing to 1-3 of their 40
//! correspondents a message (people at 500 companies, some shared between
//! senders), learned with `maillint learn --journal` as the README's
//! bootstrap does. Then three Postfix instances on loopback (tests/postfix/,
//! as the tests start them) take turns message by message: one alone, one
//! with the milter without a history, one with the milter judging each
//! sender by their history in the index and learning what leaves. Each
//! message goes from one of the 1,000 senders to three of their
//! correspondents and a colleague, so that every history rule looks up the
//! sender's entries (and the message is accepted and learned).
// An example: a failed unwrap is a failed run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/load.rs"]
mod load;
#[path = "../tests/mta/mod.rs"]
mod mta;
#[path = "../tests/postfix/mod.rs"]
mod postfix;

use load::{CLIENTS, CONFIG, cpu_seconds, from_clients, percentile};
use mta::{Mta, POSTFIX_FLAGS};
use postfix::{Postfix, Sink, crlf, submit};
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

const SENDERS: usize = 1000;
/// Correspondents of each sender.
const CIRCLE: usize = 40;
/// People outside, at `COMPANIES` companies: senders' circles overlap.
const PEOPLE: usize = 20_000;
const COMPANIES: usize = 500;
/// Messages sent one after another, the servers taking turns.
const SEQUENTIAL: usize = 2000;
/// Messages through each milter alone, for its CPU time per message.
const ALONE: usize = 10_000;

/// Sender `s`'s `j`th correspondent: name and address.
fn correspondent(s: usize, j: usize) -> (String, String) {
    let k = (s * 131 + j * 977) % PEOPLE;
    (
        format!("Given{k} Family{k}"),
        format!("person{k}@company{}.example", k % COMPANIES),
    )
}

/// A small pseudo-random sequence (xorshift), the same on every run.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// The journal: `messages` sent messages of `SENDERS` senders, as mbox.
fn journal(path: &Path, messages: usize) {
    let mut dice = Dice(0x2545_f491_4f6c_dd1d);
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut text = String::new();
    for m in 0..messages {
        let s = m % SENDERS;
        let to: Vec<String> = (0..1 + dice.below(3))
            .map(|_| {
                let (name, addr) = correspondent(s, dice.below(CIRCLE));
                format!("{name} <{addr}>")
            })
            .collect();
        text.clear();
        // A day of each year 2025 for each message, in order.
        let day = 1 + m * 365 / messages.max(1);
        write!(
            text,
            "From sender{s}@example.org Mon Jan  1 00:00:00 2025\nFrom: Sender {s} <sender{s}@example.org>\nTo: {}\nSubject: Note {m}\nMessage-ID: <j{m}@example.org>\nDate: {}\n\nA short note.\n\n",
            to.join(", "),
            date(day)
        )
        .unwrap();
        std::io::Write::write_all(&mut out, text.as_bytes()).unwrap();
    }
}

/// Day `day` of 2025 as a Date header's value.
fn date(day: usize) -> String {
    const MONTHS: [(&str, usize); 12] = [
        ("Jan", 31),
        ("Feb", 28),
        ("Mar", 31),
        ("Apr", 30),
        ("May", 31),
        ("Jun", 30),
        ("Jul", 31),
        ("Aug", 31),
        ("Sep", 30),
        ("Oct", 31),
        ("Nov", 30),
        ("Dec", 31),
    ];
    let mut rest = day.clamp(1, 365);
    for (name, days) in MONTHS {
        if rest <= days {
            return format!("{rest} {name} 2025 09:00:00 +0000");
        }
        rest -= days;
    }
    "31 Dec 2025 09:00:00 +0000".into()
}

/// Message `i` of the benchmark: from one of the senders to three of their
/// correspondents and a colleague; its envelope sender and recipients.
fn letter(i: usize) -> (String, Vec<String>, String) {
    let s = i % SENDERS;
    let (name_a, a) = correspondent(s, i % CIRCLE);
    let (name_b, b) = correspondent(s, (i + 1) % CIRCLE);
    let (name_c, c) = correspondent(s, (i + 2) % CIRCLE);
    let text = format!(
        "From: Sender {s} <sender{s}@example.org>\nTo: {name_a} <{a}>, {name_b} <{b}>, {name_c} <{c}>\nCc: Ann <ann@example.org>\nSubject: Minutes {i}\nMessage-ID: <hist{i}@example.org>\nDate: Mon, 18 Nov 2024 09:00:00 +0000\n\nHello,\n\nthe minutes of meeting {i} are below; the actions are on page 2.\n{}",
        "A line of ordinary text in the body of an ordinary message.\n".repeat(40)
    );
    (
        format!("sender{s}@example.org"),
        vec![a, b, c, "ann@example.org".to_string()],
        text,
    )
}

/// Sends message `i` through the server on `port`; the time it took (SMTP
/// connection to QUIT).
fn send(port: u16, i: usize) -> Duration {
    let (sender, recipients, text) = letter(i);
    let recipients: Vec<&str> = recipients.iter().map(String::as_str).collect();
    let text = crlf(&text);
    let started = Instant::now();
    let (code, reply) = submit(port, &sender, &recipients, &text);
    assert_eq!(code, 250, "{reply}");
    started.elapsed()
}

/// `count` messages through the milter on `port` alone (`CLIENTS`
/// connections speaking the protocol as Postfix does), from `first` on;
/// the milter process's CPU milliseconds per message.
fn milter_alone(port: u16, pid: u32, count: usize, first: usize) -> f64 {
    let mtas: Vec<std::sync::Mutex<Mta>> = (0..CLIENTS)
        .map(|_| {
            std::sync::Mutex::new(Mta::connect(([127, 0, 0, 1], port).into(), POSTFIX_FLAGS).0)
        })
        .collect();
    let before = cpu_seconds(pid);
    from_clients(count, |client, i| {
        let (sender, recipients, text) = letter(first + i);
        let recipients: Vec<&str> = recipients.iter().map(String::as_str).collect();
        let replies = mtas[client]
            .lock()
            .unwrap()
            .message(&sender, &recipients, &text);
        assert!(
            matches!(replies.last(), Some((b'c' | b'a', _))),
            "{replies:?}"
        );
    });
    (cpu_seconds(pid) - before) / count as f64 * 1000.0
}

fn main() {
    let mut args = std::env::args().skip(1);
    let maillint = args
        .next()
        .expect("usage: milter_history MAILLINT_BINARY [MESSAGES_IN_INDEX]");
    let maillint = Path::new(&maillint);
    let in_index: usize = args.next().map_or(200_000, |n| n.parse().unwrap());
    let dir = tempfile::TempDir::new().unwrap();
    let index = dir.path().join("history.sqlite");

    let mbox = dir.path().join("journal.mbox");
    journal(&mbox, in_index);
    let config = dir.path().join("learn.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let started = Instant::now();
    let learned = std::process::Command::new(maillint)
        .args(["learn", "--journal", "--index"])
        .arg(&index)
        .arg("--config")
        .arg(&config)
        .arg(&mbox)
        .output()
        .unwrap();
    assert!(learned.status.success(), "{learned:?}");
    let learn_seconds = started.elapsed().as_secs_f64();
    let index_size = std::fs::metadata(&index).unwrap().len()
        + std::fs::metadata(dir.path().join("history.sqlite-wal")).map_or(0, |m| m.len());
    std::fs::remove_file(&mbox).unwrap();

    let sink = Sink::counting();
    let with_history = format!("{CONFIG}[history]\nindex = \"{}\"\n", index.display());
    let servers = [
        ("Postfix alone", Postfix::start(maillint, None, &sink)),
        (
            "with maillint milter, no history",
            Postfix::start(maillint, Some(CONFIG), &sink),
        ),
        (
            "with maillint milter, history",
            Postfix::start(maillint, Some(&with_history), &sink),
        ),
    ];
    let mut sent = 0;
    // Warm up: Postfix's processes started, the milter's first threads.
    for _ in 0..50 {
        for (_, server) in &servers {
            send(server.smtp_port, sent);
            sent += 1;
        }
    }
    let mut times = vec![Vec::new(); servers.len()];
    let cpu_before: Vec<f64> = servers[1..]
        .iter()
        .map(|(_, s)| cpu_seconds(s.milter_pid().unwrap()))
        .collect();
    for _ in 0..SEQUENTIAL {
        for ((_, server), times) in servers.iter().zip(&mut times) {
            times.push(send(server.smtp_port, sent));
            sent += 1;
        }
    }
    let cpu_through_postfix: Vec<f64> = servers[1..]
        .iter()
        .zip(&cpu_before)
        .map(|((_, s), before)| {
            (cpu_seconds(s.milter_pid().unwrap()) - before) / SEQUENTIAL as f64 * 1000.0
        })
        .collect();
    for times in &mut times {
        times.sort();
    }
    let cpu_alone: Vec<f64> = servers[1..]
        .iter()
        .map(|(_, s)| {
            let cpu = milter_alone(s.milter_port.unwrap(), s.milter_pid().unwrap(), ALONE, sent);
            sent += ALONE;
            cpu
        })
        .collect();

    println!(
        "Index: {in_index} messages of {SENDERS} senders learned with `maillint learn --journal` in {learn_seconds:.1} s; {:.1} MB with its WAL.\n",
        index_size as f64 / 1e6
    );
    println!(
        "{SEQUENTIAL} messages one after another through each server, taking turns (SMTP connection to QUIT):\n"
    );
    println!("| | p50 | p90 | p99 | milter CPU per message |");
    println!("|---|---:|---:|---:|---:|");
    let quantiles = [0.5, 0.9, 0.99];
    for (n, ((name, _), times)) in servers.iter().zip(&times).enumerate() {
        let cells: Vec<String> = quantiles
            .iter()
            .map(|q| format!("{:.2} ms", percentile(times, *q)))
            .collect();
        let cpu = n.checked_sub(1).map_or(String::new(), |m| {
            format!("{:.3} ms", cpu_through_postfix[m])
        });
        println!("| {name} | {} | {cpu} |", cells.join(" | "));
    }
    for (name, with, without) in [
        ("added by the milter with history", &times[2], &times[0]),
        ("added by the milter without history", &times[1], &times[0]),
        ("added by the history alone", &times[2], &times[1]),
    ] {
        let cells: Vec<String> = quantiles
            .iter()
            .map(|q| format!("{:.2} ms", percentile(with, *q) - percentile(without, *q)))
            .collect();
        println!("| {name} | {} | |", cells.join(" | "));
    }
    println!(
        "\nThe milter alone ({CLIENTS} connections as Postfix speaks, {ALONE} messages): CPU time per message {:.3} ms without history, {:.3} ms with.",
        cpu_alone[0], cpu_alone[1]
    );
    let log = servers[2].1.milter_log();
    let problems: Vec<&str> = log.lines().filter(|l| l.contains("history:")).collect();
    println!(
        "\nThe history milter's log: {} decisions, {} lines about learning{}",
        log.matches("action=").count(),
        problems.len(),
        problems
            .first()
            .map_or(String::new(), |l| format!(", the first: {l}"))
    );
}
