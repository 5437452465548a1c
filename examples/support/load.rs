//! What the gateway's load benchmarks share (examples/milter_load.rs,
//! examples/milter_attack.rs): the gateway's defaults, ordinary mail sent
//! through Postfix, clients at once, percentiles, a process's figures.
//! Each benchmark uses part of it (examples/milter_history.rs too).
#![allow(dead_code)]

use crate::postfix::{crlf, submit};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The gateway's defaults for an organisation: errors refused, warnings
/// tagged.
pub const CONFIG: &str = "[organization]\ndomains = [\"example.org\"]\n";
/// SMTP clients at once for the throughput figures.
pub const CLIENTS: usize = 8;

/// Ordinary mail: a colleague and a partner, a few KB of text, with bare
/// newlines.
pub fn text(i: usize) -> String {
    format!(
        "From: Jane <jane@example.org>\nTo: Bob <bob@partner.example>\nCc: Ann <ann@example.org>\nSubject: Minutes {i}\nMessage-ID: <load{i}@example.org>\nDate: Mon, 18 Nov 2024 09:00:00 +0000\n\nHello Bob,\n\nthe minutes of meeting {i} are below; the actions are on page 2.\n{}",
        "A line of ordinary text in the body of an ordinary message.\n".repeat(40)
    )
}

/// The same as sent over SMTP.
pub fn message(i: usize) -> String {
    crlf(&text(i))
}

/// Sends message `i` through the server on `port`; the time it took (SMTP
/// connection to QUIT).
pub fn send(port: u16, i: usize) -> Duration {
    let text = message(i);
    let started = Instant::now();
    let (code, reply) = submit(
        port,
        "jane@example.org",
        &["bob@partner.example", "ann@example.org"],
        &text,
    );
    assert_eq!(code, 250, "{reply}");
    started.elapsed()
}

/// Runs `send(client, i)` for each i in 0..count from `CLIENTS` threads
/// at once; the seconds it took.
pub fn from_clients(count: usize, send: impl Fn(usize, usize) + Sync) -> f64 {
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for client in 0..CLIENTS {
            let (next, send) = (&next, &send);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    send(client, i);
                }
            });
        }
    });
    started.elapsed().as_secs_f64()
}

/// A field of /proc/PID/status in kB (VmRSS, VmHWM) or a count
/// (Threads).
pub fn status(pid: u32, name: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// The `q` quantile of sorted durations, in milliseconds.
pub fn percentile(sorted: &[Duration], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1000.0
}

/// CPU time a process has used (user and system), in seconds.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    let per_second = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .unwrap();
    ticks as f64
        / String::from_utf8_lossy(&per_second.stdout)
            .trim()
            .parse::<f64>()
            .unwrap()
}
