//! Holds on stock under real concurrency, on SQLite and PostgreSQL: never below zero, every
//! unit accounted for, each hold settled exactly once.

use shop::catalog::VariantId;
use shop::db::Db;
use shop::db::scratch::ScratchDb;
use shop::inventory::StockReason;
use shop::inventory::adjust;
use shop::inventory::holds::{self, HoldError};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const NOW: i64 = 1_780_000_000_000;
const TTL: i64 = 15 * 60 * 1000;

/// A database with one product whose variants have the given stock per warehouse.
async fn stocked(per_warehouse: &[&[i64]]) -> (ScratchDb, Vec<VariantId>) {
    let scratch = ScratchDb::new().await.unwrap();
    let db = &scratch.db;
    let mut tx = db.begin_write().await.unwrap();
    sqlx::query("INSERT INTO sellers (slug, name, created_at) VALUES ('s', 'S', 0)")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO categories (slug, path, name, depth, created_at) VALUES ('c', 'c', 'C', 0, 0)",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    let product: i64 = sqlx::query_scalar(
        "INSERT INTO products (seller_id, category_id, slug, title, description, price_from, \
         price_to, currency, source, external_id, created_at, updated_at) \
         VALUES (1, 1, 'p', 'P', '', 100, 100, 'USD', 'test', '1', 0, 0) RETURNING id",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    let mut warehouses = Vec::new();
    for code in ["main", "east", "west"] {
        warehouses.push(
            shop::inventory::ensure_warehouse(&mut tx, code, code, NOW)
                .await
                .unwrap(),
        );
    }
    let mut variants = Vec::new();
    for (i, stock) in per_warehouse.iter().enumerate() {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO variants (product_id, sku, options, price_amount, currency, position, \
             created_at, updated_at) VALUES ($1, $2, '[]', 100, 'USD', $3, 0, 0) RETURNING id",
        )
        .bind(product)
        .bind(format!("SKU-{i}"))
        .bind(i as i64)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        for (w, quantity) in stock.iter().enumerate() {
            adjust::receive(
                &mut tx,
                VariantId::new(id),
                warehouses[w],
                *quantity,
                "test",
                NOW,
            )
            .await
            .unwrap();
        }
        variants.push(VariantId::new(id));
    }
    tx.commit().await.unwrap();
    (scratch, variants)
}

async fn reserve(db: &Db, checkout: &str, lines: &[(VariantId, i64)]) -> Result<(), HoldError> {
    let mut tx = db.begin_write().await?;
    match holds::reserve(&mut tx, checkout, lines, NOW + TTL, NOW).await {
        Ok(()) => {
            tx.commit().await?;
            Ok(())
        }
        Err(e) => {
            tx.rollback().await?;
            Err(e)
        }
    }
}

/// (available, held, committed, received) summed over warehouses.
async fn totals(db: &Db, variant: VariantId) -> (i64, i64, i64, i64) {
    sqlx::query_as(
        "SELECT CAST(SUM(available) AS BIGINT), CAST(SUM(held) AS BIGINT), \
         CAST(SUM(committed) AS BIGINT), CAST(SUM(received) AS BIGINT) \
         FROM stock_levels WHERE variant_id = $1",
    )
    .bind(variant.get())
    .fetch_one(db.pool())
    .await
    .unwrap()
}

async fn assert_conserved(db: &Db) {
    let broken: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM stock_levels WHERE available < 0 OR held < 0 OR committed < 0 \
         OR available + held + committed <> received",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(broken, 0, "every stock row conserves its units");
    // The audit trail explains every row exactly.
    let unexplained: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM stock_levels s WHERE s.available <> \
         (SELECT COALESCE(SUM(m.delta_available), 0) FROM stock_movements m \
          WHERE m.variant_id = s.variant_id AND m.warehouse_id = s.warehouse_id) \
         OR s.held <> (SELECT COALESCE(SUM(m.delta_held), 0) FROM stock_movements m \
          WHERE m.variant_id = s.variant_id AND m.warehouse_id = s.warehouse_id)",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(unexplained, 0, "the movements add up to every stock row");
}

#[tokio::test]
async fn two_hundred_buyers_for_ten_units_get_exactly_ten() {
    let (scratch, variants) = stocked(&[&[10]]).await;
    let sku = variants[0];
    let won = Arc::new(AtomicUsize::new(0));
    let buyers: Vec<_> = (0..200)
        .map(|i| {
            let db = scratch.db.clone();
            let won = won.clone();
            tokio::spawn(async move {
                match reserve(&db, &format!("buyer-{i}"), &[(sku, 1)]).await {
                    Ok(()) => {
                        won.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(HoldError::OutOfStock { .. }) => {}
                    Err(e) => panic!("buyer {i}: {e}"),
                }
            })
        })
        .collect();
    for b in buyers {
        b.await.unwrap();
    }
    assert_eq!(won.load(Ordering::SeqCst), 10);
    assert_eq!(totals(&scratch.db, sku).await, (0, 10, 0, 10));
    assert_conserved(&scratch.db).await;
}

#[tokio::test]
async fn mixed_carts_over_several_skus_never_oversell() {
    let (scratch, v) = stocked(&[&[5, 3], &[4], &[2, 2, 2]]).await;
    let carts: Vec<Vec<(VariantId, i64)>> = vec![
        vec![(v[0], 2), (v[1], 1)],
        vec![(v[1], 2), (v[2], 3)],
        vec![(v[0], 3), (v[2], 2)],
        vec![(v[2], 1), (v[0], 1), (v[1], 1)],
    ];
    let tasks: Vec<_> = (0..120)
        .map(|i| {
            let db = scratch.db.clone();
            let cart = carts[i % carts.len()].clone();
            tokio::spawn(async move {
                let result = reserve(&db, &format!("cart-{i}"), &cart).await;
                (cart, result.is_ok())
            })
        })
        .collect();
    let mut sold = [0_i64; 3];
    for t in tasks {
        let (cart, ok) = t.await.unwrap();
        if ok {
            for (variant, q) in cart {
                sold[v.iter().position(|x| *x == variant).unwrap()] += q;
            }
        }
    }
    for (i, variant) in v.iter().enumerate() {
        let (available, held, _, received) = totals(&scratch.db, *variant).await;
        assert_eq!(
            held, sold[i],
            "variant {i}: held = what the winners reserved"
        );
        assert_eq!(available + held, received);
        assert!(available >= 0);
    }
    // A refused cart holds nothing: all-or-nothing per checkout.
    let partial: i64 = sqlx::query_scalar(
        "SELECT COUNT(DISTINCT checkout_id) FROM reservations r WHERE NOT EXISTS \
         (SELECT 1 FROM reservations o WHERE o.checkout_id = r.checkout_id AND o.variant_id <> r.variant_id)",
    )
    .fetch_one(scratch.db.pool())
    .await
    .unwrap();
    assert_eq!(
        partial, 0,
        "every holding checkout holds all of its (multi-SKU) cart"
    );
    assert_conserved(&scratch.db).await;
}

#[tokio::test]
async fn lines_for_one_sku_are_summed_and_split_across_warehouses() {
    let (scratch, v) = stocked(&[&[2, 2, 1]]).await;
    // 2 + 2 = 4 units: no single warehouse has them, the three together do.
    reserve(&scratch.db, "split", &[(v[0], 2), (v[0], 2)])
        .await
        .unwrap();
    assert_eq!(totals(&scratch.db, v[0]).await, (1, 4, 0, 5));
    let err = reserve(&scratch.db, "greedy", &[(v[0], 1), (v[0], 1)])
        .await
        .unwrap_err();
    match err {
        HoldError::OutOfStock {
            variant,
            requested,
            available,
        } => {
            assert_eq!((variant, requested, available), (v[0], 2, 1));
        }
        other => panic!("{other}"),
    }
    assert_eq!(
        totals(&scratch.db, v[0]).await,
        (1, 4, 0, 5),
        "a refused reservation holds nothing"
    );
    assert_conserved(&scratch.db).await;
}

#[tokio::test]
async fn a_hold_is_committed_or_released_exactly_once() {
    let (scratch, v) = stocked(&[&[3]]).await;
    let db = &scratch.db;
    reserve(db, "a", &[(v[0], 2)]).await.unwrap();

    // Release twice, concurrently with a commit: exactly one of them takes effect.
    let release = |db: Db| async move {
        let mut tx = db.begin_write().await.unwrap();
        let n = holds::release(&mut tx, "a", StockReason::Release, NOW)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        n
    };
    let commit = |db: Db| async move {
        let mut tx = db.begin_write().await.unwrap();
        match holds::commit(&mut tx, "a", NOW).await {
            Ok(()) => {
                tx.commit().await.unwrap();
                true
            }
            Err(HoldError::HoldLost { .. }) => {
                tx.rollback().await.unwrap();
                false
            }
            Err(e) => panic!("{e}"),
        }
    };
    let (r1, r2, c) = tokio::join!(release(db.clone()), release(db.clone()), commit(db.clone()));
    let outcome = totals(db, v[0]).await;
    if c {
        assert_eq!((r1, r2), (0, 0));
        assert_eq!(outcome, (1, 0, 2, 3));
    } else {
        assert_eq!(r1 + r2, 2, "one release returned both units");
        assert_eq!(outcome, (3, 0, 0, 3));
    }
    assert_conserved(db).await;
}

#[tokio::test]
async fn expired_holds_are_found_and_extended_ones_are_not() {
    let (scratch, v) = stocked(&[&[5]]).await;
    let db = &scratch.db;
    reserve(db, "old", &[(v[0], 1)]).await.unwrap();
    reserve(db, "paying", &[(v[0], 1)]).await.unwrap();
    let mut tx = db.begin_write().await.unwrap();
    holds::extend(&mut tx, "paying", NOW + 3 * TTL, NOW)
        .await
        .unwrap();
    let expired = holds::expired_checkouts(&mut tx, NOW + TTL + 1, 10)
        .await
        .unwrap();
    assert_eq!(expired, ["old"]);
    holds::release(&mut tx, "old", StockReason::Expire, NOW + TTL + 1)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(totals(db, v[0]).await, (4, 1, 0, 5));
    assert_conserved(db).await;
}

#[tokio::test]
async fn restock_never_returns_more_than_was_sold() {
    let (scratch, v) = stocked(&[&[4]]).await;
    let db = &scratch.db;
    reserve(db, "sale", &[(v[0], 2)]).await.unwrap();
    let mut tx = db.begin_write().await.unwrap();
    holds::commit(&mut tx, "sale", NOW).await.unwrap();
    let warehouse: i64 = sqlx::query_scalar("SELECT id FROM warehouses WHERE code = 'main'")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert!(
        !adjust::restock(&mut tx, v[0], warehouse, 3, "return", NOW)
            .await
            .unwrap()
    );
    assert!(
        adjust::restock(&mut tx, v[0], warehouse, 1, "return", NOW)
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    assert_eq!(totals(db, v[0]).await, (3, 0, 1, 4));
    assert_conserved(db).await;
}
