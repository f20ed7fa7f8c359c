//! Shared set-up for the shop's integration tests.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use indicatif::ProgressBar;
use shop::assets::{AssetStore, Assets, StoreLocation, StoreOptions};
use shop::catalog::import;
use shop::db::scratch::ScratchDb;

pub const DUMMYJSON: &str = include_str!("../../../../datasets/dummyjson/products.json");
pub const WANDS: &str = include_str!("../../../../datasets/wands/product.tsv");
pub const NOW: i64 = 1_780_000_000_000;

pub async fn import_file(db: &shop::db::Db, name: &str, text: &str) -> import::ImportReport {
    let rows = import::parse(name, text).expect("file parses");
    import::apply(db, rows, NOW, &ProgressBar::hidden())
        .await
        .expect("import succeeds")
}

/// A scratch database holding the imported dummyjson catalog, with an image store in a
/// folder of its own (the folder lives as long as the `TempDir`).
pub async fn imported_shop_with_assets() -> (ScratchDb, Assets, tempfile::TempDir) {
    let scratch = ScratchDb::new().await.unwrap();
    import_file(&scratch.db, "products.json", DUMMYJSON).await;
    let dir = tempfile::tempdir().unwrap();
    let store = AssetStore::open(
        &StoreLocation::Folder(dir.path().to_owned()),
        StoreOptions::default(),
    )
    .unwrap();
    let assets = Assets::new(scratch.db.clone(), store, 16 * 1024 * 1024);
    (scratch, assets, dir)
}

/// A scratch database holding the demo catalog.
pub async fn demo_shop() -> ScratchDb {
    shop::testing::demo_shop()
        .await
        .expect("a scratch database with the demo catalog")
}

pub async fn count(db: &shop::db::Db, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(db.pool())
        .await
        .unwrap()
}

pub use shop::testing::set_available;

/// How long a test waits for a state that comes asynchronously (an outbox event indexed, a
/// breaker's cool-down ended). A guard against a hang, not a promise of speed: the state
/// usually comes within milliseconds, and a test that measured that would fail on a loaded
/// machine for no fault of the code.
pub const PATIENCE: std::time::Duration = std::time::Duration::from_secs(30);

/// Polls `reached` until it holds, and fails naming `state` if it has not after [`PATIENCE`].
pub async fn eventually(state: &str, mut reached: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + PATIENCE;
    while !reached().await {
        assert!(
            std::time::Instant::now() < deadline,
            "never reached within {PATIENCE:?}: {state}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}
