//! The payment gateway simulator (`paysim`) and the shop's adapter for it, over real HTTP.

use crate::common::json_of;
use serde_json::{Value, json};
use shop::payments::{
    CardNumber, ChargeOutcome, Gateway, GatewayConfig, GatewayError, RefundOutcome,
};
use shop::resilience::{Backoff, BreakerState};
use shop::{Currency, Money};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

struct Sim {
    url: String,
    http: reqwest::Client,
}

async fn simulator() -> Sim {
    Sim {
        url: crate::common::spawn_gateway(),
        http: reqwest::Client::new(),
    }
}

impl Sim {
    fn client(&self) -> Gateway {
        Gateway::new(GatewayConfig {
            timeout: Duration::from_millis(500),
            attempts: 3,
            backoff: Backoff {
                base: Duration::from_millis(5),
                max: Duration::from_millis(20),
            },
            ..GatewayConfig::new(&self.url)
        })
    }

    async fn faults(&self, faults: Value) {
        let r = self
            .http
            .post(format!("{}/v1/faults", self.url))
            .json(&faults)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }

    async fn ledger(&self) -> Value {
        json_of(self.http.get(format!("{}/v1/ledger", self.url))).await
    }

    async fn raw_charge(&self, key: &str, amount: i64, card: &str) -> (u16, String) {
        let r = self
            .http
            .post(format!("{}/v1/charges", self.url))
            .header("Idempotency-Key", key)
            .json(&json!({ "amount": amount, "currency": "USD", "card_number": card }))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

fn usd(cents: i64) -> Money {
    Money::new(cents, Currency::USD)
}

fn card(n: &str) -> CardNumber {
    CardNumber::parse(n).unwrap()
}

#[tokio::test]
async fn a_key_is_one_charge_and_its_answer_replays_byte_for_byte() {
    let sim = simulator().await;
    let first = sim
        .raw_charge("key-00000001", 1999, "4242424242424242")
        .await;
    assert_eq!(first.0, 201);
    let again = sim
        .raw_charge("key-00000001", 1999, "4242424242424242")
        .await;
    assert_eq!(again, first);
    let different = sim
        .raw_charge("key-00000001", 2999, "4242424242424242")
        .await;
    assert_eq!(different.0, 409, "same key, different request");
    assert_eq!(sim.ledger().await["charges"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn test_cards_choose_the_outcome() {
    let sim = simulator().await;
    let gateway = sim.client();
    let ok = gateway
        .charge("key-ok-000001", usd(500), &card("4242424242424242"))
        .await
        .unwrap();
    assert!(matches!(ok, ChargeOutcome::Succeeded { .. }));
    for (number, code) in [
        ("4000000000000002", "card_declined"),
        ("4000000000009995", "insufficient_funds"),
        ("4000000000000069", "expired_card"),
    ] {
        let outcome = gateway
            .charge(&format!("key-{code}"), usd(500), &card(number))
            .await
            .unwrap();
        assert_eq!(outcome, ChargeOutcome::Declined { code: code.into() });
    }
    let (status, _) = sim.raw_charge("key-badcard1", 500, "1234").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn lost_answers_are_unknown_and_the_key_lookup_settles_them() {
    let sim = simulator().await;
    let gateway = sim.client();

    // Charged, then a 500 on every attempt: the shop cannot know, the ledger does.
    sim.faults(json!({ "error_after_rate": 1.0 })).await;
    let outcome = gateway
        .charge("key-after-0001", usd(700), &card("4242424242424242"))
        .await
        .unwrap();
    assert!(
        matches!(outcome, ChargeOutcome::Unknown { .. }),
        "{outcome:?}"
    );
    let found = gateway.lookup("key-after-0001").await.unwrap().unwrap();
    assert!(found.succeeded());
    assert_eq!(found.amount, 700);

    // Failed before charging: also unknown to the shop, and the lookup finds nothing.
    sim.faults(json!({ "error_before_rate": 1.0 })).await;
    let outcome = gateway
        .charge("key-before-001", usd(700), &card("4242424242424242"))
        .await
        .unwrap();
    assert!(matches!(outcome, ChargeOutcome::Unknown { .. }));
    sim.faults(json!({})).await;
    assert_eq!(gateway.lookup("key-before-001").await.unwrap(), None);

    // Charged and never answered: the client times out; retries with the same key replay
    // the one charge rather than making another.
    sim.faults(json!({ "timeout_rate": 1.0 })).await;
    let outcome = gateway
        .charge("key-hang-00001", usd(700), &card("4242424242424242"))
        .await
        .unwrap();
    assert!(matches!(outcome, ChargeOutcome::Unknown { .. }));
    sim.faults(json!({})).await;
    assert!(
        gateway
            .lookup("key-hang-00001")
            .await
            .unwrap()
            .unwrap()
            .succeeded()
    );
    let charges = sim.ledger().await["charges"].as_array().unwrap().len();
    assert_eq!(
        charges, 2,
        "one charge per key however often it was retried"
    );
}

#[tokio::test]
async fn refunds_are_idempotent_and_bounded() {
    let sim = simulator().await;
    let gateway = sim.client();
    let ChargeOutcome::Succeeded { charge_id } = gateway
        .charge("key-refund-01", usd(1000), &card("4242424242424242"))
        .await
        .unwrap()
    else {
        panic!("the charge succeeds");
    };
    let first = gateway
        .refund("refund-key-01", &charge_id, usd(1000))
        .await
        .unwrap();
    let again = gateway
        .refund("refund-key-01", &charge_id, usd(1000))
        .await
        .unwrap();
    assert_eq!(first, again);
    assert!(matches!(first, RefundOutcome::Refunded { .. }));
    let more = gateway.refund("refund-key-02", &charge_id, usd(1)).await;
    assert!(
        matches!(more, Err(GatewayError::Rejected { status: 400, .. })),
        "{more:?}"
    );
    let ledger = sim.ledger().await;
    assert_eq!(ledger["refunds"].as_array().unwrap().len(), 1);
    assert_eq!(ledger["charges"][0]["refunded_amount"], 1000);
}

/// A gateway's port that refuses connections (nothing listens) until `listen`; from then
/// on it accepts connections, counts them and never answers.
struct DeadPort {
    socket: tokio::net::TcpSocket,
    port: u16,
}

impl DeadPort {
    fn bind() -> Self {
        // Bound, so that no one else takes the port, but not listening: connections are refused.
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let port = socket.local_addr().unwrap().port();
        Self { socket, port }
    }

    /// Starts listening; the count is of the connections accepted since.
    fn listen(self) -> Arc<AtomicUsize> {
        let listener = self.socket.listen(16).unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((connection, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                held.push(connection);
            }
        });
        accepted
    }
}

#[tokio::test]
async fn a_dead_gateway_opens_the_breaker_and_nothing_is_sent() {
    let dead = DeadPort::bind();
    let gateway = Gateway::new(GatewayConfig {
        timeout: Duration::from_millis(200),
        attempts: 2,
        backoff: Backoff {
            base: Duration::from_millis(1),
            max: Duration::from_millis(2),
        },
        breaker_threshold: 3,
        breaker_cool_down: Duration::from_secs(30),
        ..GatewayConfig::new(format!("http://127.0.0.1:{}", dead.port))
    });
    let outcome = gateway
        .charge("key-dead-0001", usd(100), &card("4242424242424242"))
        .await
        .unwrap();
    assert!(
        matches!(outcome, ChargeOutcome::NotSent { .. }),
        "{outcome:?}"
    );
    gateway
        .charge("key-dead-0002", usd(100), &card("4242424242424242"))
        .await
        .unwrap();
    assert_eq!(gateway.breaker_state(), BreakerState::Open);

    // Something listens on the port now: a call that got past the breaker would reach it.
    let reached = dead.listen();
    let outcome = gateway
        .charge("key-dead-0003", usd(100), &card("4242424242424242"))
        .await
        .unwrap();
    assert_eq!(
        reached.load(Ordering::SeqCst),
        0,
        "no connection reaches the gateway while its breaker is open"
    );
    assert!(matches!(outcome, ChargeOutcome::NotSent { ref reason } if reason.contains("breaker")));
}

#[tokio::test]
async fn fault_plans_that_cannot_happen_are_refused_and_change_nothing() {
    let sim = simulator().await;
    sim.faults(json!({ "latency_ms": 5 })).await;
    for (faults, what) in [
        (
            json!({ "timeout_rate": 0.6, "error_after_rate": 0.6 }),
            "rates that add up to more than 1",
        ),
        (json!({ "error_before_rate": 1.5 }), "a rate above 1"),
        (
            json!({ "refused_rate": 0.1 }),
            "refusals, which a server that answers cannot make",
        ),
        (json!({ "latency_ms": 5, "hiccups": 1 }), "an unknown fault"),
    ] {
        let r = sim
            .http
            .post(format!("{}/v1/faults", sim.url))
            .json(&faults)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "refused: {what}");
    }
    let in_force = json_of(sim.http.get(format!("{}/v1/faults", sim.url))).await;
    assert_eq!(
        in_force["latency_ms"], 5,
        "the faults in force are unchanged"
    );
    assert_eq!(in_force["timeout_rate"], 0.0);
}
