//! Orders in the database.

use super::{Order, OrderId, OrderStatus, StatusChange};
use crate::checkout::{Address, CheckoutLine};
use crate::clock::Millis;
use crate::db::{AnyConnection, Db};
use crate::{Currency, Money};
use sqlx::Row;
use std::sync::Arc;

#[derive(Clone, Debug, thiserror::Error)]
pub enum OrderError {
    #[error("an order cannot go from {from} to {to}")]
    IllegalTransition {
        from: &'static str,
        to: &'static str,
    },
    #[error("no such order")]
    NotFound,
    #[error("corrupt order data: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Database(Arc<sqlx::Error>),
}

impl From<sqlx::Error> for OrderError {
    fn from(e: sqlx::Error) -> Self {
        OrderError::Database(Arc::new(e))
    }
}

/// Writes a confirmed order (inside the checkout's confirm transaction).
#[allow(clippy::too_many_arguments)]
pub async fn create(
    conn: &mut AnyConnection,
    checkout_id: &str,
    email: &str,
    address: &Address,
    lines: &[CheckoutLine],
    total: Money,
    charge_id: &str,
    now: Millis,
) -> Result<OrderId, OrderError> {
    let id = OrderId::generate();
    let address = serde_json::to_string(address).map_err(|e| OrderError::Corrupt(e.to_string()))?;
    sqlx::query(
        "INSERT INTO orders (id, checkout_id, email, status, total_amount, currency, \
         shipping_address, charge_id, created_at, updated_at) \
         VALUES ($1, $2, $3, 'confirmed', $4, $5, $6, $7, $8, $8)",
    )
    .bind(id.as_str())
    .bind(checkout_id)
    .bind(email)
    .bind(total.amount)
    .bind(total.currency.code())
    .bind(&address)
    .bind(charge_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    for (position, line) in lines.iter().enumerate() {
        sqlx::query(
            "INSERT INTO order_lines (order_id, position, variant_id, sku, title, options, \
             quantity, unit_price, currency) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id.as_str())
        .bind(i64::try_from(position).unwrap_or(i64::MAX))
        .bind(line.variant_id.get())
        .bind(line.sku.as_str())
        .bind(&line.title)
        .bind(&line.options)
        .bind(line.quantity)
        .bind(line.unit_price)
        .bind(total.currency.code())
        .execute(&mut *conn)
        .await?;
    }
    record_history(conn, &id, OrderStatus::Confirmed, now).await?;
    Ok(id)
}

/// Moves an order to `next` if the state machine allows it from where it is now. Returns
/// `false` if it is already there (moving twice is one move).
pub async fn advance(
    conn: &mut AnyConnection,
    id: &OrderId,
    next: OrderStatus,
    now: Millis,
) -> Result<bool, OrderError> {
    let current: Option<String> = sqlx::query_scalar("SELECT status FROM orders WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    let current = current
        .as_deref()
        .map(|s| OrderStatus::parse(s).ok_or_else(|| OrderError::Corrupt(s.to_string())))
        .transpose()?
        .ok_or(OrderError::NotFound)?;
    if current == next {
        return Ok(false);
    }
    if !current.can_become(next) {
        return Err(OrderError::IllegalTransition {
            from: current.as_str(),
            to: next.as_str(),
        });
    }
    // Conditional on the status read above: a concurrent move makes this one a no-op.
    let moved =
        sqlx::query("UPDATE orders SET status = $2, updated_at = $4 WHERE id = $1 AND status = $3")
            .bind(id.as_str())
            .bind(next.as_str())
            .bind(current.as_str())
            .bind(now)
            .execute(&mut *conn)
            .await?
            .rows_affected()
            == 1;
    if moved {
        record_history(conn, id, next, now).await?;
    }
    Ok(moved)
}

async fn record_history(
    conn: &mut AnyConnection,
    id: &OrderId,
    status: OrderStatus,
    now: Millis,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO order_history (order_id, status, at) VALUES ($1, $2, $3)")
        .bind(id.as_str())
        .bind(status.as_str())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Reads of orders.
#[derive(Clone, Debug)]
pub struct Orders {
    db: Db,
}

impl Orders {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn get(&self, id: &OrderId) -> Result<Order, OrderError> {
        let row = sqlx::query(
            "SELECT id, status, email, total_amount, currency, shipping_address, created_at \
             FROM orders WHERE id = $1",
        )
        .bind(id.as_str())
        .fetch_optional(self.db.pool())
        .await?
        .ok_or(OrderError::NotFound)?;
        let corrupt = |e: &dyn std::fmt::Display| OrderError::Corrupt(e.to_string());
        let status: String = row.try_get("status")?;
        let currency =
            Currency::parse(&row.try_get::<String, _>("currency")?).map_err(|e| corrupt(&e))?;
        let lines = sqlx::query(
            "SELECT variant_id, sku, title, options, quantity, unit_price FROM order_lines \
             WHERE order_id = $1 ORDER BY position",
        )
        .bind(id.as_str())
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(CheckoutLine {
                variant_id: crate::catalog::VariantId::new(r.try_get("variant_id")?),
                sku: crate::catalog::Sku::parse(&r.try_get::<String, _>("sku")?)
                    .map_err(|e| corrupt(&e))?,
                title: r.try_get("title")?,
                options: r.try_get("options")?,
                quantity: r.try_get("quantity")?,
                unit_price: r.try_get("unit_price")?,
            })
        })
        .collect::<Result<Vec<_>, OrderError>>()?;
        let history = sqlx::query(
            "SELECT status, at FROM order_history WHERE order_id = $1 ORDER BY at, status",
        )
        .bind(id.as_str())
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(|r| {
            let s: String = r.try_get("status")?;
            Ok(StatusChange {
                status: OrderStatus::parse(&s).ok_or_else(|| corrupt(&s))?,
                at: r.try_get("at")?,
            })
        })
        .collect::<Result<Vec<_>, OrderError>>()?;
        Ok(Order {
            id: id.clone(),
            status: OrderStatus::parse(&status).ok_or_else(|| corrupt(&status))?,
            email: row.try_get("email")?,
            total: Money::new(row.try_get("total_amount")?, currency),
            shipping_address: serde_json::from_str(&row.try_get::<String, _>("shipping_address")?)
                .map_err(|e| corrupt(&e))?,
            lines,
            history,
            created_at: row.try_get("created_at")?,
        })
    }

    /// A guest's order: found only when the e-mail matches too (case-insensitively). A wrong
    /// e-mail and an unknown id look the same from outside.
    pub async fn lookup(&self, id: &OrderId, email: &str) -> Result<Order, OrderError> {
        let order = self.get(id).await?;
        if order.email.eq_ignore_ascii_case(email.trim()) {
            Ok(order)
        } else {
            Err(OrderError::NotFound)
        }
    }
}
