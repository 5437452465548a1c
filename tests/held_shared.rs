//! Held mail shared by gateways in a real `redis-server` (see
//! tests/redis/), without an MTA: each gateway's commands record what
//! they were asked. A decision on one gateway's page for a message
//! another holds is carried out by the holder, once however many decide
//! at once; a gateway whose secret differs refuses to start; a Redis that
//! does not answer decides nothing. (tests/held.rs does the same with two
//! Postfix instances and their pages.)
//!
//! Without redis-server a test says SKIPPED and passes locally; under
//! CI=true that is a failure.
// A test: a failed unwrap is a failed run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use maillint::config::HoldConfig;
use maillint::finding::Severity;
use maillint::hold::{Actor, Hold, Holder, Outcome, state};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

mod redis;
use redis::{Redis, available};

/// Gateway `name`'s holder over the shared Redis at `url`, its commands
/// appending `release ID` or `discard ID` to `dir`/`name`.
fn gateway(dir: &Path, name: &str, url: &str, secret: &Path) -> Holder {
    let ran = dir.join(name);
    let record = |what: &str| {
        vec![vec![
            "sh".to_string(),
            "-c".to_string(),
            format!("echo {what} {{id}} >> {}", ran.display()),
        ]]
    };
    Holder::new(HoldConfig {
        shared: Some(url.to_string()),
        gateway: name.to_string(),
        secret_file: secret.to_path_buf(),
        store: dir.join(format!("{name}.sqlite")),
        release_commands: record("release"),
        discard_commands: record("discard"),
        ..HoldConfig::default()
    })
    .unwrap()
}

fn ran(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_default()
}

fn hold(holder: &Holder, queue_id: &str) -> i64 {
    let recipients = vec!["all-staff@example.org".to_string()];
    let rules = vec!["mass-list".to_string()];
    holder
        .hold(
            &Hold {
                queue_id,
                sender: "jane@example.org",
                recipients: &recipients,
                subject: "<b>Enrolment</b>",
                findings: &rules,
                rules: &rules,
                worst: Some(Severity::Warning),
            },
            maillint::hold::now(),
        )
        .unwrap()
        .id
}

#[test]
fn a_decision_is_carried_out_once_by_the_gateway_that_holds_the_message() {
    if !available() {
        return;
    }
    let mut redis = Redis::start();
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    let a = gateway(dir.path(), "mx-a", &redis.url(), &secret);
    let b = gateway(dir.path(), "mx-b", &redis.url(), &secret);

    // Held on A, seen on B as A's, and its sender's link opens on B.
    let id = hold(&a, "AAA1");
    let seen = b.store().get(id).unwrap().unwrap();
    assert_eq!(
        (seen.gateway.as_str(), seen.queue_id.as_str()),
        ("mx-a", "AAA1")
    );
    assert_eq!(seen.subject, "<b>Enrolment</b>");
    let link = a.link(&seen);
    let token = link.rsplit('/').next().unwrap();
    assert_eq!(
        b.signer.verify_sender_token(token, maillint::hold::now()),
        Ok(id)
    );
    assert_eq!(b.store().unnotified().unwrap(), []);
    assert_eq!(a.store().unnotified().unwrap()[0].id, id);

    // Released on B and on A at once, while A's page runs: A's command
    // runs once, and one of the two is told it was decided.
    let stop = AtomicBool::new(false);
    let ann = Actor::Admin("ann".into());
    let outcomes = std::thread::scope(|s| {
        let page_a = s.spawn(|| {
            while !stop.load(Ordering::SeqCst) {
                a.carry_out_requests(maillint::hold::now()).unwrap();
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        });
        let on_b = s.spawn(|| b.release(id, &ann, "from B", maillint::hold::now()));
        let on_a = s.spawn(|| a.release(id, &ann, "from A", maillint::hold::now()));
        let outcomes = [on_b.join().unwrap(), on_a.join().unwrap()];
        stop.store(true, Ordering::SeqCst);
        page_a.join().unwrap();
        outcomes
    });
    assert!(outcomes.contains(&Outcome::Done), "{outcomes:?}");
    assert!(
        outcomes.contains(&Outcome::AlreadyDecided(state::RELEASED.into()))
            || outcomes.contains(&Outcome::AlreadyDecided(state::BUSY.into())),
        "{outcomes:?}"
    );
    assert_eq!(ran(dir.path(), "mx-a"), "release AAA1\n");
    assert_eq!(ran(dir.path(), "mx-b"), "");
    assert_eq!(b.store().get(id).unwrap().unwrap().state, state::RELEASED);

    // Discarded on B with no page running on A: handed over, done when
    // A's page next runs.
    let id = hold(&a, "AAA2");
    let outcome = std::thread::scope(|s| {
        let on_b = s.spawn(|| b.discard(id, &Actor::Sender, "", maillint::hold::now()));
        while b.store().get(id).unwrap().unwrap().state != state::BUSY {
            std::thread::yield_now();
        }
        assert_eq!(a.carry_out_requests(maillint::hold::now()), Ok(1));
        on_b.join().unwrap()
    });
    assert_eq!(outcome, Outcome::Done);
    assert_eq!(ran(dir.path(), "mx-a"), "release AAA1\ndiscard AAA2\n");
    assert_eq!(a.store().due(u64::MAX).unwrap(), []);

    // The audit log, shared: each line names the gateway that wrote it.
    let log = b.store().audit_log(0, 100).unwrap();
    let lines: Vec<String> = log
        .iter()
        .map(|e| {
            format!(
                "{} {} {}",
                e.seq,
                e.event,
                e.gateway.as_deref().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            "1 hold mx-a",
            "2 release mx-a",
            "3 hold mx-a",
            "4 discard mx-a"
        ]
    );
    assert_eq!(a.store().recent_audit(1).unwrap()[0].seq, 4);
    assert_eq!(a.store().list(None, 10).unwrap().len(), 2);
    assert_eq!(
        a.store().list(Some(state::DISCARDED), 10).unwrap()[0].id,
        id
    );

    // A gateway whose secret differs would make links other pages refuse.
    let other = dir.path().join("other-secret");
    std::fs::write(&other, [1u8; 32]).unwrap();
    let refused = Holder::new(HoldConfig {
        shared: Some(redis.url()),
        gateway: "mx-c".into(),
        secret_file: other,
        ..HoldConfig::default()
    });
    assert!(
        refused.is_err_and(|e| e.contains("secret_file differs")),
        "a different secret was accepted"
    );

    // Redis stopped: nothing is decided, nothing run; it says why.
    let id = hold(&a, "AAA3");
    redis.stop();
    let outcome = b.release(
        id,
        &Actor::Admin("ann".into()),
        "now",
        maillint::hold::now(),
    );
    assert!(matches!(outcome, Outcome::Unavailable(_)), "{outcome:?}");
    let outcome = a.discard(id, &Actor::Admin("ann".into()), "", maillint::hold::now());
    assert!(matches!(outcome, Outcome::Unavailable(_)), "{outcome:?}");
    assert!(a.carry_out_requests(maillint::hold::now()).is_err());
    assert_eq!(ran(dir.path(), "mx-a"), "release AAA1\ndiscard AAA2\n");
}

#[test]
fn an_administrators_session_opens_every_gateways_page() {
    if !available() {
        return;
    }
    let redis = Redis::start();
    let redis_url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    let a = gateway(dir.path(), "mx-a", &redis_url, &secret);
    let b = gateway(dir.path(), "mx-b", &redis_url, &secret);
    let (idle, lifetime) = (3600, 8 * 3600);

    // Signed in on A, known on B, by the token only.
    a.store()
        .open_session("tok", "ann", 1000, lifetime)
        .unwrap();
    assert_eq!(
        b.store().session("tok", 1100, idle, lifetime).unwrap(),
        Some("ann".to_string())
    );
    assert_eq!(
        b.store().session("other", 1100, idle, lifetime).unwrap(),
        None
    );
    // Each use moves the idle limit on; an hour unused ends it.
    assert!(
        a.store()
            .session("tok", 1100 + idle - 1, idle, lifetime)
            .unwrap()
            .is_some()
    );
    assert_eq!(
        a.store()
            .session("tok", 1100 + 2 * idle, idle, lifetime)
            .unwrap(),
        None
    );
    // However busy, a session ends with its lifetime.
    a.store()
        .open_session("long", "bob", 1000, lifetime)
        .unwrap();
    let mut now = 1000;
    while now < 1000 + lifetime - idle {
        now += idle - 1;
        assert!(
            b.store()
                .session("long", now, idle, lifetime)
                .unwrap()
                .is_some()
        );
    }
    assert_eq!(
        b.store()
            .session("long", 1000 + lifetime, idle, lifetime)
            .unwrap(),
        None
    );
    // Signing out on B ends it on A.
    a.store()
        .open_session("out", "ann", 1000, lifetime)
        .unwrap();
    b.store().close_session("out").unwrap();
    assert_eq!(
        a.store().session("out", 1001, idle, lifetime).unwrap(),
        None
    );
}
