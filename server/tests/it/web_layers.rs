//! The request layers (`server::web`): route classes, per-address limits, the page policy's
//! nonce and the form token.

use server::web::{
    CSRF_FIELD, RateLimits, RouteClass, RouteClasses, form_urlencoded_value, nonce_in, page_policy,
};
use std::net::IpAddr;

/// The shop's policy, stated apart from the code that applies it: guessing credentials
/// (signing in, a second factor's code, or checking the current password before a change) and mailing people count
/// as signing in, placing an order as checkout, changing a cart as
/// cart; every other API route as API use, every other server function as browsing.
fn policy(route: &str) -> RouteClass {
    const SIGN_IN: [&str; 13] = [
        // Guessing an order's e-mail is guessing a credential.
        "/rpc/orders/lookup",
        "/rpc/account/sign-in",
        "/rpc/account/sign-in-code",
        "/rpc/account/security/enable",
        "/rpc/account/security/change",
        "/api/v1/session/code",
        "/rpc/account/password",
        "/rpc/account/sign-up",
        "/rpc/account/sign-out",
        "/rpc/account/confirm",
        "/rpc/account/reset-request",
        "/rpc/account/reset",
        "/api/v1/session",
    ];
    const CHECKOUT: [&str; 2] = ["/rpc/checkout/place", "/api/v1/checkouts"];
    const CART: [&str; 9] = [
        "/rpc/cart/load",
        "/rpc/cart/estimate",
        "/rpc/cart/estimate-for",
        "/rpc/cart/add",
        "/rpc/cart/set",
        "/rpc/cart/coupon",
        "/api/v1/carts",
        "/api/v1/carts/{cart_id}/lines/{sku}",
        "/api/v1/carts/{cart_id}/coupon",
    ];
    if SIGN_IN.contains(&route) {
        RouteClass::SignIn
    } else if CHECKOUT.contains(&route) {
        RouteClass::Checkout
    } else if CART.contains(&route) {
        RouteClass::Cart
    } else if route.starts_with("/api/") {
        RouteClass::Api
    } else {
        RouteClass::Browse
    }
}

#[test]
fn every_route_has_the_class_it_should() {
    let (_, api) = server::api::router().into_parts();
    let classes = RouteClasses::new(server::api::PREFIX, api);
    let server_functions: Vec<&str> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path)
        .collect();
    assert!(
        server_functions.len() >= 46,
        "the app's server functions are registered: {server_functions:?}"
    );
    for path in &server_functions {
        assert!(
            classes.classifies(path),
            "server function {path} has no class in web::limits::server_functions"
        );
    }
    let mut api_routes = 0;
    for (route, class) in classes.routes() {
        assert_eq!(class, policy(route), "{route}");
        api_routes += usize::from(route.starts_with("/api/v1"));
    }
    assert!(
        api_routes >= 25,
        "the API's routes are classed: {api_routes}"
    );
    // A route that is not browsing must still be there (a rename would otherwise slip out
    // of its class unnoticed, into browsing).
    for route in [
        "/rpc/account/sign-in",
        "/rpc/checkout/place",
        "/rpc/cart/add",
        "/api/v1/session",
        "/api/v1/checkouts",
        "/api/v1/carts/{cart_id}/lines/{sku}",
    ] {
        assert!(classes.classifies(route), "{route} is declared");
    }
    assert_eq!(
        classes.of(None),
        RouteClass::Browse,
        "what no route matched (the site's files, the 404 page) is browsing"
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
fn an_ipv6_client_is_its_slash_64_and_cannot_escape_the_limit_by_changing_address() {
    let limits = RateLimits::default();
    let network = |host: u64| {
        IpAddr::from(std::net::Ipv6Addr::from(
            (0x2001_0db8_0001_0002u128 << 64) | u128::from(host),
        ))
    };
    // A fresh address of the same /64 for every guess.
    let allowed = (0..30)
        .filter(|&n| limits.check(RouteClass::SignIn, network(n + 1)).is_ok())
        .count();
    assert_eq!(allowed, 10, "the sign-in burst for the whole /64");
    let neighbour: IpAddr = "2001:db8:1:3::1".parse().unwrap();
    assert!(
        limits.check(RouteClass::SignIn, neighbour).is_ok(),
        "the next /64 is another client"
    );
    // A dual-stack socket reports an IPv4 client as ::ffff:a.b.c.d: still that one address.
    let v4: IpAddr = [192, 0, 2, 7].into();
    let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
    let through_either = (0..30)
        .filter(|&n| {
            let ip = if n % 2 == 0 { v4 } else { mapped };
            limits.check(RouteClass::SignIn, ip).is_ok()
        })
        .count();
    assert_eq!(through_either, 10, "one IPv4 client, however it is written");
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
