//! The gateway under attack: what legitimate mail through a real Postfix
//! costs while connections sit idle or trickle bytes, the milter's memory
//! while one client sends 1 MiB macros or millions of recipients, and an
//! unrelated message's latency while storm-counted replies wait for a
//! Redis 200 ms away. Run by `scripts/bench-milter-attack` (as root, with
//! Debian's postfix and redis-server installed), which builds the release
//! binary:
//!
//! ```sh
//! cargo run --release --example milter_attack -- target/release/maillint
//! ```
// An example: a failed unwrap is a failed run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/load.rs"]
mod load;
#[path = "../tests/mta/mod.rs"]
mod mta;
#[path = "../tests/postfix/mod.rs"]
mod postfix;
#[path = "../tests/redis/mod.rs"]
mod redis;

use load::{CLIENTS, CONFIG, from_clients, percentile, send, status};
use mta::{Mta, POSTFIX_FLAGS, macro_packet};
use postfix::{Postfix, Sink, free_port, wait_for_port};
use redis::{Mode, Proxy, Redis};
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Messages one after another for the latency figures, per phase.
const SEQUENTIAL: usize = 500;
/// Messages for the throughput figures.
const THROUGHPUT_MESSAGES: usize = 1000;
const IDLE: usize = 2000;
const SLOWLORIS: usize = 64;

/// Latencies of `SEQUENTIAL` messages (sorted), and messages per second
/// from `CLIENTS` clients at once.
fn measure(port: u16, first: usize) -> (Vec<Duration>, f64) {
    let mut times: Vec<Duration> = (0..SEQUENTIAL).map(|i| send(port, first + i)).collect();
    times.sort();
    let seconds = from_clients(THROUGHPUT_MESSAGES, |_, i| {
        send(port, first + SEQUENTIAL + i);
    });
    (times, THROUGHPUT_MESSAGES as f64 / seconds)
}

fn mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 / 1024.0)
}

/// The attackers: idle MTA connections and slowloris ones that send a
/// byte every 2 s of an event they never finish, until dropped.
struct Attack {
    _idle: Vec<Mta>,
    stop: std::sync::Arc<AtomicBool>,
    trickle: Option<std::thread::JoinHandle<()>>,
}

impl Attack {
    fn start(address: SocketAddr) -> Attack {
        let idle = (0..IDLE)
            .map(|_| Mta::connect(address, POSTFIX_FLAGS).0)
            .collect();
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let stopping = std::sync::Arc::clone(&stop);
        let trickle = std::thread::spawn(move || {
            let mut slow: Vec<TcpStream> = (0..SLOWLORIS)
                .map(|_| TcpStream::connect(address).unwrap())
                .collect();
            // A header event of 1,000 bytes, sent a byte at a time.
            let mut sent = 0usize;
            let length = [0u8, 0, 0x03, 0xe8, b'L'];
            while !stopping.load(Ordering::Relaxed) {
                for stream in &mut slow {
                    let byte = length.get(sent).copied().unwrap_or(b'x');
                    _ = stream.write_all(&[byte]);
                }
                sent += 1;
                for _ in 0..20 {
                    if stopping.load(Ordering::Relaxed) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        });
        Attack {
            _idle: idle,
            stop,
            trickle: Some(trickle),
        }
    }
}

impl Drop for Attack {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.trickle.take() {
            _ = t.join();
        }
    }
}

/// `maillint milter` on a loopback port with `config`, stopped when
/// dropped.
struct Milter {
    port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Milter {
    fn start(maillint: &Path, config: &str) -> Milter {
        let dir = tempfile::TempDir::new().unwrap();
        let toml = dir.path().join("maillint.toml");
        std::fs::write(&toml, config).unwrap();
        let port = free_port();
        let child = Command::new(maillint)
            .env("XDG_DATA_HOME", dir.path().join("no-data"))
            .args(["milter", "--listen", &format!("inet:127.0.0.1:{port}")])
            .arg("--config")
            .arg(&toml)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_port(port);
        Milter {
            port,
            child,
            _dir: dir,
        }
    }

    fn address(&self) -> SocketAddr {
        ([127, 0, 0, 1], self.port).into()
    }
}

impl Drop for Milter {
    fn drop(&mut self) {
        _ = self.child.kill();
        _ = self.child.wait();
    }
}

/// Sends `count` macro events of `size` bytes, each new connection taking
/// up where the milter closed the last one; the connections it took.
fn macros(address: SocketAddr, count: usize, size: usize) -> usize {
    let mut connections = 0;
    let mut mta: Option<Mta> = None;
    for i in 0..count {
        let packet = macro_packet(b'C', &format!("m{i}"), size);
        loop {
            if mta.is_none() {
                mta = Some(Mta::connect(address, POSTFIX_FLAGS).0);
                connections += 1;
            }
            if mta.as_mut().unwrap().stream.write_all(&packet).is_ok() {
                break;
            }
            mta = None;
        }
    }
    connections
}

fn recipients(address: SocketAddr, count: u32) -> String {
    let (mut mta, _) = Mta::connect(address, POSTFIX_FLAGS);
    let (_, reply) = mta.flood_recipients(count);
    String::from_utf8_lossy(&reply)
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

/// One message straight to the milter (as Postfix speaks); its time.
fn milter_message(address: SocketAddr, text: &str) -> Duration {
    let started = Instant::now();
    let (mut mta, _) = Mta::connect(address, POSTFIX_FLAGS);
    let replies = mta.message("jane@example.org", &["bob@partner.example"], text);
    assert!(matches!(replies.last(), Some((b'c', _))), "{replies:?}");
    started.elapsed()
}

fn reply_all(i: usize) -> String {
    format!(
        "From: Jane <jane@example.org>\nTo: Bob <bob@partner.example>\nSubject: Re: Minutes\nMessage-ID: <r{i}@example.org>\nIn-Reply-To: <root@example.org>\nReferences: <root@example.org>\nDate: Mon, 18 Nov 2024 09:00:00 +0000\n\nThanks.\n"
    )
}

const UNRELATED: &str = "From: Jane <jane@example.org>\nTo: Bob <bob@partner.example>\nSubject: Lunch\nMessage-ID: <lunch@example.org>\nDate: Mon, 18 Nov 2024 09:00:00 +0000\n\nNoon?\n";

fn main() {
    let maillint = std::env::args()
        .nth(1)
        .expect("usage: milter_attack MAILLINT_BINARY");
    let maillint = Path::new(&maillint);

    // 1. Legitimate mail through Postfix, without and with the attackers.
    let sink = Sink::counting();
    let postfix = Postfix::start(maillint, Some(CONFIG), &sink);
    let pid = postfix.milter_pid().unwrap();
    let milter_address: SocketAddr = ([127, 0, 0, 1], postfix.milter_port.unwrap()).into();
    for i in 0..50 {
        send(postfix.smtp_port, i);
    }
    let mut first = 100;
    let mut phases = Vec::new();
    for attacked in [false, true, false, true] {
        let attack = attacked.then(|| Attack::start(milter_address));
        let threads = status(pid, "Threads:");
        let (times, rate) = measure(postfix.smtp_port, first);
        first += SEQUENTIAL + THROUGHPUT_MESSAGES;
        phases.push((attacked, times, rate, threads, status(pid, "VmRSS:")));
        drop(attack);
        std::thread::sleep(Duration::from_secs(1));
    }
    println!(
        "Legitimate mail through Postfix with the milter (inet:), {SEQUENTIAL} messages one after another (SMTP connection to QUIT) then {THROUGHPUT_MESSAGES} from {CLIENTS} clients at once; the phases alternate, without and with {IDLE} idle milter connections and {SLOWLORIS} slowloris ones (a byte every 2 s):\n"
    );
    println!("| phase | p50 | p99 | messages per second | milter threads | milter RSS |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (attacked, times, rate, threads, rss) in &phases {
        println!(
            "| {} | {:.2} ms | {:.2} ms | {rate:.0} | {threads} | {} |",
            if *attacked {
                "under attack"
            } else {
                "no attack"
            },
            percentile(times, 0.5),
            percentile(times, 0.99),
            mb(*rss)
        );
    }
    let mean = |attacked: bool, f: &dyn Fn(&Vec<Duration>, f64) -> f64| {
        let picked: Vec<f64> = phases
            .iter()
            .filter(|p| p.0 == attacked)
            .map(|p| f(&p.1, p.2))
            .collect();
        picked.iter().sum::<f64>() / picked.len() as f64
    };
    println!(
        "| added by the attack (means) | {:+.2} ms | {:+.2} ms | {:+.0} | | |",
        mean(true, &|t, _| percentile(t, 0.5)) - mean(false, &|t, _| percentile(t, 0.5)),
        mean(true, &|t, _| percentile(t, 0.99)) - mean(false, &|t, _| percentile(t, 0.99)),
        mean(true, &|_, r| r) - mean(false, &|_, r| r),
    );
    drop(postfix);

    // 2. Memory: one client's macros and recipients, on a fresh milter.
    println!(
        "\nThe milter's memory while one client sends (a fresh `maillint milter`; VmHWM is its peak):\n"
    );
    println!("| sent | connections it took | answer | RSS after | peak RSS |");
    println!("|---|---:|---|---:|---:|");
    let milter = Milter::start(maillint, CONFIG);
    let pid = milter.child.id();
    println!(
        "| nothing | | | {} | {} |",
        mb(status(pid, "VmRSS:")),
        mb(status(pid, "VmHWM:"))
    );
    let connections = macros(milter.address(), 1000, 1 << 20);
    println!(
        "| 1,000 macros of 1 MiB | {connections} | closed at each | {} | {} |",
        mb(status(pid, "VmRSS:")),
        mb(status(pid, "VmHWM:"))
    );
    let connections = macros(milter.address(), 1000, 60 * 1024);
    println!(
        "| 1,000 macros of 60 KiB (under the event limit), one after another | {connections} | | {} | {} |",
        mb(status(pid, "VmRSS:")),
        mb(status(pid, "VmHWM:"))
    );
    let answer = recipients(milter.address(), 5_000_000);
    println!(
        "| 5,000,000 RCPT in one message | 1 | `{answer}` | {} | {} |",
        mb(status(pid, "VmRSS:")),
        mb(status(pid, "VmHWM:"))
    );
    drop(milter);

    // 3. An unrelated message while storm-counted replies wait for a
    // Redis 200 ms away.
    let redis = Redis::start();
    let proxy = Proxy::start(redis.port);
    let milter = Milter::start(
        maillint,
        &format!(
            "{CONFIG}[storm]\naudience = 1\nmax_replies = 1000000\nsender_limit_per_hour = 0\nstore_timeout_ms = 2000\nstore = \"{}\"\n",
            proxy.url()
        ),
    );
    let address = milter.address();
    milter_message(address, &reply_all(0));
    let unrelated = |n: usize| {
        let mut times: Vec<Duration> = (0..n).map(|_| milter_message(address, UNRELATED)).collect();
        times.sort();
        times
    };
    let quiet = unrelated(50);
    proxy.set(Mode::Delay(Duration::from_millis(200)));
    let stop = AtomicBool::new(false);
    let replies = std::sync::Mutex::new(Vec::new());
    let busy = std::thread::scope(|scope| {
        for _ in 0..50 {
            scope.spawn(|| {
                let mut i = 1;
                while !stop.load(Ordering::Relaxed) {
                    let took = milter_message(address, &reply_all(i));
                    replies.lock().unwrap().push(took);
                    i += 1;
                }
            });
        }
        std::thread::sleep(Duration::from_secs(1));
        let busy = unrelated(50);
        stop.store(true, Ordering::Relaxed);
        busy
    });
    proxy.set(Mode::Pass);
    let mut replies = replies.into_inner().unwrap();
    replies.sort();
    println!(
        "\nAn unrelated message (one recipient, no storm count) straight to the milter, 50 times, while 50 connections keep sending storm-counted replies that wait for a Redis 200 ms away (a proxy in front of redis-server):\n"
    );
    println!("| | p50 | p99 | max |");
    println!("|---|---:|---:|---:|");
    for (name, times) in [
        ("unrelated message, Redis near and idle", &quiet),
        ("unrelated message, 50 replies in flight", &busy),
        ("the storm-counted replies", &replies),
    ] {
        println!(
            "| {name} | {:.2} ms | {:.2} ms | {:.2} ms |",
            percentile(times, 0.5),
            percentile(times, 0.99),
            percentile(times, 1.0)
        );
    }
}
