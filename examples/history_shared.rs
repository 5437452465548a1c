//! The history shared between gateways (`[history] shared`): what a
//! message's record costs the gateway that sends it, how fast records go
//! from one gateway's index to another's through Redis, and how long one
//! record takes to arrive. Needs Debian's redis-server (started here on a
//! loopback port of its own, as the tests start it):
//!
//! ```sh
//! cargo run --release --example history_shared -- [RECORDS]
//! ```
//!
//! Two gateways, each with an index of its own in a temporary directory
//! and the threads the milter starts (one sends its queue to Redis, one
//! applies the others' records). `RECORDS` messages (default 20,000) of
//! 1,000 senders, each to 1-3 of 40 correspondents, leave through gateway
//! one: the time to make each one's record and queue it (what the
//! gateway's history writer adds per message), then the time until gateway
//! two has learned them all. Then 200 messages one at a time, each waited
//! for on gateway two: the time from queueing to learned.
// An example: a failed unwrap is a failed run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/redis/mod.rs"]
mod redis;

use maillint::config::HistoryConfig;
use maillint::history::{History, Shared, learn_record_or_keep};
use maillint::message::parse_rfc5322;
use maillint::milter::share::Sharing;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

fn main() {
    let records: u32 = std::env::args()
        .nth(1)
        .map_or(20_000, |n| n.parse().unwrap());
    assert!(redis::available(), "redis-server is needed");
    let redis = redis::Redis::start();
    let dir = tempfile::tempdir().unwrap();
    let settings = HistoryConfig {
        shared: Some(redis.url()),
        ..HistoryConfig::default()
    };
    let quiet: Arc<dyn Fn(&str) + Send + Sync> = Arc::new(|line: &str| eprintln!("{line}"));
    let gateway = |name: &str| {
        let index = dir.path().join(format!("{name}.sqlite"));
        let history = History::create(&index).unwrap();
        let sharing = Arc::new(Sharing::new(&settings).unwrap().unwrap());
        sharing
            .start(History::create(&index).unwrap(), Arc::clone(&quiet))
            .unwrap();
        (history, sharing)
    };
    let (one, one_sharing) = gateway("one");
    let (two, _two_sharing) = gateway("two");

    let message = |n: u32| {
        let sender = n % 1000;
        let to: Vec<String> = (0..=(n % 3))
            .map(|k| {
                let c = (n / 7 + k * 13) % 40;
                format!(
                    "Person {c} Of {sender} <p{c}.{sender}@company{}.example>",
                    (sender + c) % 500
                )
            })
            .collect();
        let text = format!(
            "From: s{sender}@example.org\nTo: {}\nMessage-ID: <{n}@example.org>\nDate: Mon, 18 Nov 2024 09:00:00 +0000\n\nx\n",
            to.join(", ")
        );
        (
            format!("s{sender}@example.org"),
            parse_rfc5322(text.as_bytes(), 1).unwrap(),
            to,
        )
    };
    // What the gateway's writer does for a message that left: learn it
    // here (not timed: the same without sharing), then make the shared
    // record and queue it (timed).
    let mut costs = Vec::with_capacity(records as usize);
    let started = Instant::now();
    for n in 0..records {
        let (sender, message, _) = message(n);
        let record = one
            .for_sender(&sender)
            .record(&message, String::new, SystemTime::now());
        learn_record_or_keep(&one, &record).unwrap();
        let t = Instant::now();
        one_sharing.publish(&Shared::sent(&one, &record));
        costs.push(t.elapsed());
    }
    let (last_sender, _, last_to) = message(records - 1);
    let last_address = last_to[0]
        .rsplit_once('<')
        .unwrap()
        .1
        .trim_end_matches('>')
        .to_string();
    let arrived = |sender: &str, address: &str| two.for_sender(sender).known(address).is_some();
    while !arrived(&last_sender, &last_address) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let all = started.elapsed();
    costs.sort();
    let at = |q: f64| costs[((costs.len() - 1) as f64 * q) as usize];
    println!(
        "{records} records: make and queue one: p50 {:?}, p99 {:?}, max {:?}",
        at(0.5),
        at(0.99),
        at(1.0)
    );
    println!(
        "learned on gateway one and applied on gateway two: all in {:.2} s ({:.0} records/s)",
        all.as_secs_f64(),
        f64::from(records) / all.as_secs_f64()
    );

    let mut latencies = Vec::new();
    for n in records..records + 200 {
        let (sender, message, to) = message(n);
        let record = one
            .for_sender(&sender)
            .record(&message, String::new, SystemTime::now());
        learn_record_or_keep(&one, &record).unwrap();
        let address = to[0]
            .rsplit_once('<')
            .unwrap()
            .1
            .trim_end_matches('>')
            .to_string();
        let before = two
            .for_sender(&sender)
            .known(&address)
            .map_or(0, |k| k.count);
        let t = Instant::now();
        one_sharing.publish(&Shared::sent(&one, &record));
        while two
            .for_sender(&sender)
            .known(&address)
            .map_or(0, |k| k.count)
            == before
        {
            std::thread::sleep(Duration::from_micros(200));
        }
        latencies.push(t.elapsed());
    }
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    println!(
        "one record from queued on one to learned on two: p50 {:?}, p90 {:?}, p99 {:?}",
        at(0.5),
        at(0.9),
        at(0.99)
    );
}
