//! Reading the gateway's metrics, as Prometheus does: shared by
//! tests/milter.rs (in process) and tests/gateway.rs (over HTTP).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::time::Duration;

/// The value of one sample (`name` with its labels) in `metrics`.
pub fn sample(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in:\n{metrics}"))
        .parse()
        .unwrap()
}

/// `GET path` from the HTTP server on loopback `port`: the response's
/// head and body.
pub fn http_get(port: u16, path: &str) -> (String, String) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.to_string(), body.to_string())
}
