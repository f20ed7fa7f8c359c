//! Catalog reads: the category tree, listings and product pages.

use super::{
    Category, CategoryId, CategoryPage, CategoryPath, Crumb, HomePage, Page, PageRequest,
    ProductCard, ProductDetail, ProductId, Rating, SearchText, Sku, Slug, Sort, Variant, VariantId,
    VariantOption, VariantSummary,
};
use crate::db::{Db, placeholders};
use crate::failure::{Failure, FailureKind};

/// A listed product's live stock (see [`Catalog::listing_stock`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListingStock {
    pub available: i64,
    /// The SKU when the product has exactly one variant.
    pub only_sku: Option<Sku>,
}
use crate::inventory::Inventory;
use crate::{Currency, Money};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Why a catalog read failed. Cheap to clone, so a cached failure can be shared.
#[derive(Clone, Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("no such product")]
    ProductNotFound,
    #[error("no such category")]
    CategoryNotFound,
    /// Stored data that breaks the catalog's own rules (a bad currency code, say).
    #[error("corrupt catalog data: {0}")]
    Corrupt(String),
    /// Too many searches at once on this node: try again in a moment.
    #[error("too many searches at once")]
    Busy,
    #[error(transparent)]
    Database(Arc<sqlx::Error>),
}

impl From<sqlx::Error> for CatalogError {
    fn from(e: sqlx::Error) -> Self {
        CatalogError::Database(Arc::new(e))
    }
}

impl Failure for CatalogError {
    fn kind(&self) -> FailureKind {
        match self {
            CatalogError::ProductNotFound | CatalogError::CategoryNotFound => FailureKind::NotFound,
            CatalogError::Corrupt(_) => FailureKind::Internal,
            CatalogError::Busy => FailureKind::Unavailable,
            CatalogError::Database(e) => e.kind(),
        }
    }

    fn public_message(&self) -> String {
        match self {
            CatalogError::ProductNotFound => "We couldn't find that product.".into(),
            CatalogError::CategoryNotFound => "We couldn't find that category.".into(),
            CatalogError::Corrupt(_) => self.kind().plain_message().into(),
            CatalogError::Busy => {
                "So many people are searching right now that yours has to wait: please try again \
                 in a moment."
                    .into()
            }
            CatalogError::Database(e) => e.public_message(),
        }
    }

    fn retry_after(&self) -> Option<u64> {
        matches!(self, CatalogError::Busy).then_some(1)
    }
}

/// How long the category tree (with its product counts) is served from memory. Counts a few
/// seconds old are fine on a shop window; recounting a million products per page view is not.
const CATEGORY_TTL: Duration = Duration::from_secs(30);

/// The catalog's read side.
#[derive(Clone, Debug)]
pub struct Catalog {
    pub(super) db: Db,
    inventory: Inventory,
    /// The category tree, loaded by one request at a time when missing (single flight).
    categories: moka::future::Cache<(), Arc<Vec<Category>>>,
    /// Product pages without their stock (see `cache.rs`).
    pub(super) products: super::cache::Products,
}

const CARD_COLUMNS: &str = "p.id, p.external_id, p.slug, p.title, p.brand, p.rating, \
    p.price_from, p.price_to, p.currency, c.name AS category_name";

impl Catalog {
    pub fn new(db: Db) -> Self {
        Self {
            inventory: Inventory::new(db.clone()),
            categories: moka::future::Cache::builder()
                .max_capacity(1)
                .time_to_live(CATEGORY_TTL)
                .build(),
            products: super::cache::Products::new(),
            db,
        }
    }

    /// Every category, root first and then by name within each level, with how many
    /// products it and its descendants hold (counted at most `CATEGORY_TTL` ago).
    pub async fn categories(&self) -> Result<Arc<Vec<Category>>, CatalogError> {
        self.categories
            .try_get_with((), async { self.load_categories().await.map(Arc::new) })
            .await
            .map_err(|e| (*e).clone())
    }

    /// Forgets the cached category tree, so the next read counts afresh.
    pub async fn invalidate_categories(&self) {
        self.categories.invalidate(&()).await;
    }

    async fn load_categories(&self) -> Result<Vec<Category>, CatalogError> {
        let rows = sqlx::query(
            "SELECT id, parent_id, name, path, depth FROM categories ORDER BY depth, name",
        )
        .fetch_all(self.db.pool())
        .await?;
        let counts: Vec<(i64, i64)> =
            sqlx::query_as("SELECT category_id, COUNT(*) FROM products GROUP BY category_id")
                .fetch_all(self.db.pool())
                .await?;
        let direct: HashMap<i64, i64> = counts.into_iter().collect();
        let mut categories = rows
            .iter()
            .map(|r| {
                Ok(Category {
                    id: CategoryId::new(r.try_get("id")?),
                    parent_id: r
                        .try_get::<Option<i64>, _>("parent_id")?
                        .map(CategoryId::new),
                    name: r.try_get("name")?,
                    path: stored_path(r.try_get("path")?)?,
                    depth: u32::try_from(r.try_get::<i64, _>("depth")?).unwrap_or(0),
                    product_count: 0,
                })
            })
            .collect::<Result<Vec<_>, CatalogError>>()?;
        // Roll each category's own count up to every ancestor.
        let by_path: HashMap<String, usize> = categories
            .iter()
            .enumerate()
            .map(|(i, c)| (c.path.as_str().to_string(), i))
            .collect();
        let own: Vec<(CategoryPath, u64)> = categories
            .iter()
            .map(|c| {
                let n = direct.get(&c.id.get()).copied().unwrap_or(0);
                (c.path.clone(), u64::try_from(n).unwrap_or(0))
            })
            .collect();
        for (path, n) in own {
            for ancestor in path.lineage() {
                if let Some(i) = by_path.get(&ancestor) {
                    categories[*i].product_count += n;
                }
            }
        }
        Ok(categories)
    }

    /// The home page: departments, the best-rated products and the newest.
    pub async fn home(&self) -> Result<HomePage, CatalogError> {
        let categories = self.categories().await?;
        let product_count = categories
            .iter()
            .filter(|c| c.depth == 0)
            .map(|c| c.product_count)
            .sum();
        let featured = self
            .list(
                None,
                Sort::Featured,
                PageRequest {
                    page: 1,
                    per_page: 8,
                },
            )
            .await?
            .items;
        let newest = self
            .list(
                None,
                Sort::Newest,
                PageRequest {
                    page: 1,
                    per_page: 4,
                },
            )
            .await?
            .items;
        Ok(HomePage {
            departments: categories
                .iter()
                .filter(|c| c.depth == 0)
                .cloned()
                .collect(),
            featured,
            newest,
            product_count,
        })
    }

    /// One page of products, in `category` and its descendants if given.
    pub async fn list(
        &self,
        category: Option<&CategoryPath>,
        sort: Sort,
        page: PageRequest,
    ) -> Result<Page<ProductCard>, CatalogError> {
        let filter = match category {
            Some(_) => {
                "WHERE p.category_id IN \
                 (SELECT id FROM categories WHERE path = $1 OR path LIKE $2)"
            }
            None => "WHERE $1 = $1 AND $2 = $2",
        };
        let order = match sort {
            Sort::Featured => "p.rating DESC NULLS LAST, p.id",
            Sort::PriceAsc => "p.price_from, p.id",
            Sort::PriceDesc => "p.price_from DESC, p.id",
            Sort::Newest => "p.created_at DESC, p.id DESC",
            Sort::Name => "LOWER(p.title), p.id",
        };
        let (path, prefix) = match category {
            Some(c) => (c.as_str().to_string(), format!("{c}/%")),
            None => (String::new(), String::new()),
        };
        // The page without its stock comes from the listings cache (see `cache.rs`).
        let key = (path.clone(), format!("{sort:?}"), page.page, page.per_page);
        let cached = self
            .products
            .listings
            .try_get_with(key, async {
                self.load_listing(filter, order, &path, &prefix, page)
                    .await
                    .map(Arc::new)
            })
            .await
            .map_err(|e| (*e).clone())?;
        let (total, ref items) = *cached;
        let mut items = items.clone();
        self.fill_availability(&mut items).await?;
        Ok(Page {
            items,
            total,
            page: page.page,
            per_page: page.per_page,
        })
    }

    /// One page of a listing from the database, and how many products it has in all.
    async fn load_listing(
        &self,
        filter: &str,
        order: &str,
        path: &str,
        prefix: &str,
        page: PageRequest,
    ) -> Result<(u64, Vec<ProductCard>), CatalogError> {
        let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM products p {filter}"))
            .bind(path)
            .bind(prefix)
            .fetch_one(self.db.pool())
            .await?;
        let rows = sqlx::query(&format!(
            "SELECT {CARD_COLUMNS} FROM products p JOIN categories c ON c.id = p.category_id \
             {filter} ORDER BY {order} LIMIT $3 OFFSET $4"
        ))
        .bind(path)
        .bind(prefix)
        .bind(i64::from(page.per_page))
        .bind(page.offset())
        .fetch_all(self.db.pool())
        .await?;
        let items = rows.iter().map(card).collect::<Result<Vec<_>, _>>()?;
        Ok((u64::try_from(total).unwrap_or(0), items))
    }

    /// Products whose title, brand or category name contains every search word, best rated
    /// first. This is the plain database search; the search index (when there is one) is
    /// better, and this stays as its fallback.
    pub async fn search(
        &self,
        text: &SearchText,
        page: PageRequest,
    ) -> Result<Page<ProductCard>, CatalogError> {
        if text.is_empty() {
            return Ok(Page {
                items: vec![],
                total: 0,
                page: page.page,
                per_page: page.per_page,
            });
        }
        // Terms are letters and digits only (see `SearchText`), so they hold no LIKE wildcards.
        let filter = (1..=text.terms.len())
            .map(|i| {
                format!(
                    "(LOWER(p.title) LIKE ${i} OR LOWER(COALESCE(p.brand, '')) LIKE ${i} \
                     OR LOWER(c.name) LIKE ${i})"
                )
            })
            .collect::<Vec<_>>()
            .join(" AND ");
        let n = text.terms.len();
        let patterns: Vec<String> = text.terms.iter().map(|t| format!("%{t}%")).collect();
        let count_sql = format!(
            "SELECT COUNT(*) FROM products p JOIN categories c ON c.id = p.category_id \
             WHERE {filter}"
        );
        let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
        for p in &patterns {
            count = count.bind(p);
        }
        let total = count.fetch_one(self.db.pool()).await?;
        let sql = format!(
            "SELECT {CARD_COLUMNS} FROM products p JOIN categories c ON c.id = p.category_id \
             WHERE {filter} ORDER BY p.rating DESC NULLS LAST, p.id LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        );
        let mut query = sqlx::query(&sql);
        for p in &patterns {
            query = query.bind(p);
        }
        let rows = query
            .bind(i64::from(page.per_page))
            .bind(page.offset())
            .fetch_all(self.db.pool())
            .await?;
        let mut items = rows.iter().map(card).collect::<Result<Vec<_>, _>>()?;
        self.fill_availability(&mut items).await?;
        Ok(Page {
            items,
            total: u64::try_from(total).unwrap_or(0),
            page: page.page,
            per_page: page.per_page,
        })
    }

    /// A category's page: the category, its children, and a page of its products.
    pub async fn category_page(
        &self,
        path: &CategoryPath,
        sort: Sort,
        page: PageRequest,
    ) -> Result<CategoryPage, CatalogError> {
        let categories = self.categories().await?;
        let category = categories
            .iter()
            .find(|c| c.path == *path)
            .cloned()
            .ok_or(CatalogError::CategoryNotFound)?;
        let breadcrumbs = crumbs(&categories, path);
        let children = categories
            .iter()
            .filter(|c| c.parent_id == Some(category.id) && c.product_count > 0)
            .cloned()
            .collect();
        let products = self.list(Some(path), sort, page).await?;
        Ok(CategoryPage {
            category,
            breadcrumbs,
            children,
            sort,
            products,
        })
    }

    /// A product by its slug.
    pub async fn product_by_slug(&self, slug: &str) -> Result<ProductDetail, CatalogError> {
        // A string that cannot be a slug cannot name a product; no need to ask the database.
        let slug = Slug::parse(slug).map_err(|_| CatalogError::ProductNotFound)?;
        self.product_where(Key::Slug(slug)).await
    }

    /// A product by its id.
    pub async fn product_by_id(&self, id: ProductId) -> Result<ProductDetail, CatalogError> {
        self.product_where(Key::Id(id)).await
    }

    /// The cached product with its live stock: one query when the product is cached.
    async fn product_where(&self, key: Key) -> Result<ProductDetail, CatalogError> {
        let mut detail = ProductDetail::clone(&*self.cached_product(key).await?);
        let ids: Vec<VariantId> = detail.variants.iter().map(|v| v.id).collect();
        let available = self.inventory.available(&ids).await?;
        for v in &mut detail.variants {
            v.available = available.get(&v.id).copied().unwrap_or(0);
        }
        Ok(detail)
    }

    /// A product from the database, without stock (what the cache keeps).
    pub(super) async fn load_product(&self, key: Key) -> Result<ProductDetail, CatalogError> {
        self.products.count_load();
        let condition = match key {
            Key::Slug(_) => "p.slug = $1",
            Key::Id(_) => "p.id = $1",
        };
        let sql = format!(
            "SELECT p.id, p.external_id, p.source, p.slug, p.title, p.description, p.brand, \
             p.product_class, p.rating, s.name AS seller, c.path AS category_path \
             FROM products p JOIN sellers s ON s.id = p.seller_id \
             JOIN categories c ON c.id = p.category_id WHERE {condition}"
        );
        let query = sqlx::query(&sql);
        let query = match &key {
            Key::Slug(slug) => query.bind(slug.as_str()),
            Key::Id(id) => query.bind(id.get()),
        };
        let row = query
            .fetch_optional(self.db.pool())
            .await?
            .ok_or(CatalogError::ProductNotFound)?;
        let id: i64 = row.try_get("id")?;
        let category_path = stored_path(row.try_get("category_path")?)?;

        let lineage = category_path.lineage();
        let crumb_sql = format!(
            "SELECT name, path FROM categories WHERE path IN ({}) ORDER BY depth",
            placeholders(1, lineage.len())
        );
        let mut crumb_query = sqlx::query(&crumb_sql);
        for p in &lineage {
            crumb_query = crumb_query.bind(p);
        }
        let breadcrumbs = crumb_query
            .fetch_all(self.db.pool())
            .await?
            .iter()
            .map(|r| {
                Ok(Crumb {
                    name: r.try_get("name")?,
                    path: stored_path(r.try_get("path")?)?,
                })
            })
            .collect::<Result<Vec<_>, CatalogError>>()?;

        let variant_rows = sqlx::query(
            "SELECT id, sku, options, price_amount, currency FROM variants \
             WHERE product_id = $1 ORDER BY position, id",
        )
        .bind(id)
        .fetch_all(self.db.pool())
        .await?;
        let variants = variant_rows
            .iter()
            .map(|r| {
                let options: String = r.try_get("options")?;
                Ok(Variant {
                    id: VariantId::new(r.try_get("id")?),
                    sku: Sku::parse(&r.try_get::<String, _>("sku")?)
                        .map_err(|e| CatalogError::Corrupt(e.to_string()))?,
                    options: serde_json::from_str::<Vec<VariantOption>>(&options)
                        .map_err(|e| CatalogError::Corrupt(format!("variant options: {e}")))?,
                    price: money(
                        r.try_get("price_amount")?,
                        &r.try_get::<String, _>("currency")?,
                    )?,
                    available: 0,
                })
            })
            .collect::<Result<Vec<_>, CatalogError>>()?;
        Ok(ProductDetail {
            id: ProductId::new(id),
            external_id: row.try_get("external_id")?,
            source: row.try_get("source")?,
            slug: stored_slug(row.try_get("slug")?)?,
            title: row.try_get("title")?,
            description: row.try_get("description")?,
            brand: row.try_get("brand")?,
            product_class: row.try_get("product_class")?,
            rating: rating(row.try_get("rating")?)?,
            seller: row.try_get("seller")?,
            breadcrumbs,
            variants,
            pictures: Vec::new(),
        })
    }

    /// The variants with `ids`, with their product's title and current price, in one query.
    pub async fn variants(
        &self,
        ids: &[VariantId],
    ) -> Result<HashMap<VariantId, VariantSummary>, CatalogError> {
        let mut conn = self.db.pool().acquire().await?;
        variants_in(&mut conn, ids).await
    }

    /// The variant with `sku`, if there is one.
    pub async fn variant_by_sku(&self, sku: &Sku) -> Result<Option<VariantSummary>, CatalogError> {
        let row = sqlx::query(&format!("{VARIANT_SUMMARY} WHERE v.sku = $1"))
            .bind(sku.as_str())
            .fetch_optional(self.db.pool())
            .await?;
        row.as_ref().map(variant_summary).transpose()
    }

    /// Live units available per product, summed over variants and warehouses: the
    /// product's variants in one query, their stock in one.
    pub async fn availability(
        &self,
        products: &[ProductId],
    ) -> Result<HashMap<ProductId, i64>, CatalogError> {
        Ok(self
            .listing_stock(products)
            .await?
            .into_iter()
            .map(|(id, stock)| (id, stock.available))
            .collect())
    }

    /// Live units available per product (all variants, all warehouses), and the SKU of
    /// products that have only one variant (a listing can offer "add to cart" for those):
    /// two queries for the whole page.
    pub async fn listing_stock(
        &self,
        products: &[ProductId],
    ) -> Result<HashMap<ProductId, ListingStock>, CatalogError> {
        if products.is_empty() {
            return Ok(HashMap::new());
        }
        let sql = format!(
            "SELECT id, product_id, sku FROM variants WHERE product_id IN ({})",
            placeholders(1, products.len())
        );
        let mut query = sqlx::query_as::<_, (i64, i64, String)>(&sql);
        for p in products {
            query = query.bind(p.get());
        }
        let rows = query.fetch_all(self.db.pool()).await?;
        let ids: Vec<VariantId> = rows.iter().map(|(v, _, _)| VariantId::new(*v)).collect();
        let available = self.inventory.available(&ids).await?;
        let mut per_product: HashMap<ProductId, (ListingStock, usize)> = HashMap::new();
        for (variant, product, sku) in rows {
            let (stock, variants) = per_product.entry(ProductId::new(product)).or_default();
            stock.available += available
                .get(&VariantId::new(variant))
                .copied()
                .unwrap_or(0);
            *variants += 1;
            stock.only_sku = (*variants == 1).then(|| Sku::parse(&sku).ok()).flatten();
        }
        Ok(per_product
            .into_iter()
            .map(|(id, (stock, _))| (id, stock))
            .collect())
    }

    /// The cards of these products, in the order given (unknown ids left out), with live
    /// availability.
    pub async fn cards(&self, ids: &[ProductId]) -> Result<Vec<ProductCard>, CatalogError> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let sql = format!(
            "SELECT {CARD_COLUMNS} FROM products p JOIN categories c ON c.id = p.category_id \
             WHERE p.id IN ({})",
            placeholders(1, ids.len())
        );
        let mut query = sqlx::query(&sql);
        for id in ids {
            query = query.bind(id.get());
        }
        let rows = query.fetch_all(self.db.pool()).await?;
        let mut found: HashMap<ProductId, ProductCard> = HashMap::new();
        for row in &rows {
            let c = card(row)?;
            found.insert(c.id, c);
        }
        let mut items: Vec<ProductCard> = ids.iter().filter_map(|id| found.remove(id)).collect();
        self.fill_availability(&mut items).await?;
        Ok(items)
    }

    /// Sets each card's live availability.
    async fn fill_availability(&self, cards: &mut [ProductCard]) -> Result<(), CatalogError> {
        let ids: Vec<ProductId> = cards.iter().map(|c| c.id).collect();
        let available = self.availability(&ids).await?;
        for c in cards {
            c.available = available.get(&c.id).copied().unwrap_or(0);
        }
        Ok(())
    }
}

/// `Catalog::variants` inside the caller's transaction (the checkout prices its snapshot in
/// the same transaction that reads the cart).
pub async fn variants_in(
    conn: &mut crate::db::AnyConnection,
    ids: &[VariantId],
) -> Result<HashMap<VariantId, VariantSummary>, CatalogError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "{VARIANT_SUMMARY} WHERE v.id IN ({})",
        placeholders(1, ids.len())
    );
    let mut query = sqlx::query(&sql);
    for id in ids {
        query = query.bind(id.get());
    }
    let rows = query.fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| variant_summary(r).map(|v| (v.id, v)))
        .collect()
}

const VARIANT_SUMMARY: &str = "SELECT v.id, v.sku, v.product_id, v.options, v.price_amount, \
    v.currency, p.title, p.slug, p.seller_id, p.weight_grams \
    FROM variants v JOIN products p ON p.id = v.product_id";

fn variant_summary(r: &AnyRow) -> Result<VariantSummary, CatalogError> {
    let options: String = r.try_get("options")?;
    Ok(VariantSummary {
        id: VariantId::new(r.try_get("id")?),
        sku: Sku::parse(&r.try_get::<String, _>("sku")?)
            .map_err(|e| CatalogError::Corrupt(e.to_string()))?,
        product_id: ProductId::new(r.try_get("product_id")?),
        title: r.try_get("title")?,
        slug: stored_slug(r.try_get("slug")?)?,
        options: serde_json::from_str(&options)
            .map_err(|e| CatalogError::Corrupt(format!("variant options: {e}")))?,
        price: money(
            r.try_get("price_amount")?,
            &r.try_get::<String, _>("currency")?,
        )?,
        seller_id: r.try_get("seller_id")?,
        weight_grams: r.try_get("weight_grams")?,
    })
}

/// How a product page names its product.
pub(super) enum Key {
    Slug(Slug),
    Id(ProductId),
}

fn card(r: &AnyRow) -> Result<ProductCard, CatalogError> {
    let currency: String = r.try_get("currency")?;
    let from: i64 = r.try_get("price_from")?;
    let to: i64 = r.try_get("price_to")?;
    Ok(ProductCard {
        id: ProductId::new(r.try_get("id")?),
        external_id: r.try_get("external_id")?,
        slug: stored_slug(r.try_get("slug")?)?,
        title: r.try_get("title")?,
        brand: r.try_get("brand")?,
        category: r.try_get("category_name")?,
        price_from: money(from, &currency)?,
        price_varies: to != from,
        rating: rating(r.try_get("rating")?)?,
        available: 0,
        picture: None,
    })
}

fn crumbs(categories: &[Category], path: &CategoryPath) -> Vec<Crumb> {
    path.lineage()
        .iter()
        .filter_map(|p| categories.iter().find(|c| c.path.as_str() == p))
        .map(|c| Crumb {
            name: c.name.clone(),
            path: c.path.clone(),
        })
        .collect()
}

fn money(amount: i64, currency: &str) -> Result<Money, CatalogError> {
    let currency = Currency::parse(currency).map_err(|e| CatalogError::Corrupt(e.to_string()))?;
    Ok(Money::new(amount, currency))
}

fn rating(hundredths: Option<i64>) -> Result<Option<Rating>, CatalogError> {
    hundredths
        .map(Rating::from_hundredths)
        .transpose()
        .map_err(|e| CatalogError::Corrupt(e.to_string()))
}

fn stored_slug(text: String) -> Result<Slug, CatalogError> {
    Slug::parse(&text).map_err(|e| CatalogError::Corrupt(format!("{text}: {e}")))
}

fn stored_path(text: String) -> Result<CategoryPath, CatalogError> {
    CategoryPath::parse(&text).map_err(|e| CatalogError::Corrupt(format!("{text}: {e}")))
}
