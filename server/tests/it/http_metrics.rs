//! Request metrics (`server::http_metrics`): counted by route template, method class, status
//! class and latency bucket.

use http::{Method, StatusCode};
use server::http_metrics::{HttpMetrics, template};
use std::time::Duration;

#[test]
fn requests_are_counted_by_template_class_and_bucket() {
    let m = HttpMetrics::default();
    m.record(
        "/p/{slug}",
        &Method::GET,
        StatusCode::OK,
        Duration::from_millis(3),
    );
    m.record(
        "/p/{slug}",
        &Method::GET,
        StatusCode::NOT_FOUND,
        Duration::from_secs(9),
    );
    m.record(
        "other",
        &Method::from_bytes(b"BREW").unwrap_or(Method::GET),
        StatusCode::OK,
        Duration::ZERO,
    );
    let mut out = String::new();
    m.render(&mut out);
    for line in [
        r#"emporium_http_requests_total{route="/p/{slug}",method="GET",status="2xx"} 1"#,
        r#"emporium_http_requests_total{route="/p/{slug}",method="GET",status="4xx"} 1"#,
        r#"emporium_http_requests_total{route="other",method="other",status="2xx"} 1"#,
        r#"emporium_http_request_duration_seconds_bucket{route="/p/{slug}",le="0.0025"} 0"#,
        r#"emporium_http_request_duration_seconds_bucket{route="/p/{slug}",le="0.005"} 1"#,
        r#"emporium_http_request_duration_seconds_bucket{route="/p/{slug}",le="2.5"} 1"#,
        r#"emporium_http_request_duration_seconds_bucket{route="/p/{slug}",le="+Inf"} 2"#,
        r#"emporium_http_request_duration_seconds_count{route="/p/{slug}"} 2"#,
    ] {
        assert!(out.lines().any(|l| l == line), "{line} in\n{out}");
    }
}

#[test]
fn a_nested_service_is_named_by_its_prefix() {
    assert_eq!(template("/pkg/{*__private__axum_nest_tail_param}"), "/pkg");
    assert_eq!(
        template("/pkg/0123abcd/{*__private__axum_nest_tail_param}"),
        "/pkg"
    );
    assert_eq!(template("/p/{slug}"), "/p/{slug}");
}
