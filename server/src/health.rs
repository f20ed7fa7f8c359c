//! `/healthz` says the process is up; `/readyz` says whether it can serve, component by
//! component, so a load balancer can take a node out without anyone guessing why; `/metrics`
//! is the node's page for Prometheus.
//!
//! The node's insides are for its operators: `/readyz`'s details (a database's error, the
//! image store's bucket or folder) go only to loopback and to signed-in admins, everyone else
//! gets the status alone; `/metrics` answers loopback (a scraper on the node, the chaos run)
//! and whoever shows the operator's token (`Authorization: Bearer`, `EMPORIUM_METRICS_TOKEN`),
//! and no one else. "Loopback" is the client's address as the session layer saw it: behind
//! a proxy, only with `EMPORIUM_TRUST_FORWARDED_FOR` does the proxy's own address not count.

use crate::api::ApiError;
use crate::state::AppState;
pub use app::health::{Component, Readiness, Status};
use axum::Json;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use shop::accounts::{Viewer, Visit};

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz(State(state): State<AppState>, parts: Parts) -> (StatusCode, Json<Readiness>) {
    let readiness = state
        .readiness
        .get_with(app::health::readiness(&state.services))
        .await;
    let code = if readiness.status == Status::Down {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let visit = crate::api::session::visit(&parts);
    let admin = Viewer::require_admin(visit.viewer.as_ref()).is_ok();
    if admin || from_loopback(&visit) {
        (code, Json((*readiness).clone()))
    } else {
        (code, Json(readiness.status_only()))
    }
}

/// `GET /metrics`: the node's counters, gauges and histograms in Prometheus' text format
/// (see `crate::metrics`), for loopback and the holder of the metrics token.
pub async fn metrics(State(state): State<AppState>, parts: Parts) -> Response {
    let visit = crate::api::session::visit(&parts);
    let token = state.settings.http.metrics_token.as_ref();
    if !from_loopback(&visit) && !bearer_matches(&parts.headers, token) {
        let mut refusal = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "The metrics are for the shop's operators.",
        )
        .into_response();
        refusal
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return refusal;
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::metrics::render(&state).await,
    )
        .into_response()
}

/// Whether the request came from this machine.
fn from_loopback(visit: &Visit) -> bool {
    visit
        .address
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// Whether the request shows `Authorization: Bearer <token>` with the configured token.
/// Compared as SHA-256 digests: how long a comparison takes tells nothing of the token.
fn bearer_matches(headers: &HeaderMap, token: Option<&SecretString>) -> bool {
    // An empty token is no token: it would let in `Bearer ` with nothing after it.
    let Some(token) = token.filter(|t| !t.expose_secret().is_empty()) else {
        return false;
    };
    let shown = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    shown.is_some_and(|shown| {
        Sha256::digest(shown.trim().as_bytes()) == Sha256::digest(token.expose_secret().as_bytes())
    })
}
