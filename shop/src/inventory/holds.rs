//! Holds: reserve, extend, commit and release stock for a checkout, and sweep expired holds.
//!
//! Every change to a stock row is one conditional `UPDATE … WHERE available >= $q` (or
//! `held >= $q`), so no interleaving of transactions on either database can take a row
//! below zero; a change that loses a race simply affects no row. A hold's own status moves
//! only from `held` (`WHERE status = 'held'`), so a hold is committed or released once,
//! whoever — the checkout, the sweeper, the recovery worker — gets there first.

use super::StockReason;
use super::store::{Bucket, Deltas, record_movement, shift};
use crate::catalog::VariantId;
use crate::clock::Millis;
use crate::db::AnyConnection;
use sqlx::Row;

/// Why stock could not be held or committed.
#[derive(Debug, thiserror::Error)]
pub enum HoldError {
    /// Not enough units of `variant` across all warehouses.
    #[error("only {available} of variant {variant} available, {requested} requested")]
    OutOfStock {
        variant: VariantId,
        requested: i64,
        available: i64,
    },
    /// A hold this checkout relied on is gone (released by the sweeper, say).
    #[error("the stock held for checkout {checkout} was released")]
    HoldLost { checkout: String },
    /// A stock row did not hold what its holds say it should: a bug, never a shopper's doing.
    #[error("stock row of variant {variant} in warehouse {warehouse} disagrees with its holds")]
    Inconsistent { variant: i64, warehouse: i64 },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// How many times a reservation re-reads the stock rows after losing a race for them (on
/// PostgreSQL; SQLite's write transactions are serialised and never race).
const MAX_RACES: usize = 8;

/// Holds `lines` for `checkout` until `expires_at`, inside the caller's transaction: all lines
/// or none (the caller rolls back on error). Lines for the same variant are summed first.
/// Each variant is held in one warehouse when one has enough, else split across warehouses.
pub async fn reserve(
    conn: &mut AnyConnection,
    checkout: &str,
    lines: &[(VariantId, i64)],
    expires_at: Millis,
    now: Millis,
) -> Result<(), HoldError> {
    let mut wanted: Vec<(VariantId, i64)> = Vec::new();
    for (variant, quantity) in lines {
        match wanted.iter_mut().find(|(v, _)| v == variant) {
            Some((_, q)) => *q += quantity,
            None => wanted.push((*variant, *quantity)),
        }
    }
    // A stable order of rows to lock keeps two checkouts from deadlocking on PostgreSQL.
    wanted.sort_by_key(|(v, _)| *v);
    for (variant, quantity) in wanted {
        reserve_variant(conn, checkout, variant, quantity, expires_at, now).await?;
    }
    Ok(())
}

async fn reserve_variant(
    conn: &mut AnyConnection,
    checkout: &str,
    variant: VariantId,
    quantity: i64,
    expires_at: Millis,
    now: Millis,
) -> Result<(), HoldError> {
    // Fast path, one statement: the warehouse with the most units, if it has enough.
    let whole = take_whole(conn, variant, quantity, now).await?;
    if let Some(warehouse) = whole {
        return record_hold(
            conn, checkout, variant, warehouse, quantity, expires_at, now,
        )
        .await;
    }

    // Split across warehouses: take what each has, in warehouse order (one lock order for
    // every checkout, so two of them cannot deadlock on PostgreSQL). Each take is
    // conditional; a take that loses a race to another checkout re-reads and tries again.
    let mut remaining = quantity;
    for _ in 0..MAX_RACES {
        let rows = sqlx::query(
            "SELECT warehouse_id, available FROM stock_levels \
             WHERE variant_id = $1 AND available > 0 ORDER BY warehouse_id",
        )
        .bind(variant.get())
        .fetch_all(&mut *conn)
        .await?;
        let mut total = 0_i64;
        for row in &rows {
            total += row.try_get::<i64, _>("available")?;
        }
        if total < remaining {
            return Err(HoldError::OutOfStock {
                variant,
                requested: quantity,
                available: total + (quantity - remaining),
            });
        }
        let mut raced = false;
        for row in &rows {
            if remaining == 0 {
                break;
            }
            let warehouse: i64 = row.try_get("warehouse_id")?;
            let take = remaining.min(row.try_get("available")?);
            let taken = shift(
                conn,
                variant.get(),
                warehouse,
                take,
                Bucket::Available,
                Bucket::Held,
                StockReason::Reserve,
                checkout,
                now,
            )
            .await?;
            if taken {
                insert_hold(conn, checkout, variant, warehouse, take, expires_at, now).await?;
                remaining -= take;
            } else {
                raced = true;
            }
        }
        if remaining == 0 {
            return Ok(());
        }
        if !raced {
            break;
        }
    }
    Err(HoldError::OutOfStock {
        variant,
        requested: quantity,
        available: quantity - remaining,
    })
}

/// Takes `quantity` units of `variant` from the one warehouse with the most, if it has
/// enough: one conditional statement. Returns the warehouse, or `None` (nothing written).
/// Announces the stock row running out.
async fn take_whole(
    conn: &mut AnyConnection,
    variant: VariantId,
    quantity: i64,
    now: Millis,
) -> Result<Option<i64>, sqlx::Error> {
    let taken: Option<(i64, i64)> = sqlx::query_as(
        "UPDATE stock_levels SET available = available - $2, held = held + $2, updated_at = $3 \
         WHERE variant_id = $1 AND available >= $2 AND warehouse_id = ( \
             SELECT warehouse_id FROM stock_levels WHERE variant_id = $1 AND available >= $2 \
             ORDER BY available DESC, warehouse_id LIMIT 1) \
         RETURNING warehouse_id, available",
    )
    .bind(variant.get())
    .bind(quantity)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some((_, 0)) = taken {
        crate::events::stock_crossed(conn, variant.get(), now).await?;
    }
    Ok(taken.map(|(warehouse, _)| warehouse))
}

/// Holds `quantity` units of `variant` for each of `holders` (checkout id, quantity), all in
/// one warehouse, with three statements however many holders there are: one conditional
/// `UPDATE` for their total, one insert for the holds, one for the audit trail. Returns
/// `false`, having written nothing, when no single warehouse has the total.
pub async fn reserve_batch(
    conn: &mut AnyConnection,
    variant: VariantId,
    holders: &[(&str, i64)],
    expires_at: Millis,
    now: Millis,
) -> Result<bool, HoldError> {
    if holders.is_empty() {
        return Ok(true);
    }
    let total: i64 = holders.iter().map(|(_, q)| q).sum();
    let warehouse = take_whole(conn, variant, total, now).await?;
    let Some(warehouse) = warehouse else {
        return Ok(false);
    };
    // Values shared by every row are bound once ($1 to $4); each holder adds its checkout id
    // and quantity ($5 and $6 for the first, $7 and $8 for the second, …).
    let per_holder = |row: &dyn Fn(usize, usize) -> String| {
        (0..holders.len())
            .map(|i| row(5 + 2 * i, 6 + 2 * i))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let holds = format!(
        "INSERT INTO reservations (variant_id, warehouse_id, expires_at, created_at, \
         checkout_id, quantity, status, updated_at) VALUES {}",
        per_holder(&|c, q| format!("($1, $2, $3, $4, ${c}, ${q}, 'held', $4)"))
    );
    let mut insert = sqlx::query(&holds)
        .bind(variant.get())
        .bind(warehouse)
        .bind(expires_at)
        .bind(now);
    for (checkout, quantity) in holders {
        insert = insert.bind(*checkout).bind(*quantity);
    }
    insert.execute(&mut *conn).await?;
    let audit = format!(
        "INSERT INTO stock_movements (variant_id, warehouse_id, reason, created_at, reference, \
         delta_held, delta_available, delta_committed, delta_received) VALUES {}",
        per_holder(&|c, q| format!("($1, $2, $3, $4, ${c}, ${q}, 0 - ${q}, 0, 0)"))
    );
    let mut insert = sqlx::query(&audit)
        .bind(variant.get())
        .bind(warehouse)
        .bind(StockReason::Reserve.as_str())
        .bind(now);
    for (checkout, quantity) in holders {
        insert = insert.bind(*checkout).bind(*quantity);
    }
    insert.execute(&mut *conn).await?;
    Ok(true)
}

/// Records a hold already taken on the stock row by the fast path: its row and its audit row.
async fn record_hold(
    conn: &mut AnyConnection,
    checkout: &str,
    variant: VariantId,
    warehouse: i64,
    quantity: i64,
    expires_at: Millis,
    now: Millis,
) -> Result<(), HoldError> {
    insert_hold(
        conn, checkout, variant, warehouse, quantity, expires_at, now,
    )
    .await?;
    record_movement(
        conn,
        variant.get(),
        warehouse,
        StockReason::Reserve,
        checkout,
        Deltas {
            available: -quantity,
            held: quantity,
            ..Deltas::default()
        },
        now,
    )
    .await?;
    Ok(())
}

/// The hold's own row.
async fn insert_hold(
    conn: &mut AnyConnection,
    checkout: &str,
    variant: VariantId,
    warehouse: i64,
    quantity: i64,
    expires_at: Millis,
    now: Millis,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO reservations (checkout_id, variant_id, warehouse_id, quantity, status, \
         expires_at, created_at, updated_at) VALUES ($1, $2, $3, $4, 'held', $5, $6, $6)",
    )
    .bind(checkout)
    .bind(variant.get())
    .bind(warehouse)
    .bind(quantity)
    .bind(expires_at)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One hold row.
struct HoldRow {
    id: i64,
    variant: i64,
    warehouse: i64,
    quantity: i64,
}

async fn held_rows(conn: &mut AnyConnection, checkout: &str) -> Result<Vec<HoldRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, variant_id, warehouse_id, quantity FROM reservations \
         WHERE checkout_id = $1 AND status = 'held' ORDER BY variant_id, warehouse_id, id",
    )
    .bind(checkout)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(HoldRow {
                id: r.try_get("id")?,
                variant: r.try_get("variant_id")?,
                warehouse: r.try_get("warehouse_id")?,
                quantity: r.try_get("quantity")?,
            })
        })
        .collect()
}

/// Gives `checkout`'s holds more time (payment is starting). Returns how many were extended.
pub async fn extend(
    conn: &mut AnyConnection,
    checkout: &str,
    expires_at: Millis,
    now: Millis,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE reservations SET expires_at = $2, updated_at = $3 \
         WHERE checkout_id = $1 AND status = 'held' AND expires_at < $2",
    )
    .bind(checkout)
    .bind(expires_at)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// Turns `checkout`'s holds into sold stock (`held` → `committed`), inside the caller's
/// transaction. Fails with `HoldLost` if the checkout has no holds left; the caller rolls
/// back.
pub async fn commit(
    conn: &mut AnyConnection,
    checkout: &str,
    now: Millis,
) -> Result<(), HoldError> {
    let holds = held_rows(conn, checkout).await?;
    if holds.is_empty() {
        return Err(HoldError::HoldLost {
            checkout: checkout.to_string(),
        });
    }
    for hold in holds {
        if !settle(conn, &hold, "committed", now).await? {
            return Err(HoldError::HoldLost {
                checkout: checkout.to_string(),
            });
        }
        let moved = shift(
            conn,
            hold.variant,
            hold.warehouse,
            hold.quantity,
            Bucket::Held,
            Bucket::Committed,
            StockReason::Commit,
            checkout,
            now,
        )
        .await?;
        if !moved {
            return Err(HoldError::Inconsistent {
                variant: hold.variant,
                warehouse: hold.warehouse,
            });
        }
    }
    Ok(())
}

/// Returns `checkout`'s held units to `available`, inside the caller's transaction.
/// Idempotent: holds already released or committed are left alone. Returns units released.
pub async fn release(
    conn: &mut AnyConnection,
    checkout: &str,
    reason: StockReason,
    now: Millis,
) -> Result<i64, HoldError> {
    let mut released = 0;
    for hold in held_rows(conn, checkout).await? {
        if !settle(conn, &hold, "released", now).await? {
            continue;
        }
        let moved = shift(
            conn,
            hold.variant,
            hold.warehouse,
            hold.quantity,
            Bucket::Held,
            Bucket::Available,
            reason,
            checkout,
            now,
        )
        .await?;
        if !moved {
            return Err(HoldError::Inconsistent {
                variant: hold.variant,
                warehouse: hold.warehouse,
            });
        }
        released += hold.quantity;
    }
    Ok(released)
}

/// Moves one hold out of `held`; false if someone else already did.
async fn settle(
    conn: &mut AnyConnection,
    hold: &HoldRow,
    status: &str,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE reservations SET status = $2, updated_at = $3 WHERE id = $1 AND status = 'held'",
    )
    .bind(hold.id)
    .bind(status)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
}

/// Checkouts with holds that expired before `now`, oldest first, at most `limit`.
pub async fn expired_checkouts(
    conn: &mut AnyConnection,
    now: Millis,
    limit: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT checkout_id FROM reservations WHERE status = 'held' AND expires_at < $1 \
         GROUP BY checkout_id ORDER BY MIN(expires_at) LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await
}

/// A hold that is still in place, for the admin's list.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ActiveHold {
    pub checkout_id: String,
    pub sku: String,
    pub warehouse: String,
    pub quantity: i64,
    pub created_at: Millis,
    pub expires_at: Millis,
}

/// Holds still in place, the soonest to expire first.
pub async fn active(db: &crate::db::Db, limit: i64) -> Result<Vec<ActiveHold>, sqlx::Error> {
    let rows: Vec<(String, String, String, i64, Millis, Millis)> = sqlx::query_as(
        "SELECT r.checkout_id, v.sku, w.code, r.quantity, r.created_at, r.expires_at \
         FROM reservations r JOIN variants v ON v.id = r.variant_id \
         JOIN warehouses w ON w.id = r.warehouse_id \
         WHERE r.status = 'held' ORDER BY r.expires_at, r.id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(checkout_id, sku, warehouse, quantity, created_at, expires_at)| ActiveHold {
                checkout_id,
                sku,
                warehouse,
                quantity,
                created_at,
                expires_at,
            },
        )
        .collect())
}

/// Holds still in place, for `/metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeldStats {
    /// Holds in place and not yet expired.
    pub live: i64,
    /// Holds past their expiry and still in place: the sweeper releases them unless their
    /// checkout's money is moving, so a number that stays up means something is stuck.
    pub overdue: i64,
    /// Units held, over both.
    pub units: i64,
    /// When the oldest hold in place was taken.
    pub oldest_at: Option<Millis>,
}

/// Counts the holds in place. Only `held` rows are read (through `reservations_expiry`):
/// committed and released ones grow with the shop's history and are the orders' business.
pub async fn held_stats(db: &crate::db::Db, now: Millis) -> Result<HeldStats, sqlx::Error> {
    // SUM of a BIGINT is NUMERIC on PostgreSQL; the cast keeps it an integer on both.
    let (live, overdue, units, oldest_at): (i64, i64, Option<i64>, Option<i64>) = sqlx::query_as(
        "SELECT COUNT(CASE WHEN expires_at >= $1 THEN 1 END), \
         COUNT(CASE WHEN expires_at < $1 THEN 1 END), CAST(SUM(quantity) AS BIGINT), \
         MIN(created_at) FROM reservations WHERE status = 'held'",
    )
    .bind(now)
    .fetch_one(db.pool())
    .await?;
    Ok(HeldStats {
        live,
        overdue,
        units: units.unwrap_or(0),
        oldest_at,
    })
}
