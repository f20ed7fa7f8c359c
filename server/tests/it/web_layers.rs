//! The request layers (`server::web`): route classes, per-address limits, the page policy's
//! nonce and the form token.

use http::Method;
use server::web::{
    CSRF_FIELD, RateLimits, RouteClass, form_urlencoded_value, nonce_in, page_policy,
};
use std::net::IpAddr;

#[test]
fn routes_fall_into_their_classes() {
    let post = Method::POST;
    let get = Method::GET;
    assert_eq!(
        RouteClass::of(&post, "/rpc/account/sign-in"),
        RouteClass::SignIn
    );
    assert_eq!(
        RouteClass::of(&post, "/rpc/account/reset-request"),
        RouteClass::SignIn
    );
    assert_eq!(RouteClass::of(&post, "/api/v1/session"), RouteClass::SignIn);
    assert_eq!(
        RouteClass::of(&post, "/rpc/checkout/place"),
        RouteClass::Checkout
    );
    assert_eq!(
        RouteClass::of(&post, "/api/v1/checkouts"),
        RouteClass::Checkout
    );
    assert_eq!(RouteClass::of(&post, "/rpc/cart/add"), RouteClass::Cart);
    assert_eq!(RouteClass::of(&get, "/api/v1/products"), RouteClass::Api);
    assert_eq!(RouteClass::of(&get, "/p/some-product"), RouteClass::Browse);
    assert_eq!(RouteClass::of(&get, "/pkg/emporium.wasm"), RouteClass::Free);
    assert_eq!(
        RouteClass::of(&get, "/assets/s/a/b/c.jpg"),
        RouteClass::Free
    );
}

#[test]
fn a_limit_refuses_past_its_burst_per_address() {
    let limits = RateLimits::default();
    let a: IpAddr = [10, 0, 0, 1].into();
    let b: IpAddr = [10, 0, 0, 2].into();
    let allowed = (0..30)
        .filter(|_| limits.check(RouteClass::SignIn, a).is_ok())
        .count();
    assert_eq!(allowed, 10, "the sign-in burst");
    assert!(
        limits.check(RouteClass::SignIn, b).is_ok(),
        "another address is not affected"
    );
    assert!(
        limits.check(RouteClass::Browse, a).is_ok(),
        "nor another class"
    );
    assert_eq!(limits.refusals()[3], ("sign_in", 20));
}

#[test]
fn a_page_policy_takes_the_nonce_of_its_scripts() {
    let html = br#"<html><head><script type="module" nonce="aB3+/x_-">x</script>"#;
    assert_eq!(nonce_in(html), Some("aB3+/x_-"));
    assert_eq!(
        nonce_in(br#"<script nonce="a'b">"#),
        None,
        "nothing that could break out"
    );
    assert_eq!(nonce_in(b"<p>no scripts</p>"), None);
    assert!(page_policy(Some("abc")).contains("'nonce-abc'"));
    assert!(!page_policy(None).contains("nonce"));
}

#[test]
fn form_tokens_are_found_by_exact_name() {
    assert_eq!(
        form_urlencoded_value(b"a=1&csrf_token=abc&b=2", CSRF_FIELD),
        Some("abc".into())
    );
    assert_eq!(form_urlencoded_value(b"xcsrf_token=abc", CSRF_FIELD), None);
}
