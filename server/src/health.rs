//! `/healthz` says the process is up; `/readyz` says whether it can serve, component by
//! component, so a load balancer can take a node out without anyone guessing why.

use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// A component's state. `Degraded` components are reported but do not make the node unready
/// (the shop still sells without them); `Down` ones do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Up,
    Degraded,
    Down,
}

#[derive(Debug, Serialize)]
pub struct Component {
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Readiness {
    pub status: Status,
    pub components: BTreeMap<&'static str, Component>,
}

pub async fn healthz() -> &'static str {
    "ok"
}

/// How long a readiness probe waits for the database before calling it down.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let mut components = BTreeMap::new();
    let database = match tokio::time::timeout(PROBE_TIMEOUT, state.db.ping()).await {
        Ok(Ok(latency)) => Component {
            status: Status::Up,
            latency_ms: Some(latency.as_secs_f64() * 1000.0),
            detail: Some(format!("{:?}", state.db.backend()).to_lowercase()),
        },
        Ok(Err(e)) => Component {
            status: Status::Down,
            latency_ms: None,
            detail: Some(e.to_string()),
        },
        Err(_) => Component {
            status: Status::Down,
            latency_ms: None,
            detail: Some(format!("no answer within {PROBE_TIMEOUT:?}")),
        },
    };
    components.insert("database", database);
    let search = state.services.search.health();
    components.insert(
        "search",
        Component {
            // Without the index, searches still answer from the database: degraded, not down.
            status: if search.ready {
                Status::Up
            } else {
                Status::Degraded
            },
            latency_ms: None,
            detail: Some(if search.ready {
                format!("index of {} products", search.documents)
            } else {
                search.detail
            }),
        },
    );
    let store = state.services.assets.store();
    let breaker = store.state();
    components.insert(
        "assets",
        Component {
            // Without the image store, pages go text-only: degraded, never down.
            // Pictures are shown only while the breaker is closed (see `AssetStore::serving`).
            status: if breaker == shop::resilience::BreakerState::Closed {
                Status::Up
            } else {
                Status::Degraded
            },
            latency_ms: Some(store.timeout().as_secs_f64() * 1000.0),
            detail: Some(format!(
                "{} (circuit {})",
                store.describe(),
                match breaker {
                    shop::resilience::BreakerState::Closed => "closed",
                    shop::resilience::BreakerState::Open => "open: pages are text-only",
                    shop::resilience::BreakerState::HalfOpen => "half-open: probing",
                }
            )),
        },
    );
    let status = if components.values().any(|c| c.status == Status::Down) {
        Status::Down
    } else if components.values().any(|c| c.status == Status::Degraded) {
        Status::Degraded
    } else {
        Status::Up
    };
    let code = if status == Status::Down {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (code, Json(Readiness { status, components }))
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
