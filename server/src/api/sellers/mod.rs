//! The sellers context in the API: `/api/v1/seller/…`, authenticated with a seller's API key
//! (`Authorization: Bearer emp_sk_…`) or a signed-in seller's session. Every handler takes the
//! seller from the key, never from the request, and `shop` checks that the product belongs to
//! that seller. Products, stock and orders are in `products`; pictures in `images`.

pub mod images;
pub mod products;

use super::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use shop::catalog::SellerId;

/// The seller a request's API key belongs to.
pub struct Seller(pub SellerId);

impl FromRequestParts<AppState> for Seller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let unauthorized = || {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "sign in as a seller, or send a seller API key: Authorization: Bearer emp_sk_…",
            )
        };
        let key = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        // No key: a signed-in seller account's session will do (the same checks follow).
        let Some(key) = key else {
            let viewer = super::session::visit(parts).viewer;
            return match shop::accounts::Viewer::require_seller(viewer.as_ref()) {
                Ok(seller) => Ok(Seller(seller)),
                Err(shop::accounts::Denied::SignInRequired) => Err(unauthorized()),
                Err(denied) => Err(denied.into()),
            };
        };
        match state.services.api_keys.seller_for(key.trim()).await? {
            Some(seller) => Ok(Seller(seller)),
            None => Err(unauthorized()),
        }
    }
}

pub(in crate::api) fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response()
}

pub(in crate::api) fn query_escape(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
