//! `GET /assets/s/{seller}/{hash}/{variant}.jpg`: a variant of a picture shoppers may see,
//! through the app (the store itself is never exposed, let alone listable). The names are
//! content hashes, so a response never changes: it is cached for a year as immutable, and a
//! revalidation is answered from its ETag without touching the store.

use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shop::assets::{AssetError, ImageVariant, is_hash};
use shop::catalog::SellerId;

pub async fn serve(
    State(state): State<AppState>,
    Path((seller, hash, file)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
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
            Ok(false) => not_found(),
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
        Err(e) => failure(e),
    }
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
