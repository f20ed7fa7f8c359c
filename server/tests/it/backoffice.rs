//! The seller portal's API and the admin's refunds, over HTTP and against the services: a
//! seller's product, stock and orders are reachable by that seller only; refunds are
//! idempotent against the gateway and put nothing back on sale before an inspection.

use crate::common::browser_call as call;
use crate::common::{PASSWORD, TestApp, account, sign_in, spawn_app, spawn_app_with};
use reqwest::Method;
use serde_json::{Value, json};
use shop::accounts::Role;
use shop::orders::OrderId;
use shop::orders::refunds::RefundScope;
use std::time::{Duration, Instant};

async fn sellers(app: &TestApp) -> (String, String) {
    let slugs: Vec<String> = sqlx::query_scalar("SELECT slug FROM sellers ORDER BY id LIMIT 2")
        .fetch_all(app.scratch.db.pool())
        .await
        .unwrap();
    (slugs[0].clone(), slugs[1].clone())
}

/// Signs an account of `role` in; returns its session cookie.
async fn session(app: &TestApp, email: &str, role: Role, seller: Option<&str>) -> String {
    account(app, email, role, seller).await;
    let (status, cookie, body) = sign_in(app, email, PASSWORD).await;
    assert_eq!(status, 201, "{body}");
    cookie.expect("signing in sets a session cookie")
}

async fn a_category(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT id FROM categories WHERE depth = 0 ORDER BY id LIMIT 1")
        .fetch_one(app.scratch.db.pool())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seller_manages_their_own_catalog_and_nobody_else_can() {
    let app = spawn_app().await;
    let (a, b) = sellers(&app).await;
    let seller_a = session(&app, "a@example.com", Role::Seller, Some(&a)).await;
    let seller_b = session(&app, "b@example.com", Role::Seller, Some(&b)).await;
    let shopper = session(&app, "s@example.com", Role::Shopper, None).await;
    let category = a_category(&app).await;
    let product = json!({
        "title": "Brass reading lamp",
        "description": "A small brass lamp with a linen shade.",
        "brand": "Lumen",
        "category_id": category,
        "variants": [
            { "sku": "LUMEN-LAMP-1", "price": "49.00", "options": [["Finish", "Brass"]] },
            { "sku": "LUMEN-LAMP-2", "price": "54.00", "options": [["Finish", "Black"]] }
        ]
    });
    // Field by field refusals, nothing written.
    let mut bad = product.clone();
    bad["title"] = json!("");
    bad["variants"][1]["price"] = json!("-3");
    bad["variants"][0]["sku"] = json!("WANDS-13-QUEEN");
    let (status, body) = call(
        &app,
        Some(&seller_a),
        Method::POST,
        "/api/v1/seller/products",
        Some(bad),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let message = body["message"].as_str().unwrap();
    for field in ["title", "variants.0.sku", "variants.1.price"] {
        assert!(message.contains(field), "{field} in {message}");
    }
    assert!(message.contains("Another product already uses this SKU"));

    let (status, body) = call(
        &app,
        Some(&seller_a),
        Method::POST,
        "/api/v1/seller/products",
        Some(product.clone()),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_i64().unwrap();
    let path = format!("/api/v1/seller/products/{id}");
    let stock = "/api/v1/seller/stock/LUMEN-LAMP-1";
    let set = json!({ "available": 7, "reason": "first delivery" });
    // Who may touch it: (guest, shopper, seller B) are refused; seller A is not.
    for (who, cookie, want) in [
        ("guest", None, 401),
        ("shopper", Some(shopper.as_str()), 403),
        ("seller B", Some(seller_b.as_str()), 404),
    ] {
        assert_eq!(
            call(&app, cookie, Method::GET, &path, None).await.0,
            want,
            "{who} reads"
        );
        assert_eq!(
            call(&app, cookie, Method::PUT, &path, Some(product.clone()))
                .await
                .0,
            want,
            "{who} edits"
        );
        assert_eq!(
            call(&app, cookie, Method::PUT, stock, Some(set.clone()))
                .await
                .0,
            want,
            "{who} sets stock"
        );
    }
    let (status, _) = call(
        &app,
        Some(&seller_a),
        Method::PUT,
        stock,
        Some(json!({ "available": 7, "reason": " " })),
    )
    .await;
    assert_eq!(status, 422, "a stock change needs a reason");
    assert_eq!(
        call(&app, Some(&seller_a), Method::PUT, stock, Some(set))
            .await
            .0,
        204
    );
    let (status, body) = call(&app, Some(&seller_a), Method::GET, &path, None).await;
    assert_eq!(status, 200);
    assert_eq!(body["product"]["title"], "Brass reading lamp");
    assert_eq!(body["stock"][0]["available"], 7);
    let reason: String = sqlx::query_scalar(
        "SELECT reference FROM stock_movements m JOIN variants v ON v.id = m.variant_id \
         WHERE v.sku = 'LUMEN-LAMP-1' ORDER BY m.id DESC LIMIT 1",
    )
    .fetch_one(app.scratch.db.pool())
    .await
    .unwrap();
    assert_eq!(
        reason, "seller: first delivery",
        "the audit trail keeps the reason"
    );
    // Seller B's list does not show it; A's does, found by SKU.
    let (_, listed) = call(
        &app,
        Some(&seller_b),
        Method::GET,
        "/api/v1/seller/products?q=LUMEN",
        None,
    )
    .await;
    assert_eq!(listed["total"], 0);
    let (_, listed) = call(
        &app,
        Some(&seller_a),
        Method::GET,
        "/api/v1/seller/products?q=lumen-lamp",
        None,
    )
    .await;
    assert_eq!(listed["total"], 1);
    // Shoppers find it by search once the index has caught up, in stock.
    let hit = searched_for(&app, "brass%20reading%20lamp", "Brass reading lamp").await;
    assert_eq!(hit["available"], 7, "live stock: {hit}");
    // An edit keeps its identity: same id, new title.
    let mut edited = product.clone();
    edited["title"] = json!("Brass reading lamp, large");
    let (status, body) = call(&app, Some(&seller_a), Method::PUT, &path, Some(edited)).await;
    assert_eq!((status, body["id"].as_i64()), (200, Some(id)));
}

/// Searches for `query` until a hit titled `title` shows up (the index follows the catalog
/// in the background); returns that hit.
async fn searched_for(app: &TestApp, query: &str, title: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, found) = app.get_json(&format!("/api/v1/search?q={query}")).await;
        let hit = found["hits"]
            .as_array()
            .and_then(|hits| hits.iter().find(|h| h["title"] == title));
        if let Some(hit) = hit {
            return hit.clone();
        }
        assert!(
            Instant::now() < deadline,
            "search never found {title:?}: {found}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn place_order(app: &TestApp, lines: &[(&str, i64)]) -> String {
    let placed = crate::common::place_order_as(app, lines, "buyer@example.com", "Ana").await;
    placed["order_id"].as_str().unwrap().to_owned()
}

/// The status of a bodiless `method path` as the holder of `cookie` (if any).
async fn status_of(app: &TestApp, cookie: Option<&str>, method: Method, path: &str) -> u16 {
    call(app, cookie, method, path, None).await.0
}

async fn available(app: &TestApp, sku: &str) -> (i64, i64) {
    sqlx::query_as(
        "SELECT CAST(SUM(available) AS BIGINT), CAST(SUM(committed) AS BIGINT) FROM stock_levels s \
         JOIN variants v ON v.id = s.variant_id WHERE v.sku = $1",
    )
    .bind(sku)
    .fetch_one(app.scratch.db.pool())
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_are_idempotent_per_line_and_restock_only_after_inspection() {
    let app = spawn_app().await;
    let refunds = &app.state.services.refunds;
    let order = place_order(&app, &[("WANDS-13-QUEEN", 2), ("WANDS-13-TWIN", 1)]).await;
    let id = OrderId::parse(&order).unwrap();
    // The admin finds it by its number (underscore and all) or by part of the e-mail; the
    // underscore is literal (every order number has one).
    for q in [order.as_str(), "BUYER@example", "_"] {
        let filter = shop::orders::OrderFilter {
            query: Some(q.to_owned()),
            ..Default::default()
        };
        let (found, total) = app
            .state
            .services
            .orders
            .list(&filter, 1, 10)
            .await
            .unwrap();
        assert_eq!((total, found.len()), (1, 1), "{q}");
    }
    let filter = shop::orders::OrderFilter {
        query: Some("ord%".to_owned()),
        ..Default::default()
    };
    assert_eq!(
        app.state
            .services
            .orders
            .list(&filter, 1, 10)
            .await
            .unwrap()
            .1,
        0,
        "% is literal"
    );
    // Refunds of this order as the back office makes them (no signed-in admin behind them).
    let refund = |scope: RefundScope, key: &'static str, reason: &'static str| {
        let id = &id;
        async move { refunds.refund(id, &scope, key, reason, None).await }
    };
    let before = available(&app, "WANDS-13-QUEEN").await;
    // One unit of the first line; the same form twice is one refund.
    let form = || {
        refund(
            RefundScope::Lines(vec![(0, 1)]),
            "form-key-0001",
            "damaged box",
        )
    };
    let first = form().await.unwrap();
    let again = form().await.unwrap();
    assert_eq!(first, again);
    assert_eq!(first.status, "succeeded");
    // More than is left is refused, with nothing written.
    for (lines, key) in [
        (vec![(0, 2)], "form-key-0002"),
        (vec![(9, 1)], "form-key-0003"),
    ] {
        let refused = refund(RefundScope::Lines(lines.clone()), key, "x").await;
        assert!(refused.is_err(), "{lines:?}: {refused:?}");
    }
    // The rest, in full.
    let rest = refund(RefundScope::Full, "form-key-0004", "customer request")
        .await
        .unwrap();
    assert_eq!(rest.status, "succeeded");
    let order_row = app.state.services.orders.get(&id).await.unwrap();
    assert_eq!(order_row.status, shop::orders::OrderStatus::Refunded);
    assert_eq!(
        first.amount.amount + rest.amount.amount,
        order_row.total.amount,
        "exactly the charge, no more"
    );
    assert!(
        refund(RefundScope::Full, "form-key-0005", "again")
            .await
            .is_err()
    );
    let ledger = app.ledger().await;
    let refunded: i64 = ledger["refunds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["amount"].as_i64().unwrap())
        .sum();
    assert_eq!(
        refunded, order_row.total.amount,
        "the gateway refunded each unit once"
    );
    // The shopper sees the same refunds on their order.
    let token = app
        .state
        .services
        .orders
        .access_token(&id)
        .await
        .unwrap()
        .unwrap();
    let (status, shown) = app
        .get_json(&format!("/api/v1/orders/{order}?token={token}"))
        .await;
    assert_eq!(status, 200, "{shown}");
    let listed = shown["refunds"].as_array().unwrap();
    assert_eq!(listed.len(), 2, "the one-unit refund and the rest: {shown}");
    assert_eq!(
        listed
            .iter()
            .map(|r| r["amount"]["amount"].as_i64().unwrap())
            .sum::<i64>(),
        order_row.total.amount
    );
    assert!(listed.iter().all(|r| r["status"] == "succeeded"), "{shown}");
    assert_eq!(listed[1]["reason"], "customer request");
    // Nothing is back on sale until someone looks at it.
    assert_eq!(available(&app, "WANDS-13-QUEEN").await, before);
    let items = refunds.returned(10).await.unwrap();
    assert_eq!(items.len(), 3, "{items:?}");
    let queen: Vec<_> = items.iter().filter(|i| i.sku == "WANDS-13-QUEEN").collect();
    assert!(refunds.inspect(queen[0].id, true, None).await.unwrap());
    assert!(
        !refunds.inspect(queen[0].id, true, None).await.unwrap(),
        "inspected once"
    );
    assert!(refunds.inspect(queen[1].id, false, None).await.unwrap());
    let after = available(&app, "WANDS-13-QUEEN").await;
    assert_eq!(after.0, before.0 + 1, "one resellable unit is back");
    assert_eq!(after.1, before.1 - 1, "and no longer counted as sold");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_office_pages_and_actions_are_for_their_roles_only() {
    let app = spawn_app().await;
    let (a, b) = sellers(&app).await;
    let shopper = session(&app, "s@example.com", Role::Shopper, None).await;
    let seller_a = session(&app, "a@example.com", Role::Seller, Some(&a)).await;
    let seller_b = session(&app, "b@example.com", Role::Seller, Some(&b)).await;
    let admin = session(&app, "root@example.com", Role::Admin, None).await;
    let (product, title, sku): (i64, String, String) = sqlx::query_as(
        "SELECT p.id, p.title, v.sku FROM products p JOIN sellers s ON s.id = p.seller_id \
         JOIN variants v ON v.product_id = p.id WHERE s.slug = $1 ORDER BY p.id LIMIT 1",
    )
    .bind(&a)
    .fetch_one(app.scratch.db.pool())
    .await
    .unwrap();
    let order = place_order(&app, &[(sku.as_str(), 1)]).await;
    let page = |cookie: Option<&str>, path: String| {
        let app = &app;
        let cookie = cookie.map(str::to_owned);
        async move {
            let mut r = app.client.get(app.url(&path));
            if let Some(c) = cookie {
                r = r.header("Cookie", c);
            }
            let response = r.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    // Every back-office page, for [guest, shopper, seller A, seller B, admin].
    let admin_only = [401, 403, 403, 403, 200];
    let any_seller = [401, 403, 200, 200, 403];
    let matrix: Vec<(String, [u16; 5])> = vec![
        ("/admin".into(), admin_only),
        ("/admin/orders".into(), admin_only),
        (format!("/admin/orders/{order}"), admin_only),
        ("/seller".into(), any_seller),
        ("/seller/products".into(), any_seller),
        ("/seller/products/new".into(), any_seller),
        ("/seller/orders".into(), any_seller),
        ("/seller/feeds".into(), any_seller),
        // Another seller's product is no product at all.
        (
            format!("/seller/products/{product}"),
            [401, 403, 200, 404, 403],
        ),
        ("/account".into(), [401, 200, 200, 200, 200]),
    ];
    let who = [
        ("guest", None),
        ("shopper", Some(shopper.as_str())),
        ("seller A", Some(seller_a.as_str())),
        ("seller B", Some(seller_b.as_str())),
        ("admin", Some(admin.as_str())),
    ];
    for (path, expected) in &matrix {
        for ((name, cookie), want) in who.iter().zip(expected) {
            let (status, html) = page(*cookie, path.clone()).await;
            assert_eq!(status, *want, "{name} → {path}");
            if status != 200 {
                // A refusal shows nothing of what it guards.
                assert!(!html.contains(&title), "{name} → {path} shows the product");
                assert!(
                    !html.contains(&order.to_string()),
                    "{name} → {path} shows the order"
                );
            }
            if status == 401 {
                assert!(html.contains("sign in"), "{name} → {path}: {html}");
            }
        }
    }
    // What each seller's own pages show: A's order and product appear for A only.
    let (_, html) = page(Some(&seller_a), "/seller/orders".into()).await;
    assert!(html.contains(&order.to_string()));
    let (_, html) = page(Some(&seller_b), "/seller/orders".into()).await;
    assert!(!html.contains(&order.to_string()));
    let (_, html) = page(Some(&seller_a), format!("/seller/products/{product}")).await;
    assert!(html.contains(&sku));
    let (_, html) = page(Some(&admin), "/admin".into()).await;
    assert!(html.contains("data-testid=\"health-status\""));
    // Paging keeps the filters (and only them).
    let (_, html) = page(
        Some(&admin),
        "/admin/orders?status=confirmed&saved=1&page=2".into(),
    )
    .await;
    assert!(
        html.contains("href=\"/admin/orders?status=confirmed&amp;page=1\""),
        "{html}"
    );
    let (_, html) = page(Some(&seller_a), "/seller".into()).await;
    assert!(html.contains("data-testid=\"sales-chart\""));
    // A shopper posting the admin's refund form is refused, and nothing is refunded.
    let response = app
        .client
        .post(app.url("/rpc/admin/refund"))
        .header("Cookie", &shopper)
        .header("Sec-Fetch-Site", "same-origin")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("order={order}&key=attacker-key-01&reason=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    let refunds: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM refunds")
        .fetch_one(app.scratch.db.pool())
        .await
        .unwrap();
    assert_eq!(refunds, 0);
}

/// Calls a server function as the hydrated page does (form-encoded, same-origin).
async fn rpc(app: &TestApp, cookie: Option<&str>, path: &str, body: &str) -> u16 {
    let mut request = app
        .client
        .post(app.url(path))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Accept", "application/json")
        .header("Sec-Fetch-Site", "same-origin")
        .body(body.to_owned());
    if let Some(cookie) = cookie {
        request = request.header("Cookie", cookie);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_back_office_server_function_checks_role_and_owner() {
    let app = spawn_app().await;
    let (a, b) = sellers(&app).await;
    let shopper = session(&app, "s@example.com", Role::Shopper, None).await;
    let seller_a = session(&app, "a@example.com", Role::Seller, Some(&a)).await;
    let seller_b = session(&app, "b@example.com", Role::Seller, Some(&b)).await;
    let admin = session(&app, "root@example.com", Role::Admin, None).await;
    let (product, sku): (i64, String) = sqlx::query_as(
        "SELECT p.id, v.sku FROM products p JOIN sellers s ON s.id = p.seller_id \
         JOIN variants v ON v.product_id = p.id WHERE s.slug = $1 ORDER BY p.id LIMIT 1",
    )
    .bind(&a)
    .fetch_one(app.scratch.db.pool())
    .await
    .unwrap();
    let order = place_order(&app, &[(sku.as_str(), 1)]).await;
    // (path, body, [guest, shopper, seller A, seller B, admin]); 2xx and 3xx both mean "done".
    let ok = 200;
    let admin_only = [401, 403, 403, 403, ok];
    let seller_a_only = [401, 403, ok, 404, 403];
    let any_seller = [401, 403, ok, ok, 403];
    let matrix: Vec<(&str, String, [u16; 5])> = vec![
        ("/rpc/admin/overview", String::new(), admin_only),
        ("/rpc/admin/orders", String::new(), admin_only),
        ("/rpc/admin/order", format!("id={order}"), admin_only),
        ("/rpc/admin/replay", "id=999999".into(), admin_only),
        (
            "/rpc/admin/inspect",
            "item=999999&resellable=no".into(),
            admin_only,
        ),
        (
            "/rpc/admin/coupon",
            "code=MATRIX&percent=5".into(),
            admin_only,
        ),
        ("/rpc/seller/dashboard", String::new(), any_seller),
        ("/rpc/seller/products", String::new(), any_seller),
        ("/rpc/seller/orders", String::new(), any_seller),
        ("/rpc/seller/feeds", String::new(), any_seller),
        (
            "/rpc/seller/feed",
            "id=999999".into(),
            [401, 403, 404, 404, 403],
        ),
        (
            "/rpc/seller/fetch-retry",
            "id=999999&feed=1".into(),
            [401, 403, 404, 404, 403],
        ),
        (
            "/rpc/seller/product",
            format!("id={product}"),
            seller_a_only,
        ),
        (
            "/rpc/seller/stock",
            format!("product={product}&sku={sku}&warehouse=main&available=5&reason=count"),
            seller_a_only,
        ),
        (
            "/rpc/seller/image",
            format!("product={product}&image=999999&change=remove"),
            [401, 403, 404, 404, 403],
        ),
        (
            "/rpc/seller/save",
            format!(
                "id={product}&title=Mine&description=Mine&category=1&variants={sku}%20%7C%201.00"
            ),
            [401, 403, ok, 404, 403],
        ),
        // Last: it refunds the order.
        (
            "/rpc/admin/refund",
            format!("order={order}&key=matrix-key-0001&reason=test"),
            admin_only,
        ),
    ];
    let who = [
        ("guest", None),
        ("shopper", Some(shopper.as_str())),
        ("seller A", Some(seller_a.as_str())),
        ("seller B", Some(seller_b.as_str())),
        ("admin", Some(admin.as_str())),
    ];
    for (path, body, expected) in &matrix {
        for ((name, cookie), want) in who.iter().zip(expected) {
            // Seller B first for owner checks, so A's success does not change what B sees.
            let got = rpc(&app, *cookie, path, body).await;
            let got = if (200..400).contains(&got) { ok } else { got };
            assert_eq!(got, *want, "{name} → {path}");
        }
    }
    // Seller B's attempts changed nothing of A's: the title is A's edit, the stock A's count.
    let title: String = sqlx::query_scalar("SELECT title FROM products WHERE id = $1")
        .bind(product)
        .fetch_one(app.scratch.db.pool())
        .await
        .unwrap();
    assert_eq!(title, "Mine");
}

/// A category path a seller can write in a feed.
async fn category_path(app: &TestApp) -> String {
    let categories = app.state.services.catalog.categories().await.unwrap();
    let leaf = categories.iter().find(|c| c.parent_id.is_some()).unwrap();
    let parent = categories
        .iter()
        .find(|c| Some(c.id) == leaf.parent_id)
        .unwrap();
    format!("{} > {}", parent.name, leaf.name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seller_sends_feeds_through_the_api_and_sees_only_their_own() {
    let app = spawn_app().await;
    let (a, b) = sellers(&app).await;
    let shopper = session(&app, "s@example.com", Role::Shopper, None).await;
    let seller_a = session(&app, "a@example.com", Role::Seller, Some(&a)).await;
    let seller_b = session(&app, "b@example.com", Role::Seller, Some(&b)).await;
    let category = category_path(&app).await;
    let csv = format!(
        "product_key,sku,price,title,description,category,stock,image_urls\n\
         kettle,FEED-KETTLE,34.00,Kettle,A steel kettle,\"{category}\",7,http://10.0.0.8/kettle.jpg\n\
         kettle,FEED-KETTLE-XL,39.00,,,,2,\n\
         broken,FEED-BROKEN,free,Broken,Has no price,\"{category}\",,\n"
    );
    let post = |cookie: Option<String>, body: String| {
        let app = &app;
        async move {
            let mut request = app
                .client
                .post(app.url("/api/v1/seller/feeds?name=catalog.csv"))
                .header("Content-Type", "text/csv")
                .body(body);
            if let Some(cookie) = cookie {
                request = request
                    .header("Cookie", cookie)
                    .header("Sec-Fetch-Site", "same-origin");
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    assert_eq!(post(None, csv.clone()).await.0, 401);
    assert_eq!(post(Some(shopper.clone()), csv.clone()).await.0, 403);
    let (status, body) = post(Some(seller_a.clone()), csv.clone()).await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_i64().unwrap();
    let report = format!("/api/v1/seller/feeds/{id}");
    let (status, body) = call(&app, Some(&seller_a), Method::GET, &report, None).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("queued")));
    // Another seller's feed is no feed at all.
    assert_eq!(
        status_of(&app, Some(&seller_b), Method::GET, &report).await,
        404
    );
    assert_eq!(
        status_of(&app, Some(&shopper), Method::GET, &report).await,
        403
    );

    while app.state.services.feeds.process_next().await.unwrap() {}
    let (_, body) = call(&app, Some(&seller_a), Method::GET, &report, None).await;
    assert_eq!(body["status"], "done", "{body}");
    assert_eq!(
        (body["created"].as_i64(), body["rows_total"].as_i64()),
        (Some(1), Some(3))
    );
    assert_eq!(body["errors"][0]["line"], 4);
    assert_eq!(body["errors"][0]["column"], "price");
    // The private picture address was refused with its reason, before any request.
    assert_eq!(body["fetches"][0]["status"], "refused");
    assert!(
        body["fetches"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("private_address"),
        "{body}"
    );
    let fetch = body["fetches"][0]["id"].as_i64().unwrap();
    // Only the owner can put it back in the queue.
    let retry = format!("/api/v1/seller/fetches/{fetch}/retry");
    assert_eq!(
        status_of(&app, Some(&seller_b), Method::POST, &retry).await,
        404
    );
    assert_eq!(
        status_of(&app, Some(&seller_a), Method::POST, &retry).await,
        204
    );
    // The product is on sale with its stock, found by search.
    searched_for(&app, "steel%20kettle", "Kettle").await;

    // The portal's plain form: multipart, answered with a redirect to the report page.
    let boundary = "----emporium-feed-boundary";
    let form = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"feed\"; filename=\"again.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n"
    );
    let response = app
        .client
        .post(app.url("/api/v1/seller/feeds?return_to=/seller/feeds"))
        .header("Cookie", &seller_a)
        .header("Sec-Fetch-Site", "same-origin")
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/seller/feeds/"), "{location}");
    while app.state.services.feeds.process_next().await.unwrap() {}
    let page = |cookie: String, path: String| {
        let app = &app;
        async move {
            let response = app
                .client
                .get(app.url(&path))
                .header("Cookie", cookie)
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let (status, html) = page(seller_a.clone(), location.clone()).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("0 new product(s), 0 changed, 1 unchanged"),
        "{html}"
    );
    assert!(html.contains("data-testid=\"feed-issue\""));
    assert_eq!(page(seller_b.clone(), location).await.0, 404);
    let (status, html) = page(seller_a.clone(), "/seller/feeds".into()).await;
    assert_eq!(status, 200);
    assert_eq!(html.matches("data-testid=\"feed-row\"").count(), 2);
    let (_, html) = page(seller_b, "/seller/feeds".into()).await;
    assert!(!html.contains("data-testid=\"feed-row\""));

    // Too big for a feed: refused before it is read whole.
    let huge = "x".repeat(shop::feeds::parse::MAX_FEED_BYTES + 100 * 1024);
    assert_eq!(post(Some(seller_a.clone()), huge).await.0, 413);
    // Not a feed at all: accepted, then reported as refused as a whole.
    let (_, body) = post(Some(seller_a.clone()), "hello".into()).await;
    let id = body["id"].as_i64().unwrap();
    while app.state.services.feeds.process_next().await.unwrap() {}
    let (_, body) = call(
        &app,
        Some(&seller_a),
        Method::GET,
        &format!("/api/v1/seller/feeds/{id}"),
        None,
    )
    .await;
    assert_eq!(body["status"], "failed");
    let metrics = app.get_text("/metrics").await.1;
    assert!(
        metrics.contains("emporium_picture_fetches{status=\"queued\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("emporium_picture_fetch_outcomes_total{reason=\"private_address\"} 1")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seller_past_their_feed_quota_is_refused_with_the_limit_by_the_api_and_the_portal() {
    let app = spawn_app_with(|settings| settings.feeds.seller_waiting_feeds = 2).await;
    let (a, b) = sellers(&app).await;
    let seller_a = session(&app, "a@example.com", Role::Seller, Some(&a)).await;
    let seller_b = session(&app, "b@example.com", Role::Seller, Some(&b)).await;
    let send = |cookie: &str, path: &str| {
        app.client
            .post(app.url(path))
            .header("Cookie", cookie)
            .header("Sec-Fetch-Site", "same-origin")
            .header("Content-Type", "text/csv")
            .body("product_key,sku,price\n")
            .send()
    };
    for n in 0..2 {
        let response = send(&seller_a, &format!("/api/v1/seller/feeds?name={n}.csv"))
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 202, "two feeds may wait");
    }
    let refused = send(&seller_a, "/api/v1/seller/feeds?name=third.csv")
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 429);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "queue_full", "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("At most 2 feeds may wait")),
        "{body}"
    );
    // The portal's form is sent back to the feeds page, which says why.
    let response = send(&seller_a, "/api/v1/seller/feeds?return_to=/seller/feeds")
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let html = crate::common::page_as(&app, &location, &seller_a).await;
    assert!(
        html.contains("data-testid=\"feed-error\"") && html.contains("At most 2 feeds may wait"),
        "{location}: {html}"
    );
    // Another seller's feeds are not counted against A's quota.
    let theirs = send(&seller_b, "/api/v1/seller/feeds?name=theirs.csv")
        .await
        .unwrap();
    assert_eq!(theirs.status().as_u16(), 202);
}
