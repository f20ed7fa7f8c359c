//! Seller feeds over the API: `POST /seller/feeds` (the file as `multipart/form-data` field
//! `feed`, or the raw CSV / JSON body), `GET /seller/feeds`, `GET /seller/feeds/{id}` (the
//! report and each picture's state), `POST /seller/fetches/{id}/retry`. A seller's key or
//! session, as for every seller route; another seller's feed is 404.

use super::ApiError;
use super::sellers::Seller;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use shop::feeds::{FeedError, FeedView};
use utoipa::ToSchema;

/// A feed accepted: it is applied in the background.
#[derive(Serialize, ToSchema)]
pub struct FeedQueued {
    id: i64,
    /// `queued`.
    #[schema(value_type = String)]
    status: &'static str,
    /// Where its report will be: `/api/v1/seller/feeds/{id}`.
    report: String,
}

/// The seller's latest feeds.
#[derive(Serialize, ToSchema)]
pub struct FeedList {
    feeds: Vec<FeedView>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SubmitQuery {
    /// The feed's file name, for a raw body (it decides CSV or JSON when the body is unclear).
    name: Option<String>,
    /// The portal page to go back to, for the portal's plain HTML form (a 303 instead of JSON).
    return_to: Option<String>,
}

/// `POST /seller/feeds` → 202 with the feed's id: it is processed in the background.
#[utoipa::path(
    post,
    path = "/seller/feeds",
    tag = "seller",
    params(
        ("name" = Option<String>, Query, description = "The file's name, for a raw body (it decides CSV or JSON when the body is unclear)."),
        ("return_to" = Option<String>, Query, description = "`/seller/feeds`: answer with a 303 to the report page instead of JSON."),
    ),
    request_body(description = "A CSV file (a header row, then a row per SKU) or a JSON array of objects with the same keys; at most 8 MB and 20,000 rows. As a form (field `feed`) or the raw body.", content(("multipart/form-data"), ("text/csv"), ("application/json"))),
    responses(
        (status = 202, description = "Queued; applied in the background by whichever node takes it.", body = FeedQueued,
            headers(("Location" = String, description = "The feed's report."))),
        (status = 303, description = "With `return_to`: to the report page, or back with `?error=…`."),
    ),
    security(("seller_key" = []), ("session" = [], "csrf_token" = []))
)]
pub async fn submit(
    State(state): State<AppState>,
    Seller(seller): Seller,
    Query(query): Query<SubmitQuery>,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let back = query
        .return_to
        .as_deref()
        .filter(|p| *p == "/seller/feeds")
        .map(str::to_owned);
    let result = receive(&state, seller, query.name, &headers, request).await;
    match (back, result) {
        (None, Ok(id)) => Ok((
            StatusCode::ACCEPTED,
            [(header::LOCATION, format!("/api/v1/seller/feeds/{id}"))],
            Json(FeedQueued {
                id,
                status: "queued",
                report: format!("/api/v1/seller/feeds/{id}"),
            }),
        )
            .into_response()),
        (None, Err(e)) => Err(e),
        (Some(_), Ok(id)) => Ok(super::sellers::see_other(&format!("/seller/feeds/{id}"))),
        (Some(back), Err(e)) if e.status.is_client_error() => Ok(super::sellers::see_other(
            &format!("{back}?error={}", super::sellers::query_escape(&e.message)),
        )),
        (Some(_), Err(e)) => Err(e),
    }
}

async fn receive(
    state: &AppState,
    seller: shop::catalog::SellerId,
    name: Option<String>,
    headers: &HeaderMap,
    request: axum::extract::Request,
) -> Result<i64, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "a feed is at most 8 MB",
        )
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let (name, bytes) = if content_type.starts_with("multipart/form-data") {
        let form = super::multipart::read(state, request, "feed", too_large).await?;
        let (name, data) = form
            .file
            .ok_or_else(|| ApiError::bad_request("the form has no `feed` file field"))?;
        (name.unwrap_or_else(|| "feed".into()), data)
    } else {
        let name = name.unwrap_or_else(|| {
            if content_type.contains("json") {
                "feed.json".into()
            } else {
                "feed.csv".into()
            }
        });
        let bytes =
            axum::body::to_bytes(request.into_body(), shop::feeds::parse::MAX_FEED_BYTES + 1)
                .await
                .map_err(|_| too_large())?;
        (name, bytes.to_vec())
    };
    if name.contains(['/', '\\']) || name.contains("..") {
        return Err(ApiError::bad_request(
            "the file name must be a plain name, without a path",
        ));
    }
    Ok(state.services.feeds.submit(seller, &name, &bytes).await?)
}

/// `GET /seller/feeds`: the seller's latest feeds.
#[utoipa::path(
    get,
    path = "/seller/feeds",
    tag = "seller",
    responses(
        (status = 200, description = "The 50 latest feeds.", body = FeedList),
    ),
    security(("seller_key" = []), ("session" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    Seller(seller): Seller,
) -> Result<Response, ApiError> {
    let feeds = state.services.feeds.list(seller, 50).await?;
    Ok(Json(FeedList { feeds }).into_response())
}

/// `GET /seller/feeds/{id}`: progress, the report and each picture's state.
#[utoipa::path(
    get,
    path = "/seller/feeds/{id}",
    tag = "seller",
    params(
        ("id" = String, Path, description = "The feed's id."),
    ),
    responses(
        (status = 200, description = "Progress, each bad row with its line, column and reason, and each picture's fetch.", body = FeedView),
        (status = 404, description = "No such feed of this seller's (`not_found`).", body = super::error::ErrorBody),
    ),
    security(("seller_key" = []), ("session" = []))
)]
pub async fn show(
    State(state): State<AppState>,
    Seller(seller): Seller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(
        state
            .services
            .feeds
            .view(Some(seller), number(&id)?)
            .await?,
    )
    .into_response())
}

/// `POST /seller/fetches/{id}/retry`: puts a failed picture back in the queue.
#[utoipa::path(
    post,
    path = "/seller/fetches/{id}/retry",
    tag = "seller",
    params(
        ("id" = String, Path, description = "The fetch's id, from the feed's `fetches`."),
    ),
    responses(
        (status = 204, description = "The picture is back in the queue."),
        (status = 404, description = "No such fetch of this seller's (`not_found`).", body = super::error::ErrorBody),
    ),
    security(("seller_key" = []), ("session" = [], "csrf_token" = []))
)]
pub async fn retry(
    State(state): State<AppState>,
    Seller(seller): Seller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    state.services.feeds.retry(seller, number(&id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A feed's or a fetch's id from the path; anything else is simply not found.
fn number(id: &str) -> Result<i64, FeedError> {
    id.parse().map_err(|_| FeedError::NotFound)
}
