//! The guest's cart cookie: read from the request, set on the response.
//!
//! The cookie holds only the cart's id, a 128-bit random token; it is `HttpOnly` (scripts
//! never see it) and `SameSite=Lax` (other sites' forms cannot post with it).

use crate::error::AppError;
use crate::services::Services;
use http::header::{COOKIE, SET_COOKIE};
use http::request::Parts;
use leptos::prelude::use_context;
use shop::cart::CartId;

pub const CART_COOKIE: &str = "emporium_cart";
/// Thirty days.
const CART_MAX_AGE: u32 = 30 * 24 * 60 * 60;

/// The cart id in the request's cookie, if it has a well-formed one.
pub fn cart_from_cookie() -> Option<CartId> {
    let parts = use_context::<Parts>()?;
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == CART_COOKIE)
        .and_then(|(_, value)| CartId::parse(value.trim()).ok())
}

/// The request's cart if it exists, else a new one (and the cookie that names it).
pub async fn ensure_cart(services: &Services) -> Result<CartId, AppError> {
    if let Some(id) = cart_from_cookie()
        && services.carts.exists(&id).await.map_err(AppError::from)?
    {
        return Ok(id);
    }
    let id = services
        .carts
        .create(services.clock.now())
        .await
        .map_err(AppError::from)?;
    set_cart_cookie(&id);
    Ok(id)
}

fn set_cart_cookie(id: &CartId) {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        let cookie =
            format!("{CART_COOKIE}={id}; Path=/; Max-Age={CART_MAX_AGE}; HttpOnly; SameSite=Lax");
        if let Ok(value) = http::HeaderValue::from_str(&cookie) {
            response.append_header(SET_COOKIE, value);
        }
    }
}

/// Sends the browser to `path` (ASCII built from ids and fixed codes only): a 302 for a
/// plain form post, a client-side navigation when the page is hydrated.
pub fn redirect(path: &str) {
    if path.is_ascii() {
        leptos_axum::redirect(path);
    }
}
