//! The layers every request passes before it reaches a page, a server function or the JSON
//! API: who is asking (the session), whether a state-changing request really comes from our
//! own pages (CSRF), how often this address may ask (rate limits, in `limits`), and the
//! security headers on every answer.

mod limits;

pub use limits::{
    Classified, RateLimits, RouteClass, RouteClasses, rate_limit, rate_limits, server_functions,
};

use crate::api::ApiError;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{self, HeaderValue};
use http::{Method, StatusCode};
use shop::accounts::sessions::csrf_for;
use shop::accounts::{SessionToken, Visit};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// The guest cart's cookie (named by the app).
const CART_COOKIE: &str = app::session::CART_COOKIE;
/// The form field (or `X-CSRF-Token` header) that carries the CSRF token.
pub const CSRF_FIELD: &str = "csrf_token";

pub use app::session::cookie;

/// The client's address: the socket's peer, or behind a trusted proxy the last
/// `X-Forwarded-For` entry (the one our proxy added).
pub(crate) fn client_address(request: &Request, trust_forwarded_for: bool) -> Option<IpAddr> {
    if trust_forwarded_for
        && let Some(ip) = request
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok())
    {
        return Some(ip);
    }
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// Resolves the session cookie into a `Visit` extension. A cookie naming no live session is
/// dropped from the browser.
pub async fn session(
    State(state): State<Arc<WebState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let address = client_address(&request, state.settings.http.trust_forwarded_for)
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| "unknown".into());
    let secure = state.settings.secure_cookies();
    let name = app::session::session_cookie_name(secure);
    let token = cookie(request.headers(), name).and_then(SessionToken::parse);
    let presented = cookie(request.headers(), name).is_some();
    let viewer = match &token {
        Some(token) => match state.sessions.resolve(token).await {
            Ok(viewer) => viewer,
            Err(e) => {
                tracing::error!(error = %e, "session lookup failed; treating as signed out");
                None
            }
        },
        None => None,
    };
    let stale = presented && viewer.is_none();
    request.extensions_mut().insert(Visit {
        token: token.filter(|_| viewer.is_some()),
        viewer,
        address,
    });
    let mut response = next.run(request).await;
    if stale
        && !response.headers().contains_key(header::SET_COOKIE)
        && let Ok(removal) = HeaderValue::from_str(&app::session::cookie_removal(name, secure))
    {
        response.headers_mut().append(header::SET_COOKIE, removal);
    }
    response
}

fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// Refuses state-changing requests that another site made the browser send.
///
/// Browsers say where a request comes from: `Sec-Fetch-Site` (all current browsers) must be
/// `same-origin` (or `none`, typed by the user); without it, `Origin` must be this host.
/// A request with neither carries ambient authority only if it has our cookies; then it must
/// carry the form token derived from the cookie (`csrf_token` field or `X-CSRF-Token`).
/// Requests with no cookies (API clients with a bearer key, curl) have nothing to forge.
pub async fn csrf(State(state): State<Arc<WebState>>, request: Request, next: Next) -> Response {
    if is_safe(request.method()) {
        return next.run(request).await;
    }
    let headers = request.headers();
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.as_bytes() {
            b"same-origin" | b"none" => next.run(request).await,
            _ => refuse_cross_site(),
        };
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let origin_host = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .map(|(_, rest)| rest);
        return match (origin_host, host) {
            (Some(o), Some(h)) if o.eq_ignore_ascii_case(h) => next.run(request).await,
            _ => refuse_cross_site(),
        };
    }
    let session = app::session::session_cookie_name(state.settings.secure_cookies());
    let secret = cookie(headers, session)
        .or_else(|| cookie(headers, CART_COOKIE))
        .map(str::to_owned);
    let Some(secret) = secret else {
        return next.run(request).await;
    };
    let expected = csrf_for(&secret);
    if headers
        .get("x-csrf-token")
        .is_some_and(|t| t.as_bytes() == expected.as_bytes())
    {
        return next.run(request).await;
    }
    // A plain form post: look for the field in the (small) body, then hand the body on.
    let is_form = headers.get(header::CONTENT_TYPE).is_some_and(|c| {
        c.as_bytes()
            .starts_with(b"application/x-www-form-urlencoded")
    });
    if !is_form {
        return refuse_cross_site();
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, FORM_LIMIT).await else {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "The form is too large.",
        )
        .into_response();
    };
    let found = form_urlencoded_value(&bytes, CSRF_FIELD);
    if found.as_deref() != Some(expected.as_str()) {
        return refuse_cross_site();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The largest form body read while looking for its token.
const FORM_LIMIT: usize = 64 * 1024;

/// The value of field `name` in a form body (`a=1&name=value`), as written (the CSRF token
/// is URL-safe, so nothing needs decoding).
pub fn form_urlencoded_value(body: &[u8], name: &str) -> Option<String> {
    std::str::from_utf8(body)
        .ok()?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn refuse_cross_site() -> Response {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "cross_site_request",
        "This request did not come from the shop's own pages, so it was refused.",
    )
    .into_response()
}

/// The largest body a server function takes (its forms are a few fields).
const RPC_LIMIT: usize = 64 * 1024;

/// Bounds server functions' bodies: 413 up front for a declared length over the limit, and a
/// body that grows past it while streaming is cut off.
pub async fn limit_rpc_body(request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/rpc/") {
        return next.run(request).await;
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > RPC_LIMIT) {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "The request is too large.",
        )
        .into_response();
    }
    next.run(request.map(|b| Body::new(http_body_util::Limited::new(b, RPC_LIMIT))))
        .await
}

/// The headers every answer carries. Pages get a Content-Security-Policy with the nonce
/// their inline scripts carry; everything else one that allows nothing. Runs inside the
/// compression layer, so it reads the page as rendered.
pub async fn security_headers(
    State(state): State<Arc<WebState>>,
    request: Request,
    next: Next,
) -> Response {
    let asked = (request.method() == Method::GET)
        .then(|| crate::conditional::if_none_match(request.headers()));
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    let one_time = h.remove(app::session::ONE_TIME_HEADER).is_some();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if state.settings.secure_cookies() {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    let is_page = h
        .get(header::CONTENT_TYPE)
        .is_some_and(|c| c.as_bytes().starts_with(b"text/html"));
    if !is_page {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
        return response;
    }
    // A page: its policy allows the inline scripts Leptos wrote with this response's nonce,
    // read from the page itself (pages are rendered whole before they are sent, so nothing
    // is lost by reading the body here).
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, PAGE_LIMIT).await else {
        tracing::error!("a page too large to read for its nonce");
        return (StatusCode::INTERNAL_SERVER_ERROR, "page too large").into_response();
    };
    let nonce = nonce_in(&bytes);
    // Pages show the visitor's own cart and name: browsers may keep them, shared caches may
    // not, and either asks before reusing one.
    parts
        .headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("private, no-cache"));
    // A page asked for again, unchanged, is answered 304 from the browser's copy. Not a page
    // with a one-time form token (that copy's token may be spent), and not an error page.
    if let Some(asked) = asked
        && !one_time
        && parts.status == StatusCode::OK
        && let Some(tag) = crate::conditional::page_tag(&bytes, nonce)
    {
        let unchanged = crate::conditional::none_match(&asked, &tag);
        parts.headers.insert(header::ETAG, tag);
        if unchanged {
            // No policy on the 304: the browser keeps the one stored with its copy, whose
            // nonce is the one that copy's scripts carry.
            return crate::conditional::not_modified(parts);
        }
    }
    if let Ok(value) = HeaderValue::from_str(&page_policy(nonce)) {
        parts.headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The largest page read while looking for its nonce.
const PAGE_LIMIT: usize = 8 * 1024 * 1024;

/// The nonce of the first inline script of a page, if it has one (base64 characters only).
pub fn nonce_in(html: &[u8]) -> Option<&str> {
    let at = html.windows(7).position(|w| w == b"nonce=\"")? + 7;
    let rest = &html[at..];
    let end = rest.iter().position(|b| *b == b'"')?;
    let nonce = std::str::from_utf8(&rest[..end]).ok()?;
    (!nonce.is_empty()
        && nonce.len() <= 64
        && nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_')))
    .then_some(nonce)
}

/// A page's Content-Security-Policy: scripts only from the shop and the inline scripts that
/// carry this page's nonce (hydration, resolved resources), wasm compiled from our own
/// bundle, no inline styles, no framing, forms only to ourselves.
pub fn page_policy(nonce: Option<&str>) -> String {
    let inline = nonce.map(|n| format!(" 'nonce-{n}'")).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'{inline} 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// What the layers need, behind one `Arc`: axum clones a layer's state for every request, and
/// the whole `AppState` (with its caches' handles) costs far more to clone than a request to
/// `/healthz` costs to answer (it cut that route's throughput eightfold).
#[derive(Debug)]
pub struct WebState {
    pub settings: Arc<crate::config::Settings>,
    pub rate_limits: Option<Arc<RateLimits>>,
    /// Which limit each route counts against.
    pub classes: RouteClasses,
    pub sessions: shop::accounts::Sessions,
}

impl WebState {
    pub fn of(state: &AppState, classes: RouteClasses) -> Arc<Self> {
        Arc::new(Self {
            settings: state.settings.clone(),
            rate_limits: state.rate_limits.clone(),
            classes,
            sessions: state.services.sessions.clone(),
        })
    }
}
