//! Events: the transactional outbox and its dispatcher.
//!
//! A change that others care about writes its event with `emit`, inside the transaction that
//! makes the change, so the two commit or roll back together. The dispatcher delivers each
//! event at least once to the handler for its topic: it leases a batch (a conditional update
//! on `locked_until`, so several nodes never deliver the same event at the same time),
//! retries a failure with exponential backoff, and after `MAX_ATTEMPTS` marks the event dead
//! for an operator to look at and replay. Handlers are therefore idempotent.

use crate::clock::Millis;
use crate::db::{AnyConnection, Db};
use futures_core::future::BoxFuture;
use sqlx::Row;
use std::collections::HashMap;
use std::sync::Arc;

/// The topic written when an order is confirmed; payload `{ "order_id" }`.
pub const ORDER_CONFIRMED: &str = "order_confirmed";
/// A product was created or changed (title, price, variants…); payload `{ "product_id" }`.
pub const PRODUCT_CHANGED: &str = "product_changed";
/// A product was removed; payload `{ "product_id" }`.
pub const PRODUCT_DELETED: &str = "product_deleted";
/// A stock row ran out or came back; payload `{ "variant_id", "product_id" }`. Consumers
/// recheck the product (other rows may still have units).
pub const STOCK_CHANGED: &str = "stock_changed";

/// Deliveries before an event is declared dead.
pub const MAX_ATTEMPTS: i64 = 10;
/// How long a dispatcher may hold an event before another may try it.
const LEASE_MS: Millis = 30_000;

/// Appends an event to the outbox (inside the caller's transaction).
pub async fn emit(
    conn: &mut AnyConnection,
    topic: &str,
    aggregate_id: &str,
    payload: &serde_json::Value,
    now: Millis,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO outbox (topic, aggregate_id, payload, created_at, attempts, available_at, \
         locked_until) VALUES ($1, $2, $3, $4, 0, $4, 0)",
    )
    .bind(topic)
    .bind(aggregate_id)
    .bind(payload.to_string())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Announces that stock of `variant` ran out or came back (inside the changing transaction).
pub async fn stock_crossed(
    conn: &mut AnyConnection,
    variant: i64,
    now: Millis,
) -> Result<(), sqlx::Error> {
    let product: Option<i64> = sqlx::query_scalar("SELECT product_id FROM variants WHERE id = $1")
        .bind(variant)
        .fetch_optional(&mut *conn)
        .await?;
    let payload = serde_json::json!({ "variant_id": variant, "product_id": product });
    emit(conn, STOCK_CHANGED, &variant.to_string(), &payload, now).await
}

/// One event as a handler receives it.
#[derive(Clone, Debug)]
pub struct Event {
    pub id: i64,
    pub topic: String,
    pub aggregate_id: String,
    pub payload: serde_json::Value,
    pub attempts: i64,
}

/// Handles one event; an `Err` is retried later.
pub type Handler = Arc<dyn Fn(Event) -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// One handler that runs `handlers` in turn for the same event (fulfillment and the
/// confirmation mail both follow `order_confirmed`). The first failure fails the delivery and
/// its retry runs them all again: each must be idempotent, as every handler is.
pub fn all(handlers: Vec<Handler>) -> Handler {
    let handlers: Arc<[Handler]> = handlers.into();
    Arc::new(move |event: Event| {
        let handlers = handlers.clone();
        Box::pin(async move {
            for handler in handlers.iter() {
                handler(event.clone()).await?;
            }
            Ok(())
        })
    })
}

/// What one dispatch pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DispatchReport {
    pub delivered: usize,
    pub failed: usize,
    pub dead: usize,
}

/// Delivers outbox events to handlers by topic.
#[derive(Clone)]
pub struct Dispatcher {
    db: Db,
    handlers: HashMap<&'static str, Handler>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("topics", &self.handlers.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Dispatcher {
    pub fn new(db: Db) -> Self {
        Self {
            db,
            handlers: HashMap::new(),
        }
    }

    pub fn on(mut self, topic: &'static str, handler: Handler) -> Self {
        self.handlers.insert(topic, handler);
        self
    }

    /// Delivers up to `batch` due events of its topics, oldest first. Events of other topics
    /// are left alone: consumers that follow the outbox by position (the search indexer on
    /// every node) read them without marking them.
    pub async fn dispatch(&self, now: Millis, batch: i64) -> Result<DispatchReport, sqlx::Error> {
        if self.handlers.is_empty() {
            return Ok(DispatchReport::default());
        }
        let topics: Vec<&str> = self.handlers.keys().copied().collect();
        let sql = format!(
            "SELECT id, topic, aggregate_id, payload, attempts, locked_until FROM outbox \
             WHERE delivered_at IS NULL AND dead_at IS NULL AND available_at <= $1 \
             AND locked_until < $1 AND topic IN ({}) ORDER BY id LIMIT $2",
            crate::db::placeholders(3, topics.len())
        );
        let mut query = sqlx::query(&sql).bind(now).bind(batch);
        for topic in topics {
            query = query.bind(topic);
        }
        let candidates = query.fetch_all(self.db.pool()).await?;
        let mut report = DispatchReport::default();
        for row in candidates {
            let id: i64 = row.try_get("id")?;
            let seen_lock: i64 = row.try_get("locked_until")?;
            // Lease it; if another dispatcher got there first, leave it to them.
            let leased = sqlx::query(
                "UPDATE outbox SET locked_until = $3 WHERE id = $1 AND locked_until = $2 \
                 AND delivered_at IS NULL",
            )
            .bind(id)
            .bind(seen_lock)
            .bind(now + LEASE_MS)
            .execute(self.db.pool())
            .await?
            .rows_affected()
                == 1;
            if !leased {
                continue;
            }
            let event = Event {
                id,
                topic: row.try_get("topic")?,
                aggregate_id: row.try_get("aggregate_id")?,
                payload: serde_json::from_str(&row.try_get::<String, _>("payload")?)
                    .unwrap_or(serde_json::Value::Null),
                attempts: row.try_get("attempts")?,
            };
            let outcome = match self.handlers.get(event.topic.as_str()) {
                Some(handler) => handler(event.clone()).await,
                None => Err(format!("no handler for topic {}", event.topic)),
            };
            match outcome {
                Ok(()) => {
                    sqlx::query("UPDATE outbox SET delivered_at = $2, attempts = attempts + 1 WHERE id = $1")
                        .bind(id)
                        .bind(now)
                        .execute(self.db.pool())
                        .await?;
                    report.delivered += 1;
                }
                Err(error) => {
                    let attempts = event.attempts + 1;
                    let dead = attempts >= MAX_ATTEMPTS;
                    let backoff = 1000 * (1_i64 << attempts.min(10));
                    tracing::warn!(event = id, topic = %event.topic, attempts, %error, "event delivery failed");
                    sqlx::query(
                        "UPDATE outbox SET attempts = $2, last_error = $3, available_at = $4, \
                         locked_until = 0, dead_at = $5 WHERE id = $1",
                    )
                    .bind(id)
                    .bind(attempts)
                    .bind(&error)
                    .bind(now + backoff)
                    .bind(dead.then_some(now))
                    .execute(self.db.pool())
                    .await?;
                    if dead {
                        report.dead += 1;
                    } else {
                        report.failed += 1;
                    }
                }
            }
        }
        Ok(report)
    }
}

/// How far behind the dispatcher is, for `/metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Events of the dispatched topics not delivered yet (those waiting for a retry
    /// included, dead ones not).
    pub waiting: i64,
    /// When the oldest of them was written.
    pub oldest_waiting_at: Option<Millis>,
    /// Events given up on, waiting for an operator to replay them.
    pub dead: i64,
}

/// The backlog of the dispatcher that handles `topics`. Events of other topics are never
/// marked delivered (their consumers follow the outbox by position), so they are left out.
pub async fn backlog(db: &Db, topics: &[&str]) -> Result<Backlog, sqlx::Error> {
    if topics.is_empty() {
        return Ok(Backlog::default());
    }
    // Undelivered rows are few and `outbox_pending` starts with `delivered_at`.
    let sql = format!(
        "SELECT COUNT(CASE WHEN dead_at IS NULL THEN 1 END), \
         MIN(CASE WHEN dead_at IS NULL THEN created_at END), COUNT(dead_at) \
         FROM outbox WHERE delivered_at IS NULL AND topic IN ({})",
        crate::db::placeholders(1, topics.len())
    );
    let mut query = sqlx::query_as::<_, (i64, Option<i64>, i64)>(&sql);
    for topic in topics {
        query = query.bind(*topic);
    }
    let (waiting, oldest_waiting_at, dead) = query.fetch_one(db.pool()).await?;
    Ok(Backlog {
        waiting,
        oldest_waiting_at,
        dead,
    })
}

/// Events written after outbox position `position` (of every topic), and when the oldest of
/// them was written: how far a consumer that follows the outbox by position is behind.
pub async fn written_after(db: &Db, position: i64) -> Result<(i64, Option<Millis>), sqlx::Error> {
    // A range of the primary key: as cheap as the consumer is close to the end.
    sqlx::query_as("SELECT COUNT(*), MIN(created_at) FROM outbox WHERE id > $1")
        .bind(position)
        .fetch_one(db.pool())
        .await
}

/// An event the dispatcher gave up on, for the admin's dead-letter list.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct DeadLetter {
    pub id: i64,
    pub topic: String,
    pub aggregate_id: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: Millis,
    pub dead_at: Millis,
}

/// Dead events, most recent first.
pub async fn dead_letters(db: &Db, limit: i64) -> Result<Vec<DeadLetter>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, topic, aggregate_id, attempts, last_error, created_at, dead_at FROM outbox \
         WHERE dead_at IS NOT NULL ORDER BY dead_at DESC, id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(DeadLetter {
                id: r.try_get("id")?,
                topic: r.try_get("topic")?,
                aggregate_id: r.try_get("aggregate_id")?,
                attempts: r.try_get("attempts")?,
                last_error: r.try_get("last_error")?,
                created_at: r.try_get("created_at")?,
                dead_at: r.try_get("dead_at")?,
            })
        })
        .collect()
}

/// Puts a dead event back in the queue with a fresh set of attempts (its handler is
/// idempotent, so a replay of something that half-happened is safe). False if it was not dead.
pub async fn replay(db: &Db, id: i64, now: Millis) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE outbox SET dead_at = NULL, attempts = 0, available_at = $2, locked_until = 0 \
         WHERE id = $1 AND dead_at IS NOT NULL AND delivered_at IS NULL",
    )
    .bind(id)
    .bind(now)
    .execute(db.pool())
    .await?
    .rows_affected()
        == 1)
}

/// How long a hole in the outbox's ids is waited for before it is taken for a rolled-back
/// transaction's (ids are taken at insert, so on PostgreSQL a transaction that took a lower
/// id can commit after one that took a higher id, and one that rolls back leaves a hole).
pub const GAP_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// A reader's place in the outbox when it follows every event itself (each node's search
/// index and caches do): everything up to `position` has been handled, and events past it
/// that were handled while an earlier id was still missing are remembered, so that a late
/// commit below them is neither skipped nor handled twice.
#[derive(Debug, Default)]
pub struct Cursor {
    position: i64,
    /// Events past `position` already handled, while an earlier id is missing.
    seen: std::collections::BTreeSet<i64>,
    /// The missing id just past `position`, and since when it has been missing.
    gap: Option<(i64, std::time::Instant)>,
}

impl Cursor {
    pub fn at(position: i64) -> Self {
        Self {
            position,
            ..Self::default()
        }
    }

    /// Every event up to here has been handled.
    pub fn position(&self) -> i64 {
        self.position
    }

    /// Whether event `id` (read past the position) still needs handling.
    pub fn is_new(&self, id: i64) -> bool {
        id > self.position && !self.seen.contains(&id)
    }

    /// Records events as handled.
    pub fn handled(&mut self, ids: impl IntoIterator<Item = i64>) {
        self.seen.extend(ids);
    }

    /// Forgets what was handled past the position (a rebuild starts over from there).
    pub fn restart(&mut self) {
        self.seen.clear();
        self.gap = None;
    }

    /// The furthest position with no missing id before it, passing over a hole that has
    /// been missing for longer than [`GAP_WAIT`]. The caller moves to it with [`Cursor::move_to`]
    /// once what it handled is durable (the search index commits first).
    pub fn next_position(&mut self) -> i64 {
        let mut position = self.position;
        loop {
            while self.seen.remove(&(position + 1)) {
                position += 1;
            }
            if self.seen.is_empty() {
                self.gap = None;
                return position;
            }
            match self.gap {
                Some((missing, since)) if missing == position + 1 => {
                    if since.elapsed() < GAP_WAIT {
                        return position;
                    }
                    tracing::warn!(id = missing, "outbox id never appeared; passed over");
                    position += 1;
                    self.gap = None;
                }
                _ => {
                    self.gap = Some((position + 1, std::time::Instant::now()));
                    return position;
                }
            }
        }
    }

    pub fn move_to(&mut self, position: i64) {
        self.position = position;
    }
}

#[cfg(test)]
mod cursor_tests {
    use super::Cursor;

    #[test]
    fn a_cursor_moves_over_what_was_handled_and_waits_at_a_hole() {
        let mut cursor = Cursor::at(10);
        assert!(cursor.is_new(11));
        cursor.handled([11, 12, 14]);
        let next = cursor.next_position();
        assert_eq!(next, 12, "13 is missing: wait there");
        cursor.move_to(next);
        assert!(!cursor.is_new(14), "14 was handled already");
        assert!(cursor.is_new(13), "a late 13 is still handled");
        cursor.handled([13]);
        let next = cursor.next_position();
        assert_eq!(next, 14);
        cursor.move_to(next);
        assert!(!cursor.is_new(12));
    }
}
