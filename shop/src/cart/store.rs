//! Carts in the database.

use super::{Cart, CartId, CartLine, LineNotice, LineQuantity, Quantity};
use crate::catalog::{Catalog, CatalogError, Sku, VariantId, VariantSummary};
use crate::clock::Millis;
use crate::db::{AnyConnection, Db};
use crate::failure::{Failure, FailureKind};
use crate::inventory::Inventory;
use crate::{Currency, Money};
use sqlx::Row;
use std::sync::Arc;

/// Why a cart operation was refused.
#[derive(Clone, Debug, thiserror::Error)]
pub enum CartError {
    #[error("no such cart")]
    CartNotFound,
    #[error("no product has SKU {0}")]
    UnknownSku(Sku),
    /// The line would ask for more than can be bought now.
    #[error("only {available} of {sku} available")]
    InsufficientStock { sku: Sku, available: i64 },
    /// A line holds at most 99.
    #[error("a cart line holds at most 99 of {sku}")]
    TooMany { sku: Sku, in_cart: i64 },
    /// All lines of a cart are priced in one currency.
    #[error("{sku} is priced in {currency}, the rest of the cart in another currency")]
    MixedCurrency { sku: Sku, currency: Currency },
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Database(Arc<sqlx::Error>),
}

impl From<sqlx::Error> for CartError {
    fn from(e: sqlx::Error) -> Self {
        CartError::Database(Arc::new(e))
    }
}

impl Failure for CartError {
    fn kind(&self) -> FailureKind {
        match self {
            CartError::CartNotFound | CartError::UnknownSku(_) => FailureKind::NotFound,
            CartError::InsufficientStock { .. } => FailureKind::Conflict,
            CartError::TooMany { .. } => FailureKind::Invalid,
            CartError::MixedCurrency { .. } => FailureKind::Refused,
            CartError::Catalog(e) => e.kind(),
            CartError::Database(e) => e.kind(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            CartError::InsufficientStock { .. } => "insufficient_stock",
            CartError::MixedCurrency { .. } => "mixed_currency",
            CartError::Catalog(e) => e.code(),
            CartError::Database(e) => e.code(),
            _ => self.kind().code(),
        }
    }

    fn public_message(&self) -> String {
        match self {
            CartError::CartNotFound => "We couldn't find that cart.".into(),
            CartError::UnknownSku(sku) => format!("We couldn't find a product with SKU {sku}."),
            CartError::InsufficientStock { sku, available } => {
                format!("Only {available} of {sku} left in stock.")
            }
            CartError::TooMany { sku, .. } => format!("A cart holds at most 99 of {sku}."),
            CartError::MixedCurrency { sku, currency } => {
                format!("{sku} is priced in {currency}, the rest of the cart in another currency.")
            }
            CartError::Catalog(e) => e.public_message(),
            CartError::Database(e) => e.public_message(),
        }
    }
}

/// A line as stored: what the shopper chose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredLine {
    pub variant: VariantId,
    pub quantity: i64,
    pub price_seen: i64,
}

/// The cart service.
#[derive(Clone, Debug)]
pub struct Carts {
    pub(super) db: Db,
    catalog: Catalog,
    pub(super) inventory: Inventory,
}

impl Carts {
    pub fn new(db: Db, catalog: Catalog) -> Self {
        Self {
            inventory: Inventory::new(db.clone()),
            catalog,
            db,
        }
    }

    /// A new, empty cart.
    pub async fn create(&self, now: Millis) -> Result<CartId, CartError> {
        let id = CartId::generate();
        sqlx::query("INSERT INTO carts (id, created_at, updated_at) VALUES ($1, $2, $2)")
            .bind(id.as_str())
            .bind(now)
            .execute(self.db.pool())
            .await?;
        Ok(id)
    }

    /// Whether a cart with this id exists.
    pub async fn exists(&self, id: &CartId) -> Result<bool, CartError> {
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM carts WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(self.db.pool())
            .await?;
        Ok(found.is_some())
    }

    /// How many items the cart holds (0 for an unknown cart): one cheap query, for headers.
    pub async fn item_count(&self, id: &CartId) -> Result<i64, CartError> {
        Ok(sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM cart_lines WHERE cart_id = $1",
        )
        .bind(id.as_str())
        .fetch_one(self.db.pool())
        .await?)
    }

    /// The cart with current prices, live availability and notices per line.
    pub async fn get(&self, id: &CartId) -> Result<Cart, CartError> {
        if !self.exists(id).await? {
            return Err(CartError::CartNotFound);
        }
        let stored = stored_lines(self.db.pool().acquire().await?.as_mut(), id).await?;
        let ids: Vec<VariantId> = stored.iter().map(|l| l.variant).collect();
        let variants = self.catalog.variants(&ids).await?;
        let available = self.inventory.available(&ids).await?;
        let mut lines = Vec::new();
        let mut subtotal: Option<Money> = None;
        let mut item_count = 0;
        for line in stored {
            let Some(v) = variants.get(&line.variant) else {
                continue;
            };
            let quantity = Quantity::new(line.quantity).map_err(|e| {
                CartError::Catalog(CatalogError::Corrupt(format!("cart line: {e}")))
            })?;
            let available = available.get(&line.variant).copied().unwrap_or(0);
            let line_total = v.price.checked_mul(line.quantity).ok_or_else(|| {
                CartError::Catalog(CatalogError::Corrupt("line total overflows".into()))
            })?;
            subtotal = match subtotal {
                None => Some(line_total),
                Some(s) => s.checked_add(line_total),
            };
            item_count += line.quantity;
            let mut notices = Vec::new();
            if available <= 0 {
                notices.push(LineNotice::OutOfStock);
            } else if available < line.quantity {
                notices.push(LineNotice::OnlyLeft { available });
            }
            if line.price_seen != v.price.amount {
                notices.push(LineNotice::PriceChanged {
                    was: Money::new(line.price_seen, v.price.currency),
                    now: v.price,
                });
            }
            lines.push(CartLine {
                variant_id: v.id,
                product_id: v.product_id,
                sku: v.sku.clone(),
                title: v.title.clone(),
                slug: v.slug.clone(),
                options: v.options_label(),
                quantity,
                unit_price: v.price,
                line_total,
                available,
                notices,
                picture: None,
                seller_id: v.seller_id,
                weight_grams: v.weight_grams,
            });
        }
        Ok(Cart {
            id: id.clone(),
            lines,
            subtotal,
            item_count,
            coupon: None,
        })
    }

    /// Sets a line's quantity (0 removes it). Setting the same quantity again changes nothing.
    pub async fn set_line(
        &self,
        id: &CartId,
        sku: &Sku,
        quantity: LineQuantity,
        now: Millis,
    ) -> Result<Cart, CartError> {
        let variant = self.variant(sku).await?;
        let mut tx = self.db.begin_write().await?;
        ensure_cart(&mut tx, id).await?;
        match quantity {
            LineQuantity::Remove => {
                sqlx::query("DELETE FROM cart_lines WHERE cart_id = $1 AND variant_id = $2")
                    .bind(id.as_str())
                    .bind(variant.id.get())
                    .execute(&mut *tx)
                    .await?;
            }
            LineQuantity::Set(q) => {
                self.check_line(&mut tx, id, &variant, q.get()).await?;
                upsert_line(&mut tx, id, &variant, q.get(), now).await?;
            }
        }
        touch(&mut tx, id, now).await?;
        tx.commit().await?;
        self.get(id).await
    }

    /// Adds `quantity` to a line. With `op`, the same operation applied twice adds once.
    pub async fn add(
        &self,
        id: &CartId,
        sku: &Sku,
        quantity: Quantity,
        op: Option<&str>,
        now: Millis,
    ) -> Result<Cart, CartError> {
        let variant = self.variant(sku).await?;
        let mut tx = self.db.begin_write().await?;
        ensure_cart(&mut tx, id).await?;
        if let Some(op) = op {
            let fresh = sqlx::query(
                "INSERT INTO cart_ops (cart_id, op_id, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (cart_id, op_id) DO NOTHING",
            )
            .bind(id.as_str())
            .bind(op)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if !fresh {
                tx.rollback().await?;
                return self.get(id).await;
            }
        }
        let in_cart: i64 = sqlx::query_scalar(
            "SELECT quantity FROM cart_lines WHERE cart_id = $1 AND variant_id = $2",
        )
        .bind(id.as_str())
        .bind(variant.id.get())
        .fetch_optional(&mut *tx)
        .await?
        .unwrap_or(0);
        let wanted = in_cart + quantity.get();
        if wanted > Quantity::MAX {
            return Err(CartError::TooMany {
                sku: sku.clone(),
                in_cart,
            });
        }
        self.check_line(&mut tx, id, &variant, wanted).await?;
        // An increment, not the sum computed above: two adds racing on PostgreSQL must not
        // lose one. The schema's CHECK keeps the line at 99 at most whatever happens.
        sqlx::query(
            "INSERT INTO cart_lines (cart_id, variant_id, quantity, price_seen, currency, \
             added_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) \
             ON CONFLICT (cart_id, variant_id) DO UPDATE SET \
             quantity = cart_lines.quantity + excluded.quantity, \
             price_seen = excluded.price_seen, updated_at = excluded.updated_at",
        )
        .bind(id.as_str())
        .bind(variant.id.get())
        .bind(quantity.get())
        .bind(variant.price.amount)
        .bind(variant.price.currency.code())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.is_check_violation() => CartError::TooMany {
                sku: sku.clone(),
                in_cart,
            },
            _ => e.into(),
        })?;
        touch(&mut tx, id, now).await?;
        tx.commit().await?;
        self.get(id).await
    }

    async fn variant(&self, sku: &Sku) -> Result<VariantSummary, CartError> {
        self.catalog
            .variant_by_sku(sku)
            .await?
            .ok_or_else(|| CartError::UnknownSku(sku.clone()))
    }

    /// Refuses a line that asks for more than is available or mixes currencies.
    async fn check_line(
        &self,
        conn: &mut AnyConnection,
        id: &CartId,
        variant: &VariantSummary,
        quantity: i64,
    ) -> Result<(), CartError> {
        // On the transaction's own connection: asking the pool for a second one while holding
        // the write lock would deadlock once every pooled connection waits on that lock.
        let available = crate::inventory::available_in(conn, &[variant.id])
            .await?
            .get(&variant.id)
            .copied()
            .unwrap_or(0);
        if quantity > available {
            return Err(CartError::InsufficientStock {
                sku: variant.sku.clone(),
                available,
            });
        }
        let other: Option<String> = sqlx::query_scalar(
            "SELECT currency FROM cart_lines WHERE cart_id = $1 AND variant_id <> $2 LIMIT 1",
        )
        .bind(id.as_str())
        .bind(variant.id.get())
        .fetch_optional(&mut *conn)
        .await?;
        match other {
            Some(c) if c != variant.price.currency.code() => Err(CartError::MixedCurrency {
                sku: variant.sku.clone(),
                currency: variant.price.currency,
            }),
            _ => Ok(()),
        }
    }
}

/// The lines as stored, oldest first.
pub async fn stored_lines(
    conn: &mut AnyConnection,
    id: &CartId,
) -> Result<Vec<StoredLine>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT variant_id, quantity, price_seen FROM cart_lines WHERE cart_id = $1 \
         ORDER BY added_at, variant_id",
    )
    .bind(id.as_str())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StoredLine {
                variant: VariantId::new(r.try_get("variant_id")?),
                quantity: r.try_get("quantity")?,
                price_seen: r.try_get("price_seen")?,
            })
        })
        .collect()
}

/// Takes bought quantities out of a cart (inside the order's transaction): a line drops by
/// what was bought, and goes when nothing is left. Lines added after checkout began stay.
pub async fn remove_bought(
    conn: &mut AnyConnection,
    id: &CartId,
    bought: &[(VariantId, i64)],
    now: Millis,
) -> Result<(), sqlx::Error> {
    for (variant, quantity) in bought {
        sqlx::query(
            "DELETE FROM cart_lines WHERE cart_id = $1 AND variant_id = $2 AND quantity <= $3",
        )
        .bind(id.as_str())
        .bind(variant.get())
        .bind(quantity)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "UPDATE cart_lines SET quantity = quantity - $3, updated_at = $4 \
             WHERE cart_id = $1 AND variant_id = $2 AND quantity > $3",
        )
        .bind(id.as_str())
        .bind(variant.get())
        .bind(quantity)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn ensure_cart(conn: &mut AnyConnection, id: &CartId) -> Result<(), CartError> {
    let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM carts WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    found.map(|_| ()).ok_or(CartError::CartNotFound)
}

async fn upsert_line(
    conn: &mut AnyConnection,
    id: &CartId,
    variant: &VariantSummary,
    quantity: i64,
    now: Millis,
) -> Result<(), sqlx::Error> {
    // Only a change of quantity counts as a change: the same quantity again writes nothing.
    sqlx::query(
        "INSERT INTO cart_lines (cart_id, variant_id, quantity, price_seen, currency, added_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) \
         ON CONFLICT (cart_id, variant_id) DO UPDATE SET quantity = excluded.quantity, \
         price_seen = excluded.price_seen, updated_at = excluded.updated_at \
         WHERE cart_lines.quantity <> excluded.quantity",
    )
    .bind(id.as_str())
    .bind(variant.id.get())
    .bind(quantity)
    .bind(variant.price.amount)
    .bind(variant.price.currency.code())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn touch(conn: &mut AnyConnection, id: &CartId, now: Millis) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE carts SET updated_at = $2 WHERE id = $1")
        .bind(id.as_str())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
