//! Orders in the database.

use super::{Order, OrderId, OrderStatus, OrderSummary, StatusChange};
use crate::accounts::UserId;
use crate::checkout::{Address, CheckoutLine};
use crate::clock::Millis;
use crate::db::{AnyConnection, Db};
use crate::failure::{Failure, FailureKind};
use crate::pricing::Breakdown;
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

impl Failure for OrderError {
    fn kind(&self) -> FailureKind {
        match self {
            OrderError::NotFound => FailureKind::NotFound,
            OrderError::IllegalTransition { .. } | OrderError::Corrupt(_) => FailureKind::Internal,
            OrderError::Database(e) => e.kind(),
        }
    }

    fn public_message(&self) -> String {
        match self {
            OrderError::NotFound => "We couldn't find that order.".into(),
            OrderError::Database(e) => e.public_message(),
            _ => self.kind().plain_message().into(),
        }
    }
}

impl From<sqlx::Error> for OrderError {
    fn from(e: sqlx::Error) -> Self {
        OrderError::Database(Arc::new(e))
    }
}

/// Writes a confirmed order (inside the checkout's confirm transaction); its id and the token
/// of its secret link.
#[allow(clippy::too_many_arguments)]
pub async fn create(
    conn: &mut AnyConnection,
    checkout_id: &str,
    email: &str,
    address: &Address,
    lines: &[CheckoutLine],
    total: Money,
    pricing: Option<&Breakdown>,
    charge_id: &str,
    now: Millis,
) -> Result<(OrderId, String), OrderError> {
    let id = OrderId::generate();
    let token = access_token();
    let address = serde_json::to_string(address).map_err(|e| OrderError::Corrupt(e.to_string()))?;
    let corrupt = |e: serde_json::Error| OrderError::Corrupt(e.to_string());
    let amounts = pricing.map(|p| p.totals);
    let inserted = sqlx::query(
        "INSERT INTO orders (id, checkout_id, email, status, total_amount, currency, \
         shipping_address, charge_id, created_at, updated_at, user_id, discount_amount, \
         subtotal_amount, shipping_amount, tax_amount, pricing, access_token) \
         SELECT $1, $2, $3, 'confirmed', $4, $5, $6, $7, $8, $8, c.user_id, c.discount_amount, \
         $9, $10, $11, $12, $13 \
         FROM checkouts c WHERE c.id = $2",
    )
    .bind(id.as_str())
    .bind(checkout_id)
    .bind(email)
    .bind(total.amount)
    .bind(total.currency.code())
    .bind(&address)
    .bind(charge_id)
    .bind(now)
    .bind(amounts.map_or(total.amount, |t| t.subtotal.amount))
    .bind(amounts.map_or(0, |t| t.shipping.amount))
    .bind(amounts.map_or(0, |t| t.tax.amount))
    .bind(
        pricing
            .map(serde_json::to_string)
            .transpose()
            .map_err(corrupt)?,
    )
    .bind(&token)
    .execute(&mut *conn)
    .await?;
    // The order takes its account and discount from its checkout row, which must exist.
    if inserted.rows_affected() != 1 {
        return Err(OrderError::Corrupt(format!("no checkout {checkout_id}")));
    }
    for (position, line) in lines.iter().enumerate() {
        sqlx::query(
            "INSERT INTO order_lines (order_id, position, variant_id, sku, title, options, \
             quantity, unit_price, currency, seller_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
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
        .bind((line.seller_id != 0).then_some(line.seller_id))
        .execute(&mut *conn)
        .await?;
    }
    record_history(conn, &id, OrderStatus::Confirmed, now).await?;
    Ok((id, token))
}

/// A new order's secret-link token: 128 random bits as 32 hex digits.
fn access_token() -> String {
    use rand::Rng;
    let bytes: [u8; 16] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The token of order `id`'s secret link: `None` for no such order, `Some(None)` for an order
/// placed before links (the checkout's status reads it on its own connection).
pub async fn token_of(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<Option<String>>, sqlx::Error> {
    sqlx::query_scalar("SELECT access_token FROM orders WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
}

/// Who asks to see an order.
#[derive(Clone, Copy, Debug, Default)]
pub struct Access<'a> {
    /// The signed-in account, if any.
    pub viewer: Option<&'a crate::accounts::Viewer>,
    /// The token of the order's secret link, if the request carries one.
    pub token: Option<&'a str>,
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

/// Which orders a list shows.
#[derive(Clone, Debug, Default)]
pub struct OrderFilter {
    pub user: Option<UserId>,
    pub seller: Option<crate::catalog::SellerId>,
    pub status: Option<OrderStatus>,
    /// Part of the e-mail or the order number.
    pub query: Option<String>,
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
            "SELECT id, status, email, total_amount, currency, shipping_address, created_at, \
             discount_amount, subtotal_amount, shipping_amount, tax_amount, pricing \
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
            "SELECT variant_id, sku, title, options, quantity, unit_price, seller_id \
             FROM order_lines WHERE order_id = $1 ORDER BY position",
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
                seller_id: r.try_get::<Option<i64>, _>("seller_id")?.unwrap_or(0),
            })
        })
        .collect::<Result<Vec<_>, OrderError>>()?;
        let pricing: Option<Breakdown> = row
            .try_get::<Option<String>, _>("pricing")?
            .map(|p| serde_json::from_str(&p))
            .transpose()
            .map_err(|e| corrupt(&e))?;
        let money = |column: &str| -> Result<Money, OrderError> {
            Ok(Money::new(row.try_get(column)?, currency))
        };
        let totals = match &pricing {
            Some(p) => p.totals,
            // Placed before shipping and tax: what the columns hold.
            None => crate::pricing::Totals {
                subtotal: money("subtotal_amount")?,
                discount: money("discount_amount")?,
                shipping: money("shipping_amount")?,
                tax: money("tax_amount")?,
                total: money("total_amount")?,
                tax_included: false,
            },
        };
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
            discount: row.try_get("discount_amount")?,
            totals,
            shipping: pricing.map(|p| p.parts).unwrap_or_default(),
        })
    }

    /// The order, if `access` may see it: its signed-in owner, an admin (with a second
    /// factor), or whoever holds its secret link. Anyone else gets `NotFound`, as for an
    /// order that does not exist, so an id alone tells nothing.
    pub async fn get_for(&self, id: &OrderId, access: Access<'_>) -> Result<Order, OrderError> {
        let row: Option<(Option<i64>, Option<String>)> =
            sqlx::query_as("SELECT user_id, access_token FROM orders WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(self.db.pool())
                .await?;
        let (owner, token) = row.ok_or(OrderError::NotFound)?;
        let owns = access
            .viewer
            .is_some_and(|v| owner == Some(v.user_id.get()));
        let admin = crate::accounts::Viewer::require_admin(access.viewer).is_ok();
        let holds_link = match (access.token, token.as_deref()) {
            (Some(given), Some(kept)) => same_secret(given.trim(), kept),
            _ => false,
        };
        if owns || admin || holds_link {
            self.get(id).await
        } else {
            Err(OrderError::NotFound)
        }
    }

    /// The token of the order's secret link (`None` for orders placed before links).
    pub async fn access_token(&self, id: &OrderId) -> Result<Option<String>, OrderError> {
        let mut conn = self.db.pool().acquire().await?;
        token_of(&mut conn, id.as_str())
            .await?
            .ok_or(OrderError::NotFound)
    }

    /// The account that placed the order, if any (`Err(NotFound)` for no such order).
    pub async fn owner(&self, id: &OrderId) -> Result<Option<UserId>, OrderError> {
        let row: Option<Option<i64>> =
            sqlx::query_scalar("SELECT user_id FROM orders WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(self.db.pool())
                .await?;
        Ok(row.ok_or(OrderError::NotFound)?.map(UserId::new))
    }

    /// An account's orders, newest first: one page of `per_page`, and how many there are.
    pub async fn for_account(
        &self,
        user: UserId,
        page: i64,
        per_page: i64,
    ) -> Result<(Vec<OrderSummary>, i64), OrderError> {
        self.list(
            &OrderFilter {
                user: Some(user),
                ..OrderFilter::default()
            },
            page,
            per_page,
        )
        .await
    }

    /// Orders matching `filter`, newest first: one page and how many match in all. With a
    /// seller in the filter, only orders holding that seller's items, and each summary counts
    /// only those items (a seller never sees what other sellers sold in the same order).
    pub async fn list(
        &self,
        filter: &OrderFilter,
        page: i64,
        per_page: i64,
    ) -> Result<(Vec<OrderSummary>, i64), OrderError> {
        let mut conditions = vec!["1 = 1".to_owned()];
        let mut binds: Vec<String> = Vec::new();
        let mut ints: Vec<i64> = Vec::new();
        // Text parameters first ($1…), then integers, so each keeps its type on both backends.
        if let Some(status) = filter.status {
            binds.push(status.as_str().to_owned());
            conditions.push(format!("o.status = ${}", binds.len()));
        }
        if let Some(q) = filter
            .query
            .as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
        {
            binds.push(crate::db::contains_pattern(&q.to_lowercase()));
            conditions.push(format!(
                "(LOWER(o.email) LIKE ${n} ESCAPE '\\' OR o.id LIKE ${n} ESCAPE '\\')",
                n = binds.len()
            ));
        }
        let int_at = |ints: &Vec<i64>| binds.len() + ints.len();
        if let Some(user) = filter.user {
            ints.push(user.get());
            conditions.push(format!("o.user_id = ${}", int_at(&ints)));
        }
        let seller_lines = match filter.seller {
            Some(seller) => {
                ints.push(seller.get());
                let n = int_at(&ints);
                conditions.push(format!(
                    "EXISTS (SELECT 1 FROM order_lines sl JOIN variants sv ON sv.id = sl.variant_id \
                     JOIN products sp ON sp.id = sv.product_id \
                     WHERE sl.order_id = o.id AND sp.seller_id = ${n})"
                ));
                format!(
                    " AND l.variant_id IN (SELECT v.id FROM variants v JOIN products p \
                     ON p.id = v.product_id WHERE p.seller_id = ${n})"
                )
            }
            None => String::new(),
        };
        let where_sql = conditions.join(" AND ");
        let count_sql = format!("SELECT COUNT(*) FROM orders o WHERE {where_sql}");
        let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
        for b in &binds {
            count = count.bind(b);
        }
        for i in &ints {
            count = count.bind(i);
        }
        let total: i64 = count.fetch_one(self.db.pool()).await?;
        let (limit_at, offset_at) = (int_at(&ints) + 1, int_at(&ints) + 2);
        let total_sql = if filter.seller.is_some() {
            format!(
                "CAST((SELECT COALESCE(SUM(l.quantity * l.unit_price), 0) FROM order_lines l \
                 WHERE l.order_id = o.id{seller_lines}) AS BIGINT)"
            )
        } else {
            "o.total_amount".to_owned()
        };
        let sql = format!(
            "SELECT o.id, o.status, o.email, {total_sql} AS total_amount, o.currency, o.created_at, \
                    CAST((SELECT COALESCE(SUM(l.quantity), 0) FROM order_lines l \
                          WHERE l.order_id = o.id{seller_lines}) AS BIGINT) AS items \
             FROM orders o WHERE {where_sql} \
             ORDER BY o.created_at DESC, o.id DESC LIMIT ${limit_at} OFFSET ${offset_at}"
        );
        let mut query = sqlx::query(&sql);
        for b in &binds {
            query = query.bind(b);
        }
        for i in &ints {
            query = query.bind(i);
        }
        let rows = query
            .bind(per_page)
            .bind((page.max(1) - 1) * per_page)
            .fetch_all(self.db.pool())
            .await?;
        let corrupt = |e: &dyn std::fmt::Display| OrderError::Corrupt(e.to_string());
        let orders = rows
            .iter()
            .map(|r| {
                let status: String = r.try_get("status")?;
                let currency = Currency::parse(&r.try_get::<String, _>("currency")?)
                    .map_err(|e| corrupt(&e))?;
                Ok(OrderSummary {
                    id: OrderId::parse(&r.try_get::<String, _>("id")?).map_err(|e| corrupt(&e))?,
                    status: OrderStatus::parse(&status).ok_or_else(|| corrupt(&status))?,
                    email: r.try_get("email")?,
                    total: Money::new(r.try_get("total_amount")?, currency),
                    items: r.try_get("items")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect::<Result<Vec<_>, OrderError>>()?;
        Ok((orders, total))
    }

    /// The path of the order's page with its secret link (`/orders/<id>?token=…`), or
    /// without one for orders placed before links.
    pub async fn link(&self, id: &OrderId) -> Result<String, OrderError> {
        Ok(match self.access_token(id).await? {
            Some(token) => format!("/orders/{id}?token={token}"),
            None => format!("/orders/{id}"),
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

/// Whether two secrets are equal, compared as SHA-256 digests (as the metrics token is): how
/// long the comparison takes tells nothing of the secret.
fn same_secret(a: &str, b: &str) -> bool {
    use sha2::{Digest, Sha256};
    Sha256::digest(a.as_bytes()) == Sha256::digest(b.as_bytes())
}
