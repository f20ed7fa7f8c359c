//! Request metrics (`server::http_metrics`): counted by route template, method class, status
//! class and latency bucket, on the recorder of the state that served them.

use http::{Method, StatusCode};
use server::http_metrics::{record, template};
use server::metrics::Metrics;
use std::time::Duration;

#[test]
fn requests_are_counted_by_template_class_and_bucket() {
    let m = Metrics::new().unwrap();
    record(
        &m,
        "/p/{slug}",
        &Method::GET,
        StatusCode::OK,
        Duration::from_millis(3),
    );
    record(
        &m,
        "/p/{slug}",
        &Method::GET,
        StatusCode::NOT_FOUND,
        Duration::from_secs(9),
    );
    record(
        &m,
        "other",
        &Method::from_bytes(b"BREW").unwrap_or(Method::GET),
        StatusCode::OK,
        Duration::ZERO,
    );
    let out = m.render();
    for line in [
        "# TYPE emporium_http_requests_total counter",
        "# TYPE emporium_http_request_duration_seconds histogram",
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
fn two_nodes_in_one_process_keep_their_own_counts() {
    let (busy, idle) = (Metrics::new().unwrap(), Metrics::new().unwrap());
    record(
        &busy,
        "/p/{slug}",
        &Method::GET,
        StatusCode::OK,
        Duration::from_millis(3),
    );
    assert!(busy.render().contains(
        r#"emporium_http_requests_total{route="/p/{slug}",method="GET",status="2xx"} 1"#
    ));
    let idle = idle.render();
    assert!(
        !idle.contains("route=\"/p/{slug}\""),
        "the other node counted a request it never saw:\n{idle}"
    );
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
