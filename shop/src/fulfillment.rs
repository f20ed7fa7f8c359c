//! Fulfillment: turns each confirmed order into a shipment. It learns of orders only through
//! `order_confirmed` events, so it can lag, crash or be replayed without touching checkout.

use crate::clock::Clock;
use crate::db::Db;
use crate::events::{Event, Handler};
use crate::orders::{self, OrderError, OrderId, OrderStatus};
use std::sync::Arc;

/// The `order_confirmed` handler: creates the order's shipment (once, however often the
/// event is delivered) and moves the order to `fulfilling`.
pub fn on_order_confirmed(db: Db, clock: Arc<dyn Clock>) -> Handler {
    Arc::new(move |event: Event| {
        let db = db.clone();
        let clock = clock.clone();
        Box::pin(async move {
            create_shipment(&db, clock.now(), &event)
                .await
                .map_err(|e| e.to_string())
        })
    })
}

async fn create_shipment(db: &Db, now: i64, event: &Event) -> Result<(), OrderError> {
    let id = event.payload["order_id"]
        .as_str()
        .unwrap_or(&event.aggregate_id);
    let order = OrderId::parse(id).map_err(|e| OrderError::Corrupt(e.to_string()))?;
    let mut tx = db.begin_write().await?;
    let status: Option<String> = sqlx::query_scalar("SELECT status FROM orders WHERE id = $1")
        .bind(order.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    match status.as_deref().and_then(OrderStatus::parse) {
        None => return Err(OrderError::NotFound),
        // Cancelled or refunded before fulfillment saw it: nothing to ship.
        Some(OrderStatus::Cancelled | OrderStatus::Refunded) => return Ok(()),
        Some(_) => {}
    }
    sqlx::query(
        "INSERT INTO shipments (id, order_id, status, created_at, updated_at) \
         VALUES ($1, $2, 'pending', $3, $3) ON CONFLICT (order_id) DO NOTHING",
    )
    .bind(format!("shp_{}", &order.as_str()[4..]))
    .bind(order.as_str())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    match orders::advance(&mut tx, &order, OrderStatus::Fulfilling, now).await {
        // Already further along (shipped, say): the event was a late duplicate.
        Ok(_) | Err(OrderError::IllegalTransition { .. }) => {}
        Err(e) => return Err(e),
    }
    tx.commit().await?;
    Ok(())
}
