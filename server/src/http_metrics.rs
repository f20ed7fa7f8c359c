//! Requests per route, for `/metrics`: how many, by method and status class, and how long
//! they took (a histogram with fixed buckets).
//!
//! Routes are labelled by their *template* (`/p/{slug}`, `/api/v1/carts/{cart}`, a server
//! function's path), never by the path asked for: one series per product or cart id would
//! grow without bound and sink the metrics store. Requests no route matched (static files
//! from the site root, unknown paths) are all `other`.

use crate::metrics::Metrics;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{Method, StatusCode};
use metrics::{counter, describe_counter, describe_histogram, histogram};
use std::time::{Duration, Instant};

/// Requests answered, by route template, method and status class.
pub const REQUESTS: &str = "emporium_http_requests_total";
/// Time to the answer's headers, a histogram by route template.
pub const DURATION: &str = "emporium_http_request_duration_seconds";

/// [`DURATION`]'s upper bounds, in seconds (`+Inf` is implied). Closer together below
/// 25 ms, where the latency targets are (a p99 of 10 or 15 ms must be readable from them).
pub const BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// The families' help text, once per recorder.
pub fn describe() {
    describe_counter!(
        REQUESTS,
        "Requests answered, by route template, method and status class."
    );
    describe_histogram!(
        DURATION,
        "Time from a request's arrival to its answer's headers, by route template."
    );
}

/// Counts one answered request.
pub fn record(metrics: &Metrics, route: &str, method: &Method, status: StatusCode, took: Duration) {
    metrics.record(|| {
        counter!(
            REQUESTS,
            "route" => route.to_owned(),
            "method" => method_label(method),
            "status" => status_class(status),
        )
        .increment(1);
        histogram!(DURATION, "route" => route.to_owned()).record(took);
    });
}

/// The middleware: times the request and counts it under its route's template. Added with
/// `Router::layer`, it runs after routing, where the matched route is known.
pub async fn measure(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    let route = route.as_ref().map_or("other", |r| template(r.as_str()));
    record(
        &metrics,
        route,
        &method,
        response.status(),
        started.elapsed(),
    );
    response
}

/// A nested service's route as the operator would write it: `/pkg/{*…}` for what axum
/// calls `/pkg/{*__private__axum_nest_tail_param}`.
pub fn template(matched: &str) -> &str {
    // The bundle under its version is still the bundle (one series, not one per build).
    if matched.starts_with("/pkg/") {
        return "/pkg";
    }
    match matched.find("/{*__private__axum") {
        Some(at) => &matched[..at],
        None => matched,
    }
}

/// The method, or `other` for anything outside the standard set (a client may send any
/// token there; each would be a new series).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}
