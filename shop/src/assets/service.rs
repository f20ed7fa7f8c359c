//! The assets service: sellers' uploads through the pipeline into the store, the pictures
//! pages show, and the bytes `/assets/…` serves.
//!
//! Least privilege by construction: every key is built here from the seller that owns the
//! product (looked up on the server) and the content hash; nothing a client sends becomes part
//! of a key. Objects are never overwritten or deleted, so every earlier version of a picture
//! can be restored.

use super::pipeline::{self, Processed, Refusal};
use super::store::{AssetStore, StoreError};
use super::types::{ImageStatus, ImageVariant, Picture, ProductImage, QualityReport, variant_url};
use crate::catalog::{ProductId, SellerId};
use crate::db::{Db, placeholders};
use crate::failure::{Failure, FailureKind};
use bytes::Bytes;
use object_store::path::Path as StorePath;
use sqlx::Row;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// How long one upload may spend being checked and re-encoded.
const PROCESS_DEADLINE: Duration = Duration::from_secs(30);
/// How long "is this picture shown?" answers are kept for `/assets/…`.
const SHOWN_FOR: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    /// No such product or image for this seller (whether it exists for another seller is
    /// not revealed).
    #[error("not found")]
    NotFound,
    #[error("image refused: {0}")]
    Refused(#[from] Refusal),
    #[error("{0}")]
    Invalid(String),
    /// Too many uploads being processed, or one took too long: try again.
    #[error("image processing is busy; try again shortly")]
    Busy,
    #[error("the image store is unavailable; the product is unchanged, try again later")]
    StoreUnavailable(#[source] StoreError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl Failure for AssetError {
    fn kind(&self) -> FailureKind {
        match self {
            AssetError::NotFound => FailureKind::NotFound,
            AssetError::Refused(_) => FailureKind::Refused,
            AssetError::Invalid(_) => FailureKind::Invalid,
            AssetError::Busy | AssetError::StoreUnavailable(_) => FailureKind::Unavailable,
            AssetError::Db(e) => e.kind(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            AssetError::Refused(_) => "image_refused",
            AssetError::Busy => "busy",
            AssetError::StoreUnavailable(_) => "store_unavailable",
            _ => self.kind().code(),
        }
    }

    fn public_message(&self) -> String {
        match self {
            AssetError::NotFound => "We couldn't find that product or picture.".into(),
            // Every refusal names its reason and the fix, for the seller.
            AssetError::Refused(reason) => reason.to_string(),
            AssetError::Invalid(message) => message.clone(),
            AssetError::Busy => "Image processing is busy; try again shortly.".into(),
            AssetError::StoreUnavailable(_) => {
                "The image store is unavailable; the product is unchanged. Try again later.".into()
            }
            AssetError::Db(e) => e.public_message(),
        }
    }
}

/// A product with no picture, and what its drawing is made from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unpictured {
    pub seller: SellerId,
    pub product: ProductId,
    pub title: String,
    /// The category's path.
    pub category: String,
    pub product_class: String,
}

/// The assets service. Cheap to clone.
#[derive(Clone)]
pub struct Assets {
    db: Db,
    store: AssetStore,
    processing: Arc<tokio::sync::Semaphore>,
    shown: moka::future::Cache<(i64, String), bool>,
    /// Each product's live pictures (empty for none), for pages: most pages would otherwise
    /// spend a query on them.
    pictures: moka::future::Cache<ProductId, Arc<Vec<Picture>>>,
    /// The bytes of the pictures this node has served, by address, bounded by their size.
    /// Pictures are named by their content hash and never change, so a kept copy is always
    /// right: it spares the store, and it is what pages still show while the store is down.
    kept: moka::future::Cache<String, Bytes>,
    /// Placeholders answered for pictures neither the store nor `kept` had.
    placeholders: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for Assets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Assets")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// The store key of one variant: `sellers/{seller}/images/{hash}/{variant}.jpg`.
pub fn object_key(seller: SellerId, hash: &str, variant: ImageVariant) -> StorePath {
    StorePath::from(format!(
        "sellers/{}/images/{hash}/{}.jpg",
        seller.get(),
        variant.name()
    ))
}

/// Whether `text` is a content hash as this service names objects (64 lowercase hex digits).
pub fn is_hash(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Where shoppers load a picture's variants from: `{base}/{variant}.jpg`.
fn picture_base(seller: i64, hash: &str) -> String {
    format!("/assets/s/{seller}/{hash}")
}

fn picture(seller: i64, hash: &str, width: u32, height: u32, alt: &str) -> Picture {
    Picture {
        base: picture_base(seller, hash),
        width,
        height,
        alt: alt.to_owned(),
        zoomable: width.max(height) >= super::types::ResolutionTier::ZOOM,
        held: None,
    }
}

fn now_millis() -> i64 {
    use crate::clock::{Clock, SystemClock};
    SystemClock.now()
}

const IMAGE_COLUMNS: &str = "id, product_id, seller_id, hash, status, position, width, height, \
                             alt, quality, replaces_id";

fn image_from_row(row: &sqlx::any::AnyRow) -> Result<ProductImage, sqlx::Error> {
    let decode = |e: String| sqlx::Error::Decode(e.into());
    let status: String = row.try_get("status")?;
    let quality: String = row.try_get("quality")?;
    let hash: String = row.try_get("hash")?;
    let width =
        u32::try_from(row.try_get::<i64, _>("width")?).map_err(|e| decode(e.to_string()))?;
    let height =
        u32::try_from(row.try_get::<i64, _>("height")?).map_err(|e| decode(e.to_string()))?;
    let alt: String = row.try_get("alt")?;
    let seller: i64 = row.try_get("seller_id")?;
    Ok(ProductImage {
        id: row.try_get("id")?,
        product_id: row.try_get("product_id")?,
        status: ImageStatus::parse(&status).ok_or_else(|| decode(format!("status {status}")))?,
        position: row.try_get("position")?,
        picture: picture(seller, &hash, width, height, &alt),
        hash,
        width,
        height,
        alt,
        quality: serde_json::from_str::<QualityReport>(&quality)
            .map_err(|e| decode(e.to_string()))?,
        replaces: row.try_get("replaces_id")?,
    })
}

/// What an upload asks for besides its bytes.
#[derive(Clone, Debug, Default)]
pub struct UploadRequest {
    /// Alternative text; the product's title when empty.
    pub alt: Option<String>,
    /// The image this one replaces (same product).
    pub replaces: Option<i64>,
}

impl Assets {
    /// `kept_bytes`: how many bytes of pictures this node keeps a copy of.
    pub fn new(db: Db, store: AssetStore, kept_bytes: u64) -> Self {
        Self {
            db,
            store,
            // Two images at a time: re-encoding is CPU work, and the shop has pages to serve.
            processing: Arc::new(tokio::sync::Semaphore::new(2)),
            shown: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(SHOWN_FOR)
                .build(),
            pictures: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(SHOWN_FOR)
                .build(),
            kept: moka::future::Cache::builder()
                .max_capacity(kept_bytes)
                .weigher(|path: &String, bytes: &Bytes| {
                    u32::try_from(path.len() + bytes.len()).unwrap_or(u32::MAX)
                })
                .build(),
            placeholders: Arc::default(),
        }
    }

    /// The neutral tile answered for a picture that can be neither read nor found in this
    /// node's copies while the store fails ([`pipeline::placeholder`]), counted.
    pub fn placeholder(&self) -> Bytes {
        self.placeholders
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        pipeline::placeholder()
    }

    /// How many placeholders this node has answered.
    pub fn placeholders(&self) -> u64 {
        self.placeholders.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many bytes of pictures this node holds a copy of.
    pub fn kept_bytes(&self) -> u64 {
        self.kept.weighted_size()
    }

    pub fn store(&self) -> &AssetStore {
        &self.store
    }

    /// Whether pages should include pictures right now.
    pub fn serving(&self) -> bool {
        self.store.serving()
    }

    /// Products from `sources` that have no picture at all (none uploaded, none pending), in
    /// id order: what the demo catalog's drawings are for.
    pub async fn products_without_pictures(
        &self,
        sources: &[&str],
    ) -> Result<Vec<Unpictured>, AssetError> {
        let sql = format!(
            "SELECT p.id, p.seller_id, p.title, c.path, COALESCE(p.product_class, '') AS class \
             FROM products p JOIN categories c ON c.id = p.category_id \
             WHERE p.source IN ({}) \
             AND NOT EXISTS (SELECT 1 FROM product_images i WHERE i.product_id = p.id) \
             ORDER BY p.id",
            placeholders(1, sources.len())
        );
        let mut query = sqlx::query(&sql);
        for source in sources {
            query = query.bind(*source);
        }
        let rows = query.fetch_all(self.db.pool()).await?;
        rows.iter()
            .map(|row| {
                Ok(Unpictured {
                    seller: SellerId::new(row.try_get("seller_id")?),
                    product: ProductId::new(row.try_get("id")?),
                    title: row.try_get("title")?,
                    category: row.try_get("path")?,
                    product_class: row.try_get("class")?,
                })
            })
            .collect()
    }

    /// The seller that owns `product`, if it is `seller`.
    async fn check_owner(&self, seller: SellerId, product: ProductId) -> Result<(), AssetError> {
        let owner: Option<i64> = sqlx::query_scalar("SELECT seller_id FROM products WHERE id = $1")
            .bind(product.get())
            .fetch_optional(self.db.pool())
            .await?;
        match owner {
            Some(owner) if owner == seller.get() => Ok(()),
            _ => Err(AssetError::NotFound),
        }
    }

    /// Checks, grades, re-encodes and stores an upload for one of `seller`'s products.
    /// Uploading the same bytes twice returns the first image.
    pub async fn upload(
        &self,
        seller: SellerId,
        product: ProductId,
        bytes: Vec<u8>,
        request: UploadRequest,
    ) -> Result<ProductImage, AssetError> {
        self.check_owner(seller, product).await?;
        if let Some(old) = request.replaces {
            self.image(seller, product, old).await?;
        }
        let alt = match request.alt.as_deref().map(str::trim) {
            Some(alt) if alt.chars().count() > 300 => {
                return Err(AssetError::Invalid(
                    "alt text is limited to 300 characters".into(),
                ));
            }
            Some(alt) if !alt.is_empty() => alt.to_owned(),
            _ => {
                sqlx::query_scalar("SELECT title FROM products WHERE id = $1")
                    .bind(product.get())
                    .fetch_one(self.db.pool())
                    .await?
            }
        };
        // Cheap refusals before taking a processing slot.
        if bytes.len() > pipeline::MAX_BYTES {
            return Err(Refusal::TooLarge(bytes.len()).into());
        }
        pipeline::sniff(&bytes)?;
        let hash = pipeline::hex_sha256(&bytes);
        if let Some(existing) = self.by_hash(product, &hash).await? {
            return Ok(existing);
        }
        let processed = self.process(bytes).await?;
        for (variant, jpeg) in &processed.variants {
            self.store
                .put(&object_key(seller, &processed.hash, *variant), jpeg.clone())
                .await
                .map_err(AssetError::StoreUnavailable)?;
        }
        self.record(seller, product, &processed, &alt, request.replaces)
            .await
    }

    async fn process(&self, bytes: Vec<u8>) -> Result<Processed, AssetError> {
        let permit = tokio::time::timeout(
            Duration::from_secs(5),
            self.processing.clone().acquire_owned(),
        )
        .await
        .map_err(|_| AssetError::Busy)?
        .map_err(|_| AssetError::Busy)?;
        let work = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            pipeline::process(&bytes)
        });
        match tokio::time::timeout(PROCESS_DEADLINE, work).await {
            Ok(Ok(result)) => Ok(result?),
            Ok(Err(join)) => {
                tracing::error!(error = %join, "image processing panicked");
                Err(Refusal::Unreadable("the image could not be processed".into()).into())
            }
            Err(_) => Err(AssetError::Busy),
        }
    }

    async fn by_hash(
        &self,
        product: ProductId,
        hash: &str,
    ) -> Result<Option<ProductImage>, AssetError> {
        let row = sqlx::query(&format!(
            "SELECT {IMAGE_COLUMNS} FROM product_images WHERE product_id = $1 AND hash = $2"
        ))
        .bind(product.get())
        .bind(hash)
        .fetch_optional(self.db.pool())
        .await?;
        Ok(row.as_ref().map(image_from_row).transpose()?)
    }

    async fn record(
        &self,
        seller: SellerId,
        product: ProductId,
        processed: &Processed,
        alt: &str,
        replaces: Option<i64>,
    ) -> Result<ProductImage, AssetError> {
        let status = if processed.goes_live() {
            ImageStatus::Live
        } else {
            ImageStatus::NeedsReview
        };
        let quality = serde_json::to_string(&processed.quality)
            .map_err(|e| AssetError::Invalid(e.to_string()))?;
        let now = now_millis();
        let mut tx = self.db.begin_write().await?;
        let position: i64 = match replaces {
            Some(old) => {
                sqlx::query_scalar("SELECT position FROM product_images WHERE id = $1")
                    .bind(old)
                    .fetch_one(&mut *tx)
                    .await?
            }
            None => sqlx::query_scalar(
                "SELECT COALESCE(MAX(position), 0) + 1 FROM product_images WHERE product_id = $1",
            )
            .bind(product.get())
            .fetch_one(&mut *tx)
            .await?,
        };
        let inserted = sqlx::query(
            "INSERT INTO product_images (product_id, seller_id, hash, status, position, width, \
             height, alt, quality, replaces_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
        )
        .bind(product.get())
        .bind(seller.get())
        .bind(&processed.hash)
        .bind(status.as_str())
        .bind(position)
        .bind(i64::from(processed.width))
        .bind(i64::from(processed.height))
        .bind(alt)
        .bind(&quality)
        .bind(replaces)
        .bind(now)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            // The same bytes uploaded twice at once: the other upload recorded them.
            Err(e) if crate::db::is_unique_violation(&e) => {
                drop(tx);
                return self
                    .by_hash(product, &processed.hash)
                    .await?
                    .ok_or(AssetError::NotFound);
            }
            Err(e) => return Err(e.into()),
        }
        if let (Some(old), ImageStatus::Live) = (replaces, status) {
            mark(&mut tx, old, ImageStatus::Replaced, now).await?;
        }
        tx.commit().await?;
        self.forget();
        self.by_hash(product, &processed.hash)
            .await?
            .ok_or(AssetError::NotFound)
    }

    /// Drops this node's cached answers after a change (other nodes' expire within
    /// [`SHOWN_FOR`]).
    fn forget(&self) {
        self.shown.invalidate_all();
        self.pictures.invalidate_all();
    }

    /// One of the seller's images.
    pub async fn image(
        &self,
        seller: SellerId,
        product: ProductId,
        image: i64,
    ) -> Result<ProductImage, AssetError> {
        let row = sqlx::query(&format!(
            "SELECT {IMAGE_COLUMNS} FROM product_images \
             WHERE id = $1 AND product_id = $2 AND seller_id = $3"
        ))
        .bind(image)
        .bind(product.get())
        .bind(seller.get())
        .fetch_optional(self.db.pool())
        .await?;
        row.as_ref()
            .map(image_from_row)
            .transpose()?
            .ok_or(AssetError::NotFound)
    }

    /// Every image of one of the seller's products, in every state, in display order.
    pub async fn list(
        &self,
        seller: SellerId,
        product: ProductId,
    ) -> Result<Vec<ProductImage>, AssetError> {
        self.check_owner(seller, product).await?;
        let rows = sqlx::query(&format!(
            "SELECT {IMAGE_COLUMNS} FROM product_images WHERE product_id = $1 \
             ORDER BY position, id"
        ))
        .bind(product.get())
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows.iter().map(image_from_row).collect::<Result<_, _>>()?)
    }

    /// Shows an image that was waiting for review (or brings back a removed or replaced
    /// one). If it replaces another, that one is retired in the same transaction.
    pub async fn approve(
        &self,
        seller: SellerId,
        product: ProductId,
        image: i64,
    ) -> Result<ProductImage, AssetError> {
        let found = self.image(seller, product, image).await?;
        let now = now_millis();
        let mut tx = self.db.begin_write().await?;
        mark(&mut tx, image, ImageStatus::Live, now).await?;
        if let Some(old) = found.replaces {
            sqlx::query(
                "UPDATE product_images SET status = 'replaced', updated_at = $2 \
                 WHERE id = $1 AND status = 'live'",
            )
            .bind(old)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.forget();
        self.image(seller, product, image).await
    }

    /// Restoring is approving again: the bytes never left the store.
    pub async fn restore(
        &self,
        seller: SellerId,
        product: ProductId,
        image: i64,
    ) -> Result<ProductImage, AssetError> {
        self.approve(seller, product, image).await
    }

    /// Puts an image first in the product's display order (the main picture); repeating it
    /// for others gives any order.
    pub async fn move_first(
        &self,
        seller: SellerId,
        product: ProductId,
        image: i64,
    ) -> Result<ProductImage, AssetError> {
        self.image(seller, product, image).await?;
        let mut tx = self.db.begin_write().await?;
        let first: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(MIN(position), 0) AS BIGINT) FROM product_images \
             WHERE product_id = $1",
        )
        .bind(product.get())
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE product_images SET position = $1, updated_at = $2 \
             WHERE id = $3 AND product_id = $4",
        )
        .bind(first - 1)
        .bind(now_millis())
        .bind(image)
        .bind(product.get())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.forget();
        self.image(seller, product, image).await
    }

    /// Takes an image off the product's pages. Its bytes stay in the store.
    pub async fn remove(
        &self,
        seller: SellerId,
        product: ProductId,
        image: i64,
    ) -> Result<ProductImage, AssetError> {
        self.image(seller, product, image).await?;
        let mut tx = self.db.begin_write().await?;
        mark(&mut tx, image, ImageStatus::Removed, now_millis()).await?;
        tx.commit().await?;
        self.forget();
        self.image(seller, product, image).await
    }

    /// The live pictures of each product that has any, in display order. While the store is
    /// failing, only the pictures this node holds a copy of, each pointing only at the
    /// variants it holds: a page never points at a picture that would not load.
    pub async fn pictures_for(
        &self,
        products: &[ProductId],
    ) -> Result<HashMap<ProductId, Vec<Picture>>, sqlx::Error> {
        let mut out = self.live_pictures(products).await?;
        if !self.serving() {
            out.retain(|_, pictures| {
                pictures.retain_mut(|picture| {
                    let held: Vec<ImageVariant> = ImageVariant::ALL
                        .into_iter()
                        .filter(|&v| self.kept.contains_key(&variant_url(&picture.base, v)))
                        .collect();
                    picture.held = Some(held);
                    picture.held.as_ref().is_some_and(|h| !h.is_empty())
                });
                !pictures.is_empty()
            });
        }
        Ok(out)
    }

    async fn live_pictures(
        &self,
        products: &[ProductId],
    ) -> Result<HashMap<ProductId, Vec<Picture>>, sqlx::Error> {
        let mut out: HashMap<ProductId, Vec<Picture>> = HashMap::new();
        if products.is_empty() {
            return Ok(out);
        }
        let mut missing = Vec::new();
        for &p in products {
            match self.pictures.get(&p).await {
                Some(cached) => {
                    if !cached.is_empty() {
                        out.insert(p, (*cached).clone());
                    }
                }
                None => missing.push(p),
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        let mut found: HashMap<ProductId, Vec<Picture>> =
            missing.iter().map(|&p| (p, Vec::new())).collect();
        let sql = format!(
            "SELECT product_id, seller_id, hash, width, height, alt FROM product_images \
             WHERE status = 'live' AND product_id IN ({}) ORDER BY product_id, position, id",
            placeholders(1, missing.len())
        );
        let mut query = sqlx::query(&sql);
        for p in &missing {
            query = query.bind(p.get());
        }
        for row in query.fetch_all(self.db.pool()).await? {
            let width: i64 = row.try_get("width")?;
            let height: i64 = row.try_get("height")?;
            let hash: String = row.try_get("hash")?;
            let alt: String = row.try_get("alt")?;
            found
                .entry(ProductId::new(row.try_get("product_id")?))
                .or_default()
                .push(picture(
                    row.try_get("seller_id")?,
                    &hash,
                    u32::try_from(width).unwrap_or(0),
                    u32::try_from(height).unwrap_or(0),
                    &alt,
                ));
        }
        for (product, pictures) in found {
            self.pictures
                .insert(product, Arc::new(pictures.clone()))
                .await;
            if !pictures.is_empty() {
                out.insert(product, pictures);
            }
        }
        Ok(out)
    }

    /// The bytes of one variant of a picture shoppers may see. Anything else (an unknown
    /// hash, another seller's id, a picture under review or removed) is `NotFound`.
    pub async fn serve(
        &self,
        seller: SellerId,
        hash: &str,
        variant: ImageVariant,
    ) -> Result<Bytes, AssetError> {
        if !is_hash(hash) || !self.is_shown(seller, hash).await? {
            return Err(AssetError::NotFound);
        }
        let path = variant_url(&picture_base(seller.get(), hash), variant);
        if let Some(bytes) = self.kept.get(&path).await {
            return Ok(bytes);
        }
        match self.store.get(&object_key(seller, hash, variant)).await {
            Ok(bytes) => {
                self.kept.insert(path, bytes.clone()).await;
                Ok(bytes)
            }
            Err(StoreError::NotFound) => Err(AssetError::NotFound),
            Err(e) => Err(AssetError::StoreUnavailable(e)),
        }
    }

    /// Whether this node already knows the picture to be shown (from its cache), without
    /// asking the database: `None` when it does not know either way.
    pub async fn known_shown(&self, seller: SellerId, hash: &str) -> Option<bool> {
        self.shown.get(&(seller.get(), hash.to_owned())).await
    }

    /// Whether some product shows this seller's picture (cached briefly).
    pub async fn is_shown(&self, seller: SellerId, hash: &str) -> Result<bool, AssetError> {
        let key = (seller.get(), hash.to_owned());
        if let Some(shown) = self.shown.get(&key).await {
            return Ok(shown);
        }
        let shown: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM product_images WHERE seller_id = $1 AND hash = $2 AND status = 'live' \
             LIMIT 1",
        )
        .bind(seller.get())
        .bind(hash)
        .fetch_optional(self.db.pool())
        .await?;
        self.shown.insert(key, shown.is_some()).await;
        Ok(shown.is_some())
    }
}

async fn mark(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    image: i64,
    status: ImageStatus,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE product_images SET status = $2, updated_at = $3 WHERE id = $1")
        .bind(image)
        .bind(status.as_str())
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
