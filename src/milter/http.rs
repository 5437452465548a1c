//! `/metrics` over HTTP, where `[milter] metrics` is set: a small server
//! on a thread and tokio runtime of its own, so that a slow scraper never
//! holds up mail. Bounded: a few connections at once, a deadline to send
//! the request and one for the whole exchange, one request a connection.

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

/// Serves the gateway's metrics where the configuration says, if it says:
/// binds at once (so that a taken port stops the start), logs where, and
/// serves on a thread for as long as the process runs.
pub(super) fn start(gateway: &Arc<Gateway>) -> Result<Option<SocketAddr>, String> {
    let Some(address) = gateway.settings.metrics else {
        return Ok(None);
    };
    let address = address.0;
    let bound = std::net::TcpListener::bind(address)
        .and_then(|listener| listener.set_nonblocking(true).map(|()| listener))
        .map_err(|e| format!("cannot serve metrics on {address}: {e}"))?;
    let local = bound.local_addr().unwrap_or(address);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot serve metrics: {e}"))?;
    let gateway = Arc::clone(gateway);
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || runtime.block_on(serve(bound, gateway)))
        .map_err(|e| format!("cannot serve metrics: {e}"))?;
    Ok(Some(local))
}

async fn serve(listener: std::net::TcpListener, gateway: Arc<Gateway>) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            gateway
                .log
                .line(&format!("maillint milter: cannot serve metrics: {e}"));
            return;
        }
    };
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                gateway.log.line(&format!(
                    "maillint milter: cannot accept a metrics connection: {e}"
                ));
                // Out of file descriptors and the like: do not spin.
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let gateway = Arc::clone(&gateway);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let response = respond(&gateway, &request);
                async move { Ok::<_, Infallible>(response) }
            });
            let exchange = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service);
            // A client too slow to read its answer is dropped.
            _ = tokio::time::timeout(EXCHANGE_TIMEOUT, exchange).await;
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
