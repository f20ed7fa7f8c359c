//! The invariants of docs/ARCHITECTURE.md, checked after quiescence against the database and
//! the simulated gateway's ledger. Each returns a sentence naming what broke.

use super::Stats;
use super::gateway::SimGateway;
use shop::db::Db;
use std::collections::BTreeMap;

/// Units received per stock row (variant, warehouse), as the run started.
pub async fn received(db: &Db) -> BTreeMap<(i64, i64), i64> {
    let rows: Vec<(i64, i64, i64)> =
        sqlx::query_as("SELECT variant_id, warehouse_id, received FROM stock_levels")
            .fetch_all(db.pool())
            .await
            .expect("stock rows");
    rows.into_iter().map(|(v, w, r)| ((v, w), r)).collect()
}

/// An attempt's id, state, charge and failure code.
type Attempt = (String, String, Option<String>, Option<String>);

async fn scalar(db: &Db, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(db.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Every invariant; counts the attempts' outcomes into `stats`. `answers` holds, per buyer
/// key, every finished answer any send of it got.
pub async fn check(
    db: &Db,
    gateway: &SimGateway,
    initial: &BTreeMap<(i64, i64), i64>,
    stats: &mut Stats,
    answers: &[(String, Vec<(u16, String)>)],
) -> Vec<String> {
    let mut broken = Vec::new();

    // No oversell, and conservation: nothing negative, every unit in one bucket, and no row
    // received or lost units (the checkout never changes `received`).
    let rows: Vec<(i64, i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT variant_id, warehouse_id, available, held, committed, received \
         FROM stock_levels ORDER BY variant_id, warehouse_id",
    )
    .fetch_all(db.pool())
    .await
    .expect("stock rows");
    for (v, w, available, held, committed, received) in rows {
        if available < 0 || held < 0 || committed < 0 {
            broken.push(format!(
                "oversold: variant {v} warehouse {w} has available {available}, held {held}, \
                 committed {committed}"
            ));
        }
        if available + held + committed != received {
            broken.push(format!(
                "stock not conserved: variant {v} warehouse {w}: {available} + {held} + \
                 {committed} != {received}"
            ));
        }
        if initial.get(&(v, w)) != Some(&received) {
            broken.push(format!(
                "variant {v} warehouse {w} received {received}, started with {:?}",
                initial.get(&(v, w))
            ));
        }
        if held != 0 {
            broken.push(format!(
                "variant {v} warehouse {w} still has {held} units held"
            ));
        }
    }

    // No leaked holds, no unfinished attempt.
    let held = scalar(
        db,
        "SELECT COUNT(*) FROM reservations WHERE status = 'held'",
    )
    .await;
    if held != 0 {
        broken.push(format!("{held} reservations still held after quiescence"));
    }
    let unfinished: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, state FROM checkouts WHERE state NOT IN ('confirmed', 'failed') ORDER BY id",
    )
    .fetch_all(db.pool())
    .await
    .expect("checkouts");
    for (id, state) in unfinished {
        broken.push(format!("checkout {id} left unfinished in state {state}"));
    }

    // Units sold = units in orders, per variant.
    let committed: BTreeMap<i64, i64> = sqlx::query_as::<_, (i64, i64)>(
        "SELECT variant_id, CAST(SUM(committed) AS BIGINT) FROM stock_levels GROUP BY variant_id",
    )
    .fetch_all(db.pool())
    .await
    .expect("committed")
    .into_iter()
    .filter(|(_, n)| *n != 0)
    .collect();
    let ordered: BTreeMap<i64, i64> = sqlx::query_as::<_, (i64, i64)>(
        "SELECT variant_id, CAST(SUM(quantity) AS BIGINT) FROM order_lines GROUP BY variant_id",
    )
    .fetch_all(db.pool())
    .await
    .expect("order lines")
    .into_iter()
    .collect();
    if committed != ordered {
        broken.push(format!(
            "units committed {committed:?} != units in orders {ordered:?}"
        ));
    }

    // Attempts: each confirmed one has exactly one order with its charge; no failed one has.
    let attempts: Vec<Attempt> =
        sqlx::query_as("SELECT id, state, charge_id, failure_code FROM checkouts ORDER BY id")
            .fetch_all(db.pool())
            .await
            .expect("checkouts");
    let orders: BTreeMap<String, String> =
        sqlx::query_as::<_, (String, String)>("SELECT checkout_id, charge_id FROM orders")
            .fetch_all(db.pool())
            .await
            .expect("orders")
            .into_iter()
            .collect();
    for (id, state, charge, failure) in &attempts {
        match state.as_str() {
            "confirmed" => {
                stats.confirmed += 1;
                if orders.get(id) != charge.as_ref() || charge.is_none() {
                    broken.push(format!(
                        "confirmed checkout {id} (charge {charge:?}) has order charge {:?}",
                        orders.get(id)
                    ));
                }
            }
            _ => {
                *stats
                    .failed
                    .entry(failure.clone().unwrap_or_else(|| "?".into()))
                    .or_default() += 1;
                if orders.contains_key(id) {
                    broken.push(format!("{state} checkout {id} has an order"));
                }
            }
        }
    }
    for id in orders.keys() {
        if !attempts.iter().any(|a| &a.0 == id) {
            broken.push(format!("order for unknown checkout {id}"));
        }
    }

    // Money: at most one charge per attempt, and every captured charge ends as exactly one
    // order or a full refund.
    let charges = gateway.charges();
    let refunds = gateway.refunds();
    let mut per_key: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &charges {
        *per_key.entry(c.key.as_str()).or_default() += 1;
        if !attempts.iter().any(|a| a.0 == c.key) {
            broken.push(format!("charge {} for unknown checkout {}", c.id, c.key));
        }
        let refunded: i64 = refunds
            .iter()
            .filter(|r| r.charge_id == c.id)
            .map(|r| r.amount)
            .sum();
        if refunded != c.refunded || refunded > c.amount {
            broken.push(format!(
                "charge {} refunded {refunded} of {}",
                c.id, c.amount
            ));
        }
        if !c.succeeded() {
            continue;
        }
        let ordered = orders.get(&c.key) == Some(&c.id);
        let fully_refunded = refunded == c.amount;
        if ordered == fully_refunded {
            broken.push(format!(
                "charge {} of checkout {} (amount {}): order {ordered}, refunded {refunded}; \
                 must be exactly one of an order or a full refund",
                c.id, c.key, c.amount
            ));
        }
        if refunded != 0 && !fully_refunded {
            broken.push(format!("charge {} partly refunded", c.id));
        }
    }
    for (key, n) in per_key {
        if n > 1 {
            broken.push(format!("checkout {key} was charged {n} times"));
        }
    }
    // Every order is paid by a charge the gateway holds and kept.
    for (checkout, charge) in &orders {
        if !charges
            .iter()
            .any(|c| &c.id == charge && &c.key == checkout && c.succeeded() && c.refunded == 0)
        {
            broken.push(format!(
                "order of {checkout} is paid by {charge}, which the ledger does not hold as kept"
            ));
        }
    }

    // One key, one outcome: every finished answer a key got is the same bytes, and it agrees
    // with the attempt's final state.
    for (key, got) in answers {
        if let Some(first) = got.first()
            && got.iter().any(|a| a != first)
        {
            broken.push(format!(
                "key {key} got different answers: {:?}",
                got.iter().map(|(s, _)| s).collect::<Vec<_>>()
            ));
        }
        let owned: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM checkouts WHERE idempotency_key = $1")
                .bind(key)
                .fetch_one(db.pool())
                .await
                .expect("checkouts by key");
        if owned > 1 {
            broken.push(format!("key {key} has {owned} attempts"));
        }
        if let Some((status, _)) = got.first() {
            let state: Option<String> =
                sqlx::query_scalar("SELECT state FROM checkouts WHERE idempotency_key = $1")
                    .bind(key)
                    .fetch_optional(db.pool())
                    .await
                    .expect("checkout by key");
            let confirmed = state.as_deref() == Some("confirmed");
            if (*status == 201) != confirmed {
                broken.push(format!(
                    "key {key} answered {status} but its attempt is {state:?}"
                ));
            }
        }
    }
    broken
}
