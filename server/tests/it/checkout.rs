//! The checkout saga against a real database and the gateway simulator over HTTP: every
//! invariant of docs/ARCHITECTURE.md under concurrency, gateway faults and interrupted requests.

use crate::common::{json_of, set_available};
use serde_json::{Value, json};
use shop::cart::{CartId, Carts, Quantity};
use shop::catalog::{Catalog, Sku};
use shop::checkout::{
    CheckoutConfig, CheckoutError, CheckoutRequest, CheckoutState, Checkouts, Email,
    IdempotencyKey, Placed,
};
use shop::clock::{Clock, ManualClock};
use shop::db::scratch::ScratchDb;
use shop::payments::{CardNumber, Gateway, GatewayConfig};
use shop::resilience::Backoff;
use std::sync::Arc;
use std::time::{Duration, Instant};

const GOOD_CARD: &str = "4242424242424242";
const DECLINED_CARD: &str = "4000000000000002";

struct Harness {
    scratch: ScratchDb,
    gateway_url: String,
    http: reqwest::Client,
    clock: ManualClock,
    carts: Carts,
    checkouts: Checkouts,
}

async fn harness() -> Harness {
    harness_with_gateway_timeout(Duration::from_millis(400)).await
}

/// `harness`, with the shop giving up on a gateway call after `timeout`.
async fn harness_with_gateway_timeout(timeout: Duration) -> Harness {
    let scratch = shop::testing::demo_shop().await.unwrap();
    let gateway_url = crate::common::spawn_gateway();
    let clock = ManualClock::starting_at(1_780_000_000_000);
    let gateway = Gateway::new(GatewayConfig {
        timeout,
        attempts: 3,
        backoff: Backoff {
            base: Duration::from_millis(5),
            max: Duration::from_millis(20),
        },
        breaker_threshold: 1000,
        ..GatewayConfig::new(&gateway_url)
    });
    let catalog = Catalog::new(scratch.db.clone());
    let checkouts = Checkouts::new(
        scratch.db.clone(),
        gateway,
        Arc::new(clock.clone()),
        CheckoutConfig::default(),
    );
    Harness {
        carts: Carts::new(scratch.db.clone(), catalog),
        checkouts,
        clock,
        gateway_url,
        http: reqwest::Client::new(),
        scratch,
    }
}

impl Harness {
    async fn cart(&self, lines: &[(&str, i64)]) -> CartId {
        let cart = self.carts.create(self.clock.now()).await.unwrap();
        for (sku, q) in lines {
            self.carts
                .add(
                    &cart,
                    &Sku::parse(sku).unwrap(),
                    Quantity::new(*q).unwrap(),
                    None,
                    self.clock.now(),
                )
                .await
                .unwrap();
        }
        cart
    }

    fn request(&self, cart: &CartId, card: &str) -> CheckoutRequest {
        CheckoutRequest {
            cart: cart.clone(),
            email: Email::parse("ana@example.com").unwrap(),
            address: shop::testing::us_address(),
            card: CardNumber::parse(card).unwrap(),
            expected_total: None,
            user: None,
            shipping: Vec::new(),
        }
    }

    async fn faults(&self, faults: Value) {
        self.http
            .post(format!("{}/v1/faults", self.gateway_url))
            .json(&faults)
            .send()
            .await
            .unwrap();
    }

    async fn ledger(&self) -> Value {
        json_of(self.http.get(format!("{}/v1/ledger", self.gateway_url))).await
    }

    async fn scalar(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(self.scratch.db.pool())
            .await
            .unwrap()
    }

    /// Waits until the one checkout is paying and its charge request is at the gateway,
    /// unanswered (the money is moving); returns its id.
    async fn charge_in_flight(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let paying: Option<String> =
                sqlx::query_scalar("SELECT id FROM checkouts WHERE state = 'paying'")
                    .fetch_optional(self.scratch.db.pool())
                    .await
                    .unwrap();
            if let Some(id) = paying {
                let ledger = self.ledger().await;
                if ledger["in_flight"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|k| k == &id)
                {
                    return id;
                }
            }
            assert!(
                Instant::now() < deadline,
                "the checkout never had its charge in flight at the gateway"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn set_stock(&self, sku: &str, available: i64) {
        set_available(&self.scratch.db, sku, available).await;
    }

    /// Every invariant of the architecture, checked against the database and the ledger.
    async fn assert_invariants(&self) {
        assert_eq!(
            self.scalar(
                "SELECT COUNT(*) FROM stock_levels WHERE available < 0 OR held < 0 \
                 OR committed < 0 OR available + held + committed <> received"
            )
            .await,
            0,
            "no oversell, and stock is conserved"
        );
        let ledger = self.ledger().await;
        let refunds = ledger["refunds"].as_array().unwrap();
        let mut per_checkout = std::collections::HashMap::new();
        for charge in ledger["charges"].as_array().unwrap() {
            if charge["status"] != "succeeded" {
                continue;
            }
            let key = charge["idempotency_key"].as_str().unwrap().to_string();
            *per_checkout.entry(key.clone()).or_insert(0) += 1;
            let refunded = refunds.iter().any(|r| r["charge_id"] == charge["id"]);
            let orders: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE checkout_id = $1")
                    .bind(&key)
                    .fetch_one(self.scratch.db.pool())
                    .await
                    .unwrap();
            assert!(
                (orders == 1) != refunded,
                "charge {} must end as exactly one order or a refund (orders {orders}, refunded {refunded})",
                charge["id"]
            );
        }
        assert!(
            per_checkout.values().all(|n| *n == 1),
            "at most one capture per checkout"
        );
        let orders_without_charge = self
            .scalar("SELECT COUNT(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM checkouts c WHERE c.id = o.checkout_id AND c.charge_id = o.charge_id)")
            .await;
        assert_eq!(orders_without_charge, 0);
        assert_eq!(
            self.scalar(
                "SELECT COUNT(*) FROM reservations r JOIN checkouts c ON c.id = r.checkout_id \
                 WHERE r.status = 'held' AND c.state IN ('confirmed', 'failed')"
            )
            .await,
            0,
            "no finished checkout still holds stock"
        );
    }
}

fn key(k: &str) -> IdempotencyKey {
    IdempotencyKey::parse(k).unwrap()
}

fn answer(placed: &Placed) -> (u16, Value) {
    match placed {
        Placed::Answer { status, body, .. } => (*status, serde_json::from_str(body).unwrap()),
        other => panic!("expected a finished checkout, got {other:?}"),
    }
}

#[tokio::test]
async fn a_checkout_charges_once_commits_stock_and_writes_the_order() {
    let h = harness().await;
    h.set_stock("WANDS-13-QUEEN", 5).await;
    let cart = h.cart(&[("WANDS-13-QUEEN", 2)]).await;
    let placed = h
        .checkouts
        .place_order(&key("first-key-0001"), &h.request(&cart, GOOD_CARD))
        .await
        .unwrap();
    let (status, body) = answer(&placed);
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "confirmed");
    let order_id = body["order_id"].as_str().unwrap();

    assert_eq!(h.scalar("SELECT COUNT(*) FROM orders").await, 1);
    assert_eq!(
        h.scalar("SELECT CAST(SUM(committed) AS BIGINT) FROM stock_levels s JOIN variants v ON v.id = s.variant_id WHERE v.sku = 'WANDS-13-QUEEN'").await,
        2
    );
    assert!(
        h.carts.get(&cart).await.unwrap().is_empty(),
        "bought lines leave the cart"
    );
    let event: String =
        sqlx::query_scalar("SELECT payload FROM outbox WHERE topic = 'order_confirmed'")
            .fetch_one(h.scratch.db.pool())
            .await
            .unwrap();
    assert!(event.contains(order_id));
    let ledger = h.ledger().await;
    assert_eq!(ledger["charges"].as_array().unwrap().len(), 1);
    assert_eq!(ledger["charges"][0]["amount"], body["total"]["amount"]);
    h.assert_invariants().await;
}

#[tokio::test]
async fn the_same_key_replays_the_first_answer_and_a_different_request_is_refused() {
    let h = harness().await;
    let cart = h.cart(&[("WANDS-13-TWIN", 1)]).await;
    let request = h.request(&cart, GOOD_CARD);
    let first = h
        .checkouts
        .place_order(&key("replay-key-001"), &request)
        .await
        .unwrap();
    let again = h
        .checkouts
        .place_order(&key("replay-key-001"), &request)
        .await
        .unwrap();
    assert_eq!(first, again, "byte for byte");

    let mut other = request.clone();
    other.email = Email::parse("someone-else@example.com").unwrap();
    let err = h
        .checkouts
        .place_order(&key("replay-key-001"), &other)
        .await
        .unwrap_err();
    assert!(matches!(err, CheckoutError::KeyReused));
    assert_eq!(h.ledger().await["charges"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn five_identical_requests_at_once_make_one_order_and_one_charge() {
    let h = harness().await;
    h.faults(json!({ "latency_ms": 150 })).await;
    let cart = h.cart(&[("WANDS-13-TWIN", 1)]).await;
    let request = h.request(&cart, GOOD_CARD);
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let checkouts = h.checkouts.clone();
            let request = request.clone();
            tokio::spawn(async move {
                checkouts
                    .place_order(&key("double-click-1"), &request)
                    .await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        match t.await.unwrap().unwrap() {
            Placed::Answer { status, body, .. } => answers.push((status, body)),
            Placed::InFlight { .. } => {}
            Placed::Pending { .. } => panic!("nothing is unknown here"),
        }
    }
    assert!(!answers.is_empty());
    assert!(
        answers.windows(2).all(|w| w[0] == w[1]),
        "every answer is the same answer"
    );
    assert_eq!(h.scalar("SELECT COUNT(*) FROM orders").await, 1);
    assert_eq!(h.ledger().await["charges"].as_array().unwrap().len(), 1);
    // Once it is over, a late duplicate gets that same answer too.
    let late = h
        .checkouts
        .place_order(&key("double-click-1"), &request)
        .await
        .unwrap();
    assert_eq!(answer(&late).0, answers[0].0);
    h.assert_invariants().await;
}

#[tokio::test]
async fn two_hundred_buyers_for_ten_units_make_exactly_ten_orders() {
    let h = harness().await;
    h.set_stock("WANDS-13-KING", 10).await;
    let mut carts = Vec::new();
    for _ in 0..200 {
        carts.push(h.cart(&[("WANDS-13-KING", 1)]).await);
    }
    // The carts were filled while there was stock for each; now 200 buyers race for 10.
    let tasks: Vec<_> = carts
        .iter()
        .enumerate()
        .map(|(i, cart)| {
            let checkouts = h.checkouts.clone();
            let request = h.request(cart, GOOD_CARD);
            tokio::spawn(async move {
                checkouts
                    .place_order(&key(&format!("buyer-key-{i:04}")), &request)
                    .await
            })
        })
        .collect();
    let (mut confirmed, mut sold_out) = (0, 0);
    for t in tasks {
        let (status, body) = answer(&t.await.unwrap().unwrap());
        match status {
            201 => confirmed += 1,
            409 => {
                assert_eq!(body["error"], "out_of_stock");
                assert_eq!(body["sku"], "WANDS-13-KING");
                sold_out += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!((confirmed, sold_out), (10, 190));
    assert_eq!(h.scalar("SELECT COUNT(*) FROM orders").await, 10);
    assert_eq!(
        h.scalar("SELECT CAST(SUM(available) AS BIGINT) FROM stock_levels s JOIN variants v ON v.id = s.variant_id WHERE v.sku = 'WANDS-13-KING'").await,
        0
    );
    assert_eq!(
        h.ledger().await["charges"].as_array().unwrap().len(),
        10,
        "the losers were never charged"
    );
    h.assert_invariants().await;
}

#[tokio::test]
async fn a_declined_card_releases_the_stock_and_the_cart_can_try_again() {
    let h = harness().await;
    h.set_stock("WANDS-13-TWIN", 1).await;
    let cart = h.cart(&[("WANDS-13-TWIN", 1)]).await;
    let (status, body) = answer(
        &h.checkouts
            .place_order(&key("declined-key-1"), &h.request(&cart, DECLINED_CARD))
            .await
            .unwrap(),
    );
    assert_eq!(status, 402);
    assert_eq!(body["error"], "card_declined");
    assert_eq!(
        h.carts.get(&cart).await.unwrap().lines.len(),
        1,
        "the cart is untouched"
    );
    assert_eq!(
        h.scalar("SELECT COUNT(*) FROM reservations WHERE status = 'held'")
            .await,
        0
    );

    let (status, _) = answer(
        &h.checkouts
            .place_order(&key("declined-key-2"), &h.request(&cart, GOOD_CARD))
            .await
            .unwrap(),
    );
    assert_eq!(status, 201, "the last unit was released and can be bought");
    h.assert_invariants().await;
}

#[tokio::test]
async fn a_charge_whose_answer_was_lost_is_found_by_its_key() {
    let h = harness().await;
    let cart = h.cart(&[("WANDS-13-TWIN", 1)]).await;
    // Charged, then 500 on every attempt: the shop looks the key up and confirms.
    h.faults(json!({ "error_after_rate": 1.0 })).await;
    let placed = h
        .checkouts
        .place_order(&key("lost-answer-01"), &h.request(&cart, GOOD_CARD))
        .await
        .unwrap();
    assert_eq!(answer(&placed).0, 201);
    h.faults(json!({})).await;
    assert_eq!(h.ledger().await["charges"].as_array().unwrap().len(), 1);
    h.assert_invariants().await;
}

#[tokio::test]
async fn a_gateway_that_fails_before_charging_costs_the_shopper_nothing() {
    let h = harness().await;
    let cart = h.cart(&[("WANDS-13-TWIN", 1)]).await;
    h.faults(json!({ "error_before_rate": 1.0 })).await;
    let (status, body) = answer(
        &h.checkouts
            .place_order(&key("no-charge-key1"), &h.request(&cart, GOOD_CARD))
            .await
            .unwrap(),
    );
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "payment_failed");
    assert!(h.ledger().await["charges"].as_array().unwrap().is_empty());
    assert_eq!(
        h.scalar("SELECT COUNT(*) FROM reservations WHERE status = 'held'")
            .await,
        0
    );
    h.assert_invariants().await;
}

#[tokio::test]
async fn a_gateway_that_cannot_be_reached_leaves_the_payment_pending_until_recovery() {
    let h = harness().await;
    let cart = h.cart(&[("WANDS-13-TWIN", 1)]).await;
    // The charge is made but never answered, and lookups hang too: the outcome is unknown.
    h.faults(json!({ "timeout_rate": 1.0, "latency_ms": 0 }))
        .await;
    let placed = h
        .checkouts
        .place_order(&key("unknown-key-01"), &h.request(&cart, GOOD_CARD))
        .await
        .unwrap();
    // Lookups are not faulted (GET), so the shop settles it at once; the ledger proves the
    // charge happened once.
    match placed {
        Placed::Answer { status, .. } => assert_eq!(status, 201),
        Placed::Pending { state, .. } => assert_eq!(state, CheckoutState::PaymentUnknown),
        other => panic!("{other:?}"),
    }
    h.faults(json!({})).await;
    h.clock.advance(120_000);
    h.checkouts.recover(100).await.unwrap();
    assert_eq!(h.scalar("SELECT COUNT(*) FROM orders").await, 1);
    assert_eq!(h.ledger().await["charges"].as_array().unwrap().len(), 1);
    h.assert_invariants().await;
}

#[tokio::test]
async fn a_changed_total_must_be_confirmed_and_nothing_is_held_meanwhile() {
    let h = harness().await;
    let cart = h.cart(&[("WANDS-13-TWIN", 1)]).await;
    let mut request = h.request(&cart, GOOD_CARD);
    request.expected_total = Some(1);
    let (status, body) = answer(
        &h.checkouts
            .place_order(&key("total-changed1"), &request)
            .await
            .unwrap(),
    );
    assert_eq!(status, 409);
    assert_eq!(body["error"], "total_changed");
    let total = body["total"]["amount"].as_i64().unwrap();
    assert_eq!(h.scalar("SELECT COUNT(*) FROM reservations").await, 0);
    request.expected_total = Some(total);
    let (status, _) = answer(
        &h.checkouts
            .place_order(&key("total-changed2"), &request)
            .await
            .unwrap(),
    );
    assert_eq!(status, 201);
}

#[tokio::test]
async fn an_empty_or_unknown_cart_is_refused() {
    let h = harness().await;
    let empty = h.cart(&[]).await;
    let (status, body) = answer(
        &h.checkouts
            .place_order(&key("empty-cart-001"), &h.request(&empty, GOOD_CARD))
            .await
            .unwrap(),
    );
    assert_eq!((status, body["error"].as_str()), (422, Some("cart_empty")));
    let stranger = CartId::parse("0123456789abcdef0123456789abcdef").unwrap();
    let err = h
        .checkouts
        .place_order(&key("no-cart-000001"), &h.request(&stranger, GOOD_CARD))
        .await
        .unwrap_err();
    assert!(matches!(err, CheckoutError::CartNotFound));
}

#[tokio::test]
async fn a_paid_checkout_that_lost_its_stock_is_refunded() {
    // A gateway slower than usual, but well within the shop's patience: the charge is in
    // flight for a second, time enough to pull the hold from under it.
    let h = harness_with_gateway_timeout(Duration::from_secs(5)).await;
    h.set_stock("WANDS-13-TWIN", 1).await;
    let cart = h.cart(&[("WANDS-13-TWIN", 1)]).await;
    h.faults(json!({ "latency_ms": 1000 })).await;
    let checkouts = h.checkouts.clone();
    let request = h.request(&cart, GOOD_CARD);
    let running = tokio::spawn(async move {
        checkouts
            .place_order(&key("lost-stock-001"), &request)
            .await
    });
    // While the payment is in flight, the hold disappears (an operator's mistake, say).
    let id = h.charge_in_flight().await;
    let mut tx = h.scratch.db.begin_write().await.unwrap();
    shop::inventory::holds::release(
        &mut tx,
        &id,
        shop::inventory::StockReason::Release,
        h.clock.now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let (status, body) = answer(&running.await.unwrap().unwrap());
    assert_eq!(status, 409);
    assert_eq!(body["refunded"], true);
    let ledger = h.ledger().await;
    assert_eq!(ledger["refunds"].as_array().unwrap().len(), 1);
    assert_eq!(h.scalar("SELECT COUNT(*) FROM orders").await, 0);
    h.assert_invariants().await;
}

#[tokio::test]
async fn an_abandoned_request_is_finished_by_recovery_and_its_holds_released() {
    let h = harness().await;
    h.set_stock("WANDS-13-TWIN", 3).await;
    let cart = h.cart(&[("WANDS-13-TWIN", 2)]).await;
    // A slow gateway, and the request dies mid-payment (its task is dropped, its connection
    // closed): the gateway never finishes the charge.
    h.faults(json!({ "latency_ms": 2000 })).await;
    let checkouts = h.checkouts.clone();
    let request = h.request(&cart, GOOD_CARD);
    let running = tokio::spawn(async move {
        checkouts
            .place_order(&key("abandoned-0001"), &request)
            .await
    });
    h.charge_in_flight().await;
    running.abort();
    let state: String = sqlx::query_scalar("SELECT state FROM checkouts")
        .fetch_one(h.scratch.db.pool())
        .await
        .unwrap();
    assert_eq!(state, "paying");

    // The sweeper leaves the holds alone while the money may be moving...
    h.clock.advance(16 * 60 * 1000);
    h.faults(json!({})).await;
    assert_eq!(h.checkouts.sweep(100).await.unwrap(), 0);
    assert_eq!(
        h.scalar("SELECT COUNT(*) FROM reservations WHERE status = 'held'")
            .await,
        1
    );
    // ...and recovery settles it: no charge at the gateway, so the attempt fails and lets go.
    let report = h.checkouts.recover(100).await.unwrap();
    assert_eq!(report.finished, 1);
    assert_eq!(
        h.scalar("SELECT COUNT(*) FROM reservations WHERE status = 'held'")
            .await,
        0
    );
    assert_eq!(h.carts.get(&cart).await.unwrap().lines[0].available, 3);
    h.assert_invariants().await;
}

#[tokio::test]
async fn expired_holds_of_checkouts_that_never_paid_are_swept() {
    let h = harness().await;
    h.set_stock("WANDS-13-TWIN", 2).await;
    let variant: i64 = sqlx::query_scalar("SELECT id FROM variants WHERE sku = 'WANDS-13-TWIN'")
        .fetch_one(h.scratch.db.pool())
        .await
        .unwrap();
    let mut tx = h.scratch.db.begin_write().await.unwrap();
    let now = h.clock.now();
    shop::inventory::holds::reserve(
        &mut tx,
        "co_orphan",
        &[(shop::catalog::VariantId::new(variant), 2)],
        now + 1000,
        now,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(h.checkouts.sweep(100).await.unwrap(), 0, "not expired yet");
    h.clock.advance(2000);
    assert_eq!(h.checkouts.sweep(100).await.unwrap(), 1);
    assert_eq!(
        h.scalar("SELECT COUNT(*) FROM reservations WHERE status = 'held'")
            .await,
        0
    );
    h.assert_invariants().await;
}

#[tokio::test]
async fn a_charge_that_surfaces_after_a_checkout_failed_is_refunded() {
    let h = harness().await;
    let cart = h.cart(&[("WANDS-13-TWIN", 1)]).await;
    h.faults(json!({ "error_before_rate": 1.0 })).await;
    let (status, body) = answer(
        &h.checkouts
            .place_order(&key("late-charge-01"), &h.request(&cart, GOOD_CARD))
            .await
            .unwrap(),
    );
    assert_eq!(status, 503);
    h.faults(json!({})).await;
    // The charge reaches the gateway after the shop gave up on it (a request stuck in a queue).
    let gateway = Gateway::new(GatewayConfig::new(&h.gateway_url));
    let id = body["checkout_id"].as_str().unwrap();
    let amount: i64 = sqlx::query_scalar("SELECT total_amount FROM checkouts")
        .fetch_one(h.scratch.db.pool())
        .await
        .unwrap();
    gateway
        .charge(
            id,
            shop::Money::new(amount, shop::Currency::USD),
            &CardNumber::parse(GOOD_CARD).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        h.checkouts.reconcile(100).await.unwrap(),
        0,
        "not before the settle window"
    );
    h.clock.advance(120_000);
    assert_eq!(h.checkouts.reconcile(100).await.unwrap(), 1);
    assert_eq!(h.checkouts.reconcile(100).await.unwrap(), 0, "once");
    h.assert_invariants().await;
}

#[tokio::test]
async fn mixed_carts_racing_in_batches_commit_whole_orders_only() {
    let h = harness().await;
    // Three SKUs with little stock; carts of one, two and three lines race for them. However
    // the writer batches them, each order holds all of its lines and stock adds up.
    for (sku, units) in [
        ("WANDS-13-TWIN", 7),
        ("WANDS-13-FULL", 5),
        ("WANDS-13-KING", 4),
    ] {
        h.set_stock(sku, units).await;
    }
    let shapes: [&[(&str, i64)]; 4] = [
        &[("WANDS-13-TWIN", 1)],
        &[("WANDS-13-FULL", 1), ("WANDS-13-TWIN", 1)],
        &[("WANDS-13-KING", 2)],
        &[
            ("WANDS-13-KING", 1),
            ("WANDS-13-FULL", 1),
            ("WANDS-13-TWIN", 1),
        ],
    ];
    let mut carts = Vec::new();
    for i in 0..40 {
        carts.push(h.cart(shapes[i % shapes.len()]).await);
    }
    let tasks: Vec<_> = carts
        .iter()
        .enumerate()
        .map(|(i, cart)| {
            let checkouts = h.checkouts.clone();
            let request = h.request(cart, GOOD_CARD);
            tokio::spawn(async move {
                checkouts
                    .place_order(&key(&format!("mixed-key-{i:04}")), &request)
                    .await
            })
        })
        .collect();
    let mut confirmed = 0;
    for t in tasks {
        let (status, body) = answer(&t.await.unwrap().unwrap());
        match status {
            201 => confirmed += 1,
            409 => assert_eq!(body["error"], "out_of_stock"),
            other => panic!("{other}: {body}"),
        }
    }
    assert!(confirmed > 0);
    for sku in ["WANDS-13-TWIN", "WANDS-13-FULL", "WANDS-13-KING"] {
        let sold: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM order_lines WHERE sku = $1",
        )
        .bind(sku)
        .fetch_one(h.scratch.db.pool())
        .await
        .unwrap();
        let committed: i64 = sqlx::query_scalar(
            "SELECT CAST(SUM(committed) AS BIGINT) FROM stock_levels s JOIN variants v ON v.id = s.variant_id WHERE v.sku = $1",
        )
        .bind(sku)
        .fetch_one(h.scratch.db.pool())
        .await
        .unwrap();
        assert_eq!(
            sold, committed,
            "{sku}: what orders say was sold is what stock committed"
        );
    }
    h.assert_invariants().await;
}

mod coupons {
    use super::*;
    use shop::coupons::{CouponCode, Coupons, Discount, NewCoupon};

    impl Harness {
        async fn coupon(
            &self,
            code: &str,
            discount: Discount,
            per_customer: Option<i64>,
            total: Option<i64>,
        ) {
            Coupons::new(self.scratch.db.clone(), Arc::new(self.clock.clone()))
                .create(&NewCoupon {
                    code: CouponCode::parse(code).unwrap(),
                    discount,
                    per_customer_limit: per_customer,
                    total_limit: total,
                    expires_at: Some(self.clock.now() + 3_600_000),
                })
                .await
                .unwrap();
        }

        async fn cart_with_coupon(&self, code: &str) -> CartId {
            let cart = self.cart(&[("WANDS-13-TWIN", 1)]).await;
            self.carts
                .set_coupon(
                    &cart,
                    Some(&CouponCode::parse(code).unwrap()),
                    self.clock.now(),
                )
                .await
                .unwrap();
            cart
        }
    }

    fn as_customer(mut request: CheckoutRequest, n: usize) -> CheckoutRequest {
        request.email = Email::parse(&format!("buyer{n}@example.com")).unwrap();
        request
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn fifty_simultaneous_checkouts_redeem_a_single_use_coupon_once() {
        let h = Arc::new(harness().await);
        h.set_stock("WANDS-13-TWIN", 100).await;
        h.coupon("ONCE", Discount::Percent(20), None, Some(1)).await;
        let mut carts = Vec::new();
        for _ in 0..50 {
            carts.push(h.cart_with_coupon("once").await);
        }
        let barrier = Arc::new(tokio::sync::Barrier::new(50));
        let tasks: Vec<_> = carts
            .into_iter()
            .enumerate()
            .map(|(n, cart)| {
                let (h, barrier) = (h.clone(), barrier.clone());
                tokio::spawn(async move {
                    let request = as_customer(h.request(&cart, GOOD_CARD), n);
                    barrier.wait().await;
                    let placed = h
                        .checkouts
                        .place_order(&key(&format!("coupon-race-{n:04}")), &request)
                        .await
                        .unwrap();
                    answer(&placed)
                })
            })
            .collect();
        let mut confirmed = 0;
        let mut used_up = 0;
        for task in tasks {
            let (status, body) = task.await.unwrap();
            match body["status"].as_str() {
                Some("confirmed") => confirmed += 1,
                _ if body["error"] == "coupon_used_up" => {
                    assert_eq!(status, 409);
                    used_up += 1;
                }
                _ => panic!("unexpected answer {status} {body}"),
            }
        }
        assert_eq!(
            (confirmed, used_up),
            (1, 49),
            "one redemption, 49 clear refusals"
        );
        assert_eq!(
            h.scalar("SELECT redeemed FROM coupons WHERE code = 'ONCE'")
                .await,
            1
        );
        assert_eq!(h.scalar("SELECT COUNT(*) FROM coupon_redemptions").await, 1);
        let (total, discount): (i64, i64) =
            sqlx::query_as("SELECT total_amount, discount_amount FROM orders")
                .fetch_one(h.scratch.db.pool())
                .await
                .unwrap();
        assert!(discount > 0);
        let ledger = h.ledger().await;
        let charges = ledger["charges"].as_array().unwrap();
        assert_eq!(charges.len(), 1, "the refused checkouts charged nothing");
        assert_eq!(
            charges[0]["amount"], total,
            "the discounted total is what was charged"
        );
        h.assert_invariants().await;
    }

    #[tokio::test]
    async fn a_failed_checkout_gives_its_coupon_back_and_a_customer_limit_holds() {
        let h = harness().await;
        h.set_stock("WANDS-13-TWIN", 10).await;
        h.coupon(
            "WELCOME",
            Discount::Amount(shop::Money::new(500, shop::Currency::USD)),
            Some(1),
            None,
        )
        .await;
        // Declined card: the checkout fails and the redemption is returned.
        let cart = h.cart_with_coupon("WELCOME").await;
        let placed = h
            .checkouts
            .place_order(&key("coupon-decline-1"), &h.request(&cart, DECLINED_CARD))
            .await
            .unwrap();
        assert_eq!(answer(&placed).0, 402);
        assert_eq!(
            h.scalar("SELECT redeemed FROM coupons WHERE code = 'WELCOME'")
                .await,
            0
        );
        assert_eq!(h.scalar("SELECT COUNT(*) FROM coupon_redemptions").await, 0);
        // So the same customer can use it once…
        let placed = h
            .checkouts
            .place_order(&key("coupon-use-0001"), &h.request(&cart, GOOD_CARD))
            .await
            .unwrap();
        let (status, body) = answer(&placed);
        assert_eq!(status, 201, "{body}");
        // …and not twice.
        let again = h.cart_with_coupon("WELCOME").await;
        let placed = h
            .checkouts
            .place_order(&key("coupon-use-0002"), &h.request(&again, GOOD_CARD))
            .await
            .unwrap();
        let (status, body) = answer(&placed);
        assert_eq!(
            (status, body["error"].as_str()),
            (409, Some("coupon_used_by_you"))
        );
        // Another customer still can.
        let placed = h
            .checkouts
            .place_order(
                &key("coupon-use-0003"),
                &as_customer(h.request(&again, GOOD_CARD), 7),
            )
            .await
            .unwrap();
        assert_eq!(answer(&placed).0, 201);
        assert_eq!(
            h.scalar("SELECT redeemed FROM coupons WHERE code = 'WELCOME'")
                .await,
            2
        );
        h.assert_invariants().await;
    }

    /// A harness with stock to sell and the once-per-customer coupon `ONCE-EACH`.
    async fn once_each_harness() -> Harness {
        let h = harness().await;
        h.set_stock("WANDS-13-TWIN", 10).await;
        h.coupon("ONCE-EACH", Discount::Percent(10), Some(1), None)
            .await;
        h
    }

    /// Places one order with the once-per-customer coupon `ONCE-EACH` as `email` (and as the
    /// account `user`, if any); the status and error code.
    async fn use_once_each(
        h: &Harness,
        n: usize,
        email: &str,
        user: Option<shop::accounts::UserId>,
    ) -> (u16, Option<String>) {
        let cart = h.cart_with_coupon("ONCE-EACH").await;
        let mut request = h.request(&cart, GOOD_CARD);
        request.email = Email::parse(email).unwrap();
        request.user = user;
        let placed = h
            .checkouts
            .place_order(&key(&format!("once-each-{n:04}")), &request)
            .await
            .unwrap();
        let (status, body) = answer(&placed);
        (status, body["error"].as_str().map(str::to_owned))
    }

    #[tokio::test]
    async fn a_guest_spelling_one_address_three_ways_gets_the_per_customer_limit_once() {
        let h = once_each_harness().await;
        let mut answers = Vec::new();
        for (n, email) in [
            "ana+1@example.com",
            "Ana@Example.com",
            "ANA+shop@example.com",
        ]
        .into_iter()
        .enumerate()
        {
            answers.push(use_once_each(&h, n, email, None).await);
        }
        let refused = (409, Some("coupon_used_by_you".to_owned()));
        assert_eq!(
            answers,
            [(201, None), refused.clone(), refused],
            "one mailbox, one use"
        );
        // Another mailbox is another customer.
        assert_eq!(use_once_each(&h, 3, "bea@example.com", None).await.0, 201);
    }

    #[tokio::test]
    async fn a_signed_in_shopper_typing_other_addresses_gets_the_per_customer_limit_once() {
        let h = once_each_harness().await;
        let account: i64 = sqlx::query_scalar(
            "INSERT INTO users (email, password_hash, role, created_at, updated_at) \
             VALUES ('ana@example.com', 'not a hash', 'shopper', 0, 0) RETURNING id",
        )
        .fetch_one(h.scratch.db.pool())
        .await
        .unwrap();
        let ana = Some(shop::accounts::UserId::new(account));
        let first = use_once_each(&h, 0, "ana@example.com", ana).await;
        assert_eq!(first, (201, None));
        let again = use_once_each(&h, 1, "someone.else@example.org", ana).await;
        assert_eq!(
            again,
            (409, Some("coupon_used_by_you".to_owned())),
            "the account is the customer, whatever address it types"
        );
    }

    #[tokio::test]
    async fn unknown_and_expired_coupons_stop_the_checkout_before_any_charge() {
        let h = harness().await;
        h.set_stock("WANDS-13-TWIN", 10).await;
        let cart = h.cart_with_coupon("NOSUCH").await;
        let placed = h
            .checkouts
            .place_order(&key("coupon-unknown-1"), &h.request(&cart, GOOD_CARD))
            .await
            .unwrap();
        let (status, body) = answer(&placed);
        assert_eq!(
            (status, body["error"].as_str()),
            (409, Some("coupon_unknown"))
        );
        h.coupon("SOON", Discount::Percent(10), None, None).await;
        h.clock.advance(3_600_001);
        let cart = h.cart_with_coupon("SOON").await;
        let placed = h
            .checkouts
            .place_order(&key("coupon-expired-1"), &h.request(&cart, GOOD_CARD))
            .await
            .unwrap();
        assert_eq!(answer(&placed).1["error"], "coupon_expired");
        assert_eq!(h.ledger().await["charges"].as_array().unwrap().len(), 0);
    }
}
