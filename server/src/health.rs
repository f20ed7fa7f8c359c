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
