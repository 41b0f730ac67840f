//! Serving the router over HTTP/1 with bounds on slow clients ([`HttpLimits`]).
//!
//! `axum::serve` sets none: a client that opens a connection and never finishes its headers
//! holds it for ever. Here each connection is driven by hyper's HTTP/1 connection builder:
//!
//! - **header read** — hyper's `header_read_timeout`: the full request head must arrive within
//!   [`HttpLimits::header_read_timeout`] of the connection opening, or of the previous response
//!   on a kept-alive connection (the timer runs whenever the connection waits for a request);
//!   otherwise the connection is closed without an answer.
//! - **body** — tower-http's `RequestBodyTimeoutLayer`: a body that stops arriving (no data)
//!   for [`HttpLimits::body_timeout`] fails to read and the request is answered 408; a body
//!   trickling in slower than that is bounded by the request timeout.
//! - **request** — tower-http's `TimeoutLayer`: a request not answered within
//!   [`HttpLimits::request_timeout`] is answered 408.
//! - **idle** — `tokio-io-timeout` on the socket: a read or a write that waits on the peer for
//!   [`HttpLimits::idle_timeout`] (a client that stops reading its response, a half-sent body
//!   past its deadline) fails and the connection is closed.
//! - **connections** — a semaphore of [`HttpLimits::max_connections`] permits, taken *before*
//!   accepting: at the bound, new clients wait in the kernel's listen backlog (they are not
//!   refused) and are accepted as soon as a connection closes — which the timeouts above make
//!   happen within seconds for slow clients.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_io_timeout::TimeoutStream;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

use crate::config::HttpLimits;

/// `router` with the body and request timeouts of `limits`.
pub fn with_timeouts(router: Router, limits: &HttpLimits) -> Router {
    router
        .layer(RequestBodyTimeoutLayer::new(limits.body_timeout))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, limits.request_timeout))
}

/// Serves `router` on `listener` under `limits` until `stop` resolves; then stops accepting,
/// lets in-flight requests finish (idle kept-alive connections are closed) and returns.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &HttpLimits,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = with_timeouts(router, limits);
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    let graceful = GracefulShutdown::new();
    tokio::pin!(stop);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut stop => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait rather than spin (as axum does).
                    tracing::error!(%error, "accepting a connection failed; trying again in a second");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let mut stream = TimeoutStream::new(stream);
        stream.set_read_timeout(Some(limits.idle_timeout));
        stream.set_write_timeout(Some(limits.idle_timeout));
        // The peer address feeds the per-client limits of sign-ins and challenges.
        let service = tower::ServiceExt::map_request(
            router.clone(),
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
                request
            },
        );
        let connection = http.serve_connection(TokioIo::new(Box::pin(stream)), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                // A slow or vanished client: normal, and not the server's fault.
                tracing::debug!(%error, "connection closed");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
