//! Conditional GETs: the `ETag` a body gets, whether a request's `If-None-Match` names it,
//! and the `304 Not Modified` that answers it. The JSON API tags its answers with a strong
//! tag (`api::revalidate`); pages get a weak one (`web::security_headers`), because two
//! renders of the same page differ in their script nonce and nothing else a reader sees.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderMap, HeaderValue, StatusCode, header, response::Parts};
use sha2::{Digest, Sha256};

/// A strong tag: the body's SHA-256, shortened to 128 bits.
pub fn strong_tag(body: &[u8]) -> Option<HeaderValue> {
    let digest = Sha256::digest(body);
    HeaderValue::from_str(&format!("\"{}\"", hex(&digest[..16]))).ok()
}

/// A page's weak tag: the hash of its HTML with every copy of this response's `nonce` left
/// out, so the same page rendered twice (for the same visitor, with the same data) gets the
/// same tag although each render has its own nonce.
pub fn page_tag(html: &[u8], nonce: Option<&str>) -> Option<HeaderValue> {
    let mut hash = Sha256::new();
    match nonce.map(str::as_bytes).filter(|n| !n.is_empty()) {
        Some(nonce) => {
            let mut rest = html;
            while let Some(at) = memchr::memmem::find(rest, nonce) {
                hash.update(&rest[..at]);
                hash.update(b"\0nonce\0");
                rest = &rest[at + nonce.len()..];
            }
            hash.update(rest);
        }
        None => hash.update(html),
    }
    let digest = hash.finalize();
    HeaderValue::from_str(&format!("W/\"{}\"", hex(&digest[..16]))).ok()
}

/// The request's `If-None-Match` values, kept while the answer is made (usually none).
pub fn if_none_match(request: &HeaderMap) -> Vec<HeaderValue> {
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .cloned()
        .collect()
}

/// Whether the `If-None-Match` values `asked` name `tag` (the weak comparison RFC 9110 asks
/// of `If-None-Match`: `W/` prefixes are ignored on both sides), or are `*`.
pub fn none_match(asked: &[HeaderValue], tag: &HeaderValue) -> bool {
    fn opaque(t: &[u8]) -> &[u8] {
        t.strip_prefix(b"W/").unwrap_or(t)
    }
    let tag = opaque(tag.as_bytes());
    asked
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|t| t == "*" || opaque(t.as_bytes()) == tag)
}

/// `304 Not Modified` in place of the answer `parts` began: its validators and caching
/// headers stay, the body and what describes it go.
pub fn not_modified(mut parts: Parts) -> Response {
    parts.status = StatusCode::NOT_MODIFIED;
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_TYPE);
    Response::from_parts(parts, Body::empty())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
