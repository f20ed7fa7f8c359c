//! The storefront JSON API, v1 (documented in docs/API.md, and described as OpenAPI 3.1 at
//! `/api/v1/openapi.json`, generated from the handlers by `openapi`). Handlers parse every input into
//! `shop` types first, so a malformed value is a 400 with a message, never a 500.

mod carts;
mod checkouts;
mod coupons;
mod error;
mod extract;
pub mod feeds;
mod multipart;
pub mod openapi;
mod orders;
mod products;
mod revalidate;
mod search;
pub mod sellers;
pub mod session;

pub use error::ApiError;

use crate::state::AppState;
use crate::web::{Classified, RouteClass};
use axum::extract::DefaultBodyLimit;
use axum::routing::{any, delete, get, post, put};

/// Where the API is served.
pub const PREFIX: &str = "/api/v1";

/// No request body the API accepts comes near this; anything larger is refused with 413
/// before it is read.
const BODY_LIMIT: usize = 64 * 1024;
/// An image upload: the 10 MB image and its form's framing.
const UPLOAD_LIMIT: usize = shop::assets::pipeline::MAX_BYTES + 64 * 1024;
/// A feed (8 MB) plus the form around it.
const FEED_LIMIT: usize = shop::feeds::parse::MAX_FEED_BYTES + 64 * 1024;

/// Every route of the API, each with the rate limit it counts against (`RouteClass::Api`
/// unless it writes a cart, places an order or signs in).
pub fn router() -> Classified<AppState> {
    use RouteClass::{Api, Cart, Checkout, SignIn};
    // The public catalog: the same for everyone, so answered with an ETag and 304s.
    let catalog = Classified::new()
        .route("/products", Api, get(products::list))
        .route("/products/{id}", Api, get(products::show))
        .route("/categories", Api, get(products::categories))
        .route("/search", Api, get(search::search))
        .route("/suggest", Api, get(search::suggest))
        // The API's own description: the same for everyone, so tagged and cacheable too.
        .route("/openapi.json", Api, get(openapi::document))
        .layer(axum::middleware::from_fn(revalidate::revalidate));
    Classified::new()
        .merge(catalog)
        .route("/carts", Cart, post(carts::create))
        .route("/carts/{cart_id}", Api, get(carts::show))
        .route("/carts/{cart_id}/shipping", Api, get(carts::shipping))
        .route("/carts/{cart_id}/lines/{sku}", Cart, put(carts::set_line))
        .route(
            "/carts/{cart_id}/coupon",
            Cart,
            put(carts::set_coupon).delete(carts::remove_coupon),
        )
        .route(
            "/session",
            SignIn,
            post(session::create).delete(session::delete),
        )
        .route("/session/code", SignIn, post(session::finish))
        .route(
            "/admin/coupons",
            Api,
            post(coupons::create_coupon).get(coupons::list_coupons),
        )
        .route("/checkouts", Checkout, post(checkouts::create))
        .route("/checkouts/{id}", Api, get(checkouts::show))
        .route("/orders/{id}", Api, get(orders::show))
        .route(
            "/seller/products",
            Api,
            get(sellers::products::list).post(sellers::products::create),
        )
        .route(
            "/seller/products/{id}",
            Api,
            get(sellers::products::show).put(sellers::products::update),
        )
        .route(
            "/seller/stock/{sku}",
            Api,
            put(sellers::products::set_stock),
        )
        .route("/seller/orders", Api, get(sellers::products::orders))
        .route("/seller/feeds/{id}", Api, get(feeds::show))
        .route("/seller/fetches/{id}/retry", Api, post(feeds::retry))
        .route(
            "/seller/products/{id}/images/{image}/approve",
            Api,
            post(sellers::images::approve),
        )
        .route(
            "/seller/products/{id}/images/{image}/restore",
            Api,
            post(sellers::images::restore),
        )
        .route(
            "/seller/products/{id}/images/{image}",
            Api,
            delete(sellers::images::remove),
        )
        // Any other path under the API is its 404 in JSON. A route, not a fallback: a
        // fallback has no route to class the request by.
        .route("/", Api, any(error::not_found))
        .route("/{*path}", Api, any(error::not_found))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // Uploads get their own limit: a 10 MB image plus the form around it.
        .merge(
            Classified::new()
                .route(
                    "/seller/products/{id}/images",
                    Api,
                    post(sellers::images::upload).get(sellers::images::list),
                )
                .layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .merge(
            Classified::new()
                .route("/seller/feeds", Api, post(feeds::submit).get(feeds::list))
                .layer(DefaultBodyLimit::max(FEED_LIMIT)),
        )
}
