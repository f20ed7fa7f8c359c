//! `POST /session` (`{ "email", "password" }`: sets the session cookie, or, for an account
//! with a second factor, answers `202` with a token for `POST /session/code`
//! (`{ "pending_token", "code" }`), which sets it), `DELETE /session`, and the `Viewer`
//! extractors the other routes use.

use super::ApiError;
use super::extract::Json;
use crate::state::AppState;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use shop::Failure;
use shop::accounts::second_factor::PENDING_MS;
use shop::accounts::{AccountError, Denied, PendingSignIn, SessionToken, Viewer, Visit};
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

/// Whoever is signed in, if anyone (for routes open to guests that show more to some).
pub struct Visitor(pub Option<Viewer>);

impl FromRequestParts<AppState> for Visitor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        Ok(Visitor(visit(parts).viewer))
    }
}

/// An admin with a second factor; 401 for a guest, 403 for anyone else (and for an admin who
/// has not set up a second factor yet: `second_factor_not_set_up`).
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

/// The password was right, but the account has a second factor: no session yet.
#[derive(Serialize, ToSchema)]
pub struct SecondFactorBody {
    /// Always `second_factor_required`.
    error: &'static str,
    /// What to do next, as a sentence.
    message: String,
    /// Sent back with the code to `POST /api/v1/session/code`.
    pending_token: String,
    /// Seconds the token lasts; after that, sign in with the password again.
    expires_in: i64,
}

/// The second step of signing in to an account with a second factor.
#[derive(Deserialize, ToSchema)]
pub struct SecondStep {
    /// The token `POST /api/v1/session` answered with.
    pending_token: String,
    /// The 6-digit code the authenticator app shows now, or one of the account's recovery
    /// codes (`abcd-efgh-ijkl-mnop`); each is accepted once.
    code: String,
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
        (status = 202, description = "The password was right, but the account has a second factor: no session yet. Send `pending_token` with a code to `POST /api/v1/session/code` within `expires_in` seconds.", body = SecondFactorBody),
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
    match state
        .services
        .users
        .sign_in(&body.email, &body.password, &visit.address)
        .await
    {
        Ok(viewer) => start(&state, viewer, visit.token.as_ref()).await,
        Err(AccountError::SecondFactorNeeded(pending)) => {
            let pending_token = pending.as_str().to_owned();
            let needed = AccountError::SecondFactorNeeded(pending);
            let body = SecondFactorBody {
                error: needed.code(),
                message: needed.public_message(),
                pending_token,
                expires_in: PENDING_MS / 1000,
            };
            Ok((StatusCode::ACCEPTED, Json(body)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /api/v1/session/code`
#[utoipa::path(
    post,
    path = "/session/code",
    tag = "session",
    request_body = SecondStep,
    responses(
        (status = 201, description = "Signed in: the session cookie is set, as by `POST /session`.", body = SignedInBody,
            headers(("Set-Cookie" = String, description = "The session cookie."))),
        (status = 401, description = "A wrong code, or one already used (`wrong_code`); or a token unknown or past its time (`sign_in_expired`: sign in with the password again).", body = super::error::ErrorBody),
        (status = 429, description = "Inside the delay that failures set (`throttled`, with `Retry-After`): wrong codes count with wrong passwords, per account and per address.", body = super::error::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until the next try is heard."))),
    )
)]
pub async fn finish(
    State(state): State<AppState>,
    parts: Parts,
    Json(body): Json<SecondStep>,
) -> Result<Response, ApiError> {
    let visit = visit(&parts);
    // A malformed token is one nobody was given.
    let pending = PendingSignIn::parse(&body.pending_token).ok_or(AccountError::SignInExpired)?;
    let viewer = state
        .services
        .users
        .finish_sign_in(&pending, &body.code, &visit.address)
        .await?;
    start(&state, viewer, visit.token.as_ref()).await
}

/// Starts `viewer`'s session (ending the one the client had) and answers with its cookie.
async fn start(
    state: &AppState,
    viewer: Viewer,
    previous: Option<&SessionToken>,
) -> Result<Response, ApiError> {
    let token = state
        .services
        .sessions
        .start(viewer.user_id, previous)
        .await?;
    let mut response = (StatusCode::CREATED, Json(SignedInBody { user: viewer })).into_response();
    if let Some(c) = cookie(token.as_str(), state) {
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
