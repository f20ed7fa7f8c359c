//! The API's one error shape: `{ "error": code, "message": text }`, with the status the
//! failure's kind decides. Every `shop` failure converts the same way
//! (`From<impl shop::Failure>`, see `shop::failure`); what belongs to HTTP itself (a body too
//! large, a missing header, an unknown route) is made here; requests axum cannot take apart
//! are refused by the extractors in `super::extract`.

use axum::Json;
use axum::http::StatusCode;
use axum::http::header::{self, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use shop::FailureKind;
use utoipa::ToSchema;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds until trying again may work, when the failure knows (sent as `Retry-After`).
    pub retry_after: Option<u64>,
    /// The form's fields that are wrong, each with its message (code `invalid`).
    pub fields: Option<shop::address::FieldErrors>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
            fields: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// An unexpected failure of `what` that is no `shop` failure (a task that panicked):
    /// logged once, here, with its detail; the client hears only that it was ours.
    pub fn internal(what: &str, error: &dyn std::fmt::Display) -> Self {
        tracing::error!(%error, "{what} failed");
        let kind = FailureKind::Internal;
        Self::new(status(kind), kind.code(), kind.plain_message())
    }
}

/// The status of a kind, as `shop` decides it for every boundary.
fn status(kind: FailureKind) -> StatusCode {
    StatusCode::from_u16(kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Any `shop` failure: its kind's status, its code and its public message.
impl<E: shop::Failure> From<E> for ApiError {
    fn from(failure: E) -> Self {
        let shown = shop::failure::shown(&failure);
        Self {
            retry_after: shown.retry_after,
            fields: shown.fields,
            ..Self::new(status(shown.kind), shown.code, shown.message)
        }
    }
}

/// Every error answer's body, and its schema in the OpenAPI document (named `ApiError`).
/// Some answers add fields beside these two (a checkout's `sku`, `decline_code`, …).
#[derive(Serialize, ToSchema)]
#[schema(as = ApiError)]
pub struct ErrorBody {
    /// A stable code to branch on. Each kind of failure has one (`bad_request`,
    /// `unauthorized`, `forbidden`, `not_found`, `conflict`, `refused`, `throttled`,
    /// `internal`, `unavailable`); some failures name a more precise one
    /// (`insufficient_stock`, `out_of_stock`, `card_declined`, `wrong_credentials`,
    /// `wrong_code`, `sign_in_expired`, `second_factor_not_set_up`, `image_refused`,
    /// `coupon_exists`, `rate_limited`, `cross_site_request`, `payload_too_large`, …). Codes
    /// are added, never changed.
    #[schema(value_type = String, example = "bad_request")]
    error: &'static str,
    /// A sentence for people (the one the shop's pages show); it may be reworded.
    #[schema(example = "The page must be a whole number from 1 to 10000.")]
    message: String,
    /// With `invalid`: each field that is wrong (`postal_code`, `region` …) and what is wrong
    /// with it, in words for the person who typed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<std::collections::BTreeMap<String, String>>)]
    fields: Option<shop::address::FieldErrors>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(ErrorBody {
            error: self.code,
            message: self.message,
            fields: self.fields,
        });
        let mut response = (self.status, body).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such API route")
}
