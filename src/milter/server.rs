//! Connections: the listening socket, the event loop that serves the
//! MTA's connections, and `serve`, which puts the gateway together.
//!
//! The MTA holds a connection for a whole SMTP session, idle or not, so a
//! busy server keeps thousands open. They are served by an event loop on
//! a couple of threads (tokio): an idle connection costs a few kilobytes
//! and no thread. Threads are for checking messages: at end-of-message the
//! session's work moves off the loop to a thread of its own, at most
//! `max_checks` at once.

use super::budget::Share;
use super::log::Log;
use super::protocol::{self, Command, ProtocolError, Reply};
use super::session::{Session, Step};
use super::{Gateway, Listen};
use crate::config::Config;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, timeout_at};

/// Events other than a header or the body (negotiation, macros, connect,
/// HELO, MAIL, RCPT) are small: Postfix and Sendmail send well under a
/// kilobyte for each. A larger one is refused before it is read.
const MAX_EVENT: u64 = 64 * 1024;

/// Macros in one event: Postfix and Sendmail send a few dozen at most.
const MAX_MACROS: usize = 256;

/// Threads of the event loop, which only reads, writes and follows the
/// protocol: the checking is done elsewhere.
const LOOP_THREADS: usize = 2;

/// A milter connection over TCP that acknowledges what it reads at once.
///
/// A pipelining MTA writes several small events in a row; Nagle's
/// algorithm on its side holds each one until the one before is
/// acknowledged, and Linux delays an acknowledgement (40 ms) while the
/// receiver has nothing to send: through Postfix that stalled every
/// message 45-55 ms. Quick-ack mode does not last, so it is set after
/// every read.
struct QuickAcks(tokio::net::TcpStream);

impl AsyncRead for QuickAcks {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let read = Pin::new(&mut this.0).poll_read(cx, buf);
        #[cfg(target_os = "linux")]
        if matches!(read, Poll::Ready(Ok(()))) {
            _ = socket2::SockRef::from(&this.0).set_tcp_quickack(true);
        }
        read
    }
}

impl AsyncWrite for QuickAcks {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

/// What a connection waited for when its time ran out.
#[derive(Debug, Clone, Copy)]
enum Waiting {
    /// The next message (`idle_timeout`).
    Idle,
    /// The next event, or the rest of one (`timeout`).
    Event,
    /// The end of the message (`message_timeout`).
    Message,
}

/// Why a connection ended before the MTA closed it.
enum Ended {
    Protocol(ProtocolError),
    TimedOut(Waiting),
    /// An event would take the gateway past its memory budget.
    OverBudget(u64),
    TooManyMacros(usize),
    Panic(String),
}

impl From<ProtocolError> for Ended {
    fn from(e: ProtocolError) -> Ended {
        Ended::Protocol(e)
    }
}

impl From<io::Error> for Ended {
    fn from(e: io::Error) -> Ended {
        Ended::Protocol(e.into())
    }
}

/// Reads one event whole by `deadline` (a connection sending a byte at a
/// time does not get more time for it), its bytes taken from the
/// gateway's budget until the event is handled; `None` when the MTA
/// closed the connection between events. A length over the event's limit
/// is refused before anything more is read, and the buffer grows only as
/// bytes arrive, so a lying length costs nothing.
async fn read_event<'g>(
    stream: &mut (impl AsyncRead + Unpin),
    gateway: &'g Gateway,
    deadline: Instant,
    waiting: Waiting,
) -> Result<Option<(Command, Share<'g>)>, Ended> {
    let timed_out = |_| Ended::TimedOut(waiting);
    let mut head = [0u8; 5];
    if timeout_at(deadline, stream.read(&mut head[..1]))
        .await
        .map_err(timed_out)??
        == 0
    {
        return Ok(None);
    }
    // The rest of the event is due by the shorter of the deadline and
    // `timeout`: once an event has started, it is no longer idling.
    let deadline = if matches!(waiting, Waiting::Idle) {
        Instant::now() + seconds(gateway.settings.timeout)
    } else {
        deadline
    };
    let waiting = if matches!(waiting, Waiting::Idle) {
        Waiting::Event
    } else {
        waiting
    };
    let timed_out = |_| Ended::TimedOut(waiting);
    let truncated = |e: io::Error| match e.kind() {
        io::ErrorKind::UnexpectedEof => Ended::Protocol(ProtocolError::Truncated),
        _ => Ended::from(e),
    };
    timeout_at(deadline, stream.read_exact(&mut head[1..]))
        .await
        .map_err(timed_out)?
        .map_err(truncated)?;
    let len = u64::from(u32::from_be_bytes([head[0], head[1], head[2], head[3]]));
    let code = head[4];
    if len == 0 {
        return Err(ProtocolError::Empty.into());
    }
    // A header may be as large as a whole message; body chunks are small
    // (64 KB from Postfix and Sendmail).
    let max = match code {
        b'L' | b'B' | b'E' => gateway.max_message_size().saturating_add(64 * 1024),
        _ => MAX_EVENT,
    };
    if len > max {
        return Err(ProtocolError::TooLarge(len, max).into());
    }
    let mut held = Share::new(&gateway.budget);
    if !held.grow(len) {
        return Err(Ended::OverBudget(len));
    }
    let rest = len - 1;
    let mut data = Vec::with_capacity(rest.min(64 * 1024) as usize);
    timeout_at(deadline, (&mut *stream).take(rest).read_to_end(&mut data))
        .await
        .map_err(timed_out)??;
    if (data.len() as u64) < rest {
        return Err(ProtocolError::Truncated.into());
    }
    let command = protocol::decode(code, data)?;
    if let Command::Macros { pairs, .. } = &command
        && pairs.len() > MAX_MACROS
    {
        return Err(Ended::TooManyMacros(pairs.len()));
    }
    Ok(Some((command, held)))
}

fn seconds(n: u64) -> Duration {
    Duration::from_secs(n.max(1))
}

/// Follows one connection until the MTA closes it or it must end.
async fn converse(
    gateway: &Gateway,
    session: &mut Session<'_>,
    stream: impl AsyncRead + AsyncWrite + Unpin,
    checks: &Semaphore,
) -> Result<(), Ended> {
    let settings = &gateway.settings;
    // The MTA sends macros and their event together: buffered, a packet
    // or two take one read instead of two each.
    let mut stream = BufReader::new(stream);
    let mut message_due: Option<Instant> = None;
    loop {
        let now = Instant::now();
        let (deadline, waiting) = if session.in_message() {
            let message = *message_due.get_or_insert(now + seconds(settings.message_timeout));
            let event = now + seconds(settings.timeout);
            if message < event {
                (message, Waiting::Message)
            } else {
                (event, Waiting::Event)
            }
        } else {
            message_due = None;
            (now + seconds(settings.idle_timeout), Waiting::Idle)
        };
        let Some((command, _held)) = read_event(&mut stream, gateway, deadline, waiting).await?
        else {
            return Ok(());
        };
        let step = if matches!(command, Command::EndOfMessage(_)) {
            // The check: on a thread of its own, so that the loop goes on
            // serving the other connections meanwhile.
            let _turn = checks.acquire().await;
            tokio::task::block_in_place(|| crate::guard::catch_panic(|| session.handle(command)))
        } else {
            crate::guard::catch_panic(|| session.handle(command))
        }
        .map_err(Ended::Panic)?;
        match step {
            Step::Silent => {}
            Step::Send(replies) => {
                let bytes: Vec<u8> = replies.iter().flat_map(Reply::encode).collect();
                let write = async {
                    let stream = stream.get_mut();
                    stream.write_all(&bytes).await?;
                    stream.flush().await
                };
                timeout_at(Instant::now() + seconds(settings.timeout), write)
                    .await
                    .map_err(|_| Ended::TimedOut(Waiting::Event))??;
            }
            Step::Close => return Ok(()),
        }
    }
}

/// Serves one connection to its end, logging how it ended when that was
/// not a clean quit. A panic in the session ends this connection only.
/// `pipelined`: the MTA may send events without waiting for their answers
/// (see `Server::run`).
async fn serve_connection(
    gateway: &Gateway,
    stream: impl AsyncRead + AsyncWrite + Unpin,
    pipelined: bool,
    checks: &Semaphore,
) {
    let _open = gateway.metrics.connection();
    let settings = &gateway.settings;
    let mut session = Session::new(gateway, pipelined);
    let problem = match converse(gateway, &mut session, stream, checks).await {
        Ok(()) if session.in_message() => {
            "the MTA closed the connection in the middle of a message".to_string()
        }
        Ok(()) => return,
        Err(Ended::TimedOut(Waiting::Idle)) => format!(
            "the MTA left the connection idle for {} s ([milter] idle_timeout); connection closed",
            settings.idle_timeout
        ),
        Err(Ended::TimedOut(Waiting::Event)) => format!(
            "the MTA was silent for {} s; connection closed",
            settings.timeout
        ),
        Err(Ended::TimedOut(Waiting::Message)) => format!(
            "limit reached: the message took more than {} s ([milter] message_timeout); connection closed",
            settings.message_timeout
        ),
        Err(Ended::OverBudget(len)) => format!(
            "limit reached: an event of {} would take the gateway past the {} it holds for all connections ([milter] memory_budget_mb); connection closed",
            crate::input::format_size(len),
            crate::input::format_size(gateway.budget.limit())
        ),
        Err(Ended::TooManyMacros(n)) => format!(
            "limit reached: {n} macros in one event (at most {MAX_MACROS}); connection closed"
        ),
        Err(Ended::Protocol(e @ ProtocolError::TooLarge(..))) => {
            format!("limit reached: {e}; connection closed")
        }
        Err(Ended::Protocol(e)) => format!("connection closed: {e}"),
        Err(Ended::Panic(panic)) => format!("internal error, connection closed: {panic}"),
    };
    gateway
        .log
        .line(&format!("maillint milter: {problem}{}", session.during()));
}

/// A bound listening socket.
pub enum Server {
    Inet(TcpListener),
    #[cfg(unix)]
    Unix(std::os::unix::net::UnixListener),
}

impl Server {
    /// Binds `listen`; a Unix socket left by an earlier run is replaced.
    pub fn bind(listen: &Listen) -> io::Result<Server> {
        match listen {
            Listen::Inet(address) => TcpListener::bind(address).map(Server::Inet),
            #[cfg(unix)]
            Listen::Unix(path) => {
                use std::os::unix::fs::FileTypeExt;
                if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
                    std::fs::remove_file(path)?;
                }
                std::os::unix::net::UnixListener::bind(path).map(Server::Unix)
            }
            #[cfg(not(unix))]
            Listen::Unix(_) => Err(io::Error::other("Unix sockets need a Unix system")),
        }
    }

    /// The TCP address bound (for a port chosen by the system).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            Server::Inet(l) => l.local_addr().ok(),
            #[cfg(unix)]
            Server::Unix(_) => None,
        }
    }

    /// Serves connections until the process ends, at most
    /// `max_connections` at once; past it, the log says so and the others
    /// wait in the listen queue.
    ///
    /// Connections are pipelined: the MTA sends most events without
    /// waiting for their answers. Over TCP that needs the acknowledgements
    /// of `QuickAcks`, which only Linux offers; elsewhere every event is
    /// answered there.
    pub fn run(self, gateway: Arc<Gateway>) -> io::Result<()> {
        self.run_with_metrics(gateway, None)
    }

    /// [`run`](Self::run), serving `/metrics` on `metrics` (bound by
    /// `http::bind`) on the same event loop.
    fn run_with_metrics(
        self,
        gateway: Arc<Gateway>,
        metrics: Option<std::net::TcpListener>,
    ) -> io::Result<()> {
        let max_checks = gateway.settings.max_checks.max(1);
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(LOOP_THREADS)
            // A check takes a thread from this pool, and the loop thread it
            // leaves is replaced from it too.
            .max_blocking_threads(max_checks + LOOP_THREADS)
            .thread_name("milter")
            .enable_all()
            .build()?
            .block_on(async move {
                if let Some(listener) = metrics {
                    tokio::spawn(super::http::serve(listener, Arc::clone(&gateway)));
                }
                self.accept(gateway, Arc::new(Semaphore::new(max_checks)))
                    .await
            })
    }

    async fn accept(self, gateway: Arc<Gateway>, checks: Arc<Semaphore>) -> io::Result<()> {
        let max_connections = gateway.settings.max_connections.max(1);
        let open = Arc::new(Semaphore::new(max_connections));
        let listener = Listener::new(self)?;
        loop {
            let room = match Arc::clone(&open).try_acquire_owned() {
                Ok(room) => room,
                Err(_) => {
                    gateway.log.line(&format!(
                        "maillint milter: limit reached: {max_connections} connections open ([milter] max_connections); new ones wait until one closes"
                    ));
                    Arc::clone(&open)
                        .acquire_owned()
                        .await
                        .map_err(io::Error::other)?
                }
            };
            let (gateway, checks) = (Arc::clone(&gateway), Arc::clone(&checks));
            match listener.accept().await {
                Ok(Accepted::Tcp(stream)) => {
                    _ = stream.set_nodelay(true);
                    let pipelined = cfg!(target_os = "linux");
                    tokio::spawn(connection(
                        gateway,
                        QuickAcks(stream),
                        pipelined,
                        checks,
                        room,
                    ));
                }
                #[cfg(unix)]
                Ok(Accepted::Unix(stream)) => {
                    tokio::spawn(connection(gateway, stream, true, checks, room));
                }
                Err(e) => {
                    gateway
                        .log
                        .line(&format!("maillint milter: cannot accept a connection: {e}"));
                    // Out of file descriptors and the like: do not spin.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

/// One connection's task: `room` is its place among `max_connections`.
async fn connection(
    gateway: Arc<Gateway>,
    stream: impl AsyncRead + AsyncWrite + Unpin,
    pipelined: bool,
    checks: Arc<Semaphore>,
    room: OwnedSemaphorePermit,
) {
    serve_connection(&gateway, stream, pipelined, &checks).await;
    drop(room);
}

/// The listening socket on the event loop.
enum Listener {
    Tcp(tokio::net::TcpListener),
    #[cfg(unix)]
    Unix(tokio::net::UnixListener),
}

enum Accepted {
    Tcp(tokio::net::TcpStream),
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
}

impl Listener {
    fn new(server: Server) -> io::Result<Listener> {
        match server {
            Server::Inet(l) => {
                l.set_nonblocking(true)?;
                tokio::net::TcpListener::from_std(l).map(Listener::Tcp)
            }
            #[cfg(unix)]
            Server::Unix(l) => {
                l.set_nonblocking(true)?;
                tokio::net::UnixListener::from_std(l).map(Listener::Unix)
            }
        }
    }

    async fn accept(&self) -> io::Result<Accepted> {
        match self {
            Listener::Tcp(l) => l.accept().await.map(|(s, _)| Accepted::Tcp(s)),
            #[cfg(unix)]
            Listener::Unix(l) => l.accept().await.map(|(s, _)| Accepted::Unix(s)),
        }
    }
}

/// `maillint milter`: opens the log, binds (a Unix socket with
/// `socket_mode`, so that the MTA's user can reach it whatever the umask),
/// and serves until the listener fails. An error says why it could not
/// start or stopped.
pub fn serve(listen: &Listen, config: Config, socket_mode: u32) -> Result<(), String> {
    let log = Log::open(config.milter.log.as_deref())?;
    let gateway = Arc::new(Gateway::with_log(config, log)?);
    let server = Server::bind(listen).map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    #[cfg(unix)]
    if let Listen::Unix(path) = listen {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(socket_mode))
            .map_err(|e| format!("cannot set the mode of {}: {e}", path.display()))?;
    }
    let metrics = super::http::bind(&gateway)?;
    let serving = metrics
        .as_ref()
        .and_then(|l| l.local_addr().ok())
        .map_or(String::new(), |a| format!(" metrics=http://{a}/metrics"));
    gateway.log.line(&format!(
        "maillint milter: listening on {listen} {}{serving}",
        gateway.describe()
    ));
    server
        .run_with_metrics(gateway, metrics)
        .map_err(|e| format!("{listen}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Clone, Default)]
    struct Written(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Written {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Runs one connection that sends `bytes` and closes; the log.
    fn serve_bytes(config: &str, bytes: Vec<u8>) -> (String, u64) {
        let log = Written::default();
        let config = Config::parse(config, "maillint.toml").unwrap();
        let gateway = Gateway::new(config, Box::new(log.clone())).unwrap();
        let checks = Semaphore::new(1);
        let (mut mta, milter) = tokio::io::duplex(64 * 1024);
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let mta = tokio::spawn(async move {
                    _ = mta.write_all(&bytes).await;
                    // Keeps reading what the milter answers until it closes.
                    let mut sink = Vec::new();
                    _ = mta.read_to_end(&mut sink).await;
                });
                serve_connection(&gateway, milter, true, &checks).await;
                _ = mta.await;
            });
        let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
        (text, gateway.held_bytes())
    }

    fn packet(code: u8, data: &[u8]) -> Vec<u8> {
        let mut packet = u32::try_from(data.len() + 1)
            .unwrap()
            .to_be_bytes()
            .to_vec();
        packet.push(code);
        packet.extend_from_slice(data);
        packet
    }

    #[test]
    fn an_event_over_its_limit_is_refused_before_it_is_read() {
        // A 1 MiB macro: its length alone ends the connection.
        let mut macro_event = vec![b'M'];
        macro_event.extend_from_slice(b"{big}\0");
        macro_event.extend(std::iter::repeat_n(b'x', 1 << 20));
        macro_event.push(0);
        let (log, held) = serve_bytes("", packet(b'D', &macro_event));
        assert!(
            log.starts_with("maillint milter: limit reached: packet of 1048585 bytes is over the limit of 65536 bytes; connection closed"),
            "{log}"
        );
        assert_eq!(held, 0);
    }

    #[test]
    fn too_many_macros_in_one_event_end_the_connection() {
        let mut macros = vec![b'C'];
        for i in 0..300 {
            macros.extend_from_slice(format!("m{i}\0v\0").as_bytes());
        }
        let (log, _) = serve_bytes("", packet(b'D', &macros));
        assert!(
            log.contains("limit reached: 300 macros in one event (at most 256)"),
            "{log}"
        );
    }

    #[test]
    fn an_event_past_the_memory_budget_ends_the_connection() {
        // A 2 MiB header with a budget of 1 MiB.
        let mut header = b"Subject\0".to_vec();
        header.extend(std::iter::repeat_n(b'x', 2 << 20));
        header.push(0);
        let (log, held) = serve_bytes("[milter]\nmemory_budget_mb = 1\n", packet(b'L', &header));
        assert!(
            log.contains("limit reached: an event of 2097162 bytes would take the gateway past the 1 MB it holds for all connections"),
            "{log}"
        );
        assert_eq!(held, 0, "given back");
    }
}
