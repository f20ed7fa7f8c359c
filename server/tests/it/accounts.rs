//! Accounts over HTTP: sessions (fixation, sign-out everywhere), who may touch what (guest,
//! shopper, seller A, seller B, admin), CSRF, security headers, rate limits, and sign-in
//! answers that say nothing about which accounts exist.

use crate::common::browser_call as as_;
use crate::common::{
    JsonApi, PASSWORD, TestApp, account, session_cookie, sign_in, signed_in_page, spawn_app,
    spawn_app_with,
};
use reqwest::Method;
use serde_json::{Value, json};
use shop::accounts::Role;
use std::time::{Duration, Instant};

const BED: &str = "king-tufted-low-profile-standard-bed";

async fn seller_of(app: &TestApp, product_slug: &str) -> (i64, String) {
    sqlx::query_as(
        "SELECT p.id, s.slug FROM products p JOIN sellers s ON s.id = p.seller_id WHERE p.slug = $1",
    )
    .bind(product_slug)
    .fetch_one(app.scratch.db.pool())
    .await
    .unwrap()
}

async fn other_seller(app: &TestApp, not: &str) -> String {
    sqlx::query_scalar("SELECT slug FROM sellers WHERE slug <> $1 ORDER BY id LIMIT 1")
        .bind(not)
        .fetch_one(app.scratch.db.pool())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_rotate_at_sign_in_and_end_everywhere() {
    let app = spawn_app().await;
    account(&app, "ana@example.com", Role::Shopper, None).await;
    // A token planted before sign-in (fixation) is not adopted: the server makes a new one.
    let planted = format!("emporium_session={}", "ab".repeat(32));
    let response = app
        .client
        .post(app.url("/api/v1/session"))
        .header("Cookie", &planted)
        .header("Sec-Fetch-Site", "same-origin")
        .json(&json!({ "email": "ana@example.com", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let issued = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("emporium_session=") && !c.starts_with("emporium_session=;"))
        .unwrap()
        .to_owned();
    assert!(
        issued.contains("HttpOnly") && issued.contains("SameSite=Lax"),
        "{issued}"
    );
    let first = issued.split(';').next().unwrap().to_owned();
    assert_ne!(first, planted);
    assert_eq!(
        as_(
            &app,
            Some(&planted),
            Method::GET,
            "/api/v1/admin/coupons",
            None
        )
        .await
        .0,
        401
    );
    // A second sign-in (another device) gets another token; both work…
    let (_, second, body) = sign_in(&app, "ANA@example.com", PASSWORD).await;
    assert_eq!(body["user"]["email"], "ana@example.com");
    let second = second.unwrap();
    assert_ne!(first, second);
    assert!(signed_in_page(&app, &first).await && signed_in_page(&app, &second).await);
    // …until the account signs out everywhere.
    let user = app
        .state
        .services
        .users
        .by_email("ana@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        app.state
            .services
            .sessions
            .end_all(user.user_id)
            .await
            .unwrap(),
        2
    );
    assert!(!signed_in_page(&app, &first).await && !signed_in_page(&app, &second).await);
    // DELETE /session ends just this one.
    let (_, third, _) = sign_in(&app, "ana@example.com", PASSWORD).await;
    let third = third.unwrap();
    let (status, _) = as_(&app, Some(&third), Method::DELETE, "/api/v1/session", None).await;
    assert_eq!(status, 204);
    assert!(!signed_in_page(&app, &third).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_answers_the_same_for_unknown_accounts_and_wrong_passwords() {
    // A minute's delay, so that the tries below land inside it however slow the machine.
    let app = spawn_app_with(|s| s.accounts.sign_in_delay_secs = 60).await;
    account(&app, "ben@example.com", Role::Shopper, None).await;
    let users = &app.state.services.users;
    for i in 0..4 {
        let before = users.password_checks();
        let wrong = sign_in(&app, "ben@example.com", &format!("not it {i}")).await;
        let after_wrong = users.password_checks();
        let unknown = sign_in(&app, &format!("nobody{i}@example.com"), "not it at all").await;
        let after_unknown = users.password_checks();
        assert_eq!(
            (wrong.0, &wrong.2),
            (unknown.0, &unknown.2),
            "the same status and body"
        );
        assert_eq!(wrong.0, 401);
        // The same work, hence the same time: one argon2 check each, the unknown account's
        // against a decoy hash made with the same parameters (`shop::accounts::password`).
        assert_eq!(
            after_wrong - before,
            1,
            "a wrong password is checked against the account's hash"
        );
        assert_eq!(
            after_unknown - after_wrong,
            1,
            "an unknown account costs the same password check as a wrong password"
        );
    }
    // The fifth failure delays the next try (not a lock: see `shop::accounts::throttle`):
    // inside the delay even the right password is refused, with when to come back, and with
    // the same words for an account that does not exist.
    sign_in(&app, "ben@example.com", "fifth failure").await;
    let before = users.password_checks();
    let response = app
        .client
        .post(app.url("/api/v1/session"))
        .json(&json!({ "email": "ben@example.com", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    let retry_after = response.headers().get("retry-after").cloned();
    let (status, cookie) = (response.status().as_u16(), session_cookie(&response));
    let body: Value = response.json().await.unwrap();
    assert_eq!((status, cookie), (429, None), "{body}");
    assert_eq!(
        retry_after.as_ref().and_then(|v| v.to_str().ok()),
        Some("60"),
        "the refusal says when to try again: after the first delay"
    );
    assert_eq!(
        users.password_checks(),
        before,
        "a locked account costs no password check"
    );
    for i in 0..5 {
        sign_in(&app, "ghost@example.com", &format!("guess {i}")).await;
    }
    let (status, _, ghost) = sign_in(&app, "ghost@example.com", "guess").await;
    assert_eq!(status, 429);
    assert_eq!(ghost["error"], body["error"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_reaches_only_its_own() {
    let app = spawn_app().await;
    let (product, seller_a) = seller_of(&app, BED).await;
    let seller_b = other_seller(&app, &seller_a).await;
    account(&app, "shopper@example.com", Role::Shopper, None).await;
    account(&app, "a@example.com", Role::Seller, Some(&seller_a)).await;
    account(&app, "b@example.com", Role::Seller, Some(&seller_b)).await;
    account(&app, "admin@example.com", Role::Admin, None).await;
    let mut cookies = vec![("guest", None)];
    for (who, email) in [
        ("shopper", "shopper@example.com"),
        ("seller A", "a@example.com"),
        ("seller B", "b@example.com"),
        ("admin", "admin@example.com"),
    ] {
        cookies.push((who, sign_in(&app, email, PASSWORD).await.1));
    }
    let images = format!("/api/v1/seller/products/{product}/images");
    let coupon = json!({ "code": "TEN", "kind": "percent", "value": 10 });
    // (route, [guest, shopper, seller A, seller B, admin])
    let matrix: Vec<(Method, &str, Option<Value>, [u16; 5])> = vec![
        (Method::GET, &images, None, [401, 403, 200, 404, 403]),
        (
            Method::GET,
            "/api/v1/admin/coupons",
            None,
            [401, 403, 403, 403, 200],
        ),
        (
            Method::POST,
            "/api/v1/admin/coupons",
            Some(coupon),
            [401, 403, 403, 403, 201],
        ),
    ];
    for (method, path, body, expected) in matrix {
        for ((who, cookie), want) in cookies.iter().zip(expected) {
            let (status, answer) =
                as_(&app, cookie.as_deref(), method.clone(), path, body.clone()).await;
            assert_eq!(status, want, "{who} {method} {path}: {answer}");
        }
    }
    // A cart that belongs to an account is reached by that account only.
    let shopper = cookies[1].1.clone().unwrap();
    let (_, cart) = as_(&app, Some(&shopper), Method::POST, "/api/v1/carts", None).await;
    let cart_id = cart["cart_id"].as_str().unwrap().to_owned();
    let user = app
        .state
        .services
        .users
        .by_email("shopper@example.com")
        .await
        .unwrap()
        .unwrap();
    let guest_cart = shop::cart::CartId::parse(&cart_id).unwrap();
    app.state
        .services
        .carts
        .merge_at_sign_in(Some(&guest_cart), user.user_id, 0)
        .await
        .unwrap();
    let path = format!("/api/v1/carts/{cart_id}");
    assert_eq!(
        as_(&app, Some(&shopper), Method::GET, &path, None).await.0,
        200
    );
    assert_eq!(
        as_(&app, None, Method::GET, &path, None).await.0,
        404,
        "the id alone no longer opens it"
    );
    let other = cookies[2].1.clone();
    assert_eq!(
        as_(&app, other.as_deref(), Method::GET, &path, None)
            .await
            .0,
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_writes_are_refused_and_our_own_go_through() {
    let app = spawn_app().await;
    let cart = "emporium_cart=0123456789abcdef0123456789abcdef";
    // A coupon form posted with the shopper's cart cookie and the browser's word (if any) on
    // where the form came from.
    let post = |from: Option<(&'static str, String)>, body: String| {
        let app = &app;
        async move {
            let mut request = app
                .client
                .post(app.url("/rpc/cart/coupon"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Cookie", cart)
                .body(body);
            if let Some((k, v)) = from {
                request = request.header(k, v);
            }
            request.send().await.unwrap().status().as_u16()
        }
    };
    let host = app.base.trim_start_matches("http://").to_owned();
    for from in [
        // A form on another site, posted by the shopper's browser.
        Some(("Sec-Fetch-Site", "cross-site".to_owned())),
        Some(("Origin", "https://evil.example".to_owned())),
        Some(("Origin", "null".to_owned())),
        // No Origin, no Sec-Fetch-Site, but our cookie: the form token decides.
        None,
    ] {
        assert_eq!(
            post(from.clone(), "code=FREE".into()).await,
            403,
            "{from:?}"
        );
    }
    let token = shop::accounts::sessions::csrf_for("0123456789abcdef0123456789abcdef");
    assert_ne!(
        post(None, format!("code=FREE&csrf_token={token}")).await,
        403
    );
    // Our own pages.
    for from in [
        ("Sec-Fetch-Site", "same-origin".to_owned()),
        ("Origin", format!("http://{host}")),
    ] {
        assert_ne!(
            post(Some(from.clone()), "code=FREE".into()).await,
            403,
            "{from:?}"
        );
    }
    // A cross-site JSON API write with the shopper's session is refused too.
    let (status, _) = app
        .send_json(Method::POST, "/api/v1/carts", None, &json!({}))
        .await;
    assert_eq!(
        status, 201,
        "no cookies, nothing to forge: API clients are unaffected"
    );
    let refused = app
        .client
        .post(app.url("/api/v1/carts"))
        .header("Cookie", cart)
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    assert_eq!(
        refused.json::<Value>().await.unwrap()["error"],
        "cross_site_request"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_a_nonce_policy_and_every_answer_the_security_headers() {
    let app = spawn_app().await;
    let response = app.get(&format!("/p/{BED}")).await;
    let headers = response.headers().clone();
    let html = response.text().await.unwrap();
    let csp = headers["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce in the policy");
    assert!(nonce.len() >= 16);
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("'wasm-unsafe-eval'"));
    assert!(!csp.contains("unsafe-inline"));
    // Every inline script carries the nonce; no inline style attributes are left.
    for script in html.split("<script").skip(1) {
        let tag = script.split('>').next().unwrap();
        assert!(
            tag.contains("src=") || tag.contains(&format!("nonce=\"{nonce}\"")),
            "{tag}"
        );
    }
    assert!(!html.contains(" style=\""), "no inline styles");
    for response in [
        app.get("/").await,
        app.get("/api/v1/products").await,
        app.get("/healthz").await,
    ] {
        let h = response.headers();
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "strict-origin-when-cross-origin");
        assert_eq!(h["x-frame-options"], "DENY");
        assert!(h.contains_key("content-security-policy"));
    }
    // A second page gets another nonce.
    let again = app.get(&format!("/p/{BED}")).await;
    assert_ne!(
        again.headers()["content-security-policy"].to_str().unwrap(),
        csp
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_past_a_route_class_limit_get_429_with_retry_after() {
    let app = spawn_app_with(|s| s.http.rate_limits = true).await;
    let mut statuses = Vec::new();
    let mut retry_after = None;
    // All at once: the limit refills a token every 3 s, and one by one, 14 password checks
    // on a busy machine can take that long.
    let mut burst = tokio::task::JoinSet::new();
    for i in 0..14 {
        let (client, url) = (app.client.clone(), app.url("/api/v1/session"));
        burst.spawn(async move {
            client
                .post(url)
                .json(
                    &json!({ "email": format!("x{i}@example.com"), "password": "wrong password" }),
                )
                .send()
                .await
                .unwrap()
        });
    }
    while let Some(response) = burst.join_next().await {
        let response = response.unwrap();
        statuses.push(response.status().as_u16());
        if response.status().as_u16() == 429 {
            retry_after = response.headers().get("retry-after").cloned();
        }
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 4);
    assert!(retry_after.is_some());
    // Browsing is another class, untouched by the sign-in burst.
    assert_eq!(app.get("/").await.status().as_u16(), 200);
    let metrics = app.get_text("/metrics").await.1;
    assert!(
        metrics.contains("emporium_rate_limited_total{class=\"sign_in\"} 4"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_function_counts_against_the_class_it_declares() {
    let app = spawn_app_with(|s| s.http.rate_limits = true).await;
    let mut statuses = Vec::new();
    for _ in 0..12 {
        // An empty order form: refused as malformed, once the limit has counted it.
        let (status, ..) = form(&app, None, "/rpc/checkout/place", &[]).await;
        statuses.push(status);
    }
    assert_eq!(
        statuses,
        [[400; 10].as_slice(), &[429; 2]].concat(),
        "the checkout burst is 10, and a malformed form is the caller's mistake"
    );
    let metrics = app.get_text("/metrics").await.1;
    assert!(
        metrics.contains("emporium_rate_limited_total{class=\"checkout\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("emporium_rate_limited_total{class=\"browse\"} 0"),
        "{metrics}"
    );
    // Browsing is another class, untouched by the checkout burst.
    assert_eq!(app.get("/").await.status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_server_function_bodies_are_refused_before_reading() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/rpc/account/sign-in"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Sec-Fetch-Site", "same-origin")
        .body(format!("email=a%40b.c&password={}", "x".repeat(100 * 1024)))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
}

/// Posts a form to a server function as our own page would; returns the status, where it
/// sends the browser, the session cookie it sets (if any) and the body.
async fn form(
    app: &TestApp,
    cookie: Option<&str>,
    path: &str,
    fields: &[(&str, &str)],
) -> (u16, Option<String>, Option<String>, String) {
    let mut request = app
        .client
        .post(app.url(path))
        .header("Sec-Fetch-Site", "same-origin")
        .form(fields);
    if let Some(cookie) = cookie {
        request = request.header("Cookie", cookie);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let session = session_cookie(&response);
    (status, location, session, response.text().await.unwrap())
}

/// The token of the newest link under `path` mailed to `to`, once the mail is queued.
async fn mailed_link(app: &TestApp, to: &str, path: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mails = app.state.services.outbox.to(to).await.unwrap();
        if let Some(start) = mails.first().and_then(|m| m.body.find(path)) {
            let body = &mails[0].body;
            return body[start + path.len()..start + path.len() + 64].to_owned();
        }
        assert!(Instant::now() < deadline, "no link mailed to {to}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_answers_alike_for_new_and_taken_addresses_and_finishes_by_mail() {
    let app = spawn_app().await;
    account(&app, "taken@example.com", Role::Shopper, None).await;
    let fresh = form(
        &app,
        None,
        "/rpc/account/sign-up",
        &[("email", "fresh@example.com")],
    )
    .await;
    let taken = form(
        &app,
        None,
        "/rpc/account/sign-up",
        &[("email", "taken@example.com")],
    )
    .await;
    assert_eq!(
        fresh, taken,
        "one answer whether or not the address is taken"
    );
    assert_eq!(fresh.1.as_deref(), Some("/account/sign-up?sent=1"));
    assert_eq!(fresh.2, None, "no session before the address is proved");
    // Malformed input is the form's own business and says so.
    let bad = form(
        &app,
        None,
        "/rpc/account/sign-up",
        &[("email", "not an address")],
    )
    .await;
    assert_eq!(
        bad.1.as_deref(),
        Some("/account/sign-up?error=email&email=not+an+address"),
        "the form comes back with the address as typed"
    );

    // The taken address's owner hears about it; the new one gets a link.
    let _ = mailed_link(&app, "taken@example.com", "/account/reset").await;
    let token = mailed_link(&app, "fresh@example.com", "/account/confirm/").await;
    let (status, page) = app.get_text(&format!("/account/confirm/{token}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("Create my account"), "{page}");
    // Opening the link changed nothing (mail scanners open links too).
    assert!(
        app.state
            .services
            .users
            .by_email("fresh@example.com")
            .await
            .unwrap()
            .is_none()
    );
    let (_, page) = app
        .get_text(&format!("/account/confirm/{}", "0".repeat(64)))
        .await;
    assert!(page.contains("expired or has already been used"), "{page}");

    // A short password is the link page's own business too, and leaves the link usable.
    let confirm = async |password: &str| {
        form(
            &app,
            None,
            "/rpc/account/confirm",
            &[("token", &token), ("password", password)],
        )
        .await
    };
    let (_, location, session, _) = confirm("short").await;
    assert_eq!(
        (location, session),
        (Some(format!("/account/confirm/{token}?error=weak")), None)
    );
    let (_, location, session, _) = confirm(PASSWORD).await;
    assert_eq!(location.as_deref(), Some("/account?welcome=1"));
    assert!(signed_in_page(&app, &session.unwrap()).await);
    // Once only.
    let (_, location, session, _) = confirm(PASSWORD).await;
    assert_eq!(
        (location.as_deref(), session),
        (Some("/account/sign-up?error=expired"), None)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_reset_by_mail_ends_every_session() {
    let app = spawn_app().await;
    account(&app, "lea@example.com", Role::Shopper, None).await;
    let (_, old_session, _) = sign_in(&app, "lea@example.com", PASSWORD).await;
    let old_session = old_session.unwrap();
    assert!(signed_in_page(&app, &old_session).await);

    let known = form(
        &app,
        None,
        "/rpc/account/reset-request",
        &[("email", "lea@example.com")],
    )
    .await;
    let unknown = form(
        &app,
        None,
        "/rpc/account/reset-request",
        &[("email", "nobody@example.com")],
    )
    .await;
    assert_eq!(
        known, unknown,
        "one answer whether or not there is an account"
    );
    assert_eq!(known.1.as_deref(), Some("/account/reset?sent=1"));
    let token = mailed_link(&app, "lea@example.com", "/account/reset/").await;

    let (_, page) = app.get_text(&format!("/account/reset/{token}")).await;
    assert!(page.contains("Save new password"), "{page}");
    let (_, location, _, _) = form(
        &app,
        None,
        "/rpc/account/reset",
        &[("token", &token), ("new", "short")],
    )
    .await;
    assert_eq!(
        location.as_deref(),
        Some(format!("/account/reset/{token}?error=weak").as_str())
    );
    let (_, location, session, _) = form(
        &app,
        Some(&old_session),
        "/rpc/account/reset",
        &[("token", &token), ("new", "a whole new passphrase")],
    )
    .await;
    assert_eq!(location.as_deref(), Some("/account?password=reset"));
    let session = session.unwrap();
    assert_ne!(session, old_session);
    assert!(signed_in_page(&app, &session).await);
    assert!(
        !signed_in_page(&app, &old_session).await,
        "the old session ended"
    );
    assert_eq!(sign_in(&app, "lea@example.com", PASSWORD).await.0, 401);
    assert_eq!(
        sign_in(&app, "lea@example.com", "a whole new passphrase")
            .await
            .0,
        201
    );
    // The link is spent.
    let (_, page) = app.get_text(&format!("/account/reset/{token}")).await;
    assert!(page.contains("expired or has already been used"), "{page}");
}

/// Changes the signed-in account's password through the page's form; where the browser is
/// sent.
async fn change_password(app: &TestApp, cookie: &str, current: &str, new: &str) -> Option<String> {
    form(
        app,
        Some(cookie),
        "/rpc/account/password",
        &[("current", current), ("new", new)],
    )
    .await
    .1
}

/// A stolen session cannot guess the account's password through the change-password form
/// any faster than through sign-in: its failures count against the account in the same
/// throttle, and a try inside the delay costs no argon2 verification.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_current_passwords_are_throttled_like_sign_ins() {
    // A minute's delay, so that the tries below land inside it however slow the machine.
    let app = spawn_app_with(|s| s.accounts.sign_in_delay_secs = 60).await;
    account(&app, "gil@example.com", Role::Shopper, None).await;
    let (_, cookie, _) = sign_in(&app, "gil@example.com", PASSWORD).await;
    let cookie = cookie.unwrap();
    let users = &app.state.services.users;
    for i in 0..5 {
        assert_eq!(
            change_password(
                &app,
                &cookie,
                &format!("guess {i}"),
                "a whole new passphrase"
            )
            .await
            .as_deref(),
            Some("/account?password=wrong")
        );
    }
    let before = users.password_checks();
    let refused = change_password(&app, &cookie, PASSWORD, "a whole new passphrase").await;
    assert_eq!(
        refused.as_deref(),
        Some("/account?password=throttled"),
        "inside the delay even the right current password is refused"
    );
    assert_eq!(users.password_checks(), before, "…without hashing it");
    // The same count holds sign-in back.
    assert_eq!(sign_in(&app, "gil@example.com", PASSWORD).await.0, 429);
}

/// The attack the mailed link must not allow: someone registers another person's address
/// with a password of their own choosing and waits for the owner to click. The password is
/// chosen on the link's page, by whoever holds the link.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_up_link_asks_for_the_password_so_no_one_chooses_it_for_the_owner() {
    let app = spawn_app().await;
    let (_, location, _, _) = form(
        &app,
        None,
        "/rpc/account/sign-up",
        &[
            ("email", "vic@example.com"),
            ("password", "the attacker's passphrase"),
        ],
    )
    .await;
    assert_eq!(location.as_deref(), Some("/account/sign-up?sent=1"));
    let token = mailed_link(&app, "vic@example.com", "/account/confirm/").await;
    let (_, page) = app.get_text(&format!("/account/confirm/{token}")).await;
    assert!(
        page.contains(r#"name="password""#),
        "the link's page asks for the password: {page}"
    );
    let (_, location, session, _) = form(
        &app,
        None,
        "/rpc/account/confirm",
        &[("token", &token), ("password", "vic's very own passphrase")],
    )
    .await;
    assert_eq!(location.as_deref(), Some("/account?welcome=1"));
    assert!(signed_in_page(&app, &session.unwrap()).await);
    assert_eq!(
        sign_in(&app, "vic@example.com", "the attacker's passphrase")
            .await
            .0,
        401,
        "the password typed at sign-up opens nothing"
    );
    assert_eq!(
        sign_in(&app, "vic@example.com", "vic's very own passphrase")
            .await
            .0,
        201
    );
}

/// Asks for a mailed link (`ask`: the form's path, the address, the link's path), then posts
/// a password with the link's token (`finish`: the form's path, the password's field, the
/// password); the token, and where the browser is sent.
async fn through_mailed_link(
    app: &TestApp,
    (ask, email, link): (&str, &str, &str),
    (finish, field, password): (&str, &str, &str),
) -> (String, Option<String>) {
    form(app, None, ask, &[("email", email)]).await;
    let token = mailed_link(app, email, link).await;
    let (_, location, _, _) =
        form(app, None, finish, &[("token", &token), (field, password)]).await;
    (token, location)
}

/// New passwords that are long enough but among the most common are refused wherever one is
/// chosen: finishing a sign-up, a reset, a change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn common_passwords_are_refused_wherever_a_password_is_chosen() {
    let app = spawn_app().await;
    account(&app, "lou@example.com", Role::Shopper, None).await;
    let (_, cookie, _) = sign_in(&app, "lou@example.com", PASSWORD).await;
    assert_eq!(
        change_password(&app, &cookie.unwrap(), PASSWORD, "password1234")
            .await
            .as_deref(),
        Some("/account?password=weak"),
        "a change to a common password"
    );
    // Finishing a sign-up, then a reset: each link's page sends the browser back to itself.
    let mut token = String::new();
    for (ask, finish) in [
        (
            (
                "/rpc/account/sign-up",
                "kim@example.com",
                "/account/confirm/",
            ),
            ("/rpc/account/confirm", "password", "1234567890"),
        ),
        (
            (
                "/rpc/account/reset-request",
                "lou@example.com",
                "/account/reset/",
            ),
            ("/rpc/account/reset", "new", "qwertyuiop"),
        ),
    ] {
        let location;
        (token, location) = through_mailed_link(&app, ask, finish).await;
        assert_eq!(
            location,
            Some(format!("{}{token}?error=weak", ask.2)),
            "{finish:?}"
        );
    }
    assert_eq!(sign_in(&app, "lou@example.com", PASSWORD).await.0, 201);
    let (_, page) = app
        .get_text(&format!("/account/reset/{token}?error=weak"))
        .await;
    assert!(page.contains("too common"), "the page says why: {page}");
}

/// With every hashing turn taken and the line behind them full, a password check is answered
/// at once with 503 and `Retry-After`, never put in an ever longer line. The line is filled
/// deterministically: one turn held by the test, one sign-in seen waiting in the line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_hashing_line_answers_503_with_retry_after_instead_of_waiting() {
    let app = spawn_app_with(|s| {
        s.accounts.password_hashes = 1;
        s.accounts.password_hash_queue = 1;
    })
    .await;
    account(&app, "ned@example.com", Role::Shopper, None).await;
    let (_, cookie, _) = sign_in(&app, "ned@example.com", PASSWORD).await;
    let cookie = cookie.unwrap();
    let hashing = app.state.services.users.hashing().clone();
    let held = hashing.admit().await.unwrap();
    let waiting = tokio::spawn(
        app.client
            .post(app.url("/api/v1/session"))
            .json(&json!({ "email": "ned@example.com", "password": PASSWORD }))
            .send(),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while hashing.in_line() < 2 {
        assert!(Instant::now() < deadline, "the sign-in waits in the line");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let response = app
        .client
        .post(app.url("/rpc/account/password"))
        .header("Cookie", &cookie)
        .header("Sec-Fetch-Site", "same-origin")
        .form(&[("current", PASSWORD), ("new", "a whole new passphrase")])
        .send()
        .await
        .expect("a full line answers at once instead of keeping the caller waiting");
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap()),
        Some("1"),
        "the refusal says when to try again"
    );
    let (status, _, body) = sign_in(&app, "ned@example.com", PASSWORD).await;
    assert_eq!(
        (status, &body["error"]),
        (503, &json!("unavailable")),
        "{body}"
    );
    // A turn given back: the caller in the line gets in.
    drop(held);
    assert_eq!(waiting.await.unwrap().unwrap().status().as_u16(), 201);
}
