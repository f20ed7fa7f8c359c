//! Admin routes: coupons. (`Admin` extractor: 401 for guests, 403 for everyone else.)

use super::ApiError;
use super::extract::Json;
use super::session::Admin;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use shop::coupons::{CouponCode, Discount, NewCoupon};
use shop::{Currency, InvalidInput, Money};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CouponBody {
    code: String,
    /// `percent` or `amount`.
    kind: String,
    /// Percent (1–100) or minor units.
    value: i64,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    per_customer_limit: Option<i64>,
    #[serde(default)]
    total_limit: Option<i64>,
    /// Milliseconds since the epoch.
    #[serde(default)]
    expires_at: Option<i64>,
}

/// `POST /api/v1/admin/coupons`
pub async fn create_coupon(
    State(state): State<AppState>,
    Admin(_): Admin,
    Json(body): Json<CouponBody>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let code = CouponCode::parse(&body.code)?;
    let discount = match body.kind.as_str() {
        "percent" => Discount::Percent(body.value),
        "amount" => Discount::Amount(Money::new(
            body.value,
            Currency::parse(body.currency.as_deref().unwrap_or("USD"))?,
        )),
        _ => return Err(InvalidInput::new("kind", "must be percent or amount").into()),
    };
    state
        .services
        .coupons
        .create(&NewCoupon {
            code: code.clone(),
            discount,
            per_customer_limit: body.per_customer_limit,
            total_limit: body.total_limit,
            expires_at: body.expires_at,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "code": code }))))
}

/// `GET /api/v1/admin/coupons`
pub async fn list_coupons(
    State(state): State<AppState>,
    Admin(_): Admin,
) -> Result<Json<serde_json::Value>, ApiError> {
    let coupons = state.services.coupons.list().await?;
    Ok(Json(json!({ "coupons": coupons })))
}
