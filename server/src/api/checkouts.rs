//! `POST /checkouts` (with `Idempotency-Key`), `GET /checkouts/{id}`.

use super::ApiError;
use super::extract::{Json, Path};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use shop::cart::CartId;
use shop::checkout::{Address, CheckoutError, CheckoutRequest, Email, IdempotencyKey, Placed};
use shop::payments::CardNumber;
use shop::pricing::Totals;
use shop::shipping::Choice;
use shop::{Money, checkout::CheckoutState};
use utoipa::ToSchema;

use super::error::ErrorBody;

#[derive(Deserialize, ToSchema)]
pub struct CheckoutBody {
    /// Text, not a `CartId`: a malformed token names no cart, so it is the 404 of an unknown
    /// one (as on the cart routes), not a 400 that tells a guesser which part was wrong.
    cart_id: String,
    #[schema(value_type = String, example = "ana@example.com")]
    email: Email,
    shipping_address: Address,
    payment: Payment,
    /// The total the client showed the shopper, in minor units; if the server's total
    /// differs, the checkout stops with `total_changed`. Prices are never taken from the
    /// request: any other price-like field is ignored.
    #[serde(default)]
    expected_total: Option<ExpectedTotal>,
    /// The delivery method per seller's part (`GET /carts/{id}/shipping` lists them); a part
    /// left out ships by its cheapest.
    #[serde(default)]
    shipping: Vec<Choice>,
}

#[derive(Deserialize, ToSchema)]
struct Payment {
    /// Goes to the payment gateway and nowhere else (only its last four digits are stored).
    #[schema(value_type = String, example = "4242 4242 4242 4242")]
    card_number: CardNumber,
}

#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
enum ExpectedTotal {
    Amount(i64),
    Money { amount: i64 },
}

/// A placed order, as the checkout stored it (`shop::checkout` writes these bytes once; a
/// replay with the same key sends them again).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CheckoutPlaced {
    checkout_id: String,
    /// `confirmed`.
    status: CheckoutState,
    order_id: String,
    /// The token of the order's secret link: `GET /orders/{order_id}?token=…` shows the order
    /// to whoever holds it.
    order_token: String,
    total: Money,
    /// Subtotal, discount, shipping, tax and total: `total = subtotal − discount + shipping +
    /// tax` (with `tax_included`, the tax is inside the other amounts and not added).
    totals: Totals,
}

/// A checkout that stopped, as stored: the error shape, plus what the failure names.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CheckoutFailed {
    /// `card_declined`, `out_of_stock`, `total_changed`, `in_flight`, `cart_empty`,
    /// `idempotency_key_reused`, `coupon_unknown`, `coupon_expired`, `coupon_used_up`,
    /// `coupon_used_by_you`, `payment_unavailable`, `payment_failed`, …
    error: String,
    message: String,
    checkout_id: Option<String>,
    /// `failed` once stopped; the attempt's state while `in_flight`.
    status: Option<CheckoutState>,
    /// `out_of_stock`: the line that ran short, and how many are left.
    sku: Option<String>,
    available: Option<i64>,
    /// `card_declined`: the gateway's reason.
    decline_code: Option<String>,
    /// `total_changed`: the server's total now, and its parts.
    total: Option<Money>,
    totals: Option<Totals>,
    /// `invalid`: each wrong field and what is wrong with it.
    #[schema(value_type = Option<std::collections::BTreeMap<String, String>>)]
    fields: Option<std::collections::BTreeMap<String, String>>,
}

/// The gateway did not answer in time: the attempt is kept and finished by recovery.
#[derive(Serialize, ToSchema)]
pub struct CheckoutPending {
    checkout_id: String,
    status: CheckoutState,
    #[schema(value_type = String)]
    message: &'static str,
}

/// `POST /api/v1/checkouts`
#[utoipa::path(
    post,
    path = "/checkouts",
    tag = "checkout",
    params(("Idempotency-Key" = String, Header, description = "8 – 64 letters, digits, `-` or `_`. The same key with the same request gets the same status and bytes.")),
    request_body(content = CheckoutBody, description = "The server prices the cart itself; prices in the request are ignored."),
    responses(
        (status = 201, description = "The order is placed.", body = CheckoutPlaced),
        (status = 202, description = "The gateway did not answer; poll the checkout.", body = CheckoutPending),
        (status = 402, description = "The card was refused (`card_declined`); nothing charged, stock released.", body = CheckoutFailed),
        (status = 404, description = "No such cart (`not_found`).", body = ErrorBody),
        (status = 409, description = "A line ran short (`out_of_stock`), the total changed (`total_changed`), the coupon no longer applies (`coupon_*`), or a request with this key is still running (`in_flight`).", body = CheckoutFailed),
        (status = 422, description = "An address field is missing or wrong (`invalid`, with `fields`: each field and its message; also `country` when the shop does not ship there, `shipping` for a method the part does not offer), nothing to buy (`cart_empty`), or this key was used for another request (`idempotency_key_reused`).", body = CheckoutFailed),
        (status = 503, description = "The gateway failed (`payment_unavailable`, `payment_failed`); nothing charged.", body = CheckoutFailed),
    ),
    security((), ("session" = [], "csrf_token" = []))
)]
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
        email: body.email,
        address: body.shipping_address.checked()?,
        card: body.payment.card_number,
        expected_total: body.expected_total.map(|t| match t {
            ExpectedTotal::Amount(a) | ExpectedTotal::Money { amount: a } => a,
        }),
        user: visit.viewer.map(|v| v.user_id),
        shipping: body.shipping,
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
            Json(CheckoutPending {
                checkout_id,
                status: state,
                message: "the payment is being confirmed; poll the checkout",
            }),
        )
            .into_response(),
        Placed::InFlight { checkout_id, state } => (
            StatusCode::CONFLICT,
            Json(InFlight {
                error: "in_flight",
                checkout_id,
                status: state,
                message: "a request with this Idempotency-Key is still being processed",
            }),
        )
            .into_response(),
    }
}

/// A request with the same key is still running (documented as a `CheckoutFailed`).
#[derive(Serialize)]
struct InFlight {
    error: &'static str,
    checkout_id: String,
    status: CheckoutState,
    message: &'static str,
}

/// A checkout attempt and where it is.
#[derive(Serialize, ToSchema)]
pub struct CheckoutStatus {
    checkout_id: String,
    /// One of the states in docs/STATES.md.
    status: CheckoutState,
    total: Money,
    order_id: Option<String>,
    /// The token of the order's secret link, once there is an order.
    order_token: Option<String>,
    /// Why it failed, once it has (`card_declined`, `out_of_stock`, …).
    error: Option<String>,
    message: Option<String>,
}

/// `GET /api/v1/checkouts/{id}`
#[utoipa::path(
    get,
    path = "/checkouts/{id}",
    tag = "checkout",
    params(("id" = String, Path, description = "The `checkout_id` from `POST /checkouts`.")),
    responses(
        (status = 200, description = "The attempt and where it is.", body = CheckoutStatus),
        (status = 404, description = "No such checkout (`not_found`).", body = ErrorBody),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CheckoutStatus>, ApiError> {
    if !id.starts_with("co_") || id.len() > 40 {
        return Err(CheckoutError::NotFound.into());
    }
    let view = state.services.checkouts.view(&id).await?;
    Ok(Json(CheckoutStatus {
        checkout_id: view.id,
        status: view.state,
        total: view.total,
        order_id: view.order_id,
        order_token: view.order_token,
        error: view.failure_code,
        message: view.failure_message,
    }))
}
