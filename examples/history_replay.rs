//! The history rules measured on a sent-mail history: learn from the first
//! 80%, check the last 20% (the share of ordinary messages warned), then
//! inject misdirections into the held-back messages (the share caught), and
//! time learning and the index size.
//!
//! The history is synthetic (no public sent-mail history could be had here):
//! one sender writing to circles of contacts (a team, a board, a school, a
//! supplier...), 3-12 people each at their organisation's domain, some
//! people in two circles, names drawn from 30 first and 30 last names (so
//! namesakes exist, as they do in life), 80% of addresses written with a
//! display name, a few busy circles and many quiet ones, 20% replies, 3% of
//! messages bringing in someone new (half of them at a domain never written
//! to), and 2% mixing two circles.
//!
//! `cargo run --example history_replay -- [MESSAGES]` (default 20,000;
//! BENCHMARKS.md has 100,000). Deterministic: the same count gives the same
//! history and figures, apart from times.
// An example: a failed unwrap is a failed run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use maillint::config::Config;
use maillint::finding::Severity;
use maillint::history::{History, learn, learn_message};
use maillint::input::Input;
use maillint::linter::{Linter, Selection};
use std::fmt::Write;
use std::time::{Duration, Instant};

const RULES: [&str; 3] = ["new-recipient", "name-mismatch", "unusual-company"];
const FIRST: [&str; 30] = [
    "Jane", "Tom", "Ann", "Bob", "Kim", "Lee", "Sam", "Alex", "Maria", "Omar", "Li", "Priya",
    "John", "Sara", "Paul", "Nina", "Ivan", "Zoe", "Raj", "Emma", "Carlos", "Yuki", "Fatima",
    "Ola", "Ben", "Mia", "Leo", "Ada", "Hugo", "Ines",
];
const LAST: [&str; 30] = [
    "Smith", "Jones", "Brown", "Garcia", "Kim", "Patel", "Nguyen", "Muller", "Rossi", "Silva",
    "Khan", "Chen", "Novak", "Dubois", "Larsen", "Ward", "Park", "Costa", "Haddad", "Berg",
    "Okafor", "Sato", "Ivanova", "Moreau", "Fischer", "Lopez", "Walsh", "Reid", "Adams", "Cole",
];

/// xorshift64*: a small deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

#[derive(Clone)]
struct Person {
    name: String,
    addr: String,
    /// Written with the display name (as the address book has it).
    named: bool,
}

impl Person {
    fn mailbox(&self) -> String {
        if self.named {
            format!("{} <{}>", self.name, self.addr)
        } else {
            self.addr.clone()
        }
    }
}

struct World {
    rng: Rng,
    circles: Vec<Vec<Person>>,
    domains: Vec<String>,
    fresh: usize,
    names: std::collections::HashSet<String>,
}

impl World {
    /// Someone new at `domain`: a name nobody else has, but for 2% of
    /// people, who share a name with someone already known.
    fn person(&mut self, domain: &str) -> Person {
        let (first, last) = loop {
            let first = FIRST[self.rng.below(FIRST.len())];
            let last = LAST[self.rng.below(LAST.len())];
            let first = match self.rng.below(40) {
                i @ 0..26 => format!("{first} {}.", char::from(b'A' + i as u8)),
                _ => first.to_string(),
            };
            if self.names.insert(format!("{first} {last}")) || self.rng.chance(2) {
                break (first, last);
            }
        };
        let given = first.split(' ').next().unwrap_or_default();
        let local = match self.rng.below(3) {
            0 => format!("{given}.{last}"),
            1 => format!("{}{last}", &given[..1]),
            _ => given.to_string(),
        }
        .to_lowercase();
        Person {
            name: format!("{first} {last}"),
            addr: format!("{local}@{domain}"),
            named: self.rng.chance(80),
        }
    }

    fn new(seed: u64) -> World {
        let mut world = World {
            rng: Rng(seed),
            circles: Vec::new(),
            domains: Vec::new(),
            fresh: 0,
            names: Default::default(),
        };
        for c in 0..60 {
            // A third of the circles are colleagues at the sender's domain.
            let domain = if c % 3 == 0 {
                "example.org".to_string()
            } else {
                format!("org{c}.example")
            };
            world.domains.push(domain.clone());
            let size = 3 + world.rng.below(10);
            let people = (0..size).map(|_| world.person(&domain)).collect();
            world.circles.push(people);
        }
        // Some people belong to two circles.
        for c in 0..world.circles.len() {
            if world.rng.chance(30) {
                let other = world.rng.below(world.circles.len());
                let p = world.circles[other][0].clone();
                world.circles[c].push(p);
            }
        }
        world
    }

    /// A busy few circles and many quiet ones.
    fn pick_circle(&mut self) -> usize {
        let n = self.circles.len();
        let a = self.rng.below(n);
        let b = self.rng.below(n);
        a.min(b).min(self.rng.below(n))
    }

    fn fresh_domain(&mut self) -> String {
        self.fresh += 1;
        format!("new{}.example", self.fresh)
    }

    /// The circle and recipients of one ordinary message.
    fn recipients(&mut self) -> (usize, Vec<Person>) {
        let c = self.pick_circle();
        let mut out = Vec::new();
        let want = 1 + self.rng.below(4).min(self.circles[c].len() - 1);
        while out.len() < want {
            let p = self.circles[c][self.rng.below(self.circles[c].len())].clone();
            if !out.iter().any(|q: &Person| q.addr == p.addr) {
                out.push(p);
            }
        }
        if self.rng.chance(3) {
            // Someone new, who then belongs to the circle.
            let domain = if self.rng.chance(50) {
                self.fresh_domain()
            } else {
                self.domains[c].clone()
            };
            let p = self.person(&domain);
            self.circles[c].push(p.clone());
            out.push(p);
        } else if self.rng.chance(2) {
            let other = self.pick_circle();
            let p = self.circles[other][self.rng.below(self.circles[other].len())].clone();
            if !out.iter().any(|q| q.addr == p.addr) {
                out.push(p);
            }
        }
        (c, out)
    }
}

fn message(n: usize, to: &[Person], reply: bool) -> String {
    let mut m = String::from("From: Sam Sender <me@example.org>\n");
    let (first, rest) = to.split_at(1);
    let _ = writeln!(m, "To: {}", first[0].mailbox());
    if !rest.is_empty() {
        let cc: Vec<String> = rest.iter().map(Person::mailbox).collect();
        let _ = writeln!(m, "Cc: {}", cc.join(", "));
    }
    if reply {
        let _ = writeln!(m, "In-Reply-To: <in-{n}@org.example>\nSubject: Re: plans");
    } else {
        m.push_str("Subject: plans\n");
    }
    let _ = write!(m, "Message-ID: <{n}@example.org>\n\nSee you on Friday.\n");
    m
}

fn mbox(messages: &[String]) -> String {
    let mut out = String::new();
    for m in messages {
        out.push_str("From me@example.org Mon Jan  5 09:00:00 2026\n");
        out.push_str(m);
        out.push('\n');
    }
    out
}

/// The history rules' warnings (about `addr`, if given) in the message.
fn warnings(linter: &Linter, text: &str, addr: Option<&str>) -> Vec<String> {
    let report = maillint::check_bytes("m", text.as_bytes(), linter);
    report
        .messages
        .iter()
        .flat_map(|m| &m.findings)
        .filter(|f| f.severity >= Severity::Warning && addr.is_none_or(|a| f.message.contains(a)))
        .map(|f| format!("{}: {}", f.rule, f.message))
        .collect()
}

fn warned(linter: &Linter, text: &str, addr: &str) -> bool {
    !warnings(linter, text, Some(addr)).is_empty()
}

fn main() {
    let total: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let mut world = World::new(0x5eed);
    let mut sent = Vec::with_capacity(total);
    let mut people = Vec::with_capacity(total);
    for n in 0..total {
        let (circle, to) = world.recipients();
        let reply = world.rng.chance(20);
        sent.push(message(n, &to, reply));
        people.push((circle, to, reply));
    }
    let split = total * 8 / 10;
    let dir = tempfile::tempdir().expect("temporary directory");
    let learned_part = dir.path().join("sent.mbox");
    std::fs::write(&learned_part, mbox(&sent[..split])).expect("mbox written");
    let index = dir.path().join("history.sqlite");

    let start = Instant::now();
    let history = History::create(&index).expect("index");
    let summary = learn(
        &history,
        &[Input::Path(learned_part)],
        &Default::default(),
        &|_| {},
    )
    .expect("learned");
    let learn_time = start.elapsed();
    drop(history);
    let size: u64 = std::fs::read_dir(dir.path())
        .expect("index directory")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("history"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    println!(
        "learned {} messages in {:.2} s; index {:.1} MB",
        summary.learned,
        learn_time.as_secs_f64(),
        size as f64 / 1e6
    );

    let config = Config::parse(
        &format!("[history]\nindex = {:?}\n", index.display().to_string()),
        "replay.toml",
    )
    .expect("config");
    let selection = Selection {
        select: RULES.iter().map(|r| r.to_string()).collect(),
        ..Selection::default()
    };
    let linter = Linter::new(config, &selection).expect("linter");
    let mut no_index = Config::default();
    no_index.history.index = Some(dir.path().join("none.sqlite"));
    let baseline = Linter::new(no_index, &selection).expect("linter");

    let held = &sent[split..];
    // Each held-back message is checked, then learned, as it is with
    // `[history] learn_on_send = true` (or `maillint learn` after sending).
    // The time of checking with the index, less the time of checking the
    // same messages without one, is the cost of the lookups.
    let history = History::create(&index).expect("index");
    let show = std::env::var_os("REPLAY_SHOW").is_some();
    let mut ordinary_warned = 0;
    let (mut with_index, mut without_index) = (Duration::ZERO, Duration::ZERO);
    for m in held {
        let start = Instant::now();
        let loud = warnings(&linter, m, None);
        with_index += start.elapsed();
        let start = Instant::now();
        warnings(&baseline, m, None);
        without_index += start.elapsed();
        if show {
            loud.iter().for_each(|w| println!("{w}"));
        }
        ordinary_warned += usize::from(!loud.is_empty());
        let parsed = maillint::input::parse_message(m.as_bytes(), &Default::default());
        learn_message(&history, &parsed.expect("parses"), m.as_bytes(), None).expect("learned");
    }
    println!(
        "ordinary held-back messages warned: {ordinary_warned} of {} ({:.2}%)",
        held.len(),
        100.0 * ordinary_warned as f64 / held.len() as f64
    );
    println!(
        "lookup cost: {:.0} µs per message ({:.0} µs checked with the index, {:.0} µs without)",
        (with_index.as_secs_f64() - without_index.as_secs_f64()) * 1e6 / held.len() as f64,
        with_index.as_secs_f64() * 1e6 / held.len() as f64,
        without_index.as_secs_f64() * 1e6 / held.len() as f64,
    );

    // Misdirections: one recipient of each held-back message swapped.
    let mut rng = Rng(0xbad);
    let (mut namesakes, mut namesakes_caught) = (0, 0);
    let (mut others, mut others_caught, mut others_3, mut others_3_caught) = (0, 0, 0, 0);
    for (n, (circle, to, reply)) in people[split..].iter().enumerate() {
        let victim = rng.below(to.len());
        // Autocomplete's namesake: the same name and local part at another
        // organisation (one the sender writes to, or one never seen).
        let mut swapped = to.clone();
        let (local, domain) = to[victim].addr.split_once('@').unwrap_or(("", ""));
        let other_domain = if rng.chance(50) {
            format!("elsewhere{n}.example")
        } else {
            let d = &world.domains[rng.below(world.domains.len())];
            if d == domain {
                format!("elsewhere{n}.example")
            } else {
                d.clone()
            }
        };
        swapped[victim].addr = format!("{local}@{other_domain}");
        namesakes += 1;
        if warned(
            &linter,
            &message(total + n, &swapped, *reply),
            &swapped[victim].addr,
        ) {
            namesakes_caught += 1;
        }
        // Someone from another circle, picked from the learned messages.
        let (pool_circle, pool, _) = &people[rng.below(split)];
        let stranger = pool[rng.below(pool.len())].clone();
        if pool_circle == circle || to.iter().any(|p| p.addr == stranger.addr) {
            continue;
        }
        let mut swapped = to.clone();
        swapped[victim] = stranger.clone();
        let caught = warned(
            &linter,
            &message(total + n, &swapped, *reply),
            &stranger.addr,
        );
        others += 1;
        others_caught += usize::from(caught);
        if to.len() >= 3 {
            others_3 += 1;
            others_3_caught += usize::from(caught);
        }
    }
    let pct = |a: usize, b: usize| 100.0 * a as f64 / b.max(1) as f64;
    println!(
        "namesake swaps caught: {namesakes_caught} of {namesakes} ({:.1}%)",
        pct(namesakes_caught, namesakes)
    );
    println!(
        "other-circle swaps caught: {others_caught} of {others} ({:.1}%); in messages to 3 or more: {others_3_caught} of {others_3} ({:.1}%)",
        pct(others_caught, others),
        pct(others_3_caught, others_3)
    );
}
