//! The product page's unchanging part — title, description, breadcrumbs, variants and
//! prices — kept in memory per product, so a page view asks the database only for live stock;
//! and listing pages (their cards and total, without stock) the same way.
//!
//! - **Cache-aside, one loader per key.** A miss loads through `try_get_with`: however many
//!   requests miss the same product at once (a popular product just expired or changed), one
//!   of them reads the database and the others wait for its answer. Failures are not cached.
//! - **Bounded, with a TTL.** At most `CAPACITY` products (least recently used go first) for
//!   at most `TTL`, a backstop should an invalidation ever be missed.
//! - **Invalidated from the event stream on every node.** Each node follows the outbox itself
//!   (`Catalog::follow_changes`, from its workers) and forgets a product as soon as its
//!   `product_changed` or `product_deleted` event commits, whichever node made the change.
//!   The reader's [`Cursor`] waits at a hole in the ids, so a change whose transaction commits
//!   late is not passed over.
//! - **Stock is never cached**: it is read live for every view (catalog invariant). Prices a
//!   moment old can show on another node's page; checkout always prices from the database.

use super::store::{Catalog, CatalogError, Key};
use super::{ProductCard, ProductDetail, ProductId};
use crate::events::{Cursor, PRODUCT_CHANGED, PRODUCT_DELETED};
use moka::future::Cache;
use sqlx::Row;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Products kept at most.
const CAPACITY: u64 = 10_000;
/// How long a product is kept without being invalidated.
const TTL: Duration = Duration::from_secs(600);
/// Listing pages kept at most, and for how long: a page lists many products, so any
/// product's change drops them all, and the TTL is short like the category counts'.
const LISTING_CAPACITY: u64 = 2_000;
const LISTING_TTL: Duration = Duration::from_secs(30);

/// A listing page's key: category path (empty: everything), sort, page, page size.
pub(super) type ListingKey = (String, String, u32, u32);

/// Outbox events read per pass.
const EVENTS_PER_PASS: i64 = 5_000;
/// Events re-read when a node starts following: one committed late, below the newest id at
/// start, may describe a product loaded before it committed.
const START_MARGIN: i64 = 1_000;

/// The cached products, by id, and each slug's product id (slugs never change).
#[derive(Clone, Debug)]
pub(super) struct Products {
    /// Listing pages without stock: (category path, sort, page, per page) → (total, cards).
    pub(super) listings: Cache<ListingKey, Arc<(u64, Vec<ProductCard>)>>,
    by_id: Cache<ProductId, Arc<ProductDetail>>,
    by_slug: Cache<String, ProductId>,
    /// Products read from the database since start (misses that loaded), for `/metrics`.
    loads: Arc<AtomicU64>,
}

impl Products {
    pub(super) fn new() -> Self {
        Self {
            listings: Cache::builder()
                .max_capacity(LISTING_CAPACITY)
                .time_to_live(LISTING_TTL)
                .build(),
            by_id: Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(TTL)
                .build(),
            by_slug: Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(TTL)
                .build(),
            loads: Arc::default(),
        }
    }
}

impl Products {
    pub(super) fn count_load(&self) {
        self.loads.fetch_add(1, Ordering::Relaxed);
    }
}

impl Catalog {
    /// The product's cached part (stock all zero), loading it on a miss.
    pub(super) async fn cached_product(
        &self,
        key: Key,
    ) -> Result<Arc<ProductDetail>, CatalogError> {
        let id = match key {
            Key::Id(id) => id,
            Key::Slug(slug) => {
                let loaded = self
                    .products
                    .by_slug
                    .try_get_with(slug.as_str().to_string(), async {
                        let detail = self.load_product(Key::Slug(slug.clone())).await?;
                        let id = detail.id;
                        self.products.by_id.insert(id, Arc::new(detail)).await;
                        Ok::<_, CatalogError>(id)
                    })
                    .await;
                let id = loaded.map_err(|e| (*e).clone())?;
                let detail = self.cached_by_id(id).await?;
                // A slug freed by a deleted product and given to a new one: ask again.
                if detail.slug != slug {
                    self.products.by_slug.invalidate(slug.as_str()).await;
                    return Box::pin(self.cached_product(Key::Slug(slug))).await;
                }
                return Ok(detail);
            }
        };
        self.cached_by_id(id).await
    }

    async fn cached_by_id(&self, id: ProductId) -> Result<Arc<ProductDetail>, CatalogError> {
        self.products
            .by_id
            .try_get_with(id, async {
                self.load_product(Key::Id(id)).await.map(Arc::new)
            })
            .await
            .map_err(|e| (*e).clone())
    }

    /// Products this node has read from the database for its cache since it started: with
    /// one loader per key, a crowd missing the same product counts one.
    pub fn product_loads(&self) -> u64 {
        self.products.loads.load(Ordering::Relaxed)
    }

    /// Where a node starts following the outbox for changes (a little before its end).
    pub async fn change_cursor(&self) -> Result<Cursor, CatalogError> {
        let newest: i64 =
            sqlx::query_scalar("SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM outbox")
                .fetch_one(self.db.pool())
                .await?;
        Ok(Cursor::at((newest - START_MARGIN).max(0)))
    }

    /// Forgets every product changed or deleted by the outbox events after `cursor`, then
    /// moves it on. Returns how many products were forgotten.
    pub async fn follow_changes(&self, cursor: &mut Cursor) -> Result<usize, CatalogError> {
        let rows = sqlx::query(
            "SELECT id, topic, aggregate_id FROM outbox WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(cursor.position())
        .bind(EVENTS_PER_PASS)
        .fetch_all(self.db.pool())
        .await?;
        let mut fresh = Vec::new();
        let mut forgotten = 0;
        for row in &rows {
            let id: i64 = row.try_get("id")?;
            if !cursor.is_new(id) {
                continue;
            }
            fresh.push(id);
            let topic: String = row.try_get("topic")?;
            if topic != PRODUCT_CHANGED && topic != PRODUCT_DELETED {
                continue;
            }
            if let Ok(product) = row.try_get::<String, _>("aggregate_id")?.parse::<i64>() {
                self.products
                    .by_id
                    .invalidate(&ProductId::new(product))
                    .await;
                forgotten += 1;
            }
        }
        if forgotten > 0 {
            // A page lists many products: any change may move, add or drop a card.
            self.products.listings.invalidate_all();
        }
        cursor.handled(fresh);
        let next = cursor.next_position();
        cursor.move_to(next);
        Ok(forgotten)
    }

    /// Forgets one product at once (this node changed it; the event tells the others).
    pub async fn forget_product(&self, id: ProductId) {
        self.products.by_id.invalidate(&id).await;
        self.products.listings.invalidate_all();
    }
}
