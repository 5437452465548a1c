//! `maillint milter`'s `/metrics` server, bounded: a taken port stops the
//! start, and clients that send nothing, as many as it serves at once, are
//! closed, so that a scraper after them is served.
// A test: a failed unwrap is a failed run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

mod postfix;
mod scrape;
use postfix::{free_port, wait_for_port};

const MAILLINT: &str = env!("CARGO_BIN_EXE_maillint");

/// `maillint milter` on a free loopback port, with `[milter] metrics`
/// set to `metrics`; stopped when dropped, its directory (configuration,
/// no history) removed with it.
struct Milter {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Milter {
    fn start(metrics: &str) -> Milter {
        let dir = tempfile::TempDir::new().unwrap();
        let config = dir.path().join("maillint.toml");
        std::fs::write(&config, format!("[milter]\nmetrics = \"{metrics}\"\n")).unwrap();
        let child = Command::new(MAILLINT)
            .env("XDG_DATA_HOME", dir.path().join("no-data"))
            .args(["milter", "--listen", "inet:127.0.0.1:0", "--config"])
            .arg(&config)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Milter { child, _dir: dir }
    }
}

impl Drop for Milter {
    fn drop(&mut self) {
        _ = self.child.kill();
        _ = self.child.wait();
    }
}

#[test]
fn a_taken_port_stops_the_start() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let mut milter = Milter::start(&port.to_string());
    // It ends by itself (else the test times out, and fails, under CI).
    let status = milter.child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(milter.child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot serve metrics on 127.0.0.1:{port}")),
        "{stderr}"
    );
}

#[test]
fn silent_clients_taking_every_slot_are_closed_and_a_scraper_is_still_served() {
    let port = free_port();
    let _milter = Milter::start(&port.to_string());
    wait_for_port(port);
    // The one connection wait_for_port opened is closed by now or soon;
    // eight more that send nothing take every slot.
    let silent: Vec<TcpStream> = (0..8)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    // Answered once the server has closed silent ones.
    let (head, body) = scrape::http_get(port, "/metrics");
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert_eq!(scrape::sample(&body, "maillint_connections"), 0.0);
    for mut stream in silent {
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut rest = Vec::new();
        // Closed by the server: the end of the stream, not a timeout.
        std::io::Read::read_to_end(&mut stream, &mut rest).unwrap();
    }
}
