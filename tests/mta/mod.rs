//! The MTA's side of a milter connection, speaking the protocol byte by
//! byte as Postfix does. Shared by tests/milter.rs and the load benchmark
//! (examples/milter_load.rs), each of which uses part of it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// The MTA's side of one connection.
pub struct Mta {
    pub stream: Box<dyn Duplex>,
    /// Protocol flags agreed: which events get no reply.
    flags: u32,
    /// The `{daemon_name}` sent at connect: Postfix's mark for its
    /// submission service, unless a test clears it (port 25).
    pub daemon_name: &'static str,
    /// Macros sent with each MAIL FROM besides the queue id, such as
    /// `{auth_authen}`.
    pub mail_macros: Vec<(&'static str, &'static str)>,
    /// The client's address and port given at connect.
    pub client: (&'static str, u16),
}

pub const ALL_ACTIONS: u32 = 0x1ff;
/// What Postfix 3.7 offers: every event flag, no-reply flags included.
pub const POSTFIX_FLAGS: u32 = 0x1fffff;

pub trait Duplex: Read + Write + Send {}
impl<T: Read + Write + Send> Duplex for T {}

impl Mta {
    pub fn connect(address: SocketAddr, flags: u32) -> (Mta, u32) {
        let stream = TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Mta::negotiate(Box::new(stream), flags)
    }

    pub fn connect_unix(path: &std::path::Path, flags: u32) -> (Mta, u32) {
        let stream = std::os::unix::net::UnixStream::connect(path).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Mta::negotiate(Box::new(stream), flags)
    }

    pub fn negotiate(stream: Box<dyn Duplex>, flags: u32) -> (Mta, u32) {
        let mut mta = Mta {
            stream,
            flags: 0,
            daemon_name: "ORIGINATING",
            mail_macros: Vec::new(),
            client: ("192.0.2.10", 25),
        };
        let mut data = Vec::new();
        for word in [6u32, ALL_ACTIONS, flags] {
            data.extend_from_slice(&word.to_be_bytes());
        }
        mta.send(b'O', &data);
        let (code, reply) = mta.receive();
        assert_eq!(code, b'O');
        assert_eq!(&reply[..4], &6u32.to_be_bytes());
        let agreed = u32::from_be_bytes(reply[8..12].try_into().unwrap());
        mta.flags = agreed;
        (mta, agreed)
    }

    pub fn send(&mut self, code: u8, data: &[u8]) {
        let mut packet = ((data.len() + 1) as u32).to_be_bytes().to_vec();
        packet.push(code);
        packet.extend_from_slice(data);
        self.stream.write_all(&packet).unwrap();
    }

    /// Sends an event and takes its Continue, unless `no_reply` was agreed.
    pub fn event(&mut self, code: u8, data: &[u8], no_reply: u32) {
        self.send(code, data);
        if self.flags & no_reply == 0 {
            assert_eq!(self.receive(), (b'c', Vec::new()));
        }
    }

    /// Sends the submission mark alone, as the MTA does at connect, for a
    /// test that sends the events of a message one by one.
    pub fn submission(&mut self) {
        self.send(b'D', b"C{daemon_name}\0ORIGINATING\0");
    }

    pub fn receive(&mut self) -> (u8, Vec<u8>) {
        let mut len = [0u8; 4];
        self.stream.read_exact(&mut len).unwrap();
        let mut packet = vec![0u8; u32::from_be_bytes(len) as usize];
        self.stream.read_exact(&mut packet).unwrap();
        let data = packet.split_off(1);
        (packet[0], data)
    }

    /// Sends a whole message as Postfix does (macros, envelope, headers
    /// with the leading space, body) and returns the replies to
    /// end-of-message. Events Postfix would not wait on get no reply.
    pub fn message(
        &mut self,
        sender: &str,
        recipients: &[&str],
        message: &str,
    ) -> Vec<(u8, Vec<u8>)> {
        let mut connect = b"Cj\0mail.example.org\0".to_vec();
        if !self.daemon_name.is_empty() {
            connect
                .extend_from_slice(format!("{{daemon_name}}\0{}\0", self.daemon_name).as_bytes());
        }
        self.send(b'D', &connect);
        let (address, port) = self.client;
        let mut info = b"client.example.org\x004".to_vec();
        info.extend_from_slice(&port.to_be_bytes());
        info.extend_from_slice(format!("{address}\0").as_bytes());
        self.event(b'C', &info, 0x1000);
        if self.flags & 0x02 == 0 {
            self.event(b'H', b"client.example.org\0", 0x2000);
        }
        let mut mail = b"Mi\0Q123\0".to_vec();
        for (name, value) in &self.mail_macros {
            mail.extend_from_slice(format!("{name}\0{value}\0").as_bytes());
        }
        self.send(b'D', &mail);
        self.send(b'M', format!("<{sender}>\0").as_bytes());
        let (code, _) = self.receive();
        if code == b'a' {
            return vec![(code, Vec::new())];
        }
        assert_eq!(code, b'c');
        for rcpt in recipients {
            self.event(b'R', format!("<{rcpt}>\0").as_bytes(), 0x8000);
        }
        let (headers, body) = message.split_once("\n\n").unwrap();
        for field in headers
            .split('\n')
            .fold(Vec::<String>::new(), |mut acc, line| {
                if line.starts_with([' ', '\t']) {
                    let last = acc.last_mut().unwrap();
                    last.push('\n');
                    last.push_str(line);
                } else {
                    acc.push(line.to_string());
                }
                acc
            })
        {
            let (name, value) = field.split_once(':').unwrap();
            // Postfix sends the value's leading space only when asked to.
            let value = if self.flags & 0x100000 != 0 {
                value
            } else {
                value.strip_prefix(' ').unwrap_or(value)
            };
            self.event(b'L', format!("{name}\0{value}\0").as_bytes(), 0x80);
        }
        self.event(b'N', b"", 0x40000);
        for chunk in body.replace('\n', "\r\n").as_bytes().chunks(7) {
            self.event(b'B', chunk, 0x80000);
        }
        self.send(b'E', b"");
        let mut replies = Vec::new();
        loop {
            let (code, data) = self.receive();
            let last = !matches!(code, b'h' | b'm' | b'q');
            replies.push((code, data));
            if last {
                return replies;
            }
        }
    }
}

/// A macro event for `stage` with one macro, `{name}`, of `size` bytes.
pub fn macro_packet(stage: u8, name: &str, size: usize) -> Vec<u8> {
    let mut data = vec![stage];
    data.extend_from_slice(format!("{{{name}}}\0").as_bytes());
    data.extend(std::iter::repeat_n(b'x', size));
    data.push(0);
    let mut packet = u32::try_from(data.len() + 1)
        .unwrap()
        .to_be_bytes()
        .to_vec();
    packet.push(b'D');
    packet.extend_from_slice(&data);
    packet
}

impl Mta {
    /// A message from the submission service with `count` recipients,
    /// written in batches of a megabyte; the answer to its end.
    pub fn flood_recipients(&mut self, count: u32) -> (u8, Vec<u8>) {
        self.submission();
        self.send(b'M', b"<jane@example.org>\0");
        assert_eq!(self.receive().0, b'c');
        let mut batch = Vec::with_capacity(2 << 20);
        for i in 0..count {
            let rcpt = format!("<r{i}@partner.example>\0");
            batch.extend_from_slice(&u32::try_from(rcpt.len() + 1).unwrap().to_be_bytes());
            batch.push(b'R');
            batch.extend_from_slice(rcpt.as_bytes());
            if batch.len() >= 1 << 20 {
                self.stream.write_all(&batch).unwrap();
                batch.clear();
            }
        }
        self.stream.write_all(&batch).unwrap();
        self.send(b'L', b"From\0 Jane <jane@example.org>\0");
        self.send(b'N', b"");
        self.send(b'E', b"Hello.\r\n");
        self.receive()
    }
}
