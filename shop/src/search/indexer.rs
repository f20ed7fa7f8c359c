//! The indexer: the one task that owns the index writer. It builds the index from the
//! database when there is none, then follows the outbox from the position recorded in the
//! index's last commit, applying product and stock changes in batches; each batch is
//! committed and made searchable before the next is read (well within a second).

use super::document::{self, CategoryNames};
use super::engine::{Checkpoint, Engine};
use super::schema::SCHEMA_VERSION;
use crate::db::Db;
use crate::events::{Cursor, PRODUCT_CHANGED, PRODUCT_DELETED, STOCK_CHANGED};
use indicatif::ProgressBar;
use sqlx::Row;
use std::collections::BTreeSet;
use std::sync::Arc;
use tantivy::{IndexWriter, TantivyDocument, Term};

/// Outbox events read per pass.
const EVENTS_PER_PASS: i64 = 5_000;
/// Products read from the database per page while rebuilding.
const REBUILD_PAGE: i64 = 5_000;
/// Memory the writer may buffer before flushing a segment.
const WRITER_HEAP: usize = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum IndexerError {
    #[error(transparent)]
    Tantivy(#[from] tantivy::TantivyError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("the indexing thread stopped: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// Events re-read after a rebuild: ones a transaction still open during the rebuild's read
/// may commit below the position it recorded.
const REBUILD_MARGIN: i64 = 1_000;

/// The writer and what it has read so far.
pub struct Indexer {
    db: Db,
    engine: Arc<Engine>,
    writer: Option<IndexWriter<TantivyDocument>>,
    /// Where it is in the outbox; its position is the checkpoint.
    cursor: Cursor,
}

impl std::fmt::Debug for Indexer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Indexer")
            .field("position", &self.cursor.position())
            .finish()
    }
}

impl Indexer {
    /// Takes the index's writer. `checkpoint` is what the index's last commit recorded.
    pub fn new(
        db: Db,
        engine: Arc<Engine>,
        checkpoint: Option<Checkpoint>,
    ) -> Result<Self, IndexerError> {
        let writer = engine.index.writer_with_num_threads(1, WRITER_HEAP)?;
        Ok(Self {
            db,
            engine,
            writer: Some(writer),
            cursor: Cursor::at(checkpoint.map_or(0, |c| c.position)),
        })
    }

    pub fn position(&self) -> i64 {
        self.cursor.position()
    }

    /// Rebuilds the whole index from the database. Events written while it runs are applied
    /// by the next `follow` (it starts from the outbox position read before the products).
    pub async fn rebuild(&mut self, progress: &ProgressBar) -> Result<u64, IndexerError> {
        let position: i64 =
            sqlx::query_scalar("SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM outbox")
                .fetch_one(self.db.pool())
                .await?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM products")
            .fetch_one(self.db.pool())
            .await?;
        progress.set_length(u64::try_from(total).unwrap_or(0));
        let mut conn = self.db.pool().acquire().await?;
        let names = CategoryNames::load(&mut conn).await?;
        self.with_writer(|w| {
            w.delete_all_documents()?;
            Ok(())
        })
        .await?;
        let mut after = 0;
        let mut indexed = 0;
        loop {
            let docs =
                document::page(&mut conn, &self.engine.fields, &names, after, REBUILD_PAGE).await?;
            let Some((last, _)) = docs.last() else {
                break;
            };
            after = *last;
            indexed += docs.len() as u64;
            progress.inc(docs.len() as u64);
            self.with_writer(move |w| {
                for (_, doc) in docs {
                    w.add_document(doc)?;
                }
                Ok(())
            })
            .await?;
        }
        drop(conn);
        // Applying an event twice is harmless (it re-reads the product), missing one is not.
        self.cursor.restart();
        self.commit((position - REBUILD_MARGIN).max(0)).await?;
        self.merge_into_one().await?;
        Ok(indexed)
    }

    /// Merges every segment into one, after a rebuild has left several: a search pays per
    /// segment (term lookups, scorers, facet tallies), and the writer's merge policy leaves
    /// a fresh million-product index in half a dozen. The merged segment keeps the last
    /// commit's checkpoint; a merge that fails leaves the segments as they were (searchable,
    /// only slower), so it is logged, not returned.
    async fn merge_into_one(&mut self) -> Result<(), IndexerError> {
        let engine = self.engine.clone();
        let writer = self.writer.take();
        let (writer, merged) = tokio::task::spawn_blocking(move || {
            // A segment can be in one merge at a time: let those the commit started finish.
            if let Some(writer) = writer {
                writer.wait_merging_threads()?;
            }
            let mut writer = engine.index.writer_with_num_threads(1, WRITER_HEAP)?;
            let segments = engine.index.searchable_segment_ids()?;
            let merged = if segments.len() > 1 {
                writer.merge(&segments).wait().map(|_| ())
            } else {
                Ok(())
            };
            tantivy::Result::Ok((writer, merged))
        })
        .await??;
        self.writer = Some(writer);
        if let Err(error) = merged {
            tracing::warn!(%error, "could not merge the rebuilt index into one segment");
        }
        self.engine.reader.reload()?;
        Ok(())
    }

    /// Applies the outbox events after the current position (one batch). Returns how many
    /// products it re-indexed.
    ///
    /// Events are applied as soon as they are read, but the position only moves past ids
    /// that are all there: an id that is missing may belong to a transaction that has not
    /// committed yet, and is waited for (`events::GAP_WAIT`) before it is taken for a
    /// rolled-back one.
    pub async fn follow(&mut self) -> Result<usize, IndexerError> {
        let rows = sqlx::query(
            "SELECT id, topic, aggregate_id, payload FROM outbox WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(self.cursor.position())
        .bind(EVENTS_PER_PASS)
        .fetch_all(self.db.pool())
        .await?;
        let mut fresh = Vec::new();
        for row in rows {
            let id: i64 = row.try_get("id")?;
            if self.cursor.is_new(id) {
                fresh.push((id, row));
            }
        }
        let mut products = BTreeSet::new();
        for (_, row) in &fresh {
            let topic: String = row.try_get("topic")?;
            let product = match topic.as_str() {
                PRODUCT_CHANGED | PRODUCT_DELETED => row
                    .try_get::<String, _>("aggregate_id")?
                    .parse::<i64>()
                    .ok(),
                STOCK_CHANGED => {
                    serde_json::from_str::<serde_json::Value>(&row.try_get::<String, _>("payload")?)
                        .ok()
                        .and_then(|p| p["product_id"].as_i64())
                }
                _ => None,
            };
            products.extend(product);
        }
        let ids: Vec<i64> = products.into_iter().collect();
        if !ids.is_empty() {
            let mut conn = self.db.pool().acquire().await?;
            let names = CategoryNames::load(&mut conn).await?;
            let docs = document::load(&mut conn, &self.engine.fields, &names, &ids).await?;
            drop(conn);
            let field = self.engine.fields.product_id;
            let ids_for_delete = ids.clone();
            self.with_writer(move |w| {
                // Update is delete by id and add: a product that is gone is only deleted.
                for id in ids_for_delete {
                    w.delete_term(Term::from_field_u64(field, u64::try_from(id).unwrap_or(0)));
                }
                for (_, doc) in docs {
                    w.add_document(doc)?;
                }
                Ok(())
            })
            .await?;
        }
        self.cursor.handled(fresh.iter().map(|(id, _)| *id));
        let position = self.cursor.next_position();
        if !fresh.is_empty() || position != self.cursor.position() {
            self.commit(position).await?;
        }
        Ok(ids.len())
    }

    /// Commits with the checkpoint and makes the commit searchable.
    async fn commit(&mut self, position: i64) -> Result<(), IndexerError> {
        let payload = serde_json::to_string(&Checkpoint {
            version: SCHEMA_VERSION,
            position,
        })
        .unwrap_or_default();
        self.with_writer(move |w| {
            let mut prepared = w.prepare_commit()?;
            prepared.set_payload(&payload);
            prepared.commit()?;
            Ok(())
        })
        .await?;
        self.engine.reader.reload()?;
        self.cursor.move_to(position);
        Ok(())
    }

    /// Runs blocking writer work off the async runtime.
    async fn with_writer(
        &mut self,
        work: impl FnOnce(&mut IndexWriter<TantivyDocument>) -> tantivy::Result<()> + Send + 'static,
    ) -> Result<(), IndexerError> {
        let Some(mut writer) = self.writer.take() else {
            return Err(IndexerError::Tantivy(tantivy::TantivyError::InternalError(
                "the index writer was lost".into(),
            )));
        };
        let (writer, result) = tokio::task::spawn_blocking(move || {
            let result = work(&mut writer);
            (writer, result)
        })
        .await?;
        self.writer = Some(writer);
        Ok(result?)
    }
}
