//! Stock rows and the audit trail in the database.

use super::StockReason;
use crate::catalog::VariantId;
use crate::clock::Millis;
use crate::db::{AnyConnection, Db, placeholders};
use sqlx::Row;
use std::collections::HashMap;

/// Reads of live stock.
#[derive(Clone, Debug)]
pub struct Inventory {
    db: Db,
}

impl Inventory {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Live units available for each of `variants`, summed over warehouses, in one query.
    /// A variant without stock rows is absent from the map (and so has none).
    pub async fn available(
        &self,
        variants: &[VariantId],
    ) -> Result<HashMap<VariantId, i64>, sqlx::Error> {
        if variants.is_empty() {
            return Ok(HashMap::new());
        }
        let mut conn = self.db.pool().acquire().await?;
        available_in(&mut conn, variants).await
    }
}

/// `Inventory::available` on a given connection (inside a transaction that holds it).
pub async fn available_in(
    conn: &mut AnyConnection,
    variants: &[VariantId],
) -> Result<HashMap<VariantId, i64>, sqlx::Error> {
    if variants.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT variant_id, CAST(SUM(available) AS BIGINT) AS available FROM stock_levels \
             WHERE variant_id IN ({}) GROUP BY variant_id",
        placeholders(1, variants.len())
    );
    let mut query = sqlx::query(&sql);
    for v in variants {
        query = query.bind(v.get());
    }
    let rows = query.fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| {
            Ok((
                VariantId::new(r.try_get("variant_id")?),
                r.try_get("available")?,
            ))
        })
        .collect()
}

/// The id of the warehouse with `code`, creating it if needed.
pub async fn ensure_warehouse(
    conn: &mut AnyConnection,
    code: &str,
    name: &str,
    now: Millis,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO warehouses (code, name, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (code) DO NOTHING",
    )
    .bind(code)
    .bind(name)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query_scalar("SELECT id FROM warehouses WHERE code = $1")
        .bind(code)
        .fetch_one(&mut *conn)
        .await
}

/// Receives the first stock of a SKU in a warehouse. Does nothing (and returns `false`) if
/// the SKU already has a stock row there: from then on its stock changes only through sales,
/// holds and adjustments, never by being overwritten.
pub async fn receive_initial(
    conn: &mut AnyConnection,
    variant_id: i64,
    warehouse_id: i64,
    quantity: i64,
    reference: &str,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO stock_levels (variant_id, warehouse_id, available, held, committed, \
         received, updated_at) VALUES ($1, $2, $3, 0, 0, $3, $4) \
         ON CONFLICT (variant_id, warehouse_id) DO NOTHING",
    )
    .bind(variant_id)
    .bind(warehouse_id)
    .bind(quantity)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if inserted {
        record_movement(
            conn,
            variant_id,
            warehouse_id,
            StockReason::Import,
            reference,
            Deltas {
                available: quantity,
                received: quantity,
                ..Deltas::default()
            },
            now,
        )
        .await?;
    }
    Ok(inserted)
}

/// How one change moved each column of a stock row.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Deltas {
    pub available: i64,
    pub held: i64,
    pub committed: i64,
    pub received: i64,
}

/// Appends one change to the audit trail (inside the transaction that made the change).
pub(super) async fn record_movement(
    conn: &mut AnyConnection,
    variant_id: i64,
    warehouse_id: i64,
    reason: StockReason,
    reference: &str,
    d: Deltas,
    now: Millis,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO stock_movements (variant_id, warehouse_id, reason, reference, \
         delta_available, delta_held, delta_committed, delta_received, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(variant_id)
    .bind(warehouse_id)
    .bind(reason.as_str())
    .bind(reference)
    .bind(d.available)
    .bind(d.held)
    .bind(d.committed)
    .bind(d.received)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The three places a unit on a stock row can be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Bucket {
    Available,
    Held,
    Committed,
}

impl Bucket {
    fn column(self) -> &'static str {
        match self {
            Bucket::Available => "available",
            Bucket::Held => "held",
            Bucket::Committed => "committed",
        }
    }
}

/// Moves `quantity` units of one stock row from one bucket to another with one conditional
/// `UPDATE` (`WHERE from >= quantity`), and records the move in the audit trail. Returns
/// `false`, having written nothing, when `from` holds fewer units.
#[allow(clippy::too_many_arguments)]
pub(super) async fn shift(
    conn: &mut AnyConnection,
    variant: i64,
    warehouse: i64,
    quantity: i64,
    from: Bucket,
    to: Bucket,
    reason: StockReason,
    reference: &str,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    // The column names are the enum's own constants, never input.
    let (f, t) = (from.column(), to.column());
    let available: Option<i64> = sqlx::query_scalar(&format!(
        "UPDATE stock_levels SET {f} = {f} - $3, {t} = {t} + $3, updated_at = $4 \
         WHERE variant_id = $1 AND warehouse_id = $2 AND {f} >= $3 RETURNING available"
    ))
    .bind(variant)
    .bind(warehouse)
    .bind(quantity)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    let moved = available.is_some();
    if let Some(available) = available {
        let ran_out = from == Bucket::Available && available == 0;
        let came_back = to == Bucket::Available && available == quantity;
        if ran_out || came_back {
            crate::events::stock_crossed(conn, variant, now).await?;
        }
    }
    if moved {
        let mut deltas = Deltas::default();
        for (bucket, delta) in [(from, -quantity), (to, quantity)] {
            match bucket {
                Bucket::Available => deltas.available += delta,
                Bucket::Held => deltas.held += delta,
                Bucket::Committed => deltas.committed += delta,
            }
        }
        record_movement(conn, variant, warehouse, reason, reference, deltas, now).await?;
    }
    Ok(moved)
}
