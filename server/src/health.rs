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

/// `GET /metrics`: the node's counters and gauges in Prometheus' text format.
pub async fn metrics(State(state): State<AppState>) -> impl axum::response::IntoResponse {
    let search = state.services.search.health();
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
        ));
    };
    metric(
        "emporium_search_index_ready",
        "gauge",
        "1 when searches use the index, 0 while the database answers them (degraded).",
        u64::from(search.ready),
    );
    metric(
        "emporium_search_documents",
        "gauge",
        "Products in this node's search index.",
        search.documents,
    );
    metric(
        "emporium_search_queries_total",
        "counter",
        "Searches answered since start.",
        search.queries,
    );
    metric(
        "emporium_search_degraded_queries_total",
        "counter",
        "Searches the database answered because the index was unavailable.",
        search.degraded_queries,
    );
    let store = state.services.assets.store();
    let m = store.metrics();
    let load = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    metric(
        "emporium_asset_store_available",
        "gauge",
        "1 while pictures are shown, 0 while the image store's breaker is open (text-only pages).",
        u64::from(store.serving()),
    );
    metric(
        "emporium_asset_store_calls_total",
        "counter",
        "Calls made to the image store.",
        load(&m.calls),
    );
    metric(
        "emporium_asset_store_failures_total",
        "counter",
        "Image store calls that failed or timed out.",
        load(&m.failures),
    );
    metric(
        "emporium_asset_store_rejected_total",
        "counter",
        "Image store calls refused at once because the breaker was open.",
        load(&m.rejected),
    );
    out.push_str(
        "# HELP emporium_asset_breaker_transitions_total Image store breaker state changes, by the state entered.\n\
         # TYPE emporium_asset_breaker_transitions_total counter\n",
    );
    for (to, counter) in [
        ("open", &m.opened),
        ("half_open", &m.half_opened),
        ("closed", &m.closed),
    ] {
        out.push_str(&format!(
            "emporium_asset_breaker_transitions_total{{to=\"{to}\"}} {}\n",
            load(counter)
        ));
    }
    if let Some(limits) = state.rate_limits.as_deref() {
        out.push_str(
            "# HELP emporium_rate_limited_total Requests refused with 429, by route class.\n\
             # TYPE emporium_rate_limited_total counter\n",
        );
        for (class, n) in limits.refusals() {
            out.push_str(&format!(
                "emporium_rate_limited_total{{class=\"{class}\"}} {n}\n"
            ));
        }
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}
