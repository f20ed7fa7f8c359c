//! The guest's cart cookie and the session cookie: read from the request, set on the
//! response.
//!
//! The cart cookie holds only the cart's id, a 128-bit random token. Both are `HttpOnly`
//! (scripts never see them) and `SameSite=Lax` (other sites' forms cannot post with them);
//! over TLS both are `Secure`, and the session cookie takes the `__Host-` prefix.

use crate::error::AppError;
use crate::services::Services;
use http::header::{COOKIE, SET_COOKIE};
use http::request::Parts;
use leptos::prelude::use_context;
use shop::accounts::sessions::COOKIE as SESSION_COOKIE;
use shop::accounts::{SessionToken, Viewer, Visit};
use shop::cart::{CartId, CartOwner};

pub const CART_COOKIE: &str = "emporium_cart";
/// Thirty days.
const CART_MAX_AGE: u32 = 30 * 24 * 60 * 60;

/// The value of cookie `name` in these headers (the server's layers read cookies with it
/// too).
pub fn cookie<'h>(headers: &'h http::HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim())
}

/// The cart id in the request's cookie, if it has a well-formed one.
pub fn cart_from_cookie() -> Option<CartId> {
    let parts = use_context::<Parts>()?;
    cookie(&parts.headers, CART_COOKIE).and_then(|value| CartId::parse(value).ok())
}

/// What the server's session layer found: the signed-in viewer (if any), the session token,
/// the client's address.
pub fn visit() -> Visit {
    use_context::<Parts>()
        .and_then(|parts| parts.extensions.get::<Visit>().cloned())
        .unwrap_or_default()
}

/// The signed-in account, if any.
pub fn viewer() -> Option<Viewer> {
    visit().viewer
}

/// The cart this request may use: the cookie's cart if it is a guest cart or this account's,
/// else (signed in) the account's saved cart. Never another account's cart, whatever the
/// cookie says.
pub async fn current_cart(services: &Services) -> Result<Option<CartId>, AppError> {
    let viewer = viewer();
    if let Some(id) = cart_from_cookie() {
        match services.carts.owner(&id).await? {
            Some(CartOwner::Guest) => return Ok(Some(id)),
            Some(CartOwner::Account(owner))
                if viewer.as_ref().is_some_and(|v| v.user_id == owner) =>
            {
                return Ok(Some(id));
            }
            _ => {}
        }
    }
    match viewer {
        Some(v) => {
            let saved = services.carts.of_account(v.user_id).await?;
            if let Some(id) = &saved {
                set_cart_cookie(id, services.secure_cookies);
            }
            Ok(saved)
        }
        None => Ok(None),
    }
}

/// The request's cart if it has one, else a new one (the account's, when signed in) and the
/// cookie that names it.
pub async fn ensure_cart(services: &Services) -> Result<CartId, AppError> {
    if let Some(id) = current_cart(services).await? {
        return Ok(id);
    }
    let now = services.clock.now();
    let id = services.carts.create(now).await?;
    if let Some(v) = viewer() {
        services
            .carts
            .merge_at_sign_in(Some(&id), v.user_id, now)
            .await?;
    }
    set_cart_cookie(&id, services.secure_cookies);
    Ok(id)
}

fn append_cookie(cookie: &str) {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>()
        && let Ok(value) = http::HeaderValue::from_str(cookie)
    {
        response.append_header(SET_COOKIE, value);
    }
}

fn secure(secure: bool) -> &'static str {
    if secure { "; Secure" } else { "" }
}

/// The session cookie's name. Over TLS it carries the `__Host-` prefix: browsers take such a
/// cookie only from a secure page, with `Path=/` and no `Domain`, so neither a sibling
/// subdomain nor a plain-http page (a network attacker's) can plant or overwrite it. The
/// server reads the cookie under this name only.
pub fn session_cookie_name(is_secure: bool) -> &'static str {
    if is_secure {
        HOST_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

/// [`SESSION_COOKIE`] with the `__Host-` prefix.
const HOST_SESSION_COOKIE: &str = "__Host-emporium_session";

/// The `Set-Cookie` value that starts the browser's signed-in session with `token`. No
/// `Max-Age`: the cookie ends with the browser, and the server ends the session on its idle
/// and absolute limits whatever the cookie does.
pub fn session_set_cookie(token: &str, is_secure: bool) -> String {
    format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Lax{}",
        session_cookie_name(is_secure),
        secure(is_secure)
    )
}

/// The `Set-Cookie` value that removes cookie `name` from the browser.
pub fn cookie_removal(name: &str, is_secure: bool) -> String {
    format!(
        "{name}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{}",
        secure(is_secure)
    )
}

pub fn set_cart_cookie(id: &CartId, is_secure: bool) {
    append_cookie(&format!(
        "{CART_COOKIE}={id}; Path=/; Max-Age={CART_MAX_AGE}; HttpOnly; SameSite=Lax{}",
        secure(is_secure)
    ));
}

/// Starts the browser's signed-in session (see [`session_set_cookie`]).
pub fn set_session_cookie(token: &SessionToken, is_secure: bool) {
    append_cookie(&session_set_cookie(token.as_str(), is_secure));
}

/// Signs the browser out: the session cookie goes, and so does the cart cookie (the cart
/// stays with the account, not on a shared computer).
pub fn clear_cookies(is_secure: bool) {
    for name in [session_cookie_name(is_secure), CART_COOKIE] {
        clear_cookie(name, is_secure);
    }
}

/// The cookie that carries a sign-in from its right password to its code (`PendingSignIn`).
/// `SameSite=Strict`: both steps are our own pages, and no other site's link needs it.
pub const PENDING_COOKIE: &str = "emporium_sign_in_step";

/// The cookie that carries recovery codes just made to the page that shows them once (a
/// query string would leave them in logs and history). Gone when that page has read it.
pub const FRESH_CODES_COOKIE: &str = "emporium_recovery_codes";

/// Keeps the sign-in waiting for its code (`PendingSignIn`) for as long as it lasts.
pub fn set_pending_cookie(pending: &shop::accounts::PendingSignIn, is_secure: bool) {
    let max_age = shop::accounts::second_factor::PENDING_MS / 1000;
    append_cookie(&format!(
        "{PENDING_COOKIE}={}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{}",
        pending.as_str(),
        secure(is_secure)
    ));
}

/// The sign-in waiting for its code, if the request carries a well-formed one.
pub fn pending_from_cookie() -> Option<shop::accounts::PendingSignIn> {
    let parts = use_context::<Parts>()?;
    cookie(&parts.headers, PENDING_COOKIE).and_then(shop::accounts::PendingSignIn::parse)
}

/// Removes cookie `name` from the browser.
pub fn clear_cookie(name: &str, is_secure: bool) {
    append_cookie(&cookie_removal(name, is_secure));
}

/// Hands recovery codes just made to the page that shows them (see [`FRESH_CODES_COOKIE`]).
pub fn set_fresh_codes_cookie(codes: &[String], is_secure: bool) {
    append_cookie(&format!(
        "{FRESH_CODES_COOKIE}={}; Path=/; Max-Age=300; HttpOnly; SameSite=Strict{}",
        codes.join("."),
        secure(is_secure)
    ));
}

/// The recovery codes just made, read once: the cookie goes with this answer. Only the
/// characters a code holds are taken (the cookie is the client's, so it is hostile).
pub fn take_fresh_codes(is_secure: bool) -> Vec<String> {
    let Some(parts) = use_context::<Parts>() else {
        return Vec::new();
    };
    let Some(value) = cookie(&parts.headers, FRESH_CODES_COOKIE) else {
        return Vec::new();
    };
    clear_cookie(FRESH_CODES_COOKIE, is_secure);
    value
        .split('.')
        .take(shop::accounts::second_factor::RECOVERY_CODES)
        .filter(|code| {
            code.len() <= 24
                && code
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
        .map(str::to_owned)
        .collect()
}

/// The form token for this request's cookies (see `server::web::csrf`), for plain HTML forms
/// in browsers that send neither `Origin` nor `Sec-Fetch-Site`.
pub fn csrf_token() -> Option<String> {
    if let Some(token) = visit().token {
        return Some(token.csrf());
    }
    cart_from_cookie().map(|id| shop::accounts::sessions::csrf_for(id.as_str()))
}

/// Sends the browser to `path`: a 302 for a plain form post, a client-side navigation when
/// the page is hydrated. Paths are built from ids, fixed codes and `accounts::local_path`;
/// should one ever hold what a header cannot (leptos_axum's `redirect` panics on it), the
/// browser goes home instead of the request dying.
pub fn redirect(path: &str) {
    if path.is_ascii() && http::HeaderValue::from_str(path).is_ok() {
        leptos_axum::redirect(path);
    } else {
        tracing::error!(path, "a redirect to a path no header can hold; sent home");
        leptos_axum::redirect("/");
    }
}

/// The header by which a page tells the server's layers that it carries a one-time form
/// token, so it must never be answered `304 Not Modified` from a copy the browser kept: that
/// copy's token may have been spent already (an add-to-cart applied, an order placed), and
/// sending it again would be taken for a replay. The layers remove it before the answer
/// leaves.
pub const ONE_TIME_HEADER: &str = "x-emporium-one-time";

/// A fresh random token for one use of a form (an add-to-cart operation, a checkout's
/// idempotency key), and the mark on this response that says it has one.
pub fn one_time_token() -> String {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.insert_header(
            http::HeaderName::from_static(ONE_TIME_HEADER),
            http::HeaderValue::from_static("1"),
        );
    }
    shop::checkout::IdempotencyKey::generate()
        .as_str()
        .to_string()
}
