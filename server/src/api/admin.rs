//! Admin routes: coupons. (`Admin` extractor: 401 for guests, 403 for everyone else.)

use super::ApiError;
use super::session::Admin;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use shop::coupons::{CouponCode, CouponError, Discount, NewCoupon};
use shop::{Currency, Money};

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

impl From<CouponError> for ApiError {
    fn from(e: CouponError) -> Self {
        match e {
            CouponError::Invalid(i) => i.into(),
            CouponError::Exists(code) => ApiError::new(
                StatusCode::CONFLICT,
                "coupon_exists",
                format!("a coupon {code} already exists"),
            ),
            CouponError::Db(e) => {
                super::error::unexpected("coupon", &e, shop::db::is_unavailable(&e))
            }
        }
    }
}

/// `POST /api/v1/admin/coupons`
pub async fn create_coupon(
    State(state): State<AppState>,
    Admin(_): Admin,
    body: Result<Json<CouponBody>, JsonRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let Json(body) = body?;
    let code = CouponCode::parse(&body.code)?;
    let discount = match body.kind.as_str() {
        "percent" => Discount::Percent(body.value),
        "amount" => Discount::Amount(Money::new(
            body.value,
            Currency::parse(body.currency.as_deref().unwrap_or("USD"))?,
        )),
        _ => return Err(ApiError::bad_request("kind must be percent or amount")),
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
    let coupons = state
        .services
        .coupons
        .list()
        .await
        .map_err(|e| super::error::unexpected("coupons", &e, shop::db::is_unavailable(&e)))?;
    Ok(Json(json!({ "coupons": coupons })))
}
