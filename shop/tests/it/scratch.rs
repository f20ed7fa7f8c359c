//! Seeded scratch databases: every test that starts from the demo catalog gets a copy of one
//! import, so the copy must be exactly what an import writes, and a database of its own.

use shop::catalog::import;
use shop::db::Db;
use shop::db::scratch::ScratchDb;
use shop::testing::{DEMO_IMPORTED_AT, demo_shop};

type Product = (i64, String, String, i64, i64, i64, i64);
type Stock = (i64, i64, i64, i64, i64, i64);

async fn products(db: &Db) -> Vec<Product> {
    sqlx::query_as(
        "SELECT id, slug, title, price_from, price_to, seller_id, category_id \
         FROM products ORDER BY id",
    )
    .fetch_all(db.pool())
    .await
    .unwrap()
}

async fn stock(db: &Db) -> Vec<Stock> {
    sqlx::query_as(
        "SELECT variant_id, warehouse_id, available, held, committed, received \
         FROM stock_levels ORDER BY variant_id, warehouse_id",
    )
    .fetch_all(db.pool())
    .await
    .unwrap()
}

async fn counts(db: &Db) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for table in [
        "sellers",
        "categories",
        "products",
        "variants",
        "warehouses",
        "stock_levels",
        "stock_movements",
        "outbox",
    ] {
        out.push((table, crate::common::count(db, table).await));
    }
    out
}

#[tokio::test]
async fn a_seeded_copy_holds_what_the_import_writes() {
    let fresh = ScratchDb::new().await.unwrap();
    import::demo::import_all(&fresh.db, DEMO_IMPORTED_AT)
        .await
        .unwrap();
    let copy = demo_shop().await.unwrap();

    let (fresh_counts, copy_counts) = (counts(&fresh.db).await, counts(&copy.db).await);
    assert!(
        fresh_counts.iter().all(|(_, n)| *n > 0),
        "the import wrote every table: {fresh_counts:?}"
    );
    assert_eq!(copy_counts, fresh_counts, "rows per table, copy vs import");
    assert_eq!(products(&copy.db).await, products(&fresh.db).await);
    assert_eq!(stock(&copy.db).await, stock(&fresh.db).await);
}

#[tokio::test]
async fn each_copy_is_a_database_of_its_own_that_takes_new_rows() {
    let (one, other) = (demo_shop().await.unwrap(), demo_shop().await.unwrap());
    let before = products(&other.db).await;

    sqlx::query("UPDATE products SET title = 'Changed in one copy'")
        .execute(one.db.pool())
        .await
        .unwrap();
    assert_eq!(
        products(&other.db).await,
        before,
        "a write to one copy shows in another"
    );

    // Ids continue after the copied rows (on PostgreSQL the sequences were set past them).
    let highest: i64 = sqlx::query_scalar("SELECT MAX(id) FROM warehouses")
        .fetch_one(one.db.pool())
        .await
        .unwrap();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO warehouses (code, name, created_at) VALUES ('extra', 'Extra', $1) \
         RETURNING id",
    )
    .bind(DEMO_IMPORTED_AT)
    .fetch_one(one.db.pool())
    .await
    .expect("a new row in a copy gets an id no copied row has");
    assert_eq!(id, highest + 1);
}
