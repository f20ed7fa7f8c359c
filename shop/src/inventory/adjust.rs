//! Stock changes outside checkout: units received, written off, set to a count, or restocked
//! after a return. Each is one conditional statement on a stock row plus its audit row.

use super::StockReason;
use super::store::{Bucket, Deltas, record_movement, shift};
use crate::catalog::VariantId;
use crate::clock::Millis;
use crate::db::AnyConnection;

/// New units arriving in a warehouse (`received` and `available` both grow).
pub async fn receive(
    conn: &mut AnyConnection,
    variant: VariantId,
    warehouse: i64,
    quantity: i64,
    reference: &str,
    now: Millis,
) -> Result<(), sqlx::Error> {
    let available: i64 = sqlx::query_scalar(
        "INSERT INTO stock_levels (variant_id, warehouse_id, available, held, committed, \
         received, updated_at) VALUES ($1, $2, $3, 0, 0, $3, $4) \
         ON CONFLICT (variant_id, warehouse_id) DO UPDATE SET \
         available = stock_levels.available + excluded.available, \
         received = stock_levels.received + excluded.received, updated_at = excluded.updated_at \
         RETURNING available",
    )
    .bind(variant.get())
    .bind(warehouse)
    .bind(quantity)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    if quantity > 0 && available == quantity {
        crate::events::stock_crossed(conn, variant.get(), now).await?;
    }
    record_movement(
        conn,
        variant.get(),
        warehouse,
        StockReason::Receive,
        reference,
        Deltas {
            available: quantity,
            received: quantity,
            ..Deltas::default()
        },
        now,
    )
    .await
}

/// Units written off from what is available (damaged, lost, a miscount): `available` and
/// `received` shrink together. Refuses (returns false) to write off more than is available;
/// held and sold units are never touched.
pub async fn write_off(
    conn: &mut AnyConnection,
    variant: VariantId,
    warehouse: i64,
    quantity: i64,
    reference: &str,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    let left: Option<i64> = sqlx::query_scalar(
        "UPDATE stock_levels SET available = available - $3, received = received - $3, \
         updated_at = $4 WHERE variant_id = $1 AND warehouse_id = $2 AND available >= $3 \
         RETURNING available",
    )
    .bind(variant.get())
    .bind(warehouse)
    .bind(quantity)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    let moved = left.is_some();
    if left == Some(0) && quantity > 0 {
        crate::events::stock_crossed(conn, variant.get(), now).await?;
    }
    if moved {
        record_movement(
            conn,
            variant.get(),
            warehouse,
            StockReason::WriteOff,
            reference,
            Deltas {
                available: -quantity,
                received: -quantity,
                ..Deltas::default()
            },
            now,
        )
        .await?;
    }
    Ok(moved)
}

/// Sets a variant's available units to exactly `target`, receiving or writing off the
/// difference in its stock rows (first warehouse first), with `reference` in the audit trail.
pub async fn set_available(
    conn: &mut AnyConnection,
    variant: VariantId,
    target: i64,
    reference: &str,
    now: Millis,
) -> Result<(), sqlx::Error> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT warehouse_id, available FROM stock_levels WHERE variant_id = $1 ORDER BY warehouse_id",
    )
    .bind(variant.get())
    .fetch_all(&mut *conn)
    .await?;
    let current: i64 = rows.iter().map(|(_, a)| a).sum();
    if target > current {
        let warehouse = match rows.first() {
            Some((w, _)) => *w,
            None => super::ensure_warehouse(conn, "main", "Main warehouse", now).await?,
        };
        receive(conn, variant, warehouse, target - current, reference, now).await?;
    } else {
        let mut excess = current - target;
        for (warehouse, available) in rows.iter().rev() {
            let take = excess.min(*available);
            if take > 0 && write_off(conn, variant, *warehouse, take, reference, now).await? {
                excess -= take;
            }
        }
    }
    Ok(())
}

/// Sold units coming back into stock (a return passed inspection): `committed` → `available`.
/// Refuses (returns false) to restock more than was sold from that warehouse.
pub async fn restock(
    conn: &mut AnyConnection,
    variant: VariantId,
    warehouse: i64,
    quantity: i64,
    reference: &str,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    shift(
        conn,
        variant.get(),
        warehouse,
        quantity,
        Bucket::Committed,
        Bucket::Available,
        StockReason::Restock,
        reference,
        now,
    )
    .await
}
