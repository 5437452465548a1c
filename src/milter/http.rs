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
use std::sync::Arc;
use std::time::Duration;

/// Scrapers served at once; more wait for a free slot.
const MAX_CONNECTIONS: usize = 8;
/// Time a client has to send its request's header.
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// Time for a whole exchange, the answer included.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(10);

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
