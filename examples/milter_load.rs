//! Load through a real Postfix with and without `maillint milter`: added
//! latency per message, sustained messages per second, and the milter's
//! memory over a long run. Run by `scripts/bench-milter` (as root, with
//! Debian's postfix installed), which builds the release binary:
//!
//! ```sh
//! cargo run --release --example milter_load -- target/release/maillint [MESSAGES]
//! ```
//!
//! Three Postfix instances on loopback (tests/postfix/, as the tests start
//! them): one alone, one with the milter on a loopback port, one with it on
//! a Unix socket. They take turns message by message for the latency
//! figures, so that whatever else the machine does weighs on all alike.
// An example: a failed unwrap is a failed run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/load.rs"]
mod load;
#[path = "../tests/mta/mod.rs"]
mod mta;
#[path = "../tests/postfix/mod.rs"]
mod postfix;

use load::{CLIENTS, CONFIG, cpu_seconds, from_clients, percentile, send, status, text};
use mta::{Mta, POSTFIX_FLAGS};
use postfix::{Postfix, Sink};
use std::path::Path;
use std::time::{Duration, Instant};

/// Messages sent one after another, alternating between the two servers.
const SEQUENTIAL: usize = 2000;
/// Messages per server for the throughput figures, sent in rounds: the
/// servers take turns a round each, so that the machine's other work
/// weighs on all alike.
const THROUGHPUT_MESSAGES: usize = 4000;
const ROUNDS: usize = 8;
/// Messages through the milter alone, for its own ceiling.
const MILTER_ALONE_MESSAGES: usize = 20_000;
/// RSS samples over the long run.
const SAMPLES: usize = 10;

/// Sends `count` messages from `CLIENTS` clients at once, calling
/// `progress` with the number of each message sent; the seconds it took.
fn sustained(port: u16, count: usize, first: usize, progress: impl Fn(usize) + Sync) -> f64 {
    from_clients(count, |_, i| {
        send(port, first + i);
        progress(i);
    })
}

/// The milter alone on `port`, without Postfix: `CLIENTS` connections
/// speaking the protocol as Postfix does (tests/mta/), each sending
/// `count` messages between them as fast as the milter answers; the
/// seconds it took.
fn milter_alone(port: u16, count: usize) -> f64 {
    let recipients = ["bob@partner.example", "ann@example.org"];
    let mtas: Vec<std::sync::Mutex<Mta>> = (0..CLIENTS)
        .map(|_| {
            std::sync::Mutex::new(Mta::connect(([127, 0, 0, 1], port).into(), POSTFIX_FLAGS).0)
        })
        .collect();
    from_clients(count, |client, i| {
        let replies =
            mtas[client]
                .lock()
                .unwrap()
                .message("jane@example.org", &recipients, &text(i));
        assert!(
            matches!(replies.last(), Some((b'c' | b'a', _))),
            "{replies:?}"
        );
    })
}

/// Resident memory of a process in KB, and its threads.
fn rss_kb(pid: u32) -> (u64, u64) {
    (status(pid, "VmRSS:"), status(pid, "Threads:"))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let maillint = args
        .next()
        .expect("usage: milter_load MAILLINT_BINARY [MESSAGES]");
    let long_run: usize = args.next().map_or(100_000, |n| n.parse().unwrap());
    let sink = Sink::counting();
    let maillint = Path::new(&maillint);
    let servers = [
        ("Postfix alone", Postfix::start(maillint, None, &sink)),
        (
            "Postfix with maillint milter (inet:)",
            Postfix::start(maillint, Some(CONFIG), &sink),
        ),
        (
            "Postfix with maillint milter (unix:)",
            Postfix::start_on_unix_socket(maillint, CONFIG, &sink),
        ),
    ];
    let milter = &servers[1].1;
    let pid = milter.milter_pid().unwrap();
    let mut sent = 0;
    // Warm up: Postfix's processes started, the milter's first threads.
    for _ in 0..50 {
        for (_, server) in &servers {
            send(server.smtp_port, sent);
            sent += 1;
        }
    }
    let rss_start = rss_kb(pid);

    let mut times = vec![Vec::new(); servers.len()];
    for _ in 0..SEQUENTIAL {
        for ((_, server), times) in servers.iter().zip(&mut times) {
            times.push(send(server.smtp_port, sent));
            sent += 1;
        }
    }
    for times in &mut times {
        times.sort();
    }

    let mut seconds = vec![0.0; servers.len()];
    let per_round = THROUGHPUT_MESSAGES / ROUNDS;
    for _ in 0..ROUNDS {
        for ((_, server), seconds) in servers.iter().zip(&mut seconds) {
            *seconds += sustained(server.smtp_port, per_round, sent, |_| {});
            sent += per_round;
        }
    }

    let cpu_before = cpu_seconds(pid);
    let alone_rate = MILTER_ALONE_MESSAGES as f64
        / milter_alone(milter.milter_port.unwrap(), MILTER_ALONE_MESSAGES);
    let alone_cpu = (cpu_seconds(pid) - cpu_before) / MILTER_ALONE_MESSAGES as f64 * 1000.0;

    // The long run: RSS sampled every tenth of the way.
    let samples = std::sync::Mutex::new(vec![(0, rss_start)]);
    let every = (long_run / SAMPLES).max(1);
    let cpu_before = cpu_seconds(pid);
    let rate_long = long_run as f64
        / sustained(milter.smtp_port, long_run, sent, |i| {
            if i > 0 && i % every == 0 {
                samples.lock().unwrap().push((i, rss_kb(pid)));
            }
        });
    let cpu_per_message = (cpu_seconds(pid) - cpu_before) / long_run as f64 * 1000.0;
    let mut samples = samples.into_inner().unwrap();
    samples.push((long_run, rss_kb(pid)));

    let deadline = Instant::now() + Duration::from_secs(120);
    let total = sent + long_run;
    while sink.delivered() < total && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let decisions = milter.milter_log().matches("action=").count();

    println!(
        "{SEQUENTIAL} messages one after another through each server, taking turns (SMTP connection to QUIT):\n"
    );
    println!("| | p50 | p90 | p99 | max |");
    println!("|---|---:|---:|---:|---:|");
    let quantiles = [0.5, 0.9, 0.99, 1.0];
    for ((name, _), times) in servers.iter().zip(&times) {
        let cells: Vec<String> = quantiles
            .iter()
            .map(|q| format!("{:.2} ms", percentile(times, *q)))
            .collect();
        println!("| {name} | {} |", cells.join(" | "));
    }
    for ((name, _), with) in servers.iter().zip(&times).skip(1) {
        let cells: Vec<String> = quantiles[..3]
            .iter()
            .map(|q| format!("{:.2} ms", percentile(with, *q) - percentile(&times[0], *q)))
            .collect();
        println!(
            "| added, {} | {} | |",
            name.trim_start_matches("Postfix with "),
            cells.join(" | ")
        );
    }
    println!(
        "\nSustained, {CLIENTS} SMTP clients at once (the servers taking turns, {ROUNDS} rounds):\n"
    );
    println!("| | messages | accepted per second |");
    println!("|---|---:|---:|");
    for ((name, _), seconds) in servers.iter().zip(&seconds) {
        println!(
            "| {name} | {THROUGHPUT_MESSAGES} | {:.0} |",
            THROUGHPUT_MESSAGES as f64 / seconds
        );
    }
    println!(
        "| {}, long run | {long_run} | {rate_long:.0} |",
        servers[1].0
    );
    println!(
        "| maillint milter alone (inet:), {CLIENTS} connections as Postfix speaks | {MILTER_ALONE_MESSAGES} | {alone_rate:.0} |"
    );
    println!(
        "\nThe milter's CPU time (user and system): {cpu_per_message:.3} ms per message over the long run, {alone_cpu:.3} ms alone."
    );
    println!("\nMilter memory (RSS) over the long run:\n");
    println!("| messages | RSS | threads |");
    println!("|---:|---:|---:|");
    for (at, (kb, threads)) in &samples {
        println!("| {at} | {:.1} MB | {threads} |", *kb as f64 / 1024.0);
    }
    println!(
        "\n{} messages delivered to the sink of {total} sent; {decisions} milter decisions logged.",
        sink.delivered()
    );
}
