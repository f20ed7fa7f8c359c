//! The storefront JSON API, v1 (documented in docs/API.md). Handlers parse every input into
//! `shop` types first, so a malformed value is a 400 with a message, never a 500.

mod admin;
mod carts;
mod checkouts;
mod error;
mod extract;
pub mod feeds;
mod multipart;
mod orders;
mod portal;
mod products;
mod revalidate;
mod search;
pub mod seller;
pub mod session;

pub use error::ApiError;

use crate::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post, put};

/// No request body the API accepts comes near this; anything larger is refused with 413
/// before it is read.
const BODY_LIMIT: usize = 64 * 1024;
/// An image upload: the 10 MB image and its form's framing.
const UPLOAD_LIMIT: usize = shop::assets::pipeline::MAX_BYTES + 64 * 1024;
/// A feed (8 MB) plus the form around it.
const FEED_LIMIT: usize = shop::feeds::parse::MAX_FEED_BYTES + 64 * 1024;

pub fn router() -> Router<AppState> {
    // The public catalog: the same for everyone, so answered with an ETag and 304s.
    let catalog = Router::new()
        .route("/products", get(products::list))
        .route("/products/{id}", get(products::show))
        .route("/categories", get(products::categories))
        .route("/search", get(search::search))
        .route("/suggest", get(search::suggest))
        .layer(axum::middleware::from_fn(revalidate::revalidate));
    Router::new()
        .merge(catalog)
        .route("/carts", post(carts::create))
        .route("/carts/{cart_id}", get(carts::show))
        .route("/carts/{cart_id}/lines/{sku}", put(carts::set_line))
        .route(
            "/carts/{cart_id}/coupon",
            put(carts::set_coupon).delete(carts::remove_coupon),
        )
        .route("/session", post(session::create).delete(session::delete))
        .route(
            "/admin/coupons",
            post(admin::create_coupon).get(admin::list_coupons),
        )
        .route("/checkouts", post(checkouts::create))
        .route("/checkouts/{id}", get(checkouts::show))
        .route("/orders/{id}", get(orders::show))
        .route("/seller/products", get(portal::list).post(portal::create))
        .route(
            "/seller/products/{id}",
            get(portal::show).put(portal::update),
        )
        .route("/seller/stock/{sku}", put(portal::set_stock))
        .route("/seller/orders", get(portal::orders))
        .route("/seller/feeds/{id}", get(feeds::show))
        .route("/seller/fetches/{id}/retry", post(feeds::retry))
        .route(
            "/seller/products/{id}/images/{image}/approve",
            post(seller::approve),
        )
        .route(
            "/seller/products/{id}/images/{image}/restore",
            post(seller::restore),
        )
        .route(
            "/seller/products/{id}/images/{image}",
            delete(seller::remove),
        )
        .fallback(error::not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // Uploads get their own limit: a 10 MB image plus the form around it.
        .merge(
            Router::new()
                .route(
                    "/seller/products/{id}/images",
                    post(seller::upload).get(seller::list),
                )
                .layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .merge(
            Router::new()
                .route("/seller/feeds", post(feeds::submit).get(feeds::list))
                .layer(DefaultBodyLimit::max(FEED_LIMIT)),
        )
}
