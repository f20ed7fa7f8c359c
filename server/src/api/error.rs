//! The API's one error shape: `{ "error": code, "message": text }`, with the status the
//! failure's kind decides. Every `shop` failure converts the same way
//! (`From<impl shop::Failure>`, see `shop::failure`); what belongs to HTTP itself (a body too
//! large, a missing header, an unknown route) is made here; requests axum cannot take apart
//! are refused by the extractors in `super::extract`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use shop::FailureKind;

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
        Self::new(status(shown.kind), shown.code, shown.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(json!({ "error": self.code, "message": self.message }));
        (self.status, body).into_response()
    }
}

pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such API route")
}
