//! `POST /carts`, `GET /carts/{cart_id}`, `PUT /carts/{cart_id}/lines/{sku}`.

use super::ApiError;
use super::extract::{Json, Known, Path, Query};
use crate::state::AppState;
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shop::Money;
use shop::accounts::Visit;
use shop::address::Address;
use shop::cart::{Cart, CartError, CartId, CartOwner, LineNotice, LineQuantity};
use shop::catalog::Sku;
use shop::coupons::{AppliedCoupon, CouponCode};
use shop::pricing::Totals;
use utoipa::ToSchema;

use super::error::ErrorBody;

#[derive(Serialize, ToSchema)]
pub struct CartBody {
    cart_id: String,
    lines: Vec<LineBody>,
    subtotal: Option<Money>,
    /// The coupon on the cart and what it takes off now (or why it would not apply).
    coupon: Option<AppliedCoupon>,
    /// What checkout will charge: the subtotal less the coupon's discount.
    total: Option<Money>,
    item_count: i64,
    buyable: bool,
}

#[derive(Serialize, ToSchema)]
struct LineBody {
    sku: String,
    title: String,
    options: String,
    url: String,
    quantity: i64,
    unit_price: Money,
    line_total: Money,
    available: i64,
    notices: Vec<LineNotice>,
}

impl From<Cart> for CartBody {
    fn from(c: Cart) -> Self {
        Self {
            buyable: c.is_buyable(),
            total: c.total(),
            coupon: c.coupon.clone(),
            cart_id: c.id.to_string(),
            subtotal: c.subtotal,
            item_count: c.item_count,
            lines: c
                .lines
                .into_iter()
                .map(|l| LineBody {
                    url: l.url(),
                    sku: l.sku.to_string(),
                    title: l.title,
                    options: l.options,
                    quantity: l.quantity.get(),
                    unit_price: l.unit_price,
                    line_total: l.line_total,
                    available: l.available,
                    notices: l.notices,
                })
                .collect(),
        }
    }
}

/// A new cart's id.
#[derive(Serialize, ToSchema)]
pub struct CartCreated {
    cart_id: String,
}

/// `POST /api/v1/carts`
#[utoipa::path(
    post,
    path = "/carts",
    tag = "carts",
    responses((status = 201, description = "An empty guest cart.", body = CartCreated))
)]
pub async fn create(
    State(state): State<AppState>,
) -> Result<(StatusCode, Json<CartCreated>), ApiError> {
    let id = state.services.carts.create(state.clock.now()).await?;
    let cart_id = id.as_str().to_owned();
    Ok((StatusCode::CREATED, Json(CartCreated { cart_id })))
}

/// The `{cart_id}` of a cart route, read by name so that a route with more parameters takes
/// the others with an extractor of their own.
#[derive(Deserialize)]
pub struct CartPath {
    cart_id: CartId,
}

/// The cart a route names; a token that does not parse is as unknown as one that does.
type NamedCart = Known<CartPath, CartError>;

/// The `{sku}` of a line route.
#[derive(Deserialize)]
pub struct SkuPath {
    sku: Sku,
}

/// The cart, if this request may use it: a guest cart by its id, an account's cart only
/// with that account's session (another's looks absent).
async fn usable(state: &AppState, visit: &Visit, id: CartId) -> Result<CartId, ApiError> {
    match state.services.carts.owner(&id).await? {
        Some(CartOwner::Guest) => Ok(id),
        Some(CartOwner::Account(owner))
            if visit.viewer.as_ref().is_some_and(|v| v.user_id == owner) =>
        {
            Ok(id)
        }
        _ => Err(CartError::CartNotFound.into()),
    }
}

/// The cart with its coupon shown.
async fn body(state: &AppState, id: &CartId) -> Result<CartBody, ApiError> {
    let services = &state.services;
    Ok(services
        .carts
        .with_coupon(id, &services.coupons)
        .await?
        .into())
}

fn visit_of(visit: Option<Extension<Visit>>) -> Visit {
    visit.map(|Extension(v)| v).unwrap_or_default()
}

/// `GET /api/v1/carts/{cart_id}`
#[utoipa::path(
    get,
    path = "/carts/{cart_id}",
    tag = "carts",
    params(("cart_id" = String, Path, description = "The cart's token, from `POST /carts`.")),
    responses(
        (status = 200, description = "The cart at current prices and stock.", body = CartBody),
        (status = 404, description = "No such cart, or another account's (`not_found`).", body = ErrorBody),
    ),
    security((), ("session" = []))
)]
pub async fn show(
    State(state): State<AppState>,
    visit: Option<Extension<Visit>>,
    Known(CartPath { cart_id }, _): NamedCart,
) -> Result<Json<CartBody>, ApiError> {
    let id = usable(&state, &visit_of(visit), cart_id).await?;
    Ok(Json(body(&state, &id).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct SetCoupon {
    #[schema(value_type = String)]
    code: CouponCode,
}

/// `PUT /api/v1/carts/{cart_id}/coupon` with `{ "code": "…" }`: applies a coupon (the answer
/// shows whether it applies now; checkout decides).
#[utoipa::path(
    put,
    path = "/carts/{cart_id}/coupon",
    tag = "carts",
    params(("cart_id" = String, Path, description = "The cart's token, from `POST /carts`.")),
    request_body = SetCoupon,
    responses(
        (status = 200, description = "The cart with `coupon` (its discount now, or the problem) and `total`.", body = CartBody),
        (status = 404, description = "No such cart, or another account's (`not_found`).", body = ErrorBody),
    ),
    security((), ("session" = [], "csrf_token" = []))
)]
pub async fn set_coupon(
    State(state): State<AppState>,
    visit: Option<Extension<Visit>>,
    Known(CartPath { cart_id }, _): NamedCart,
    request: Result<Json<SetCoupon>, ApiError>,
) -> Result<Json<CartBody>, ApiError> {
    let id = usable(&state, &visit_of(visit), cart_id).await?;
    let Json(SetCoupon { code }) = request?;
    state
        .services
        .carts
        .set_coupon(&id, Some(&code), state.clock.now())
        .await?;
    Ok(Json(body(&state, &id).await?))
}

/// `DELETE /api/v1/carts/{cart_id}/coupon`
#[utoipa::path(
    delete,
    path = "/carts/{cart_id}/coupon",
    tag = "carts",
    params(("cart_id" = String, Path, description = "The cart's token, from `POST /carts`.")),
    responses(
        (status = 200, description = "The cart without a coupon.", body = CartBody),
        (status = 404, description = "No such cart, or another account's (`not_found`).", body = ErrorBody),
    ),
    security((), ("session" = [], "csrf_token" = []))
)]
pub async fn remove_coupon(
    State(state): State<AppState>,
    visit: Option<Extension<Visit>>,
    Known(CartPath { cart_id }, _): NamedCart,
) -> Result<Json<CartBody>, ApiError> {
    let id = usable(&state, &visit_of(visit), cart_id).await?;
    state
        .services
        .carts
        .set_coupon(&id, None, state.clock.now())
        .await?;
    Ok(Json(body(&state, &id).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct SetLine {
    /// 0 – 99; 0 removes the line.
    #[schema(minimum = 0, maximum = 99)]
    quantity: i64,
}

/// `PUT /api/v1/carts/{cart_id}/lines/{sku}` with `{ "quantity": n }` (0 removes the line).
#[utoipa::path(
    put,
    path = "/carts/{cart_id}/lines/{sku}",
    tag = "carts",
    params(
        ("cart_id" = String, Path, description = "The cart's token, from `POST /carts`."),
        ("sku" = String, Path, description = "The variant's SKU."),
    ),
    request_body = SetLine,
    responses(
        (status = 200, description = "The cart. Setting the same quantity twice is one change.", body = CartBody),
        (status = 404, description = "No such cart or SKU (`not_found`).", body = ErrorBody),
        (status = 409, description = "More than is available (`insufficient_stock`).", body = ErrorBody),
    ),
    security((), ("session" = [], "csrf_token" = []))
)]
pub async fn set_line(
    State(state): State<AppState>,
    visit: Option<Extension<Visit>>,
    Known(CartPath { cart_id }, _): NamedCart,
    sku: Result<Path<SkuPath>, ApiError>,
    request: Result<Json<SetLine>, ApiError>,
) -> Result<Json<CartBody>, ApiError> {
    // In this order: an unknown cart is a 404 before a malformed SKU or body is a 400.
    let id = usable(&state, &visit_of(visit), cart_id).await?;
    let Path(SkuPath { sku }) = sku?;
    let Json(request) = request?;
    let quantity = LineQuantity::new(request.quantity)?;
    state
        .services
        .carts
        .set_line(&id, &sku, quantity, state.clock.now())
        .await?;
    Ok(Json(body(&state, &id).await?))
}

#[derive(Deserialize)]
pub struct ShippingQuery {
    country: Option<String>,
    region: Option<String>,
    postal_code: Option<String>,
}

/// What the cart costs delivered to an address.
#[derive(Serialize, ToSchema)]
pub struct ShippingBody {
    /// One per seller whose goods are in the cart: each ships on its own.
    parts: Vec<ShippingPart>,
    /// The totals with the cheapest option of each part (what checkout charges if the shopper
    /// picks no other): `total = subtotal − discount + shipping + tax`.
    estimate: Totals,
}

#[derive(Serialize, ToSchema)]
struct ShippingPart {
    /// The seller's id (what `POST /checkouts` takes in `shipping`).
    seller: i64,
    seller_name: String,
    /// Cheapest first.
    options: Vec<ShippingOptionBody>,
}

#[derive(Serialize, ToSchema)]
struct ShippingOptionBody {
    /// The method's code (what `POST /checkouts` takes in `shipping`).
    method: String,
    name: String,
    amount: Money,
    /// The delivery estimate in days, `[min, max]`.
    days: [u16; 2],
}

/// `GET /api/v1/carts/{cart_id}/shipping?country=US&region=CA&postal_code=94103`
#[utoipa::path(
    get,
    path = "/carts/{cart_id}/shipping",
    tag = "carts",
    params(
        ("cart_id" = String, Path, description = "The cart's token, from `POST /carts`."),
        ("country" = String, Query, description = "ISO 3166-1 alpha-2 code, such as `US`."),
        ("region" = Option<String>, Query, description = "The state or province (required in the US and Canada): its code (`CA`) or name."),
        ("postal_code" = Option<String>, Query, description = "Checked against the country's format when given."),
    ),
    responses(
        (status = 200, description = "Each seller's delivery options and the estimated totals.", body = ShippingBody),
        (status = 404, description = "No such cart, or another account's (`not_found`).", body = ErrorBody),
        (status = 422, description = "The address is incomplete or wrong, the cart is empty, or the shop does not ship there (`invalid`, with `fields`).", body = ErrorBody),
    ),
    security((), ("session" = []))
)]
pub async fn shipping(
    State(state): State<AppState>,
    visit: Option<Extension<Visit>>,
    Known(CartPath { cart_id }, _): NamedCart,
    Query(query): Query<ShippingQuery>,
) -> Result<Json<ShippingBody>, ApiError> {
    let id = usable(&state, &visit_of(visit), cart_id).await?;
    let (country, region, _) = Address::parse_area(
        query.country.as_deref().unwrap_or(""),
        query.region.as_deref().unwrap_or(""),
        query.postal_code.as_deref().unwrap_or(""),
    )?;
    let services = &state.services;
    let cart = services.carts.with_coupon(&id, &services.coupons).await?;
    let quote = services
        .rates
        .quote_cart(&cart, &country, &region, &[])
        .await
        .map_err(|e| match e.field_errors() {
            Some(fields) => ApiError::from(fields),
            None => ApiError::from(e),
        })?;
    let currency = quote.breakdown.totals.total.currency;
    Ok(Json(ShippingBody {
        parts: quote
            .parts
            .into_iter()
            .map(|p| ShippingPart {
                seller: p.seller,
                seller_name: p.seller_name,
                options: p
                    .options
                    .into_iter()
                    .map(|o| ShippingOptionBody {
                        method: o.method,
                        name: o.name,
                        amount: Money::new(o.amount, currency),
                        days: o.days,
                    })
                    .collect(),
            })
            .collect(),
        estimate: quote.breakdown.totals,
    }))
}
