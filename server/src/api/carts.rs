//! `POST /carts`, `GET /carts/{cart_id}`, `PUT /carts/{cart_id}/lines/{sku}`.

use super::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use shop::Money;
use shop::cart::{Cart, CartId, LineNotice, LineQuantity};
use shop::catalog::Sku;

#[derive(Serialize)]
pub struct CartBody {
    cart_id: String,
    lines: Vec<LineBody>,
    subtotal: Option<Money>,
    item_count: i64,
    buyable: bool,
}

#[derive(Serialize)]
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

/// `POST /api/v1/carts`
pub async fn create(
    State(state): State<AppState>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let id = state.services.carts.create(state.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(json!({ "cart_id": id.as_str() }))))
}

/// `GET /api/v1/carts/{cart_id}`
pub async fn show(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<CartBody>, ApiError> {
    let Path(id) = id?;
    let id = CartId::parse(&id).map_err(|_| ApiError::not_found("no cart with that id"))?;
    Ok(Json(state.services.carts.get(&id).await?.into()))
}

#[derive(Deserialize)]
pub struct SetLine {
    quantity: i64,
}

/// `PUT /api/v1/carts/{cart_id}/lines/{sku}` with `{ "quantity": n }` (0 removes the line).
pub async fn set_line(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<Json<SetLine>, JsonRejection>,
) -> Result<Json<CartBody>, ApiError> {
    let Path((id, sku)) = path?;
    let id = CartId::parse(&id).map_err(|_| ApiError::not_found("no cart with that id"))?;
    let sku = Sku::parse(&sku)?;
    let Json(body) = body?;
    let quantity = LineQuantity::new(body.quantity)?;
    let cart = state
        .services
        .carts
        .set_line(&id, &sku, quantity, state.clock.now())
        .await?;
    Ok(Json(cart.into()))
}
