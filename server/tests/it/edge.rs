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
                    "region": "IL", "postal_code": "62701", "country": "US"
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

/// A request to `path` as a stranger on the internet would make it, through a proxy the
/// node trusts to name the client (`203.0.113.7`, a documentation address).
fn from_afar(app: &TestApp, path: &str) -> reqwest::RequestBuilder {
    app.client
        .get(app.url(path))
        .header("X-Forwarded-For", "203.0.113.7")
}

/// The settings of a node behind a proxy, whose metrics are scraped with `METRICS_TOKEN`.
fn behind_a_proxy(s: &mut server::config::Settings) {
    s.http.trust_forwarded_for = true;
    s.http.metrics_token = Some(METRICS_TOKEN.to_owned().into());
}

const METRICS_TOKEN: &str = "a-long-random-scrape-token";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_answer_loopback_and_the_holder_of_the_token_only() {
    let app = spawn_app_with(behind_a_proxy).await;
    let (status, page) = app.get_text("/metrics").await;
    assert_eq!(status, 200, "a scraper on the node itself needs no token");
    assert!(page.contains("emporium_search_index_ready 1"), "{page}");
    for (authorization, expected) in [
        (None, 401),
        (Some("Bearer not-the-token".to_owned()), 401),
        (Some(format!("Basic {METRICS_TOKEN}")), 401),
        (Some(format!("Bearer {METRICS_TOKEN}")), 200),
    ] {
        let mut request = from_afar(&app, "/metrics");
        if let Some(value) = &authorization {
            request = request.header("Authorization", value);
        }
        let answer = request.send().await.unwrap();
        let status = answer.status().as_u16();
        let body = answer.text().await.unwrap();
        assert_eq!(status, expected, "{authorization:?}");
        assert_eq!(
            body.contains("emporium_search_index_ready"),
            expected == 200,
            "{authorization:?}: {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_details_are_for_loopback_and_admins_and_strangers_get_the_status() {
    let app = spawn_app_with(behind_a_proxy).await;
    let stranger = json_of_answer(from_afar(&app, "/readyz")).await;
    assert_eq!(stranger, (200, json!({ "status": "up" })), "no details");
    let (status, local) = app.get_json("/readyz").await;
    assert_eq!(status, 200);
    assert_eq!(local["components"]["database"]["status"], "up", "{local}");
    account(&app, "ops@example.com", Role::Admin, None).await;
    let (_, admin, _) = crate::common::sign_in(&app, "ops@example.com", PASSWORD).await;
    let admin = admin.expect("the admin is signed in");
    let (status, seen) = json_of_answer(from_afar(&app, "/readyz").header("Cookie", &admin)).await;
    assert_eq!(status, 200);
    assert!(
        seen["components"]["assets"]["detail"]
            .as_str()
            .is_some_and(|d| d.contains(&app.assets_dir.display().to_string())),
        "an admin sees where pictures are kept: {seen}"
    );

    // With the database gone, a stranger learns that the node is down, and nothing of why.
    app.scratch.db.close().await;
    let stranger = json_of_answer(from_afar(&app, "/readyz")).await;
    assert_eq!(stranger, (503, json!({ "status": "down" })));
    let (status, local) = app.get_json("/readyz").await;
    assert_eq!(status, 503);
    assert_eq!(local["components"]["database"]["status"], "down");
}

async fn json_of_answer(request: reqwest::RequestBuilder) -> (u16, Value) {
    let answer = request.send().await.unwrap();
    (answer.status().as_u16(), answer.json().await.unwrap())
}

/// The value of the unlabelled series `name` on a `/metrics` page.
fn series(page: &str, name: &str) -> Option<f64> {
    page.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// The number of unsent messages `/metrics` shows (a gauge it reads from the database).
async fn mail_waiting(app: &TestApp) -> Option<f64> {
    series(&app.get_text("/metrics").await.1, "emporium_mail_waiting")
}

/// A node that keeps its database readings for `interval_ms`, scraped once with the mail
/// outbox empty, then given one message to send.
async fn scraped_then_mailed(interval_ms: u64) -> TestApp {
    let app = spawn_app_with(|s| s.http.metrics_cache_ms = interval_ms).await;
    assert_eq!(mail_waiting(&app).await, Some(0.0));
    queue_a_message(&app).await;
    app
}

async fn queue_a_message(app: &TestApp) {
    app.state
        .services
        .outbox
        .queue(&shop::mail::Mail {
            html: None,
            to: shop::checkout::Email::parse("gauge@example.com").unwrap(),
            subject: "Hello".into(),
            body: "A message that waits.".into(),
        })
        .await
        .unwrap();
}

/// What `/readyz` (asked from loopback, so with its details) says of the mail outbox.
async fn mail_readiness(app: &TestApp) -> String {
    let (_, readiness) = app.get_json("/readyz").await;
    readiness["components"]["mail"]["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A node that keeps its readiness for `interval_ms`, probed once with the outbox empty,
/// then given one message to send.
async fn probed_then_mailed(interval_ms: u64) -> TestApp {
    let app = spawn_app_with(|s| s.http.readiness_cache_ms = interval_ms).await;
    assert_eq!(mail_readiness(&app).await, "0 waiting, 0 failing");
    queue_a_message(&app).await;
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_readiness_probes_checks_the_node_once_per_interval() {
    // An interval no test outlives: every probe below falls inside the first one's.
    let app = &probed_then_mailed(3_600_000).await;
    let flood: Vec<String> = futures_util::stream::iter(0..50)
        .map(|_| mail_readiness(app))
        .buffer_unordered(10)
        .collect()
        .await;
    assert!(
        flood.iter().all(|m| m == "0 waiting, 0 failing"),
        "every probe in the interval is answered from the first one's check: {flood:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_is_checked_again_once_its_interval_is_over() {
    let app = probed_then_mailed(100).await;
    crate::common::wait_for("the new message in the readiness", async || {
        mail_readiness(&app).await == "1 waiting, 0 failing"
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_scrapes_reads_the_database_gauges_once_per_interval() {
    // An interval no test outlives: every scrape below falls inside the first one's.
    let app = &scraped_then_mailed(3_600_000).await;
    let flood: Vec<Option<f64>> = futures_util::stream::iter(0..50)
        .map(|_| mail_waiting(app))
        .buffer_unordered(10)
        .collect()
        .await;
    assert_eq!(
        flood,
        vec![Some(0.0); 50],
        "every scrape in the interval is answered from the first one's reading"
    );
    // The recorded series are live all the same: only the database's gauges wait.
    let requests = |page: &str| {
        series(
            page,
            "emporium_http_requests_total{route=\"/metrics\",method=\"GET\",status=\"2xx\"}",
        )
    };
    assert_eq!(requests(&app.get_text("/metrics").await.1), Some(51.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_gauges_are_read_again_once_their_interval_is_over() {
    let app = scraped_then_mailed(100).await;
    crate::common::wait_for("the new message in the gauge", async || {
        mail_waiting(&app).await == Some(1.0)
    })
    .await;
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
    assert!(
        crate::common::signed_in_page(&app, pair).await,
        "signed in with {pair}"
    );
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
    assert!(
        answer.headers().get("strict-transport-security").is_none(),
        "no HSTS over plain http"
    );
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
