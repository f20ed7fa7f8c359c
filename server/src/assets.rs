//! `GET /assets/s/{seller}/{hash}/{variant}.jpg`: a variant of a picture shoppers may see,
//! through the app (the store itself is never exposed, let alone listable). The names are
//! content hashes, so a response never changes: it is cached for a year as immutable, and a
//! revalidation is answered from its ETag without touching the store.

use crate::state::AppState;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shop::assets::{AssetError, ImageVariant, is_hash};
use shop::catalog::SellerId;

pub async fn serve(
    State(state): State<AppState>,
    Path((seller, hash, file)): Path<(String, String, String)>,
    request: Request,
) -> Response {
    let headers = request.headers();
    let not_found = || (StatusCode::NOT_FOUND, "no such image").into_response();
    let Ok(seller) = SellerId::parse(&seller) else {
        return not_found();
    };
    let Some(variant) = file.strip_suffix(".jpg").and_then(ImageVariant::parse) else {
        return not_found();
    };
    if !is_hash(&hash) {
        return not_found();
    }
    let etag = format!("\"{hash}-{}\"", variant.name());
    let assets = &state.services.assets;
    // A client probing for hashes (each unknown one costs a query) waits, unless the
    // picture is one this node knows it shows.
    let limits = state.rate_limits.as_deref();
    let client = crate::web::client_address(&request, state.settings.http.trust_forwarded_for);
    if let (Some(limits), Some(ip)) = (limits, client)
        && let Some(wait) = limits.probing(ip)
        && assets.known_shown(seller, &hash).await != Some(true)
    {
        return too_many_misses(wait);
    }
    let missed = || {
        if let (Some(limits), Some(ip)) = (limits, client) {
            limits.picture_missed(ip);
        }
        not_found()
    };
    let revalidating = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    if revalidating {
        return match assets.is_shown(seller, &hash).await {
            Ok(true) => (
                StatusCode::NOT_MODIFIED,
                [
                    (header::ETAG, etag),
                    (header::CACHE_CONTROL, IMMUTABLE.into()),
                ],
            )
                .into_response(),
            Ok(false) => missed(),
            Err(e) => failure(e),
        };
    }
    match assets.serve(seller, &hash, variant).await {
        Ok(bytes) => {
            let mut response = bytes.into_response();
            let h = response.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            if let Ok(v) = HeaderValue::from_str(&etag) {
                h.insert(header::ETAG, v);
            }
            response
        }
        Err(AssetError::NotFound) => missed(),
        // The store failed and this node holds no copy. The page that asked was rendered a
        // moment before the store failed, or by another node: a neutral tile instead of a
        // broken image, never kept (by the browser or a CDN) in the picture's place.
        Err(e @ AssetError::StoreUnavailable(_)) => {
            tracing::debug!(error = %e, "picture not served: placeholder");
            (
                [
                    (header::CONTENT_TYPE, "image/jpeg"),
                    (header::CACHE_CONTROL, "no-store"),
                    (PLACEHOLDER_HEADER, "store-unavailable"),
                ],
                assets.placeholder(),
            )
                .into_response()
        }
        Err(e) => failure(e),
    }
}

fn too_many_misses(wait: u64) -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [
            (header::RETRY_AFTER, wait.to_string()),
            (header::CACHE_CONTROL, "no-store".into()),
        ],
        "too many requests for pictures that do not exist",
    )
        .into_response()
}

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

fn failure(e: AssetError) -> Response {
    match e {
        AssetError::NotFound => (StatusCode::NOT_FOUND, "no such image").into_response(),
        other => {
            tracing::debug!(error = %other, "picture not served");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [
                    (header::RETRY_AFTER, "5"),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                "images are temporarily unavailable",
            )
                .into_response()
        }
    }
}

/// Marks a placeholder answer, so that tools (the chaos run, the benchmark) can tell a
/// neutral tile from the picture.
pub const PLACEHOLDER_HEADER: header::HeaderName =
    header::HeaderName::from_static("x-emporium-placeholder");
