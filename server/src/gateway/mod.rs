//! The payment gateway simulator: `server gateway`, its own process with its own ledger
//! database, speaking a small Stripe-like HTTP API. The shop reaches it only over HTTP, so
//! tests check the shop's invariants against a ledger the shop does not control.
//!
//! - `POST /v1/charges` (header `Idempotency-Key`; body `{ amount, currency, card_number }`):
//!   201 with the charge, or 402 when the card is declined. The same key with the same body
//!   replays the first answer; with a different body it is a 409.
//! - `GET /v1/charges?idempotency_key=…`: the charge made under that key, or 404.
//! - `POST /v1/refunds` (header `Idempotency-Key`; body `{ charge_id, amount? }`): 201.
//! - `GET /v1/ledger`: every charge and refund, and the keys of the charge requests being
//!   handled right now (`in_flight`).
//! - `GET|POST /v1/faults`: latency, timeouts and 5xx before or after charging, for a share
//!   of calls.
//!
//! Test cards: 4242 4242 4242 4242 succeeds, 4000 0000 0000 0002 is declined
//! (`card_declined`), 4000 0000 0000 9995 has `insufficient_funds`, 4000 0000 0000 0069 is an
//! `expired_card`; any other valid number succeeds.

mod faults;
mod in_flight;
mod ledger;

pub use faults::Faults;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ledger::Ledger;
use serde::Deserialize;
use serde_json::json;
use shop::db::{Db, DbOptions};
use shop::payments::CardNumber;
use std::collections::HashMap;
use std::sync::Arc;

/// The simulator's state: its ledger and its current faults.
#[derive(Clone, Debug)]
pub struct GatewayState {
    ledger: Ledger,
    faults: Arc<faults::FaultSwitch>,
    in_flight: Arc<in_flight::InFlight>,
}

/// Opens (creating if needed) the ledger at `database_url`.
pub async fn prepare(database_url: &str) -> anyhow::Result<GatewayState> {
    let db = Db::connect(database_url, &DbOptions::default()).await?;
    let ledger = Ledger::new(db);
    ledger.create_tables().await?;
    Ok(GatewayState {
        ledger,
        faults: Arc::new(faults::FaultSwitch::default()),
        in_flight: Arc::default(),
    })
}

pub fn router(state: GatewayState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/v1/charges", post(create_charge).get(find_charge))
        .route("/v1/refunds", post(create_refund))
        .route("/v1/ledger", get(ledger_dump))
        .route("/v1/faults", get(get_faults).post(set_faults))
        .with_state(state)
}

/// An error answer in the API's shape.
fn error(status: StatusCode, kind: &str, message: impl Into<String>) -> Response {
    let body = json!({ "error": { "type": kind, "message": message.into() } });
    (status, Json(body)).into_response()
}

/// The request's `Idempotency-Key`, or the 400 to answer with.
fn idempotency_key(headers: &HeaderMap) -> Result<String, Box<Response>> {
    let refuse = |message: String| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            message,
        ))
    };
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| refuse("the Idempotency-Key header is required".into()))?;
    shop::input::parse_token("Idempotency-Key", key).map_err(|e| refuse(e.to_string()))
}

#[derive(Deserialize)]
struct ChargeRequest {
    amount: i64,
    currency: String,
    card_number: String,
}

async fn create_charge(
    State(state): State<GatewayState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let key = match idempotency_key(&headers) {
        Ok(k) => k,
        Err(r) => return *r,
    };
    let _in_flight = state.in_flight.enter(&key);
    let request: ChargeRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                e.to_string(),
            );
        }
    };
    if !(1..=1_000_000_000_000).contains(&request.amount) {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "amount must be positive",
        );
    }
    let Ok(currency) = shop::Currency::parse(&request.currency) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "unknown currency",
        );
    };
    let card = match CardNumber::parse(&request.card_number) {
        Ok(c) => c,
        Err(_) => {
            return error(StatusCode::BAD_REQUEST, "card_error", "invalid card number");
        }
    };
    let plan = state.faults.plan();
    plan.delay().await;
    if plan.error_before {
        return error(
            StatusCode::BAD_GATEWAY,
            "api_error",
            "simulated failure before charging",
        );
    }
    let outcome = match state
        .ledger
        .charge(&key, request.amount, currency, &card)
        .await
    {
        Ok(o) => o,
        Err(ledger::LedgerError::KeyReused) => {
            return error(
                StatusCode::CONFLICT,
                "idempotency_error",
                "this Idempotency-Key was used for a different request",
            );
        }
        Err(ledger::LedgerError::Database(e)) => {
            tracing::error!(error = %e, "gateway ledger failed");
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "api_error",
                "ledger unavailable",
            );
        }
    };
    plan.after_charge().await;
    if plan.error_after {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "api_error",
            "simulated failure after charging",
        );
    }
    let status = StatusCode::from_u16(outcome.status).unwrap_or(StatusCode::OK);
    (status, [("content-type", "application/json")], outcome.body).into_response()
}

async fn find_charge(
    State(state): State<GatewayState>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let Some(key) = params.get("idempotency_key") else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "idempotency_key is required",
        );
    };
    match state.ledger.find_charge(key).await {
        Ok(Some(charge)) => Json(charge).into_response(),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "no charge with that key",
        ),
        Err(e) => {
            tracing::error!(error = %e, "gateway ledger failed");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "api_error",
                "ledger unavailable",
            )
        }
    }
}

#[derive(Deserialize)]
struct RefundRequest {
    charge_id: String,
    amount: Option<i64>,
}

async fn create_refund(
    State(state): State<GatewayState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let key = match idempotency_key(&headers) {
        Ok(k) => k,
        Err(r) => return *r,
    };
    let request: RefundRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                e.to_string(),
            );
        }
    };
    let plan = state.faults.plan();
    plan.delay().await;
    if plan.error_before {
        return error(
            StatusCode::BAD_GATEWAY,
            "api_error",
            "simulated failure before refunding",
        );
    }
    match state
        .ledger
        .refund(&key, &request.charge_id, request.amount)
        .await
    {
        Ok(Ok(body)) => (
            StatusCode::CREATED,
            [("content-type", "application/json")],
            body,
        )
            .into_response(),
        Ok(Err(message)) => error(StatusCode::BAD_REQUEST, "invalid_request_error", message),
        Err(e) => {
            tracing::error!(error = %e, "gateway ledger failed");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "api_error",
                "ledger unavailable",
            )
        }
    }
}

#[derive(serde::Serialize)]
struct LedgerView {
    #[serde(flatten)]
    dump: ledger::Dump,
    in_flight: Vec<String>,
}

async fn ledger_dump(State(state): State<GatewayState>) -> Response {
    match state.ledger.dump().await {
        Ok(dump) => Json(LedgerView {
            dump,
            in_flight: state.in_flight.keys(),
        })
        .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "gateway ledger failed");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "api_error",
                "ledger unavailable",
            )
        }
    }
}

async fn get_faults(State(state): State<GatewayState>) -> Json<Faults> {
    Json(state.faults.get())
}

async fn set_faults(State(state): State<GatewayState>, body: Bytes) -> Response {
    match serde_json::from_slice::<Faults>(&body)
        .map_err(|e| e.to_string())
        .and_then(Faults::checked)
    {
        Ok(faults) => {
            state.faults.set(faults.clone());
            Json(faults).into_response()
        }
        Err(message) => error(StatusCode::BAD_REQUEST, "invalid_request_error", message),
    }
}
