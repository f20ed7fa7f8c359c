//! `/healthz` says the process is up; `/readyz` says whether it can serve, component by
//! component, so a load balancer can take a node out without anyone guessing why.

use crate::state::AppState;
pub use app::health::{Component, Readiness, Status};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let readiness = app::health::readiness(&state.services).await;
    let code = if readiness.status == Status::Down {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (code, Json(readiness))
}

/// `GET /metrics`: the node's counters, gauges and histograms in Prometheus' text format
/// (see `crate::metrics`).
pub async fn metrics(State(state): State<AppState>) -> impl axum::response::IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::metrics::render(&state).await,
    )
}
