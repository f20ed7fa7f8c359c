//! The simulator's HTTP API (a small Stripe-like one), as the `paysim` binary serves it.
//!
//! - `POST /v1/charges` (header `Idempotency-Key`; body `{ amount, currency, card_number }`):
//!   201 with the charge, or 402 when the card is declined. The same key with the same body
//!   replays the first answer; with a different body it is a 409.
//! - `GET /v1/charges?idempotency_key=…`: the charge made under that key, or 404.
//! - `POST /v1/refunds` (header `Idempotency-Key`; body `{ charge_id, amount? }`): 201.
//! - `GET /v1/ledger`: every charge and refund, and the keys of the charge requests being
//!   handled right now (`in_flight`).
//! - `GET|POST /v1/faults`: latency, timeouts and 5xx before or after charging, for a share
//!   of calls ([`Faults`]).
//!
//! A lost answer (`timeout_rate`) is a request held open for longer than any client waits.

use crate::{Call, Exchange, Faults, Simulator};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a call whose answer is lost hangs before the connection is dropped: longer than
/// any client's timeout.
const HANG: Duration = Duration::from_secs(120);

#[derive(Clone, Debug)]
struct Front {
    simulator: Arc<Simulator>,
    in_flight: Arc<InFlight>,
}

/// The API over `simulator`.
pub fn router(simulator: Arc<Simulator>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/v1/charges", post(create_charge).get(find_charge))
        .route("/v1/refunds", post(create_refund))
        .route("/v1/ledger", get(ledger))
        .route("/v1/faults", get(get_faults).post(set_faults))
        .with_state(Front {
            simulator,
            in_flight: Arc::default(),
        })
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn respond(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [("content-type", "application/json")], body).into_response()
}

fn invalid(message: &str) -> Response {
    let answer = crate::Answer::invalid(message);
    respond(answer.status, answer.body)
}

/// What the caller of an HTTP API sees of an exchange.
async fn answer(exchange: Exchange) -> Response {
    match exchange {
        Exchange::Answered(a) => respond(a.status, a.body),
        Exchange::Lost(a) => {
            tokio::time::sleep(HANG).await;
            respond(a.status, a.body)
        }
        // `set_faults` never lets a refusal be planned here; if one were, the nearest thing a
        // server can do is to say it is unavailable.
        Exchange::Refused => refused(),
    }
}

fn refused() -> Response {
    let answer = crate::Answer::error(503, "api_error", "connection refused (simulated)");
    respond(answer.status, answer.body)
}

fn idempotency_key(headers: &HeaderMap) -> Option<&str> {
    headers.get("idempotency-key").and_then(|v| v.to_str().ok())
}

fn json_body(body: &Bytes) -> Result<Value, String> {
    serde_json::from_slice(body).map_err(|e| e.to_string())
}

async fn create_charge(State(front): State<Front>, headers: HeaderMap, body: Bytes) -> Response {
    let key = idempotency_key(&headers);
    let _in_flight = key.map(|k| front.in_flight.enter(k));
    let body = match json_body(&body) {
        Ok(v) => v,
        Err(e) => return invalid(&e),
    };
    let plan = front.simulator.plan(Call::Charge);
    tokio::time::sleep(plan.latency).await;
    answer(front.simulator.charge(&plan, key, &body, now_ms())).await
}

async fn create_refund(State(front): State<Front>, headers: HeaderMap, body: Bytes) -> Response {
    let body = match json_body(&body) {
        Ok(v) => v,
        Err(e) => return invalid(&e),
    };
    let plan = front.simulator.plan(Call::Refund);
    tokio::time::sleep(plan.latency).await;
    let key = idempotency_key(&headers);
    answer(front.simulator.refund(&plan, key, &body, now_ms())).await
}

async fn find_charge(
    State(front): State<Front>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let plan = front.simulator.plan(Call::Lookup);
    let key = params.get("idempotency_key").map(String::as_str);
    answer(front.simulator.lookup(&plan, key)).await
}

async fn ledger(State(front): State<Front>) -> Json<Value> {
    let mut ledger = front.simulator.ledger_json();
    ledger["in_flight"] = front.in_flight.keys().into();
    Json(ledger)
}

async fn get_faults(State(front): State<Front>) -> Json<Faults> {
    Json(front.simulator.faults())
}

async fn set_faults(State(front): State<Front>, body: Bytes) -> Response {
    let faults = serde_json::from_slice::<Faults>(&body)
        .map_err(|e| e.to_string())
        .and_then(Faults::checked)
        .and_then(|f| {
            if f.refused_rate > 0.0 {
                Err(
                    "refused_rate cannot be simulated over HTTP (a server that accepted the \
                     connection cannot refuse it): stop the simulator instead"
                        .to_string(),
                )
            } else {
                Ok(f)
            }
        });
    match faults {
        Ok(faults) => {
            front.simulator.set_faults(faults.clone());
            Json(faults).into_response()
        }
        Err(message) => invalid(&message),
    }
}

/// Charge requests being handled right now, by idempotency key: what lets a test act at the
/// moment a charge is in flight (the shop waiting on the gateway), instead of sleeping and
/// hoping the moment has come.
#[derive(Debug, Default)]
struct InFlight(Mutex<BTreeMap<String, usize>>);

/// One charge request being handled; it leaves the set when dropped (answered, or given up
/// because the caller hung up).
struct Entry {
    set: Arc<InFlight>,
    key: String,
}

impl InFlight {
    fn enter(self: &Arc<Self>, key: &str) -> Entry {
        if let Ok(mut keys) = self.0.lock() {
            *keys.entry(key.to_owned()).or_default() += 1;
        }
        Entry {
            set: self.clone(),
            key: key.to_owned(),
        }
    }

    /// The keys with a charge request being handled, each once, in order.
    fn keys(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|keys| keys.keys().cloned().collect())
            .unwrap_or_default()
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        if let Ok(mut keys) = self.set.0.lock()
            && let Some(count) = keys.get_mut(&self.key)
        {
            *count -= 1;
            if *count == 0 {
                keys.remove(&self.key);
            }
        }
    }
}
