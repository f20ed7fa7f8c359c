//! Every invariant of the checkout (ARCHITECTURE.md, "Invariants") checked against the
//! shop's database and the gateway's ledger — a ledger the shop does not control — after a
//! run has settled. Each check is a count of the rows that break it, so zero is the only pass.

use anyhow::Context;
use serde_json::Value;
use shop::db::Db;
use std::collections::{HashMap, HashSet};

/// One line of the verdict.
#[derive(Debug)]
pub struct Check {
    pub name: String,
    /// What was found, in words ("0", "3 of 5", …).
    pub found: String,
    pub ok: bool,
}

impl Check {
    /// A check that passes when `broken` is zero.
    pub fn zero(name: impl Into<String>, broken: i64) -> Self {
        Self {
            name: name.into(),
            found: broken.to_string(),
            ok: broken == 0,
        }
    }

    pub fn holds(name: impl Into<String>, found: impl Into<String>, ok: bool) -> Self {
        Self {
            name: name.into(),
            found: found.into(),
            ok,
        }
    }
}

/// Counts a query's single number.
async fn count(db: &Db, sql: &str) -> anyhow::Result<i64> {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(db.pool())
        .await
        .with_context(|| format!("invariant query failed: {sql}"))
}

/// Conservation, checked against the audit trail (`shop::inventory::audit`).
pub async fn stock(db: &Db) -> anyhow::Result<Vec<Check>> {
    let audit = shop::inventory::audit::audit_trail(db)
        .await
        .context("the audit trail could not be read")?;
    Ok(vec![
        Check::zero(
            "conservation: stock rows that differ from the sum of their movements",
            audit.rows_off_trail,
        ),
        Check::zero(
            "conservation: movements that make or lose units \
             (Δavailable + Δheld + Δcommitted ≠ Δreceived)",
            audit.unbalanced_movements,
        ),
    ])
}

/// The checks, in the order ARCHITECTURE.md states them.
pub async fn check(db: &Db, http: &reqwest::Client, gateway: &str) -> anyhow::Result<Vec<Check>> {
    let mut checks = Vec::new();

    // No oversell.
    checks.push(Check::zero(
        "oversold: SKUs with more units in orders than ever received",
        count(
            db,
            "SELECT COUNT(*) FROM (SELECT l.variant_id FROM order_lines l \
             GROUP BY l.variant_id HAVING SUM(l.quantity) > \
             (SELECT COALESCE(SUM(s.received), 0) FROM stock_levels s \
              WHERE s.variant_id = l.variant_id)) o",
        )
        .await?,
    ));
    // Conservation.
    checks.extend(stock(db).await?);
    checks.push(Check::zero(
        "conservation: SKUs whose committed stock differs from their committed holds",
        count(
            db,
            "SELECT COUNT(*) FROM (SELECT s.variant_id, SUM(s.committed) AS c FROM stock_levels s \
             GROUP BY s.variant_id) s WHERE s.c <> (SELECT COALESCE(SUM(r.quantity), 0) \
             FROM reservations r WHERE r.variant_id = s.variant_id AND r.status = 'committed')",
        )
        .await?,
    ));
    checks.push(Check::zero(
        "conservation: SKUs whose committed holds differ from the units in orders",
        count(
            db,
            "SELECT COUNT(*) FROM (SELECT r.variant_id, SUM(r.quantity) AS q FROM reservations r \
             WHERE r.status = 'committed' GROUP BY r.variant_id) r \
             WHERE r.q <> (SELECT COALESCE(SUM(l.quantity), 0) FROM order_lines l \
                           WHERE l.variant_id = r.variant_id)",
        )
        .await?,
    ));

    // No leaked holds, no attempt left hanging.
    checks.push(Check::zero(
        "leaked holds: reservations still held",
        count(
            db,
            "SELECT COUNT(*) FROM reservations WHERE status = 'held'",
        )
        .await?,
    ));
    checks.push(Check::zero(
        "stuck checkouts: attempts that never ended",
        count(
            db,
            "SELECT COUNT(*) FROM checkouts WHERE state NOT IN ('confirmed', 'failed')",
        )
        .await?,
    ));

    // Idempotency: one key, one outcome; one cart, at most one order.
    checks.push(Check::zero(
        "idempotency: confirmed attempts without exactly one order",
        count(
            db,
            "SELECT COUNT(*) FROM checkouts c WHERE c.state = 'confirmed' AND \
             (SELECT COUNT(*) FROM orders o WHERE o.checkout_id = c.id) <> 1",
        )
        .await?,
    ));
    checks.push(Check::zero(
        "idempotency: carts bought twice",
        count(
            db,
            "SELECT COUNT(*) FROM (SELECT c.cart_id FROM orders o \
             JOIN checkouts c ON c.id = o.checkout_id GROUP BY c.cart_id HAVING COUNT(*) > 1) t",
        )
        .await?,
    ));
    checks.push(Check::zero(
        "coupons: redeemed more often than their limit",
        count(
            db,
            "SELECT COUNT(*) FROM coupons WHERE total_limit IS NOT NULL AND \
             (redeemed > total_limit OR (SELECT COUNT(*) FROM coupon_redemptions r \
                                        WHERE r.coupon_id = coupons.id) > total_limit)",
        )
        .await?,
    ));
    checks.push(Check::zero(
        "coupons: redemptions kept by attempts that failed",
        count(
            db,
            "SELECT COUNT(*) FROM coupon_redemptions r JOIN checkouts c ON c.id = r.checkout_id \
             WHERE c.state = 'failed'",
        )
        .await?,
    ));

    // Money, against the gateway's own ledger.
    let ledger: Value = http
        .get(format!("{gateway}/v1/ledger"))
        .send()
        .await
        .context("cannot read the gateway's ledger")?
        .error_for_status()?
        .json()
        .await?;
    let list = |name: &str| {
        ledger[name]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .to_vec()
    };
    let charges = list("charges");
    let refunds = list("refunds");
    let refunded: HashSet<&str> = refunds
        .iter()
        .filter_map(|r| r["charge_id"].as_str())
        .collect();
    // An order refunded or cancelled later (by the seller) keeps its charge and its refund.
    let orders: HashMap<String, (i64, bool)> = sqlx::query_as::<_, (String, i64, i64)>(
        "SELECT c.id, c.total_amount, \
         CAST(CASE WHEN o.status IN ('refunded', 'cancelled') THEN 1 ELSE 0 END AS BIGINT) \
         FROM orders o JOIN checkouts c ON c.id = o.checkout_id",
    )
    .fetch_all(db.pool())
    .await?
    .into_iter()
    .map(|(id, total, undone)| (id, (total, undone == 1)))
    .collect();
    let mut per_key: HashMap<&str, i64> = HashMap::new();
    let (mut captured, mut neither, mut both, mut wrong_amount) = (0, 0, 0, 0);
    for charge in charges.iter().filter(|c| c["status"] == "succeeded") {
        captured += 1;
        let key = charge["idempotency_key"].as_str().unwrap_or_default();
        *per_key.entry(key).or_default() += 1;
        let id = charge["id"].as_str().unwrap_or_default();
        let ordered = orders.get(key);
        match (ordered, refunded.contains(id)) {
            (None, false) => neither += 1,
            (Some((_, false)), true) => both += 1,
            _ => {}
        }
        if let Some((total, _)) = ordered
            && charge["amount"].as_i64() != Some(*total)
        {
            wrong_amount += 1;
        }
    }
    checks.push(Check::zero(
        "double charges: attempts captured more than once",
        per_key.values().filter(|n| **n > 1).count() as i64,
    ));
    checks.push(Check::zero(
        format!("captured payments ({captured}) with neither an order nor a refund"),
        neither,
    ));
    checks.push(Check::zero(
        "captured payments with both an order and a refund",
        both,
    ));
    checks.push(Check::zero(
        "orders whose total differs from the amount captured",
        wrong_amount,
    ));
    Ok(checks)
}
