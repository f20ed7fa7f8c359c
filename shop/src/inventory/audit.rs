//! The audit trail checked against the stock it explains.
//!
//! The schema's CHECK constraints keep each stock row non-negative and balanced (`available +
//! held + committed = received`), so asking the rows alone could never find anything wrong;
//! what they cannot guard is a change made without its movement, or a movement that makes or
//! loses units. Every change to a row writes one `stock_movements` row in the same
//! transaction, so replaying the trail must give each row exactly as it stands.

use crate::db::Db;

/// What replaying the trail found. Both counts are zero in a shop whose stock only ever
/// changed through this context.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrailAudit {
    /// Stock rows that differ from the sum of their movements, and movements for a row that
    /// does not exist.
    pub rows_off_trail: i64,
    /// Movements that make or lose units (Δavailable + Δheld + Δcommitted ≠ Δreceived).
    pub unbalanced_movements: i64,
}

impl TrailAudit {
    pub fn holds(&self) -> bool {
        *self == Self::default()
    }
}

/// Replays the audit trail against the stock rows.
pub async fn audit_trail(db: &Db) -> Result<TrailAudit, sqlx::Error> {
    let count = |sql: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sql).fetch_one(db.pool()).await
    };
    let rows_off_trail = count(
        "SELECT COUNT(*) FROM stock_levels s LEFT JOIN ( \
             SELECT variant_id, warehouse_id, SUM(delta_available) AS a, SUM(delta_held) AS h, \
                    SUM(delta_committed) AS c, SUM(delta_received) AS r \
             FROM stock_movements GROUP BY variant_id, warehouse_id) m \
           ON m.variant_id = s.variant_id AND m.warehouse_id = s.warehouse_id \
         WHERE m.variant_id IS NULL OR s.available <> m.a OR s.held <> m.h \
            OR s.committed <> m.c OR s.received <> m.r",
    )
    .await?;
    let trail_without_row = count(
        "SELECT COUNT(*) FROM (SELECT DISTINCT variant_id, warehouse_id FROM stock_movements) m \
         WHERE NOT EXISTS (SELECT 1 FROM stock_levels s \
                           WHERE s.variant_id = m.variant_id AND s.warehouse_id = m.warehouse_id)",
    )
    .await?;
    let unbalanced_movements = count(
        "SELECT COUNT(*) FROM stock_movements \
         WHERE delta_available + delta_held + delta_committed <> delta_received",
    )
    .await?;
    Ok(TrailAudit {
        rows_off_trail: rows_off_trail + trail_without_row,
        unbalanced_movements,
    })
}
