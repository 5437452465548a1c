//! `maillint milter` with the real programs around it, all on 127.0.0.1:
//! a Postfix instance of the test's own (Debian's package, installed by
//! `.ci/run`) with its config and queue in a temp dir, delivering to an
//! SMTP sink in the test; a `redis-server` shared by two gateways; and
//! miltertest scripts for the protocol's edge cases.
//!
//! Without a program (or, for Postfix, without root) a test says SKIPPED
//! and passes locally; under CI=true that is a failure.
// A test: a failed unwrap is a failed run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use maillint::config::Config;
use maillint::milter::{Action, Envelope, Gateway as MilterGateway};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod decision_log;
use decision_log::Log;

const POSTFIX: &str = "/usr/sbin/postfix";
const REDIS: &str = "/usr/bin/redis-server";
const MILTERTEST: &str = "/usr/bin/miltertest";

/// Whether `program` can be run here (as root, for Postfix); panics under
/// CI when it cannot.
fn available(program: &str, needs_root: bool) -> bool {
    let missing = if !Path::new(program).exists() {
        Some(format!("{program} is not installed (.ci/run installs it)"))
    } else if needs_root && !is_root() {
        Some(format!("{program} must be started as root"))
    } else {
        None
    };
    match missing {
        None => true,
        Some(why) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{why}; CI runs these tests")
        }
        Some(why) => {
            eprintln!("SKIPPED: {why}");
            false
        }
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// A free loopback port (bound and released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An SMTP server on loopback that keeps every message it is given.
struct Sink {
    port: u16,
    messages: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Sink {
    fn start() -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&messages);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let kept = Arc::clone(&kept);
                std::thread::spawn(move || _ = serve_sink(stream, &kept));
            }
        });
        Sink { port, messages }
    }

    /// The message whose Message-ID is `id`, once delivered (up to 30 s).
    fn wait_for(&self, id: &str) -> Option<Vec<u8>> {
        let needle = format!("Message-ID: {id}\r\n");
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(m) = self
                .messages
                .lock()
                .unwrap()
                .iter()
                .find(|m| m.windows(needle.len()).any(|w| w == needle.as_bytes()))
            {
                return Some(m.clone());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

fn serve_sink(stream: TcpStream, kept: &Mutex<Vec<Vec<u8>>>) -> std::io::Result<()> {
    let mut out = stream.try_clone()?;
    let mut lines = BufReader::new(stream);
    out.write_all(b"220 sink ESMTP\r\n")?;
    let mut line = Vec::new();
    loop {
        line.clear();
        if lines.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
        match &verb[..] {
            b"EHLO" => out.write_all(b"250-sink\r\n250 8BITMIME\r\n")?,
            b"DATA" => {
                out.write_all(b"354 go on\r\n")?;
                let mut data = Vec::new();
                loop {
                    line.clear();
                    lines.read_until(b'\n', &mut line)?;
                    if line == b".\r\n" || line.is_empty() {
                        break;
                    }
                    let unstuffed = line.strip_prefix(b".").unwrap_or(&line);
                    data.extend_from_slice(unstuffed);
                }
                kept.lock().unwrap().push(data);
                out.write_all(b"250 kept\r\n")?;
            }
            b"QUIT" => return out.write_all(b"221 bye\r\n"),
            _ => out.write_all(b"250 ok\r\n")?,
        }
    }
}

/// A Postfix instance and a milter, stopped when dropped.
struct Postfix {
    dir: tempfile::TempDir,
    smtp_port: u16,
    milter: Option<Child>,
}

impl Postfix {
    /// Postfix on a free port relaying everything to `sink`, with the
    /// milter configured by `maillint_toml`.
    fn start(maillint_toml: &str, sink: &Sink) -> Postfix {
        Postfix::start_with(Some(maillint_toml), sink)
    }

    /// Postfix without a milter (`None`), or with one configured so.
    fn start_with(maillint_toml: Option<&str>, sink: &Sink) -> Postfix {
        let dir = tempfile::TempDir::new().unwrap();
        let root = dir.path();
        // Postfix's own user must reach the queue inside the temp dir.
        chmod(root, 0o755);
        for sub in ["conf", "queue", "data"] {
            std::fs::create_dir(root.join(sub)).unwrap();
        }
        run(Command::new("chown").arg("postfix").arg(root.join("data")));
        let milter_port = free_port();
        let smtp_port = free_port();
        let milter = maillint_toml.map(|toml| {
            let config = root.join("maillint.toml");
            std::fs::write(&config, toml).unwrap();
            let milter = Command::new(env!("CARGO_BIN_EXE_maillint"))
                .env("XDG_DATA_HOME", root.join("no-data"))
                .args([
                    "milter",
                    "--listen",
                    &format!("inet:127.0.0.1:{milter_port}"),
                ])
                .arg("--config")
                .arg(&config)
                .stderr(std::fs::File::create(root.join("milter.log")).unwrap())
                .spawn()
                .unwrap();
            wait_for_port(milter_port);
            milter
        });
        let milters = if milter.is_some() {
            format!("smtpd_milters = inet:127.0.0.1:{milter_port}\n")
        } else {
            String::new()
        };
        let r = root.display();
        std::fs::write(
            root.join("conf/main.cf"),
            format!(
                "compatibility_level = 3.6
queue_directory = {r}/queue
data_directory = {r}/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = gateway.example.org
mydomain = example.org
myorigin = example.org
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
relayhost = [127.0.0.1]:{sink}
smtp_dns_support_level = disabled
alias_maps =
alias_database =
maillog_file_prefixes = {r}
maillog_file = {r}/maillog
milter_default_action = tempfail
{milters}",
                sink = sink.port
            ),
        )
        .unwrap();
        std::fs::write(
            root.join("conf/master.cf"),
            format!(
                "127.0.0.1:{smtp_port} inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
"
            ),
        )
        .unwrap();
        let gateway = Postfix {
            dir,
            smtp_port,
            milter,
        };
        run(Command::new(POSTFIX)
            .arg("-c")
            .arg(gateway.conf())
            .arg("start"));
        wait_for_port(smtp_port);
        gateway
    }

    fn conf(&self) -> PathBuf {
        self.dir.path().join("conf")
    }

    /// Queue ids in the hold queue.
    fn held(&self) -> Vec<serde_json::Value> {
        let out = Command::new("/usr/sbin/postqueue")
            .arg("-c")
            .arg(self.conf())
            .arg("-j")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|m| m["queue_name"] == "hold")
            .collect()
    }

    fn milter_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("milter.log")).unwrap_or_default()
    }

    fn maillog(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("maillog")).unwrap_or_default()
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        _ = Command::new(POSTFIX)
            .arg("-c")
            .arg(self.conf())
            .arg("stop")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if let Some(milter) = &mut self.milter {
            _ = milter.kill();
            _ = milter.wait();
        }
    }
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn run(command: &mut Command) {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{command:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends one message over SMTP; the server's reply to the end of DATA (or
/// to the first command it refused), code and text.
fn submit(port: u16, sender: &str, recipients: &[&str], message: &str) -> (u16, String) {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut out = stream.try_clone().unwrap();
    let mut lines = BufReader::new(stream);
    let mut reply = || -> (u16, String) {
        let mut text = String::new();
        loop {
            let mut line = String::new();
            lines.read_line(&mut line).unwrap();
            text.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return (line[..3].parse().unwrap(), text);
            }
        }
    };
    reply();
    let mut command = |line: String| {
        out.write_all(line.as_bytes()).unwrap();
        reply()
    };
    command("EHLO client.example.org\r\n".into());
    let mut steps = vec![format!("MAIL FROM:<{sender}>\r\n")];
    steps.extend(recipients.iter().map(|r| format!("RCPT TO:<{r}>\r\n")));
    steps.push("DATA\r\n".into());
    for step in steps {
        let (code, text) = command(step);
        if code >= 400 {
            return (code, text);
        }
    }
    let mut data = String::new();
    for line in message.split_inclusive('\n') {
        let line = line.trim_end_matches(['\r', '\n']);
        if line.starts_with('.') {
            data.push('.');
        }
        data.push_str(line);
        data.push_str("\r\n");
    }
    data.push_str(".\r\n");
    let result = command(data);
    command("QUIT\r\n".into());
    result
}

/// The message as delivered, without the Received header Postfix put on top.
fn without_received(delivered: &[u8]) -> String {
    let text = String::from_utf8_lossy(delivered).into_owned();
    let mut rest = text.as_str();
    while rest.starts_with("Received:") {
        let end = rest.find("\r\n").unwrap() + 2;
        rest = &rest[end..];
        while rest.starts_with([' ', '\t']) {
            let end = rest.find("\r\n").unwrap() + 2;
            rest = &rest[end..];
        }
    }
    rest.to_string()
}

const CONFIG: &str = r#"
[organization]
domains = ["example.org"]

[milter]
warning = "quarantine"
"#;

fn crlf(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\n', "\r\n")
}

fn cc_exposure(id: &str, sender: &str) -> String {
    let cc: Vec<String> = (0..60)
        .map(|i| format!("Person {i} <person{i}@company{}.example>", i % 7))
        .collect();
    crlf(&format!(
        "From: {sender}\nTo: {sender}\nCc: {}\nSubject: Event\nMessage-ID: {id}\nDate: Mon, 18 Nov 2024 09:00:00 +0000\n\nSee you there, 100% sure.\n",
        cc.join(",\n ")
    ))
}

#[test]
fn postfix_gateway() {
    if !available(POSTFIX, true) {
        return;
    }
    let sink = Sink::start();
    let gateway = Postfix::start(CONFIG, &sink);
    let port = gateway.smtp_port;
    let context = || {
        format!(
            "milter log:\n{}\nmaillog:\n{}",
            gateway.milter_log(),
            gateway.maillog()
        )
    };

    // A clean message goes out byte for byte, 8-bit text and a dot line too.
    let clean = crlf(
        "From: Jane <jane@example.org>\nTo: Bob <bob@partner.example>\nSubject: Minutes\nMessage-ID: <clean@example.org>\nDate: Mon, 18 Nov 2024 09:00:00 +0000\nContent-Type: text/plain; charset=utf-8\n\nHello Bob, café minutes below.\n.\n..leading dots\n",
    );
    let (code, text) = submit(port, "jane@example.org", &["bob@partner.example"], &clean);
    assert_eq!(code, 250, "{text}\n{}", context());
    let delivered = sink
        .wait_for("<clean@example.org>")
        .unwrap_or_else(|| panic!("{}", context()));
    assert_eq!(without_received(&delivered), clean);

    // A Cc exposure is refused, the finding in the reply the client sees.
    let (code, text) = submit(
        port,
        "jane@example.org",
        &["person1@company1.example"],
        &cc_exposure("<exposed@example.org>", "jane@example.org"),
    );
    assert_eq!(code, 550, "{text}\n{}", context());
    assert!(text.starts_with("550-5.7.1 Message not sent"), "{text}");
    assert!(
        text.contains("550-5.7.1 error [cc-exposure]: 60 external addresses"),
        "{text}"
    );

    // Inbound mail passes untouched, however it looks.
    let inbound = cc_exposure("<inbound@elsewhere.example>", "someone@elsewhere.example");
    let (code, text) = submit(
        port,
        "someone@elsewhere.example",
        &["jane@example.org"],
        &inbound,
    );
    assert_eq!(code, 250, "{text}\n{}", context());
    let delivered = sink
        .wait_for("<inbound@elsewhere.example>")
        .unwrap_or_else(|| panic!("{}", context()));
    assert_eq!(without_received(&delivered), inbound);

    // A warning (an all-staff list) is quarantined: it sits in the hold queue.
    let all_staff = crlf(
        "From: Jane <jane@example.org>\nTo: All Staff <all-staff@example.org>\nSubject: Open enrolment closes Friday\nMessage-ID: <held@example.org>\nDate: Mon, 18 Nov 2024 09:00:00 +0000\n\nHi everyone, open enrolment closes on Friday.\n",
    );
    let (code, text) = submit(
        port,
        "jane@example.org",
        &["all-staff@example.org"],
        &all_staff,
    );
    assert_eq!(code, 250, "{text}\n{}", context());
    let held = gateway.held();
    assert_eq!(held.len(), 1, "{held:?}\n{}", context());
    assert_eq!(held[0]["recipients"][0]["address"], "all-staff@example.org");

    // Bcc-only recipients exist only in the envelope, and are judged there.
    let to_self = crlf(
        "From: Jane <jane@example.org>\nTo: Jane <jane@example.org>\nSubject: Open enrolment closes Friday\nMessage-ID: <bcc@example.org>\nDate: Mon, 18 Nov 2024 09:00:00 +0000\n\nHi everyone, open enrolment closes on Friday.\n",
    );
    let (code, _) = submit(
        port,
        "jane@example.org",
        &["jane@example.org", "all-staff@example.org"],
        &to_self,
    );
    assert_eq!(code, 250);
    assert_eq!(gateway.held().len(), 2, "{}", context());
    let (code, _) = submit(
        port,
        "jane@example.org",
        &["jane@example.org"],
        &to_self.replace("<bcc@", "<self@"),
    );
    assert_eq!(code, 250);
    assert!(
        sink.wait_for("<self@example.org>").is_some(),
        "the same message to herself only goes out"
    );
    let log = gateway.milter_log();
    assert!(
        log.contains(r#"message_id="<bcc@example.org>" sender="j•••@example.org" recipients=2 rules="mass-list"#),
        "{log}"
    );

    // One decision line per message, the sender masked.
    assert_eq!(log.matches("action=").count(), 6, "{log}");
    assert!(!log.contains("jane@example.org"), "{log}");
}

/// A `redis-server` of the test's own on a loopback port, stopped when
/// dropped.
struct Redis {
    port: u16,
    server: Child,
}

impl Redis {
    fn start() -> Redis {
        let port = free_port();
        let server = Command::new(REDIS)
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_port(port);
        Redis { port, server }
    }

    fn stop(&mut self) {
        _ = self.server.kill();
        _ = self.server.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

fn reply_all(sender: &str, root: &str, subject: &str) -> Vec<u8> {
    format!(
        "From: {sender}\r\nTo: Everyone <everyone@example.org>\r\nSubject: Re: {subject}\r\nIn-Reply-To: {root}\r\nReferences: {root}\r\nMessage-ID: <{}@example.org>\r\n\r\nPlease remove me from this list.\r\n",
        sender.replace('@', ".")
    )
    .into_bytes()
}

fn envelope(sender: &str) -> Envelope {
    Envelope {
        sender: sender.to_string(),
        recipients: vec!["everyone@example.org".into()],
        ..Envelope::default()
    }
}

#[test]
fn a_storm_started_through_one_gateway_is_stopped_on_the_other() {
    if !available(REDIS, false) {
        return;
    }
    let mut redis = Redis::start();
    let config = format!(
        "[organization]\ndomains = [\"example.org\"]\n[rules.reply-all-to-list]\nseverity = \"warning\"\n[storm]\nstore = \"redis://127.0.0.1:{}\"\nsender_limit_per_hour = 0\n[history]\nindex = \"/nonexistent/history.sqlite\"\n",
        redis.port
    );
    let log = Log::default();
    let gateway = |log: &Log| {
        MilterGateway::new(
            Config::parse(&config, "maillint.toml").unwrap(),
            Box::new(log.clone()),
        )
        .unwrap()
    };
    let (one, two) = (gateway(&log), gateway(&log));
    let judge = |gateway: &MilterGateway, sender: &str, root: &str| {
        let subject = if root == "<root@example.org>" {
            "Test"
        } else {
            "Lunch"
        };
        gateway.judge(reply_all(sender, root, subject), &envelope(sender))
    };

    // Reply-all to a list only warns here, so each reply goes out (tagged)
    // until the storm rule stops them.
    let first = judge(&one, "a@example.org", "<root@example.org>");
    assert_eq!(first.action, Action::Tag, "{first:?}");
    let second = judge(&two, "b@example.org", "<root@example.org>");
    assert!(!second.rules.contains(&"storm".to_string()), "{second:?}");
    let third = judge(&one, "c@example.org", "<root@example.org>");
    assert_eq!(third.action, Action::Reject, "{third:?}");
    assert_eq!(third.rules[0], "storm");
    assert!(third.lines[0].contains("Reply-all storm"), "{third:?}");
    let fourth = judge(&two, "d@example.org", "<root@example.org>");
    assert_eq!(
        fourth.action,
        Action::Reject,
        "blocked on the other gateway too: {fourth:?}"
    );
    let other_thread = judge(&two, "d@example.org", "<other@example.org>");
    assert!(!other_thread.rules.contains(&"storm".to_string()));

    // Redis goes away: mail keeps flowing (fail open), without waiting,
    // and the log says why.
    redis.stop();
    let started = Instant::now();
    for sender in ["e@example.org", "f@example.org", "g@example.org"] {
        let decision = judge(&two, sender, "<root@example.org>");
        assert!(
            !decision.rules.contains(&"storm".to_string()),
            "{decision:?}"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let text = log.text();
    assert!(text.contains("warning: storm store:"), "{text}");
    assert!(
        text.contains("handled as on_store_error = accept"),
        "{text}"
    );
}

#[test]
fn miltertest_edge_cases() {
    if !available(MILTERTEST, false) {
        return;
    }
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/miltertest");
    let dir = tempfile::TempDir::new().unwrap();
    let port = free_port();
    let log_path = dir.path().join("milter.log");
    let mut milter = Command::new(env!("CARGO_BIN_EXE_maillint"))
        .env("XDG_DATA_HOME", dir.path().join("no-data"))
        .args(["milter", "--listen", &format!("inet:127.0.0.1:{port}")])
        .arg("--config")
        .arg(scripts.join("maillint.toml"))
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    wait_for_port(port);
    let mut failures = Vec::new();
    for script in [
        "many_chunks",
        "no_body",
        "header_folding",
        "abort",
        "oversized",
    ] {
        let out = Command::new(MILTERTEST)
            .arg("-D")
            .arg(format!("port={port}"))
            .arg("-D")
            .arg(format!("dir={}", scripts.display()))
            .arg("-s")
            .arg(scripts.join(format!("{script}.lua")))
            .output()
            .unwrap();
        if !out.status.success() {
            failures.push(format!(
                "{script}.lua: {}\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    _ = milter.kill();
    _ = milter.wait();
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        failures.is_empty(),
        "{}\nmilter log:\n{log}",
        failures.join("\n")
    );
    for expected in [
        r#"queue_id="CHUNKS" message_id="<clean@example.org>" sender="j•••@example.org" recipients=1 rules="external-recipients" action=accept"#,
        r#"queue_id="NOBODY" message_id="<nobody@example.org>" sender="j•••@example.org" recipients=1 rules="mass-list" action=tag"#,
        r#"queue_id="FOLDED" message_id="<folded@example.org>" sender="j•••@example.org" recipients=1 rules="cc-exposure,external-recipients" action=reject"#,
        r#"queue_id="AFTER" message_id="<clean@example.org>" sender="j•••@example.org" recipients=1 rules="external-recipients" action=accept"#,
        r#"queue_id="OVERSIZE" message_id="<clean@example.org>" sender="j•••@example.org" recipients=1 rules="" action=accept fault="message larger than 64 KB""#,
    ] {
        assert!(log.contains(expected), "{expected}\nnot in:\n{log}");
    }
    let aborted: Vec<&str> = log.lines().filter(|l| l.contains("ABORTED")).collect();
    assert_eq!(
        aborted,
        [
            "maillint milter: the MTA abandoned a message in the middle of its content (the client disconnected or the MTA refused it) (message queue_id=ABORTED sender=j•••@example.org)"
        ],
        "an aborted message is logged, without a decision"
    );
}

/// Per-message latency through Postfix with and without the milter, and
/// throughput with several clients at once. A benchmark, not a test:
/// `cargo test --release --test gateway -- --ignored --nocapture load`.
#[test]
#[ignore = "a benchmark; run with --release --ignored --nocapture"]
fn load_through_postfix() {
    if !available(POSTFIX, true) {
        return;
    }
    const SEQUENTIAL: usize = 1000;
    const CLIENTS: usize = 8;
    const PER_CLIENT: usize = 500;
    let message = |i: usize| {
        crlf(&format!(
            "From: Jane <jane@example.org>\nTo: Bob <bob@partner.example>\nCc: Ann <ann@example.org>\nSubject: Minutes {i}\nMessage-ID: <load{i}@example.org>\nDate: Mon, 18 Nov 2024 09:00:00 +0000\n\nHello Bob,\n\nthe minutes of meeting {i} are below; the actions are on page 2.\n{}",
            "A line of ordinary text in the body of an ordinary message.\n".repeat(40)
        ))
    };
    for milter in [None, Some(CONFIG)] {
        let sink = Sink::start();
        let postfix = Postfix::start_with(milter, &sink);
        let port = postfix.smtp_port;
        // Warm up (processes started, maillint's patterns compiled).
        for i in 0..20 {
            assert_eq!(
                submit(
                    port,
                    "jane@example.org",
                    &["bob@partner.example"],
                    &message(i)
                )
                .0,
                250
            );
        }
        let mut latencies: Vec<Duration> = (0..SEQUENTIAL)
            .map(|i| {
                let text = message(i);
                let started = Instant::now();
                let (code, reply) =
                    submit(port, "jane@example.org", &["bob@partner.example"], &text);
                assert_eq!(code, 250, "{reply}");
                started.elapsed()
            })
            .collect();
        latencies.sort();
        let started = Instant::now();
        std::thread::scope(|scope| {
            for client in 0..CLIENTS {
                let message = &message;
                scope.spawn(move || {
                    for i in 0..PER_CLIENT {
                        let text = message(100_000 + client * PER_CLIENT + i);
                        assert_eq!(
                            submit(port, "jane@example.org", &["bob@partner.example"], &text).0,
                            250
                        );
                    }
                });
            }
        });
        let rate = (CLIENTS * PER_CLIENT) as f64 / started.elapsed().as_secs_f64();
        let at =
            |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize].as_secs_f64() * 1000.0;
        println!(
            "{}: {SEQUENTIAL} messages one after another, SMTP transaction p50 {:.2} ms, p99 {:.2} ms; {CLIENTS} clients: {rate:.0} messages/s accepted",
            if milter.is_some() {
                "with maillint milter"
            } else {
                "without milter"
            },
            at(0.5),
            at(0.99),
        );
    }
}
