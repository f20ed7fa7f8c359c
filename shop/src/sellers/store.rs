//! The portal's reads and writes, each scoped to one seller in its SQL.

use super::{
    CategoryChoice, Dashboard, DaySales, FieldErrors, LowStock, Movement, ProductDraft,
    SellerProduct, StockRow, VariantDraft, parse_options,
};
use crate::catalog::import::{self, ParsedRow, ProductInput, SellerInput, VariantInput};
use crate::catalog::{Catalog, CatalogError, SellerId, Sku, VariantId, VariantOption};
use crate::clock::{Clock, Millis};
use crate::db::Db;
use crate::failure::{Failure, FailureKind};
use crate::{Currency, Money};
use sqlx::Row;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum SellerError {
    /// Field by field, for the form.
    #[error("the form has mistakes")]
    Invalid(FieldErrors),
    /// Not this seller's (or not at all): the same answer either way.
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl Failure for SellerError {
    fn kind(&self) -> FailureKind {
        match self {
            SellerError::Invalid(_) => FailureKind::Refused,
            SellerError::NotFound => FailureKind::NotFound,
            SellerError::Catalog(e) => e.kind(),
            SellerError::Db(e) => e.kind(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            SellerError::Invalid(_) => "invalid",
            _ => self.kind().code(),
        }
    }

    /// Every mistake of a form at once, `field: what is wrong; …`, so a client can fix them
    /// all in one go.
    fn public_message(&self) -> String {
        match self {
            SellerError::Invalid(errors) => errors
                .0
                .iter()
                .map(|(field, message)| format!("{field}: {message}"))
                .collect::<Vec<_>>()
                .join("; "),
            SellerError::NotFound => "We couldn't find that product or SKU.".into(),
            SellerError::Catalog(e) => e.public_message(),
            SellerError::Db(e) => e.public_message(),
        }
    }
}

impl From<import::ImportError> for SellerError {
    fn from(e: import::ImportError) -> Self {
        match e {
            import::ImportError::Database(e) => SellerError::Db(e),
            import::ImportError::File(reason) => {
                let mut errors = FieldErrors::default();
                errors.add("product", reason);
                SellerError::Invalid(errors)
            }
        }
    }
}

const DAY_MS: Millis = 86_400_000;

/// sku, warehouse, available, held, committed (the warehouse columns are null for a SKU
/// without stock rows).
type StockTuple = (
    String,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);
/// A SKU with this many units or fewer (across warehouses) is "low".
pub const LOW_STOCK: i64 = 5;
const MAX_VARIANTS: usize = 50;

/// The seller portal's service: every call takes the seller it acts for.
#[derive(Clone, Debug)]
pub struct Sellers {
    db: Db,
    catalog: Catalog,
    clock: Arc<dyn Clock>,
}

impl Sellers {
    pub fn new(db: Db, catalog: Catalog, clock: Arc<dyn Clock>) -> Self {
        Self { db, catalog, clock }
    }

    /// The seller's products, most recently changed first, optionally matching `query`.
    pub async fn products(
        &self,
        seller: SellerId,
        query: &str,
        page: i64,
        per_page: i64,
    ) -> Result<(Vec<SellerProduct>, i64), SellerError> {
        let pattern = crate::db::contains_pattern(&query.trim().to_lowercase());
        let matches = "p.seller_id = $1 AND (LOWER(p.title) LIKE $2 ESCAPE '\\' OR EXISTS \
                       (SELECT 1 FROM variants mv WHERE mv.product_id = p.id \
                        AND LOWER(mv.sku) LIKE $2 ESCAPE '\\'))";
        let total: i64 =
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM products p WHERE {matches}"))
                .bind(seller.get())
                .bind(&pattern)
                .fetch_one(self.db.pool())
                .await?;
        let rows = sqlx::query(&format!(
            "SELECT p.id, p.title, p.slug, p.price_from, p.currency, p.updated_at, \
               (SELECT COUNT(*) FROM variants v WHERE v.product_id = p.id) AS variants, \
               CAST((SELECT COALESCE(SUM(s.available), 0) FROM stock_levels s \
                     JOIN variants v ON v.id = s.variant_id WHERE v.product_id = p.id) AS BIGINT) \
                 AS available, \
               (SELECT COUNT(*) FROM product_images i WHERE i.product_id = p.id \
                  AND i.status = 'live') AS pictures \
             FROM products p WHERE {matches} \
             ORDER BY p.updated_at DESC, p.id DESC LIMIT $3 OFFSET $4"
        ))
        .bind(seller.get())
        .bind(&pattern)
        .bind(per_page)
        .bind((page.max(1) - 1) * per_page)
        .fetch_all(self.db.pool())
        .await?;
        let products = rows
            .iter()
            .map(|r| {
                let currency: String = r.try_get("currency")?;
                Ok(SellerProduct {
                    id: r.try_get("id")?,
                    title: r.try_get("title")?,
                    slug: r.try_get("slug")?,
                    price_from: Money::new(
                        r.try_get("price_from")?,
                        Currency::parse(&currency).unwrap_or(Currency::shop()),
                    ),
                    variants: r.try_get("variants")?,
                    available: r.try_get("available")?,
                    pictures: r.try_get("pictures")?,
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?;
        Ok((products, total))
    }

    /// Keeps a product form as typed, with what was wrong with it, for the page a form posted
    /// without JavaScript lands on (`key`: `new`, or the product's id).
    pub async fn keep_draft(
        &self,
        seller: SellerId,
        key: &str,
        draft: &ProductDraft,
        errors: &FieldErrors,
    ) -> Result<(), SellerError> {
        sqlx::query(
            "INSERT INTO product_drafts (seller_id, product_key, fields, errors, updated_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (seller_id, product_key) DO UPDATE SET fields = $3, errors = $4, updated_at = $5",
        )
        .bind(seller.get())
        .bind(key)
        .bind(serde_json::to_string(draft).unwrap_or_default())
        .bind(serde_json::to_string(errors).unwrap_or_default())
        .bind(self.clock.now())
        .execute(self.db.pool())
        .await
        .map_err(SellerError::from)?;
        Ok(())
    }

    /// The form kept for `key`, if any.
    pub async fn kept_draft(
        &self,
        seller: SellerId,
        key: &str,
    ) -> Result<Option<(ProductDraft, FieldErrors)>, SellerError> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT fields, errors FROM product_drafts WHERE seller_id = $1 AND product_key = $2",
        )
        .bind(seller.get())
        .bind(key)
        .fetch_optional(self.db.pool())
        .await
        .map_err(SellerError::from)?;
        Ok(row.and_then(|(fields, errors)| {
            Some((
                serde_json::from_str(&fields).ok()?,
                serde_json::from_str(&errors).unwrap_or_default(),
            ))
        }))
    }

    /// Forgets the form kept for `key` (it was saved).
    pub async fn forget_draft(&self, seller: SellerId, key: &str) -> Result<(), SellerError> {
        sqlx::query("DELETE FROM product_drafts WHERE seller_id = $1 AND product_key = $2")
            .bind(seller.get())
            .bind(key)
            .execute(self.db.pool())
            .await
            .map_err(SellerError::from)?;
        Ok(())
    }

    /// The seller's shop name, if the seller exists.
    pub async fn name(&self, seller: SellerId) -> Result<Option<String>, SellerError> {
        let name = sqlx::query_scalar("SELECT name FROM sellers WHERE id = $1")
            .bind(seller.get())
            .fetch_optional(self.db.pool())
            .await
            .map_err(SellerError::from)?;
        Ok(name)
    }

    /// Every category, labelled with its names from the root, for the product form.
    pub async fn categories(&self) -> Result<Vec<CategoryChoice>, SellerError> {
        let all = self.catalog.categories().await?;
        let by_id: HashMap<_, _> = all.iter().map(|c| (c.id, c)).collect();
        let mut choices: Vec<CategoryChoice> = all
            .iter()
            .map(|c| CategoryChoice {
                id: c.id.get(),
                label: names(&by_id, c.id).join(" / "),
            })
            .collect();
        choices.sort_by(|a, b| a.label.cmp(&b.label));
        Ok(choices)
    }

    /// The product as the edit form shows it, if it is this seller's.
    pub async fn draft(&self, seller: SellerId, product: i64) -> Result<ProductDraft, SellerError> {
        let row = sqlx::query(
            "SELECT title, description, brand, category_id FROM products WHERE id = $1 AND seller_id = $2",
        )
        .bind(product)
        .bind(seller.get())
        .fetch_optional(self.db.pool())
        .await?
        .ok_or(SellerError::NotFound)?;
        let variants = sqlx::query(
            "SELECT sku, options, price_amount, currency FROM variants WHERE product_id = $1 \
             ORDER BY position, id",
        )
        .bind(product)
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(|v| {
            let options: Vec<VariantOption> =
                serde_json::from_str(&v.try_get::<String, _>("options")?).unwrap_or_default();
            let currency: String = v.try_get("currency")?;
            Ok(VariantDraft {
                sku: v.try_get("sku")?,
                options: options
                    .iter()
                    .map(|o| format!("{}: {}", o.name, o.value))
                    .collect::<Vec<_>>()
                    .join(", "),
                price: Money::new(
                    v.try_get("price_amount")?,
                    Currency::parse(&currency).unwrap_or(Currency::shop()),
                )
                .decimal(),
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
        Ok(ProductDraft {
            title: row.try_get("title")?,
            description: row.try_get("description")?,
            brand: row
                .try_get::<Option<String>, _>("brand")?
                .unwrap_or_default(),
            category: row.try_get::<i64, _>("category_id")?.to_string(),
            variants,
        })
    }

    /// Creates (`product` None) or updates one of the seller's products. Every field is
    /// checked and all mistakes are reported at once; nothing is written unless all is well.
    pub async fn save(
        &self,
        seller: SellerId,
        product: Option<i64>,
        draft: &ProductDraft,
    ) -> Result<i64, SellerError> {
        let mut errors = FieldErrors::default();
        let title = draft.title.trim();
        if title.is_empty() || title.chars().count() > 200 {
            errors.add("title", "Give the product a title of up to 200 characters.");
        }
        let description = draft.description.trim();
        if description.is_empty() || description.chars().count() > 5000 {
            errors.add(
                "description",
                "Describe the product in up to 5,000 characters.",
            );
        }
        let brand = draft.brand.trim();
        if brand.chars().count() > 80 {
            errors.add("brand", "A brand is at most 80 characters.");
        }
        let categories = self.catalog.categories().await?;
        let by_id: HashMap<_, _> = categories.iter().map(|c| (c.id, c)).collect();
        let category = draft
            .category
            .trim()
            .parse::<i64>()
            .ok()
            .map(crate::catalog::CategoryId::new)
            .filter(|id| by_id.contains_key(id));
        if category.is_none() {
            errors.add("category", "Choose a category.");
        }
        let drafts: Vec<&VariantDraft> = draft
            .variants
            .iter()
            .filter(|v| {
                !(v.sku.trim().is_empty()
                    && v.price.trim().is_empty()
                    && v.options.trim().is_empty())
            })
            .collect();
        if drafts.is_empty() {
            errors.add(
                "variants",
                "Add at least one variant with a SKU and a price.",
            );
        }
        if drafts.len() > MAX_VARIANTS {
            errors.add(
                "variants",
                format!("A product has at most {MAX_VARIANTS} variants."),
            );
        }
        let mut variants = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, v) in drafts.iter().enumerate() {
            let sku = Sku::parse(v.sku.trim());
            match &sku {
                Err(_) => errors.add(
                    format!("variants.{i}.sku"),
                    "A SKU is 1–64 letters, digits, dashes, underscores or dots.",
                ),
                Ok(s) if !seen.insert(s.as_str().to_owned()) => {
                    errors.add(format!("variants.{i}.sku"), "This SKU is listed twice.")
                }
                Ok(s) => {
                    let owner: Option<i64> =
                        sqlx::query_scalar("SELECT product_id FROM variants WHERE sku = $1")
                            .bind(s.as_str())
                            .fetch_optional(self.db.pool())
                            .await?;
                    if owner.is_some_and(|owner| Some(owner) != product) {
                        errors.add(
                            format!("variants.{i}.sku"),
                            "Another product already uses this SKU.",
                        );
                    }
                }
            }
            let price = Money::parse_price(v.price.trim(), Currency::shop());
            match &price {
                Err(e) => errors.add(
                    format!("variants.{i}.price"),
                    format!("The price {}.", e.message),
                ),
                Ok(p) if p.amount == 0 => errors.add(
                    format!("variants.{i}.price"),
                    "The price must be above zero.",
                ),
                Ok(_) => {}
            }
            let options = parse_options(&v.options);
            if options.is_none() {
                errors.add(
                    format!("variants.{i}.options"),
                    "Write options as name: value pairs, such as Size: Queen, Color: Blue.",
                );
            }
            if let (Ok(sku), Ok(price), Some(options)) = (sku, price, options) {
                variants.push(VariantInput {
                    sku,
                    options: options.into_iter().map(VariantOption::from).collect(),
                    price,
                    stock: vec![],
                });
            }
        }
        if !errors.is_empty() {
            return Err(SellerError::Invalid(errors));
        }
        let Some(category) = category else {
            return Err(SellerError::Invalid(errors));
        };
        let (slug, name): (String, String) =
            sqlx::query_as("SELECT slug, name FROM sellers WHERE id = $1")
                .bind(seller.get())
                .fetch_optional(self.db.pool())
                .await?
                .ok_or(SellerError::NotFound)?;
        // An edit keeps the product's identity (and what the form does not edit).
        // An edit keeps what the form does not show (class, rating, weight).
        let (source, external_id, product_class, rating, weight_grams) = match product {
            Some(id) => {
                let row = sqlx::query(
                    "SELECT source, external_id, product_class, rating, weight_grams \
                     FROM products WHERE id = $1 AND seller_id = $2",
                )
                .bind(id)
                .bind(seller.get())
                .fetch_optional(self.db.pool())
                .await?
                .ok_or(SellerError::NotFound)?;
                (
                    row.try_get::<String, _>("source")?,
                    row.try_get::<String, _>("external_id")?,
                    row.try_get::<Option<String>, _>("product_class")?,
                    row.try_get::<Option<i64>, _>("rating")?
                        .and_then(|r| crate::catalog::Rating::from_hundredths(r).ok()),
                    row.try_get::<Option<i64>, _>("weight_grams")?,
                )
            }
            None => {
                let handle: [u8; 8] = rand::random();
                (
                    "seller".to_owned(),
                    format!(
                        "{slug}/{}",
                        handle
                            .iter()
                            .map(|b| format!("{b:02x}"))
                            .collect::<String>()
                    ),
                    None,
                    None,
                    None,
                )
            }
        };
        let input = ProductInput {
            source: source.clone(),
            external_id: external_id.clone(),
            seller: SellerInput { slug, name },
            category: names(&by_id, category),
            title: title.to_owned(),
            description: description.to_owned(),
            brand: (!brand.is_empty()).then(|| brand.to_owned()),
            product_class,
            rating,
            weight_grams,
            variants,
        };
        let report = import::apply(
            &self.db,
            [ParsedRow {
                line: 1,
                product: Ok(input),
            }],
            self.clock.now(),
            &indicatif::ProgressBar::hidden(),
        )
        .await?;
        if let Some(skipped) = report.skipped.first() {
            let mut errors = FieldErrors::default();
            errors.add(
                "product",
                format!("The product could not be saved: it {}.", skipped.reason),
            );
            return Err(SellerError::Invalid(errors));
        }
        let id: i64 = sqlx::query_scalar(
            "SELECT id FROM products WHERE source = $1 AND external_id = $2 AND seller_id = $3",
        )
        .bind(&source)
        .bind(&external_id)
        .bind(seller.get())
        .fetch_one(self.db.pool())
        .await?;
        // The seller sees the change on this node at once; other nodes read its event.
        self.catalog
            .forget_product(crate::catalog::ProductId::new(id))
            .await;
        Ok(id)
    }

    /// Stock of each of the product's SKUs in each warehouse that holds it (a SKU without
    /// stock rows shows in the main warehouse at zero).
    pub async fn stock(
        &self,
        seller: SellerId,
        product: i64,
    ) -> Result<Vec<StockRow>, SellerError> {
        self.owns_product(seller, product).await?;
        let rows: Vec<StockTuple> = sqlx::query_as(
            "SELECT v.sku, w.code, s.available, s.held, s.committed FROM variants v \
             LEFT JOIN stock_levels s ON s.variant_id = v.id \
             LEFT JOIN warehouses w ON w.id = s.warehouse_id \
             WHERE v.product_id = $1 ORDER BY v.position, v.id, w.code",
        )
        .bind(product)
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(sku, warehouse, available, held, committed)| StockRow {
                sku,
                warehouse: warehouse.unwrap_or_else(|| "main".into()),
                available: available.unwrap_or(0),
                held: held.unwrap_or(0),
                committed: committed.unwrap_or(0),
            })
            .collect())
    }

    /// Sets the units of `sku` available in `warehouse` to `available`, receiving or writing
    /// off the difference, with the seller's reason in the audit trail.
    pub async fn set_stock(
        &self,
        seller: SellerId,
        sku: &str,
        warehouse: &str,
        available: i64,
        reason: &str,
    ) -> Result<(), SellerError> {
        let mut errors = FieldErrors::default();
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 200 {
            errors.add(
                "reason",
                "Say why the stock changes (up to 200 characters).",
            );
        }
        if !(0..=1_000_000).contains(&available) {
            errors.add("available", "Stock is a whole number from 0 to 1,000,000.");
        }
        if !errors.is_empty() {
            return Err(SellerError::Invalid(errors));
        }
        let variant: i64 = sqlx::query_scalar(
            "SELECT v.id FROM variants v JOIN products p ON p.id = v.product_id \
             WHERE v.sku = $1 AND p.seller_id = $2",
        )
        .bind(sku)
        .bind(seller.get())
        .fetch_optional(self.db.pool())
        .await?
        .ok_or(SellerError::NotFound)?;
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        let warehouse_id: i64 =
            match sqlx::query_scalar::<_, i64>("SELECT id FROM warehouses WHERE code = $1")
                .bind(warehouse)
                .fetch_optional(&mut *tx)
                .await?
            {
                Some(id) => id,
                None if warehouse == "main" => {
                    crate::inventory::ensure_warehouse(&mut tx, "main", "Main warehouse", now)
                        .await?
                }
                None => return Err(SellerError::NotFound),
            };
        let current: i64 = sqlx::query_scalar(
            "SELECT available FROM stock_levels WHERE variant_id = $1 AND warehouse_id = $2",
        )
        .bind(variant)
        .bind(warehouse_id)
        .fetch_optional(&mut *tx)
        .await?
        .unwrap_or(0);
        let reference = format!("seller: {reason}");
        let variant = VariantId::new(variant);
        if available > current {
            crate::inventory::adjust::receive(
                &mut tx,
                variant,
                warehouse_id,
                available - current,
                &reference,
                now,
            )
            .await?;
        } else if available < current {
            crate::inventory::adjust::write_off(
                &mut tx,
                variant,
                warehouse_id,
                current - available,
                &reference,
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The product's stock audit trail, newest first.
    pub async fn movements(
        &self,
        seller: SellerId,
        product: i64,
        limit: i64,
    ) -> Result<Vec<Movement>, SellerError> {
        self.owns_product(seller, product).await?;
        let rows: Vec<(i64, String, String, String, Option<String>, i64)> = sqlx::query_as(
            "SELECT m.created_at, v.sku, w.code, m.reason, m.reference, m.delta_available \
             FROM stock_movements m JOIN variants v ON v.id = m.variant_id \
             JOIN warehouses w ON w.id = m.warehouse_id \
             WHERE v.product_id = $1 ORDER BY m.created_at DESC, m.id DESC LIMIT $2",
        )
        .bind(product)
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(at, sku, warehouse, reason, reference, available)| Movement {
                    at,
                    sku,
                    warehouse,
                    reason,
                    reference: reference.unwrap_or_default(),
                    available,
                },
            )
            .collect())
    }

    /// Orders and revenue per day over the last `days` days, and the SKUs running low.
    pub async fn dashboard(&self, seller: SellerId, days: i64) -> Result<Dashboard, SellerError> {
        let today = self.clock.now().div_euclid(DAY_MS);
        let first = today - days + 1;
        let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT CAST(o.created_at / 86400000 AS BIGINT) AS day, COUNT(DISTINCT o.id), \
                    CAST(SUM(l.quantity * l.unit_price) AS BIGINT) \
             FROM orders o JOIN order_lines l ON l.order_id = o.id \
             JOIN variants v ON v.id = l.variant_id JOIN products p ON p.id = v.product_id \
             WHERE p.seller_id = $1 AND o.created_at >= $2 AND o.status <> 'cancelled' \
             GROUP BY CAST(o.created_at / 86400000 AS BIGINT)",
        )
        .bind(seller.get())
        .bind(first * DAY_MS)
        .fetch_all(self.db.pool())
        .await?;
        let by_day: HashMap<i64, (i64, i64)> =
            rows.into_iter().map(|(d, o, r)| (d, (o, r))).collect();
        let days = (first..=today)
            .map(|day| {
                let (orders, revenue) = by_day.get(&day).copied().unwrap_or((0, 0));
                DaySales {
                    day,
                    orders,
                    revenue,
                }
            })
            .collect();
        let low: Vec<(i64, String, String, i64)> = sqlx::query_as(
            "SELECT p.id, v.sku, p.title, \
                    CAST(COALESCE(SUM(s.available), 0) AS BIGINT) AS available \
             FROM variants v JOIN products p ON p.id = v.product_id \
             LEFT JOIN stock_levels s ON s.variant_id = v.id \
             WHERE p.seller_id = $1 GROUP BY p.id, v.sku, p.title \
             HAVING COALESCE(SUM(s.available), 0) <= $2 \
             ORDER BY available, v.sku LIMIT 20",
        )
        .bind(seller.get())
        .bind(LOW_STOCK)
        .fetch_all(self.db.pool())
        .await?;
        Ok(Dashboard {
            days,
            currency: "USD".into(),
            low_stock: low
                .into_iter()
                .map(|(product_id, sku, title, available)| LowStock {
                    product_id,
                    sku,
                    title,
                    available,
                })
                .collect(),
        })
    }

    async fn owns_product(&self, seller: SellerId, product: i64) -> Result<(), SellerError> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM products WHERE id = $1 AND seller_id = $2")
                .bind(product)
                .bind(seller.get())
                .fetch_optional(self.db.pool())
                .await?;
        found.map(|_| ()).ok_or(SellerError::NotFound)
    }
}

/// A category's names from the root down.
pub(crate) fn names(
    by_id: &HashMap<crate::catalog::CategoryId, &crate::catalog::Category>,
    id: crate::catalog::CategoryId,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut at = Some(id);
    while let Some(id) = at {
        let Some(c) = by_id.get(&id) else { break };
        out.push(c.name.clone());
        at = c.parent_id;
        if out.len() > 16 {
            break;
        }
    }
    out.reverse();
    out
}
