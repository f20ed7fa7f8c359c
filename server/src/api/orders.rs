//! `GET /orders/{id}`.

use super::ApiError;
use super::extract::{Json, Known, Query};
use crate::state::AppState;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use shop::Money;
use shop::checkout::Address;
use shop::orders::{Order, OrderError, OrderId, OrderStatus, StatusChange};
use shop::pricing::{PartShipping, Totals};
use utoipa::ToSchema;

#[derive(Deserialize)]
pub struct Lookup {
    email: Option<String>,
}

/// An order as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct OrderBody {
    order_id: String,
    /// One of the statuses in docs/STATES.md.
    status: OrderStatus,
    total: Money,
    /// Subtotal, discount, shipping, tax and total, as charged: `total = subtotal − discount
    /// + shipping + tax` (with `tax_included`, the tax is inside the other amounts).
    totals: Totals,
    /// Each seller's part: its delivery method, what it cost, and its estimate in days.
    shipping: Vec<PartShipping>,
    lines: Vec<OrderLine>,
    history: Vec<StatusChange>,
    /// Milliseconds since the epoch.
    created_at: i64,
    /// Only with the order's own e-mail in `?email=`.
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    /// Only with the order's own e-mail in `?email=`.
    #[serde(skip_serializing_if = "Option::is_none")]
    shipping_address: Option<Address>,
}

#[derive(Serialize, ToSchema)]
struct OrderLine {
    sku: String,
    title: String,
    options: String,
    quantity: i64,
    unit_price: Money,
}

impl OrderBody {
    /// `order` without what only its owner may see.
    fn public(order: &Order) -> Self {
        Self {
            order_id: order.id.as_str().to_owned(),
            status: order.status,
            total: order.total,
            totals: order.totals,
            shipping: order.shipping.clone(),
            lines: order
                .lines
                .iter()
                .map(|l| OrderLine {
                    sku: l.sku.as_str().to_owned(),
                    title: l.title.clone(),
                    options: l.options.clone(),
                    quantity: l.quantity,
                    unit_price: Money::new(l.unit_price, order.total.currency),
                })
                .collect(),
            history: order.history.clone(),
            created_at: order.created_at,
            email: None,
            shipping_address: None,
        }
    }
}

/// `GET /api/v1/orders/{id}[?email=…]`: status, lines and total to whoever has the
/// (unguessable) id; the e-mail and shipping address only with the matching e-mail.
#[utoipa::path(
    get,
    path = "/orders/{id}",
    tag = "checkout",
    params(
        ("id" = String, Path, description = "The `order_id` (unguessable)."),
        ("email" = Option<String>, Query, description = "The order's e-mail (any case): adds `email` and `shipping_address`."),
    ),
    responses(
        (status = 200, description = "The order.", body = OrderBody),
        (status = 404, description = "No such order (`not_found`).", body = super::error::ErrorBody),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    Known(id, _): Known<OrderId, OrderError>,
    Query(lookup): Query<Lookup>,
) -> Result<Json<OrderBody>, ApiError> {
    let order = state.services.orders.get(&id).await?;
    let owner = lookup
        .email
        .is_some_and(|e| order.email.eq_ignore_ascii_case(e.trim()));
    let mut body = OrderBody::public(&order);
    if owner {
        body.email = Some(order.email);
        body.shipping_address = Some(order.shipping_address);
    }
    Ok(Json(body))
}
