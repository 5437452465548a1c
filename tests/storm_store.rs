//! The storm store against a real `redis-server` (Debian's, installed by
//! `.ci/run`) on a loopback port of the test's own, some through a proxy
//! that holds or slows Redis's requests: one round trip per message,
//! messages counted at once rather than one after another, a Redis
//! restart without a lost count, a frozen Redis costing one timeout, and
//! key prefixes and keyed hashes.
//!
//! Without redis-server a test says SKIPPED and passes locally; under
//! CI=true that is a failure.
// A test: a failed unwrap is a failed run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use maillint::config::StormConfig;
use maillint::message::{Message, parse_rfc5322};
use maillint::milter::storm::{Storm, Verdict};

mod mta;
mod redis;
use mta::{Mta, POSTFIX_FLAGS};
use redis::{Mode, Proxy, Redis, available};

fn storm(url: &str, prefix: &str, timeout_ms: u64) -> Storm {
    Storm::new(StormConfig {
        store: Some(url.to_string()),
        key_prefix: prefix.to_string(),
        store_timeout_ms: timeout_ms,
        sender_limit_per_hour: 0,
        max_replies: 1,
        ..StormConfig::default()
    })
    .unwrap()
}

/// A reply to everyone in the thread started by `<root>`.
fn reply(root: &str, n: usize) -> Message {
    parse_rfc5322(
        format!(
            "From: a@example.org\nTo: everyone@example.org\nSubject: Re: Lunch\nMessage-ID: <{n}.{root}>\nIn-Reply-To: <{root}>\nReferences: <{root}>\n\nPlease remove me.\n"
        )
        .as_bytes(),
        1,
    )
    .unwrap()
}

fn judge(storm: &Storm, message: &Message) -> Verdict {
    storm.judge(message, "a@example.org", 5000, true, 0)
}

fn blocked(verdict: &Verdict, why: &str) -> bool {
    matches!(verdict, Verdict::Blocked(b) if b.reason.contains(why))
}

#[test]
fn messages_count_at_once_each_in_one_round_trip() {
    if !available() {
        return;
    }
    let redis = Redis::start();
    let proxy = Proxy::start(redis.port);
    let storm = storm(&proxy.url(), "maillint:storm:", 60_000);
    // The first count also shares the installation's secret and loads the
    // script.
    assert_eq!(judge(&storm, &reply("warm@example.org", 0)), Verdict::Pass);
    // Redis freezes: every message in flight waits for it, each on its own
    // connection, none for another's.
    const AT_ONCE: usize = 20;
    let at_once = |round: usize| {
        proxy.set(Mode::Hold);
        std::thread::scope(|scope| {
            let counts: Vec<_> = (0..AT_ONCE)
                .map(|i| {
                    let storm = &storm;
                    let root = format!("t{i}@example.org");
                    scope.spawn(move || judge(storm, &reply(&root, round)))
                })
                .collect();
            proxy.wait_until_held(AT_ONCE);
            proxy.set(Mode::Pass);
            counts
                .into_iter()
                .map(|c| c.join().unwrap())
                .collect::<Vec<_>>()
        })
    };
    assert!(at_once(0).iter().all(|v| *v == Verdict::Pass));
    // Again, on the connections now open: one request per message.
    let before = proxy.requests();
    assert!(at_once(1).iter().all(|v| blocked(v, "this is reply 2")));
    assert_eq!(
        proxy.requests() - before,
        AT_ONCE,
        "one request per message"
    );
    assert!(blocked(
        &judge(&storm, &reply("t7@example.org", 2)),
        "paused"
    ));
    assert_eq!(proxy.requests() - before, AT_ONCE + 1);
}

#[test]
fn a_redis_restart_loses_no_count() {
    if !available() {
        return;
    }
    let mut redis = Redis::start();
    let storm = storm(&redis.url(), "maillint:storm:", 2000);
    assert_eq!(judge(&storm, &reply("root@example.org", 0)), Verdict::Pass);
    // An empty Redis again, and the gateway's connection to the old one
    // dead: the count is made on a new connection.
    redis.restart();
    assert_eq!(judge(&storm, &reply("root@example.org", 1)), Verdict::Pass);
    assert!(blocked(
        &judge(&storm, &reply("root@example.org", 2)),
        "this is reply 2"
    ));
}

#[test]
fn a_frozen_redis_costs_one_timeout_then_is_left_alone() {
    if !available() {
        return;
    }
    let redis = Redis::start();
    let proxy = Proxy::start(redis.port);
    let storm = storm(&proxy.url(), "maillint:storm:", 300);
    assert_eq!(judge(&storm, &reply("warm@example.org", 0)), Verdict::Pass);
    let before = proxy.requests();
    proxy.set(Mode::Hold);
    assert!(matches!(
        judge(&storm, &reply("root@example.org", 0)),
        Verdict::StoreError(_)
    ));
    // Not tried again after its timeout, nor for the next message.
    assert!(matches!(
        judge(&storm, &reply("root@example.org", 1)),
        Verdict::StoreError(e) if e.contains("unreachable")
    ));
    assert_eq!(proxy.requests() - before, 1);
}

#[test]
fn prefixes_keep_installations_apart_and_keys_are_keyed_hashes() {
    if !available() {
        return;
    }
    let redis = Redis::start();
    let (one, other) = (
        storm(&redis.url(), "org-a:", 2000),
        storm(&redis.url(), "org-b:", 2000),
    );
    let second_gateway = storm(&redis.url(), "org-a:", 2000);
    assert_eq!(judge(&one, &reply("root@example.org", 0)), Verdict::Pass);
    assert!(blocked(
        &judge(&one, &reply("root@example.org", 1)),
        "this is reply 2"
    ));
    // Another gateway of the same installation shares the secret, so the
    // same keys: the thread is paused there too.
    assert!(blocked(
        &judge(&second_gateway, &reply("root@example.org", 2)),
        "paused"
    ));
    // Another installation counts apart.
    assert_eq!(judge(&other, &reply("root@example.org", 3)), Verdict::Pass);
    let keys = redis.keys();
    assert!(
        keys.iter()
            .all(|k| k.starts_with("org-a:") || k.starts_with("org-b:")),
        "{keys:?}"
    );
    assert!(keys.contains(&"org-a:secret".to_string()), "{keys:?}");
    // Not an unkeyed hash anyone could compute from the thread's id (as
    // FNV-1a of the root was).
    let fnv = "id:<root@example.org>"
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    assert!(
        !keys.iter().any(|k| k.ends_with(&format!("{fnv:016x}"))),
        "{keys:?}"
    );
    let threads = |prefix: &str| {
        keys.iter()
            .filter(|k| k.starts_with(&format!("{prefix}replies:")))
            .map(|k| k.trim_start_matches(prefix).to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(threads("org-a:").len(), 1, "{keys:?}");
    assert_ne!(threads("org-a:"), threads("org-b:"), "each its own secret");
}

#[test]
fn a_frozen_redis_does_not_keep_unrelated_mail_waiting() {
    use maillint::config::Config;
    use maillint::milter::{Gateway, Listen, Server};
    use std::sync::Arc;

    if !available() {
        return;
    }
    let redis = Redis::start();
    let proxy = Proxy::start(redis.port);
    // Every reply counts (audience = 1), and waits for Redis as long as it
    // takes.
    let config = format!(
        "[organization]\ndomains = [\"example.org\"]\n[storm]\naudience = 1\nmax_replies = 1000\nsender_limit_per_hour = 0\nstore_timeout_ms = 120000\nstore = \"{}\"\n",
        proxy.url()
    );
    let mut config = Config::parse(&config, "maillint.toml").unwrap();
    config.history.index = Some("/nonexistent/history.sqlite".into());
    let gateway = Arc::new(Gateway::new(config, Box::new(std::io::sink())).unwrap());
    let server = Server::bind(&"inet:127.0.0.1:0".parse::<Listen>().unwrap()).unwrap();
    let address = server.local_addr().unwrap();
    std::thread::spawn(move || server.run(gateway));

    let reply = |i: usize| {
        format!(
            "From: Jane <jane@example.org>\nTo: Bob <bob@partner.example>\nSubject: Re: Minutes\nMessage-ID: <r{i}@example.org>\nIn-Reply-To: <root@example.org>\nReferences: <root@example.org>\nDate: Mon, 18 Nov 2024 09:00:00 +0000\n\nThanks.\n"
        )
    };
    let send = |text: &str| {
        let (mut mta, _) = Mta::connect(address, POSTFIX_FLAGS);
        mta.message("jane@example.org", &["bob@partner.example"], text)
    };
    assert_eq!(send(&reply(0)), [(b'c', Vec::new())], "counted");
    // The MTA's other SMTP sessions hold their connections, idle.
    let idle: Vec<Mta> = (0..100)
        .map(|_| Mta::connect(address, POSTFIX_FLAGS).0)
        .collect();
    // Redis freezes with 50 counted replies in flight.
    proxy.set(Mode::Hold);
    std::thread::scope(|scope| {
        let replies: Vec<_> = (1..=50)
            .map(|i| {
                let text = reply(i);
                scope.spawn(move || send(&text))
            })
            .collect();
        proxy.wait_until_held(50);
        // A new message, not a reply: answered while they wait.
        let unrelated = "From: Jane <jane@example.org>\nTo: Bob <bob@partner.example>\nSubject: Lunch\nMessage-ID: <lunch@example.org>\nDate: Mon, 18 Nov 2024 09:00:00 +0000\n\nNoon?\n";
        assert_eq!(send(unrelated), [(b'c', Vec::new())]);
        assert_eq!(proxy.held(), 50, "answered while the replies wait");
        proxy.set(Mode::Pass);
        for reply in replies {
            assert_eq!(reply.join().unwrap(), [(b'c', Vec::new())]);
        }
    });
    drop(idle);
}
