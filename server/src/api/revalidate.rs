//! Conditional GETs for the public catalog routes: each 200 carries a strong `ETag` made from
//! its body, and a request whose `If-None-Match` names it gets `304 Not Modified` with no
//! body. The tag is a hash of the bytes, so every node computes the same one and a change to
//! a product (price, stock shown, title) changes it; `Cache-Control: no-cache` lets clients
//! and shared caches keep a copy but ask before using it, because stock moves.
//!
//! The handler still runs (the tag is the body's), so this saves bandwidth and the client's
//! parsing, not the server's work; catalog caching is a separate step.

use crate::conditional;
use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, StatusCode, header};

/// The most a tagged answer may hold. Catalog answers are far smaller (at most 100 products
/// a page); one past this is a bug, answered 500 like any other.
const LIMIT: usize = 4 * 1024 * 1024;

pub async fn revalidate(request: Request, next: Next) -> Response {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return next.run(request).await;
    }
    let asked = conditional::if_none_match(request.headers());
    let response = next.run(request).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, LIMIT).await else {
        // Too large to buffer, or the body failed: there is nothing left to send but an error.
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let Some(tag) = conditional::strong_tag(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    parts
        .headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-cache"));
    let matches = conditional::none_match(&asked, &tag);
    parts.headers.insert(header::ETAG, tag);
    if matches {
        return conditional::not_modified(parts);
    }
    Response::from_parts(parts, Body::from(bytes))
}
