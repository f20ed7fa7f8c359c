//! Who may see an order: its signed-in owner, an admin, and whoever holds its secret link;
//! anyone else is told there is no such order, on the API and on the page. A guest who lost
//! the link asks for it by number and e-mail and gets it by mail, never on the page.

use crate::common::{PASSWORD, TestApp, account, place_order_as, sign_in, spawn_app};
use shop::accounts::Role;

async fn session(app: &TestApp, email: &str, role: Role) -> String {
    account(app, email, role, None).await;
    let (status, cookie, body) = sign_in(app, email, PASSWORD).await;
    assert_eq!(status, 201, "{body}");
    cookie.expect("a session cookie")
}

/// `GET path` as the holder of `cookie` (if any): the status and the body.
async fn get(app: &TestApp, path: &str, cookie: Option<&str>) -> (u16, String) {
    let mut request = app.client.get(app.url(path));
    if let Some(cookie) = cookie {
        request = request.header("Cookie", cookie);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_is_shown_to_its_link_its_owner_and_admins_only() {
    let app = spawn_app().await;
    let placed = place_order_as(&app, &[("WANDS-13-QUEEN", 1)], "gus@example.com", "Gus").await;
    let order = placed["order_id"].as_str().unwrap();
    let token = placed["order_token"].as_str().unwrap();
    let owner = session(&app, "owner@example.com", Role::Shopper).await;
    let stranger = session(&app, "stranger@example.com", Role::Shopper).await;
    let admin = session(&app, "root@example.com", Role::Admin).await;
    // The order becomes the owner's account's, as one placed while signed in is.
    sqlx::query(
        "UPDATE orders SET user_id = (SELECT id FROM users WHERE email = $1) WHERE id = $2",
    )
    .bind("owner@example.com")
    .bind(order)
    .execute(app.scratch.db.pool())
    .await
    .unwrap();

    let api = format!("/api/v1/orders/{order}");
    let page = format!("/orders/{order}");
    let with_link = |path: &str| format!("{path}?token={token}");
    for (who, cookie, path, seen) in [
        ("the link", None, with_link(&api), true),
        ("the link", None, with_link(&page), true),
        ("the owner", Some(owner.as_str()), api.clone(), true),
        ("the owner", Some(owner.as_str()), page.clone(), true),
        ("an admin", Some(admin.as_str()), api.clone(), true),
        ("a guest with the id", None, api.clone(), false),
        ("a guest with the id", None, page.clone(), false),
        (
            "another shopper",
            Some(stranger.as_str()),
            api.clone(),
            false,
        ),
        (
            "another shopper",
            Some(stranger.as_str()),
            page.clone(),
            false,
        ),
        (
            "a guest with another order's token",
            None,
            format!("{api}?token=0123456789abcdef0123456789abcdef"),
            false,
        ),
    ] {
        let (status, body) = get(&app, &path, cookie).await;
        if seen {
            assert_eq!(status, 200, "{who}: {path}: {body}");
            assert!(body.contains(order), "{who} sees the order");
        } else {
            assert_eq!(status, 404, "{who}: {path}: {body}");
            assert!(
                !body.contains("WANDS-13-QUEEN") && !body.contains("Gus"),
                "{who} sees nothing of it: {body}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_link_is_mailed_to_the_orders_address_and_never_shown() {
    let app = spawn_app().await;
    let placed = place_order_as(&app, &[("WANDS-13-QUEEN", 1)], "hal@example.com", "Hal").await;
    let order = placed["order_id"].as_str().unwrap();
    let token = placed["order_token"].as_str().unwrap();
    let outbox = &app.state.services.outbox;
    let lookup = |number: &str, email: &str| {
        app.client
            .post(app.url("/rpc/orders/lookup"))
            .header("Origin", app.base.clone())
            .form(&[("order", number), ("email", email)])
            .send()
    };

    // A wrong e-mail and an unknown number get the answer a match gets, and mail nothing.
    let mut answers = Vec::new();
    for (number, email) in [
        (order, "someone@example.com"),
        ("ord_0123456789abcdef01234567", "hal@example.com"),
        ("not an order", "hal@example.com"),
        (order, "HAL@example.com"),
    ] {
        let response = lookup(number, email).await.unwrap();
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        let body = response.text().await.unwrap();
        assert!(!body.contains(token), "the link is never in the answer");
        answers.push((status, location));
    }
    assert!(
        answers.iter().all(|a| a == &answers[0]),
        "every lookup is answered alike: {answers:?}"
    );
    assert_eq!(answers[0].1.as_deref(), Some("/orders?sent=1"));
    let mailed = outbox.to("hal@example.com").await.unwrap();
    assert_eq!(
        mailed.len(),
        1,
        "only the matching lookup mails: {mailed:?}"
    );
    assert!(
        mailed[0]
            .body
            .contains(&format!("/orders/{order}?token={token}")),
        "{}",
        mailed[0].body
    );
    assert!(outbox.to("someone@example.com").await.unwrap().is_empty());

    // One address is sent at most MAILS_PER_HOUR messages an hour, however often it is asked.
    for _ in 0..10 {
        lookup(order, "hal@example.com").await.unwrap();
    }
    let mailed = outbox.to("hal@example.com").await.unwrap().len() as i64;
    assert_eq!(mailed, shop::accounts::links::MAILS_PER_HOUR);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_page_refreshes_itself_without_javascript_while_the_order_moves() {
    let app = spawn_app().await;
    let placed = place_order_as(&app, &[("WANDS-13-QUEEN", 1)], "ivy@example.com", "Ivy").await;
    let order = placed["order_id"].as_str().unwrap();
    let page = format!(
        "/orders/{order}?token={}",
        placed["order_token"].as_str().unwrap()
    );
    for (status, refresh) in [
        ("confirmed", Some("5")),
        ("fulfilling", Some("60")),
        ("shipped", Some("60")),
        ("delivered", None),
        ("cancelled", None),
    ] {
        sqlx::query("UPDATE orders SET status = $1 WHERE id = $2")
            .bind(status)
            .bind(order)
            .execute(app.scratch.db.pool())
            .await
            .unwrap();
        let (code, html) = get(&app, &page, None).await;
        assert_eq!(code, 200, "{status}");
        let meta = html
            .split("<meta http-equiv=\"refresh\" content=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next());
        assert_eq!(meta, refresh, "{status}");
    }
}
