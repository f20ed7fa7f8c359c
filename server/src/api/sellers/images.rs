//! Pictures of a seller's products: upload (a form or the raw bytes), list, approve, restore
//! and remove. `shop` checks that the product belongs to the key's seller.

use super::Seller;
use super::{query_escape, see_other};
use crate::api::ApiError;
use crate::api::extract::Known;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shop::assets::{AssetError, ImageId, ProductImage, UploadRequest};
use shop::catalog::{ProductId, SellerId};

fn product_id(raw: &str) -> Result<ProductId, AssetError> {
    ProductId::parse(raw).map_err(|_| AssetError::NotFound)
}

#[derive(Debug, Default, Deserialize)]
pub struct UploadQuery {
    alt: Option<String>,
    replaces: Option<String>,
    /// A portal page to go back to (a plain HTML form's upload): the answer is then a 303 to
    /// it with the outcome in its query string instead of JSON.
    return_to: Option<String>,
}

/// `return_to` if it is one of the seller portal's own pages.
fn portal_page(return_to: Option<&str>) -> Option<String> {
    let path = return_to?;
    (path.starts_with("/seller/")
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_')))
    .then(|| path.to_owned())
}

/// A file name is only a label: it never names anything in the store. One that carries a
/// path (or bytes no file name has) is still refused, as a sign of a confused or hostile
/// client.
fn check_file_name(name: &str) -> Result<(), ApiError> {
    let bad = name.contains(['/', '\\'])
        || name.contains("..")
        || name.chars().any(char::is_control)
        || name.len() > 255;
    if bad {
        return Err(ApiError::bad_request(
            "the file name must be a plain name, without a path",
        ));
    }
    Ok(())
}

/// `POST /seller/products/{id}/images`: a `multipart/form-data` body with the file in an
/// `image` field (and optionally `alt` and `replaces` fields), or the raw image bytes with an
/// `image/*` content type (`?alt=&replaces=` in the query). 201 with the image and its
/// quality report: `live`, or `needs_review` with reasons. 422 with the reason when refused.
#[utoipa::path(
    post,
    path = "/seller/products/{id}/images",
    tag = "seller",
    params(
        ("id" = String, Path, description = "The product's id."),
        ("alt" = Option<String>, Query, description = "The picture's text alternative (raw bodies; a form sends it as a field)."),
        ("replaces" = Option<String>, Query, description = "The id of an image of the same product this one replaces."),
        ("return_to" = Option<String>, Query, description = "A portal page (`/seller/products/{id}`): answer with a 303 back to it instead of JSON."),
    ),
    request_body(description = "JPEG, PNG or WebP, at most 10 MB and 40 megapixels: a form with the file in field `image` (optional fields `alt`, `replaces`), or the raw bytes.", content(("multipart/form-data"), ("image/jpeg"), ("image/png"), ("image/webp"), ("application/octet-stream"))),
    responses(
        (status = 201, description = "Stored: `live`, or `needs_review` with its reasons. The same bytes again return the existing image.", body = ProductImage),
        (status = 303, description = "With `return_to`: back to that page, with `?image=live|needs_review` or `?image=refused&reason=…`."),
        (status = 404, description = "No such product of this seller's (`not_found`).", body = crate::api::error::ErrorBody),
        (status = 422, description = "Refused (`image_refused`) with the reason: not an image, a pixel bomb, damaged, under 100 px, stretched past 4:1, clearly blurred.", body = crate::api::error::ErrorBody),
    ),
    security(("seller_key" = []), ("session" = [], "csrf_token" = []))
)]
pub async fn upload(
    State(state): State<AppState>,
    Seller(seller): Seller,
    Path(id): Path<String>,
    Query(mut fields): Query<UploadQuery>,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let back = portal_page(fields.return_to.as_deref());
    let result = receive_upload(&state, seller, &id, &mut fields, &headers, request).await;
    match (back, result) {
        (None, result) => result.map(|image| (StatusCode::CREATED, Json(image)).into_response()),
        (Some(back), Ok(image)) => Ok(see_other(&format!(
            "{back}?image={}",
            image.status.as_str()
        ))),
        (Some(back), Err(e)) if e.status.is_client_error() => Ok(see_other(&format!(
            "{back}?image=refused&reason={}",
            query_escape(&e.message)
        ))),
        (Some(_), Err(e)) => Err(e),
    }
}

async fn receive_upload(
    state: &AppState,
    seller: SellerId,
    id: &str,
    fields: &mut UploadQuery,
    headers: &HeaderMap,
    request: axum::extract::Request,
) -> Result<ProductImage, ApiError> {
    let state = state.clone();
    let product = product_id(id)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "images are limited to 10 MB",
        )
    };
    let bytes = if content_type.starts_with("multipart/form-data") {
        let mut form = crate::api::multipart::read(&state, request, "image", too_large).await?;
        if let Some(alt) = form.text.remove("alt") {
            fields.alt = Some(alt);
        }
        if let Some(replaces) = form.text.remove("replaces") {
            fields.replaces = Some(replaces);
        }
        let (name, data) = form
            .file
            .ok_or_else(|| ApiError::bad_request("the form has no `image` file field"))?;
        if let Some(name) = name {
            check_file_name(&name)?;
        }
        data
    } else if content_type.starts_with("image/") || content_type == "application/octet-stream" {
        if let Some(name) = headers
            .get(header::CONTENT_DISPOSITION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split("filename=").nth(1))
        {
            check_file_name(name.trim_matches('"'))?;
        }
        axum::body::to_bytes(request.into_body(), shop::assets::pipeline::MAX_BYTES + 1)
            .await
            .map_err(|_| too_large())?
            .to_vec()
    } else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the image as multipart/form-data (field `image`) or as an image/* body",
        ));
    };
    let replaces = match fields.replaces.as_deref().map(str::trim) {
        Some(raw) if !raw.is_empty() => Some(
            ProductId::parse(raw)
                .map(ProductId::get)
                .map_err(|_| ApiError::bad_request("replaces must be an image id"))?,
        ),
        _ => None,
    };
    let image = state
        .services
        .assets
        .upload(
            seller,
            product,
            bytes,
            UploadRequest {
                alt: fields.alt.take(),
                replaces,
            },
        )
        .await?;
    Ok(image)
}

/// `GET /seller/products/{id}/images`: every image of the product, in every state.
#[utoipa::path(
    get,
    path = "/seller/products/{id}/images",
    tag = "seller",
    params(
        ("id" = String, Path, description = "The product's id."),
    ),
    responses(
        (status = 200, description = "Every image of the product in every state, in display order.", body = Vec<ProductImage>),
        (status = 404, description = "No such product of this seller's (`not_found`).", body = crate::api::error::ErrorBody),
    ),
    security(("seller_key" = []), ("session" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    Seller(seller): Seller,
    Known(id, _): Known<ProductId, AssetError>,
) -> Result<Json<Vec<ProductImage>>, ApiError> {
    Ok(Json(state.services.assets.list(seller, id).await?))
}

/// What a seller can do to one of a product's images.
#[derive(Clone, Copy, Debug)]
enum Change {
    Approve,
    Restore,
    Remove,
}

async fn change(
    state: &AppState,
    seller: SellerId,
    (product, image): (ProductId, ImageId),
    change: Change,
) -> Result<Json<ProductImage>, ApiError> {
    let image = image.get();
    let assets = &state.services.assets;
    Ok(Json(match change {
        Change::Approve => assets.approve(seller, product, image).await?,
        Change::Restore => assets.restore(seller, product, image).await?,
        Change::Remove => assets.remove(seller, product, image).await?,
    }))
}

/// `POST /seller/products/{id}/images/{image}/approve`: shows an image held for review.
#[utoipa::path(
    post,
    path = "/seller/products/{id}/images/{image}/approve",
    tag = "seller",
    params(
        ("id" = String, Path, description = "The product's id."),
        ("image" = String, Path, description = "The image's id."),
    ),
    responses(
        (status = 200, description = "Shown: an image held for review goes live (a replacement retires the image it replaces).", body = ProductImage),
        (status = 404, description = "No such image of this seller's product (`not_found`).", body = crate::api::error::ErrorBody),
    ),
    security(("seller_key" = []), ("session" = [], "csrf_token" = []))
)]
pub async fn approve(
    State(state): State<AppState>,
    Seller(seller): Seller,
    Known(ids, _): Known<(ProductId, ImageId), AssetError>,
) -> Result<Json<ProductImage>, ApiError> {
    change(&state, seller, ids, Change::Approve).await
}

/// `POST /seller/products/{id}/images/{image}/restore`: brings back a removed or replaced
/// image (its bytes never left the store).
#[utoipa::path(
    post,
    path = "/seller/products/{id}/images/{image}/restore",
    tag = "seller",
    params(
        ("id" = String, Path, description = "The product's id."),
        ("image" = String, Path, description = "The image's id."),
    ),
    responses(
        (status = 200, description = "Brought back: a removed or replaced image is live again.", body = ProductImage),
        (status = 404, description = "No such image of this seller's product (`not_found`).", body = crate::api::error::ErrorBody),
    ),
    security(("seller_key" = []), ("session" = [], "csrf_token" = []))
)]
pub async fn restore(
    State(state): State<AppState>,
    Seller(seller): Seller,
    Known(ids, _): Known<(ProductId, ImageId), AssetError>,
) -> Result<Json<ProductImage>, ApiError> {
    change(&state, seller, ids, Change::Restore).await
}

/// `DELETE /seller/products/{id}/images/{image}`: takes an image off the product's pages.
#[utoipa::path(
    delete,
    path = "/seller/products/{id}/images/{image}",
    tag = "seller",
    params(
        ("id" = String, Path, description = "The product's id."),
        ("image" = String, Path, description = "The image's id."),
    ),
    responses(
        (status = 200, description = "Taken off the product's pages (its bytes stay in the store).", body = ProductImage),
        (status = 404, description = "No such image of this seller's product (`not_found`).", body = crate::api::error::ErrorBody),
    ),
    security(("seller_key" = []), ("session" = [], "csrf_token" = []))
)]
pub async fn remove(
    State(state): State<AppState>,
    Seller(seller): Seller,
    Known(ids, _): Known<(ProductId, ImageId), AssetError>,
) -> Result<Json<ProductImage>, ApiError> {
    change(&state, seller, ids, Change::Remove).await
}
