//! `maillint milter` with the real programs around it, all on 127.0.0.1:
//! a Postfix instance of the test's own (Debian's package, installed by
//! `.ci/run`) with its config and queue in a temp dir, delivering to an
//! SMTP sink in the test (tests/postfix/); a `redis-server` shared by two
//! Postfix servers, each with its own milter process; and miltertest
//! scripts for the protocol's edge cases.
//!
//! Without a program (or, for Postfix, without root) a test says SKIPPED
//! and passes locally; under CI=true that is a failure.
// A test: a failed unwrap is a failed run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

mod postfix;
mod redis;
mod scrape;
use postfix::{
    GATEWAY_CONFIG, POSTFIX, Postfix, Sink, assert_cc_exposure_refused,
    assert_clean_goes_out_whole, available, cc_exposure, crlf, deliver, free_port, jane_to_herself,
    sendmail_t, submit, submit_as, submit_bcc_to_all_staff, submit_letter, to_all_staff,
    wait_for_port, wait_until_learned, without_received,
};
use redis::{REDIS, Redis};

const MAILLINT: &str = env!("CARGO_BIN_EXE_maillint");
const MILTERTEST: &str = "/usr/bin/miltertest";

#[test]
fn postfix_gateway() {
    if !available(POSTFIX, true) {
        return;
    }
    let sink = Sink::start();
    let gateway = Postfix::start(Path::new(MAILLINT), Some(GATEWAY_CONFIG), &sink);
    let port = gateway.smtp_port;
    let context = || gateway.logs();

    // A clean message goes out byte for byte, 8-bit text and a dot line too.
    assert_clean_goes_out_whole(port, &sink, &context);

    // A Cc exposure is refused, the finding in the reply the client sees.
    assert_cc_exposure_refused(port, None, "jane@example.org", &context);

    // Inbound mail (port 25, no submission mark) passes untouched,
    // however it looks.
    let inbound = cc_exposure("<inbound@elsewhere.example>", "someone@elsewhere.example");
    let (_, delivered) = deliver(
        gateway.inbound_port,
        "someone@elsewhere.example",
        &["jane@example.org"],
        (&inbound, "<inbound@elsewhere.example>"),
        &sink,
        &context,
    );
    assert_eq!(without_received(&delivered), inbound);

    // So does mail that only claims the organisation's domain: anyone can
    // write MAIL FROM:<jane@example.org> on port 25.
    let spoofed = cc_exposure("<spoofed@example.org>", "jane@example.org");
    let (_, delivered) = deliver(
        gateway.inbound_port,
        "jane@example.org",
        &["person1@company1.example"],
        (&spoofed, "<spoofed@example.org>"),
        &sink,
        &context,
    );
    assert_eq!(without_received(&delivered), spoofed);

    // A warning (an all-staff list) is quarantined: it sits in the hold queue.
    let all_staff = to_all_staff();
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
    let (code, _) = submit_bcc_to_all_staff(port);
    assert_eq!(code, 250);
    assert_eq!(gateway.held().len(), 2, "{}", context());
    let (code, _) = submit(
        port,
        "jane@example.org",
        &["jane@example.org"],
        &jane_to_herself("<self@example.org>"),
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
    assert_eq!(log.matches("action=").count(), 7, "{log}");
    assert!(!log.contains("jane@example.org"), "{log}");

    // The start-up line says what an administrator checks first.
    let first = log.lines().next().unwrap();
    assert!(
        first.starts_with("maillint milter: listening on inet:127.0.0.1:")
            && first.contains("/maillint.toml\" domains=\"example.org\" outgoing=\"logged-in senders, mail submitted on this server, daemon ORIGINATING or MSA\" storm=\"memory\""),
        "{first}"
    );
}

#[test]
fn postfix_gateway_on_a_unix_socket() {
    if !available(POSTFIX, true) {
        return;
    }
    // Postfix does not wait for most answers (see NO_REPLY_FLAGS in
    // src/milter/session.rs), on a Unix socket as over TCP: the message
    // must still arrive whole, headers and body.
    let sink = Sink::start();
    // Started as contrib/maillint-milter.service says: Postfix reaches the
    // socket with nothing done by hand.
    let gateway = Postfix::start_on_unix_socket(Path::new(MAILLINT), GATEWAY_CONFIG, &sink);
    let socket = std::fs::metadata(gateway.queue_directory().join("maillint/milter.sock")).unwrap();
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        assert_eq!(socket.permissions().mode() & 0o777, 0o660);
        let postfix_gid = Command::new("getent")
            .args(["group", "postfix"])
            .output()
            .unwrap();
        let postfix_gid = String::from_utf8(postfix_gid.stdout).unwrap();
        assert_eq!(
            socket.gid().to_string(),
            postfix_gid.split(':').nth(2).unwrap()
        );
    }
    let clean = crlf(
        "From: Jane <jane@example.org>\nTo: Bob <bob@partner.example>\nSubject: Minutes\nMessage-ID: <unix@example.org>\nDate: Mon, 18 Nov 2024 09:00:00 +0000\n\nHello Bob, the minutes are below.\n",
    );
    let (_, delivered) = deliver(
        gateway.smtp_port,
        "jane@example.org",
        &["bob@partner.example"],
        (&clean, "<unix@example.org>"),
        &sink,
        &|| gateway.logs(),
    );
    assert_eq!(without_received(&delivered), clean);
    assert_cc_exposure_refused(gateway.smtp_port, None, "jane@example.org", &|| {
        gateway.logs()
    });
    let log = gateway.milter_log();
    assert!(
        log.contains(r#"message_id="<unix@example.org>" sender="j•••@example.org" recipients=1 rules="external-recipients" action=accept"#),
        "{log}"
    );
}

fn reply_all(sender: &str, root: &str, subject: &str) -> String {
    format!(
        "From: {sender}\r\nTo: Everyone <everyone@example.org>\r\nSubject: Re: {subject}\r\nIn-Reply-To: {root}\r\nReferences: {root}\r\nMessage-ID: <{}.{}@example.org>\r\n\r\nPlease remove me from this list.\r\n",
        sender.replace('@', "."),
        root.trim_matches(['<', '>'])
    )
}

#[test]
fn a_storm_started_through_one_gateway_is_stopped_on_the_other() {
    if !available(REDIS, false) || !available(POSTFIX, true) {
        return;
    }
    let mut redis = Redis::start();
    // Reply-all to a list only warns here, so each reply goes out (tagged)
    // until the storm rule stops it.
    let config = format!(
        "[organization]\ndomains = [\"example.org\"]\n[rules.reply-all-to-list]\nseverity = \"warning\"\n[storm]\nstore = \"redis://127.0.0.1:{}\"\nsender_limit_per_hour = 0\n",
        redis.port
    );
    // Two outgoing servers, each with a `maillint milter` process of its
    // own, sharing one redis-server.
    let sink = Sink::start();
    let one = Postfix::start(Path::new(MAILLINT), Some(&config), &sink);
    let two = Postfix::start(Path::new(MAILLINT), Some(&config), &sink);
    let context = || format!("server one:\n{}\nserver two:\n{}", one.logs(), two.logs());
    let send = |server: &Postfix, sender: &str, root: &str| {
        let subject = if root == "<root@example.org>" {
            "Test"
        } else {
            "Lunch"
        };
        submit(
            server.smtp_port,
            sender,
            &["everyone@example.org"],
            &reply_all(sender, root, subject),
        )
    };

    for (server, sender) in [(&one, "a@example.org"), (&two, "b@example.org")] {
        let (code, text) = send(server, sender, "<root@example.org>");
        assert_eq!(code, 250, "{text}\n{}", context());
    }
    let (code, text) = send(&one, "c@example.org", "<root@example.org>");
    assert_eq!(code, 550, "{text}\n{}", context());
    assert!(
        text.contains("550-5.7.1 Reply-all storm: this is reply 3"),
        "{text}"
    );
    let (code, text) = send(&two, "d@example.org", "<root@example.org>");
    assert_eq!(
        code,
        550,
        "blocked on the other server too: {text}\n{}",
        context()
    );
    assert!(text.contains("paused"), "{text}");
    let (code, text) = send(&two, "d@example.org", "<other@example.org>");
    assert_eq!(code, 250, "another thread goes out: {text}\n{}", context());

    // Redis goes away: mail keeps flowing (fail open), without waiting,
    // and the log says why.
    redis.stop();
    let started = Instant::now();
    for sender in ["e@example.org", "f@example.org", "g@example.org"] {
        let (code, text) = send(&two, sender, "<root@example.org>");
        assert_eq!(code, 250, "{text}\n{}", context());
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let log = two.milter_log();
    assert!(log.contains("warning: storm store:"), "{log}");
    assert!(log.contains("handled as on_store_error = accept"), "{log}");
    // Its start-up line said where the counters are and that the store
    // answered; a milter started now says it does not.
    let answered = format!(" storm=\"redis://127.0.0.1:{} (answered)\"", redis.port);
    assert!(log.lines().next().unwrap().ends_with(&answered), "{log}");
    let dir = tempfile::TempDir::new().unwrap();
    let port = free_port();
    let mut milter = postfix::spawn_milter(
        Path::new(MAILLINT),
        dir.path(),
        &config,
        &format!("inet:127.0.0.1:{port}"),
    );
    wait_for_port(port);
    _ = milter.kill();
    _ = milter.wait();
    let log = std::fs::read_to_string(dir.path().join("milter.log")).unwrap();
    let down = format!(" storm=\"redis://127.0.0.1:{} (not answering: ", redis.port);
    assert!(log.contains(&down), "{log}");
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
    let mut milter = Command::new(MAILLINT)
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

#[test]
fn mail_refused_on_the_server_itself_bounces_readably() {
    if !available(POSTFIX, true) {
        return;
    }
    let sink = Sink::start();
    let gateway = Postfix::start(Path::new(MAILLINT), Some(GATEWAY_CONFIG), &sink);
    // A program on the server (`sendmail -t`) sends a Cc exposure to 60
    // people: Postfix's non_smtpd_milters refuse it, and Postfix bounces
    // it to its sender, with maillint's reply once per recipient.
    let message = cc_exposure("<local@example.org>", "jane@example.org");
    let out = sendmail_t(&gateway, "jane@example.org", &message);
    assert!(out.status.success(), "{out:?}\n{}", gateway.logs());
    let bounce = sink
        .wait_for("<local@example.org>")
        .unwrap_or_else(|| panic!("no bounce\n{}", gateway.logs()));
    let bounce = String::from_utf8_lossy(&bounce);
    // One line for each recipient (which Postfix wraps): the first
    // finding and the rules, not every finding again and again.
    let notification = bounce.split("Delivery report").next().unwrap();
    let paragraph = notification
        .split("\r\n\r\n")
        .find(|p| p.starts_with("<person0@company0.example>:"))
        .unwrap_or_else(|| panic!("{bounce}"));
    let paragraph = paragraph.replace("\r\n   ", "");
    assert!(
        paragraph.starts_with("<person0@company0.example>: Message not sent: maillint found problems. Fix them and send it again: error [cc-exposure]: 60 external addresses"),
        "{paragraph}"
    );
    assert!(
        paragraph.ends_with("(2 more; rules: cc-exposure, recipient-count, external-recipients)"),
        "{paragraph}"
    );
    assert!(!bounce.contains("[recipient-count]:"), "{bounce}");
}

#[test]
fn postfix_gateway_tags_with_its_own_header_only() {
    if !available(POSTFIX, true) {
        return;
    }
    let sink = Sink::start();
    let config = "[organization]\ndomains = [\"example.org\"]\n[milter]\nwarning = \"tag\"\n";
    let gateway = Postfix::start(Path::new(MAILLINT), Some(config), &sink);
    // A warning, with a tag and an allowance the sender wrote themselves.
    let forged = to_all_staff().replace(
        "Subject:",
        "X-Maillint: no findings\r\nX-Maillint-Allow: mass-list; reason=the boss said so\r\nSubject:",
    );
    let (_, delivered) = deliver(
        gateway.smtp_port,
        "jane@example.org",
        &["all-staff@example.org"],
        (&forged, "<held@example.org>"),
        &sink,
        &|| gateway.logs(),
    );
    let delivered = without_received(&delivered);
    // Ignored, removed, and maillint's own tag at the end of the header,
    // written as a header is (`X-Maillint: `, the space Postfix does not
    // add).
    assert_eq!(
        delivered,
        to_all_staff().replacen("\r\n\r\n", "\r\nX-Maillint: mass-list\r\n\r\n", 1),
        "{}",
        gateway.logs()
    );

    // Where the site honours allowances, one silences its rules, is
    // logged, and does not leave the organisation.
    let sink = Sink::start();
    let config = format!("{config}inline_allow = true\n");
    let gateway = Postfix::start(Path::new(MAILLINT), Some(&config), &sink);
    let allowed = cc_exposure("<allowed@example.org>", "jane@example.org").replace(
        "Subject:",
        "X-Maillint-Allow: cc-exposure recipient-count external-recipients; reason=party\r\nSubject:",
    );
    let (_, delivered) = deliver(
        gateway.smtp_port,
        "jane@example.org",
        &["person1@company1.example"],
        (&allowed, "<allowed@example.org>"),
        &sink,
        &|| gateway.logs(),
    );
    assert_eq!(
        without_received(&delivered),
        cc_exposure("<allowed@example.org>", "jane@example.org")
    );
    let log = gateway.milter_log();
    assert!(
        log.contains(
            r#"rules="" action=accept allowed="cc-exposure,recipient-count,external-recipients""#
        ),
        "{log}"
    );
}

#[test]
fn postfix_gateway_in_audit_mode_delivers_everything_unchanged() {
    if !available(POSTFIX, true) {
        return;
    }
    let sink = Sink::start();
    let metrics_port = free_port();
    let config = format!("{GATEWAY_CONFIG}mode = \"audit\"\nmetrics = \"{metrics_port}\"\n");
    let gateway = Postfix::start(Path::new(MAILLINT), Some(&config), &sink);
    let context = || gateway.logs();
    // Refused when enforced: delivered byte for byte below Received.
    let exposed = cc_exposure("<exposed@example.org>", "jane@example.org");
    let (_, delivered) = deliver(
        gateway.smtp_port,
        "jane@example.org",
        &["person1@company1.example"],
        (&exposed, "<exposed@example.org>"),
        &sink,
        &context,
    );
    assert_eq!(without_received(&delivered), exposed);
    // Held when enforced: delivered too, and nothing in the hold queue.
    let (_, delivered) = deliver(
        gateway.smtp_port,
        "jane@example.org",
        &["all-staff@example.org"],
        (&to_all_staff(), "<held@example.org>"),
        &sink,
        &context,
    );
    assert_eq!(without_received(&delivered), to_all_staff());
    assert!(gateway.held().is_empty(), "{}", context());
    assert_clean_goes_out_whole(gateway.smtp_port, &sink, &context);
    // The log says what would have happened to each.
    let log = gateway.milter_log();
    let line = |id: &str| {
        log.lines()
            .find(|l| l.contains(&format!("message_id=\"{id}\"")))
            .unwrap_or_else(|| panic!("no line for {id}: {log}"))
            .to_string()
    };
    assert!(
        line("<exposed@example.org>")
            .contains(" action=accept would=reject audited=\"cc-exposure,"),
        "{log}"
    );
    assert!(
        line("<held@example.org>")
            .contains("rules=\"mass-list\" action=accept would=quarantine audited=\"mass-list\""),
        "{log}"
    );
    assert!(!line("<clean@example.org>").contains("would="), "{log}");

    // Prometheus reads the same from the milter process, on loopback.
    assert!(
        log.lines()
            .next()
            .unwrap()
            .ends_with(&format!(" metrics=http://127.0.0.1:{metrics_port}/metrics")),
        "{log}"
    );
    let (head, metrics) = scrape::http_get(metrics_port, "/metrics");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.contains("content-type: application/openmetrics-text"),
        "{head}"
    );
    let sample = |name: &str| scrape::sample(&metrics, name);
    let outcome = |action: &str, would: &str| {
        sample(&format!(
            "maillint_messages_total{{action=\"{action}\",would=\"{would}\"}}"
        ))
    };
    assert_eq!(outcome("accept", "reject"), 1.0);
    assert_eq!(outcome("accept", "quarantine"), 1.0);
    assert_eq!(
        sample(
            r#"maillint_rule_messages_total{rule="mass-list",action="accept",would="quarantine"}"#
        ),
        1.0
    );
    assert_eq!(sample("maillint_check_duration_seconds_count"), 3.0);
    assert_eq!(sample("maillint_storm_store_errors_total"), 0.0);
    assert!(metrics.ends_with("# EOF\n"), "{metrics}");
    // Nothing else is served.
    let (head, _) = scrape::http_get(metrics_port, "/");
    assert!(head.starts_with("HTTP/1.1 404 "), "{head}");
}

#[test]
fn each_login_is_judged_by_its_own_history_learned_as_mail_leaves() {
    if !available(POSTFIX, true) {
        return;
    }
    let sink = Sink::start();
    // Warnings refused, so that the reply shows what the sender is told;
    // infos (external recipients, a new address at a known domain) pass.
    let config = "[organization]\ndomains = [\"example.org\"]\n[history]\nindex = \"@ROOT@/history/history.sqlite\"\n[milter]\nwarning = \"reject\"\n";
    let gateway = Postfix::start_with_logins(
        Path::new(MAILLINT),
        config,
        &sink,
        &[("alice", "pw-a"), ("bob", "pw-b")],
    );
    let index = gateway.root().join("history/history.sqlite");
    let context = || gateway.logs();
    // Postfix gives the login with the SASL realm.
    const ALICE: &str = "login:alice@example.org";
    const BOB: &str = "login:bob@example.org";
    let learned = |sender: &str, address: &str, times: u64| {
        wait_until_learned(&index, sender, address, times, &context);
    };
    let alice = postfix::plain("alice", "pw-a");
    let bob = postfix::plain("bob", "pw-b");
    let send = |login: &str, from: &str, to: &[&str], id: &str| {
        submit_letter(gateway.smtp_port, Some(login), from, to, id)
    };
    let jane = "Jane Smith <jane.smith@agency.example>";
    let tom = "Tom Jones <tom@club.example>";
    let pat = "Pat Lee <pat@asiancup.example>";
    // Namesakes by local part at other organisations, so that Pat and
    // Jane, new to Alice and Bob at a new organisation, look like
    // autocomplete's slip (a warning) rather than a new contact (an info);
    // without a name, which name-mismatch would take for a slip as well.
    let other_pat = "pat@agency.example";
    let other_jane = "jane.smith@club.example";

    // Alice writes to Jane, Bob to Tom: neither has a history yet, so
    // nothing is new or familiar; each message leaves and is learned
    // into its sender's own history, keyed by the login.
    let (code, text) = send(
        &alice,
        "alice@example.org",
        &[jane, other_pat],
        "<a1@example.org>",
    );
    assert_eq!(code, 250, "{text}\n{}", context());
    let (code, text) = send(
        &bob,
        "bob@example.org",
        &[tom, other_jane],
        "<b1@example.org>",
    );
    assert_eq!(code, 250, "{text}\n{}", context());
    learned(ALICE, "jane.smith@agency.example", 1);
    learned(BOB, "tom@club.example", 1);
    learned(BOB, "jane.smith@agency.example", 0);

    // Alice's contact is new for Bob, and his refusal shows nothing of
    // hers: no count, no name, no date she wrote to Jane.
    let (code, text) = send(&bob, "bob@example.org", &[tom, jane], "<b2@example.org>");
    assert_eq!(code, 550, "{text}\n{}", context());
    assert!(
        text.contains("[new-recipient]: you have never written to jane.smith@agency.example (nor to anyone at agency.example); the other recipients are familiar: Tom Jones <tom@club.example> (once)"),
        "{text}"
    );
    assert!(!text.contains("alice"), "{text}");
    assert!(!text.contains("<jane.smith@agency.example> ("), "{text}");

    // Alice is judged by her own: Jane familiar, Pat new; refused, and
    // what is refused is not learned.
    let (code, text) = send(
        &alice,
        "alice@example.org",
        &[jane, pat],
        "<a2@example.org>",
    );
    assert_eq!(code, 550, "{text}\n{}", context());
    assert!(
        text.contains("you have never written to pat@asiancup.example (nor to anyone at asiancup.example); the other recipients are familiar: Jane Smith <jane.smith@agency.example> (once)"),
        "{text}"
    );
    // The writer learns in order: once this one is in, the refused one
    // would have been too.
    let (code, text) = send(&alice, "alice@example.org", &[jane], "<a3@example.org>");
    assert_eq!(code, 250, "{text}\n{}", context());
    learned(ALICE, "jane.smith@agency.example", 2);
    learned(ALICE, "pat@asiancup.example", 0);

    // Once a message to Pat has left, Pat is familiar: the next message to
    // Jane and Pat goes out without a new-recipient finding.
    let (code, text) = send(&alice, "alice@example.org", &[pat], "<a4@example.org>");
    assert_eq!(code, 250, "{text}\n{}", context());
    learned(ALICE, "pat@asiancup.example", 1);
    let (code, text) = send(
        &alice,
        "alice@example.org",
        &[jane, pat],
        "<a5@example.org>",
    );
    assert_eq!(code, 250, "{text}\n{}", context());
    assert!(sink.wait_for("<a5@example.org>").is_some(), "{}", context());
    let line = gateway.milter_log_line("<a5@example.org>");
    assert!(!line.contains("new-recipient"), "{line}");
    // Nothing of any of it reached Bob's history.
    learned(BOB, "pat@asiancup.example", 0);
    let log = gateway.milter_log();
    assert!(
        !log.contains("history:"),
        "nothing went wrong learning: {log}"
    );
}

#[test]
fn a_message_held_for_confirmation_is_learned_when_released_not_when_discarded() {
    if !available(POSTFIX, true) {
        return;
    }
    let sink = Sink::start();
    // Warnings held for the sender's confirmation; released here through
    // the library, as `maillint web` releases them.
    let config = r#"
[organization]
domains = ["example.org"]
[history]
index = "@ROOT@/history/history.sqlite"
[milter]
warning = "confirm"
[hold]
store = "@ROOT@/held.sqlite"
secret_file = "@ROOT@/secret"
url = "http://127.0.0.1:9/maillint"
release_commands = [["/usr/sbin/postsuper", "-c", "@ROOT@/conf", "-H", "{id}"], ["/usr/sbin/postqueue", "-c", "@ROOT@/conf", "-i", "{id}"]]
discard_commands = [["/usr/sbin/postsuper", "-c", "@ROOT@/conf", "-d", "{id}"]]
"#;
    let gateway =
        Postfix::start_with_logins(Path::new(MAILLINT), config, &sink, &[("alice", "pw-a")]);
    let root = gateway.root();
    let index = root.join("history/history.sqlite");
    let context = || gateway.logs();
    const ALICE: &str = "login:alice@example.org";
    let alice = postfix::plain("alice", "pw-a");
    // Two messages to the all-staff list (a warning: held), one also to
    // Dan, one also to Eve.
    for (id, other) in [
        ("<dan@example.org>", "dan@partner.example"),
        ("<eve@example.org>", "eve@partner.example"),
    ] {
        let message = to_all_staff()
            .replace("To: ", &format!("Cc: {other}\r\nTo: "))
            .replace("<held@example.org>", id);
        let (code, text) = submit_as(
            gateway.smtp_port,
            Some(&alice),
            "jane@example.org",
            &["all-staff@example.org", other],
            &message,
        );
        assert_eq!(code, 250, "{text}\n{}", context());
    }
    assert_eq!(gateway.held().len(), 2, "{}", context());
    let settings = maillint::config::Config::load(&root.join("maillint.toml"))
        .unwrap()
        .hold;
    let holder = maillint::hold::Holder::new(settings).unwrap();
    let held = holder.store().list(Some("held"), 10).unwrap();
    assert_eq!(held.len(), 2);
    let with = |address: &str| {
        held.iter()
            .find(|h| h.recipients.iter().any(|r| r == address))
            .unwrap()
            .id
    };
    let admin = maillint::hold::Actor::Admin("ann".into());
    let now = maillint::hold::now();
    // Eve's discarded, then Dan's released: the milter settles both in
    // the same look at the store.
    let outcome = holder.discard(with("eve@partner.example"), &admin, "not needed", now);
    assert_eq!(outcome, maillint::hold::Outcome::Done, "{}", context());
    let outcome = holder.release(with("dan@partner.example"), &admin, "fine", now);
    assert_eq!(outcome, maillint::hold::Outcome::Done, "{}", context());
    assert!(
        sink.wait_for("<dan@example.org>").is_some(),
        "{}",
        context()
    );
    wait_until_learned(&index, ALICE, "dan@partner.example", 1, &context);
    wait_until_learned(&index, ALICE, "all-staff@example.org", 1, &context);
    wait_until_learned(&index, ALICE, "eve@partner.example", 0, &context);
    let waiting = std::fs::read_dir(root.join("history/history.sqlite.held"))
        .unwrap()
        .count();
    assert_eq!(waiting, 0, "{}", context());
}
