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
//!
//! `cargo run --release --example history_replay -- org [SENDERS]
//! [MESSAGES] [CHECKS]` replays an organisation at a gateway (default 1,000
//! senders and 1,000,000 messages): each sender at example.org has a world
//! of contacts generated as above, and writes a greeting as people do (the
//! first name of one or two recipients, "Dear" and the full name now and
//! then, "Hi all" to a group, or none); a reply goes to the address the
//! other's mail came from, with its display name, even for someone the
//! address book has without one. The first 80% of each sender's
//! messages form one journal mbox (target/history-replay/), learned into
//! one index as an administrator bootstraps a gateway (`maillint learn
//! --journal`: each message into the history of its From); the last 20%
//! (or CHECKS of them, spread over every sender) are judged by their
//! sender's history (`Linter::check_for_sender`) and learned as they leave
//! (`learn_or_keep`), as the gateway does; then one recipient of each is
//! swapped for a namesake elsewhere or someone from another circle, and the
//! person greeted for another familiar contact (salutation-mismatch). All
//! of it with addresses kept in clear and as keyed hashes (`[history]
//! hash_key_file`), printed as one table.
//!
//! `cargo run --example history_replay -- DIR` replays real mail instead:
//! the messages below DIR (e.g. `scripts/real-mail`'s `ham/`, public
//! mailing-list mail of 2002), where each frequent poster's posts are their
//! sent mail. For each of the 20 most frequent From addresses (feeds and
//! daemons left out), their first 80% of posts by Date are their Sent
//! folder, learned into one shared index under their address (`maillint
//! learn --sender ADDRESS DIR`); the last 20% are judged by their history
//! (`check_for_sender`), then each held-back post is checked again with one
//! recipient swapped: for a namesake at another domain, and for an address
//! the poster wrote to in another circle. In clear and hashed.
// An example: a failed unwrap is a failed run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use maillint::config::Config;
use maillint::finding::{Finding, Severity};
use maillint::history::{History, address_key, learn, learn_message};
use maillint::input::{Input, Item};
use maillint::linter::{Linter, Selection};
use maillint::message::Message;
use maillint::rules::HISTORY_RULES;
use std::collections::{HashMap, HashSet};
use std::fmt::Write;
use std::path::Path;
use std::time::{Duration, Instant};

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

    /// Autocomplete's namesake of `addr`: the same local part (the
    /// swapped recipient keeps its name) at another organisation, one the
    /// sender writes to or one never seen (`n` names it).
    fn namesake(&self, rng: &mut Rng, n: usize, addr: &str) -> String {
        let (local, domain) = addr.split_once('@').unwrap_or(("", ""));
        let other_domain = if rng.chance(50) {
            format!("elsewhere{n}.example")
        } else {
            let d = &self.domains[rng.below(self.domains.len())];
            if d == domain {
                format!("elsewhere{n}.example")
            } else {
                d.clone()
            }
        };
        format!("{local}@{other_domain}")
    }

    fn fresh_domain(&mut self) -> String {
        self.fresh += 1;
        format!("new{}.example", self.fresh)
    }

    /// The circle and recipients of one ordinary message.
    fn recipients(&mut self) -> (usize, Vec<Person>) {
        let c = self.pick_circle();
        let mut out = Vec::new();
        // Two people of a circle may share an address (`jane@` for two
        // Janes), so no more are wanted than it has addresses.
        let addresses: HashSet<&str> = self.circles[c].iter().map(|p| p.addr.as_str()).collect();
        let want = (1 + self.rng.below(4).min(self.circles[c].len() - 1)).min(addresses.len());
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

/// The one sender of the single-sender replay.
const SAM: &str = "Sam Sender <me@example.org>";

/// A sent message from `from` to `to`, opening with `greeting` (a line of
/// its own; none when empty).
fn message(from: &str, n: usize, to: &[Person], reply: bool, greeting: &str) -> String {
    let mut m = format!("From: {from}\n");
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
    let _ = write!(m, "Message-ID: <{n}@example.org>\n\n");
    if !greeting.is_empty() {
        let _ = write!(m, "{greeting}\n\n");
    }
    m.push_str("See you on Friday.\n");
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

/// The warnings (about `addr`, if given) in the message, judged by the
/// history of `sender` (`""`: the personal index's one user).
fn warnings(linter: &Linter, text: &str, sender: &str, addr: Option<&str>) -> Vec<String> {
    linter
        .check_for_sender(&parse(text), sender)
        .0
        .iter()
        .filter(|f| f.severity >= Severity::Warning && addr.is_none_or(|a| f.message.contains(a)))
        .map(|f| format!("{}: {}", f.rule, f.message))
        .collect()
}

fn warned(linter: &Linter, text: &str, addr: &str) -> bool {
    !warnings(linter, text, "", Some(addr)).is_empty()
}

/// The highest severity of the findings about `addr`, judged by the
/// history of `sender`.
fn flagged(linter: &Linter, text: &str, sender: &str, addr: &str) -> Option<Severity> {
    linter
        .check_for_sender(&parse(text), sender)
        .0
        .iter()
        .filter(|f| f.message.contains(addr))
        .map(|f| f.severity)
        .max()
}

/// Swaps tried, and how many were flagged at all and as warnings or errors.
#[derive(Default)]
struct Recall {
    tried: usize,
    flagged: usize,
    warned: usize,
}

impl Recall {
    fn add(&mut self, severity: Option<Severity>) {
        self.tried += 1;
        self.flagged += usize::from(severity.is_some());
        self.warned += usize::from(severity >= Some(Severity::Warning));
    }

    fn show(&self, what: &str) {
        println!(
            "{what}: {} tried, flagged {} ({:.1}%), as a warning or error {} ({:.1}%)",
            self.tried,
            self.flagged,
            pct(self.flagged, self.tried),
            self.warned,
            pct(self.warned, self.tried)
        );
    }
}

/// A linter with only the history rules, over the index at `index`.
fn history_linter(index: &Path) -> Linter {
    let config = Config::parse(
        &format!("[history]\nindex = {:?}\n", index.display().to_string()),
        "replay.toml",
    )
    .expect("config");
    let selection = Selection {
        select: HISTORY_RULES.iter().map(|r| r.to_string()).collect(),
        ..Selection::default()
    };
    Linter::new(config, &selection).expect("linter")
}

fn pct(a: usize, b: usize) -> f64 {
    100.0 * a as f64 / b.max(1) as f64
}

/// One real post: who sent it, when, to whom (address and name as
/// written), and its bytes.
struct Post {
    from: String,
    date: i64,
    to: Vec<(String, Option<String>)>,
    reply: bool,
    bytes: Vec<u8>,
}

impl Post {
    fn read(bytes: Vec<u8>, message: &Message) -> Option<Post> {
        let from = address_key(message.sender()?.addr);
        let date = message
            .header("Date")
            .and_then(|h| mail_parser::DateTime::parse_rfc822(h.value))?
            .to_timestamp();
        let mut to: Vec<(String, Option<String>)> = Vec::new();
        for a in message.addresses().filter(|a| a.field.is_recipient()) {
            let addr = address_key(a.addr);
            if addr.contains('@') && addr != from && !to.iter().any(|(t, _)| *t == addr) {
                to.push((addr, a.name.map(str::to_string)));
            }
        }
        Some(Post {
            from,
            date,
            to,
            reply: message.is_reply,
            bytes,
        })
    }

    /// The post with other recipients, as a message the history rules read
    /// the same way (they look at the sender, the recipients and whether it
    /// is a reply).
    fn with_recipients(&self, n: usize, to: &[(String, Option<String>)]) -> String {
        let mailbox = |(addr, name): &(String, Option<String>)| match name {
            Some(name) => format!("\"{}\" <{addr}>", name.replace('"', "")),
            None => addr.clone(),
        };
        let mut m = format!("From: {}\n", self.from);
        let (first, rest) = to.split_at(1);
        let _ = writeln!(m, "To: {}", mailbox(&first[0]));
        if !rest.is_empty() {
            let cc: Vec<String> = rest.iter().map(mailbox).collect();
            let _ = writeln!(m, "Cc: {}", cc.join(", "));
        }
        if self.reply {
            m.push_str("In-Reply-To: <earlier@example.net>\nSubject: Re: x\n");
        } else {
            m.push_str("Subject: x\n");
        }
        let _ = write!(m, "Message-ID: <swap-{n}@example.net>\n\nx\n");
        m
    }
}

/// Senders that are feeds or programs, not people writing mail.
fn is_feed(addr: &str) -> bool {
    let local = addr.split('@').next().unwrap_or("");
    [
        "rssfeeds", "daemon", "noreply", "no-reply", "mailer", "bounce",
    ]
    .iter()
    .any(|f| local.contains(f))
}

fn real_replay(dir: &Path) {
    let mut posts = Vec::new();
    maillint::input::read_inputs(
        &[Input::Path(dir.to_path_buf())],
        &Default::default(),
        &mut |item| {
            if let Item::Message(mut raw) = item {
                let bytes = raw.bytes.clone();
                if let Ok(message) = raw.parse()
                    && !message.is_automatic()
                    && let Some(post) = Post::read(bytes, &message)
                {
                    posts.push(post);
                }
            }
        },
    );
    let mut by_sender: HashMap<String, Vec<Post>> = HashMap::new();
    for post in posts {
        if !is_feed(&post.from) {
            by_sender.entry(post.from.clone()).or_default().push(post);
        }
    }
    let mut senders: Vec<(String, Vec<Post>)> = by_sender.into_iter().collect();
    senders.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    senders.truncate(20);
    let all_domains: Vec<String> = senders
        .iter()
        .flat_map(|(_, posts)| posts.iter().flat_map(|p| &p.to))
        .filter_map(|(a, _)| a.rsplit_once('@').map(|(_, d)| d.to_string()))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    // Each poster's learned posts, as their Sent folder: a directory of
    // .eml files, which the administrator learns under their address.
    let work = replay_dir("real");
    _ = std::fs::remove_dir_all(&work);
    for (n, (_, posts)) in senders.iter_mut().enumerate() {
        posts.sort_by_key(|p| p.date);
        let sent = work.join(format!("sent/{n}"));
        std::fs::create_dir_all(&sent).expect("sent folder");
        for (i, post) in posts[..posts.len() * 8 / 10].iter().enumerate() {
            std::fs::write(sent.join(format!("{i}.eml")), &post.bytes).expect("post written");
        }
    }
    for hashed in [false, true] {
        println!("\n{} storage:\n", if hashed { "Hashed" } else { "Clear" });
        real_run(&senders, &all_domains, &work, hashed);
    }
}

/// The real-mail replay with one storage: every poster's Sent folder
/// learned into one index (`maillint learn --sender ADDRESS DIR`), each
/// held-back post judged by its poster's history.
fn real_run(senders: &[(String, Vec<Post>)], all_domains: &[String], work: &Path, hashed: bool) {
    let vdir = work.join(if hashed { "hashed" } else { "clear" });
    std::fs::create_dir_all(&vdir).expect("index directory");
    let config = gateway_config(&vdir, hashed);
    let index = vdir.join("history.sqlite");
    let start = Instant::now();
    for (n, (sender, _)) in senders.iter().enumerate() {
        let sent = work.join(format!("sent/{n}"));
        maillint::history::learn_or_forget(
            &config,
            &[sent.display().to_string()],
            &maillint::history::Whose::Sender(maillint::history::sender_key(None, sender)),
            None,
            &index,
            &|_| {},
        )
        .expect("learned");
    }
    println!(
        "learned {} Sent folders into one index in {:.2} s; index {:.2} MB\n",
        senders.len(),
        start.elapsed().as_secs_f64(),
        index_size(&vdir) as f64 / 1e6
    );
    let linter = Linter::new(config, &measured_rules()).expect("linter");
    let show = std::env::var_os("REPLAY_SHOW").is_some();
    let mut rng = Rng(0xbad);
    let (mut held_total, mut warned_total, mut infos_total) = (0, 0, 0);
    let (mut replies, mut single) = (0, 0);
    let (mut namesakes, mut namesakes_2, mut namesakes_named, mut others) = (
        Recall::default(),
        Recall::default(),
        Recall::default(),
        Recall::default(),
    );
    println!(
        "| sender | posts | learned | held back (with recipients) | distinct recipients learned | warned |"
    );
    println!("|---|--:|--:|--:|--:|--:|");
    for (n, (sender, posts)) in senders.iter().enumerate() {
        let split = posts.len() * 8 / 10;
        let key = maillint::history::sender_key(None, sender);
        let learned: Vec<&Post> = posts[..split].iter().collect();
        let known: HashSet<&str> = learned
            .iter()
            .flat_map(|p| p.to.iter().map(|(a, _)| a.as_str()))
            .collect();
        let mut sender_warned = 0;
        // Posts whose recipients the corpus left out say nothing either way.
        for post in posts[split..].iter().filter(|p| !p.to.is_empty()) {
            let message =
                maillint::input::parse_message(&post.bytes, &Default::default()).expect("parses");
            let (findings, _) = linter.check_for_sender(&message, &key);
            let loud = findings.iter().any(|f| f.severity >= Severity::Warning);
            infos_total += findings
                .iter()
                .filter(|f| f.severity == Severity::Info)
                .count();
            if show {
                for f in &findings {
                    println!("  {sender}: {:?} {}: {}", f.severity, f.rule, f.message);
                }
            }
            sender_warned += usize::from(loud);
            replies += usize::from(post.reply);
            single += usize::from(post.to.len() == 1);
        }
        let held = posts[split..].iter().filter(|p| !p.to.is_empty()).count();
        println!(
            "| {sender} | {} | {split} | {held} | {} | {sender_warned} |",
            posts.len(),
            known.len()
        );
        held_total += held;
        warned_total += sender_warned;

        for (i, post) in posts[split..].iter().enumerate() {
            if post.to.is_empty() {
                continue;
            }
            let id = n * 10_000 + i;
            let control = post.with_recipients(id, &post.to);
            if !warnings(&linter, &control, &key, None).is_empty() {
                // Already warned as sent: a swap in it proves nothing.
                continue;
            }
            let victim = rng.below(post.to.len());
            let (addr, name) = &post.to[victim];
            let (local, domain) = addr.rsplit_once('@').unwrap_or((addr, ""));
            // Autocomplete's namesake: the same name and local part at
            // another domain (one seen in this mail, or one never seen).
            let other = if rng.chance(50) {
                format!("elsewhere{id}.example")
            } else {
                let d = &all_domains[rng.below(all_domains.len())];
                if d == domain {
                    format!("elsewhere{id}.example")
                } else {
                    d.clone()
                }
            };
            let swapped_addr = format!("{local}@{other}");
            let mut swapped = post.to.clone();
            swapped[victim] = (swapped_addr.clone(), name.clone());
            let severity = flagged(
                &linter,
                &post.with_recipients(id, &swapped),
                &key,
                &swapped_addr,
            );
            if show && severity.is_none() {
                println!(
                    "  missed namesake: {sender} -> {swapped_addr} (of {})",
                    post.to.len()
                );
            }
            namesakes.add(severity);
            if post.to.len() >= 2 {
                namesakes_2.add(severity);
            }
            // Written with a full name the learned posts have for it.
            let name_key = name.as_deref().and_then(maillint::history::name_key);
            if name_key.is_some()
                && learned.iter().flat_map(|p| &p.to).any(|(a, n)| {
                    a == addr && n.as_deref().and_then(maillint::history::name_key) == name_key
                })
            {
                namesakes_named.add(severity);
            }
            // An address from another circle: one this sender wrote to, but
            // never with any of this post's other recipients.
            let rest: Vec<&str> = post
                .to
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != victim)
                .map(|(_, (a, _))| a.as_str())
                .collect();
            if rest.is_empty() {
                continue;
            }
            let strangers: Vec<&(String, Option<String>)> = learned
                .iter()
                .filter(|p| !p.to.iter().any(|(a, _)| rest.contains(&a.as_str())))
                .flat_map(|p| &p.to)
                .filter(|(a, _)| !post.to.iter().any(|(b, _)| b == a))
                .collect();
            if strangers.is_empty() {
                continue;
            }
            let stranger = strangers[rng.below(strangers.len())].clone();
            let mut swapped = post.to.clone();
            swapped[victim] = stranger.clone();
            others.add(flagged(
                &linter,
                &post.with_recipients(id, &swapped),
                &key,
                &stranger.0,
            ));
        }
    }
    println!(
        "ordinary held-back posts warned: {warned_total} of {held_total} ({:.2}%); infos: {infos_total}",
        pct(warned_total, held_total)
    );
    println!("of them replies: {replies}; to one recipient: {single}");
    namesakes.show("namesake swaps");
    namesakes_2.show("namesake swaps in posts to 2 or more");
    namesakes_named.show("namesake swaps of a recipient under a full name learned for it");
    others.show("other-circle swaps");
}

fn main() {
    let arg = std::env::args().nth(1);
    if arg.as_deref() == Some("org") {
        let n = |i: usize, default: usize| {
            std::env::args()
                .nth(i)
                .and_then(|a| a.replace('_', "").parse().ok())
                .unwrap_or(default)
        };
        return org_replay(n(2, 1_000), n(3, 1_000_000), n(4, usize::MAX));
    }
    if let Some(dir) = arg.as_deref().map(Path::new).filter(|p| p.is_dir()) {
        return real_replay(dir);
    }
    let total: usize = arg.and_then(|n| n.parse().ok()).unwrap_or(20_000);
    let mut world = World::new(0x5eed);
    let mut sent = Vec::with_capacity(total);
    let mut people = Vec::with_capacity(total);
    for n in 0..total {
        let (circle, to) = world.recipients();
        let reply = world.rng.chance(20);
        sent.push(message(SAM, n, &to, reply, ""));
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
        &[Input::Path(learned_part.clone())],
        &Default::default(),
        &|_| {},
    )
    .expect("learned");
    let learn_time = start.elapsed();
    // Learning the same mbox again finds nothing new, without reading it.
    let start = Instant::now();
    let again = learn(
        &history,
        &[Input::Path(learned_part)],
        &Default::default(),
        &|_| {},
    )
    .expect("learned again");
    println!(
        "learned again: {} new, {} read, in {:.0} µs",
        again.learned,
        again.read,
        start.elapsed().as_secs_f64() * 1e6
    );
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

    let linter = history_linter(&index);
    let selection = Selection {
        select: HISTORY_RULES.iter().map(|r| r.to_string()).collect(),
        ..Selection::default()
    };
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
        let loud = warnings(&linter, m, "", None);
        with_index += start.elapsed();
        let start = Instant::now();
        warnings(&baseline, m, "", None);
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
        let mut swapped = to.clone();
        swapped[victim].addr = world.namesake(&mut rng, n, &to[victim].addr);
        namesakes += 1;
        if warned(
            &linter,
            &message(SAM, total + n, &swapped, *reply, ""),
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
            &message(SAM, total + n, &swapped, *reply, ""),
            &stranger.addr,
        );
        others += 1;
        others_caught += usize::from(caught);
        if to.len() >= 3 {
            others_3 += 1;
            others_3_caught += usize::from(caught);
        }
    }
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

/// Where the organisation replay keeps its journal and indexes: under
/// target/, never committed.
fn replay_dir(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/history-replay")
        .join(name)
}

/// The configuration a gateway's administrator writes: the shared index,
/// and for hashed storage a key file (a fixed key: the replay is
/// deterministic).
fn gateway_config(dir: &Path, hashed: bool) -> Config {
    let mut text = format!(
        "[history]\nindex = {:?}\n",
        dir.join("history.sqlite").display().to_string()
    );
    if hashed {
        let key = dir.join("hash.key");
        std::fs::write(&key, "000102030405060708090a0b0c0d0e0f\n").expect("key written");
        let _ = writeln!(text, "hash_key_file = {:?}", key.display().to_string());
    }
    Config::parse(&text, "replay.toml").expect("config")
}

/// The rules the replay measures: the history rules and
/// salutation-mismatch.
fn measured_rules() -> Selection {
    Selection {
        select: HISTORY_RULES
            .iter()
            .map(|r| r.to_string())
            .chain(["salutation-mismatch".to_string()])
            .collect(),
        ..Selection::default()
    }
}

/// Bytes of the index files (the database with its WAL) in `dir`.
fn index_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .expect("index directory")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("history"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

/// A message checked as the gateway checks it: parsed, then judged by
/// its sender's history only. Kept out of line so that callgrind can count
/// its instructions alone (`--toggle-collect=*check_with_index*`).
#[inline(never)]
fn check_with_index(linter: &Linter, message: &Message, sender: &str) -> Vec<Finding> {
    linter.check_for_sender(message, sender).0
}

/// The same check by a linter without an index: what the history lookups
/// cost is the difference.
#[inline(never)]
fn check_without_index(linter: &Linter, message: &Message, sender: &str) -> Vec<Finding> {
    linter.check_for_sender(message, sender).0
}

fn parse(text: &str) -> Message {
    maillint::input::parse_message(text.as_bytes(), &Default::default()).expect("parses")
}

/// Whether a rule of `rules` (any when empty) warned about `addr` (any
/// when `None`).
fn warns(findings: &[Finding], rules: &[&str], addr: Option<&str>) -> bool {
    findings.iter().any(|f| {
        f.severity >= Severity::Warning
            && (rules.is_empty() || rules.contains(&f.rule.as_ref()))
            && addr.is_none_or(|a| f.message.contains(a))
    })
}

/// One held-back message of the organisation replay.
struct Held {
    sender: usize,
    n: usize,
    circle: usize,
    to: Vec<Person>,
    reply: bool,
    /// The first names its greeting gives (empty for none, or "Hi all").
    greeted: Vec<String>,
    greeting: String,
}

/// A person's first name, as a greeting gives it.
fn given(p: &Person) -> &str {
    p.name.split(' ').next().unwrap_or_default()
}

/// A greeting as people write them: the first name of one or two
/// recipients, "Dear" and the full name now and then, "Hi all" to a group,
/// and sometimes none. Returns the line and the names it gives.
fn greet(rng: &mut Rng, to: &[Person]) -> (String, Vec<String>) {
    match to.len() {
        1 if rng.chance(10) => {
            let last = to[0].name.rsplit(' ').next().unwrap_or_default();
            (
                format!("Dear {} {last},", given(&to[0])),
                vec![given(&to[0]).to_string()],
            )
        }
        1 if rng.chance(78) => (
            format!("Hi {},", given(&to[0])),
            vec![given(&to[0]).to_string()],
        ),
        2 if rng.chance(60) && given(&to[0]) != given(&to[1]) => (
            format!("Hi {} and {},", given(&to[0]), given(&to[1])),
            vec![given(&to[0]).to_string(), given(&to[1]).to_string()],
        ),
        n if n >= 2 && rng.chance(70) => ("Hi all,".to_string(), Vec::new()),
        _ => (String::new(), Vec::new()),
    }
}

/// A few recipients of a sender's learned mail (reservoir-sampled), with
/// their circle: the familiar addresses autocomplete offers.
struct Familiar {
    seen: usize,
    people: Vec<(usize, Person)>,
}

impl Familiar {
    const KEEP: usize = 64;

    fn add(&mut self, rng: &mut Rng, circle: usize, p: &Person) {
        self.seen += 1;
        if self.people.len() < Self::KEEP {
            self.people.push((circle, p.clone()));
        } else {
            let i = rng.below(self.seen);
            if i < Self::KEEP {
                self.people[i] = (circle, p.clone());
            }
        }
    }
}

/// Counts for one storage (clear or hashed).
#[derive(Default)]
struct OrgFigures {
    learn: Duration,
    learned: u64,
    size: u64,
    checked: usize,
    with_index: Duration,
    without_index: Duration,
    learn_as_sent: Duration,
    warned: usize,
    warned_by: HashMap<String, usize>,
    namesakes: (usize, usize),
    /// Namesake swaps each history rule warned about.
    namesakes_by: HashMap<String, usize>,
    others: (usize, usize),
    others_3: (usize, usize),
    greetings: (usize, usize),
    greetings_any: usize,
    /// Wrong greetings where every recipient is told by name or address
    /// (salutation-mismatch judges only those).
    greetings_told: (usize, usize),
}

/// The organisation replay: `senders` people at example.org each with
/// their own world of contacts (as the single-sender replay generates
/// one), `total` messages between them, sent round-robin; the first 80% of
/// each sender's messages go into one journal mbox, learned as an
/// administrator bootstraps a gateway (`maillint learn --journal`), and the
/// last 20% are checked by their sender's history (`check_for_sender`) and
/// learned as they leave, as the gateway does. Then one recipient of each
/// held-back message is swapped for a namesake elsewhere or someone from
/// another circle, and the person greeted for another familiar contact.
fn org_replay(senders: usize, total: usize, checks: usize) {
    let per_sender = total / senders;
    let split = per_sender * 8 / 10;
    let dir = replay_dir(&format!("org-{senders}x{}", per_sender * senders));
    std::fs::create_dir_all(&dir).expect("replay directory");
    let journal = dir.join("journal.mbox");
    let start = Instant::now();
    let mut worlds: Vec<World> = (0..senders)
        .map(|s| World::new(0x5eed + 7919 * s as u64))
        .collect();
    let mut familiar: Vec<Familiar> = (0..senders)
        .map(|_| Familiar {
            seen: 0,
            people: Vec::new(),
        })
        .collect();
    let from = |s: usize| format!("Sam Sender <sender{s}@example.org>");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&journal).expect("journal"));
    let mut held = Vec::new();
    let mut rng = Rng(0xfa11);
    for i in 0..per_sender {
        for (s, world) in worlds.iter_mut().enumerate() {
            let n = i * senders + s;
            let (circle, book) = world.recipients();
            let reply = world.rng.chance(20);
            let (greeting, greeted) = greet(&mut world.rng, &book);
            // A reply goes back to the address the other's mail came from,
            // with the display name it carried: someone the address book
            // has without a name is written with one then.
            let mut to = book.clone();
            if reply {
                to[0].named = true;
            }
            if i < split {
                for p in &book {
                    familiar[s].add(&mut rng, circle, p);
                }
                let m = message(&from(s), n, &to, reply, &greeting);
                use std::io::Write as _;
                write!(
                    out,
                    "From sender{s}@example.org Mon Jan  5 09:00:00 2026\n{m}\n"
                )
                .expect("journal written");
            } else {
                held.push(Held {
                    sender: s,
                    n,
                    circle,
                    to,
                    reply,
                    greeted,
                    greeting,
                });
            }
        }
    }
    drop(out);
    // A sample spread over every sender when not all are checked.
    let step = held.len().div_ceil(checks.max(1)).max(1);
    let held: Vec<Held> = held.into_iter().step_by(step).collect();
    println!(
        "generated {} senders, {} messages ({} in the journal, {} held back, {} checked) in {:.1} s",
        senders,
        per_sender * senders,
        split * senders,
        (per_sender - split) * senders,
        held.len(),
        start.elapsed().as_secs_f64()
    );

    let mut figures = Vec::new();
    for hashed in [false, true] {
        let vdir = dir.join(if hashed { "hashed" } else { "clear" });
        _ = std::fs::remove_dir_all(&vdir);
        std::fs::create_dir_all(&vdir).expect("index directory");
        let config = gateway_config(&vdir, hashed);
        let index = vdir.join("history.sqlite");
        let mut f = OrgFigures::default();
        let start = Instant::now();
        let learned = maillint::history::learn_or_forget(
            &config,
            &[journal.display().to_string()],
            &maillint::history::Whose::Journal,
            None,
            &index,
            &|_| {},
        )
        .expect("learned");
        f.learn = start.elapsed();
        if let maillint::history::Learned::Paths(summary) = learned {
            assert!(summary.errors.is_empty(), "{:?}", summary.errors);
            f.learned = summary.learned;
        }
        f.size = index_size(&vdir);
        org_check(&config, &vdir, &held, &worlds, &familiar, &mut f);
        figures.push(f);
    }
    org_table(&figures);
}

/// Checks and learns the held-back messages as the gateway does, then the
/// swapped ones.
fn org_check(
    config: &Config,
    dir: &Path,
    held: &[Held],
    worlds: &[World],
    familiar: &[Familiar],
    f: &mut OrgFigures,
) {
    let from = |s: usize| format!("Sam Sender <sender{s}@example.org>");
    let key = |s: usize| maillint::history::sender_key(None, &format!("<sender{s}@example.org>"));
    let linter = Linter::new(config.clone(), &measured_rules()).expect("linter");
    let mut none = Config::default();
    none.history.index = Some(dir.join("none.sqlite"));
    let baseline = Linter::new(none, &measured_rules()).expect("linter");
    let index = dir.join("history.sqlite");
    let learner = maillint::history::open_to_learn(config, &index).expect("index");
    let show = std::env::var_os("REPLAY_SHOW").is_some();
    for h in held {
        let text = message(&from(h.sender), h.n, &h.to, h.reply, &h.greeting);
        let m = parse(&text);
        let sender = key(h.sender);
        let clock = cpu_time::ThreadTime::now();
        let findings = check_with_index(&linter, &m, &sender);
        f.with_index += clock.elapsed();
        let clock = cpu_time::ThreadTime::now();
        check_without_index(&baseline, &m, &sender);
        f.without_index += clock.elapsed();
        f.checked += 1;
        if warns(&findings, &[], None) {
            f.warned += 1;
            for r in findings.iter().filter(|x| x.severity >= Severity::Warning) {
                *f.warned_by.entry(r.rule.to_string()).or_default() += 1;
                if show {
                    let to: Vec<&str> = text
                        .lines()
                        .filter(|l| l.starts_with("To:") || l.starts_with("Cc:"))
                        .collect();
                    println!("  {sender}: {}: {} [{}]", r.rule, r.message, to.join(" "));
                }
            }
        }
        // Learned as it leaves, by the gateway's call.
        let clock = cpu_time::ThreadTime::now();
        maillint::history::learn_or_keep(
            &learner.for_sender(&sender),
            &m,
            text.as_bytes(),
            std::time::SystemTime::now(),
        )
        .expect("learned");
        f.learn_as_sent += clock.elapsed();
    }
    drop(learner);

    let mut rng = Rng(0xbad);
    let history_rules: Vec<&str> = HISTORY_RULES.to_vec();
    for h in held {
        let sender = key(h.sender);
        let world = &worlds[h.sender];
        let n = 10_000_000 + h.n;
        let judge = |to: &[Person], greeting: &str| {
            let text = message(&from(h.sender), n, to, h.reply, greeting);
            linter.check_for_sender(&parse(&text), &sender).0
        };
        let victim = rng.below(h.to.len());
        let mut swapped = h.to.clone();
        swapped[victim].addr = world.namesake(&mut rng, n, &h.to[victim].addr);
        let findings = judge(&swapped, &h.greeting);
        let caught = warns(&findings, &history_rules, Some(&swapped[victim].addr));
        for rule in &history_rules {
            if warns(&findings, &[rule], Some(&swapped[victim].addr)) {
                *f.namesakes_by.entry(rule.to_string()).or_default() += 1;
            }
        }
        f.namesakes.0 += 1;
        f.namesakes.1 += usize::from(caught);
        // Someone familiar from another circle.
        let pool = &familiar[h.sender].people;
        let (circle, stranger) = &pool[rng.below(pool.len())];
        if *circle != h.circle && !h.to.iter().any(|p| p.addr == stranger.addr) {
            let mut swapped = h.to.clone();
            swapped[victim] = stranger.clone();
            let caught = warns(
                &judge(&swapped, &h.greeting),
                &history_rules,
                Some(&stranger.addr),
            );
            f.others.0 += 1;
            f.others.1 += usize::from(caught);
            if h.to.len() >= 3 {
                f.others_3.0 += 1;
                f.others_3.1 += usize::from(caught);
            }
        }
        // The greeting written for one person, the address autocomplete's
        // pick of another familiar contact, whose name and address share
        // no word with the greeted name.
        if h.greeted.is_empty() {
            continue;
        }
        let target = rng.below(h.to.len());
        let lower: Vec<String> = h.greeted.iter().map(|g| g.to_lowercase()).collect();
        let unrelated = |p: &Person| {
            let name = p.name.to_lowercase();
            !lower.iter().any(|g| {
                name.split(|c: char| !c.is_alphanumeric()).any(|w| w == g) || p.addr.contains(g)
            })
        };
        let candidates: Vec<&Person> = pool
            .iter()
            .map(|(_, p)| p)
            .filter(|p| unrelated(p) && !h.to.iter().any(|q| q.addr == p.addr))
            .collect();
        if candidates.is_empty() {
            continue;
        }
        let mut swapped = h.to.clone();
        swapped[target] = candidates[rng.below(candidates.len())].clone();
        let findings = judge(&swapped, &h.greeting);
        let caught = warns(&findings, &["salutation-mismatch"], None);
        f.greetings.0 += 1;
        f.greetings.1 += usize::from(caught);
        f.greetings_any += usize::from(warns(&findings, &[], None));
        // A person is told by a display name or a local part of two words.
        let told = swapped
            .iter()
            .all(|p| p.named || p.addr.split('@').next().is_some_and(|l| l.contains('.')));
        if told {
            f.greetings_told.0 += 1;
            f.greetings_told.1 += usize::from(caught);
            if show && !caught {
                let to: Vec<String> = swapped.iter().map(Person::mailbox).collect();
                println!("  missed greeting: {} to {}", h.greeting, to.join(", "));
            }
        }
    }
}

/// `name-mismatch 12, new-recipient 30`: counts by rule, by name.
fn by_rule(counts: &HashMap<String, usize>) -> String {
    let mut by: Vec<_> = counts.iter().collect();
    by.sort();
    let by: Vec<String> = by.iter().map(|(r, n)| format!("{r} {n}")).collect();
    by.join(", ")
}

/// How one row of the table shows one storage's figures.
type Cell = Box<dyn Fn(&OrgFigures) -> String>;

fn org_table(figures: &[OrgFigures]) {
    let per = |d: Duration, f: &OrgFigures| d.as_secs_f64() * 1e6 / f.checked.max(1) as f64;
    let share = |(tried, caught): (usize, usize)| {
        format!("{:.1}% ({caught} of {tried})", pct(caught, tried))
    };
    let rows: Vec<(&str, Cell)> = vec![
        (
            "learn the journal (`learn --journal`)",
            Box::new(|f| format!("{:.1} s ({} messages)", f.learn.as_secs_f64(), f.learned)),
        ),
        (
            "index (SQLite file with its WAL)",
            Box::new(|f| format!("{:.1} MB", f.size as f64 / 1e6)),
        ),
        (
            "check a held-back message with the index (thread CPU)",
            Box::new(move |f| format!("{:.0} µs", per(f.with_index, f))),
        ),
        (
            "the same without an index",
            Box::new(move |f| format!("{:.0} µs", per(f.without_index, f))),
        ),
        (
            "lookup cost (the difference)",
            Box::new(move |f| format!("{:.0} µs", per(f.with_index, f) - per(f.without_index, f))),
        ),
        (
            "learn it as it leaves (`learn_or_keep`, thread CPU)",
            Box::new(move |f| format!("{:.0} µs", per(f.learn_as_sent, f))),
        ),
        (
            "ordinary held-back messages warned (goal < 2%)",
            Box::new(|f| {
                format!(
                    "{:.2}% ({} of {}: {})",
                    pct(f.warned, f.checked),
                    f.warned,
                    f.checked,
                    by_rule(&f.warned_by)
                )
            }),
        ),
        (
            "autocomplete namesake swaps warned (goal ≥ 90%)",
            Box::new(move |f| share(f.namesakes)),
        ),
        ("the same, by rule", Box::new(|f| by_rule(&f.namesakes_by))),
        (
            "other-circle swaps warned",
            Box::new(move |f| share(f.others)),
        ),
        (
            "the same, in messages to 3 or more",
            Box::new(move |f| share(f.others_3)),
        ),
        (
            "wrong greetings caught by salutation-mismatch (goal ≥ 90%)",
            Box::new(move |f| share(f.greetings)),
        ),
        (
            "the same, every recipient told by name or address",
            Box::new(move |f| share(f.greetings_told)),
        ),
        (
            "wrong greetings warned by any rule",
            Box::new(move |f| share((f.greetings.0, f.greetings_any))),
        ),
    ];
    println!("\n| what | clear | hashed |\n|---|---|---|");
    for (what, show) in rows {
        let cells: Vec<String> = figures.iter().map(&show).collect();
        println!("| {what} | {} |", cells.join(" | "));
    }
}
