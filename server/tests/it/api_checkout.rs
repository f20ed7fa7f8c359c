//! Carts, checkouts and orders through the JSON API, over real HTTP, against the gateway
//! simulator; every answer is checked against the OpenAPI document as it arrives.

use crate::common::openapi::{CheckedApp, spawn_checked_app, spawn_checked_app_with};
use crate::common::{JsonApi, TestApp, new_cart};
use reqwest::Method;
use serde_json::{Value, json};

async fn set_line(app: &CheckedApp, cart: &str, sku: &str, quantity: Value) -> (u16, Value) {
    let (status, body) = app
        .send_json(
            Method::PUT,
            &format!("/api/v1/carts/{cart}/lines/{sku}"),
            None,
            &json!({ "quantity": quantity }),
        )
        .await;
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// A new cart holding `quantity` of `sku`; its id.
async fn cart_holding(app: &CheckedApp, sku: &str, quantity: i64) -> String {
    let cart = new_cart(app).await;
    let (status, body) = set_line(app, &cart, sku, json!(quantity)).await;
    assert_eq!(status, 200, "{body}");
    cart
}

/// `POST /api/v1/checkouts` with `body` under the idempotency key `key`: the status and the
/// body as sent.
async fn checkout(app: &CheckedApp, key: Option<&str>, body: &Value) -> (u16, String) {
    app.send_json(Method::POST, "/api/v1/checkouts", key, body)
        .await
}

fn checkout_body(cart: &str, card: &str) -> Value {
    json!({
        "cart_id": cart,
        "email": "ana@example.com",
        "shipping_address": {
            "name": "Ana Lima", "line1": "1 Main St", "city": "Springfield",
            "region": "IL", "postal_code": "62701", "country": "US"
        },
        "payment": { "card_number": card },
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cart_is_built_line_by_line_with_bounds() {
    let app = spawn_checked_app().await;
    let cart = new_cart(&app).await;
    let (status, body) = set_line(&app, &cart, "WANDS-13-QUEEN", json!(2)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["lines"][0]["quantity"], 2);
    assert_eq!(body["item_count"], 2);
    let (_, again) = set_line(&app, &cart, "WANDS-13-QUEEN", json!(2)).await;
    assert_eq!(
        again["lines"], body["lines"],
        "setting the same quantity twice is one change"
    );

    for bad in [json!(-1), json!(100), json!("two"), json!(1.5), json!(null)] {
        let (status, body) = set_line(&app, &cart, "WANDS-13-QUEEN", bad.clone()).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"], "bad_request");
    }
    let (status, _) = set_line(&app, &cart, "NO-SUCH-SKU", json!(1)).await;
    assert_eq!(status, 404);
    let (status, _) = set_line(&app, "not-a-cart", "WANDS-13-QUEEN", json!(1)).await;
    assert_eq!(status, 404);
    let (status, body) = set_line(&app, &cart, "WANDS-13-QUEEN", json!(99)).await;
    assert_eq!(status, 409, "more than is available: {body}");
    assert_eq!(body["error"], "insufficient_stock");
    let (status, body) = set_line(&app, &cart, "WANDS-13-QUEEN", json!(0)).await;
    assert_eq!(status, 200);
    assert!(body["lines"].as_array().unwrap().is_empty());

    let huge = json!({ "quantity": 1, "padding": "x".repeat(100_000) });
    let (status, _) = app
        .send_json(
            Method::PUT,
            &format!("/api/v1/carts/{cart}/lines/WANDS-13-QUEEN"),
            None,
            &huge,
        )
        .await;
    assert_eq!(status, 413);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coupon_on_a_cart_shows_what_it_takes_off_and_what_checkout_will_charge() {
    let app = spawn_checked_app().await;
    let coupons = &app.state.services.coupons;
    shop::testing::create_coupon(coupons, "TENOFF", shop::coupons::Discount::Percent(10)).await;
    let cart = new_cart(&app).await;
    let (_, body) = set_line(&app, &cart, "WANDS-13-KING", json!(2)).await;
    let subtotal = body["subtotal"]["amount"].as_i64().unwrap();

    let (status, body) = app
        .send_json(
            Method::PUT,
            &format!("/api/v1/carts/{cart}/coupon"),
            None,
            &json!({ "code": "tenoff" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["coupon"]["code"], "TENOFF", "{body}");
    assert_eq!(
        body["coupon"]["discount"]["amount"],
        subtotal / 10,
        "{body}"
    );
    assert_eq!(body["total"]["amount"], subtotal - subtotal / 10, "{body}");
    let (_, again) = app.get_json(&format!("/api/v1/carts/{cart}")).await;
    assert_eq!(
        again["total"], body["total"],
        "reading the cart shows the same"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purchase_through_the_api_makes_one_order_and_one_charge() {
    let app = spawn_checked_app().await;
    let cart = cart_holding(&app, "WANDS-13-KING", 1).await;
    let (_, cart_body) = app.get_json(&format!("/api/v1/carts/{cart}")).await;
    let total = cart_body["subtotal"]["amount"].as_i64().unwrap();

    // Tampered prices in the request are ignored: the server prices the cart itself.
    let mut body = checkout_body(&cart, "4242424242424242");
    body["total"] = json!({ "amount": 1, "currency": "USD" });
    body["lines"] = json!([{ "sku": "WANDS-13-KING", "unit_price": 1 }]);
    let (status, first) = checkout(&app, Some("api-key-000001"), &body).await;
    assert_eq!(status, 201, "{first}");
    let placed: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(placed["status"], "confirmed");
    // The cart's subtotal, with shipping (free over $50) and Illinois's tax on top.
    assert_eq!(placed["totals"]["subtotal"]["amount"], total);
    assert_eq!(placed["totals"]["shipping"]["amount"], 0);
    let charged = placed["totals"]["total"]["amount"].as_i64().unwrap();
    assert_eq!(
        charged,
        total + placed["totals"]["tax"]["amount"].as_i64().unwrap()
    );
    assert_eq!(placed["total"]["amount"], charged);
    assert_eq!(app.ledger().await["charges"][0]["amount"], charged);

    let (status, again) = checkout(&app, Some("api-key-000001"), &body).await;
    assert_eq!(
        (status, again.as_str()),
        (201, first.as_str()),
        "replayed byte for byte"
    );
    let mut changed = body.clone();
    changed["email"] = json!("other@example.com");
    let (status, reused) = checkout(&app, Some("api-key-000001"), &changed).await;
    assert_eq!(status, 422, "{reused}");

    let checkout = placed["checkout_id"].as_str().unwrap();
    let (status, view) = app.get_json(&format!("/api/v1/checkouts/{checkout}")).await;
    assert_eq!(status, 200);
    assert_eq!(view["order_id"], placed["order_id"]);
    assert_eq!(view["order_token"], placed["order_token"]);

    // The order is shown to whoever holds its secret link, and to no one else: not for
    // its id alone, its e-mail, or a token of the right shape that is not its own.
    let order = placed["order_id"].as_str().unwrap();
    let token = placed["order_token"].as_str().unwrap();
    assert_eq!(token.len(), 32);
    let (status, shown) = app
        .get_json(&format!("/api/v1/orders/{order}?token={token}"))
        .await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["lines"][0]["sku"], "WANDS-13-KING");
    assert_eq!(shown["shipping_address"]["city"], "Springfield");
    assert_eq!(shown["email"], "ana@example.com");
    let wrong: String = token
        .chars()
        .map(|c| if c == '0' { '1' } else { '0' })
        .collect();
    for path in [
        format!("/api/v1/orders/{order}"),
        format!("/api/v1/orders/{order}?email=ana@example.com"),
        format!("/api/v1/orders/{order}?token={wrong}"),
        format!("/api/v1/orders/{order}?token="),
    ] {
        let (status, body) = app.get_json(&path).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(body["error"], "not_found", "as for no such order: {body}");
    }
    assert_eq!(app.ledger().await["charges"].as_array().unwrap().len(), 1);
}

/// Sends `body` and returns the status and the error's message.
async fn refusal(
    app: &CheckedApp,
    method: Method,
    path: &str,
    key: Option<&str>,
    body: &Value,
) -> (u16, String) {
    let (status, text) = app.send_json(method, path, key, body).await;
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    assert_eq!(body["error"], "bad_request", "{path}: {text}");
    (
        status,
        body["message"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_values_in_a_request_are_a_400_naming_the_field() {
    let app = spawn_checked_app().await;
    let cart = cart_holding(&app, "WANDS-13-TWIN", 1).await;

    let lines = format!("/api/v1/carts/{cart}/lines/NO%20SPACES");
    let coupon = format!("/api/v1/carts/{cart}/coupon");
    let checkouts = "/api/v1/checkouts".to_owned();
    let mut bad_mail = checkout_body(&cart, "4242424242424242");
    bad_mail["email"] = json!("ana@");
    let bad_card = checkout_body(&cart, "4242 4242 4242 4241");
    // Each request, and the field its refusal must name.
    for (method, path, key, body, names) in [
        (
            Method::PUT,
            &lines,
            None,
            json!({ "quantity": 1 }),
            "sku: must be",
        ),
        (
            Method::PUT,
            &coupon,
            None,
            json!({ "code": "no spaces!" }),
            "coupon: must be",
        ),
        (
            Method::POST,
            &checkouts,
            Some("door-mail-1"),
            bad_mail,
            "email: must be an e-mail address",
        ),
        (
            Method::POST,
            &checkouts,
            Some("door-card-1"),
            bad_card,
            "card_number: is not a valid card number",
        ),
    ] {
        let (status, message) = refusal(&app, method, path, key, &body).await;
        assert_eq!(status, 400, "{path}: {message}");
        assert!(message.contains(names), "{path}: {message}");
    }
    assert!(
        app.ledger().await["charges"].as_array().unwrap().is_empty(),
        "nothing was charged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_cart_or_order_id_is_as_unknown_as_a_missing_one() {
    let app = spawn_checked_app().await;
    for path in [
        "/api/v1/carts/not-a-cart",
        "/api/v1/carts/0123456789abcdef0123456789abcdef",
        "/api/v1/orders/ord_nope",
        "/api/v1/orders/ord_0123456789abcdef01234567",
    ] {
        let (status, body) = app.get_json(path).await;
        assert_eq!(
            (status, &body["error"]),
            (404, &json!("not_found")),
            "{path}: {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_requests_are_checked_before_anything_happens() {
    let app = spawn_checked_app().await;
    let cart = cart_holding(&app, "WANDS-13-TWIN", 1).await;
    let good = checkout_body(&cart, "4242424242424242");
    let (status, body) = checkout(&app, None, &good).await;
    assert_eq!(status, 400, "a key is required: {body}");
    for bad_key in ["short", "has spaces in it", &"k".repeat(65)] {
        let (status, _) = checkout(&app, Some(bad_key), &good).await;
        assert_eq!(status, 400, "{bad_key}");
    }
    let mut bad = good.clone();
    bad["payment"]["card_number"] = json!("4242424242424241");
    let (status, body) = checkout(&app, Some("bad-card-key-1"), &bad).await;
    assert_eq!(status, 400, "{body}");
    let mut bad = good.clone();
    bad["email"] = json!("not-an-email");
    assert_eq!(checkout(&app, Some("bad-mail-key-1"), &bad).await.0, 400);
    let mut bad = good.clone();
    bad["shipping_address"]["country"] = json!("Atlantis");
    let (status, body) = checkout(&app, Some("bad-addr-key-1"), &bad).await;
    assert_eq!(
        status, 422,
        "a wrong address field is the person's to fix: {body}"
    );
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"], "invalid");
    assert!(body["fields"]["country"].is_string(), "{body}");
    let (status, _) = checkout(
        &app,
        Some("unknown-cart-1"),
        &checkout_body("0123456789abcdef0123456789abcdef", "4242424242424242"),
    )
    .await;
    assert_eq!(status, 404);
    assert!(
        app.ledger().await["charges"].as_array().unwrap().is_empty(),
        "nothing was charged"
    );
    let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM checkouts")
        .fetch_one(app.scratch.db.pool())
        .await
        .unwrap();
    assert_eq!(orders, 0, "nothing was written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_card_is_402_and_a_shortfall_is_409_naming_the_sku() {
    let app = spawn_checked_app().await;
    let cart = cart_holding(&app, "WANDS-13-TWIN", 1).await;
    let (status, body) = checkout(
        &app,
        Some("declined-api-1"),
        &checkout_body(&cart, "4000000000009995"),
    )
    .await;
    assert_eq!(status, 402, "{body}");
    assert!(body.contains("insufficient_funds"));

    crate::common::set_available(&app.scratch.db, "WANDS-13-TWIN", 0).await;
    let (status, body) = checkout(
        &app,
        Some("sold-out-api-1"),
        &checkout_body(&cart, "4242424242424242"),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (body["error"].as_str(), body["sku"].as_str()),
        (Some("out_of_stock"), Some("WANDS-13-TWIN"))
    );
}

/// `/metrics` as `series → value` (a series is the name with its labels, as written).
async fn scrape(app: &TestApp) -> (std::collections::HashMap<String, f64>, String) {
    let (status, text) = app.get_text("/metrics").await;
    assert_eq!(status, 200);
    let series = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .map(|(series, value)| (series.to_owned(), value.parse().unwrap()))
        .collect();
    (series, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_by_route_template_and_checkouts_by_saga_step() {
    // Every scrape reads the database afresh: the gauges below are compared before and after.
    let app = spawn_checked_app_with(|s| s.http.metrics_cache_ms = 0).await;
    let (before, _) = scrape(&app).await;

    // A page twice, a product that does not exist, a path no route knows, a server
    // function, and a purchase through the API.
    for path in [
        "/p/king-tufted-low-profile-standard-bed",
        "/p/king-tufted-low-profile-standard-bed",
    ] {
        assert_eq!(app.get(path).await.status(), 200, "{path}");
    }
    assert_eq!(app.get("/p/no-such-thing").await.status(), 404);
    assert_eq!(app.get("/no/such/route").await.status(), 404);
    assert_eq!(app.get("/rpc/catalog/suggest?q=clock").await.status(), 200);
    let cart = new_cart(&app).await;
    let (status, _) = set_line(&app, &cart, "WANDS-13-KING", json!(1)).await;
    assert_eq!(status, 200);
    let (status, placed) = checkout(
        &app,
        Some("metrics-key-0001"),
        &checkout_body(&cart, "4242424242424242"),
    )
    .await;
    assert_eq!(status, 201, "{placed}");

    let (after, text) = scrape(&app).await;
    let moved = |series: &str| {
        after.get(series).copied().unwrap_or(0.0) - before.get(series).copied().unwrap_or(0.0)
    };
    let requests = |route: &str, method: &str, class: &str| {
        moved(&format!(
            "emporium_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{class}\"}}"
        ))
    };
    assert_eq!(requests("/p/{slug}", "GET", "2xx"), 2.0, "{text}");
    assert_eq!(requests("/p/{slug}", "GET", "4xx"), 1.0, "{text}");
    assert_eq!(requests("other", "GET", "4xx"), 1.0, "{text}");
    assert_eq!(
        requests("/rpc/catalog/suggest", "GET", "2xx"),
        1.0,
        "{text}"
    );
    assert_eq!(requests("/api/v1/carts", "POST", "2xx"), 1.0, "{text}");
    assert_eq!(
        requests("/api/v1/carts/{cart_id}/lines/{sku}", "PUT", "2xx"),
        1.0,
        "{text}"
    );
    assert_eq!(requests("/api/v1/checkouts", "POST", "2xx"), 1.0, "{text}");
    assert_eq!(
        requests("/metrics", "GET", "2xx"),
        1.0,
        "the first scrape is counted once it is answered"
    );
    let histogram = |suffix: &str| {
        moved(&format!(
            "emporium_http_request_duration_seconds_{suffix}{{route=\"/p/{{slug}}\"}}"
        ))
    };
    assert_eq!(histogram("count"), 3.0, "{text}");
    assert!(histogram("sum") > 0.0);
    assert_eq!(
        moved("emporium_http_request_duration_seconds_bucket{route=\"/p/{slug}\",le=\"+Inf\"}"),
        3.0
    );
    for raw in [&cart, "king-tufted", "no-such-thing", "/no/such/route"] {
        assert!(
            !text.contains(raw),
            "the raw path {raw} is not a label:\n{text}"
        );
    }

    // The purchase went through each step once, on this node.
    for (step, outcome) in [
        ("claim", "claimed"),
        ("reserve", "reserved"),
        ("pay", "paid"),
        ("confirm", "confirmed"),
    ] {
        assert_eq!(
            moved(&format!(
                "emporium_checkout_steps_total{{step=\"{step}\",outcome=\"{outcome}\"}}"
            )),
            1.0,
            "{step}: {text}"
        );
        assert_eq!(
            moved(&format!(
                "emporium_checkout_step_seconds_count{{step=\"{step}\"}}"
            )),
            1.0,
            "{step}"
        );
        // A histogram: each run lands in a bucket, so Prometheus can compute quantiles.
        assert_eq!(
            moved(&format!(
                "emporium_checkout_step_seconds_bucket{{step=\"{step}\",le=\"+Inf\"}}"
            )),
            1.0,
            "{step}: {text}"
        );
        assert_eq!(
            moved(&format!(
                "emporium_checkout_step_seconds_bucket{{step=\"{step}\",le=\"10\"}}"
            )),
            1.0,
            "{step} took under 10 s: {text}"
        );
    }
    assert_eq!(moved("emporium_gateway_calls_total"), 1.0, "one charge");
    assert_eq!(after["emporium_gateway_available"], 1.0);
    // Its hold was committed; its order confirmation waits for the dispatcher, which tests
    // do not run.
    assert_eq!(after["emporium_reservations{state=\"held\"}"], 0.0);
    assert_eq!(after["emporium_reservations{state=\"overdue\"}"], 0.0);
    assert_eq!(
        after["emporium_checkouts_unfinished{state=\"paying\"}"],
        0.0
    );
    assert_eq!(after["emporium_outbox_waiting"], 1.0, "{text}");
    assert!(after["emporium_outbox_oldest_waiting_seconds"] >= 0.0);
    assert!(
        after.contains_key("emporium_search_index_lag_events"),
        "{text}"
    );
    assert!(after.contains_key("emporium_mail_waiting"), "{text}");
}
