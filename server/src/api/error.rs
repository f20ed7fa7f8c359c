//! The API's one error shape: `{ "error": code, "message": text }` with the right status.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use shop::InvalidInput;
use shop::catalog::CatalogError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(json!({ "error": self.code, "message": self.message }));
        (self.status, body).into_response()
    }
}

impl From<InvalidInput> for ApiError {
    fn from(e: InvalidInput) -> Self {
        ApiError::bad_request(format!("{} {}", e.field, e.message))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        ApiError::bad_request(format!("malformed query string: {}", e.body_text()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(e: PathRejection) -> Self {
        ApiError::bad_request(format!("malformed path: {}", e.body_text()))
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> Self {
        // A body of the wrong shape is as malformed as one that does not parse: 400 for
        // both (axum would say 422 for the first), 413 and 415 where they apply.
        let (status, code) = match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            _ => (StatusCode::BAD_REQUEST, "bad_request"),
        };
        ApiError::new(
            status,
            code,
            format!("malformed JSON body: {}", e.body_text()),
        )
    }
}

/// Logs an unexpected failure once and turns it into a 503 (the database is not answering)
/// or a 500 that says nothing about internals.
pub fn unexpected(what: &str, error: &dyn std::fmt::Display, unavailable: bool) -> ApiError {
    if unavailable {
        tracing::warn!(%error, "{what}: unavailable");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the shop is unavailable right now; try again shortly",
        )
    } else {
        tracing::error!(%error, "{what} failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong on our side",
        )
    }
}

impl From<shop::cart::CartError> for ApiError {
    fn from(e: shop::cart::CartError) -> Self {
        use shop::cart::CartError::*;
        match e {
            CartNotFound => ApiError::not_found("no cart with that id"),
            UnknownSku(sku) => ApiError::not_found(format!("no product has SKU {sku}")),
            InsufficientStock { sku, available } => ApiError::new(
                StatusCode::CONFLICT,
                "insufficient_stock",
                format!("only {available} of {sku} available"),
            ),
            TooMany { sku, .. } => {
                ApiError::bad_request(format!("a cart line holds at most 99 of {sku}"))
            }
            MixedCurrency { sku, currency } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "mixed_currency",
                format!("{sku} is priced in {currency}, the rest of the cart in another currency"),
            ),
            Catalog(c) => c.into(),
            Database(ref db) => unexpected("cart", &e, shop::db::is_unavailable(db)),
        }
    }
}

impl From<shop::checkout::CheckoutError> for ApiError {
    fn from(e: shop::checkout::CheckoutError) -> Self {
        use shop::checkout::CheckoutError::*;
        match e {
            KeyReused => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was already used for a different request",
            ),
            CartNotFound => ApiError::not_found("no cart with that id"),
            NotFound => ApiError::not_found("no checkout with that id"),
            Database(ref db) => unexpected("checkout", &e, shop::db::is_unavailable(db)),
            Corrupt(_) => unexpected("checkout", &e, false),
        }
    }
}

impl From<shop::orders::OrderError> for ApiError {
    fn from(e: shop::orders::OrderError) -> Self {
        use shop::orders::OrderError::*;
        match e {
            NotFound => ApiError::not_found("no order with that id"),
            Database(ref db) => unexpected("order", &e, shop::db::is_unavailable(db)),
            IllegalTransition { .. } | Corrupt(_) => unexpected("order", &e, false),
        }
    }
}

impl From<CatalogError> for ApiError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::ProductNotFound => ApiError::not_found("no product with that id"),
            CatalogError::CategoryNotFound => ApiError::not_found("no category with that path"),
            CatalogError::Database(ref db) if shop::db::is_unavailable(db) => {
                tracing::warn!(error = %e, "database unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the catalog is unavailable right now; try again shortly",
                )
            }
            other => {
                tracing::error!(error = %other, "catalog read failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "something went wrong on our side",
                )
            }
        }
    }
}

pub async fn not_found() -> ApiError {
    ApiError::not_found("no such API route")
}
