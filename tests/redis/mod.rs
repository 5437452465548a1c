//! A `redis-server` of a test's own on a loopback port, and a proxy in
//! front of it that can slow Redis down or hold every request, for the
//! storm store's tests and the gateway's adversarial benchmark.
// Shared by several test crates, each using part of it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

pub const REDIS: &str = "/usr/bin/redis-server";

/// Whether redis-server is installed; without it a test says SKIPPED and
/// passes, except under CI=true, where that is a failure.
pub fn available() -> bool {
    if std::path::Path::new(REDIS).exists() {
        return true;
    }
    let why = format!("{REDIS} is not installed (.ci/run installs it)");
    assert!(
        !std::env::var("CI").is_ok_and(|v| v == "true"),
        "{why}; CI runs these tests"
    );
    eprintln!("SKIPPED: {why}");
    false
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `redis-server` on 127.0.0.1, without persistence; stopped when dropped.
pub struct Redis {
    pub port: u16,
    server: Option<Child>,
}

impl Redis {
    /// A port from `free_port` can be taken by another test's server
    /// before this one binds it (tests run side by side): then this one
    /// exits, and it is started again on another port.
    pub fn start() -> Redis {
        let mut redis = Redis {
            port: free_port(),
            server: None,
        };
        for _ in 0..10 {
            if redis.start_on_port() {
                return redis;
            }
            redis.port = free_port();
        }
        panic!("redis-server could not take a port in 10 tries");
    }

    /// Starts it again on the same port, empty: a restart.
    pub fn restart(&mut self) {
        assert!(
            self.start_on_port(),
            "redis-server did not start again on {}",
            self.port
        );
    }

    /// Starts a server on `self.port`; whether it is the one answering
    /// there (not another test's that had the port first).
    fn start_on_port(&mut self) -> bool {
        self.stop();
        let mut server = Command::new(REDIS)
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let pid = server.id();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if server.try_wait().unwrap().is_some() {
                return false;
            }
            if self.process_id() == Some(pid) {
                self.server = Some(server);
                return true;
            }
            assert!(
                Instant::now() < deadline,
                "redis-server on {} did not answer",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The process id of the server answering on the port, if one does.
    fn process_id(&self) -> Option<u32> {
        let client = redis::Client::open(self.url()).ok()?;
        let mut connection = client
            .get_connection_with_timeout(Duration::from_secs(1))
            .ok()?;
        let info: String = redis::cmd("INFO")
            .arg("server")
            .query(&mut connection)
            .ok()?;
        info.lines()
            .find_map(|line| line.strip_prefix("process_id:"))
            .and_then(|pid| pid.trim().parse().ok())
    }

    pub fn stop(&mut self) {
        if let Some(mut server) = self.server.take() {
            _ = server.kill();
            _ = server.wait();
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The keys it holds, sorted.
    pub fn keys(&self) -> Vec<String> {
        let client = redis::Client::open(self.url()).unwrap();
        let mut connection = client.get_connection().unwrap();
        let mut keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut connection).unwrap();
        keys.sort();
        keys
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What the proxy does with each request on its way to Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Pass,
    /// Redis is this far away.
    Delay(Duration),
    /// Requests wait until the mode changes: a frozen Redis.
    Hold,
}

/// A TCP proxy on loopback in front of a Redis server, counting requests
/// (each read from a client is one: a client sends a command whole and
/// waits for its answer).
pub struct Proxy {
    pub port: u16,
    state: Arc<State>,
}

struct State {
    mode: Mutex<Mode>,
    changed: Condvar,
    requests: AtomicUsize,
    held: AtomicUsize,
}

impl Proxy {
    pub fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State {
            mode: Mutex::new(Mode::Pass),
            changed: Condvar::new(),
            requests: AtomicUsize::new(0),
            held: AtomicUsize::new(0),
        });
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let state = Arc::clone(&shared);
                let (client_in, server_out) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || forward_requests(client_in, server_out, &state));
                std::thread::spawn(move || copy(server, client));
            }
        });
        Proxy { port, state }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn set(&self, mode: Mode) {
        *self.state.mode.lock().unwrap() = mode;
        self.state.changed.notify_all();
    }

    /// Requests forwarded or held so far.
    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// Requests held now.
    pub fn held(&self) -> usize {
        self.state.held.load(Ordering::SeqCst)
    }

    /// Waits until `n` requests are held at once; panics after a minute.
    pub fn wait_until_held(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.held() < n {
            assert!(
                Instant::now() < deadline,
                "{} requests held at once, not {n}",
                self.held()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.set(Mode::Pass);
    }
}

fn forward_requests(mut client: TcpStream, mut server: TcpStream, state: &State) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = match client.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        state.requests.fetch_add(1, Ordering::SeqCst);
        let mode = *state.mode.lock().unwrap();
        match mode {
            Mode::Pass => {}
            Mode::Delay(delay) => std::thread::sleep(delay),
            Mode::Hold => {
                state.held.fetch_add(1, Ordering::SeqCst);
                let mut mode = state.mode.lock().unwrap();
                while *mode == Mode::Hold {
                    mode = state.changed.wait(mode).unwrap();
                }
                drop(mode);
                state.held.fetch_sub(1, Ordering::SeqCst);
            }
        }
        if server.write_all(&buffer[..n]).is_err() {
            break;
        }
    }
    _ = server.shutdown(Shutdown::Write);
}

fn copy(mut from: TcpStream, mut to: TcpStream) {
    _ = std::io::copy(&mut from, &mut to);
    _ = to.shutdown(Shutdown::Write);
}
