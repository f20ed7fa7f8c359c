//! `POST /checkouts` (with `Idempotency-Key`), `GET /checkouts/{id}`.

use super::ApiError;
use super::extract::{Json, Path};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use shop::cart::CartId;
use shop::checkout::{Address, CheckoutError, CheckoutRequest, Email, IdempotencyKey, Placed};
use shop::payments::CardNumber;

#[derive(Deserialize)]
pub struct CheckoutBody {
    cart_id: String,
    email: String,
    shipping_address: Address,
    payment: Payment,
    /// The total the client showed the shopper, in minor units; if the server's total
    /// differs, the checkout stops with `total_changed`. Prices are never taken from the
    /// request: any other price-like field is ignored.
    #[serde(default)]
    expected_total: Option<ExpectedTotal>,
}

#[derive(Deserialize)]
struct Payment {
    card_number: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ExpectedTotal {
    Amount(i64),
    Money { amount: i64 },
}

/// `POST /api/v1/checkouts`
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    visit: Option<axum::Extension<shop::accounts::Visit>>,
    body: Result<Json<CheckoutBody>, ApiError>,
) -> Result<Response, ApiError> {
    let visit = visit.map(|axum::Extension(v)| v).unwrap_or_default();
    let key = headers
        .get("idempotency-key")
        .ok_or_else(|| ApiError::bad_request("the Idempotency-Key header is required"))?
        .to_str()
        .map_err(|_| ApiError::bad_request("the Idempotency-Key header must be plain text"))?;
    let key = IdempotencyKey::parse(key)?;
    let Json(body) = body?;
    let request = CheckoutRequest {
        cart: CartId::parse(&body.cart_id).map_err(|_| CheckoutError::CartNotFound)?,
        email: Email::parse(&body.email)?,
        address: body.shipping_address.checked()?,
        card: CardNumber::parse(&body.payment.card_number)?,
        expected_total: body.expected_total.map(|t| match t {
            ExpectedTotal::Amount(a) | ExpectedTotal::Money { amount: a } => a,
        }),
        user: visit.viewer.map(|v| v.user_id),
    };
    // On a task of its own, so a client that hangs up mid-checkout does not stop the saga
    // halfway (its answer is kept for the retry with the same key).
    let checkouts = state.services.checkouts.clone();
    let placed = tokio::spawn(async move { checkouts.place_order(&key, &request).await })
        .await
        .map_err(|e| ApiError::internal("checkout task", &e))??;
    Ok(placed_response(placed))
}

/// How a checkout result goes on the wire. A finished attempt's stored answer is sent as
/// stored, byte for byte.
pub fn placed_response(placed: Placed) -> Response {
    match placed {
        Placed::Answer { status, body, .. } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        Placed::Pending { checkout_id, state } => (
            StatusCode::ACCEPTED,
            Json(json!({
                "checkout_id": checkout_id,
                "status": state,
                "message": "the payment is being confirmed; poll the checkout",
            })),
        )
            .into_response(),
        Placed::InFlight { checkout_id, state } => (
            StatusCode::CONFLICT,
            Json(json!({
                "error": "in_flight",
                "checkout_id": checkout_id,
                "status": state,
                "message": "a request with this Idempotency-Key is still being processed",
            })),
        )
            .into_response(),
    }
}

/// `GET /api/v1/checkouts/{id}`
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if !id.starts_with("co_") || id.len() > 40 {
        return Err(CheckoutError::NotFound.into());
    }
    let view = state.services.checkouts.view(&id).await?;
    Ok(Json(json!({
        "checkout_id": view.id,
        "status": view.state,
        "total": view.total,
        "order_id": view.order_id,
        "error": view.failure_code,
        "message": view.failure_message,
    })))
}
