//! Recommendations on the product page: "customers also bought" (item-to-item co-purchases
//! in confirmed orders, recomputed periodically into `product_pairs`), falling back to
//! "similar products" (more-like-this over the search index) while a product has no
//! co-purchases. Answers are cached per product for a short while; a recompute clears them.

use super::service::Search;
use super::types::{RecommendationKind, Recommendations};
use crate::catalog::{Catalog, CatalogError, ProductCard, ProductId};
use crate::db::Db;
use std::sync::Arc;
use std::time::Duration;

/// How many products a recommendation list shows.
pub const SHOWN: usize = 6;
/// How long one product's list is kept before it is read again.
const CACHE_FOR: Duration = Duration::from_secs(60);

/// The recommendation service. Cheap to clone.
#[derive(Clone)]
pub struct Recommender {
    db: Db,
    catalog: Catalog,
    search: Search,
    cache: moka::future::Cache<ProductId, Arc<Recommendations>>,
}

impl std::fmt::Debug for Recommender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recommender").finish_non_exhaustive()
    }
}

impl Recommender {
    pub fn new(db: Db, catalog: Catalog, search: Search) -> Self {
        Self {
            db,
            catalog,
            search,
            cache: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(CACHE_FOR)
                .build(),
        }
    }

    /// Recomputes every co-purchase pair from the orders that went through (not cancelled or
    /// refunded), replacing the table in one transaction. Returns the number of pairs.
    pub async fn recompute(&self) -> Result<u64, sqlx::Error> {
        let mut tx = self.db.begin_write().await?;
        sqlx::query("DELETE FROM product_pairs")
            .execute(&mut *tx)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO product_pairs (product_id, other_id, orders) \
             SELECT va.product_id, vb.product_id, COUNT(DISTINCT a.order_id) \
             FROM order_lines a \
             JOIN order_lines b ON b.order_id = a.order_id AND b.variant_id <> a.variant_id \
             JOIN variants va ON va.id = a.variant_id \
             JOIN variants vb ON vb.id = b.variant_id \
             JOIN orders o ON o.id = a.order_id \
             WHERE o.status NOT IN ('cancelled', 'refunded') AND va.product_id <> vb.product_id \
             GROUP BY va.product_id, vb.product_id",
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        self.cache.invalidate_all();
        Ok(inserted)
    }

    /// Up to [`SHOWN`] products to show beside `product`: those most often bought with it
    /// that are in stock, topped up with similar ones when there are too few.
    pub async fn for_product(
        &self,
        product: ProductId,
    ) -> Result<Arc<Recommendations>, CatalogError> {
        if let Some(hit) = self.cache.get(&product).await {
            return Ok(hit);
        }
        let fresh = Arc::new(self.compute(product).await?);
        self.cache.insert(product, fresh.clone()).await;
        Ok(fresh)
    }

    async fn compute(&self, product: ProductId) -> Result<Recommendations, CatalogError> {
        let pairs: Vec<i64> = sqlx::query_scalar(
            "SELECT other_id FROM product_pairs WHERE product_id = $1 \
             ORDER BY orders DESC, other_id LIMIT $2",
        )
        .bind(product.get())
        .bind(i64::try_from(SHOWN * 2).unwrap_or(12))
        .fetch_all(self.db.pool())
        .await?;
        let ids: Vec<ProductId> = pairs.into_iter().map(ProductId::new).collect();
        let mut products: Vec<ProductCard> = self
            .catalog
            .cards(&ids)
            .await?
            .into_iter()
            .filter(|c| c.available > 0)
            .take(SHOWN)
            .collect();
        let kind = if products.is_empty() {
            RecommendationKind::Similar
        } else {
            RecommendationKind::AlsoBought
        };
        if products.len() < SHOWN {
            let similar = self.search.similar(product, SHOWN * 2).await;
            let fresh: Vec<ProductId> = similar
                .into_iter()
                .filter(|id| *id != product && !products.iter().any(|p| p.id == *id))
                .collect();
            let more = self.catalog.cards(&fresh).await?;
            products.extend(
                more.into_iter()
                    .filter(|c| c.available > 0)
                    .take(SHOWN - products.len()),
            );
        }
        Ok(Recommendations { kind, products })
    }
}
