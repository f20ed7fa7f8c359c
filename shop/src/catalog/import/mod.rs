//! Importing products from files: the demo catalog (DummyJSON and WANDS), any file of those
//! two formats, and a deterministic synthetic catalog of any size for benchmarks.
//!
//! An import happens in two phases. First the whole file is parsed into rows; a file that is
//! not of a known format, or is corrupt as a whole, fails here and nothing is written. Then
//! the rows are written in batches, each row inside its own savepoint: a row that is bad
//! (missing title, negative price, a SKU owned by another product) is reported with its
//! line number and skipped, and the rest load. Re-importing updates products in place, keyed
//! by `(source, external_id)`; a row identical to what is stored writes nothing.
//!
//! Stock is received only the first time a SKU is seen in a warehouse: after that, stock
//! belongs to the inventory context (sales, holds and adjustments), and a re-import must not
//! overwrite what happened since.

pub mod demo;
pub mod derive;
mod dummyjson;
mod synthetic;
mod wands;

pub use synthetic::{synthetic, synthetic_vocabulary};

use super::{Rating, Sku, Slug, VariantOption};
use crate::Money;
use crate::clock::Millis;
use crate::db::{AnyConnection, Db, is_unique_violation};
use crate::failure::{Failure, FailureKind};
use crate::inventory;
use indicatif::ProgressBar;
use sqlx::{Acquire, Row};
use std::collections::HashMap;
use std::fmt;

/// The seller a product is listed by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SellerInput {
    pub slug: String,
    pub name: String,
}

/// Units of a variant to receive into one warehouse (by its code).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StockInput {
    pub warehouse: String,
    pub quantity: i64,
}

/// One SKU of a product as a source describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct VariantInput {
    pub sku: Sku,
    pub options: Vec<VariantOption>,
    pub price: Money,
    pub stock: Vec<StockInput>,
}

/// One product as a source describes it, already checked field by field.
#[derive(Clone, Debug, PartialEq)]
pub struct ProductInput {
    /// Which dataset or feed it came from (`dummyjson`, `wands`, `synthetic`).
    pub source: String,
    /// Its id in that source.
    pub external_id: String,
    pub seller: SellerInput,
    /// Category names from the root down, e.g. `["Furniture", "Beds"]`.
    pub category: Vec<String>,
    pub title: String,
    pub description: String,
    pub brand: Option<String>,
    pub product_class: Option<String>,
    pub rating: Option<Rating>,
    /// Grams, when the source knows (by-weight shipping).
    pub weight_grams: Option<i64>,
    pub variants: Vec<VariantInput>,
}

/// A row that was refused, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    /// 1-based line in the file where the row starts.
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// A parsed row: where it starts in the file, and the product to write or why it cannot be.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedRow {
    pub line: usize,
    pub product: Result<ProductInput, String>,
}

/// Why an import as a whole failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file is not of a format the importer knows, or is corrupt as a whole.
    #[error("{0}")]
    File(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl Failure for ImportError {
    fn kind(&self) -> FailureKind {
        match self {
            ImportError::File(_) => FailureKind::Refused,
            ImportError::Database(e) => e.kind(),
        }
    }

    fn public_message(&self) -> String {
        match self {
            ImportError::File(reason) => reason.clone(),
            ImportError::Database(e) => e.public_message(),
        }
    }
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub skipped: Vec<RowError>,
}

impl ImportReport {
    pub fn rows(&self) -> usize {
        self.created + self.updated + self.unchanged + self.skipped.len()
    }
}

/// The formats `parse` understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// DummyJSON's `products.json`: a JSON array of products, or `{"products": [...]}`.
    DummyJson,
    /// WANDS' `product.tsv`: `product_id, product_name, product_class, category_hierarchy`.
    WandsTsv,
}

impl Format {
    /// Picks the format from the file name, or else from the first bytes.
    pub fn detect(file_name: &str, text: &str) -> Result<Self, ImportError> {
        let lower = file_name.to_ascii_lowercase();
        if lower.ends_with(".json") {
            return Ok(Format::DummyJson);
        }
        if lower.ends_with(".tsv") {
            return Ok(Format::WandsTsv);
        }
        match text.trim_start().chars().next() {
            Some('[' | '{') => Ok(Format::DummyJson),
            _ if text.starts_with(wands::HEADER) => Ok(Format::WandsTsv),
            _ => Err(ImportError::File(format!(
                "{file_name}: unknown format; expected DummyJSON products (.json) or a WANDS \
                 product table (.tsv)"
            ))),
        }
    }
}

/// Parses a whole file into rows. Fails, writing nothing, when the file as a whole is
/// unreadable; a bad row only becomes a `RowError` among the others.
pub fn parse(file_name: &str, text: &str) -> Result<Vec<ParsedRow>, ImportError> {
    match Format::detect(file_name, text)? {
        Format::DummyJson => dummyjson::parse(text),
        Format::WandsTsv => wands::parse(text),
    }
    .map_err(|e| ImportError::File(format!("{file_name}: {e}")))
}

/// Rows written per transaction: large enough to amortise the commit, small enough that a
/// long import never holds the SQLite write lock for long.
const BATCH: usize = 200;

/// Writes parsed rows to the catalog and inventory, ticking `progress` once per row.
pub async fn apply(
    db: &Db,
    rows: impl IntoIterator<Item = ParsedRow>,
    now: Millis,
    progress: &ProgressBar,
) -> Result<ImportReport, ImportError> {
    let mut report = ImportReport::default();
    let mut ids = IdCache::default();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let mut tx = db.begin_write().await?;
        for row in rows.by_ref().take(BATCH) {
            progress.inc(1);
            let line = row.line;
            let input = match row.product {
                Ok(input) => input,
                Err(reason) => {
                    report.skipped.push(RowError { line, reason });
                    continue;
                }
            };
            let mut savepoint = tx.begin().await?;
            ids.mark();
            match write_product(&mut savepoint, &mut ids, &input, now).await {
                Ok(outcome) => {
                    savepoint.commit().await?;
                    match outcome {
                        Outcome::Created => report.created += 1,
                        Outcome::Updated => report.updated += 1,
                        Outcome::Unchanged => report.unchanged += 1,
                    }
                }
                Err(RowFailure::Refused(reason)) => {
                    // Categories or sellers this row created are rolled back with it.
                    savepoint.rollback().await?;
                    ids.undo();
                    report.skipped.push(RowError { line, reason });
                }
                Err(RowFailure::Database(e)) => return Err(e.into()),
            }
        }
        tx.commit().await?;
    }
    Ok(report)
}

enum Outcome {
    Created,
    Updated,
    Unchanged,
}

enum RowFailure {
    /// The row breaks a rule; it is skipped.
    Refused(String),
    /// The database failed; the import stops.
    Database(sqlx::Error),
}

impl From<sqlx::Error> for RowFailure {
    fn from(e: sqlx::Error) -> Self {
        RowFailure::Database(e)
    }
}

/// Ids of rows that other products share, remembered for the length of one import.
///
/// A row that is refused rolls back to its savepoint, taking any seller or category it
/// created with it; `undo` forgets exactly those ids so later rows create them again.
#[derive(Default)]
struct IdCache {
    sellers: HashMap<String, i64>,
    categories: HashMap<String, i64>,
    warehouses: HashMap<String, i64>,
    /// Keys added since the last `mark`, by map.
    added: Vec<(Kind, String)>,
}

#[derive(Clone, Copy)]
enum Kind {
    Seller,
    Category,
    Warehouse,
}

impl IdCache {
    fn map(&mut self, kind: Kind) -> &mut HashMap<String, i64> {
        match kind {
            Kind::Seller => &mut self.sellers,
            Kind::Category => &mut self.categories,
            Kind::Warehouse => &mut self.warehouses,
        }
    }

    fn insert(&mut self, kind: Kind, key: &str, id: i64) {
        self.map(kind).insert(key.to_string(), id);
        self.added.push((kind, key.to_string()));
    }

    fn mark(&mut self) {
        self.added.clear();
    }

    fn undo(&mut self) {
        for (kind, key) in std::mem::take(&mut self.added) {
            self.map(kind).remove(&key);
        }
    }
}

async fn write_product(
    conn: &mut AnyConnection,
    ids: &mut IdCache,
    input: &ProductInput,
    now: Millis,
) -> Result<Outcome, RowFailure> {
    derive::check(input).map_err(RowFailure::Refused)?;
    let seller_id = seller_id(conn, ids, &input.seller, now).await?;
    let category_id = category_id(conn, ids, &input.category, now).await?;
    let currency = input.variants[0].price.currency;
    let prices = input.variants.iter().map(|v| v.price.amount);
    let (price_from, price_to) = (prices.clone().min().unwrap_or(0), prices.max().unwrap_or(0));

    let existing = sqlx::query(
        "SELECT id, seller_id, category_id, title, description, brand, product_class, rating, \
         weight_grams FROM products WHERE source = $1 AND external_id = $2",
    )
    .bind(&input.source)
    .bind(&input.external_id)
    .fetch_optional(&mut *conn)
    .await?;

    let rating = input.rating.map(Rating::hundredths);
    let (product_id, mut outcome) = match existing {
        Some(row) => {
            let id: i64 = row.try_get("id")?;
            let same = row.try_get::<i64, _>("seller_id")? == seller_id
                && row.try_get::<i64, _>("category_id")? == category_id
                && row.try_get::<String, _>("title")? == input.title
                && row.try_get::<String, _>("description")? == input.description
                && row.try_get::<Option<String>, _>("brand")? == input.brand
                && row.try_get::<Option<String>, _>("product_class")? == input.product_class
                && row.try_get::<Option<i64>, _>("rating")? == rating
                && row.try_get::<Option<i64>, _>("weight_grams")? == input.weight_grams;
            if !same {
                sqlx::query(
                    "UPDATE products SET seller_id = $1, category_id = $2, title = $3, \
                     description = $4, brand = $5, product_class = $6, rating = $7, \
                     updated_at = $8, weight_grams = $10 WHERE id = $9",
                )
                .bind(seller_id)
                .bind(category_id)
                .bind(&input.title)
                .bind(&input.description)
                .bind(&input.brand)
                .bind(&input.product_class)
                .bind(rating)
                .bind(now)
                .bind(id)
                .bind(input.weight_grams)
                .execute(&mut *conn)
                .await?;
            }
            (
                id,
                if same {
                    Outcome::Unchanged
                } else {
                    Outcome::Updated
                },
            )
        }
        None => {
            let slug = free_slug(conn, &input.title).await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO products (seller_id, category_id, slug, title, description, brand, \
                 product_class, rating, price_from, price_to, currency, source, external_id, \
                 created_at, updated_at, weight_grams) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15) \
                 RETURNING id",
            )
            .bind(seller_id)
            .bind(category_id)
            .bind(slug.as_str())
            .bind(&input.title)
            .bind(&input.description)
            .bind(&input.brand)
            .bind(&input.product_class)
            .bind(rating)
            .bind(price_from)
            .bind(price_to)
            .bind(currency.code())
            .bind(&input.source)
            .bind(&input.external_id)
            .bind(now)
            .bind(input.weight_grams)
            .fetch_one(&mut *conn)
            .await?;
            (id, Outcome::Created)
        }
    };

    let mut variants_changed = false;
    for (position, variant) in input.variants.iter().enumerate() {
        let position = i64::try_from(position).unwrap_or(i64::MAX);
        let (variant_id, changed) = write_variant(conn, product_id, variant, position, now).await?;
        variants_changed |= changed;
        for stock in &variant.stock {
            let warehouse_id = warehouse_id(conn, ids, &stock.warehouse, now).await?;
            let reference = format!("{}:{}", input.source, input.external_id);
            let received = inventory::receive_initial(
                conn,
                variant_id,
                warehouse_id,
                stock.quantity,
                &reference,
                now,
            )
            .await?;
            variants_changed |= received;
        }
    }
    if variants_changed {
        // Keep the denormalised price range in step with every variant, old and new.
        sqlx::query(
            "UPDATE products SET \
             price_from = (SELECT MIN(price_amount) FROM variants WHERE product_id = $1), \
             price_to = (SELECT MAX(price_amount) FROM variants WHERE product_id = $1), \
             currency = $2, updated_at = $3 WHERE id = $1",
        )
        .bind(product_id)
        .bind(currency.code())
        .bind(now)
        .execute(&mut *conn)
        .await?;
        if matches!(outcome, Outcome::Unchanged) {
            outcome = Outcome::Updated;
        }
    }
    if !matches!(outcome, Outcome::Unchanged) {
        crate::events::emit(
            conn,
            crate::events::PRODUCT_CHANGED,
            &product_id.to_string(),
            &serde_json::json!({ "product_id": product_id }),
            now,
        )
        .await?;
    }
    Ok(outcome)
}

/// Inserts or updates one variant; returns its id and whether anything changed.
async fn write_variant(
    conn: &mut AnyConnection,
    product_id: i64,
    variant: &VariantInput,
    position: i64,
    now: Millis,
) -> Result<(i64, bool), RowFailure> {
    let options = serde_json::to_string(&variant.options)
        .map_err(|e| RowFailure::Refused(format!("options cannot be stored: {e}")))?;
    let existing = sqlx::query(
        "SELECT id, product_id, options, price_amount, currency, position FROM variants \
         WHERE sku = $1",
    )
    .bind(variant.sku.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    match existing {
        Some(row) => {
            let id: i64 = row.try_get("id")?;
            if row.try_get::<i64, _>("product_id")? != product_id {
                return Err(RowFailure::Refused(format!(
                    "SKU {} already belongs to another product",
                    variant.sku
                )));
            }
            let same = row.try_get::<String, _>("options")? == options
                && row.try_get::<i64, _>("price_amount")? == variant.price.amount
                && row.try_get::<String, _>("currency")? == variant.price.currency.code()
                && row.try_get::<i64, _>("position")? == position;
            if !same {
                sqlx::query(
                    "UPDATE variants SET options = $1, price_amount = $2, currency = $3, \
                     position = $4, updated_at = $5 WHERE id = $6",
                )
                .bind(&options)
                .bind(variant.price.amount)
                .bind(variant.price.currency.code())
                .bind(position)
                .bind(now)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            }
            Ok((id, !same))
        }
        None => {
            let id = sqlx::query_scalar(
                "INSERT INTO variants (product_id, sku, options, price_amount, currency, \
                 position, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
                 RETURNING id",
            )
            .bind(product_id)
            .bind(variant.sku.as_str())
            .bind(&options)
            .bind(variant.price.amount)
            .bind(variant.price.currency.code())
            .bind(position)
            .bind(now)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    RowFailure::Refused(format!("SKU {} is already taken", variant.sku))
                } else {
                    RowFailure::Database(e)
                }
            })?;
            Ok((id, true))
        }
    }
}

/// A slug for a new product: its title's, or that with `-2`, `-3`, … when taken.
///
/// Each probe is an equality lookup on the unique index (a `LIKE 'slug-%'` scan would make a
/// large import quadratic: SQLite cannot use an index for a case-insensitive LIKE).
async fn free_slug(conn: &mut AnyConnection, title: &str) -> Result<Slug, RowFailure> {
    let base = Slug::from_text(title).ok_or_else(|| {
        RowFailure::Refused("title has no letters or digits to make a link from".into())
    })?;
    for n in 1..=MAX_SLUG_PROBES {
        let candidate = if n == 1 {
            base.to_string()
        } else {
            format!("{base}-{n}")
        };
        let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM products WHERE slug = $1")
            .bind(&candidate)
            .fetch_optional(&mut *conn)
            .await?;
        if taken.is_none() {
            return Slug::parse(&candidate).map_err(|e| RowFailure::Refused(e.to_string()));
        }
    }
    Err(RowFailure::Refused(format!(
        "{MAX_SLUG_PROBES} products already have this title; give this one a distinct title"
    )))
}

/// How many `-2`, `-3`, … suffixes to try before refusing a title.
const MAX_SLUG_PROBES: u32 = 100;

async fn seller_id(
    conn: &mut AnyConnection,
    ids: &mut IdCache,
    seller: &SellerInput,
    now: Millis,
) -> Result<i64, RowFailure> {
    if let Some(id) = ids.sellers.get(&seller.slug) {
        return Ok(*id);
    }
    Slug::parse(&seller.slug).map_err(|e| RowFailure::Refused(format!("seller {e}")))?;
    sqlx::query(
        "INSERT INTO sellers (slug, name, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (slug) DO NOTHING",
    )
    .bind(&seller.slug)
    .bind(&seller.name)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let id: i64 = sqlx::query_scalar("SELECT id FROM sellers WHERE slug = $1")
        .bind(&seller.slug)
        .fetch_one(&mut *conn)
        .await?;
    ids.insert(Kind::Seller, &seller.slug, id);
    Ok(id)
}

/// Finds or creates each category on the way from the root to `names`' last entry.
async fn category_id(
    conn: &mut AnyConnection,
    ids: &mut IdCache,
    names: &[String],
    now: Millis,
) -> Result<i64, RowFailure> {
    if names.is_empty() {
        return Err(RowFailure::Refused("has no category".into()));
    }
    let mut path = String::new();
    let mut parent: Option<i64> = None;
    for (depth, name) in names.iter().enumerate() {
        let name = name.trim();
        let slug = Slug::from_text(name).ok_or_else(|| {
            RowFailure::Refused(format!("category name {name:?} has no letters or digits"))
        })?;
        if !path.is_empty() {
            path.push('/');
        }
        path.push_str(slug.as_str());
        if let Some(id) = ids.categories.get(&path) {
            parent = Some(*id);
            continue;
        }
        sqlx::query(
            "INSERT INTO categories (parent_id, slug, path, name, depth, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (path) DO NOTHING",
        )
        .bind(parent)
        .bind(slug.as_str())
        .bind(&path)
        .bind(name)
        .bind(i64::try_from(depth).unwrap_or(0))
        .bind(now)
        .execute(&mut *conn)
        .await?;
        let id: i64 = sqlx::query_scalar("SELECT id FROM categories WHERE path = $1")
            .bind(&path)
            .fetch_one(&mut *conn)
            .await?;
        ids.insert(Kind::Category, &path, id);
        parent = Some(id);
    }
    parent.ok_or_else(|| RowFailure::Refused("has no category".into()))
}

async fn warehouse_id(
    conn: &mut AnyConnection,
    ids: &mut IdCache,
    code: &str,
    now: Millis,
) -> Result<i64, RowFailure> {
    if let Some(id) = ids.warehouses.get(code) {
        return Ok(*id);
    }
    let name = derive::WAREHOUSES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, n)| n.to_string())
        .unwrap_or_else(|| format!("Warehouse {code}"));
    let id = inventory::ensure_warehouse(conn, code, &name, now).await?;
    ids.insert(Kind::Warehouse, code, id);
    Ok(id)
}
