//! Held mail end to end: `maillint milter` holding for confirmation in a
//! Postfix instance of the test's own (tests/postfix/), `maillint web`
//! deciding, and the sender's notification arriving at the test's SMTP
//! sink; then the pages in a real browser (Debian's chromium and
//! chromium-driver, driven by Python's selenium from
//! tests/browser/held_pages.py).
//!
//! Without a program (or, for Postfix, without root) a test says SKIPPED
//! and passes locally; under CI=true that is a failure.
// A test: a failed unwrap is a failed run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// `maillint web` is the feature `web`.
#![cfg(feature = "web")]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

mod postfix;
use postfix::{
    POSTFIX, Postfix, Sink, available, crlf, free_port, submit, wait_for_port, without_received,
};
mod redis;
use redis::{REDIS, Redis};

const MAILLINT: &str = env!("CARGO_BIN_EXE_maillint");

/// The gateway's configuration: warnings held for the sender's
/// confirmation, the page at `web_port`, Postfix's commands for the
/// instance in `@ROOT@`.
fn held_config(web_port: u16, expire: &str, admin_hash: &str) -> String {
    format!(
        r#"
[organization]
domains = ["example.org"]

[milter]
warning = "confirm"

[hold]
store = "@ROOT@/held.sqlite"
secret_file = "@ROOT@/secret"
url = "http://127.0.0.1:{web_port}/maillint"
help = "helpdesk@example.org"
from = "postmaster@example.org"
expire = "{expire}"
release_rules = {{ storm = "nobody" }}
sendmail = ["/usr/sbin/sendmail", "-C", "@ROOT@/conf"]
release_commands = [["/usr/sbin/postsuper", "-c", "@ROOT@/conf", "-H", "{{id}}"], ["/usr/sbin/postqueue", "-c", "@ROOT@/conf", "-i", "{{id}}"]]
discard_commands = [["/usr/sbin/postsuper", "-c", "@ROOT@/conf", "-d", "{{id}}"]]

[web]
listen = "127.0.0.1:{web_port}"
admins = {{ ann = "{admin_hash}" }}
"#
    )
}

/// `maillint web --hash-password` of `password`.
fn hash(password: &str) -> String {
    let out = assert_cmd::Command::new(MAILLINT)
        .args(["web", "--hash-password"])
        .write_stdin(format!("{password}\n"))
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// `maillint web` over `config`, stopped when dropped.
struct Web(Child);

impl Web {
    fn start(config: &Path, port: u16, log: &Path) -> Web {
        let child = Command::new(MAILLINT)
            .args(["web", "--config"])
            .arg(config)
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap();
        wait_for_port(port);
        Web(child)
    }
}

impl Drop for Web {
    fn drop(&mut self) {
        _ = self.0.kill();
        _ = self.0.wait();
    }
}

/// A response: status, headers (lowercased names), body.
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `name=value` of the cookie it sets.
    fn cookie(&self) -> String {
        let set = self.header("set-cookie").unwrap();
        set.split(';').next().unwrap().to_string()
    }

    /// The value of the first hidden `csrf` field.
    fn csrf(&self) -> String {
        let at = self.body.find("name=\"csrf\" value=\"").unwrap() + 19;
        self.body[at..].split('"').next().unwrap().to_string()
    }
}

/// One HTTP/1.1 request to the page on `port` with `cookie`; `form`
/// fields are posted.
fn http(port: u16, method: &str, path: &str, cookie: &str, form: &[(&str, &str)]) -> Response {
    http_with(port, method, path, &format!("Cookie: {cookie}\r\n"), form)
}

/// [`http`] with `headers` (whole lines).
fn http_with(
    port: u16,
    method: &str,
    path: &str,
    headers: &str,
    form: &[(&str, &str)],
) -> Response {
    let body: String = form
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{headers}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines.next().unwrap()[9..12].parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.to_string()))
        .collect();
    Response {
        status,
        headers,
        body: body.to_string(),
    }
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The sender's link in a notification: its path below the page's address.
fn link_in(notification: &[u8]) -> String {
    let text = String::from_utf8_lossy(notification);
    let at = text.find("/maillint/held/").unwrap();
    text[at + "/maillint".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// A message from Jane to the all-staff list (a warning), with `id`.
fn to_all_staff(id: &str, subject: &str) -> String {
    crlf(&format!(
        "From: Jane <jane@example.org>\nTo: All Staff <all-staff@example.org>\nSubject: {subject}\nMessage-ID: {id}\nDate: Mon, 18 Nov 2024 09:00:00 +0000\n\nHi everyone, open enrolment closes on Friday.\n"
    ))
}

/// Submits a warning; checks it is held and its sender notified; the
/// message and the notification.
fn hold(postfix: &Postfix, sink: &Sink, id: &str, subject: &str) -> (String, Vec<u8>) {
    let message = to_all_staff(id, subject);
    let (code, text) = submit(
        postfix.smtp_port,
        "jane@example.org",
        &["all-staff@example.org"],
        &message,
    );
    assert_eq!(code, 250, "{text}\n{}", postfix.logs());
    let notification = sink
        .wait_for_text(&format!("Subject: Held: {subject}"))
        .unwrap_or_else(|| panic!("no notification\n{}", postfix.logs()));
    (message, notification)
}

/// Waits until Postfix's queue has nothing left (held or not).
fn wait_for_empty_queue(postfix: &Postfix) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = Command::new("/usr/sbin/postqueue")
            .arg("-c")
            .arg(postfix.root().join("conf"))
            .arg("-j")
            .output()
            .unwrap();
        if out.stdout.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "queue not empty\n{}",
            postfix.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Signs Ann in; her session cookie.
fn sign_in(port: u16) -> String {
    let form = http(port, "GET", "/admin/login", "", &[]);
    let login = form.cookie();
    let csrf = form.csrf();
    let wrong = http(
        port,
        "POST",
        "/admin/login",
        &login,
        &[("csrf", &csrf), ("name", "ann"), ("password", "wrong")],
    );
    assert_eq!(wrong.status, 403);
    let signed_in = http(
        port,
        "POST",
        "/admin/login",
        &login,
        &[
            ("csrf", &csrf),
            ("name", "ann"),
            ("password", "correct horse"),
        ],
    );
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    signed_in.cookie()
}

#[test]
fn held_mail_is_released_or_discarded_once() {
    if !available(POSTFIX, true) {
        return;
    }
    let sink = Sink::start();
    let web_port = free_port();
    let config = held_config(web_port, "1h", &hash("correct horse"));
    let postfix = Postfix::start(Path::new(MAILLINT), Some(&config), &sink);
    let web = Web::start(
        &postfix.root().join("maillint.toml"),
        web_port,
        &postfix.root().join("web.log"),
    );

    // Held, and the sender told what was found, with a working link.
    let (message, notification) = hold(&postfix, &sink, "<one@example.org>", "Enrolment");
    assert_eq!(postfix.held().len(), 1, "{}", postfix.logs());
    let text = String::from_utf8_lossy(&notification);
    assert!(text.contains("To: jane@example.org"), "{text}");
    assert!(text.contains("all-staff@example.org"), "{text}");
    assert!(text.contains("[mass-list]"), "{text}");
    assert!(text.contains("Questions: helpdesk@example.org"), "{text}");
    let link = link_in(&notification);
    let page = http(web_port, "GET", &link, "", &[]);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Enrolment"));
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));

    // Without its form token, refused; without a reason, not sent.
    let forged = http(
        web_port,
        "POST",
        &link,
        "",
        &[("action", "release"), ("reason", "x")],
    );
    assert_eq!(forged.status, 403);
    let csrf = page.csrf();
    let no_reason = http(
        web_port,
        "POST",
        &link,
        "",
        &[("csrf", &csrf), ("action", "release"), ("reason", " ")],
    );
    assert_eq!(no_reason.status, 422);
    assert_eq!(postfix.held().len(), 1);

    // Released with a reason: delivered once, as it was sent.
    let sent = http(
        web_port,
        "POST",
        &link,
        "",
        &[
            ("csrf", &csrf),
            ("action", "release"),
            ("reason", "the list is meant to see it"),
        ],
    );
    assert_eq!(sent.status, 200, "{}", sent.body);
    let delivered = sink
        .wait_for("<one@example.org>")
        .unwrap_or_else(|| panic!("{}", postfix.logs()));
    assert_eq!(without_received(&delivered), message);
    // The link works once.
    let reused = http(web_port, "GET", &link, "", &[]);
    assert_eq!(reused.status, 410);
    let reposted = http(
        web_port,
        "POST",
        &link,
        "",
        &[("csrf", &csrf), ("action", "release"), ("reason", "again")],
    );
    assert_eq!(reposted.status, 410);

    // Discarded by the sender: gone from the queue, never delivered.
    let (_, notification) = hold(&postfix, &sink, "<two@example.org>", "Discard me");
    let link = link_in(&notification);
    // Another message's token does not open this one.
    let (id, rest) = link["/held/".len()..].split_once('.').unwrap();
    let other = format!("/held/{}.{rest}", id.parse::<u64>().unwrap() + 1);
    assert_eq!(http(web_port, "GET", &other, "", &[]).status, 403);
    let csrf = http(web_port, "GET", &link, "", &[]).csrf();
    let discarded = http(
        web_port,
        "POST",
        &link,
        "",
        &[("csrf", &csrf), ("action", "discard")],
    );
    assert_eq!(discarded.status, 200, "{}", discarded.body);
    wait_for_empty_queue(&postfix);
    assert_eq!(sink.copies("<two@example.org>"), 0);

    // The administrator releases another.
    let session = sign_in(web_port);
    let (message, _) = hold(&postfix, &sink, "<three@example.org>", "For the admin");
    let admin = http(web_port, "GET", "/admin", &session, &[]);
    assert_eq!(admin.status, 200);
    assert!(admin.body.contains("For the admin"));
    let csrf = admin.csrf();
    let id = row_id(&admin, "For the admin");
    let no_token = http(
        web_port,
        "POST",
        &format!("/admin/held/{id}"),
        &session,
        &[("action", "release"), ("reason", "ok")],
    );
    assert_eq!(no_token.status, 403);
    let released = http(
        web_port,
        "POST",
        &format!("/admin/held/{id}"),
        &session,
        &[
            ("csrf", &csrf),
            ("action", "release"),
            ("reason", "checked with Jane"),
        ],
    );
    assert_eq!(released.status, 303, "{}", released.body);
    let delivered = sink.wait_for("<three@example.org>").unwrap();
    assert_eq!(without_received(&delivered), message);

    // Two releases at once, sender and administrator: delivered once.
    let (_, notification) = hold(&postfix, &sink, "<four@example.org>", "Twice");
    let link = link_in(&notification);
    let sender_csrf = http(web_port, "GET", &link, "", &[]).csrf();
    let id = link["/held/".len()..]
        .split('.')
        .next()
        .unwrap()
        .to_string();
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| {
            http(
                web_port,
                "POST",
                &link,
                "",
                &[
                    ("csrf", &sender_csrf),
                    ("action", "release"),
                    ("reason", "mine"),
                ],
            )
            .status
        });
        let b = s.spawn(|| {
            http(
                web_port,
                "POST",
                &format!("/admin/held/{id}"),
                &session,
                &[("csrf", &csrf), ("action", "release"), ("reason", "ours")],
            )
            .status
        });
        (a.join().unwrap(), b.join().unwrap())
    });
    let mut statuses = [a, b];
    statuses.sort_unstable();
    // One release ran; the other found it decided (or, the sender's
    // page, its link used).
    assert!(statuses[0] == 200 || statuses[0] == 303, "{statuses:?}");
    assert!(matches!(statuses[1], 303 | 409 | 410), "{statuses:?}");
    sink.wait_for("<four@example.org>").unwrap();
    wait_for_empty_queue(&postfix);
    assert_eq!(sink.copies("<four@example.org>"), 1);

    // The audit log says all of it, exported as JSON lines.
    let events = exported_audit(&postfix.root().join("maillint.toml"));
    let count = |event: &str| events.iter().filter(|e| e["event"] == event).count();
    assert_eq!(count("hold"), 4);
    assert_eq!(count("notify"), 4);
    assert_eq!(count("release"), 3);
    assert_eq!(count("discard"), 1);
    let reasons: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "release")
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons[..2],
        ["the list is meant to see it", "checked with Jane"]
    );
    assert!(events.iter().any(|e| e["actor"] == "admin:ann"));
    let page = http(web_port, "GET", "/admin/audit.jsonl", &session, &[]);
    assert_eq!(page.body.lines().count(), events.len());
    drop(web);
}

#[test]
fn held_mail_expires_and_its_sender_is_told() {
    if !available(POSTFIX, true) {
        return;
    }
    let sink = Sink::start();
    let web_port = free_port();
    let config = held_config(web_port, "2s", &hash("x"));
    let postfix = Postfix::start(Path::new(MAILLINT), Some(&config), &sink);
    let _web = Web::start(
        &postfix.root().join("maillint.toml"),
        web_port,
        &postfix.root().join("web.log"),
    );
    let (_, notification) = hold(&postfix, &sink, "<late@example.org>", "Too late");
    let told = sink
        .wait_for_text("Subject: Not sent: Too late")
        .unwrap_or_else(|| panic!("{}", postfix.logs()));
    assert!(String::from_utf8_lossy(&told).contains("has been discarded"));
    wait_for_empty_queue(&postfix);
    assert_eq!(sink.copies("<late@example.org>"), 0);
    let link = link_in(&notification);
    assert!(matches!(
        http(web_port, "GET", &link, "", &[]).status,
        403 | 410
    ));
}

/// The id of the row showing `subject` on an admin page.
fn row_id(page: &Response, subject: &str) -> String {
    let row = page.body.find(subject).unwrap();
    page.body[..row]
        .rsplit("<tr id=\"held-")
        .next()
        .unwrap()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect()
}

/// An administrator's release of message `id` on the page at `port`.
fn admin_release(port: u16, session: &str, csrf: &str, id: &str, reason: &str) -> Response {
    http(
        port,
        "POST",
        &format!("/admin/held/{id}"),
        session,
        &[("csrf", csrf), ("action", "release"), ("reason", reason)],
    )
}

/// The audit log as `maillint web --export-audit` gives it.
fn exported_audit(config: &Path) -> Vec<serde_json::Value> {
    let out = Command::new(MAILLINT)
        .args(["web", "--export-audit", "--config"])
        .arg(config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Two gateways, each a Postfix with its milter and `maillint web`,
/// sharing held mail in one redis-server: a message held on gateway A
/// is listed on B's page, its sender's link opens there, and released
/// from B's page it goes out once, from A; released from both pages at
/// once, once; with Redis stopped the page says so, nothing is released
/// and new mail is deferred, not lost.
#[test]
fn held_mail_shared_by_two_gateways() {
    if !available(POSTFIX, true) || !available(REDIS, false) {
        return;
    }
    let mut redis = Redis::start();
    let sink = Sink::start();
    let shared = tempfile::tempdir().unwrap();
    // The installation's secret, the same file content on every gateway.
    let secret = shared.path().join("secret");
    std::fs::write(&secret, [7u8; 32]).unwrap();
    let admin_hash = hash("correct horse");
    let gateway = |name: &str| {
        let port = free_port();
        let config = held_config(port, "1h", &admin_hash)
            .replace("\"@ROOT@/secret\"", &format!("\"{}\"", secret.display()))
            .replace(
                "\n[web]\n",
                &format!(
                    "shared = \"{}\"\ngateway = \"{name}\"\n\n[web]\n",
                    redis.url()
                ),
            );
        let postfix = Postfix::start(Path::new(MAILLINT), Some(&config), &sink);
        let web = Web::start(
            &postfix.root().join("maillint.toml"),
            port,
            &postfix.root().join("web.log"),
        );
        (postfix, web, port)
    };
    let (a, _web_a, port_a) = gateway("mx-a");
    let (b, web_b, port_b) = gateway("mx-b");
    let logs = || format!("A:\n{}\nB:\n{}", a.logs(), b.logs());

    // Held on A; A's page tells the sender.
    let (message, notification) = hold(&a, &sink, "<shared-one@example.org>", "Shared one");
    assert_eq!(a.held().len(), 1, "{}", logs());
    // The sender's link opens on B's page too (one secret, one id space).
    let link = link_in(&notification);
    let on_b = http(port_b, "GET", &link, "", &[]);
    assert_eq!(on_b.status, 200, "{}", on_b.body);
    assert!(on_b.body.contains("Shared one"));

    // B's admin page lists it, as held on A; released there, it goes out
    // once, from A, as it was sent.
    let session_b = sign_in(port_b);
    let page_b = http(port_b, "GET", "/admin", &session_b, &[]);
    assert_eq!(page_b.status, 200);
    assert!(page_b.body.contains("Shared one") && page_b.body.contains("on mx-a"));
    let csrf_b = page_b.csrf();
    let id = row_id(&page_b, "Shared one");
    let released = admin_release(port_b, &session_b, &csrf_b, &id, "checked with Jane");
    assert_eq!(released.status, 303, "{}\n{}", released.body, logs());
    let delivered = sink
        .wait_for("<shared-one@example.org>")
        .unwrap_or_else(|| panic!("{}", logs()));
    assert_eq!(without_received(&delivered), message);
    assert!(!b.maillog().contains("<shared-one@example.org>"));
    wait_for_empty_queue(&a);
    assert_eq!(sink.copies("<shared-one@example.org>"), 1);
    // The link is used up on every page.
    assert_eq!(http(port_a, "GET", &link, "", &[]).status, 410);

    // Released from both pages at once: delivered once.
    let (_, _) = hold(&a, &sink, "<shared-two@example.org>", "Shared two");
    let session_a = sign_in(port_a);
    let csrf_a = http(port_a, "GET", "/admin", &session_a, &[]).csrf();
    let page_b = http(port_b, "GET", "/admin", &session_b, &[]);
    let id = row_id(&page_b, "Shared two");
    let statuses = std::thread::scope(|s| {
        let on_a = s.spawn(|| admin_release(port_a, &session_a, &csrf_a, &id, "from A").status);
        let on_b = s.spawn(|| admin_release(port_b, &session_b, &csrf_b, &id, "from B").status);
        let mut statuses = [on_a.join().unwrap(), on_b.join().unwrap()];
        statuses.sort_unstable();
        statuses
    });
    assert_eq!(statuses, [303, 409], "{}", logs());
    sink.wait_for("<shared-two@example.org>").unwrap();
    wait_for_empty_queue(&a);
    assert_eq!(sink.copies("<shared-two@example.org>"), 1);

    // Both releases ran A's commands, and the shared audit log says so,
    // read from either gateway.
    let events = exported_audit(&b.root().join("maillint.toml"));
    let releases: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e["event"] == "release")
        .map(|e| (e["gateway"].as_str().unwrap(), e["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(releases, [("mx-a", "admin:ann"), ("mx-a", "admin:ann")]);
    assert_eq!(
        events.len(),
        exported_audit(&a.root().join("maillint.toml")).len()
    );

    // Redis stopped: the page says so, and nothing is released; new mail
    // is deferred (the client tries again), not lost.
    let (_, _) = hold(&a, &sink, "<shared-three@example.org>", "Shared three");
    let id = row_id(
        &http(port_b, "GET", "/admin", &session_b, &[]),
        "Shared three",
    );
    redis.stop();
    let page = http(port_b, "GET", "/admin", &session_b, &[]);
    assert_eq!(page.status, 503);
    assert!(page.body.contains("does not answer"), "{}", page.body);
    let refused = admin_release(port_b, &session_b, &csrf_b, &id, "now");
    assert_eq!(refused.status, 503, "{}", refused.body);
    let (code, text) = submit(
        a.smtp_port,
        "jane@example.org",
        &["all-staff@example.org"],
        &to_all_staff("<shared-four@example.org>", "Shared four"),
    );
    assert_eq!(code, 451, "{text}\n{}", logs());
    // A's page, which carries decisions out, runs on meanwhile.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(a.held().len(), 1, "{}", logs());
    assert_eq!(sink.copies("<shared-three@example.org>"), 0);
    drop(web_b);
}

/// The pages in a real browser: tests/browser/held_pages.py clicks
/// through the sender's page and the admin page, and checks that forged,
/// expired, reused and other messages' tokens are refused, that a
/// subject of HTML and script is shown as text, and that a form without
/// its token is refused, and that failed sign-ins lock; screenshots in
/// target/tmp/held-pages/.
#[test]
fn held_pages_in_a_browser() {
    let chromedriver = "/usr/bin/chromedriver";
    if !available(chromedriver, false) || !available("/usr/bin/chromium", false) {
        return;
    }
    // Debian's Python, which has Debian's selenium.
    if !available("/usr/lib/python3/dist-packages/selenium", false) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let web_port = free_port();
    // No MTA: its commands record what they were asked.
    let ran = root.join("ran");
    let notifications = root.join("notifications");
    let config = held_config(web_port, "1h", &hash("correct horse"))
        .replace("@ROOT@", &root.display().to_string())
        .lines()
        .map(|l| {
            if l.starts_with("release_commands") {
                format!(
                    "release_commands = [[\"sh\", \"-c\", \"echo release {{id}} >> {}\"]]",
                    ran.display()
                )
            } else if l.starts_with("sendmail") {
                format!(
                    "sendmail = [\"sh\", \"-c\", \"cat >> {}\", \"sendmail\"]",
                    notifications.display()
                )
            } else if l.starts_with("discard_commands") {
                format!(
                    "discard_commands = [[\"sh\", \"-c\", \"echo discard {{id}} >> {}\"]]",
                    ran.display()
                )
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let config = format!("{config}\ntrusted_header = \"X-Remote-User\"\n");
    let config_path = root.join("maillint.toml");
    std::fs::write(&config_path, &config).unwrap();
    let settings = maillint::config::Config::load(&config_path).unwrap().hold;
    let holder = maillint::hold::Holder::new(settings).unwrap();
    let now = maillint::hold::now();
    let hold = |queue_id: &str, subject: &str, at: u64| {
        let recipients = vec![
            "all-staff@example.org".to_string(),
            "bob@partner.example".to_string(),
        ];
        let findings = vec![
            "warning [mass-list]: all-staff@example.org is a list that reaches everyone"
                .to_string(),
        ];
        let rules = vec!["mass-list".to_string()];
        let held = holder
            .hold(
                &maillint::hold::Hold {
                    queue_id,
                    sender: "jane@example.org",
                    recipients: &recipients,
                    subject,
                    findings: &findings,
                    rules: &rules,
                    worst: Some(maillint::finding::Severity::Warning),
                },
                at,
            )
            .unwrap();
        (held.id, holder.link(&held))
    };
    let script = "<script>document.title='pwned'</script><b>bold</b>";
    let (_, release_link) = hold("AAA1", script, now);
    let (_, discard_link) = hold("BBB2", "Discard this one", now);
    let (admin_id, _) = hold("CCC3", "For the administrator", now);
    // The first message's own token, past its time.
    let expired_link = format!(
        "http://127.0.0.1:{web_port}/maillint/held/{}",
        holder.signer.sender_token(1, now - 10)
    );
    let _web = Web::start(&config_path, web_port, &root.join("web.log"));
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("held-pages");
    std::fs::create_dir_all(&shots).unwrap();
    let args: HashMap<&str, String> = HashMap::from([
        ("release_link", release_link),
        ("discard_link", discard_link),
        ("expired_link", expired_link),
        (
            "admin",
            format!("http://127.0.0.1:{web_port}/maillint/admin"),
        ),
        ("admin_id", admin_id.to_string()),
        ("subject", script.to_string()),
        ("shots", shots.display().to_string()),
        ("profile", root.join("profile").display().to_string()),
    ]);
    let out = Command::new("/usr/bin/python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/browser/held_pages.py"
        ))
        .arg(serde_json::to_string(&args).unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}\nweb log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(root.join("web.log")).unwrap_or_default()
    );
    assert_eq!(
        std::fs::read_to_string(&ran).unwrap(),
        "release AAA1\ndiscard BBB2\nrelease CCC3\n"
    );
    // The reverse proxy's header signs an administrator in; without it, or
    // empty, the sign-in page.
    let by_proxy = http_with(
        web_port,
        "GET",
        "/maillint/admin?state=all",
        "X-Remote-User: bob\r\n",
        &[],
    );
    assert_eq!(by_proxy.status, 200);
    assert!(by_proxy.body.contains("Checked with Jane by phone"));
    for headers in ["", "X-Remote-User: \r\n"] {
        let page = http_with(web_port, "GET", "/maillint/admin", headers, &[]);
        assert_eq!(page.status, 303);
        assert_eq!(page.header("location"), Some("/maillint/admin/login"));
    }
    // Policy's word on who releases: the sender's page offers no send.
    let ids = vec!["x@example.org".to_string()];
    let page_of = |rules: &[String], worst| {
        let held = holder
            .hold(
                &maillint::hold::Hold {
                    queue_id: "EEE5",
                    sender: "jane@example.org",
                    recipients: &ids,
                    subject: "s",
                    findings: rules,
                    rules,
                    worst,
                },
                now,
            )
            .unwrap();
        let link = holder.link(&held);
        http(
            web_port,
            "GET",
            &link[link.find("/maillint/").unwrap()..],
            "",
            &[],
        )
        .body
    };
    let error = page_of(
        &["cc-exposure".into()],
        Some(maillint::finding::Severity::Error),
    );
    assert!(error.contains("only an administrator") && !error.contains("id=\"send\""));
    let storm = page_of(&["storm".into()], None);
    assert!(storm.contains("lets no one send") && !storm.contains("id=\"send\""));
    assert!(storm.contains("id=\"discard\""));
    // The page's sweeper tells the senders of the three messages held
    // first within a second or so: waited for, up to a minute. It may
    // have told the two held just above too, so each of the three is
    // counted by its subject.
    let first_three = [
        "Subject: Held: <script>document.title='pwned'</script><b>bold</b>",
        "Subject: Held: Discard this one",
        "Subject: Held: For the administrator",
    ];
    let deadline = Instant::now() + Duration::from_secs(60);
    let told = loop {
        let told = std::fs::read_to_string(&notifications).unwrap_or_default();
        if first_three.iter().all(|s| told.contains(s)) || Instant::now() > deadline {
            break told;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    for subject in first_three {
        assert_eq!(told.matches(subject).count(), 1, "{subject}\n{told}");
    }
}

/// A page with no MTA behind it (its commands do nothing), with Ann and
/// Bea as administrators and the client's address from the proxy's
/// X-Forwarded-For; the page's configuration file.
fn page_without_mta(root: &Path, web_port: u16) -> std::path::PathBuf {
    let config = held_config(web_port, "1h", &hash("correct horse"))
        .replace("@ROOT@", &root.display().to_string())
        .replace(
            "admins = {",
            &format!("admins = {{ bea = \"{}\", ", hash("bea's password")),
        );
    let config = format!("{config}forwarded_for = \"X-Forwarded-For\"\n");
    let path = root.join("maillint.toml");
    std::fs::write(&path, config).unwrap();
    path
}

/// A sign-in as `name` with `password` from `client` (the proxy's
/// X-Forwarded-For), on a fresh sign-in form.
fn sign_in_from(port: u16, client: &str, name: &str, password: &str) -> Response {
    let form = http(port, "GET", "/admin/login", "", &[]);
    let nonce = form.cookie();
    http_with(
        port,
        "POST",
        "/admin/login",
        &format!("Cookie: {nonce}\r\nX-Forwarded-For: {client}\r\n"),
        &[
            ("csrf", &form.csrf()),
            ("name", name),
            ("password", password),
        ],
    )
}

/// Administrators' sessions are kept (hashed) in the held-mail store: one
/// made before a restart works after it; an old or idle one, or one
/// signed out, does not.
#[test]
fn admin_sessions_survive_a_restart_and_end_when_they_should() {
    let dir = tempfile::tempdir().unwrap();
    let web_port = free_port();
    let config = page_without_mta(dir.path(), web_port);
    let web = Web::start(&config, web_port, &dir.path().join("web.log"));
    let session = sign_in(web_port);
    assert_eq!(http(web_port, "GET", "/admin", &session, &[]).status, 200);
    drop(web);

    let _web = Web::start(&config, web_port, &dir.path().join("web2.log"));
    let page = http(web_port, "GET", "/admin", &session, &[]);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Sign out"));
    // Its form token too is still good.
    let csrf = page.csrf();

    // Sessions made in the store: a fresh one opens the page, one past its
    // 8 hours or unused for more than an hour does not.
    use maillint::hold::HeldStore;
    let store = maillint::hold::Store::open(&dir.path().join("held.sqlite")).unwrap();
    let now = maillint::hold::now();
    store.open_session("fresh", "ann", now, 8 * 3600).unwrap();
    store
        .open_session("idle", "ann", now - 2 * 3600, 8 * 3600)
        .unwrap();
    store
        .open_session("old", "ann", now - 9 * 3600, 8 * 3600)
        .unwrap();
    let opens = |token: &str| {
        http(
            web_port,
            "GET",
            "/admin",
            &format!("maillint_admin={token}"),
            &[],
        )
        .status
    };
    assert_eq!(opens("fresh"), 200);
    assert_eq!(opens("idle"), 303);
    assert_eq!(opens("old"), 303);
    assert_eq!(opens("made-up"), 303);
    // The store keeps no token as it is.
    let cookie_value = session.split_once('=').unwrap().1;
    for file in ["held.sqlite", "held.sqlite-wal"] {
        let raw = std::fs::read(dir.path().join(file)).unwrap_or_default();
        assert!(
            !raw.windows(cookie_value.len())
                .any(|w| w == cookie_value.as_bytes()),
            "{file}"
        );
    }

    // Signing out ends the session for good.
    let out = http(
        web_port,
        "POST",
        "/admin/logout",
        &session,
        &[("csrf", &csrf)],
    );
    assert_eq!(out.status, 303);
    assert_eq!(http(web_port, "GET", "/admin", &session, &[]).status, 303);
}

/// Failed sign-ins are limited per account (from any address) and per
/// client address (as the proxy forwards it), with a page that says when
/// to try again.
#[test]
fn failed_sign_ins_are_limited_per_account_and_per_address() {
    let dir = tempfile::tempdir().unwrap();
    let web_port = free_port();
    let config = page_without_mta(dir.path(), web_port);
    let _web = Web::start(&config, web_port, &dir.path().join("web.log"));

    // Ann's password guessed from five addresses: the fifth locks her out.
    for i in 1..5 {
        let wrong = sign_in_from(web_port, &format!("203.0.113.{i}"), "ann", "guess");
        assert_eq!(wrong.status, 403, "{}", wrong.body);
        assert!(wrong.body.contains("Wrong name or password"));
    }
    let locked = sign_in_from(web_port, "203.0.113.5", "ann", "guess");
    assert_eq!(locked.status, 429, "{}", locked.body);
    assert!(
        locked
            .body
            .contains("Too many failed sign-ins: try again in 15 minutes."),
        "{}",
        locked.body
    );
    assert_eq!(locked.header("retry-after"), Some("900"));
    // Even her right password, from anywhere, until the lock ends.
    let right = sign_in_from(web_port, "192.0.2.77", "ann", "correct horse");
    assert_eq!(right.status, 429);
    assert!(
        right
            .header("set-cookie")
            .unwrap()
            .contains("maillint_login")
    );
    // Bea is not Ann.
    let bea = sign_in_from(web_port, "192.0.2.77", "bea", "bea's password");
    assert_eq!(bea.status, 303, "{}", bea.body);

    // One address trying many names: locked after twenty, whatever the name.
    for i in 1..20 {
        let wrong = sign_in_from(web_port, "198.51.100.9", &format!("user{i}"), "x");
        assert_eq!(wrong.status, 403, "attempt {i}: {}", wrong.body);
    }
    let locked = sign_in_from(web_port, "198.51.100.9", "user20", "x");
    assert_eq!(locked.status, 429, "{}", locked.body);
    let bea_there = sign_in_from(web_port, "198.51.100.9", "bea", "bea's password");
    assert_eq!(bea_there.status, 429);
    // The address is the one the proxy added last: a client cannot choose it.
    let forged = sign_in_from(
        web_port,
        "192.0.2.200, 198.51.100.9",
        "bea",
        "bea's password",
    );
    assert_eq!(forged.status, 429);
    // Another address is not locked.
    let elsewhere = sign_in_from(web_port, "198.51.100.10", "bea", "bea's password");
    assert_eq!(elsewhere.status, 303, "{}", elsewhere.body);
}

/// The page within its bounds: clients that open connections and say
/// nothing, or too little, lose them by `[web] header_timeout` and
/// `request_timeout`, no more than `max_connections` are served at once,
/// and a real request behind them all is answered; a form larger than
/// any the page sends is refused before it is read.
#[test]
fn idle_and_slow_clients_do_not_take_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let web_port = free_port();
    let config = page_without_mta(dir.path(), web_port);
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("max_connections = 2\nheader_timeout = 1\nrequest_timeout = 2\n");
    std::fs::write(&config, text).unwrap();
    let _web = Web::start(&config, web_port, &dir.path().join("web.log"));

    let connect = || {
        let stream = TcpStream::connect(("127.0.0.1", web_port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        stream
    };
    // Closed (or reset) by the page, with no answer; a connection the
    // page keeps open past a minute fails the test.
    let closed_unanswered = |mut stream: TcpStream| {
        let mut out = Vec::new();
        if let Err(e) = stream.read_to_end(&mut out) {
            assert!(
                !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ),
                "the page kept the connection open"
            );
        }
        assert!(!out.starts_with(b"HTTP/1.1 200"));
    };
    let idle = connect();
    let mut bodiless = connect();
    write!(
        bodiless,
        "POST /admin/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nname="
    )
    .unwrap();
    let crowd: Vec<TcpStream> = (0..30).map(|_| connect()).collect();
    let page = http(web_port, "GET", "/admin/login", "", &[]);
    assert_eq!(page.status, 200, "{}", page.body);
    closed_unanswered(idle);
    closed_unanswered(bodiless);
    for stream in crowd {
        closed_unanswered(stream);
    }
    let log = std::fs::read_to_string(dir.path().join("web.log")).unwrap();
    assert!(
        log.contains("maillint web: limit reached: 2 connections open ([web] max_connections)"),
        "{log}"
    );

    let form = http(web_port, "GET", "/admin/login", "", &[]);
    let huge = "x".repeat(100_000);
    let refused = http(
        web_port,
        "POST",
        "/admin/login",
        &form.cookie(),
        &[("csrf", &form.csrf()), ("name", "ann"), ("password", &huge)],
    );
    assert_eq!(refused.status, 413);
}

/// A held-mail store that cannot be read while a session is checked: an
/// error page that says so, and a line in the log, not the sign-in page
/// (as if the administrator had signed out).
#[test]
fn a_store_that_cannot_be_read_is_an_error_not_a_sign_out() {
    let dir = tempfile::tempdir().unwrap();
    let web_port = free_port();
    let config = page_without_mta(dir.path(), web_port);
    let _web = Web::start(&config, web_port, &dir.path().join("web.log"));
    let session = sign_in(web_port);
    assert_eq!(http(web_port, "GET", "/admin", &session, &[]).status, 200);

    // Another process holds the store locked (past the page's 5 s wait).
    let locker = rusqlite::Connection::open(dir.path().join("held.sqlite")).unwrap();
    locker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    for path in ["/admin", "/admin/audit.jsonl"] {
        let page = http(web_port, "GET", path, &session, &[]);
        assert_eq!(page.status, 503, "{path}: {}", page.body);
        assert!(
            page.body
                .contains("The held-mail store cannot be read: database is locked"),
            "{}",
            page.body
        );
        assert!(!page.body.contains("Sign in"));
    }
    let log = std::fs::read_to_string(dir.path().join("web.log")).unwrap();
    assert!(
        log.contains("maillint web: The held-mail store cannot be read: database is locked"),
        "{log}"
    );

    // Readable again, the same session goes on.
    locker.execute_batch("COMMIT").unwrap();
    assert_eq!(http(web_port, "GET", "/admin", &session, &[]).status, 200);
}
