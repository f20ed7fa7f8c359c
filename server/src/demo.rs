//! The demo catalog, compiled into the binary (so the shop runs from any folder) and
//! imported once per database on first start.

use indicatif::ProgressBar;
use shop::catalog::import::{self, ImportError, ImportReport};
use shop::clock::Millis;
use shop::db::Db;

/// The demo files, as `(name, contents)`. See datasets/README.md for their origin.
pub const FILES: [(&str, &str); 2] = [
    (
        "dummyjson/products.json",
        include_str!("../../datasets/dummyjson/products.json"),
    ),
    (
        "wands/product.tsv",
        include_str!("../../datasets/wands/product.tsv"),
    ),
];

/// The `app_meta` key that records the demo import.
const KEY: &str = "demo_catalog";

/// A claim older than this belongs to a node that died mid-import; another may take over.
const STALE_CLAIM_MS: Millis = 10 * 60 * 1000;

/// What `ensure_imported` found or did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Imported(Vec<(String, ImportReport)>),
    AlreadyImported,
    /// Another node holds the claim and is importing right now.
    InProgressElsewhere,
}

/// Imports the demo catalog unless this database already has it.
///
/// Several nodes may start at once against one PostgreSQL database: the first to insert
/// the claim row imports, the others go on serving. A claim left by a crashed node is taken
/// over once stale. Re-running the import is harmless anyway (it updates in place).
pub async fn ensure_imported(db: &Db, now: Millis) -> Result<Outcome, ImportError> {
    let claimed = sqlx::query(
        "INSERT INTO app_meta (key, value, updated_at) VALUES ($1, 'importing', $2) \
         ON CONFLICT (key) DO NOTHING",
    )
    .bind(KEY)
    .bind(now)
    .execute(db.pool())
    .await?
    .rows_affected()
        == 1;
    let claimed = claimed
        || sqlx::query(
            "UPDATE app_meta SET updated_at = $2 \
             WHERE key = $1 AND value = 'importing' AND updated_at < $3",
        )
        .bind(KEY)
        .bind(now)
        .bind(now - STALE_CLAIM_MS)
        .execute(db.pool())
        .await?
        .rows_affected()
            == 1;
    if !claimed {
        let value: Option<String> = sqlx::query_scalar("SELECT value FROM app_meta WHERE key = $1")
            .bind(KEY)
            .fetch_optional(db.pool())
            .await?;
        return Ok(match value.as_deref() {
            Some("importing") => Outcome::InProgressElsewhere,
            _ => Outcome::AlreadyImported,
        });
    }
    match import_all(db, now).await {
        Ok(reports) => {
            sqlx::query("UPDATE app_meta SET value = 'done', updated_at = $2 WHERE key = $1")
                .bind(KEY)
                .bind(now)
                .execute(db.pool())
                .await?;
            Ok(Outcome::Imported(reports))
        }
        Err(e) => {
            // Let the next start try again.
            let _ = sqlx::query("DELETE FROM app_meta WHERE key = $1 AND value = 'importing'")
                .bind(KEY)
                .execute(db.pool())
                .await;
            Err(e)
        }
    }
}

/// Imports every demo file, whether or not it was imported before.
pub async fn import_all(db: &Db, now: Millis) -> Result<Vec<(String, ImportReport)>, ImportError> {
    let mut reports = Vec::new();
    for (name, text) in FILES {
        let rows = import::parse(name, text)?;
        let report = import::apply(db, rows, now, &ProgressBar::hidden()).await?;
        reports.push((name.to_string(), report));
    }
    Ok(reports)
}

/// Draws a picture for every demo product that has none and puts it through the upload
/// pipeline like any seller's image. Runs in the background after start: until a product's
/// picture is ready, its pages show the monogram tile. Safe on several nodes at once (the
/// drawings are deterministic, and one product never gets the same bytes twice).
pub async fn draw_pictures(db: &Db, assets: &shop::assets::Assets) -> anyhow::Result<usize> {
    use sqlx::Row;
    let rows = sqlx::query(
        "SELECT p.id, p.seller_id, p.title, c.path, COALESCE(p.product_class, '') AS class \
         FROM products p JOIN categories c ON c.id = p.category_id \
         WHERE p.source IN ('dummyjson', 'wands') \
         AND NOT EXISTS (SELECT 1 FROM product_images i WHERE i.product_id = p.id) \
         ORDER BY p.id",
    )
    .fetch_all(db.pool())
    .await?;
    let mut drawn = 0;
    for row in rows {
        let (title, path, class): (String, String, String) = (
            row.try_get("title")?,
            row.try_get("path")?,
            row.try_get("class")?,
        );
        let png =
            tokio::task::spawn_blocking(move || shop::assets::art::png(&title, &path, &class))
                .await?;
        let result = assets
            .upload(
                shop::catalog::SellerId::new(row.try_get("seller_id")?),
                shop::catalog::ProductId::new(row.try_get("id")?),
                png,
                shop::assets::UploadRequest::default(),
            )
            .await;
        match result {
            Ok(_) => drawn += 1,
            // The store is down: the rest can wait for the next start.
            Err(shop::assets::AssetError::StoreUnavailable(e)) => {
                tracing::warn!(error = %e, drawn, "demo pictures paused: image store unavailable");
                break;
            }
            Err(e) => tracing::warn!(error = %e, "a demo picture was refused"),
        }
    }
    Ok(drawn)
}
