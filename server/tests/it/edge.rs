//! What the node shows at its edge to whoever asks: where sign-in sends the browser, the
//! cookies it sets over TLS, what the operator endpoints tell strangers, and what a shared
//! checkout link reveals.

use crate::common::{JsonApi, PASSWORD, TestApp, account, new_cart, spawn_app, spawn_app_with};
use futures_util::StreamExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::{Method, Url};
use serde_json::{Value, json};
use shop::accounts::Role;

/// Where a browser on our sign-in page would end up, given the `Location` we answered: our
/// own origin, or the reason it would not be. Judged as a browser judges it (WHATWG URL
/// parsing, backslashes as slashes), after refusing anything a browser would strip or
/// rewrite first (tabs, newlines, spaces, other controls, bytes past ASCII).
fn leaves_our_origin(location: &str) -> Option<String> {
    if !location.bytes().all(|b| (0x21..0x7f).contains(&b)) {
        return Some(format!("a Location a browser rewrites: {location:?}"));
    }
    let page = Url::parse("https://shop.example/account/sign-in").unwrap();
    match page.join(location) {
        Ok(target) if target.origin() == page.origin() => None,
        Ok(target) => Some(format!("{location:?} leads to {target}")),
        Err(e) => Some(format!("{location:?} is no URL: {e}")),
    }
}

/// Every byte alone, percent-encoded after a slash (`/%00` … `/%FF`), the two spellings the
/// review found, and `random` strings drawn from the characters that make paths tricky.
fn next_values(random: usize) -> Vec<String> {
    let mut values: Vec<String> = (0..=255u8).map(|b| format!("/%{b:02X}")).collect();
    values.push("/%09/evil.example".into());
    values.push("/%01".into());
    const PIECES: [&str; 24] = [
        "/",
        "//",
        "\\",
        "%2F",
        "%5C",
        "%09",
        "%0A",
        "%0D",
        "%00",
        "%01",
        "%20",
        "%7F",
        ".",
        "..",
        ":",
        "@",
        "?",
        "#",
        "evil.example",
        "https:",
        "a",
        "%C3%A9",
        "%E2%80%AE",
        "%FF",
    ];
    let mut rng = StdRng::seed_from_u64(26);
    for _ in 0..random {
        let len = rng.random_range(1..8);
        values.push(
            (0..len)
                .map(|_| PIECES[rng.random_range(0..PIECES.len())])
                .collect(),
        );
    }
    values
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_sends_the_browser_only_to_our_own_paths_whatever_next_holds() {
    let app = spawn_app().await;
    account(&app, "fuzz@example.com", Role::Shopper, None).await;
    let app = &app;
    let answers: Vec<(String, Result<(), String>)> = futures_util::stream::iter(next_values(256))
        .map(|next| async move {
            let outcome = sign_in_with_next(app, &next).await;
            (next, outcome)
        })
        .buffer_unordered(4)
        .collect()
        .await;
    let mut wrong: Vec<String> = answers
        .into_iter()
        .filter_map(|(next, outcome)| outcome.err().map(|e| format!("next={next}: {e}")))
        .collect();
    wrong.sort();
    assert!(
        wrong.is_empty(),
        "{} of 514 values of next went wrong, e.g.:\n{}",
        wrong.len(),
        wrong[..wrong.len().min(16)].join("\n")
    );
}

/// The sign-in page with `next` (percent-encoded as written), then a good sign-in posted from
/// it as a plain form: the page must render, and the sign-in must redirect within our origin.
async fn sign_in_with_next(app: &TestApp, next: &str) -> Result<(), String> {
    let page = app
        .client
        .get(app.url(&format!("/account/sign-in?next={next}")))
        .send()
        .await
        .map_err(|e| format!("the page failed: {e}"))?;
    if page.status() != 200 {
        return Err(format!("the page answered {}", page.status()));
    }
    let answer = app
        .client
        .post(app.url("/rpc/account/sign-in"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Accept", "text/html")
        .header("Sec-Fetch-Site", "same-origin")
        .body(format!(
            "email=fuzz%40example.com&password={}&next={next}",
            PASSWORD.replace(' ', "+")
        ))
        .send()
        .await
        .map_err(|e| format!("the sign-in got no answer (a panic?): {e}"))?;
    if answer.status() != 302 {
        return Err(format!("the sign-in answered {}", answer.status()));
    }
    let location = answer
        .headers()
        .get("location")
        .ok_or("a redirect without a Location")?;
    match leaves_our_origin(&String::from_utf8_lossy(location.as_bytes())) {
        None => Ok(()),
        Some(why) => Err(why),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_checkout_link_shows_the_e_mail_masked() {
    let app = spawn_app().await;
    let cart = new_cart(&app).await;
    let (status, body) = app
        .send_json(
            Method::PUT,
            &format!("/api/v1/carts/{cart}/lines/WANDS-13-KING"),
            None,
            &json!({ "quantity": 1 }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, placed) = app
        .send_json(
            Method::POST,
            "/api/v1/checkouts",
            Some("masked-mail-0001"),
            &json!({
                "cart_id": cart,
                "email": "ana.lima@example.com",
                "shipping_address": {
                    "name": "Ana Lima", "line1": "1 Main St", "city": "Springfield",
                    "postal_code": "12345", "country": "US"
                },
                "payment": { "card_number": "4242424242424242" },
            }),
        )
        .await;
    assert_eq!(status, 201, "{placed}");
    let placed: Value = serde_json::from_str(&placed).unwrap();
    let checkout = placed["checkout_id"].as_str().unwrap();
    let (status, html) = app.get_text(&format!("/checkout/{checkout}")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Your order is confirmed"),
        "the status page shows the confirmed order"
    );
    assert!(
        !html.contains("ana.lima@example.com"),
        "anyone with the link would read the whole address"
    );
    assert!(
        crate::common::without_hydration_markers(&html).contains("a•••@example.com"),
        "the address is shown as the order page shows it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_https_cookies_are_secure_the_session_is_host_bound_and_hsts_is_sent() {
    let app = spawn_app_with(|s| s.http.public_url = Some("https://shop.example".into())).await;
    account(&app, "tls@example.com", Role::Shopper, None).await;
    let answer = app
        .client
        .post(app.url("/rpc/account/sign-in"))
        .header("Accept", "text/html")
        .header("Sec-Fetch-Site", "same-origin")
        .form(&[("email", "tls@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 302);
    let cookies = set_cookies(&answer);
    let session = cookies
        .iter()
        .find(|c| c.starts_with("__Host-emporium_session="))
        .unwrap_or_else(|| panic!("a __Host- session cookie: {cookies:?}"));
    assert!(
        session.contains("; Secure") && session.contains("Path=/"),
        "{session}"
    );
    assert!(!session.contains("Domain="), "{session}");
    assert!(
        cookies.iter().all(|c| c.contains("; Secure")),
        "{cookies:?}"
    );
    assert!(
        answer
            .headers()
            .get("strict-transport-security")
            .is_some_and(|h| h.to_str().unwrap().starts_with("max-age=")),
        "HSTS follows the https address"
    );
    // The node reads the cookie under its new name.
    let pair = session.split(';').next().unwrap();
    let account = app
        .client
        .get(app.url("/account"))
        .header("Cookie", pair)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(account.contains("Signed in as"), "{account}");
    // The JSON API's sign-in sets the same cookie.
    let api = app
        .client
        .post(app.url("/api/v1/session"))
        .json(&json!({ "email": "tls@example.com", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    let cookies = set_cookies(&api);
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("__Host-emporium_session=") && c.contains("; Secure")),
        "{cookies:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_plain_http_cookies_and_headers_stay_as_they_were() {
    let app = spawn_app().await;
    account(&app, "plain@example.com", Role::Shopper, None).await;
    let answer = app
        .client
        .post(app.url("/api/v1/session"))
        .json(&json!({ "email": "plain@example.com", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert!(answer.headers().get("strict-transport-security").is_none());
    let cookies = set_cookies(&answer);
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("emporium_session=") && !c.contains("Secure")),
        "{cookies:?}"
    );
}

fn set_cookies(answer: &reqwest::Response) -> Vec<String> {
    answer
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}
