//! `POST /session` (`{ "email", "password" }`: sets the session cookie) and
//! `DELETE /session`, and the `Viewer` extractors the other routes use.

use super::ApiError;
use super::extract::Json;
use crate::state::AppState;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use shop::accounts::{Denied, Viewer, Visit};
use utoipa::ToSchema;

/// The request's `Visit` (resolved by `web::session`; empty if that layer did not run).
pub fn visit(parts: &Parts) -> Visit {
    parts.extensions.get::<Visit>().cloned().unwrap_or_default()
}

/// A signed-in account; 401 otherwise.
pub struct SignedIn(pub Viewer);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        visit(parts)
            .viewer
            .map(SignedIn)
            .ok_or_else(|| Denied::SignInRequired.into())
    }
}

/// An admin; 401 for a guest, 403 for anyone else.
pub struct Admin(pub Viewer);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        let viewer = visit(parts).viewer;
        Viewer::require_admin(viewer.as_ref())
            .map(|v| Admin(v.clone()))
            .map_err(ApiError::from)
    }
}

#[derive(Deserialize, ToSchema)]
pub struct Credentials {
    email: String,
    password: String,
}

fn cookie(value: &str, state: &AppState) -> Option<HeaderValue> {
    HeaderValue::from_str(&app::session::session_set_cookie(
        value,
        state.settings.secure_cookies(),
    ))
    .ok()
}

/// Who signed in.
#[derive(Serialize, ToSchema)]
pub struct SignedInBody {
    user: Viewer,
}

/// `POST /api/v1/session`
#[utoipa::path(
    post,
    path = "/session",
    tag = "session",
    request_body = Credentials,
    responses(
        (status = 201, description = "Signed in: the session cookie is set (`emporium_session`; `__Host-emporium_session` over TLS).", body = SignedInBody,
            headers(("Set-Cookie" = String, description = "The session cookie."))),
        (status = 401, description = "A wrong password and an unknown e-mail alike (`wrong_credentials`).", body = super::error::ErrorBody),
        (status = 429, description = "Inside the delay that failures set (`throttled`, with `Retry-After`): past 5 failures for an account (or 50 from an address) each further try waits 1 s, then 2 s, 4 s, … up to 5 minutes, whatever the password; or the route's rate limit (`rate_limited`).", body = super::error::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until the next try is heard."))),
        (status = 503, description = "Too many password checks waiting on this node (`unavailable`, with `Retry-After`).", body = super::error::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until trying again may work."))),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    parts: Parts,
    Json(body): Json<Credentials>,
) -> Result<Response, ApiError> {
    let visit = visit(&parts);
    let viewer = state
        .services
        .users
        .sign_in(&body.email, &body.password, &visit.address)
        .await?;
    let token = state
        .services
        .sessions
        .start(viewer.user_id, visit.token.as_ref())
        .await?;
    let mut response = (StatusCode::CREATED, Json(SignedInBody { user: viewer })).into_response();
    if let Some(c) = cookie(token.as_str(), &state) {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(response)
}

/// `DELETE /api/v1/session`
#[utoipa::path(
    delete,
    path = "/session",
    tag = "session",
    responses((status = 204, description = "The session ended and its cookie cleared.")),
    security((), ("session" = [], "csrf_token" = []))
)]
pub async fn delete(State(state): State<AppState>, parts: Parts) -> Result<Response, ApiError> {
    if let Some(token) = visit(&parts).token {
        state.services.sessions.end(&token).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    let secure = state.settings.secure_cookies();
    let name = app::session::session_cookie_name(secure);
    if let Ok(c) = HeaderValue::from_str(&app::session::cookie_removal(name, secure)) {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(response)
}
