//! The history shared between gateways, against a real `redis-server`
//! (Debian's, installed by `.ci/run`) on a loopback port of the test's
//! own: two indexes stand for two gateways. A message learned on one is
//! learned on the other, once however often its record comes; a reader
//! started again goes on where it stopped; records kept while Redis is
//! down arrive when it is back; a hashed index puts no address into
//! Redis; forgetting reaches the other index and leaves nothing in Redis.
//! And through two real Postfix servers, each with a `maillint milter` of
//! its own and its own index: a message that left through one makes its
//! recipient familiar on the other.
//!
//! Without redis-server a test says SKIPPED and passes locally; under
//! CI=true that is a failure.
// A test: a failed unwrap is a failed run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use maillint::config::HistoryConfig;
use maillint::history::{History, Kept, Shared, learn_record_or_keep};
use maillint::message::parse_rfc5322;
use maillint::milter::share::Sharing;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

mod postfix;
mod redis;
use postfix::{POSTFIX, Postfix, Sink, submit_letter, wait_until_learned};
use redis::{Redis, available};

const MAILLINT: &str = env!("CARGO_BIN_EXE_maillint");

/// A redis-server of the test's own and a directory for the indexes;
/// `None` (the test skipped) without redis-server.
fn start() -> Option<(Redis, tempfile::TempDir)> {
    available().then(|| (Redis::start(), tempfile::tempdir().unwrap()))
}

/// `f`'s answer once Redis answers it (a Redis that failed is left alone
/// for a second), within 20 s.
fn once_answered<T>(f: impl Fn() -> Result<T, String>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match f() {
            Ok(answer) => return answer,
            Err(e) => assert!(Instant::now() < deadline, "Redis never answered again: {e}"),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

const KEY: [u8; 16] = *b"0123456789abcdef";

/// One gateway: its own index and its link to the shared history.
struct Gateway {
    index: std::path::PathBuf,
    history: History,
    sharing: Sharing,
}

impl Gateway {
    fn new(dir: &Path, name: &str, redis: &Redis, key: Option<[u8; 16]>) -> Gateway {
        Gateway::with(dir, name, &settings(redis), key)
    }

    fn with(dir: &Path, name: &str, settings: &HistoryConfig, key: Option<[u8; 16]>) -> Gateway {
        let index = dir.join(format!("{name}.sqlite"));
        let history = History::create(&index).unwrap().with_hash_key(key).unwrap();
        Gateway {
            index,
            history,
            sharing: Sharing::new(settings).unwrap().unwrap(),
        }
    }

    /// A message from `sender` to `to` leaves through this gateway: learned
    /// here and queued for the others.
    fn send(&self, sender: &str, to: &str, n: u32) -> Shared {
        let raw = format!(
            "From: {sender}\nTo: Jane Smith <{to}>\nSubject: report\nMessage-ID: <{n}@gw.example.org>\n\nHello\n"
        );
        let message = parse_rfc5322(raw.as_bytes(), 1).unwrap();
        // As the gateway's learner does when a message leaves.
        let record =
            self.history
                .for_sender(sender)
                .record(&message, String::new, SystemTime::now());
        assert_eq!(
            learn_record_or_keep(&self.history, &record),
            Ok(Kept::Learned)
        );
        let shared = Shared::sent(&self.history, &record);
        self.sharing.publish(&shared);
        shared
    }

    fn count(&self, sender: &str, to: &str) -> u64 {
        self.history
            .for_sender(sender)
            .known(to)
            .map_or(0, |k| k.count)
    }
}

fn settings(redis: &Redis) -> HistoryConfig {
    HistoryConfig {
        shared: Some(redis.url()),
        shared_key_prefix: Some("test:history:".into()),
        ..HistoryConfig::default()
    }
}

/// Every value Redis holds, as text: each key and each stream entry's fields.
fn everything_in(redis: &Redis) -> String {
    let client = ::redis::Client::open(redis.url()).unwrap();
    let mut c = client.get_connection().unwrap();
    let mut all = String::new();
    for key in redis.keys() {
        all.push_str(&key);
        let entries: Vec<(String, Vec<(String, String)>)> = ::redis::cmd("XRANGE")
            .arg(&key)
            .arg("-")
            .arg("+")
            .query(&mut c)
            .unwrap();
        for (id, fields) in entries {
            all.push_str(&format!("\n{id}"));
            for (name, value) in fields {
                all.push_str(&format!(" {name}={value}"));
            }
        }
    }
    all
}

/// Records in the stream.
fn stream_length(redis: &Redis) -> u64 {
    let client = ::redis::Client::open(redis.url()).unwrap();
    let mut c = client.get_connection().unwrap();
    ::redis::cmd("XLEN")
        .arg("test:history:stream")
        .query(&mut c)
        .unwrap()
}

#[test]
fn a_message_learned_on_one_gateway_is_learned_on_the_other_once() {
    let Some((redis, dir)) = start() else {
        return;
    };
    let (one, two) = (
        Gateway::new(dir.path(), "one", &redis, None),
        Gateway::new(dir.path(), "two", &redis, None),
    );
    let record = one.send("alice@example.org", "jane@agency.example", 1);
    assert_eq!(one.sharing.flush(), Ok(1));
    let applied = two.sharing.pull(&two.history, None).unwrap();
    assert_eq!((applied.learned, applied.known), (1, 0));
    assert_eq!(two.count("alice@example.org", "jane@agency.example"), 1);
    assert_eq!(
        two.count("bob@example.org", "jane@agency.example"),
        0,
        "another sender's history"
    );
    // The same record again (a gateway that sent it twice), and the first
    // gateway reading its own: each message learned once.
    one.sharing.publish(&record);
    one.sharing.flush().unwrap();
    let applied = two.sharing.pull(&two.history, None).unwrap();
    assert_eq!((applied.learned, applied.known), (0, 1));
    assert_eq!(two.count("alice@example.org", "jane@agency.example"), 1);
    let applied = one.sharing.pull(&one.history, None).unwrap();
    assert_eq!((applied.learned, applied.known), (0, 2));
    assert_eq!(one.count("alice@example.org", "jane@agency.example"), 1);
}

#[test]
fn a_reader_started_again_goes_on_where_it_stopped() {
    let Some((redis, dir)) = start() else {
        return;
    };
    let one = Gateway::new(dir.path(), "one", &redis, None);
    let two = Gateway::new(dir.path(), "two", &redis, None);
    for n in 1..=3 {
        one.send("alice@example.org", &format!("p{n}@agency.example"), n);
    }
    one.sharing.flush().unwrap();
    assert_eq!(two.sharing.pull(&two.history, None).unwrap().learned, 3);
    let index = two.index.clone();
    drop(two);
    one.send("alice@example.org", "p4@agency.example", 4);
    one.sharing.flush().unwrap();
    let two = Gateway {
        history: History::create(&index).unwrap(),
        sharing: Sharing::new(&settings(&redis)).unwrap().unwrap(),
        index,
    };
    let applied = two.sharing.pull(&two.history, None).unwrap();
    assert_eq!(
        (applied.learned, applied.known),
        (1, 0),
        "only the record it had not read"
    );
    assert_eq!(two.count("alice@example.org", "p4@agency.example"), 1);
    assert!(!two.sharing.missed(&two.history).unwrap());
}

#[test]
fn records_kept_while_redis_is_down_arrive_when_it_is_back() {
    let Some((mut redis, dir)) = start() else {
        return;
    };
    let one = Gateway::new(dir.path(), "one", &redis, None);
    let two = Gateway::new(dir.path(), "two", &redis, None);
    one.send("alice@example.org", "before@agency.example", 1);
    one.sharing.flush().unwrap();
    two.sharing.pull(&two.history, None).unwrap();
    redis.stop();
    // Learning here goes on; the records wait.
    one.send("alice@example.org", "during@agency.example", 2);
    one.send("alice@example.org", "during2@agency.example", 3);
    assert_eq!(one.count("alice@example.org", "during@agency.example"), 1);
    assert!(one.sharing.flush().is_err());
    assert_eq!(one.sharing.waiting(), 2);
    assert!(two.sharing.pull(&two.history, None).is_err());
    redis.restart();
    // A Redis that failed is left alone for a second: try until it answers.
    once_answered(|| one.sharing.flush());
    assert_eq!(one.sharing.waiting(), 0);
    let applied = once_answered(|| two.sharing.pull(&two.history, None));
    assert_eq!(applied.learned, 2);
    assert_eq!(two.count("alice@example.org", "during2@agency.example"), 1);
}

#[test]
fn a_full_queue_drops_its_oldest_records() {
    let Some((mut redis, dir)) = start() else {
        return;
    };
    let settings = HistoryConfig {
        shared_backlog: Some(2),
        ..settings(&redis)
    };
    let one = Gateway::with(dir.path(), "one", &settings, None);
    let two = Gateway::with(dir.path(), "two", &settings, None);
    redis.stop();
    for n in 1..=3 {
        one.send("alice@example.org", &format!("p{n}@agency.example"), n);
    }
    assert_eq!(one.sharing.waiting(), 2);
    assert_eq!(one.sharing.take_dropped(), 1);
    redis.restart();
    once_answered(|| one.sharing.flush());
    two.sharing.pull(&two.history, None).unwrap();
    assert_eq!(two.count("alice@example.org", "p1@agency.example"), 0);
    assert_eq!(two.count("alice@example.org", "p3@agency.example"), 1);
}

#[test]
fn a_hashed_history_puts_no_address_or_name_into_redis() {
    let Some((redis, dir)) = start() else {
        return;
    };
    let one = Gateway::new(dir.path(), "one", &redis, Some(KEY));
    let two = Gateway::new(dir.path(), "two", &redis, Some(KEY));
    let clear = Gateway::new(dir.path(), "clear", &redis, None);
    one.send("alice@example.org", "jane.smith@agency.example", 1);
    one.sharing.flush().unwrap();
    let held = everything_in(&redis);
    assert!(held.contains("test:history:stream"), "{held}");
    for plain in [
        "@",
        "alice",
        "example",
        "jane",
        "smith",
        "agency",
        "Jane Smith",
    ] {
        assert!(
            !held.to_lowercase().contains(&plain.to_lowercase()),
            "{plain} in Redis: {held}"
        );
    }
    assert_eq!(two.sharing.pull(&two.history, None).unwrap().learned, 1);
    assert_eq!(
        two.count("alice@example.org", "jane.smith@agency.example"),
        1
    );
    // An index kept in clear does not mix hashed entries into its own.
    let applied = clear.sharing.pull(&clear.history, None).unwrap();
    assert_eq!((applied.learned, applied.refused), (0, 1));
    // Nor does the hashed index keep the sender in clear.
    assert!(
        !file_text(&two.index).contains("alice"),
        "the sender's key in clear"
    );
}

/// The index file's bytes as text, to look for what it must not hold.
fn file_text(path: &Path) -> String {
    let mut bytes = std::fs::read(path).unwrap();
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    if let Ok(more) = std::fs::read(wal) {
        bytes.extend(more);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn forgetting_reaches_the_other_gateway_and_leaves_nothing_in_redis() {
    let Some((redis, dir)) = start() else {
        return;
    };
    let one = Gateway::new(dir.path(), "one", &redis, Some(KEY));
    let two = Gateway::new(dir.path(), "two", &redis, Some(KEY));
    one.send("alice@example.org", "jane@agency.example", 1);
    one.send("alice@example.org", "tom@club.example", 2);
    one.send("bob@example.org", "tom@club.example", 3);
    one.sharing.flush().unwrap();
    two.sharing.pull(&two.history, None).unwrap();
    assert_eq!(two.count("alice@example.org", "jane@agency.example"), 1);

    // One correspondent, on gateway one: as `maillint learn --forget` does.
    assert!(one.history.forget("jane@agency.example").unwrap());
    let forget = Shared::forget_address(&one.history, "jane@agency.example");
    assert_eq!(one.sharing.forget(&forget), Ok(1));
    assert_eq!(
        stream_length(&redis),
        3,
        "two messages and the forget record"
    );
    let applied = two.sharing.pull(&two.history, None).unwrap();
    assert_eq!(applied.forgotten, 1);
    assert_eq!(two.count("alice@example.org", "jane@agency.example"), 0);
    assert_eq!(two.count("alice@example.org", "tom@club.example"), 1);

    // One sender's whole history.
    let forget = Shared::forget_sender(&one.history, "alice@example.org");
    assert_eq!(one.sharing.forget(&forget), Ok(1));
    two.sharing.pull(&two.history, None).unwrap();
    assert_eq!(two.count("alice@example.org", "tom@club.example"), 0);
    assert_eq!(two.count("bob@example.org", "tom@club.example"), 1);

    // A gateway that joins now learns bob's message only.
    let three = Gateway::new(dir.path(), "three", &redis, Some(KEY));
    three.sharing.pull(&three.history, None).unwrap();
    assert_eq!(three.count("bob@example.org", "tom@club.example"), 1);
    assert_eq!(three.count("alice@example.org", "tom@club.example"), 0);
    assert_eq!(three.count("alice@example.org", "jane@agency.example"), 0);
}

#[test]
fn a_gateway_away_for_longer_than_redis_keeps_records_knows_it() {
    let Some((redis, dir)) = start() else {
        return;
    };
    let settings = HistoryConfig {
        shared_max_records: Some(2),
        ..settings(&redis)
    };
    let one = Gateway::with(dir.path(), "one", &settings, None);
    let two = Gateway::with(dir.path(), "two", &settings, None);
    assert!(!two.sharing.missed(&two.history).unwrap(), "no stream yet");
    one.send("alice@example.org", "p1@agency.example", 1);
    one.sharing.flush().unwrap();
    two.sharing.pull(&two.history, None).unwrap();
    assert!(!two.sharing.missed(&two.history).unwrap());
    for n in 2..=4 {
        one.send("alice@example.org", &format!("p{n}@agency.example"), n);
    }
    one.sharing.flush().unwrap();
    assert_eq!(stream_length(&redis), 2);
    assert!(
        two.sharing.missed(&two.history).unwrap(),
        "p2 was dropped unread"
    );
    // A gateway that joins now finds records gone too; one up to date does not.
    let three = Gateway::with(dir.path(), "three", &settings, None);
    assert!(three.sharing.missed(&three.history).unwrap());
    one.sharing.pull(&one.history, None).unwrap();
    assert!(!one.sharing.missed(&one.history).unwrap());
}

#[test]
fn the_background_threads_carry_records_between_gateways() {
    let Some((redis, dir)) = start() else {
        return;
    };
    let one = Gateway::new(dir.path(), "one", &redis, None);
    let two = Gateway::new(dir.path(), "two", &redis, None);
    let lines = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log: Arc<dyn Fn(&str) + Send + Sync> = {
        let lines = Arc::clone(&lines);
        Arc::new(move |line: &str| lines.lock().unwrap().push(line.to_string()))
    };
    let (one_sharing, two_sharing) = (Arc::new(one.sharing), Arc::new(two.sharing));
    // Each reader applies with an index connection of its own.
    one_sharing
        .start(History::create(&one.index).unwrap(), log.clone())
        .unwrap();
    two_sharing
        .start(History::create(&two.index).unwrap(), log)
        .unwrap();
    let raw = "From: alice@example.org\nTo: jane@agency.example\nMessage-ID: <bg@x>\n\nx\n";
    let message = parse_rfc5322(raw.as_bytes(), 1).unwrap();
    let record = one.history.for_sender("alice@example.org").record(
        &message,
        String::new,
        SystemTime::now(),
    );
    learn_record_or_keep(&one.history, &record).unwrap();
    one_sharing.publish(&Shared::sent(&one.history, &record));
    let deadline = Instant::now() + Duration::from_secs(20);
    while two
        .history
        .for_sender("alice@example.org")
        .known("jane@agency.example")
        .is_none()
    {
        assert!(Instant::now() < deadline, "never learned on gateway two");
        std::thread::sleep(Duration::from_millis(20));
    }
    one_sharing.stop();
    two_sharing.stop();
    assert!(
        lines.lock().unwrap().is_empty(),
        "{:?}",
        lines.lock().unwrap()
    );
}

#[test]
fn a_message_out_through_one_gateway_is_familiar_on_the_other() {
    if !postfix::available(POSTFIX, true) {
        return;
    }
    let Some((redis, _dir)) = start() else {
        return;
    };
    // Warnings refused, so that the reply shows what the sender is told.
    let config = format!(
        "[organization]\ndomains = [\"example.org\"]\n[history]\nindex = \"@ROOT@/history/history.sqlite\"\nshared = \"{}\"\n[milter]\nwarning = \"reject\"\n",
        redis.url()
    );
    let sink = Sink::start();
    let one = Postfix::start(Path::new(MAILLINT), Some(&config), &sink);
    let two = Postfix::start(Path::new(MAILLINT), Some(&config), &sink);
    let context = || format!("server one:\n{}\nserver two:\n{}", one.logs(), two.logs());
    let index = |server: &Postfix| server.root().join("history/history.sqlite");
    let send = |server: &Postfix, to: &[&str], id: &str| {
        submit_letter(server.smtp_port, None, "alice@example.org", to, id)
    };
    let jane = "Jane Smith <jane.smith@agency.example>";
    let pat = "Pat Lee <pat@asiancup.example>";
    // Another pat@ elsewhere, so that Pat, new at a new organisation,
    // looks like autocomplete's slip (a warning) rather than a new contact
    // (an info); without a name, which name-mismatch would take for a
    // slip as well.
    let other_pat = "pat@agency.example";

    // Alice writes to Jane through gateway one; gateway two learns it.
    let (code, text) = send(&one, &[jane, other_pat], "<a1@example.org>");
    assert_eq!(code, 250, "{text}\n{}", context());
    wait_until_learned(
        &index(&two),
        "alice@example.org",
        "jane.smith@agency.example",
        1,
        &context,
    );

    // Through two, Jane is familiar (from one's message) and Pat new.
    let (code, text) = send(&two, &[jane, pat], "<a2@example.org>");
    assert_eq!(code, 550, "{text}\n{}", context());
    assert!(
        text.contains("you have never written to pat@asiancup.example (nor to anyone at asiancup.example); the other recipients are familiar: Jane Smith <jane.smith@agency.example> (once)"),
        "{text}"
    );

    // A message to Pat leaves through one: through two, Pat is familiar
    // now, and the message to both goes out without a new-recipient finding.
    let (code, text) = send(&one, &[pat], "<a3@example.org>");
    assert_eq!(code, 250, "{text}\n{}", context());
    wait_until_learned(
        &index(&two),
        "alice@example.org",
        "pat@asiancup.example",
        1,
        &context,
    );
    let (code, text) = send(&two, &[jane, pat], "<a4@example.org>");
    assert_eq!(code, 250, "{text}\n{}", context());
    assert!(sink.wait_for("<a4@example.org>").is_some(), "{}", context());
    let line = two.milter_log_line("<a4@example.org>");
    assert!(!line.contains("new-recipient"), "{line}");
    // And what two sent, one learned: each message once on each gateway
    // (the refused one on neither).
    for server in [&one, &two] {
        for address in ["pat@asiancup.example", "jane.smith@agency.example"] {
            wait_until_learned(&index(server), "alice@example.org", address, 2, &context);
        }
    }
    for server in [&one, &two] {
        let log = server.milter_log();
        assert!(
            !log.contains("history"),
            "nothing went wrong sharing: {log}"
        );
    }
}

#[test]
fn maillint_learn_forget_reaches_the_other_gateways() {
    let Some((mut redis, dir)) = start() else {
        return;
    };
    let one = Gateway::new(dir.path(), "one", &redis, None);
    let two = Gateway::new(dir.path(), "two", &redis, None);
    one.send("alice@example.org", "jane@agency.example", 1);
    one.sharing.flush().unwrap();
    two.sharing.pull(&two.history, None).unwrap();
    let config = dir.path().join("maillint.toml");
    std::fs::write(
        &config,
        format!(
            "[history]\nshared = \"{}\"\nshared_key_prefix = \"test:history:\"\n",
            redis.url()
        ),
    )
    .unwrap();
    let forget = |address: &str| {
        std::process::Command::new(MAILLINT)
            .arg("learn")
            .arg("--config")
            .arg(&config)
            .arg("--index")
            .arg(&one.index)
            .args(["--forget", address])
            .output()
            .unwrap()
    };
    let out = forget("jane@agency.example");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        said,
        "forgot jane@agency.example\nthe other gateways sharing the history forget it too; 1 record that named it was deleted from Redis\n"
    );
    assert_eq!(two.sharing.pull(&two.history, None).unwrap().forgotten, 1);
    assert_eq!(two.count("alice@example.org", "jane@agency.example"), 0);
    // Without Redis the command says the other gateways did not hear it.
    redis.stop();
    let out = forget("tom@club.example");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("forgotten in this index only; run it again when Redis answers"),
        "{err}"
    );
}
