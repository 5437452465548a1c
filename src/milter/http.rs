//! `/metrics` over HTTP, where `[milter] metrics` is set: a small server
//! on the milter's event loop, beside the MTA's connections. Bounded, so
//! that a slow or hostile scraper never holds up mail: a few connections
//! at once, a deadline to send the request and one for the whole
//! exchange, one request a connection; the answer is encoded from
//! counters without waiting on anything.

use super::Gateway;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Scrapers served at once; more wait for a free slot.
const MAX_CONNECTIONS: usize = 8;
/// Time a client has to send its request's header.
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// Time for a whole exchange, the answer included.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(10);

/// What a small HTTP server holds for its clients at most (this one's
/// `/metrics`, and `maillint web`'s page).
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Connections served at once; more wait in the listener's backlog
    /// until one closes.
    pub connections: usize,
    /// Time a client has to send its request's header.
    pub header: Duration,
    /// Time for a whole exchange, the request's body and the answer
    /// included.
    pub exchange: Duration,
    /// The setting that sets `connections`, for the log.
    pub setting: &'static str,
}

/// Binds the metrics address the configuration names, if it names one,
/// before the milter starts (so that a taken port stops the start);
/// [`serve`] serves it once the event loop runs.
pub(super) fn bind(gateway: &Gateway) -> Result<Option<std::net::TcpListener>, String> {
    let Some(address) = gateway.settings.metrics else {
        return Ok(None);
    };
    let address = address.0;
    std::net::TcpListener::bind(address)
        .and_then(|listener| listener.set_nonblocking(true).map(|()| listener))
        .map(Some)
        .map_err(|e| format!("cannot serve metrics on {address}: {e}"))
}

/// Serves `/metrics` on `listener` for as long as the event loop runs.
pub(super) async fn serve(listener: std::net::TcpListener, gateway: Arc<Gateway>) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            gateway
                .log
                .line(&format!("maillint milter: cannot serve metrics: {e}"));
            return;
        }
    };
    let bounds = Bounds {
        connections: MAX_CONNECTIONS,
        header: HEADER_TIMEOUT,
        exchange: EXCHANGE_TIMEOUT,
        setting: "the metrics endpoint's own limit",
    };
    let log = |line: &str| {
        gateway
            .log
            .line(&format!("maillint milter: metrics: {line}"))
    };
    serve_bounded(listener, bounds, log, |_| {
        let gateway = Arc::clone(&gateway);
        hyper::service::service_fn(move |request| {
            let response = respond(&gateway, &request);
            async move { Ok::<_, Infallible>(response) }
        })
    })
    .await;
}

/// Serves HTTP/1 on `listener`, one request a connection, within
/// `bounds`: a client that holds a connection without sending its
/// request, or sends or reads it too slowly, loses it, and no more than
/// `bounds.connections` are served at once, so that idle or slow clients
/// can hold up the others only for a bounded time. `service` makes a
/// connection's service from its client's address; `log` is told when
/// the connections are all taken and when one cannot be accepted.
pub async fn serve_bounded<S, B>(
    listener: tokio::net::TcpListener,
    bounds: Bounds,
    log: impl Fn(&str),
    service: impl Fn(SocketAddr) -> S,
) where
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    S::Future: Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let slots = Arc::new(tokio::sync::Semaphore::new(bounds.connections.max(1)));
    loop {
        if slots.available_permits() == 0 {
            log(&format!(
                "limit reached: {} connections open ({}); new ones wait until one closes",
                bounds.connections.max(1),
                bounds.setting
            ));
        }
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                log(&format!("cannot accept a connection: {e}"));
                // Out of file descriptors and the like: do not spin.
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let exchange = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(bounds.header)
            .keep_alive(false)
            .serve_connection(TokioIo::new(stream), service(peer));
        tokio::spawn(async move {
            // A client too slow to send its request or read its answer
            // is dropped.
            _ = tokio::time::timeout(bounds.exchange, exchange).await;
            drop(slot);
        });
    }
}

fn respond(gateway: &Gateway, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    let (status, content_type, body) = match (request.method(), request.uri().path()) {
        (&Method::GET, "/metrics") => (
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            gateway.metrics(),
        ),
        (_, "/metrics") => (
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain; charset=utf-8",
            "GET only\n".to_string(),
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "maillint serves /metrics only\n".to_string(),
        ),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(value) = content_type.parse() {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A server within `bounds` on a port of its own, in a runtime of its
    /// own, whose every request waits for `go` (a permit each) and is
    /// counted in `running` while it waits; its address. (Its deadlines
    /// are tested through the servers that use it: tests/metrics.rs,
    /// tests/held.rs.)
    fn start(
        bounds: Bounds,
        running: Arc<AtomicUsize>,
        go: Arc<tokio::sync::Semaphore>,
    ) -> SocketAddr {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let address = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                serve_bounded(
                    listener,
                    bounds,
                    |_| {},
                    |_| {
                        let (running, go) = (Arc::clone(&running), Arc::clone(&go));
                        hyper::service::service_fn(move |_request| {
                            let (running, go) = (Arc::clone(&running), Arc::clone(&go));
                            async move {
                                running.fetch_add(1, Ordering::SeqCst);
                                go.acquire().await.unwrap().forget();
                                running.fetch_sub(1, Ordering::SeqCst);
                                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("ok"))))
                            }
                        })
                    },
                )
                .await;
            });
        });
        address
    }

    fn request(address: SocketAddr) -> std::net::TcpStream {
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        // A server that never answers fails the test rather than hangs it.
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        stream
    }

    /// What the server sends before it closes the connection.
    fn answer(mut stream: std::net::TcpStream) -> String {
        let mut out = Vec::new();
        stream.read_to_end(&mut out).unwrap();
        String::from_utf8_lossy(&out).into_owned()
    }

    const LONG: Duration = Duration::from_secs(3600);

    #[test]
    fn no_more_connections_than_the_bound_are_served_at_once() {
        let running = Arc::new(AtomicUsize::new(0));
        let go = Arc::new(tokio::sync::Semaphore::new(0));
        let bounds = Bounds {
            connections: 2,
            header: LONG,
            exchange: LONG,
            setting: "test",
        };
        let address = start(bounds, Arc::clone(&running), Arc::clone(&go));
        let clients: Vec<_> = (0..6).map(|_| request(address)).collect();
        while running.load(Ordering::SeqCst) < 2 {
            std::thread::yield_now();
        }
        // The others wait: however long we look, two are in service.
        for _ in 0..50 {
            assert_eq!(running.load(Ordering::SeqCst), 2);
            std::thread::sleep(Duration::from_millis(2));
        }
        go.add_permits(6);
        for client in clients {
            assert!(answer(client).starts_with("HTTP/1.1 200"));
        }
    }
}
