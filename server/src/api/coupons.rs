//! The coupons context in the API: `/api/v1/admin/coupons` (the `Admin` extractor: 401 for
//! guests, 403 for everyone else).

use super::ApiError;
use super::extract::Json;
use super::session::Admin;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shop::Currency;
use shop::coupons::{CouponCode, CouponRow, Discount, NewCoupon};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CouponBody {
    #[schema(value_type = String)]
    code: CouponCode,
    /// `percent` or `amount`.
    kind: String,
    /// Percent (1–100) or minor units.
    value: i64,
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = "^[A-Z]{3}$", example = "USD")]
    currency: Option<Currency>,
    #[serde(default)]
    per_customer_limit: Option<i64>,
    #[serde(default)]
    total_limit: Option<i64>,
    /// Milliseconds since the epoch.
    #[serde(default)]
    expires_at: Option<i64>,
}

/// A coupon made.
#[derive(Serialize, ToSchema)]
pub struct CouponCreated {
    #[schema(value_type = String)]
    code: CouponCode,
}

/// Every coupon.
#[derive(Serialize, ToSchema)]
pub struct CouponList {
    coupons: Vec<CouponRow>,
}

/// `POST /api/v1/admin/coupons`
#[utoipa::path(
    post,
    path = "/admin/coupons",
    tag = "admin",
    request_body = CouponBody,
    responses(
        (status = 201, description = "The coupon exists.", body = CouponCreated),
        (status = 409, description = "The code is taken (`coupon_exists`).", body = super::error::ErrorBody),
    ),
    security(("session" = [], "csrf_token" = []))
)]
pub async fn create_coupon(
    State(state): State<AppState>,
    Admin(_): Admin,
    Json(body): Json<CouponBody>,
) -> Result<(StatusCode, Json<CouponCreated>), ApiError> {
    let currency = body.currency.unwrap_or(Currency::shop()).to_string();
    let discount = Discount::parse(&body.kind, body.value, &currency)?;
    state
        .services
        .coupons
        .create(&NewCoupon {
            code: body.code.clone(),
            discount,
            per_customer_limit: body.per_customer_limit,
            total_limit: body.total_limit,
            expires_at: body.expires_at,
        })
        .await?;
    let code = body.code;
    Ok((StatusCode::CREATED, Json(CouponCreated { code })))
}

/// `GET /api/v1/admin/coupons`
#[utoipa::path(
    get,
    path = "/admin/coupons",
    tag = "admin",
    responses(
        (status = 200, description = "Every coupon, with how often it was redeemed.", body = CouponList),
    ),
    security(("session" = []))
)]
pub async fn list_coupons(
    State(state): State<AppState>,
    Admin(_): Admin,
) -> Result<Json<CouponList>, ApiError> {
    let coupons = state.services.coupons.list().await?;
    Ok(Json(CouponList { coupons }))
}
