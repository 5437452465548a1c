//! A reply-all storm like NHSmail's of November 2016, replayed through the
//! gateway: a message to a list of 1.2 million members, then thousands of
//! "please remove me" messages from different people over an hour, coming
//! faster as the storm grows. It prints how many went out to the whole
//! list through maillint's gateway (its rules and `[storm]`), through its
//! storm protection alone (an organisation that only warns on reply-all to
//! a list), under Exchange Online's Reply-All Storm Protection rule on the
//! same stream, and with nothing.
//!
//! ```sh
//! cargo run --release --example storm_simulation
//! ```
//!
//! Each message is real: parsed, checked and counted as the gateway does
//! it; only time is simulated.
// An example: a failed unwrap is a failed run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use maillint::audience::{Audience, Org};
use maillint::config::Config;
use maillint::config::StormConfig;
use maillint::message::parse_rfc5322;
use maillint::milter::storm::{MemoryStore, Storm, Verdict};
use maillint::milter::{Action, Envelope, Gateway};

const MEMBERS: u64 = 1_200_000;
const REPLIES: usize = 3_000;
const HOUR: u64 = 3600;

const CONFIG: &str = r#"
[organization]
domains = ["nhs.example"]

[lists."everyone@nhs.example"]
members = 1200000
"#;

/// The i-th message of the storm and the second it arrives at. Arrivals
/// thicken over the hour (the i-th at 3600 * sqrt(i / n) s). Clients vary:
/// most keep the thread's References, some carry only In-Reply-To of the
/// reply they answer, some edit the subject, and a few start a new message
/// to the list instead of replying.
fn sender(i: usize) -> String {
    format!("user{i}@trust{}.nhs.example", i % 97)
}

fn storm_message(i: usize) -> (u64, String) {
    let at = (HOUR as f64 * ((i + 1) as f64 / REPLIES as f64).sqrt()) as u64;
    let sender = sender(i);
    let (subject, threading) = match i % 20 {
        0..=10 => (
            "Re: Test".to_string(),
            "References: <test@nhs.example>\n".to_string(),
        ),
        11..=15 => (
            "RE: Test".to_string(),
            format!("In-Reply-To: <reply{}@nhs.example>\n", i / 2),
        ),
        16..=18 => (
            "Re: Test - PLEASE REMOVE ME".to_string(),
            "In-Reply-To: <test@nhs.example>\nReferences: <test@nhs.example>\n".to_string(),
        ),
        _ => ("Please remove me from this list".to_string(), String::new()),
    };
    let text = format!(
        "From: {sender}\nTo: CSC Stafflist <everyone@nhs.example>\nSubject: {subject}\nMessage-ID: <reply{i}@nhs.example>\n{threading}\nPlease remove me from this list.\n"
    );
    (at, text)
}

#[derive(Default)]
struct Outcome {
    replies_out: usize,
    new_out: usize,
    last_reply_out: u64,
}

impl Outcome {
    fn count(&mut self, out: bool, is_reply: bool, at: u64) {
        match (out, is_reply) {
            (false, _) => {}
            (true, true) => {
                self.replies_out += 1;
                self.last_reply_out = at;
            }
            (true, false) => self.new_out += 1,
        }
    }
}

/// The storm through `maillint milter` with `config`: a message goes out
/// when the gateway accepts or tags it.
fn through_gateway(config: &str) -> Outcome {
    let config = Config::parse(config, "maillint.toml").expect("the simulation's config is valid");
    let gateway = Gateway::new(config, Box::new(std::io::sink())).expect("the gateway starts");
    let mut outcome = Outcome::default();
    for i in 0..REPLIES {
        let (at, text) = storm_message(i);
        let is_reply = text.contains("\nSubject: R");
        let envelope = Envelope {
            sender: sender(i),
            recipients: vec!["everyone@nhs.example".into()],
            ..Envelope::default()
        };
        let decision = gateway.judge_at(text.into_bytes(), &envelope, at);
        outcome.count(
            matches!(decision.action, Action::Accept | Action::Tag),
            is_reply,
            at,
        );
    }
    outcome
}

/// The storm under a storm rule alone (Exchange's, which has no content
/// rules), or under nothing.
fn storm_rule_only(settings: Option<StormConfig>) -> Outcome {
    let config = Config::parse(CONFIG, "maillint.toml").expect("the simulation's config is valid");
    let org = Org::new(&config).expect("the simulation's organisation is valid");
    let storm = settings.map(|s| {
        let store = MemoryStore::new(s.memory_entries);
        Storm::with_store(s, Box::new(store))
    });
    let mut outcome = Outcome::default();
    for i in 0..REPLIES {
        let (at, text) = storm_message(i);
        let message = parse_rfc5322(text.as_bytes(), 1).expect("the simulated messages parse");
        let audience = Audience::new(&message, &org);
        let verdict = match &storm {
            Some(storm) => storm.judge(
                &message,
                &sender(i),
                audience.reach(),
                audience.reaches_mass_list(),
                at,
            ),
            None => Verdict::Pass,
        };
        outcome.count(verdict == Verdict::Pass, message.is_reply, at);
    }
    outcome
}

fn minutes(seconds: u64) -> String {
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

fn main() {
    // Exchange Online: 10 reply-alls to 2,500+ recipients within 60
    // minutes, then replies blocked for 6 hours. It counts by conversation;
    // it is given maillint's thread keys here, which only helps it.
    let exchange = StormConfig {
        audience: 2500,
        max_replies: 10,
        window_minutes: 60,
        block_hours: 6,
        sender_limit_per_hour: 0,
        ..StormConfig::default()
    };
    // An organisation whose rules let mail to the list through (the list
    // size and reply-all to a list only warn): storm protection decides.
    let warn_only = format!(
        "{CONFIG}\n[rules.recipient-count]\nseverity = \"warning\"\n[rules.reply-all-to-list]\nseverity = \"warning\"\n"
    );
    println!(
        "{REPLIES} messages to a list of {MEMBERS} members over an hour, {} of them new messages rather than replies\n",
        REPLIES / 20
    );
    println!(
        "| protection | replies out | new messages out | deliveries to the list | last reply out at (min) |"
    );
    println!("|---|---:|---:|---:|---:|");
    for (name, outcome) in [
        (
            "maillint milter, defaults (recipient-count and reply-all-to-list are errors: rejected)",
            through_gateway(CONFIG),
        ),
        (
            "maillint milter, list size and reply-all only warnings: `[storm]` defaults (3rd reply to 500+ within 30 min)",
            through_gateway(&warn_only),
        ),
        (
            "Exchange rule (11th reply-all to 2,500+ within 60 min)",
            storm_rule_only(Some(exchange)),
        ),
        ("none", storm_rule_only(None)),
    ] {
        let deliveries = (outcome.replies_out + outcome.new_out) as u64 * MEMBERS;
        println!(
            "| {name} | {} | {} | {deliveries} | {} |",
            outcome.replies_out,
            outcome.new_out,
            minutes(outcome.last_reply_out)
        );
    }
}
