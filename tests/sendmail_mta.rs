//! `maillint milter` behind a real Sendmail (Debian's 8.17), set up with the
//! README's `### Sendmail` lines as written, on 127.0.0.1, relaying to the
//! SMTP sink of tests/postfix/.
//!
//! Debian's `sendmail-bin` cannot be installed beside Postfix (both are the
//! system's mail transport agent), so it is not installed: `.ci/run`
//! fetches its packages with `apt-get download` (which changes nothing on
//! the system) into `target/debian-packages/` (or `$MAILLINT_DEBIAN_PACKAGES`),
//! and installs `m4` and the libraries the binary links with. The test
//! itself never reaches the network: it unpacks those packages with
//! `dpkg-deb -x` under Cargo's target dir (a second run reuses them),
//! builds a sendmail.cf with `m4`, and runs the daemon from there. Without
//! the packages, the libraries or root, it says `SKIPPED` and what is
//! missing, except under `CI=true`, where that is a failure.
// A test: a failed unwrap is a failed run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::ops::Not;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

mod postfix;
use postfix::{
    GATEWAY_CONFIG, Sink, assert_cc_exposure_refused, assert_clean_goes_out_whole, cc_exposure,
    deliver, free_port, spawn_milter, submit, submit_bcc_to_all_staff, to_all_staff, wait_for_port,
    without_received,
};

const MAILLINT: &str = env!("CARGO_BIN_EXE_maillint");

/// The packages with the daemon and with the m4 files sendmail.cf is built
/// from.
const PACKAGES: [&str; 2] = ["sendmail-bin", "sendmail-cf"];
/// What `.ci/run` installs for the unpacked Sendmail: m4, the libraries
/// the binary links with (`ldd`; `sendmail-bin` depends on them), and for
/// SMTP AUTH the SASL plugins and Perl (which writes the user database).
const NEEDED_PACKAGES: [&str; 10] = [
    "m4",
    "libdb5.3",
    "libnsl2",
    "libldap-2.5-0",
    "libsasl2-2",
    "libssl3",
    "libwrap0",
    "libsasl2-modules",
    "libsasl2-modules-db",
    "perl",
];
const NEEDS: &str = "apt-get install m4 libdb5.3 libnsl2 libldap-2.5-0 libsasl2-2 libssl3 libwrap0 libsasl2-modules libsasl2-modules-db perl (as .ci/run does)";
/// A user who logs in over SMTP (`AUTH PLAIN`), and the base64 argument
/// that logs her in: "\0jane\0secret".
const USER: (&str, &str) = ("jane", "secret");
const LOGIN: &str = "AGphbmUAc2VjcmV0";
/// The host name Sendmail runs under (see `under_own_name`).
const HOST_NAME: &str = "gateway.example.org";

/// Where `.ci/run` puts the packages it fetches.
fn packages_dir() -> PathBuf {
    std::env::var_os("MAILLINT_DEBIAN_PACKAGES").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target/debian-packages"),
        PathBuf::from,
    )
}

/// Whether this machine can run the test: root, the fetched packages and
/// what they need. Outside CI a missing one skips the test, visibly (on
/// the process's standard error, which the harness does not capture);
/// under `CI=true` it fails.
fn prerequisites(test: &str) -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    let fetched = PACKAGES.iter().all(|package| {
        std::fs::read_dir(packages_dir()).is_ok_and(|entries| {
            entries.flatten().any(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.starts_with(&format!("{package}_")) && name.ends_with(".deb")
            })
        })
    });
    let libraries = Command::new("dpkg")
        .arg("-s")
        .args(NEEDED_PACKAGES)
        .output()
        .is_ok_and(|o| o.status.success());
    let missing: Vec<String> = [
        (root, "root (Sendmail's daemon starts as root)".to_string()),
        (
            fetched,
            format!(
                "{} in {} (.ci/run fetches them)",
                PACKAGES.join(" "),
                packages_dir().display()
            ),
        ),
        (libraries, NEEDS.to_string()),
    ]
    .into_iter()
    .filter(|(present, _)| !present)
    .map(|(_, what)| what)
    .collect();
    if missing.is_empty() {
        return true;
    }
    let missing = missing.join("; ");
    assert!(
        std::env::var("CI").is_ok_and(|v| v == "true").not(),
        "{test}: missing {missing}; CI runs this test"
    );
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: missing {missing} (under CI=true this fails)"
    );
    false
}

/// The unpacked packages (unpacked on first use), their root directory.
fn unpacked() -> PathBuf {
    static UNPACKING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = UNPACKING.lock().unwrap_or_else(|e| e.into_inner());
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let root = target.join("sendmail");
    if root.join("usr/libexec/sendmail/sendmail").exists() {
        return root;
    }
    let work = tempfile::TempDir::new_in(target).unwrap();
    let unpacked = work.path().join("root");
    for package in std::fs::read_dir(packages_dir()).unwrap() {
        let package = package.unwrap().path();
        let name = package.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".deb") && PACKAGES.iter().any(|p| name.starts_with(&format!("{p}_"))) {
            let out = Command::new("dpkg-deb")
                .arg("-x")
                .arg(&package)
                .arg(&unpacked)
                .output();
            assert!(
                out.as_ref().is_ok_and(|o| o.status.success()),
                "dpkg-deb -x {}: {}",
                package.display(),
                describe(&out)
            );
        }
    }
    std::fs::rename(&unpacked, &root).unwrap();
    root
}

fn describe(out: &std::io::Result<Output>) -> String {
    match out {
        Ok(out) => format!(
            "{}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => e.to_string(),
    }
}

/// The directory of the system's SASL plugins, where the SASL library also
/// reads Sendmail's SASL configuration (Sendmail.conf).
fn sasl_plugins() -> PathBuf {
    let multiarch = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("sasl2"));
    multiarch
        .chain([PathBuf::from("/usr/lib/sasl2")])
        .find(|dir| dir.join("libplain.so.2").exists() && dir.join("libsasldb.so.2").exists())
        .unwrap_or_else(|| panic!("no SASL plugins for PLAIN and sasldb\n{NEEDS}"))
}

/// A user database for SMTP AUTH in the sasldb format (Berkeley DB) with
/// `USER` in it (in Sendmail's realm, its host name), and the Sendmail.conf
/// that points the SASL library at it, in `dir` beside copies of the
/// system's SASL plugins.
fn write_sasl_config(dir: &Path) {
    let out = Command::new("cp")
        .arg("-a")
        .arg(sasl_plugins().join("."))
        .arg(dir)
        .output();
    assert!(
        out.as_ref().is_ok_and(|o| o.status.success()),
        "{}",
        describe(&out)
    );
    let database = postfix::write_sasl_conf(dir, "Sendmail.conf");
    let out = postfix::add_sasldb_user(&database, USER.0, HOST_NAME, USER.1);
    assert!(
        out.as_ref().is_ok_and(|o| o.status.success()),
        "{}\n{NEEDS}",
        describe(&out)
    );
}

/// The README's Sendmail set-up: the lines of its `text` blocks under
/// `### Sendmail`, with `port` for the milter's 8895.
fn readme_sendmail_lines(port: u16) -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split_once("\n### Sendmail\n")
        .expect("README.md has a ### Sendmail section")
        .1;
    let section = section.split_once("\n### ").map_or(section, |(s, _)| s);
    let lines: String = section
        .split("```text\n")
        .skip(1)
        .map(|block| block.split_once("```").unwrap().0)
        .collect();
    assert!(
        lines.starts_with("INPUT_MAIL_FILTER(`maillint', `S=inet:8895@127.0.0.1,")
            && lines.contains("\ndefine(`confMILTER_MACROS_ENVFROM', ``i, ")
            && lines.matches("8895").count() == 1,
        "the README's Sendmail lines are not as this test expects:\n{lines}"
    );
    lines.replace("8895", &port.to_string())
}

/// A Sendmail daemon of the test's own, with `maillint milter`, stopped
/// when dropped.
struct Sendmail {
    dir: tempfile::TempDir,
    sendmail: PathBuf,
    /// The submission daemon (`Name=MSA`): its mail is outgoing.
    smtp_port: u16,
    /// A daemon named `MTA`, as port 25's is: only mail from a logged-in
    /// user or a client in `[milter] networks` is outgoing.
    inbound_port: u16,
    daemon: Child,
    milter: Child,
    stopped: bool,
}

impl Sendmail {
    /// Sendmail on a free port relaying everything to `sink`, with
    /// `maillint` as its milter, configured by `maillint_toml`.
    fn start(maillint_toml: &str, sink: &Sink) -> Sendmail {
        let is_root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
        assert!(is_root, "Sendmail's daemon must be started as root");
        let packages = unpacked();
        let sendmail = packages.join("usr/libexec/sendmail/sendmail");
        let cf_dir = packages.join("usr/share/sendmail/cf");
        let dir = tempfile::TempDir::new().unwrap();
        let root = dir.path();
        // Sendmail refuses a queue that others can write to; the temp dir
        // is root's own (0700), so no DontBlameSendmail is needed.
        std::fs::create_dir(root.join("queue")).unwrap();
        // Its own host lookups in /etc/hosts only, never DNS.
        std::fs::write(root.join("service.switch"), "hosts files\n").unwrap();
        std::fs::create_dir(root.join("sasl2")).unwrap();
        write_sasl_config(&root.join("sasl2"));

        let milter_port = free_port();
        let readme = readme_sendmail_lines(milter_port);
        // The milter listens where the README's `S=` points, in Sendmail's
        // own `inet:PORT@HOST` form.
        let listen = readme
            .split_once("S=")
            .and_then(|(_, rest)| rest.split_once(','))
            .unwrap()
            .0;
        let milter = spawn_milter(Path::new(MAILLINT), root, maillint_toml, listen);
        wait_for_port(milter_port);

        let smtp_port = free_port();
        let inbound_port = free_port();
        let (r, cf) = (root.display(), cf_dir.display());
        // What a test needs around the README's lines: its own port, queue,
        // pid and status files, and no aliases file; SMTP AUTH (PLAIN, with
        // no TLS on loopback) for the users of sasl2/; every message relayed
        // to the sink; no DNS (the service switch, nocanonify,
        // accept_unresolvable_domains: the test's domains do not exist); no
        // interface probing; and no refusing or only queueing mail when a
        // busy machine's load average is high (Sendmail's defaults do from
        // 12 and 8), since nothing runs the queue here.
        let mc = format!(
            "include(`{cf}/m4/cf.m4')dnl
OSTYPE(`linux')dnl
define(`confDOMAIN_NAME', `{HOST_NAME}')dnl
define(`QUEUE_DIR', `{r}/queue')dnl
define(`confPID_FILE', `{r}/sendmail.pid')dnl
define(`STATUS_FILE', `{r}/sendmail.st')dnl
define(`ALIAS_FILE', `')dnl
define(`confSERVICE_SWITCH_FILE', `{r}/service.switch')dnl
define(`confDONT_PROBE_INTERFACES', `True')dnl
define(`confQUEUE_LA', `1000')dnl
define(`confREFUSE_LA', `1000')dnl
define(`SMART_HOST', `relay:[127.0.0.1]')dnl
define(`RELAY_MAILER_ARGS', `TCP $h {sink}')dnl
DAEMON_OPTIONS(`Port={smtp_port}, Addr=127.0.0.1, Name=MSA')dnl
DAEMON_OPTIONS(`Port={inbound_port}, Addr=127.0.0.1, Name=MTA')dnl
FEATURE(`nocanonify')dnl
FEATURE(`accept_unresolvable_domains')dnl
FEATURE(`no_default_msa')dnl
define(`confAUTH_MECHANISMS', `PLAIN')dnl
{readme}MAILER(`smtp')dnl
",
            sink = sink.port
        );
        std::fs::write(root.join("sendmail.mc"), &mc).unwrap();
        let m4 = Command::new("m4").arg(root.join("sendmail.mc")).output();
        match &m4 {
            Ok(out) if out.status.success() && out.stderr.is_empty() => {
                std::fs::write(root.join("sendmail.cf"), &out.stdout).unwrap();
            }
            _ => panic!("m4 sendmail.mc: {}\n{NEEDS}", describe(&m4)),
        }

        // In the foreground (-bD), in a process group of its own with the
        // processes it forks per connection and per delivery, so that
        // stopping it stops them all.
        let daemon = under_own_name(&sendmail, root)
            .arg("-bD")
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(root.join("sendmail.out")).unwrap())
            .stderr(std::fs::File::create(root.join("sendmail.err")).unwrap())
            .spawn()
            .unwrap();
        let mut gateway = Sendmail {
            dir,
            sendmail,
            smtp_port,
            inbound_port,
            daemon,
            milter,
            stopped: false,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", smtp_port)).is_err() {
            if let Ok(Some(status)) = gateway.daemon.try_wait() {
                panic!(
                    "the unpacked Sendmail did not start ({status}); it needs root and\n{NEEDS}\n{}",
                    gateway.logs()
                );
            }
            assert!(
                Instant::now() < deadline,
                "Sendmail does not listen on {smtp_port}\n{}",
                gateway.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        wait_for_port(inbound_port);
        gateway
    }

    /// The quarantined messages, as `mailq -qQ` lists them.
    fn quarantined(&self) -> String {
        let out = under_own_name(&self.sendmail, self.dir.path())
            .args(["-bp", "-qQ"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Releases quarantined message `queue_id` and delivers it, as the
    /// README tells an administrator to.
    fn release(&self, queue_id: &str) {
        for args in [vec!["-Q", "-qQ"], vec![]] {
            let out = under_own_name(&self.sendmail, self.dir.path())
                .args(args)
                .arg(format!("-qI{queue_id}"))
                .output();
            assert!(
                out.as_ref().is_ok_and(|o| o.status.success()),
                "{}",
                describe(&out)
            );
        }
    }

    /// The queue control file of message `queue_id`: `hf` once
    /// quarantined, `qf` while waiting for delivery.
    fn queue_file(&self, kind: &str, queue_id: &str) -> Option<String> {
        let path = self.dir.path().join(format!("queue/{kind}{queue_id}"));
        std::fs::read(path)
            .ok()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    fn milter_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("milter.log")).unwrap_or_default()
    }

    /// The milter log and what Sendmail printed, for a failed assertion.
    fn logs(&self) -> String {
        let read =
            |name: &str| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        format!(
            "milter log:\n{}\nsendmail's output:\n{}{}",
            self.milter_log(),
            read("sendmail.out"),
            read("sendmail.err")
        )
    }

    /// Stops the milter only, as if maillint were down.
    fn stop_milter(&mut self) {
        _ = self.milter.kill();
        _ = self.milter.wait();
    }

    /// Stops Sendmail with everything it forked, and the milter; whether
    /// all of Sendmail's processes are gone (within 5 s).
    fn stop(&mut self) -> bool {
        if std::mem::replace(&mut self.stopped, true) {
            return true;
        }
        let group = format!("-{}", self.daemon.id());
        let signal = |name: &str| {
            Command::new("kill")
                .args([name, "--", &group])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        signal("-KILL");
        _ = self.daemon.wait();
        self.stop_milter();
        let deadline = Instant::now() + Duration::from_secs(5);
        while signal("-0") {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        true
    }
}

impl Drop for Sendmail {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `sendmail -C DIR/sendmail.cf`, run in namespaces of its own (nothing
/// changes outside them): under the host name `HOST_NAME`, since as a
/// daemon or listing its queue Sendmail sleeps a minute before reading its
/// .cf when the machine's own name has no domain (as a container's or a
/// test machine's often has not); and with DIR/sasl2 in place of the
/// system's SASL plugin directory, where the SASL library reads
/// Sendmail.conf (Sendmail has no option for another place).
fn under_own_name(sendmail: &Path, dir: &Path) -> Command {
    let mut command = Command::new("unshare");
    command
        .args(["--uts", "--mount", "sh", "-c"])
        .arg(r#"mount --bind "$1" "$2" && hostname "$3" && shift 3 && exec "$@""#)
        .arg("sh")
        .arg(dir.join("sasl2"))
        .arg(sasl_plugins())
        .arg(HOST_NAME)
        .arg(sendmail)
        .arg("-C")
        .arg(dir.join("sendmail.cf"));
    command
}

/// The queue id in Sendmail's `250 2.0.0 ID Message accepted for delivery`.
fn queue_id(reply: &str) -> &str {
    reply
        .strip_prefix("250 2.0.0 ")
        .and_then(|rest| rest.split_once(' '))
        .unwrap_or_else(|| panic!("not an acceptance: {reply}"))
        .0
}

/// The message's body: what follows the first empty line.
fn body(message: &[u8]) -> &[u8] {
    let start = message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(message.len(), |i| i + 4);
    &message[start..]
}

#[test]
fn sendmail_gateway() {
    if !prerequisites("sendmail_gateway") {
        return;
    }
    let sink = Sink::start();
    let mut gateway = Sendmail::start(GATEWAY_CONFIG, &sink);
    let port = gateway.smtp_port;

    // A clean message goes out whole, 8-bit text and dot lines too:
    // compared byte for byte below the Received header Sendmail adds.
    let text = assert_clean_goes_out_whole(port, &sink, &|| gateway.logs());
    // The queue id (macro `i`) comes with MAIL FROM, as the README says.
    let log = gateway.milter_log();
    let decision = format!(
        r#"queue_id="{}" message_id="<clean@example.org>" sender="j•••@example.org" recipients=1 rules="external-recipients" action=accept"#,
        queue_id(&text)
    );
    assert!(log.contains(&decision), "{decision}\nnot in:\n{log}");

    // A Cc exposure is refused, the finding in the reply the client sees.
    assert_cc_exposure_refused(port, None, "jane@example.org", &|| gateway.logs());

    // Inbound mail passes: accepted at MAIL FROM, never rebuilt or tagged.
    // Sendmail refolds its long Cc header itself, so the body is what is
    // compared byte for byte.
    let inbound = cc_exposure("<inbound@elsewhere.example>", "someone@elsewhere.example");
    let (text, delivered) = deliver(
        gateway.inbound_port,
        "someone@elsewhere.example",
        &["jane@example.org"],
        (&inbound, "<inbound@elsewhere.example>"),
        &sink,
        &|| gateway.logs(),
    );
    assert_eq!(body(&delivered), body(inbound.as_bytes()));
    assert!(!String::from_utf8_lossy(&delivered).contains("X-Maillint"));
    let decision = format!(
        r#"queue_id="{}" message_id="-" sender="s•••@elsewhere.example" recipients=0 rules="" action=accept"#,
        queue_id(&text)
    );
    assert!(
        gateway.milter_log().contains(&decision),
        "{decision}\n{}",
        gateway.logs()
    );

    // The same from a sender who logged in (`{auth_authen}`) is outgoing,
    // whatever its address: checked and refused.
    assert_cc_exposure_refused(
        gateway.inbound_port,
        Some(LOGIN),
        "someone@elsewhere.example",
        &|| gateway.logs(),
    );

    // A warning (an all-staff list) is quarantined: held in Sendmail's
    // queue (an hf file, which no queue run delivers), the reason given.
    let all_staff = to_all_staff();
    let (code, text) = submit(
        port,
        "jane@example.org",
        &["all-staff@example.org"],
        &all_staff,
    );
    assert_eq!(code, 250, "{text}\n{}", gateway.logs());
    let held = queue_id(&text);
    let control = gateway
        .queue_file("hf", held)
        .unwrap_or_else(|| panic!("{held} not quarantined\n{}", gateway.logs()));
    assert!(
        control.contains("\nqmaillint: warning [mass-list]: sent to an everyone-style list: all-staff@example.org"),
        "{control}"
    );
    assert!(gateway.queue_file("qf", held).is_none());
    let listed = gateway.quarantined();
    assert!(
        listed.contains(held) && listed.contains("QUARANTINE: maillint: warning [mass-list]"),
        "{listed}"
    );

    // Bcc-only recipients exist only in the envelope, and are judged there.
    let (code, text) = submit_bcc_to_all_staff(port);
    assert_eq!(code, 250, "{text}\n{}", gateway.logs());
    assert!(gateway.queue_file("hf", queue_id(&text)).is_some());
    assert!(sink.find("<held@example.org>").is_none());
    assert!(sink.find("<bcc@example.org>").is_none());

    // Nothing is lost: released, the held message goes out as it came.
    gateway.release(held);
    let delivered = sink
        .wait_for("<held@example.org>")
        .unwrap_or_else(|| panic!("{}", gateway.logs()));
    assert_eq!(without_received(&delivered), all_staff);

    // With maillint down, `F=T` makes Sendmail tempfail mail, not let it
    // out unchecked.
    gateway.stop_milter();
    let (code, text) = submit(
        port,
        "jane@example.org",
        &["bob@partner.example"],
        &to_all_staff(),
    );
    assert_eq!(code, 451, "{text}\n{}", gateway.logs());
    assert!(text.starts_with("451 4.3.2"), "{text}");

    assert!(gateway.stop(), "Sendmail's processes outlived it");
}

#[test]
fn sendmail_gateway_judges_mail_from_the_configured_networks() {
    // A sender outside the organisation's domains, from a client address
    // in `[milter] networks`: outgoing, so checked and refused (without
    // `networks` the same message passes as inbound: `sendmail_gateway`).
    if !prerequisites("sendmail_gateway_judges_mail_from_the_configured_networks") {
        return;
    }
    let sink = Sink::start();
    let gateway = Sendmail::start(
        &format!("{GATEWAY_CONFIG}networks = [\"127.0.0.1/32\"]\n"),
        &sink,
    );
    assert_cc_exposure_refused(
        gateway.inbound_port,
        None,
        "someone@elsewhere.example",
        &|| gateway.logs(),
    );
}

/// The README's `[hold]` commands for Sendmail (its `release_commands`
/// and `discard_commands` lines), made to run this test's Sendmail: its
/// `sendmail` under its own name and configuration, its queue for
/// /var/spool/mqueue.
fn readme_sendmail_hold_commands(gateway: &Sendmail) -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let lines: Vec<&str> = readme
        .lines()
        .filter(|l| {
            l.starts_with("release_commands = [[\"/usr/sbin/sendmail\"")
                || l.starts_with("discard_commands = [[\"/bin/rm\"")
        })
        .collect();
    assert_eq!(lines.len(), 2, "the README's Sendmail commands: {lines:?}");
    let dir = gateway.dir.path();
    // `under_own_name`'s command line, as TOML words.
    let sendmail = format!(
        r#""unshare", "--uts", "--mount", "sh", "-c", 'mount --bind "$1" "$2" && hostname "$3" && shift 3 && exec "$@"', "sh", "{}", "{}", "{HOST_NAME}", "{}", "-C", "{}""#,
        dir.join("sasl2").display(),
        sasl_plugins().display(),
        gateway.sendmail.display(),
        dir.join("sendmail.cf").display()
    );
    lines
        .join("\n")
        .replace("\"/usr/sbin/sendmail\"", &sendmail)
        .replace(
            "/var/spool/mqueue",
            &dir.join("queue").display().to_string(),
        )
}

/// Held for confirmation in Sendmail's quarantine, then decided with the
/// README's Sendmail commands: released, it goes out once, whole; a second
/// release runs nothing; discarded, its queue files are gone and no queue
/// run delivers it.
#[test]
fn sendmail_releases_and_discards_held_mail() {
    use maillint::hold::{Actor, Holder, Outcome, state};
    if !prerequisites("sendmail_releases_and_discards_held_mail") {
        return;
    }
    let sink = Sink::start();
    let held_dir = tempfile::tempdir().unwrap();
    let hold = format!(
        "\n[hold]\nstore = \"{0}/held.sqlite\"\nsecret_file = \"{0}/secret\"\n",
        held_dir.path().display()
    );
    let milter_config = format!(
        "{}{hold}",
        GATEWAY_CONFIG.replace("warning = \"quarantine\"", "warning = \"confirm\"")
    );
    let gateway = Sendmail::start(&milter_config, &sink);
    // The page's side: the same store, with the README's commands.
    let config = held_dir.path().join("page.toml");
    std::fs::write(
        &config,
        format!("{hold}{}\n", readme_sendmail_hold_commands(&gateway)),
    )
    .unwrap();
    let settings = maillint::config::Config::load(&config).unwrap().hold;
    let holder = Holder::new(settings).unwrap();
    let submit_held = |message_id: &str| {
        let message = to_all_staff().replace("<held@example.org>", message_id);
        let (code, text) = submit(
            gateway.smtp_port,
            "jane@example.org",
            &["all-staff@example.org"],
            &message,
        );
        assert_eq!(code, 250, "{text}\n{}", gateway.logs());
        let queue_id = queue_id(&text).to_string();
        assert!(
            gateway.queue_file("hf", &queue_id).is_some(),
            "{queue_id} not quarantined\n{}",
            gateway.logs()
        );
        let held = holder.store().list(Some(state::HELD), 10).unwrap();
        let held = held
            .iter()
            .find(|h| h.queue_id == queue_id)
            .unwrap_or_else(|| panic!("{queue_id} not recorded\n{}", gateway.logs()));
        (message, queue_id, held.id)
    };
    let ann = Actor::Admin("ann".into());
    let now = maillint::hold::now();

    let (message, queue_id, id) = submit_held("<release-me@example.org>");
    assert_eq!(holder.release(id, &ann, "intended", now), Outcome::Done);
    let delivered = sink
        .wait_for("<release-me@example.org>")
        .unwrap_or_else(|| panic!("{}", gateway.logs()));
    assert_eq!(without_received(&delivered), message);
    assert!(gateway.queue_file("hf", &queue_id).is_none());
    assert_eq!(
        holder.release(id, &ann, "again", now),
        Outcome::AlreadyDecided(state::RELEASED.into())
    );

    let (_, queue_id, id) = submit_held("<discard-me@example.org>");
    assert!(gateway.queue_file("df", &queue_id).is_some());
    assert_eq!(holder.discard(id, &ann, "", now), Outcome::Done);
    assert!(gateway.queue_file("hf", &queue_id).is_none());
    assert!(gateway.queue_file("df", &queue_id).is_none());
    // A queue run, quarantined items too, finds nothing of it.
    for args in [vec!["-qQ"], vec!["-q"]] {
        let out = under_own_name(&gateway.sendmail, gateway.dir.path())
            .args(args)
            .output();
        assert!(out.is_ok_and(|o| o.status.success()));
    }
    assert!(!gateway.quarantined().contains(&queue_id));
    assert_eq!(sink.copies("<discard-me@example.org>"), 0);
    assert_eq!(sink.copies("<release-me@example.org>"), 1);
}
