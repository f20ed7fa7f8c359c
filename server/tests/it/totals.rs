//! Shipping and tax in every total, through the API: a cart's delivery options per seller,
//! the checkout's totals, and the order keeping them; addresses checked per country with every
//! wrong field named. Every answer is checked against the OpenAPI document as it arrives.

use crate::common::openapi::{CheckedApp, spawn_checked_app, spawn_checked_app_with};
use crate::common::{JsonApi, cart_of};
use reqwest::Method;
use serde_json::{Value, json};

fn line_total(cart: &Value, sku: &str) -> i64 {
    cart["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["sku"] == sku)
        .unwrap_or_else(|| panic!("{sku} in {cart}"))["line_total"]["amount"]
        .as_i64()
        .unwrap()
}

fn address(country: &str, region: &str, postal_code: &str) -> Value {
    json!({
        "name": "Ana Lima", "line1": "1 Main St", "city": "Springfield",
        "region": region, "postal_code": postal_code, "country": country
    })
}

fn checkout_body(cart: &str, address: Value) -> Value {
    json!({
        "cart_id": cart,
        "email": "ana@example.com",
        "shipping_address": address,
        "payment": { "card_number": "4242424242424242" },
    })
}

async fn post_checkout(app: &CheckedApp, key: &str, body: &Value) -> (u16, Value) {
    let (status, text) = app
        .send_json(Method::POST, "/api/v1/checkouts", Some(key), body)
        .await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn amount(totals: &Value, part: &str) -> i64 {
    totals[part]["amount"]
        .as_i64()
        .unwrap_or_else(|| panic!("{part} in {totals}"))
}

/// `total = subtotal − discount + shipping + tax` (prices without tax).
fn assert_adds_up(totals: &Value) {
    assert_eq!(
        amount(totals, "total"),
        amount(totals, "subtotal") - amount(totals, "discount")
            + amount(totals, "shipping")
            + amount(totals, "tax"),
        "{totals}"
    );
}

/// Half away from zero, as the shop rounds each line's tax.
fn tax(amount: i64, ppm: i64) -> i64 {
    (amount * ppm * 2 + 1_000_000) / 2_000_000
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cart_from_two_sellers_ships_in_two_parts_and_the_order_keeps_its_totals() {
    let app = spawn_checked_app().await;
    let (cart, body) = cart_of(&app, &[("WANDS-13-KING", 1), ("BEA-ESS-ESS-001", 2)]).await;
    let bed = line_total(&body, "WANDS-13-KING");
    let mascara = line_total(&body, "BEA-ESS-ESS-001");
    assert!(bed >= 5000 && mascara < 5000, "{body}");

    let (status, quote) = app
        .get_json(&format!(
            "/api/v1/carts/{cart}/shipping?country=us&region=Illinois&postal_code=62701"
        ))
        .await;
    assert_eq!(status, 200, "{quote}");
    let parts = quote["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 2, "one part per seller: {quote}");
    // Standard is free over $50 (the bed's part), $5.99 below (the mascara's); express is
    // $14.99. Cheapest first.
    let cheapest = |p: &Value| p["options"][0]["amount"]["amount"].as_i64().unwrap();
    let (beds, beauty) = if cheapest(&parts[0]) == 0 {
        (&parts[0], &parts[1])
    } else {
        (&parts[1], &parts[0])
    };
    assert_eq!(cheapest(beds), 0, "{quote}");
    assert_eq!(cheapest(beauty), 599, "{quote}");
    assert_eq!(beauty["options"][1]["method"], "express", "{quote}");
    assert_eq!(beauty["options"][1]["days"], json!([1, 2]));
    let estimate = &quote["estimate"];
    assert_adds_up(estimate);
    assert_eq!(amount(estimate, "shipping"), 599);
    // Illinois: 6.25 % on each line, shipping untaxed.
    assert_eq!(
        amount(estimate, "tax"),
        tax(bed, 62_500) + tax(mascara, 62_500)
    );

    // Express for the mascara's part.
    let mut order = checkout_body(&cart, address("US", "IL", "62701"));
    order["shipping"] = json!([{ "seller": beauty["seller"], "method": "express" }]);
    let (status, placed) = post_checkout(&app, "totals-key-0001", &order).await;
    assert_eq!(status, 201, "{placed}");
    let totals = &placed["totals"];
    assert_adds_up(totals);
    assert_eq!(amount(totals, "subtotal"), bed + mascara);
    assert_eq!(amount(totals, "shipping"), 1499);
    assert_eq!(amount(totals, "tax"), amount(estimate, "tax"));
    assert_eq!(placed["total"], totals["total"]);
    assert_eq!(
        app.ledger().await["charges"][0]["amount"],
        totals["total"]["amount"],
        "the card is charged the total"
    );

    let id = placed["order_id"].as_str().unwrap();
    let token = placed["order_token"].as_str().unwrap();
    let (status, kept) = app
        .get_json(&format!("/api/v1/orders/{id}?token={token}"))
        .await;
    assert_eq!(status, 200, "{kept}");
    assert_eq!(
        kept["totals"], placed["totals"],
        "the order keeps its totals"
    );
    let methods: Vec<&str> = kept["shipping"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["method"].as_str().unwrap())
        .collect();
    assert_eq!(methods.len(), 2, "{kept}");
    assert!(
        methods.contains(&"express") && methods.contains(&"standard"),
        "{kept}"
    );

    // Giving the mascara back refunds its price, its tax and its part's whole shipping (the
    // part held nothing else); the bed then refunds the rest, to the cent of the total.
    use shop::orders::refunds::RefundScope;
    let position = kept["lines"]
        .as_array()
        .unwrap()
        .iter()
        .position(|l| l["sku"] == "BEA-ESS-ESS-001")
        .unwrap();
    let order_id = shop::orders::OrderId::parse(id).unwrap();
    let refunds = &app.state.services.refunds;
    let scope = RefundScope::Lines(vec![(i64::try_from(position).unwrap(), 2)]);
    let first = refunds
        .refund(&order_id, &scope, "totals-refund-1", "returned", None)
        .await
        .unwrap();
    assert_eq!(first.amount.amount, mascara + tax(mascara, 62_500) + 1499);
    let rest = refunds
        .refund(
            &order_id,
            &RefundScope::Full,
            "totals-refund-2",
            "returned",
            None,
        )
        .await
        .unwrap();
    assert_eq!(rest.amount.amount, bed + tax(bed, 62_500));
    assert_eq!(
        first.amount.amount + rest.amount.amount,
        amount(totals, "total")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_is_checked_by_its_countrys_rules_and_every_wrong_field_is_named() {
    let app = spawn_checked_app().await;
    let (cart, _) = cart_of(&app, &[("BEA-ESS-ESS-001", 1)]).await;
    let quote = |query: &str| {
        let path = format!("/api/v1/carts/{cart}/shipping?{query}");
        let app = &app;
        async move { app.get_json(&path).await }
    };
    let (status, body) = quote("country=US").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"], "invalid");
    assert!(
        body["fields"]["region"].as_str().unwrap().contains("state"),
        "{body}"
    );
    let (status, body) = quote("country=CA&region=QC&postal_code=12345").await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["fields"]["postal_code"]
            .as_str()
            .unwrap()
            .contains("K1A 0B1"),
        "{body}"
    );
    let (status, body) = quote("country=CA&region=QC&postal_code=h2x1y4").await;
    assert_eq!(status, 200, "{body}");

    let (status, body) = post_checkout(
        &app,
        "totals-key-0002",
        &checkout_body(&cart, address("US", "", "1234")),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"], "invalid");
    let fields: Vec<&String> = body["fields"].as_object().unwrap().keys().collect();
    assert_eq!(fields, ["postal_code", "region"], "{body}");
    assert_eq!(
        app.ledger().await["charges"].as_array().unwrap().len(),
        0,
        "nothing charged"
    );
    let attempts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM checkouts")
        .fetch_one(app.state.services.db.pool())
        .await
        .unwrap();
    assert_eq!(attempts, 0, "a wrong address starts no attempt");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chosen_methods_are_part_of_what_a_key_stands_for_and_a_changed_total_is_shown() {
    let app = spawn_checked_app().await;
    let (cart, body) = cart_of(&app, &[("BEA-ESS-ESS-001", 1)]).await;
    let subtotal = body["subtotal"]["amount"].as_i64().unwrap();
    let (_, quote) = app
        .get_json(&format!(
            "/api/v1/carts/{cart}/shipping?country=US&region=OR"
        ))
        .await;
    let seller = quote["parts"][0]["seller"].clone();

    // The total without shipping (what the cart page shows) is not what is charged.
    let mut order = checkout_body(&cart, address("US", "OR", "97201"));
    order["expected_total"] = json!(subtotal);
    let (status, changed) = post_checkout(&app, "totals-key-0003", &order).await;
    assert_eq!(status, 409, "{changed}");
    assert_eq!(changed["error"], "total_changed");
    // Oregon has no sales tax: the total is the mascara and its $5.99 standard shipping.
    assert_eq!(amount(&changed["totals"], "tax"), 0, "{changed}");
    assert_eq!(
        amount(&changed["totals"], "total"),
        subtotal + 599,
        "{changed}"
    );

    order["expected_total"] = json!(subtotal + 599);
    let (status, placed) = post_checkout(&app, "totals-key-0004", &order).await;
    assert_eq!(status, 201, "{placed}");
    // The same key with another delivery method is another request.
    order["shipping"] = json!([{ "seller": seller, "method": "express" }]);
    let (status, reused) = post_checkout(&app, "totals-key-0004", &order).await;
    assert_eq!(status, 422, "{reused}");
    assert_eq!(reused["error"], "idempotency_key_reused");

    let (cart, _) = cart_of(&app, &[("BEA-ESS-ESS-001", 1)]).await;
    let mut unknown = checkout_body(&cart, address("US", "OR", "97201"));
    unknown["shipping"] = json!([{ "seller": seller, "method": "teleport" }]);
    let (status, refused) = post_checkout(&app, "totals-key-0005", &unknown).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"], "invalid");
    assert!(refused["fields"]["shipping"].is_string(), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shop_whose_prices_include_tax_shows_the_tax_inside_the_total() {
    let app = spawn_checked_app_with(|s| s.checkout.prices_include_tax = true).await;
    let (cart, body) = cart_of(&app, &[("BEA-ESS-ESS-001", 1)]).await;
    let goods = body["subtotal"]["amount"].as_i64().unwrap();
    let (status, placed) = post_checkout(
        &app,
        "totals-key-0006",
        &checkout_body(&cart, address("DE", "", "10115")),
    )
    .await;
    assert_eq!(status, 201, "{placed}");
    let t = &placed["totals"];
    assert_eq!(t["tax_included"], true, "{t}");
    // Germany: 19 % VAT inside the goods and inside the (taxed) shipping, which is the
    // Europe zone's by-weight standard: $19.99 and $3.00 per started kilogram of 4 kg.
    let shipping = amount(t, "shipping");
    assert_eq!(shipping, 1999 + 4 * 300, "{t}");
    assert_eq!(amount(t, "total"), goods + shipping, "{t}");
    let inside = |gross: i64| (gross * 190_000 * 2 + 1_190_000) / 2_380_000;
    assert_eq!(amount(t, "tax"), inside(goods) + inside(shipping), "{t}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_no_zone_covers_is_told_the_shop_does_not_ship_there() {
    let app = spawn_checked_app().await;
    sqlx::query("DELETE FROM shipping_zone_areas WHERE country = '*'")
        .execute(app.state.services.db.pool())
        .await
        .unwrap();
    let (cart, _) = cart_of(&app, &[("BEA-ESS-ESS-001", 1)]).await;
    let (status, body) = app
        .get_json(&format!("/api/v1/carts/{cart}/shipping?country=JP"))
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["fields"]["country"],
        "We don't ship to JP yet. Please choose another country, or contact us."
    );
    let (status, body) = post_checkout(
        &app,
        "totals-key-0007",
        &checkout_body(&cart, address("JP", "", "100-0001")),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(body["fields"]["country"].is_string(), "{body}");
}
