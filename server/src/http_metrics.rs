//! Requests per route, for `/metrics`: how many, by method and status class, and how long
//! they took (a histogram with fixed buckets).
//!
//! Routes are labelled by their *template* (`/p/{slug}`, `/api/v1/carts/{cart}`, a server
//! function's path), never by the path asked for: one series per product or cart id would
//! grow without bound and sink the metrics store. Requests no route matched (static files
//! from the site root, unknown paths) are all `other`.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{Method, StatusCode};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The histogram's upper bounds, in seconds (`+Inf` is implied). Closer together below
/// 25 ms, where the latency targets are (a p99 of 10 or 15 ms must be readable from them).
pub const BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Per-route tallies since start. One per process, shared by every router built from the
/// same state.
#[derive(Debug, Default)]
pub struct HttpMetrics {
    // One short lock per request: a hash lookup and a few additions. The number of keys is
    // the number of routes, so the map never grows past the router.
    routes: Mutex<HashMap<String, RouteStats>>,
}

#[derive(Clone, Debug, Default)]
struct RouteStats {
    /// Requests by (method, status class).
    requests: BTreeMap<(&'static str, &'static str), u64>,
    /// Requests that took at most `BUCKETS[i]` and more than the bound before it; made
    /// cumulative when rendered.
    buckets: [u64; BUCKETS.len()],
    seconds: f64,
    count: u64,
}

impl HttpMetrics {
    /// Counts one answered request.
    pub fn record(&self, route: &str, method: &Method, status: StatusCode, took: Duration) {
        let seconds = took.as_secs_f64();
        let mut routes = self.lock();
        let stats = match routes.get_mut(route) {
            Some(stats) => stats,
            None => routes.entry(route.to_owned()).or_default(),
        };
        *stats
            .requests
            .entry((method_label(method), status_class(status)))
            .or_default() += 1;
        if let Some(i) = BUCKETS.iter().position(|bound| seconds <= *bound) {
            stats.buckets[i] += 1;
        }
        stats.seconds += seconds;
        stats.count += 1;
    }

    /// Appends the two metric families in Prometheus' text format.
    pub fn render(&self, out: &mut String) {
        // Copied out so that rendering (string building) never holds up requests.
        let mut routes: Vec<(String, RouteStats)> = self
            .lock()
            .iter()
            .map(|(route, stats)| (route.clone(), stats.clone()))
            .collect();
        routes.sort_by(|a, b| a.0.cmp(&b.0));
        out.push_str(
            "# HELP emporium_http_requests_total Requests answered, by route template, method and status class.\n\
             # TYPE emporium_http_requests_total counter\n",
        );
        for (route, stats) in &routes {
            let route = escape(route);
            for ((method, class), n) in &stats.requests {
                let _ = writeln!(
                    out,
                    "emporium_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{class}\"}} {n}"
                );
            }
        }
        out.push_str(
            "# HELP emporium_http_request_duration_seconds Time from a request's arrival to its answer's headers, by route template.\n\
             # TYPE emporium_http_request_duration_seconds histogram\n",
        );
        for (route, stats) in &routes {
            let route = escape(route);
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(stats.buckets) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "emporium_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = write!(
                out,
                "emporium_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {count}\n\
                 emporium_http_request_duration_seconds_sum{{route=\"{route}\"}} {sum:.6}\n\
                 emporium_http_request_duration_seconds_count{{route=\"{route}\"}} {count}\n",
                count = stats.count,
                sum = stats.seconds,
            );
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, RouteStats>> {
        // Each update is a few additions to one entry; a panic between them (there is
        // nothing there that can panic) would leave one request half-counted at worst.
        self.routes.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The middleware: times the request and counts it under its route's template. Added with
/// `Router::layer`, it runs after routing, where the matched route is known.
pub async fn measure(
    State(metrics): State<Arc<HttpMetrics>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    let route = route.as_ref().map_or("other", |r| template(r.as_str()));
    metrics.record(route, &method, response.status(), started.elapsed());
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

/// A label value as Prometheus' text format wants it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
