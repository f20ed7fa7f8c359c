//! Start-up and shutdown: the demo catalog is imported once however many times (and however
//! many nodes at once) the shop starts, and the server stops cleanly when told to.

use crate::common::spawn_app;
use server::config::Settings;
use shop::db::scratch::ScratchDb;
use std::time::Duration;

/// Settings for a node on `scratch`, with its image store in a temporary folder that is
/// removed when the returned `TempDir` is dropped.
fn settings_for(scratch: &ScratchDb) -> (Settings, tempfile::TempDir) {
    let assets = tempfile::tempdir().unwrap();
    let mut settings = Settings::default();
    settings.database.url = Some(scratch.url.clone().into());
    settings.search.index = Some("ram".into());
    settings.assets.store = Some(assets.path().display().to_string());
    settings.catalog.demo_pictures = false;
    (settings, assets)
}

async fn product_count(scratch: &ScratchDb) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM products")
        .fetch_one(scratch.db.pool())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_start_never_reimports_the_demo_catalog() {
    let scratch = ScratchDb::new().await.unwrap();
    let (settings, _assets) = settings_for(&scratch);
    server::prepare(&settings).await.unwrap();
    assert_eq!(product_count(&scratch).await, 584);

    // A shop owner deletes a demo product; a restart must not bring it back.
    sqlx::query("DELETE FROM products WHERE external_id = '1' AND source = 'dummyjson'")
        .execute(scratch.db.pool())
        .await
        .unwrap();
    server::prepare(&settings).await.unwrap();
    assert_eq!(product_count(&scratch).await, 583);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_starting_together_import_the_demo_catalog_once() {
    let scratch = ScratchDb::new().await.unwrap();
    let (settings, _assets) = settings_for(&scratch);
    let starts = (0..4).map(|_| {
        let settings = settings.clone();
        tokio::spawn(async move { server::prepare(&settings).await.map(|_| ()) })
    });
    for start in starts {
        start.await.unwrap().unwrap();
    }
    // Those that lost the claim may start serving before the winner finishes; once it has,
    // the catalog is complete and nothing is duplicated.
    assert_eq!(product_count(&scratch).await, 584);
    let slugs: i64 = sqlx::query_scalar("SELECT COUNT(DISTINCT slug) FROM products")
        .fetch_one(scratch.db.pool())
        .await
        .unwrap();
    assert_eq!(slugs, 584);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_stops_cleanly_when_asked() {
    let mut app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    app.shut_down();
    let finished = tokio::time::timeout(Duration::from_secs(10), &mut app.server).await;
    let result = finished.expect("the server stops within its grace period");
    assert!(result.unwrap().is_ok());
    assert!(
        app.client.get(app.url("/healthz")).send().await.is_err(),
        "no longer listening"
    );
}
