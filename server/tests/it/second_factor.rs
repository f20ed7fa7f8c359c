//! A second factor over HTTP: an admin without one can do nothing admin (the API answers 403,
//! the admin pages lead to setting it up); an account with one signs in with its password and
//! then a code, on the API and on the pages, never with the password alone.

use crate::common::{
    PASSWORD, TestApp, account, app_code, browser_call, current_step, enrol, next_code, page_as,
    second_step, signed_in_page, spawn_app,
};
use reqwest::Method;
use serde_json::Value;
use shop::accounts::Role;

/// Signs in over the API with the password only: the status, the body and every cookie set.
async fn password_only(app: &TestApp, email: &str) -> (u16, Value, Vec<String>) {
    let response = app
        .client
        .post(app.url("/api/v1/session"))
        .json(&serde_json::json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let cookies = set_cookies(&response);
    (
        status,
        response.json().await.unwrap_or(Value::Null),
        cookies,
    )
}

/// The `name=value` of every cookie a response sets (removals included, as `name=`).
fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|c| c.split(';').next())
        .map(str::to_owned)
        .collect()
}

/// The cookie named `name` among `cookies`, if one is set with a value.
fn cookie<'c>(cookies: &'c [String], name: &str) -> Option<&'c String> {
    cookies.iter().find(|c| {
        c.strip_prefix(name)
            .and_then(|v| v.strip_prefix('='))
            .is_some_and(|v| !v.is_empty())
    })
}

/// A code `email`'s app will not show for minutes: a wrong one.
fn wrong_code(app: &TestApp, email: &str) -> String {
    let secret = app.authenticators.lock().unwrap()[email].0.clone();
    app_code(&secret, current_step() + 10)
}

async fn a_seller(app: &TestApp, email: &str) {
    let slug: String = sqlx::query_scalar("SELECT slug FROM sellers ORDER BY id LIMIT 1")
        .fetch_one(app.scratch.db.pool())
        .await
        .unwrap();
    account(app, email, Role::Seller, Some(&slug)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_without_a_second_factor_can_do_nothing_admin_until_it_is_set_up() {
    let app = spawn_app().await;
    // Made as `users create` makes it: no second factor yet.
    app.state
        .services
        .users
        .create("root@example.com", PASSWORD, Role::Admin, None)
        .await
        .unwrap();
    let (status, body, cookies) = password_only(&app, "root@example.com").await;
    assert_eq!(
        status, 201,
        "the admin signs in, to set the factor up: {body}"
    );
    let session = cookie(&cookies, "emporium_session")
        .expect("a session")
        .clone();

    let (status, answer) = browser_call(
        &app,
        Some(&session),
        Method::GET,
        "/api/v1/admin/coupons",
        None,
    )
    .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (403, Some("second_factor_not_set_up")),
        "an admin API call without a second factor: {answer}"
    );
    assert!(
        answer["message"]
            .as_str()
            .is_some_and(|m| m.contains("two-step sign-in") && m.contains("/account/security")),
        "the refusal says why and where to go: {answer}"
    );
    let page = app
        .client
        .get(app.url("/admin"))
        .header("Cookie", &session)
        .send()
        .await
        .unwrap();
    let status = page.status().as_u16();
    let html = page.text().await.unwrap();
    assert_eq!(status, 403, "the admin page without a second factor");
    assert!(
        html.contains("needs two-step sign-in")
            && html.contains("href=\"/account/security?why=admin\""),
        "the admin page leads to setting it up: {html}"
    );
    let setup = page_as(&app, "/account/security?why=admin", &session).await;
    assert!(
        setup.contains("data-testid=\"totp-secret\"") && setup.contains("<svg"),
        "the set-up page shows the secret as text and as a QR code: {setup}"
    );

    enrol(&app, "root@example.com").await;
    let (status, answer) = browser_call(
        &app,
        Some(&session),
        Method::GET,
        "/api/v1/admin/coupons",
        None,
    )
    .await;
    assert_eq!(
        status, 200,
        "with the factor on, the same session may: {answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_with_a_second_factor_signs_in_over_the_api_with_its_password_then_a_code() {
    let app = spawn_app().await;
    a_seller(&app, "s@example.com").await;
    let recovery = enrol(&app, "s@example.com").await;

    let (status, body, cookies) = password_only(&app, "s@example.com").await;
    assert_eq!(status, 202, "the password alone opens no session: {body}");
    assert_eq!(cookie(&cookies, "emporium_session"), None, "{cookies:?}");
    assert_eq!(body["error"], "second_factor_required", "{body}");
    assert_eq!(body["expires_in"], 300, "{body}");
    let token = &body["pending_token"];

    let (status, session, answer) =
        second_step(&app, token, &wrong_code(&app, "s@example.com")).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (401, Some("wrong_code")),
        "{answer}"
    );
    assert_eq!(session, None);
    let right = next_code(&app, "s@example.com").await.unwrap();
    let (status, session, answer) = second_step(&app, token, &right).await;
    assert_eq!(status, 201, "{answer}");
    assert!(signed_in_page(&app, &session.expect("a session")).await);

    // The same code again, or the same recovery code twice, opens nothing.
    let (_, body, _) = password_only(&app, "s@example.com").await;
    let (status, _, answer) = second_step(&app, &body["pending_token"], &right).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (401, Some("wrong_code")),
        "replayed: {answer}"
    );
    let (status, _, answer) = second_step(&app, &body["pending_token"], &recovery[0]).await;
    assert_eq!(status, 201, "a recovery code: {answer}");
    let (_, body, _) = password_only(&app, "s@example.com").await;
    let (status, _, answer) = second_step(&app, &body["pending_token"], &recovery[0]).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (401, Some("wrong_code")),
        "used twice: {answer}"
    );

    // A token nobody was given is a sign-in that has expired.
    let forged = Value::from("ab".repeat(32));
    let (status, _, answer) = second_step(&app, &forged, &recovery[1]).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (401, Some("sign_in_expired")),
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sign_in_pages_ask_for_the_code_after_the_password() {
    let app = spawn_app().await;
    a_seller(&app, "s@example.com").await;
    enrol(&app, "s@example.com").await;
    let post = async |path: &str, cookie: Option<&str>, fields: &[(&str, &str)]| {
        let mut request = app
            .client
            .post(app.url(path))
            .header("Sec-Fetch-Site", "same-origin")
            // A form posted without script: the answer is a redirect.
            .header("Accept", "text/html")
            .form(fields);
        if let Some(cookie) = cookie {
            request = request.header("Cookie", cookie);
        }
        let response = request.send().await.unwrap();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (response.status().as_u16(), location, set_cookies(&response))
    };
    let next = "/seller/orders?page=2&x=1";
    let (status, location, cookies) = post(
        "/rpc/account/sign-in",
        None,
        &[
            ("email", "s@example.com"),
            ("password", PASSWORD),
            ("next", next),
        ],
    )
    .await;
    assert_eq!(status, 302);
    assert_eq!(
        location, "/account/sign-in/code?next=%2Fseller%2Forders%3Fpage%3D2%26x%3D1",
        "the password leads to the code, not to a session: {cookies:?}"
    );
    assert_eq!(cookie(&cookies, "emporium_session"), None, "{cookies:?}");
    let pending = cookie(&cookies, "emporium_sign_in_step")
        .expect("the pending sign-in's cookie")
        .clone();
    let page = app.get_text(&location).await.1;
    assert!(page.contains("authenticator app"), "{page}");

    let wrong = wrong_code(&app, "s@example.com");
    let (status, location, cookies) = post(
        "/rpc/account/sign-in-code",
        Some(&pending),
        &[("code", wrong.as_str()), ("next", next)],
    )
    .await;
    assert_eq!(status, 302);
    assert!(
        location.starts_with("/account/sign-in/code?error=code&next="),
        "{location}"
    );
    assert_eq!(cookie(&cookies, "emporium_session"), None, "{cookies:?}");

    let right = next_code(&app, "s@example.com").await.unwrap();
    let (status, location, cookies) = post(
        "/rpc/account/sign-in-code",
        Some(&pending),
        &[("code", right.as_str()), ("next", next)],
    )
    .await;
    assert_eq!((status, location.as_str()), (302, next), "{cookies:?}");
    assert!(
        cookie(&cookies, "emporium_session").is_some(),
        "{cookies:?}"
    );
    assert!(
        cookies.iter().any(|c| c == "emporium_sign_in_step="),
        "the pending sign-in's cookie is removed: {cookies:?}"
    );
}
