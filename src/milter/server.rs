//! Connections: the listening socket, the threads that serve the MTA's
//! connections, and `serve`, which puts the gateway together.

use super::log::Log;
use super::session;
use super::{Gateway, Listen};
use crate::config::Config;
use std::collections::VecDeque;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// How long a kept thread waits for another connection before it ends, so
/// that the threads of a burst (and their caches) do not stay for good.
const IDLE_THREAD_LIFETIME: Duration = Duration::from_secs(60);

/// The threads that serve connections, one connection each at a time.
/// A thread that finishes a connection waits for the next one instead of
/// ending: starting a thread per connection was a good share of the
/// milter's own work per message, and of its latency.
///
/// Two condition variables, so that each change wakes only a thread that
/// can act on it: one idle thread for a new connection, the accepting
/// thread when a connection ends (waking every thread for both was most
/// of the milter's task switches).
struct Workers {
    state: Mutex<WorkerState>,
    /// A connection waits for a thread.
    connection_waiting: Condvar,
    /// A connection ended: room for another.
    connection_ended: Condvar,
    max_connections: usize,
    idle_lifetime: Duration,
}

#[derive(Default)]
struct WorkerState {
    /// Accepted connections no thread has taken yet.
    /// With whether each is pipelined (see `Server::run`).
    waiting: VecDeque<(Box<dyn session::Stream>, bool)>,
    /// Threads waiting for a connection.
    idle: usize,
    /// Connections being served.
    busy: usize,
}

impl Workers {
    fn new(max_connections: usize, idle_lifetime: Duration) -> Workers {
        Workers {
            state: Mutex::default(),
            connection_waiting: Condvar::new(),
            connection_ended: Condvar::new(),
            max_connections: max_connections.max(1),
            idle_lifetime,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, WorkerState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until fewer than `max_connections` connections are waiting
    /// or being served, so that the others wait in the listen queue.
    fn wait_for_room(&self) {
        let mut state = self.lock();
        while state.waiting.len() + state.busy >= self.max_connections {
            state = self
                .connection_ended
                .wait(state)
                .unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Hands a connection to an idle thread, or to a new one.
    fn serve(
        self: &Arc<Self>,
        gateway: &Arc<Gateway>,
        stream: Box<dyn session::Stream>,
        pipelined: bool,
    ) {
        let mut state = self.lock();
        state.waiting.push_back((stream, pipelined));
        if state.waiting.len() <= state.idle {
            self.connection_waiting.notify_one();
            return;
        }
        let (workers, for_thread) = (Arc::clone(self), Arc::clone(gateway));
        let spawned = std::thread::Builder::new()
            .name("milter".into())
            .spawn(move || workers.work(&for_thread));
        if let Err(e) = spawned {
            // Closing the connection lets the MTA apply its default action.
            state.waiting.pop_back();
            drop(state);
            gateway
                .log
                .line(&format!("maillint milter: cannot start a thread: {e}"));
        }
    }

    fn work(&self, gateway: &Gateway) {
        let mut state = self.lock();
        loop {
            match state.waiting.pop_front() {
                Some((stream, pipelined)) => {
                    state.busy += 1;
                    drop(state);
                    session::serve_connection(gateway, stream, pipelined);
                    state = self.lock();
                    state.busy -= 1;
                    self.connection_ended.notify_one();
                }
                None => {
                    state.idle += 1;
                    let (next, waited) = self
                        .connection_waiting
                        .wait_timeout(state, self.idle_lifetime)
                        .unwrap_or_else(|p| p.into_inner());
                    state = next;
                    state.idle -= 1;
                    if waited.timed_out() && state.waiting.is_empty() {
                        return;
                    }
                }
            }
        }
    }
}

/// A milter connection over TCP that acknowledges what it reads at once.
///
/// A pipelining MTA writes several small events in a row; Nagle's
/// algorithm on its side holds each one until the one before is
/// acknowledged, and Linux delays an acknowledgement (40 ms) while the
/// receiver has nothing to send: through Postfix that stalled every
/// message 45-55 ms. Quick-ack mode does not last, so it is set after
/// every read.
#[cfg(target_os = "linux")]
struct QuickAcks(std::net::TcpStream);

#[cfg(target_os = "linux")]
impl io::Read for QuickAcks {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use std::os::linux::net::TcpStreamExt;
        let read = io::Read::read(&mut self.0, buf)?;
        _ = self.0.set_quickack(true);
        Ok(read)
    }
}

#[cfg(target_os = "linux")]
impl Write for QuickAcks {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
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

    /// Serves connections until the process ends, each on a thread of
    /// its own, at most `max_connections` at once.
    ///
    /// Connections are pipelined: the MTA sends most events without
    /// waiting for their answers. Over TCP that needs the acknowledgements
    /// of `QuickAcks`, which only Linux offers; elsewhere every event is
    /// answered there.
    pub fn run(self, gateway: Arc<Gateway>) -> io::Result<()> {
        let workers = Arc::new(Workers::new(
            gateway.settings.max_connections,
            IDLE_THREAD_LIFETIME,
        ));
        let timeout = Some(Duration::from_secs(gateway.settings.timeout.max(1)));
        loop {
            workers.wait_for_room();
            let accepted: io::Result<(Box<dyn session::Stream>, bool)> = match &self {
                Server::Inet(l) => l.accept().and_then(|(s, _)| {
                    s.set_read_timeout(timeout)?;
                    s.set_write_timeout(timeout)?;
                    _ = s.set_nodelay(true);
                    #[cfg(target_os = "linux")]
                    return Ok((Box::new(QuickAcks(s)) as Box<dyn session::Stream>, true));
                    #[cfg(not(target_os = "linux"))]
                    Ok((Box::new(s) as Box<dyn session::Stream>, false))
                }),
                #[cfg(unix)]
                Server::Unix(l) => l.accept().and_then(|(s, _)| {
                    s.set_read_timeout(timeout)?;
                    s.set_write_timeout(timeout)?;
                    Ok((Box::new(s) as Box<dyn session::Stream>, true))
                }),
            };
            match accepted {
                Ok((stream, pipelined)) => workers.serve(&gateway, stream, pipelined),
                Err(e) => {
                    gateway
                        .log
                        .line(&format!("maillint milter: cannot accept a connection: {e}"));
                    // Out of file descriptors and the like: do not spin.
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
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
    let metrics = super::http::start(&gateway)?
        .map_or(String::new(), |a| format!(" metrics=http://{a}/metrics"));
    gateway.log.line(&format!(
        "maillint milter: listening on {listen} {}{metrics}",
        gateway.describe()
    ));
    server.run(gateway).map_err(|e| format!("{listen}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_threads_end_and_new_ones_start() {
        let config = Config::parse("", "maillint.toml").unwrap();
        let gateway = Arc::new(Gateway::new(config, Box::new(io::sink())).unwrap());
        let workers = Arc::new(Workers::new(4, Duration::from_millis(50)));
        let wait_until = |what: &str, done: &dyn Fn(&WorkerState) -> bool| {
            for _ in 0..1000 {
                if done(&workers.lock()) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            panic!("{what}");
        };
        // A connection the MTA closes at once.
        let closed = || Box::new(io::Cursor::new(Vec::new())) as Box<dyn session::Stream>;
        workers.serve(&gateway, closed(), true);
        wait_until("served, then idle", &|s| s.idle == 1);
        wait_until("ended after its lifetime", &|s| s.idle == 0 && s.busy == 0);
        workers.serve(&gateway, closed(), true);
        wait_until("a new thread for the next one", &|s| {
            s.waiting.is_empty() && s.idle == 1
        });
    }
}
