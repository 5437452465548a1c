//! A Postfix instance of its own on 127.0.0.1 (Debian's package; its
//! config and queue in a temp dir), optionally with `maillint milter`,
//! relaying to an SMTP sink on loopback, and an SMTP client to submit
//! with. Shared by tests/gateway.rs, tests/sendmail_mta.rs (the sink, the
//! client, the milter and the messages, around a Sendmail instead) and the
//! load benchmark (examples/milter_load.rs, run by scripts/bench-milter),
//! each of which uses part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const POSTFIX: &str = "/usr/sbin/postfix";

/// A free loopback port (bound and released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An SMTP server on loopback that counts the messages it is given, and
/// keeps them unless told not to (a benchmark's 100,000 would fill memory).
pub struct Sink {
    pub port: u16,
    messages: Arc<Mutex<Vec<Vec<u8>>>>,
    delivered: Arc<AtomicUsize>,
}

impl Sink {
    /// A sink that keeps every message.
    pub fn start() -> Sink {
        Sink::listen(true)
    }

    /// A sink that only counts.
    pub fn counting() -> Sink {
        Sink::listen(false)
    }

    fn listen(keep: bool) -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let delivered = Arc::new(AtomicUsize::new(0));
        let (kept, count) = (Arc::clone(&messages), Arc::clone(&delivered));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (kept, count) = (Arc::clone(&kept), Arc::clone(&count));
                std::thread::spawn(move || {
                    _ = serve_sink(stream, |data| {
                        count.fetch_add(1, Ordering::Relaxed);
                        if keep {
                            kept.lock().unwrap().push(data);
                        }
                    });
                });
            }
        });
        Sink {
            port,
            messages,
            delivered,
        }
    }

    /// Messages delivered so far.
    pub fn delivered(&self) -> usize {
        self.delivered.load(Ordering::Relaxed)
    }

    /// The message whose Message-ID is `id`, once delivered (up to 30 s).
    pub fn wait_for(&self, id: &str) -> Option<Vec<u8>> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(m) = self.find(id) {
                return Some(m);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Every message delivered so far, in order.
    pub fn all(&self) -> Vec<Vec<u8>> {
        self.messages.lock().unwrap().clone()
    }

    /// The first message containing `text`, once delivered (up to 30 s).
    pub fn wait_for_text(&self, text: &str) -> Option<Vec<u8>> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(m) = self
                .all()
                .into_iter()
                .find(|m| m.windows(text.len()).any(|w| w == text.as_bytes()))
            {
                return Some(m);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// How many copies of the message whose Message-ID is `id` were
    /// delivered by now.
    pub fn copies(&self, id: &str) -> usize {
        self.delivered_with_id(id).len()
    }

    /// The message whose Message-ID is `id`, if delivered by now.
    pub fn find(&self, id: &str) -> Option<Vec<u8>> {
        self.delivered_with_id(id).into_iter().next()
    }

    /// Every message delivered by now whose Message-ID is `id`.
    fn delivered_with_id(&self, id: &str) -> Vec<Vec<u8>> {
        let needle = format!("Message-ID: {id}\r\n");
        self.messages
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.windows(needle.len()).any(|w| w == needle.as_bytes()))
            .cloned()
            .collect()
    }
}

fn serve_sink(stream: TcpStream, mut keep: impl FnMut(Vec<u8>)) -> std::io::Result<()> {
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
                keep(data);
                out.write_all(b"250 kept\r\n")?;
            }
            b"QUIT" => return out.write_all(b"221 bye\r\n"),
            _ => out.write_all(b"250 ok\r\n")?,
        }
    }
}

/// A Postfix instance and a milter, stopped when dropped.
pub struct Postfix {
    dir: tempfile::TempDir,
    /// The submission service, marked as the README says
    /// (`milter_macro_daemon_name=ORIGINATING`): its mail is outgoing.
    pub smtp_port: u16,
    /// An smtpd without the mark, as port 25 is: only mail from a
    /// logged-in user or a client in `[milter] networks` is outgoing.
    pub inbound_port: u16,
    /// The milter's loopback port, when it listens on one.
    pub milter_port: Option<u16>,
    milter: Option<Child>,
}

impl Postfix {
    /// Postfix on a free port relaying everything to `sink`, without a
    /// milter (`None`), or with `maillint` (the binary) as its milter on a
    /// loopback port, configured by `maillint_toml`. Needs root.
    pub fn start(maillint: &Path, maillint_toml: Option<&str>, sink: &Sink) -> Postfix {
        Postfix::launch(maillint, maillint_toml, false, sink, &[])
    }

    /// [`start`](Self::start) with SMTP AUTH (PLAIN, Cyrus SASL with a
    /// sasldb of its own) for these users and passwords, in the realm
    /// example.org: what they submit reaches the milter with their login
    /// in `{auth_authen}` (`alice@example.org`). See [`plain`] for the
    /// client's side.
    pub fn start_with_logins(
        maillint: &Path,
        maillint_toml: &str,
        sink: &Sink,
        logins: &[(&str, &str)],
    ) -> Postfix {
        Postfix::launch(maillint, Some(maillint_toml), false, sink, logins)
    }

    /// The same with the milter on a Unix socket in Postfix's queue
    /// directory, started as contrib/maillint-milter.service says (see
    /// [`start_as_the_unit_says`]).
    pub fn start_on_unix_socket(maillint: &Path, maillint_toml: &str, sink: &Sink) -> Postfix {
        Postfix::launch(maillint, Some(maillint_toml), true, sink, &[])
    }

    fn launch(
        maillint: &Path,
        maillint_toml: Option<&str>,
        unix: bool,
        sink: &Sink,
        logins: &[(&str, &str)],
    ) -> Postfix {
        let dir = tempfile::TempDir::new().unwrap();
        let root = dir.path();
        // `@ROOT@` in maillint's configuration: the instance's directory
        // (its Postfix configuration is in conf/).
        let maillint_toml = maillint_toml.map(|t| t.replace("@ROOT@", &root.display().to_string()));
        let maillint_toml = maillint_toml.as_deref();
        // Postfix's own user must reach the queue inside the temp dir.
        chmod(root, 0o755);
        for sub in ["conf", "queue", "data"] {
            std::fs::create_dir(root.join(sub)).unwrap();
        }
        run(Command::new("chown").arg("postfix").arg(root.join("data")));
        let smtp_port = free_port();
        let inbound_port = free_port();
        let milter_port = (maillint_toml.is_some() && !unix).then(free_port);
        let milter = maillint_toml.map(|toml| match milter_port {
            Some(port) => {
                let milter = spawn_milter(maillint, root, toml, &format!("inet:127.0.0.1:{port}"));
                wait_for_port(port);
                milter
            }
            None => start_as_the_unit_says(maillint, root, toml),
        });
        // Mail submitted on the server itself too, as the README says.
        let milters = match (&milter, milter_port) {
            (None, _) => String::new(),
            // In the queue directory, named relative to it, as the README
            // and the unit set it up for Postfix's chrooted processes.
            (Some(_), None) => "smtpd_milters = unix:maillint/milter.sock\nnon_smtpd_milters = unix:maillint/milter.sock\n".to_string(),
            (Some(_), Some(port)) => format!(
                "smtpd_milters = inet:127.0.0.1:{port}\nnon_smtpd_milters = inet:127.0.0.1:{port}\n"
            ),
        };
        let r = root.display();
        let sasl = if logins.is_empty() {
            String::new()
        } else {
            write_sasldb(&root.join("conf/sasl"), logins);
            "smtpd_sasl_auth_enable = yes\nsmtpd_sasl_type = cyrus\nsmtpd_sasl_path = smtpd\nsmtpd_sasl_local_domain = example.org\n".to_string()
        };
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
{sasl}{milters}",
                sink = sink.port
            ),
        )
        .unwrap();
        std::fs::write(
            root.join("conf/master.cf"),
            format!(
                "127.0.0.1:{smtp_port} inet n - n - - smtpd -o milter_macro_daemon_name=ORIGINATING
127.0.0.1:{inbound_port} inet n - n - - smtpd
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
            inbound_port,
            milter_port,
            milter,
        };
        run(Command::new(POSTFIX)
            .arg("-c")
            .arg(gateway.conf())
            .arg("start"));
        wait_for_port(smtp_port);
        wait_for_port(inbound_port);
        gateway
    }

    pub fn queue_directory(&self) -> PathBuf {
        self.dir.path().join("queue")
    }

    fn conf(&self) -> PathBuf {
        self.dir.path().join("conf")
    }

    /// The instance's directory (`@ROOT@` in maillint's configuration).
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The milter's process id, when there is a milter.
    pub fn milter_pid(&self) -> Option<u32> {
        self.milter.as_ref().map(Child::id)
    }

    /// Messages in the hold queue, as `postqueue -j` shows them.
    pub fn held(&self) -> Vec<serde_json::Value> {
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

    pub fn milter_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("milter.log")).unwrap_or_default()
    }

    /// The milter log's line for the message with this Message-ID.
    pub fn milter_log_line(&self, message_id: &str) -> String {
        let log = self.milter_log();
        let needle = format!("message_id=\"{message_id}\"");
        log.lines()
            .find(|l| l.contains(&needle))
            .unwrap_or_else(|| panic!("no line for {message_id}:\n{log}"))
            .to_string()
    }

    pub fn maillog(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("maillog")).unwrap_or_default()
    }

    /// The milter log and Postfix's, for a failed assertion.
    pub fn logs(&self) -> String {
        format!(
            "milter log:\n{}\nmaillog:\n{}",
            self.milter_log(),
            self.maillog()
        )
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

/// `maillint milter` as contrib/maillint-milter.service starts it, as far
/// as can be done without systemd: its `ExecStartPre` (as root), then its
/// `ExecStart` under its `UMask=` and `Group=`, as an unprivileged user
/// (nobody, as `DynamicUser=` would), with the unit's paths moved into
/// `dir` (the binary `maillint` installed there, the configuration
/// `maillint_toml`, and Postfix's queue directory `dir`/queue). Waits for
/// the socket.
pub fn start_as_the_unit_says(maillint: &Path, dir: &Path, maillint_toml: &str) -> Child {
    use std::os::unix::process::CommandExt;
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/contrib/maillint-milter.service"
    ))
    .unwrap();
    // Installed, as the unit expects, where its user can run it (the
    // build directory may be in a home directory closed to others).
    let installed = dir.join("maillint");
    std::fs::copy(maillint, &installed).unwrap();
    let setting = |name: &str| -> String {
        let prefix = format!("{name}=");
        let value = unit
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("the unit has no {name}="));
        value
            .replace("/usr/local/bin/maillint", &installed.display().to_string())
            .replace(
                "/etc/maillint/maillint.toml",
                &dir.join("maillint.toml").display().to_string(),
            )
            .replace(
                "/var/spool/postfix",
                &dir.join("queue").display().to_string(),
            )
    };
    std::fs::write(dir.join("maillint.toml"), maillint_toml).unwrap();
    let pre = setting("ExecStartPre");
    let pre: Vec<&str> = pre.trim_start_matches('+').split_whitespace().collect();
    run(Command::new(pre[0]).args(&pre[1..]));
    let group = setting("Group");
    let gid = String::from_utf8(
        Command::new("getent")
            .args(["group", &group])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .split(':')
    .nth(2)
    .unwrap()
    .trim()
    .parse::<u32>()
    .unwrap();
    let start = setting("ExecStart");
    let socket = start
        .split_whitespace()
        .find_map(|a| a.strip_prefix("unix:"))
        .map(PathBuf::from)
        .expect("the unit listens on a Unix socket");
    let milter = Command::new("sh")
        .arg("-c")
        .arg(format!("umask {}; exec {start}", setting("UMask")))
        .env("XDG_DATA_HOME", dir.join("no-data"))
        .uid(65534)
        .gid(gid)
        .stderr(std::fs::File::create(dir.join("milter.log")).unwrap())
        .spawn()
        .unwrap();
    wait_for_path(&socket);
    milter
}

/// `maillint milter --listen LISTEN`, configured by `maillint_toml` (kept
/// in `dir` as maillint.toml), logging to `dir`/milter.log.
pub fn spawn_milter(maillint: &Path, dir: &Path, maillint_toml: &str, listen: &str) -> Child {
    let config = dir.join("maillint.toml");
    std::fs::write(&config, maillint_toml).unwrap();
    Command::new(maillint)
        // Never the history index of whoever runs it.
        .env("XDG_DATA_HOME", dir.join("no-data"))
        .args(["milter", "--listen", listen])
        .arg("--config")
        .arg(&config)
        .stderr(std::fs::File::create(dir.join("milter.log")).unwrap())
        .spawn()
        .unwrap()
}

/// Submits `message` with Postfix's `sendmail -t` from `sender`, as a
/// program on the server does; its exit status and output.
pub fn sendmail_t(postfix: &Postfix, sender: &str, message: &str) -> std::process::Output {
    let file = postfix.dir.path().join("sendmail-t.eml");
    std::fs::write(&file, message.replace("\r\n", "\n")).unwrap();
    Command::new("/usr/sbin/sendmail")
        .arg("-C")
        .arg(postfix.conf())
        .args(["-t", "-f", sender])
        .stdin(std::fs::File::open(&file).unwrap())
        .output()
        .unwrap()
}

/// Cyrus SASL's configuration for Postfix's smtpd in `dir` (Debian's
/// Postfix reads `smtpd.conf` from `sasl/` beside main.cf, whatever
/// `cyrus_sasl_config_path` says), with a sasldb (Berkeley DB, written with
/// Perl's DB_File, see [`add_sasldb_user`]) holding `logins` in the
/// realm example.org, readable by Postfix's smtpd.
fn write_sasldb(dir: &Path, logins: &[(&str, &str)]) {
    std::fs::create_dir_all(dir).unwrap();
    let database = write_sasl_conf(dir, "smtpd.conf");
    for (user, password) in logins {
        let out = add_sasldb_user(&database, user, "example.org", password);
        assert!(out.as_ref().is_ok_and(|o| o.status.success()), "{out:?}");
    }
    run(Command::new("chown").arg("postfix").arg(&database));
}

/// Writes a SASL application's configuration `dir`/`name` (PLAIN, users
/// in a sasldb beside it); the sasldb's path.
pub fn write_sasl_conf(dir: &Path, name: &str) -> PathBuf {
    let database = dir.join("sasldb2");
    std::fs::write(
        dir.join(name),
        format!(
            "pwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: {}\nmech_list: PLAIN\n",
            database.display()
        ),
    )
    .unwrap();
    database
}

/// Adds `user` with `password` in `realm` to the sasldb (Berkeley DB)
/// `database`, creating it, with Perl's DB_File.
pub fn add_sasldb_user(
    database: &Path,
    user: &str,
    realm: &str,
    password: &str,
) -> std::io::Result<std::process::Output> {
    Command::new("perl")
        .args(["-MDB_File", "-MFcntl", "-e"])
        .arg(r#"tie my %db, "DB_File", $ARGV[0], O_RDWR|O_CREAT, 0600, $DB_HASH or die "$ARGV[0]: $!"; $db{"$ARGV[1]\0$ARGV[2]\0userPassword"} = $ARGV[3]"#)
        .arg(database)
        .args([user, realm, password])
        .output()
}

/// `AUTH PLAIN`'s argument for `user` and `password` (base64 of
/// NUL user NUL password), for [`submit_as`].
pub fn plain(user: &str, password: &str) -> String {
    const DIGITS: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = format!("\0{user}\0{password}").into_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(DIGITS[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
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

pub fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wait_for_path(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !path.exists() {
        assert!(Instant::now() < deadline, "no {}", path.display());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends one message over SMTP; the server's reply to the end of DATA (or
/// to the first command it refused), code and text.
pub fn submit(port: u16, sender: &str, recipients: &[&str], message: &str) -> (u16, String) {
    submit_as(port, None, sender, recipients, message)
}

/// [`submit`], logged in first with `AUTH PLAIN` when `login` is given (its
/// base64 argument).
pub fn submit_as(
    port: u16,
    login: Option<&str>,
    sender: &str,
    recipients: &[&str],
    message: &str,
) -> (u16, String) {
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
    let mut steps: Vec<String> = login
        .map(|l| format!("AUTH PLAIN {l}\r\n"))
        .into_iter()
        .collect();
    steps.push(format!("MAIL FROM:<{sender}>\r\n"));
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

/// The message as delivered, without the Received headers the MTA put on
/// top.
pub fn without_received(delivered: &[u8]) -> String {
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

/// A message from `sender` with 60 addresses of 7 outside parties in Cc.
pub fn cc_exposure(id: &str, sender: &str) -> String {
    let cc: Vec<String> = (0..60)
        .map(|i| format!("Person {i} <person{i}@company{}.example>", i % 7))
        .collect();
    crlf(&format!(
        "From: {sender}\nTo: {sender}\nCc: {}\nSubject: Event\nMessage-ID: {id}\nDate: Mon, 18 Nov 2024 09:00:00 +0000\n\nSee you there, 100% sure.\n",
        cc.join(",\n ")
    ))
}

/// The organisation's configuration the gateway tests run with: its
/// domain, warnings quarantined.
pub const GATEWAY_CONFIG: &str = r#"
[organization]
domains = ["example.org"]

[milter]
warning = "quarantine"
"#;

/// Submits Jane's clean message (8-bit text, dot lines) through the
/// gateway on `port` and checks it reaches `sink` byte for byte below the
/// Received header the MTA adds; the text of the MTA's reply. `logs` says
/// what the servers logged, for a failure.
pub fn assert_clean_goes_out_whole(port: u16, sink: &Sink, logs: &dyn Fn() -> String) -> String {
    let clean = crlf(
        "From: Jane <jane@example.org>\nTo: Bob <bob@partner.example>\nSubject: Minutes\nMessage-ID: <clean@example.org>\nDate: Mon, 18 Nov 2024 09:00:00 +0000\nContent-Type: text/plain; charset=utf-8\n\nHello Bob, café minutes below.\n.\n..leading dots\n",
    );
    let (text, delivered) = deliver(
        port,
        "jane@example.org",
        &["bob@partner.example"],
        (&clean, "<clean@example.org>"),
        sink,
        logs,
    );
    assert_eq!(without_received(&delivered), clean);
    text
}

/// Submits `message`, whose Message-ID is `id`, through the gateway on
/// `port`, checks it is accepted and waits for `sink` to receive it; the
/// server's reply and the message as delivered. `logs` says what the
/// servers logged, for a failure.
pub fn deliver(
    port: u16,
    sender: &str,
    recipients: &[&str],
    (message, id): (&str, &str),
    sink: &Sink,
    logs: &dyn Fn() -> String,
) -> (String, Vec<u8>) {
    let (code, text) = submit(port, sender, recipients, message);
    assert_eq!(code, 250, "{text}\n{}", logs());
    let delivered = sink.wait_for(id).unwrap_or_else(|| panic!("{}", logs()));
    (text, delivered)
}

/// Submits a Cc exposure from `sender` (logged in first when `login` is
/// given, as in [`submit_as`]) through the gateway on `port` and checks it
/// is refused with the finding in the reply the sender's client shows;
/// `logs` says what the servers logged, for a failure.
pub fn assert_cc_exposure_refused(
    port: u16,
    login: Option<&str>,
    sender: &str,
    logs: &dyn Fn() -> String,
) {
    let (code, text) = submit_as(
        port,
        login,
        sender,
        &["person1@company1.example"],
        &cc_exposure("<exposed@example.org>", sender),
    );
    assert_eq!(code, 550, "{text}\n{}", logs());
    assert!(text.starts_with("550-5.7.1 Message not sent"), "{text}");
    assert!(
        text.contains("550-5.7.1 error [cc-exposure]: 60 external addresses"),
        "{text}"
    );
}

/// A message from Jane to the organisation's all-staff list (a warning).
pub fn to_all_staff() -> String {
    crlf(
        "From: Jane <jane@example.org>\nTo: All Staff <all-staff@example.org>\nSubject: Open enrolment closes Friday\nMessage-ID: <held@example.org>\nDate: Mon, 18 Nov 2024 09:00:00 +0000\n\nHi everyone, open enrolment closes on Friday.\n",
    )
}

/// Jane's message to herself about open enrolment, with `message_id`.
pub fn jane_to_herself(message_id: &str) -> String {
    crlf(&format!(
        "From: Jane <jane@example.org>\nTo: Jane <jane@example.org>\nSubject: Open enrolment closes Friday\nMessage-ID: {message_id}\nDate: Mon, 18 Nov 2024 09:00:00 +0000\n\nHi everyone, open enrolment closes on Friday.\n",
    ))
}

/// Submits [`jane_to_herself`] with the all-staff list only in the envelope
/// (a Bcc) through the gateway on `port`; the MTA's reply.
pub fn submit_bcc_to_all_staff(port: u16) -> (u16, String) {
    submit(
        port,
        "jane@example.org",
        &["jane@example.org", "all-staff@example.org"],
        &jane_to_herself("<bcc@example.org>"),
    )
}

/// Whether `program` can be run here (as root, for Postfix); panics under
/// CI when it cannot.
pub fn available(program: &str, needs_root: bool) -> bool {
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
            // Straight to the process's standard error, which the test
            // harness does not capture, so the skip shows beside `ok`.
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!("SKIPPED: {why} (under CI=true this fails)\n").as_bytes(),
            );
            false
        }
    }
}

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// `text` with CRLF line ends, as SMTP carries it.
pub fn crlf(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\n', "\r\n")
}

/// Waits (up to 30 s) until the index at `index` knows that `sender` (a
/// history key) wrote to `address` `times` times: the gateway learns on a
/// thread of its own, after the message has gone.
#[cfg(feature = "history")]
pub fn wait_until_learned(
    index: &Path,
    sender: &str,
    address: &str,
    times: u64,
    logs: &dyn Fn() -> String,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let known = maillint::history::History::open_for_reading(index)
            .unwrap()
            .and_then(|h| h.for_sender(sender).known(address))
            .map_or(0, |k| k.count);
        if known == times {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{sender} wrote to {address} {known} times, not {times}\n{}",
            logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Submits a letter from `from` (an address) to `to` (each `Name
/// <address>`), with its own Message-ID, as a mail client writes it,
/// logged in as `login` when given; the code and text of the reply.
pub fn submit_letter(
    port: u16,
    login: Option<&str>,
    from: &str,
    to: &[&str],
    id: &str,
) -> (u16, String) {
    let addresses: Vec<&str> = to
        .iter()
        .map(|t| {
            t.rsplit_once('<')
                .map_or(*t, |(_, a)| a.trim_end_matches('>'))
        })
        .collect();
    let letter = crlf(&format!(
        "From: {from} <{from}>\nTo: {}\nSubject: Agenda\nMessage-ID: {id}\nDate: Mon, 18 Nov 2024 09:00:00 +0000\n\nHello, the agenda for Thursday is below.\n",
        to.join(", ")
    ));
    submit_as(port, login, from, &addresses, &letter)
}
