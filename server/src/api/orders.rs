//! `GET /orders/{id}`.

use super::ApiError;
use super::extract::{Json, Path, Query};
use crate::state::AppState;
use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
use shop::orders::{OrderError, OrderId};

#[derive(Deserialize)]
pub struct Lookup {
    email: Option<String>,
}

/// `GET /api/v1/orders/{id}[?email=…]`: status, lines and total to whoever has the
/// (unguessable) id; the e-mail and shipping address only with the matching e-mail.
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(lookup): Query<Lookup>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = OrderId::parse(&id).map_err(|_| OrderError::NotFound)?;
    let order = state.services.orders.get(&id).await?;
    let owner = lookup
        .email
        .is_some_and(|e| order.email.eq_ignore_ascii_case(e.trim()));
    let mut body = json!({
        "order_id": order.id,
        "status": order.status,
        "total": order.total,
        "lines": order.lines.iter().map(|l| json!({
            "sku": l.sku,
            "title": l.title,
            "options": l.options,
            "quantity": l.quantity,
            "unit_price": { "amount": l.unit_price, "currency": order.total.currency },
        })).collect::<Vec<_>>(),
        "history": order.history,
        "created_at": order.created_at,
    });
    if owner && let Some(map) = body.as_object_mut() {
        map.insert("email".into(), json!(order.email));
        map.insert("shipping_address".into(), json!(order.shipping_address));
    }
    Ok(Json(body))
}
