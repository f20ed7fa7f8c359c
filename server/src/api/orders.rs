//! `GET /orders/{id}`.

use super::ApiError;
use super::extract::{Json, Known, Query};
use super::session::Visitor;
use crate::state::AppState;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use shop::Money;
use shop::checkout::Address;
use shop::orders::{Access, Order, OrderError, OrderId, OrderStatus, RefundView, StatusChange};
use shop::pricing::{PartShipping, Totals};
use utoipa::ToSchema;

#[derive(Deserialize)]
pub struct Lookup {
    /// The order's secret-link token.
    token: Option<String>,
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
    email: String,
    shipping_address: Address,
    /// What was given back, oldest first: each refund's amount, `status` (`pending`,
    /// `succeeded`, `failed`) and reason.
    refunds: Vec<RefundView>,
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
    /// `order` as its owner sees it, with its refunds.
    fn of(order: Order, refunds: Vec<RefundView>) -> Self {
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
            email: order.email,
            shipping_address: order.shipping_address,
            refunds,
        }
    }
}

/// `GET /api/v1/orders/{id}[?token=…]`: the order, to its signed-in owner, an admin, or
/// whoever holds its secret link (the token is in the checkout's answer, on the confirmation
/// page and in the order's mail). Anyone else gets `404`, as for an order that does not exist.
#[utoipa::path(
    get,
    path = "/orders/{id}",
    tag = "checkout",
    params(
        ("id" = String, Path, description = "The `order_id` (unguessable)."),
        ("token" = Option<String>, Query, description = "The order's secret-link token (`order_token` in the checkout's answer)."),
    ),
    responses(
        (status = 200, description = "The order.", body = OrderBody),
        (status = 404, description = "No such order, or not one this caller may see (`not_found`).", body = super::error::ErrorBody),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    Visitor(viewer): Visitor,
    Known(id, _): Known<OrderId, OrderError>,
    Query(lookup): Query<Lookup>,
) -> Result<Json<OrderBody>, ApiError> {
    let access = Access {
        viewer: viewer.as_ref(),
        token: lookup.token.as_deref(),
    };
    let order = state.services.orders.get_for(&id, access).await?;
    let refunds = state.services.refunds.for_order(&id).await?;
    Ok(Json(OrderBody::of(order, refunds)))
}
