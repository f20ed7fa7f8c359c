//! The storefront JSON API, v1 (documented in docs/API.md). Handlers parse every input into
//! `shop` types first, so a malformed value is a 400 with a message, never a 500.

mod error;
mod products;

pub use error::ApiError;

use crate::state::AppState;
use axum::Router;
use axum::routing::get;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/products", get(products::list))
        .route("/products/{id}", get(products::show))
        .route("/categories", get(products::categories))
        .fallback(error::not_found)
}
