//! The demo catalog: compiled in (so the shop runs from any folder) and imported once per
//! database, on the first start of the first node.
//!
//! Several nodes may start at once against one PostgreSQL database. The import is claimed by
//! a row in `app_meta`: the node whose insert lands imports, the others go on serving. A
//! claim left by a node that died mid-import is taken over once stale. (Importing twice would
//! be harmless anyway: the importer updates in place; the claim saves the work.)

use super::{ImportError, ImportReport, apply, parse};
use crate::clock::Millis;
use crate::db::Db;
use indicatif::ProgressBar;

/// The demo files, as `(name, contents)`. See datasets/README.md for their origin.
pub const FILES: [(&str, &str); 2] = [
    (
        "dummyjson/products.json",
        include_str!("../../../../datasets/dummyjson/products.json"),
    ),
    (
        "wands/product.tsv",
        include_str!("../../../../datasets/wands/product.tsv"),
    ),
];

/// The sources the demo files import as (their products' `source`).
pub const SOURCES: [&str; 2] = ["dummyjson", "wands"];

/// The `app_meta` key that records the demo import.
const KEY: &str = "demo_catalog";

/// A claim older than this belongs to a node that died mid-import; another may take over.
pub const STALE_CLAIM_MS: Millis = 10 * 60 * 1000;

/// What [`ensure_imported`] found or did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Imported(Vec<(String, ImportReport)>),
    AlreadyImported,
    /// Another node holds the claim and is importing right now.
    InProgressElsewhere,
}

/// Imports the demo catalog unless this database already has it, or another node is
/// importing it right now.
pub async fn ensure_imported(db: &Db, now: Millis) -> Result<Outcome, ImportError> {
    if !claim(db, now).await? {
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

/// Takes the import for this node: a new claim, or a stale one taken over. Each is one
/// conditional statement, so of nodes racing for it exactly one wins.
async fn claim(db: &Db, now: Millis) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO app_meta (key, value, updated_at) VALUES ($1, 'importing', $2) \
         ON CONFLICT (key) DO NOTHING",
    )
    .bind(KEY)
    .bind(now)
    .execute(db.pool())
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(true);
    }
    let taken_over = sqlx::query(
        "UPDATE app_meta SET updated_at = $2 \
         WHERE key = $1 AND value = 'importing' AND updated_at < $3",
    )
    .bind(KEY)
    .bind(now)
    .bind(now - STALE_CLAIM_MS)
    .execute(db.pool())
    .await?
    .rows_affected();
    Ok(taken_over == 1)
}

/// Imports every demo file, whether or not it was imported before.
pub async fn import_all(db: &Db, now: Millis) -> Result<Vec<(String, ImportReport)>, ImportError> {
    let mut reports = Vec::new();
    for (name, text) in FILES {
        let rows = parse(name, text)?;
        let report = apply(db, rows, now, &ProgressBar::hidden()).await?;
        reports.push((name.to_string(), report));
    }
    Ok(reports)
}
