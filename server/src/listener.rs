//! The HTTP listener: hyper's server with the bounds a public node needs, which
//! `axum::serve` does not set.
//!
//! - **Connections**: at most `max_connections` are served at once. One over the limit is
//!   answered `503` with `Retry-After` and closed, at once: a flood meets a clear refusal,
//!   never a queue that grows without bound.
//! - **Slow headers**: a request's head must arrive within `header_timeout` (hyper's own
//!   timer), so a client trickling a byte a second (slowloris) loses its connection instead
//!   of holding it.
//! - **Slow bodies** are bounded by a layer on the router (see `router`).
//!
//! On shutdown the listener stops accepting, and connections finish the request they are
//! serving (hyper's graceful shutdown), within the caller's grace period.

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// How many connections, and how long a request's head may take.
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    pub max_connections: usize,
    pub header_timeout: Duration,
}

/// Accepts and serves connections until `shutdown` resolves; then stops accepting and lets
/// the connections in flight finish, for at most `grace`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    bounds: Bounds,
    shutdown: Pin<Box<dyn Future<Output = ()> + Send>>,
    grace: Duration,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(bounds.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(bounds.header_timeout);
    builder.http2().timer(TokioTimer::new());
    let mut shutdown = shutdown;
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, a connection reset before accept: the
                    // listener itself is fine; wait a moment rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let io = TokioIo::new(stream);
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            metrics::counter!("emporium_connections_refused_total").increment(1);
            let refuse =
                TowerToHyperService::new(tower::service_fn(|_: http::Request<Incoming>| {
                    std::future::ready(Ok::<_, std::convert::Infallible>(busy()))
                }));
            let connection = builder.serve_connection(io, refuse).into_owned();
            tokio::spawn(async move {
                let _ = connection.await;
            });
            continue;
        };
        let app = app.clone();
        let service = TowerToHyperService::new(tower::service_fn(
            move |mut request: http::Request<Incoming>| {
                // What `into_make_service_with_connect_info` would add: the rate limits and
                // the logs read the client's address from it.
                request.extensions_mut().insert(ConnectInfo(remote));
                app.clone().oneshot(request.map(Body::new))
            },
        ));
        let connection = graceful.watch(
            builder
                .serve_connection_with_upgrades(io, service)
                .into_owned(),
        );
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::trace!(error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    tracing::info!("shutting down: finishing requests in flight");
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => {
            tracing::warn!(?grace, "requests still running after the grace period; stopping anyway");
        }
    }
    Ok(())
}

/// The answer on a connection over the limit.
fn busy() -> http::Response<Body> {
    http::Response::builder()
        .status(http::StatusCode::SERVICE_UNAVAILABLE)
        .header(http::header::RETRY_AFTER, "1")
        .header(http::header::CONNECTION, "close")
        .header(http::header::CACHE_CONTROL, "no-store")
        .body(Body::from(
            "The shop is very busy; please try again in a moment.",
        ))
        .unwrap_or_default()
}
