//! Refunds after the sale, full or per line, and the inspection of what comes back.
//!
//! A refund is recorded (`pending`, its lines' `refunded_quantity` raised) before the gateway
//! is called, in one transaction; the gateway call is keyed by the refund's id, so retrying a
//! pending refund (the same form resubmitted, or the operator pressing "retry") can never
//! refund twice. Money that went back is final; the units stay `committed` until an inspection
//! marks them resellable (restocked: `committed` → `available`) or not (written off).

use super::{OrderError, OrderId, OrderStatus, RefundView, ReturnedItem};
use crate::accounts::UserId;
use crate::catalog::VariantId;
use crate::clock::{Clock, Millis};
use crate::db::{AnyConnection, Db};
use crate::failure::{Failure, FailureKind};
use crate::payments::{Gateway, RefundOutcome};
use crate::{Currency, Money};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;
use std::sync::Arc;

/// Which units to refund: every unit not yet refunded, or some of some lines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RefundScope {
    Full,
    /// (line position, quantity)
    Lines(Vec<(i64, i64)>),
}

#[derive(Debug, thiserror::Error)]
pub enum RefundError {
    #[error("{0}")]
    Invalid(String),
    #[error("no such order")]
    NotFound,
    #[error("the payment provider refused the refund: {0}")]
    Refused(String),
    #[error(transparent)]
    Order(#[from] OrderError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl Failure for RefundError {
    fn kind(&self) -> FailureKind {
        match self {
            RefundError::Invalid(_) => FailureKind::Invalid,
            RefundError::NotFound => FailureKind::NotFound,
            // The provider refusing a refund we asked for is a request of ours it found wrong.
            RefundError::Refused(_) => FailureKind::Internal,
            RefundError::Order(e) => e.kind(),
            RefundError::Db(e) => e.kind(),
        }
    }

    fn public_message(&self) -> String {
        match self {
            RefundError::Invalid(message) => message.clone(),
            RefundError::NotFound => "We couldn't find that order.".into(),
            RefundError::Refused(_) => self.kind().plain_message().into(),
            RefundError::Order(e) => e.public_message(),
            RefundError::Db(e) => e.public_message(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Refunds {
    db: Db,
    gateway: Gateway,
    clock: Arc<dyn Clock>,
}

fn new_refund_id() -> String {
    let bytes: [u8; 12] = rand::random();
    format!(
        "rf_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

struct Line {
    position: i64,
    quantity: i64,
    refunded: i64,
    unit_price: i64,
    /// The seller whose part the line is in (none on orders from before parts existed).
    seller: Option<i64>,
}

impl Refunds {
    pub fn new(db: Db, gateway: Gateway, clock: Arc<dyn Clock>) -> Self {
        Self { db, gateway, clock }
    }

    /// Refunds `scope` of the order, once per `request_key`. Returns the refund as it stands
    /// (`pending` if the gateway's answer is not known yet: call again with the same key).
    pub async fn refund(
        &self,
        order: &OrderId,
        scope: &RefundScope,
        request_key: &str,
        reason: &str,
        by: Option<UserId>,
    ) -> Result<RefundView, RefundError> {
        let reason: String = reason.trim().chars().take(500).collect();
        let (id, charge_id, amount) =
            match self.record(order, scope, request_key, &reason, by).await? {
                Recorded::Existing(view) if view.status != "pending" => return Ok(view),
                Recorded::Existing(view) => {
                    let charge = self.charge_of(order).await?;
                    (view.id, charge, view.amount)
                }
                Recorded::New {
                    id,
                    charge_id,
                    amount,
                } => (id, charge_id, amount),
            };
        match self.gateway.refund(&id, &charge_id, amount).await {
            Ok(RefundOutcome::Refunded { refund_id }) => {
                self.succeeded(order, &id, &refund_id).await?
            }
            Ok(RefundOutcome::Unknown { reason }) => {
                tracing::warn!(refund = %id, %reason, "refund outcome unknown; left pending");
            }
            Err(e) => {
                self.failed(&id, &e.to_string()).await?;
            }
        }
        self.view(&id).await
    }

    async fn charge_of(&self, order: &OrderId) -> Result<String, RefundError> {
        let charge: Option<String> =
            sqlx::query_scalar("SELECT charge_id FROM orders WHERE id = $1")
                .bind(order.as_str())
                .fetch_optional(self.db.pool())
                .await?;
        charge.ok_or(RefundError::NotFound)
    }

    async fn record(
        &self,
        order: &OrderId,
        scope: &RefundScope,
        request_key: &str,
        reason: &str,
        by: Option<UserId>,
    ) -> Result<Recorded, RefundError> {
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        let existing: Option<String> =
            sqlx::query_scalar("SELECT id FROM refunds WHERE order_id = $1 AND request_key = $2")
                .bind(order.as_str())
                .bind(request_key)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(id) = existing {
            tx.rollback().await?;
            return Ok(Recorded::Existing(self.view(&id).await?));
        }
        let head = sqlx::query(
            "SELECT total_amount, discount_amount, currency, charge_id, status, pricing FROM orders \
             WHERE id = $1",
        )
        .bind(order.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(RefundError::NotFound)?;
        let total: i64 = head.try_get("total_amount")?;
        let discount: i64 = head.try_get("discount_amount")?;
        let currency = Currency::parse(&head.try_get::<String, _>("currency")?)
            .map_err(|e| RefundError::Invalid(e.to_string()))?;
        let charge_id: String = head.try_get("charge_id")?;
        let lines: Vec<Line> = sqlx::query(
            "SELECT position, quantity, refunded_quantity, unit_price, seller_id FROM order_lines \
             WHERE order_id = $1 ORDER BY position",
        )
        .bind(order.as_str())
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| {
            Ok(Line {
                position: r.try_get("position")?,
                quantity: r.try_get("quantity")?,
                refunded: r.try_get("refunded_quantity")?,
                unit_price: r.try_get("unit_price")?,
                seller: r.try_get("seller_id")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
        let wanted: Vec<(i64, i64)> = match scope {
            RefundScope::Full => lines
                .iter()
                .filter(|l| l.quantity > l.refunded)
                .map(|l| (l.position, l.quantity - l.refunded))
                .collect(),
            RefundScope::Lines(chosen) => chosen.iter().copied().filter(|(_, q)| *q != 0).collect(),
        };
        if wanted.is_empty() {
            return Err(RefundError::Invalid(
                "nothing left to refund on this order".into(),
            ));
        }
        let subtotal: i64 = lines.iter().map(|l| l.unit_price * l.quantity).sum();
        let mut amount: i64 = 0;
        for (position, quantity) in &wanted {
            let line = lines
                .iter()
                .find(|l| l.position == *position)
                .ok_or_else(|| RefundError::Invalid(format!("the order has no line {position}")))?;
            if *quantity < 1 || *quantity > line.quantity - line.refunded {
                return Err(RefundError::Invalid(format!(
                    "line {position}: {} of {} can still be refunded",
                    line.quantity - line.refunded,
                    line.quantity
                )));
            }
            amount += line.unit_price * quantity;
        }
        // The order's breakdown, as confirmed: each line's share of the discount, its tax,
        // and its part's shipping and shipping tax go back in proportion (`pricing::refund`).
        let breakdown: Option<crate::pricing::Breakdown> = head
            .try_get::<Option<String>, _>("pricing")?
            .and_then(|json| serde_json::from_str(&json).ok());
        let priced: Option<Vec<crate::pricing::PricedLine>> = lines
            .iter()
            .map(|l| {
                Some(crate::pricing::PricedLine {
                    seller: l.seller?,
                    quantity: l.quantity,
                    amount: l.unit_price * l.quantity,
                    weight_grams: 0,
                })
            })
            .collect();
        if let (Some(breakdown), Some(priced)) = (&breakdown, &priced)
            && breakdown.lines.len() == priced.len()
        {
            let before: Vec<i64> = lines.iter().map(|l| l.refunded).collect();
            let now: Vec<i64> = lines
                .iter()
                .map(|l| {
                    wanted
                        .iter()
                        .filter(|(p, _)| *p == l.position)
                        .map(|(_, q)| q)
                        .sum()
                })
                .collect();
            amount = crate::pricing::refund(breakdown, priced, &before, &now)
                .map_err(|e| RefundError::Invalid(e.to_string()))?
                .total;
        } else if discount > 0 && subtotal > 0 {
            // An order from before shipping and tax: a coupon's discount is shared out over
            // the lines in proportion to their price.
            amount = i64::try_from(i128::from(amount) * i128::from(total) / i128::from(subtotal))
                .unwrap_or(0);
        }
        let already: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM refunds \
             WHERE order_id = $1 AND status <> 'failed'",
        )
        .bind(order.as_str())
        .fetch_one(&mut *tx)
        .await?;
        let full = matches!(scope, RefundScope::Full)
            || wanted.iter().map(|(_, q)| q).sum::<i64>()
                == lines.iter().map(|l| l.quantity - l.refunded).sum::<i64>();
        if full {
            // The last refund takes whatever rounding left over.
            amount = total - already;
        }
        amount = amount.min(total - already);
        if amount <= 0 {
            return Err(RefundError::Invalid(
                "nothing left to refund on this order".into(),
            ));
        }
        for (position, quantity) in &wanted {
            let moved = sqlx::query(
                "UPDATE order_lines SET refunded_quantity = refunded_quantity + $3 \
                 WHERE order_id = $1 AND position = $2 AND refunded_quantity + $3 <= quantity",
            )
            .bind(order.as_str())
            .bind(position)
            .bind(quantity)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if moved != 1 {
                return Err(RefundError::Invalid(format!(
                    "line {position} changed meanwhile"
                )));
            }
        }
        let id = new_refund_id();
        let lines_json = json!(
            wanted
                .iter()
                .map(|(p, q)| json!({ "position": p, "quantity": q }))
                .collect::<Vec<_>>()
        );
        sqlx::query(
            "INSERT INTO refunds (id, order_id, request_key, amount, currency, status, lines, \
             reason, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $9, $9)",
        )
        .bind(&id)
        .bind(order.as_str())
        .bind(request_key)
        .bind(amount)
        .bind(currency.code())
        .bind(lines_json.to_string())
        .bind(reason)
        .bind(by.map(UserId::get))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Recorded::New {
            id,
            charge_id,
            amount: Money::new(amount, currency),
        })
    }

    /// The money went back: the units wait for inspection, and a fully refunded order
    /// becomes `refunded`.
    async fn succeeded(
        &self,
        order: &OrderId,
        id: &str,
        gateway_id: &str,
    ) -> Result<(), RefundError> {
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        let moved = sqlx::query(
            "UPDATE refunds SET status = 'succeeded', gateway_refund_id = $2, updated_at = $3 \
             WHERE id = $1 AND status = 'pending'",
        )
        .bind(id)
        .bind(gateway_id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved == 1 {
            let lines: String = sqlx::query_scalar("SELECT lines FROM refunds WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            let lines: Vec<serde_json::Value> = serde_json::from_str(&lines).unwrap_or_default();
            for line in lines {
                let (Some(position), Some(quantity)) =
                    (line["position"].as_i64(), line["quantity"].as_i64())
                else {
                    continue;
                };
                sqlx::query(
                    "INSERT INTO returned_items (refund_id, order_id, variant_id, quantity, status, \
                     created_at) SELECT $1, $2, variant_id, $4, 'awaiting_inspection', $5 \
                     FROM order_lines WHERE order_id = $2 AND position = $3",
                )
                .bind(id)
                .bind(order.as_str())
                .bind(position)
                .bind(quantity)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            let left: i64 = sqlx::query_scalar(
                "SELECT CAST(COALESCE(SUM(quantity - refunded_quantity), 0) AS BIGINT) \
                 FROM order_lines WHERE order_id = $1",
            )
            .bind(order.as_str())
            .fetch_one(&mut *tx)
            .await?;
            if left == 0 {
                super::advance(&mut tx, order, OrderStatus::Refunded, now).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// The gateway refused: the lines can be refunded again.
    async fn failed(&self, id: &str, why: &str) -> Result<(), RefundError> {
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        let row: Option<(String, String)> = sqlx::query_as(
            "UPDATE refunds SET status = 'failed', failure = $2, updated_at = $3 \
             WHERE id = $1 AND status = 'pending' RETURNING order_id, lines",
        )
        .bind(id)
        .bind(why)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((order, lines)) = row {
            give_back(&mut tx, &order, &lines).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn view(&self, id: &str) -> Result<RefundView, RefundError> {
        let row: Option<RefundRow> = sqlx::query_as(
            "SELECT id, amount, currency, status, reason, failure, created_at FROM refunds WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?;
        let (id, amount, currency, status, reason, failure, created_at) =
            row.ok_or(RefundError::NotFound)?;
        Ok(RefundView {
            id,
            amount: Money::new(
                amount,
                Currency::parse(&currency).unwrap_or(Currency::shop()),
            ),
            status,
            reason,
            failure,
            created_at,
        })
    }

    /// Units refunded so far (pending included) of each of the order's lines, by position.
    pub async fn refunded_quantities(&self, order: &OrderId) -> Result<Vec<i64>, RefundError> {
        Ok(sqlx::query_scalar(
            "SELECT refunded_quantity FROM order_lines WHERE order_id = $1 ORDER BY position",
        )
        .bind(order.as_str())
        .fetch_all(self.db.pool())
        .await?)
    }

    /// An order's refunds, oldest first.
    pub async fn for_order(&self, order: &OrderId) -> Result<Vec<RefundView>, RefundError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM refunds WHERE order_id = $1 ORDER BY created_at, id",
        )
        .bind(order.as_str())
        .fetch_all(self.db.pool())
        .await?;
        let mut out = Vec::new();
        for id in ids {
            out.push(self.view(&id).await?);
        }
        Ok(out)
    }

    /// Returned units, those awaiting inspection first.
    pub async fn returned(&self, limit: i64) -> Result<Vec<ReturnedItem>, RefundError> {
        let rows = sqlx::query(
            "SELECT r.id, r.refund_id, r.order_id, v.sku, p.title, r.quantity, r.status \
             FROM returned_items r JOIN variants v ON v.id = r.variant_id \
             JOIN products p ON p.id = v.product_id \
             ORDER BY CASE WHEN r.status = 'awaiting_inspection' THEN 0 ELSE 1 END, r.created_at DESC \
             LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ReturnedItem {
                    id: r.try_get("id")?,
                    refund_id: r.try_get("refund_id")?,
                    order_id: r.try_get("order_id")?,
                    sku: r.try_get("sku")?,
                    title: r.try_get("title")?,
                    quantity: r.try_get("quantity")?,
                    status: r.try_get("status")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Records the inspection of a returned item: resellable units go back on sale (from the
    /// warehouses they were sold from), the rest are written off the order's books. Returns
    /// false if it was inspected already.
    pub async fn inspect(
        &self,
        item: i64,
        resellable: bool,
        by: Option<UserId>,
    ) -> Result<bool, RefundError> {
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        let status = if resellable {
            "restocked"
        } else {
            "written_off"
        };
        let row: Option<(String, i64, i64)> = sqlx::query_as(
            "UPDATE returned_items SET status = $2, inspected_by = $3, inspected_at = $4 \
             WHERE id = $1 AND status = 'awaiting_inspection' \
             RETURNING order_id, variant_id, quantity",
        )
        .bind(item)
        .bind(status)
        .bind(by.map(UserId::get))
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((order, variant, quantity)) = row else {
            tx.rollback().await?;
            return Ok(false);
        };
        if resellable {
            // The warehouses the units were committed from, by the order's reservations.
            let sources: Vec<(i64, i64)> = sqlx::query_as(
                "SELECT r.warehouse_id, CAST(SUM(r.quantity) AS BIGINT) FROM reservations r \
                 JOIN orders o ON o.checkout_id = r.checkout_id \
                 WHERE o.id = $1 AND r.variant_id = $2 AND r.status = 'committed' \
                 GROUP BY r.warehouse_id ORDER BY r.warehouse_id",
            )
            .bind(&order)
            .bind(variant)
            .fetch_all(&mut *tx)
            .await?;
            let mut left = quantity;
            let reference = format!("return:{order}");
            for (warehouse, sold) in sources {
                let take = left.min(sold);
                if take > 0
                    && crate::inventory::adjust::restock(
                        &mut tx,
                        VariantId::new(variant),
                        warehouse,
                        take,
                        &reference,
                        now,
                    )
                    .await?
                {
                    left -= take;
                }
            }
            if left > 0 {
                return Err(RefundError::Invalid(format!(
                    "{left} unit(s) cannot be matched to the stock they were sold from"
                )));
            }
        }
        tx.commit().await?;
        Ok(true)
    }
}

type RefundRow = (String, i64, String, String, String, Option<String>, Millis);

enum Recorded {
    Existing(RefundView),
    New {
        id: String,
        charge_id: String,
        amount: Money,
    },
}

async fn give_back(conn: &mut AnyConnection, order: &str, lines: &str) -> Result<(), sqlx::Error> {
    let lines: Vec<serde_json::Value> = serde_json::from_str(lines).unwrap_or_default();
    for line in lines {
        sqlx::query(
            "UPDATE order_lines SET refunded_quantity = refunded_quantity - $3 \
             WHERE order_id = $1 AND position = $2 AND refunded_quantity >= $3",
        )
        .bind(order)
        .bind(line["position"].as_i64().unwrap_or(-1))
        .bind(line["quantity"].as_i64().unwrap_or(0))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
