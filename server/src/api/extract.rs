//! axum's `Json`, `Path` and `Query`, refusing what they cannot read with the API's own error
//! shape (`{ "error": "bad_request", … }`) instead of axum's plain-text rejections.
//!
//! Written out rather than derived: axum's derive (and `axum_extra::WithRejection`) need
//! `ApiError: From<JsonRejection>`, which the compiler will not allow beside the blanket
//! `From<impl shop::Failure>` (it cannot rule out `shop` one day implementing `Failure` for
//! axum's rejections). A handler that must check something else first takes
//! `Result<Json<T>, ApiError>` and uses `?` when its turn comes.

use super::ApiError;
use axum::extract::path::ErrorKind;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;

/// A JSON body in, or a JSON answer out.
pub struct Json<T>(pub T);

/// The path's parameters.
pub struct Path<T>(pub T);

/// The query string's parameters.
pub struct Query<T>(pub T);

/// Path parameters that name something the request must be able to reach (a cart by its
/// token, an order by its number, a seller's product). One that does not even parse names
/// nothing, so it is answered exactly as an unknown one, with `E`'s not-found: a cart token or
/// an order number is a capability, and the answer must not tell a guesser which part of it
/// was wrong. (A malformed public product id, by contrast, is a plain `Path` and a 400.)
pub struct Known<T, E>(pub T, pub PhantomData<E>);

/// The failure a context answers for something it does not have.
pub trait NotFound: shop::Failure {
    fn not_found() -> Self;
}

impl NotFound for shop::cart::CartError {
    fn not_found() -> Self {
        Self::CartNotFound
    }
}

impl NotFound for shop::orders::OrderError {
    fn not_found() -> Self {
        Self::NotFound
    }
}

impl NotFound for shop::sellers::SellerError {
    fn not_found() -> Self {
        Self::NotFound
    }
}

impl NotFound for shop::assets::AssetError {
    fn not_found() -> Self {
        Self::NotFound
    }
}

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        axum::Json::<T>::from_request(request, state)
            .await
            .map(|axum::Json(value)| Json(value))
            .map_err(malformed_json)
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

impl<S, T> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(|e| ApiError::bad_request(format!("malformed path: {}", path_problem(e))))
    }
}

impl<S, T> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Query(value))
            .map_err(|e: QueryRejection| {
                ApiError::bad_request(format!("malformed query string: {}", e.body_text()))
            })
    }
}

impl<S, T, E> FromRequestParts<S> for Known<T, E>
where
    T: DeserializeOwned + Send,
    E: NotFound,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Known(value, PhantomData)),
            Err(_) => Err(E::not_found().into()),
        }
    }
}

/// What was wrong with the path: a domain type's own refusal (`id: must be a positive whole
/// number`, naming its field) rather than axum's sentence around it, which repeats the value.
fn path_problem(e: PathRejection) -> String {
    match &e {
        PathRejection::FailedToDeserializePathParams(failed) => match failed.kind() {
            ErrorKind::DeserializeError { message, .. } | ErrorKind::Message(message) => {
                message.clone()
            }
            _ => e.body_text(),
        },
        _ => e.body_text(),
    }
}

/// A body of the wrong shape is as malformed as one that does not parse: 400 for both (axum
/// would say 422 for the first), 413 and 415 where they apply.
fn malformed_json(e: JsonRejection) -> ApiError {
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
