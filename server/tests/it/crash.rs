//! Crash recovery with real processes: the shop is killed (SIGKILL) at each recovery point of
//! the checkout saga, restarted, and must then settle every attempt so that each charge in the
//! gateway's ledger has exactly one order or a refund, and no stock stays held.

use crate::common::json_of;
use serde_json::{Value, json};
use shop::db::scratch::ScratchDb;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn server(args: &[&str], env: &[(&str, String)]) -> Proc {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_server"));
    cmd.args(args)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    Proc(cmd.spawn().expect("the server starts"))
}

async fn wait_for(url: &str) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if client
            .get(url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} did not come up");
}

struct Rig {
    scratch: ScratchDb,
    gateway_url: String,
    _dir: tempfile::TempDir,
}

async fn rig() -> Rig {
    let scratch = shop::testing::demo_shop().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let gateway_url = crate::common::spawn_gateway();
    wait_for(&format!("{gateway_url}/healthz")).await;
    Rig {
        scratch,
        gateway_url,
        _dir: dir,
    }
}

impl Rig {
    /// A shop process on this rig's database and gateway, with short timings so that recovery
    /// and the sweeper act within the test.
    async fn shop(&self, crash_after: Option<&str>) -> (Proc, String) {
        self.shop_with(crash_after, &[]).await
    }

    /// `shop`, with some settings (environment variables) changed.
    async fn shop_with(
        &self,
        crash_after: Option<&str>,
        changed: &[(&str, String)],
    ) -> (Proc, String) {
        let port = free_port();
        let mut env = vec![
            ("EMPORIUM_ADDR", format!("127.0.0.1:{port}")),
            ("EMPORIUM_DATABASE_URL", self.scratch.url.clone()),
            ("EMPORIUM_DEMO_CATALOG", "false".into()),
            ("EMPORIUM_DATA_DIR", self._dir.path().display().to_string()),
            ("EMPORIUM_SEARCH_INDEX", "ram".into()),
            ("EMPORIUM_GATEWAY_URL", self.gateway_url.clone()),
            ("EMPORIUM_CHECKOUT_LEASE_SECS", "1".into()),
            ("EMPORIUM_RECOVERY_INTERVAL_SECS", "1".into()),
            ("EMPORIUM_SWEEP_INTERVAL_SECS", "1".into()),
            ("EMPORIUM_RESERVATION_TTL_SECS", "2".into()),
        ];
        if let Some(point) = crash_after {
            env.push(("EMPORIUM_TEST_CRASH_AFTER", point.into()));
        }
        // Set later, so they win.
        env.extend(changed.iter().cloned());
        let proc = server(&[], &env);
        let base = format!("http://127.0.0.1:{port}");
        wait_for(&format!("{base}/readyz")).await;
        (proc, base)
    }

    async fn ledger(&self) -> Value {
        reqwest::get(format!("{}/v1/ledger", self.gateway_url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Sets the gateway's faults (`{}` heals it).
    async fn faults(&self, faults: Value) {
        reqwest::Client::new()
            .post(format!("{}/v1/faults", self.gateway_url))
            .json(&faults)
            .send()
            .await
            .unwrap();
    }

    async fn scalar(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(self.scratch.db.pool())
            .await
            .unwrap()
    }

    async fn state_of(&self, id: &str) -> String {
        sqlx::query_scalar("SELECT state FROM checkouts WHERE id = $1")
            .bind(id)
            .fetch_one(self.scratch.db.pool())
            .await
            .unwrap()
    }

    /// Waits until an attempt whose idempotency key passes `wanted` is paying and its charge
    /// request is at the gateway, unanswered: the money is moving. Returns its id and key.
    async fn charge_in_flight(&self, wanted: impl Fn(&str) -> bool) -> (String, String) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let paying: Vec<(String, String)> = sqlx::query_as(
                "SELECT id, idempotency_key FROM checkouts WHERE state = 'paying' ORDER BY id",
            )
            .fetch_all(self.scratch.db.pool())
            .await
            .unwrap();
            if paying.iter().any(|(_, key)| wanted(key)) {
                let in_flight = self.ledger().await["in_flight"].clone();
                let in_flight = in_flight.as_array().unwrap();
                if let Some(found) = paying
                    .into_iter()
                    .find(|(id, key)| wanted(key) && in_flight.iter().any(|k| k == id))
                {
                    return found;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no attempt ever had its charge in flight at the gateway"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until the shop has settled everything a crash left: no attempt unfinished, no
    /// stock held, and every charge made either an order or refunded (charges that surfaced
    /// after their attempt failed are refunded by the next reconcile pass).
    async fn settled(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let open = self
                .scalar("SELECT COUNT(*) FROM checkouts WHERE state NOT IN ('confirmed', 'failed')")
                .await;
            let held = self
                .scalar("SELECT COUNT(*) FROM reservations WHERE status = 'held'")
                .await;
            let ledger = self.ledger().await;
            let refunded: Vec<&Value> = ledger["refunds"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| &r["charge_id"])
                .collect();
            let mut unsettled = 0;
            for charge in ledger["charges"].as_array().unwrap() {
                if charge["status"] == "succeeded" && !refunded.contains(&&charge["id"]) {
                    let orders: i64 =
                        sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE checkout_id = $1")
                            .bind(charge["idempotency_key"].as_str().unwrap())
                            .fetch_one(self.scratch.db.pool())
                            .await
                            .unwrap();
                    unsettled += usize::from(orders == 0);
                }
            }
            if (open, held, unsettled) == (0, 0, 0) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "never settled: {open} attempts unfinished, {held} holds, \
                 {unsettled} charges with neither order nor refund"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn assert_invariants(&self) {
        assert_eq!(
            self.scalar("SELECT COUNT(*) FROM stock_levels WHERE available < 0 OR held < 0 OR available + held + committed <> received").await,
            0
        );
        let ledger = self.ledger().await;
        for charge in ledger["charges"].as_array().unwrap() {
            if charge["status"] != "succeeded" {
                continue;
            }
            let key = charge["idempotency_key"].as_str().unwrap();
            let orders: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE checkout_id = $1")
                    .bind(key)
                    .fetch_one(self.scratch.db.pool())
                    .await
                    .unwrap();
            let refunded = ledger["refunds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["charge_id"] == charge["id"]);
            assert!(
                (orders == 1) != refunded,
                "charge {key}: orders {orders}, refunded {refunded}"
            );
        }
        assert_eq!(
            self.scalar("SELECT COUNT(*) FROM reservations WHERE status = 'held'")
                .await,
            0,
            "no leaked holds"
        );
    }
}

fn checkout_body(cart: &str) -> Value {
    json!({
        "cart_id": cart,
        "email": "crash@example.com",
        "shipping_address": { "name": "Ana", "line1": "1 Main St", "city": "Springfield", "region": "IL", "postal_code": "62701", "country": "US" },
        "payment": { "card_number": "4242424242424242" },
    })
}

/// Builds a cart through the API of the shop at `base`.
async fn cart(base: &str) -> String {
    let client = reqwest::Client::new();
    let created = json_of(client.post(format!("{base}/api/v1/carts"))).await;
    let cart = created["cart_id"].as_str().unwrap().to_string();
    let r = client
        .put(format!("{base}/api/v1/carts/{cart}/lines/WANDS-13-TWIN"))
        .json(&json!({ "quantity": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    cart
}

/// Kills the shop at `point`, restarts it, and checks what recovery made of the attempt.
async fn crash_at(point: &str, expect_order: bool) {
    let rig = rig().await;
    let (mut doomed, base) = rig.shop(Some(point)).await;
    let cart = cart(&base).await;
    let key = format!("crash-at-{point}");
    let client = reqwest::Client::new();
    let lost = client
        .post(format!("{base}/api/v1/checkouts"))
        .header("Idempotency-Key", &key)
        .json(&checkout_body(&cart))
        .send()
        .await;
    assert!(lost.is_err(), "the shop died before answering");
    let status = doomed.0.wait().unwrap();
    assert!(!status.success(), "killed, not exited");

    // Restart; recovery takes the attempt over once its lease has run out.
    let (_shop, base) = rig.shop(None).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let state: String = sqlx::query_scalar("SELECT state FROM checkouts")
            .fetch_one(rig.scratch.db.pool())
            .await
            .unwrap();
        if state == "confirmed" || state == "failed" {
            assert_eq!(state == "confirmed", expect_order, "crash after {point}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "crash after {point}: stuck in {state}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The same request again gets the attempt's one outcome.
    let replay = client
        .post(format!("{base}/api/v1/checkouts"))
        .header("Idempotency-Key", &key)
        .json(&checkout_body(&cart))
        .send()
        .await
        .unwrap();
    assert_eq!(
        replay.status().as_u16() == 201,
        expect_order,
        "crash after {point}"
    );
    // Once nothing is held any more (a failed attempt lets go of its stock), the money and
    // the stock must add up.
    rig.settled().await;
    rig.assert_invariants().await;
    let charges = rig.ledger().await["charges"].as_array().unwrap().len();
    assert_eq!(
        charges,
        usize::from(expect_order),
        "crash after {point}: charges"
    );
}

#[tokio::test]
async fn a_crash_after_claiming_the_key_ends_in_a_clean_failure() {
    crash_at("claimed", false).await;
}

#[tokio::test]
async fn a_crash_after_reserving_releases_the_stock() {
    crash_at("reserved", false).await;
}

#[tokio::test]
async fn a_crash_before_the_charge_is_sent_charges_nothing() {
    crash_at("paying", false).await;
}

#[tokio::test]
async fn a_crash_after_the_charge_still_makes_the_order() {
    crash_at("paid", true).await;
}

#[tokio::test]
async fn a_crash_after_confirming_keeps_the_order() {
    crash_at("confirmed", true).await;
}

#[tokio::test]
async fn a_shop_killed_mid_payment_settles_after_restart() {
    let rig = rig().await;
    rig.faults(json!({ "latency_ms": 1500 })).await;
    let (mut shop, base) = rig.shop(None).await;
    let cart = cart(&base).await;
    let request = tokio::spawn({
        let base = base.clone();
        async move {
            reqwest::Client::new()
                .post(format!("{base}/api/v1/checkouts"))
                .header("Idempotency-Key", "killed-mid-payment")
                .json(&checkout_body(&cart))
                .send()
                .await
        }
    });
    let (id, _) = rig
        .charge_in_flight(|key| key == "killed-mid-payment")
        .await;
    shop.0.kill().unwrap(); // SIGKILL while the charge is in flight
    shop.0.wait().unwrap();
    assert_eq!(
        rig.state_of(&id).await,
        "paying",
        "the shop died before it heard how the charge went"
    );
    assert!(request.await.unwrap().is_err());
    rig.faults(json!({})).await;

    let (_shop, _) = rig.shop(None).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let state: String = sqlx::query_scalar("SELECT state FROM checkouts")
            .fetch_one(rig.scratch.db.pool())
            .await
            .unwrap();
        if state == "confirmed" || state == "failed" {
            break;
        }
        assert!(Instant::now() < deadline, "stuck in {state}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    rig.settled().await;
    rig.assert_invariants().await;
}

/// How one buyer's attempts to buy a unit ended.
#[derive(Clone, Debug, PartialEq)]
enum Buyer {
    Bought,
    /// Told the unit was gone: the cart refused the line, or the checkout found none left.
    SoldOut,
    /// Anything else (a bug, or more failures than a shopper would put up with).
    GaveUp(String),
}

/// The node buyer `buyer` checks out on, in try `try_`, before any node has died. The node
/// is in the idempotency key, so that the test can tell which node runs an attempt.
fn checkout_node(buyer: usize, try_: usize, nodes: usize) -> usize {
    (buyer + try_ + 2) % nodes
}

fn node_of(key: &str) -> usize {
    key.rsplit_once("-node-").unwrap().1.parse().unwrap()
}

/// One buyer, as a shopper's client behaves: a cart on one node, its line on the next, the
/// checkout on the third (no node keeps state of its own); a request a node does not answer
/// goes to the next node, a checkout with the same key, as a load balancer would. An answer
/// that says the checkout is still running (409 `in_flight`, 202) is asked again with the
/// same key; one that says nothing was bought and to try again (5xx, 410) starts over with a
/// new cart and key, after a pause that grows with each try.
async fn buyer(i: usize, bases: Vec<String>) -> Buyer {
    const TRIES: usize = 10;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut last = String::new();
    for try_ in 0..TRIES {
        let first = checkout_node(i, try_, bases.len());
        // The cart on the node after the checkout's, its line on the next: three nodes.
        let Some((status, created)) = first_answer(&bases, first + 1, |base| {
            client.post(format!("{base}/api/v1/carts"))
        })
        .await
        else {
            return Buyer::GaveUp("no node made a cart".into());
        };
        let Some(cart) = created["cart_id"].as_str().filter(|_| status == 201) else {
            return Buyer::GaveUp(format!("making a cart: {status} {created}"));
        };
        let cart = cart.to_owned();
        let Some((status, line)) = first_answer(&bases, first + 2, |base| {
            client
                .put(format!("{base}/api/v1/carts/{cart}/lines/WANDS-13-TWIN"))
                .json(&json!({ "quantity": 1 }))
        })
        .await
        else {
            return Buyer::GaveUp("no node took the cart's line".into());
        };
        match (status, line["error"].as_str()) {
            (200, _) => {}
            (409, Some("insufficient_stock")) => return Buyer::SoldOut,
            _ => return Buyer::GaveUp(format!("adding the line: {status} {line}")),
        }
        let key = format!("cluster-buyer-{i}-try-{try_}-node-{first}");
        loop {
            let Some((status, answer)) = first_answer(&bases, first, |base| {
                client
                    .post(format!("{base}/api/v1/checkouts"))
                    .header("Idempotency-Key", &key)
                    .json(&checkout_body(&cart))
            })
            .await
            else {
                return Buyer::GaveUp(format!("no node answered checkout {key}"));
            };
            match (status, answer["error"].as_str()) {
                (201, _) => return Buyer::Bought,
                (409, Some("out_of_stock")) => return Buyer::SoldOut,
                // Still running (here or on a node that died, until recovery takes it over).
                (202, _) | (409, Some("in_flight")) => {
                    assert!(
                        Instant::now() < deadline,
                        "buyer {i}: checkout {key} never ended: {answer}"
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                // Nothing bought ("try again shortly"): a new cart and key, a little later.
                (410 | 500..=599, _) => {
                    last = format!("{status} {answer}");
                    let pause = 500 * u64::try_from(try_ + 1).unwrap();
                    tokio::time::sleep(Duration::from_millis(pause.min(3000))).await;
                    break;
                }
                _ => return Buyer::GaveUp(format!("checkout {key}: {status} {answer}")),
            }
        }
    }
    Buyer::GaveUp(format!("{TRIES} tries, the last: {last}"))
}

/// Sends `request` to the nodes in turn, from `from` on, until one answers; its status and
/// JSON body.
async fn first_answer(
    bases: &[String],
    from: usize,
    request: impl Fn(&str) -> reqwest::RequestBuilder,
) -> Option<(u16, Value)> {
    for hop in 0..bases.len() {
        let base = &bases[(from + hop) % bases.len()];
        let Ok(response) = request(base).send().await else {
            continue;
        };
        let status = response.status().as_u16();
        // A node killed mid-answer counts as no answer.
        let Ok(body) = response.json::<Value>().await else {
            continue;
        };
        return Some((status, body));
    }
    None
}

/// Several nodes on one database: 3 shop processes, 24 buyers for the last 5 units of one SKU
/// (see `buyer`), and the node with a charge in flight is killed with SIGKILL in the middle of
/// the sale. Afterwards: every unit sold exactly once, every charge has exactly one order or
/// a refund, no hold is left, and every attempt — the dead node's too — has ended.
#[tokio::test]
async fn three_nodes_sell_the_last_units_once_while_one_is_killed() {
    const BUYERS: usize = 24;
    const UNITS: i64 = 5;
    let rig = rig().await;
    let mut stock = server(
        &["stock", "WANDS-13-TWIN", &UNITS.to_string()],
        &[("EMPORIUM_DATABASE_URL", rig.scratch.url.clone())],
    );
    assert!(stock.0.wait().unwrap().success());
    // A slow gateway keeps charges in flight when the node dies.
    rig.faults(json!({ "latency_ms": 300 })).await;
    let settings = [
        // The lease outlasts a gateway call with its retries (three tries of 3 s, and their
        // backoff), as it must: a shorter one lets recovery on another node take over an
        // attempt whose request is still waiting for the gateway, and fail it while its
        // charge is in flight.
        ("EMPORIUM_CHECKOUT_LEASE_SECS", "10".to_owned()),
        // The buyers are 24 shoppers, all on one address here.
        ("EMPORIUM_RATE_LIMITS", "false".to_owned()),
    ];
    let mut nodes = Vec::new();
    for _ in 0..3 {
        nodes.push(rig.shop_with(None, &settings).await);
    }
    let bases: Vec<String> = nodes.iter().map(|(_, b)| b.clone()).collect();
    let buyers: Vec<_> = (0..BUYERS)
        .map(|i| tokio::spawn(buyer(i, bases.clone())))
        .collect();

    // Mid-sale, a node dies without a word while one of its charges is in flight.
    let (attempt, key) = rig.charge_in_flight(|_| true).await;
    let (mut doomed, _) = nodes.remove(node_of(&key));
    doomed.0.kill().unwrap();
    doomed.0.wait().unwrap();

    let mut outcomes = Vec::new();
    for buyer in buyers {
        outcomes.push(buyer.await.unwrap());
    }
    let states: Vec<String> = sqlx::query_scalar(
        "SELECT state || ': ' || CAST(COUNT(*) AS TEXT) FROM checkouts GROUP BY state",
    )
    .fetch_all(rig.scratch.db.pool())
    .await
    .unwrap();
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Buyer::Bought | Buyer::SoldOut)),
        "every buyer bought or was told it was sold out: {outcomes:?}, attempts {states:?}"
    );
    let bought = outcomes.iter().filter(|o| **o == Buyer::Bought).count();
    assert_eq!(
        bought, UNITS as usize,
        "every unit sold, once: {outcomes:?}, attempts {states:?}"
    );
    rig.faults(json!({})).await;

    // The dead node's attempts are taken over by the live nodes' recovery.
    rig.settled().await;
    let ended = rig.state_of(&attempt).await;
    assert!(
        ended == "confirmed" || ended == "failed",
        "the attempt in flight on the dead node ended: {ended}"
    );
    let sold = rig
        .scalar(
            "SELECT CAST(COALESCE(SUM(l.quantity), 0) AS BIGINT) FROM order_lines l \
             JOIN orders o ON o.id = l.order_id WHERE l.sku = 'WANDS-13-TWIN'",
        )
        .await;
    assert_eq!(sold, UNITS, "the orders hold every unit, once");
    let committed = rig
        .scalar(
            "SELECT CAST(SUM(committed) AS BIGINT) FROM stock_levels \
             WHERE variant_id = (SELECT id FROM variants WHERE sku = 'WANDS-13-TWIN')",
        )
        .await;
    assert_eq!(committed, sold, "units committed are the units ordered");
    rig.assert_invariants().await;
}
