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
    feed_metrics(&state, &mut out).await;
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
    state.http_metrics.render(&mut out);
    crate::metrics::render(&state, &mut out).await;
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}

/// The picture queue: depth by state (from the database, so every node reports the same
/// queue), and this node's fetch outcomes by reason, retries and time in queue.
async fn feed_metrics(state: &AppState, out: &mut String) {
    use std::sync::atomic::Ordering::Relaxed;
    if let Ok(stats) = state.services.feeds.stats().await {
        out.push_str(
            "# HELP emporium_picture_fetches Picture URLs from feeds, by state.\n\
             # TYPE emporium_picture_fetches gauge\n",
        );
        for (status, n) in [
            ("queued", stats.queued),
            ("stored", stats.stored),
            ("needs_review", stats.needs_review),
            ("refused", stats.refused),
        ] {
            out.push_str(&format!(
                "emporium_picture_fetches{{status=\"{status}\"}} {n}\n"
            ));
        }
        out.push_str(&format!(
            "# HELP emporium_feeds_waiting Feeds queued or being processed.\n\
             # TYPE emporium_feeds_waiting gauge\nemporium_feeds_waiting {}\n",
            stats.feeds_waiting
        ));
    }
    let metrics = &state.services.feeds.metrics;
    out.push_str(
        "# HELP emporium_picture_fetch_outcomes_total Final outcomes of picture fetches on this node, by reason.\n\
         # TYPE emporium_picture_fetch_outcomes_total counter\n",
    );
    if let Ok(outcomes) = metrics.outcomes.lock() {
        for (reason, n) in outcomes.iter() {
            out.push_str(&format!(
                "emporium_picture_fetch_outcomes_total{{reason=\"{reason}\"}} {n}\n"
            ));
        }
    }
    out.push_str(&format!(
        "# HELP emporium_picture_fetch_retries_total Picture fetches scheduled again after a timeout or 5xx.\n\
         # TYPE emporium_picture_fetch_retries_total counter\nemporium_picture_fetch_retries_total {}\n\
         # HELP emporium_picture_fetch_queue_seconds Time from queueing to a final outcome.\n\
         # TYPE emporium_picture_fetch_queue_seconds summary\n\
         emporium_picture_fetch_queue_seconds_sum {:.3}\nemporium_picture_fetch_queue_seconds_count {}\n",
        metrics.retries.load(Relaxed),
        metrics.queued_ms_sum.load(Relaxed) as f64 / 1000.0,
        metrics.finished.load(Relaxed),
    ));
}
