//! The audit trail against the stock it explains (`shop::inventory::audit`, the chaos run's
//! conservation invariants): it agrees with stock changed through the shop, and each check
//! finds the breakage it names.

use shop::catalog::VariantId;
use shop::db::scratch::ScratchDb;
use shop::inventory::audit::{TrailAudit, audit_trail};

/// A small catalog whose stock came in through the shop, and one stock row (variant,
/// warehouse), whose variant's stock was then set through the shop too (each change with
/// its movement).
async fn stocked_shop() -> (ScratchDb, (i64, i64)) {
    let scratch = ScratchDb::new().await.unwrap();
    shop::catalog::import::apply(
        &scratch.db,
        shop::catalog::import::synthetic(3),
        1_000,
        &indicatif::ProgressBar::hidden(),
    )
    .await
    .unwrap();
    let variant: i64 = sqlx::query_scalar("SELECT MIN(variant_id) FROM stock_levels")
        .fetch_one(scratch.db.pool())
        .await
        .unwrap();
    let mut tx = scratch.db.begin_write().await.unwrap();
    shop::inventory::adjust::set_available(&mut tx, VariantId::new(variant), 7, "test", 2_000)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let warehouse: i64 =
        sqlx::query_scalar("SELECT MIN(warehouse_id) FROM stock_levels WHERE variant_id = $1")
            .bind(variant)
            .fetch_one(scratch.db.pool())
            .await
            .unwrap();
    (scratch, (variant, warehouse))
}

/// Writes a movement straight into the audit trail, past the shop's own stock functions (the
/// damage these tests look for): `available` and `received` change, nothing is held.
async fn record_movement(
    scratch: &ScratchDb,
    (variant, warehouse): (i64, i64),
    available: i64,
    received: i64,
) {
    sqlx::query(
        "INSERT INTO stock_movements (variant_id, warehouse_id, reason, reference, \
         delta_available, delta_held, delta_committed, delta_received, created_at) \
         VALUES ($1, $2, 'receive', 'test', $3, 0, 0, $4, 3000)",
    )
    .bind(variant)
    .bind(warehouse)
    .bind(available)
    .bind(received)
    .execute(scratch.db.pool())
    .await
    .unwrap();
}

#[tokio::test]
async fn stock_changed_through_the_shop_agrees_with_its_audit_trail() {
    let (scratch, _) = stocked_shop().await;

    let audit = audit_trail(&scratch.db).await.unwrap();

    assert_eq!(audit, TrailAudit::default());
    assert!(audit.holds());
}

#[tokio::test]
async fn a_stock_row_changed_without_its_movement_is_found() {
    let (scratch, (variant, warehouse)) = stocked_shop().await;

    // A unit appears on the row and nowhere in the trail; the row's CHECKs still hold.
    sqlx::query(
        "UPDATE stock_levels SET available = available + 1, received = received + 1 \
         WHERE variant_id = $1 AND warehouse_id = $2",
    )
    .bind(variant)
    .bind(warehouse)
    .execute(scratch.db.pool())
    .await
    .unwrap();

    let audit = audit_trail(&scratch.db).await.unwrap();
    assert_eq!(
        audit,
        TrailAudit {
            rows_off_trail: 1,
            unbalanced_movements: 0
        }
    );
    assert!(!audit.holds());
}

#[tokio::test]
async fn a_movement_without_its_stock_row_is_found() {
    let (scratch, (variant, _)) = stocked_shop().await;

    // The trail says the SKU has stock in a warehouse where it has no row.
    let warehouse = shop::inventory::ensure_warehouse(
        &mut scratch.db.pool().acquire().await.unwrap(),
        "elsewhere",
        "Elsewhere",
        3_000,
    )
    .await
    .unwrap();
    record_movement(&scratch, (variant, warehouse), 5, 5).await;

    assert_eq!(
        audit_trail(&scratch.db).await.unwrap(),
        TrailAudit {
            rows_off_trail: 1,
            unbalanced_movements: 0
        }
    );
}

#[tokio::test]
async fn movements_that_make_and_lose_units_are_found_even_when_they_cancel_out() {
    let (scratch, (variant, warehouse)) = stocked_shop().await;

    // One movement makes a unit from nothing, the next loses one: the row still agrees
    // with the trail's sums, but neither movement conserved units.
    for delta in [1_i64, -1] {
        record_movement(&scratch, (variant, warehouse), delta, 0).await;
    }

    assert_eq!(
        audit_trail(&scratch.db).await.unwrap(),
        TrailAudit {
            rows_off_trail: 0,
            unbalanced_movements: 2
        }
    );
}
