//! Feeds and the picture queue in the database.

use super::fetch::{FetchError, Fetcher};
use super::parse::{self, FeedFormat, FeedProduct, RowIssue};
use super::types::{FeedView, FetchStatus, FetchView, QueueStats};
use crate::assets::{AssetError, Assets, UploadRequest};
use crate::catalog::import::{self, ParsedRow, SellerInput};
use crate::catalog::{Catalog, ProductId, SellerId};
use crate::clock::{Clock, Millis};
use crate::db::Db;
use crate::failure::{Failure, FailureKind};
use rand::Rng;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("{0}")]
    Invalid(String),
    #[error("not found")]
    NotFound,
    /// The seller's share of the queues is full (the words say which limit).
    #[error("{0}")]
    QueueFull(String),
    #[error(transparent)]
    Import(#[from] import::ImportError),
    #[error(transparent)]
    Catalog(#[from] crate::catalog::CatalogError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl Failure for FeedError {
    fn kind(&self) -> FailureKind {
        match self {
            FeedError::Invalid(_) => FailureKind::Refused,
            FeedError::NotFound => FailureKind::NotFound,
            FeedError::QueueFull(_) => FailureKind::Throttled,
            FeedError::Import(e) => e.kind(),
            FeedError::Catalog(e) => e.kind(),
            FeedError::Db(e) => e.kind(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            FeedError::Invalid(_) => "invalid_feed",
            FeedError::QueueFull(_) => "queue_full",
            _ => self.kind().code(),
        }
    }

    fn public_message(&self) -> String {
        match self {
            FeedError::Invalid(message) | FeedError::QueueFull(message) => message.clone(),
            FeedError::NotFound => "We couldn't find that feed or picture.".into(),
            FeedError::Import(e) => e.public_message(),
            FeedError::Catalog(e) => e.public_message(),
            FeedError::Db(e) => e.public_message(),
        }
    }
}

/// How the picture queue retries and leases, and how much of it one seller may fill.
#[derive(Clone, Copy, Debug)]
pub struct QueueConfig {
    /// Retries after the first attempt, for timeouts and 5xx only.
    pub max_retries: i64,
    /// The first retry's delay; each next one doubles, with ±50 % jitter.
    pub backoff: Duration,
    /// How long a worker owns a fetch it took (a crash frees it after this).
    pub lease: Duration,
    /// The most pictures one seller may have waiting to be fetched
    /// (`EMPORIUM_SELLER_QUEUED_PICTURES`).
    pub seller_pictures: i64,
    /// The most feeds one seller may have waiting or being applied
    /// (`EMPORIUM_SELLER_WAITING_FEEDS`).
    pub seller_feeds: i64,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            max_retries: 3,
            backoff: Duration::from_secs(30),
            lease: Duration::from_secs(120),
            seller_pictures: 20_000,
            seller_feeds: 5,
        }
    }
}

/// Picture fetches ended, by reason.
pub const OUTCOMES_TOTAL: &str = "emporium_picture_fetch_outcomes_total";
/// Picture fetches scheduled again.
pub const RETRIES_TOTAL: &str = "emporium_picture_fetch_retries_total";
/// Time from queueing to a final outcome, a histogram.
pub const QUEUE_SECONDS: &str = "emporium_picture_fetch_queue_seconds";
/// [`QUEUE_SECONDS`]' upper bounds, in seconds: a fetch that works takes seconds; one that
/// is retried waits 30 s, then longer, for up to an hour or so.
pub const QUEUE_BUCKETS: [f64; 11] = [
    0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0,
];

/// Fetch outcomes by reason, retries and time in queue, for `/metrics`: recorded through
/// the `metrics` facade on the recorder the node hands its `Feeds` (`Feeds::recording_to`);
/// without one they go nowhere.
#[derive(Clone)]
pub struct FetchMetrics {
    recorder: Arc<dyn metrics::Recorder + Send + Sync>,
}

impl Default for FetchMetrics {
    fn default() -> Self {
        Self::new(Arc::new(metrics::NoopRecorder))
    }
}

impl std::fmt::Debug for FetchMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FetchMetrics")
    }
}

impl FetchMetrics {
    /// Records on `recorder` from now on. The retries and the queue time are shown from
    /// the start, at zero, so that a rate over them is defined before the first fetch.
    pub fn new(recorder: Arc<dyn metrics::Recorder + Send + Sync>) -> Self {
        use metrics::{counter, describe_counter, describe_histogram, histogram};
        metrics::with_local_recorder(&*recorder, || {
            describe_counter!(
                OUTCOMES_TOTAL,
                "Final outcomes of picture fetches on this node, by reason."
            );
            describe_counter!(
                RETRIES_TOTAL,
                "Picture fetches scheduled again after a timeout or 5xx."
            );
            describe_histogram!(QUEUE_SECONDS, "Time from queueing to a final outcome.");
            counter!(RETRIES_TOTAL).increment(0);
            let _ = histogram!(QUEUE_SECONDS);
        });
        Self { recorder }
    }

    fn outcome(&self, reason: &str) {
        metrics::with_local_recorder(&*self.recorder, || {
            metrics::counter!(OUTCOMES_TOTAL, "reason" => reason.to_owned()).increment(1);
        });
    }

    fn retry(&self) {
        metrics::with_local_recorder(&*self.recorder, || {
            metrics::counter!(RETRIES_TOTAL).increment(1);
        });
    }

    fn finished(&self, reason: &str, queued: Duration) {
        self.outcome(reason);
        metrics::with_local_recorder(&*self.recorder, || {
            metrics::histogram!(QUEUE_SECONDS).record(queued);
        });
    }
}

/// A fetch taken from the queue.
#[derive(Clone, Debug)]
pub struct Job {
    pub id: i64,
    pub seller: SellerId,
    pub product: ProductId,
    pub url: String,
    pub host: String,
    pub attempts: i64,
    pub created_at: Millis,
    /// When it was due: where it goes back to in the queue if the pool does not start it.
    pub due: Millis,
}

#[derive(Clone, Debug)]
pub struct Feeds {
    pub(super) db: Db,
    catalog: Catalog,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) config: QueueConfig,
    metrics: FetchMetrics,
    /// The seller the picture queue's last look stopped at: the next look starts after it.
    pub(super) cursor: Arc<AtomicI64>,
}

impl Feeds {
    pub fn new(db: Db, catalog: Catalog, clock: Arc<dyn Clock>, config: QueueConfig) -> Self {
        Self {
            db,
            catalog,
            clock,
            config,
            metrics: FetchMetrics::default(),
            cursor: Arc::default(),
        }
    }

    /// Counts fetch outcomes, retries and time in queue on `recorder` (the node's
    /// `/metrics`) from now on.
    pub fn recording_to(mut self, recorder: Arc<dyn metrics::Recorder + Send + Sync>) -> Self {
        self.metrics = FetchMetrics::new(recorder);
        self
    }

    /// Accepts a feed for background processing; returns its id. Only the size and the
    /// seller's quota are checked here: everything else is the report's business.
    pub async fn submit(
        &self,
        seller: SellerId,
        file_name: &str,
        body: &[u8],
    ) -> Result<i64, FeedError> {
        if body.len() > parse::MAX_FEED_BYTES {
            return Err(FeedError::Invalid(format!(
                "a feed is at most {} MB",
                parse::MAX_FEED_BYTES / 1024 / 1024
            )));
        }
        let text = std::str::from_utf8(body)
            .map_err(|_| FeedError::Invalid("a feed is UTF-8 text (CSV or JSON)".into()))?;
        if text.trim().is_empty() {
            return Err(FeedError::Invalid("the feed is empty".into()));
        }
        let name: String = file_name
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        let format = FeedFormat::detect(&name, text);
        self.admit_feed(seller).await?;
        Ok(sqlx::query_scalar(
            "INSERT INTO feeds (seller_id, file_name, format, body, status, created_at) \
             VALUES ($1, $2, $3, $4, 'queued', $5) RETURNING id",
        )
        .bind(seller.get())
        .bind(if name.is_empty() { "feed".into() } else { name })
        .bind(format.as_str())
        .bind(text)
        .bind(self.clock.now())
        .fetch_one(self.db.pool())
        .await?)
    }

    /// Takes a waiting feed (or one whose processing node died) and processes it: the oldest
    /// one of the seller served longest ago (or never), so sellers take turns and one
    /// seller's many feeds do not hold up everyone else's. Returns whether there was one.
    pub async fn process_next(&self) -> Result<bool, FeedError> {
        let now = self.clock.now();
        let candidate: Option<i64> = sqlx::query_scalar(
            "SELECT w.id FROM feeds w \
             WHERE w.status IN ('queued', 'processing') AND w.lease_until <= $1 \
             ORDER BY (SELECT COALESCE(MAX(s.started_at), -1) FROM feeds s \
                       WHERE s.seller_id = w.seller_id), w.id \
             LIMIT 1",
        )
        .bind(now)
        .fetch_optional(self.db.pool())
        .await?;
        let Some(id) = candidate else {
            return Ok(false);
        };
        let lease = now + self.config.lease.as_millis() as i64 * 5;
        let taken = sqlx::query(
            "UPDATE feeds SET status = 'processing', lease_until = $1, started_at = $3 \
             WHERE id = $2 AND status IN ('queued', 'processing') AND lease_until <= $3",
        )
        .bind(lease)
        .bind(id)
        .bind(now)
        .execute(self.db.pool())
        .await?
        .rows_affected();
        if taken == 1 {
            self.process(id).await?;
        }
        Ok(true)
    }

    async fn process(&self, id: i64) -> Result<(), FeedError> {
        let (seller, format, body): (i64, String, String) =
            sqlx::query_as("SELECT seller_id, format, body FROM feeds WHERE id = $1")
                .bind(id)
                .fetch_one(self.db.pool())
                .await?;
        let (slug, name): (String, String) =
            sqlx::query_as("SELECT slug, name FROM sellers WHERE id = $1")
                .bind(seller)
                .fetch_one(self.db.pool())
                .await?;
        let format = FeedFormat::parse(&format).unwrap_or(FeedFormat::Csv);
        let rows = match parse::rows(format, &body) {
            Ok(rows) => rows,
            Err(failure) => {
                sqlx::query(
                    "UPDATE feeds SET status = 'failed', failure = $1, finished_at = $2 WHERE id = $3",
                )
                .bind(failure)
                .bind(self.clock.now())
                .bind(id)
                .execute(self.db.pool())
                .await?;
                return Ok(());
            }
        };
        sqlx::query("UPDATE feeds SET rows_total = $1, rows_done = 0 WHERE id = $2")
            .bind(rows.len() as i64)
            .bind(id)
            .execute(self.db.pool())
            .await?;
        let categories = self.catalog.categories().await?;
        let seller_input = SellerInput { slug, name };
        let (products, mut issues) = parse::products(&rows, &seller_input, &categories);
        let rows_of: BTreeMap<usize, usize> = products
            .iter()
            .map(|p| (p.line, p.input.variants.len()))
            .collect();
        let (mut created, mut updated, mut unchanged) = (0, 0, 0);
        let mut done = rows.len()
            - products
                .iter()
                .map(|p| p.input.variants.len())
                .sum::<usize>();
        for chunk in products.chunks(100) {
            // Collected first: a borrowing iterator would make this future not `Send`.
            let rows: Vec<ParsedRow> = chunk
                .iter()
                .map(|p| ParsedRow {
                    line: p.line,
                    product: Ok(p.input.clone()),
                })
                .collect();
            let report = import::apply(
                &self.db,
                rows,
                self.clock.now(),
                &indicatif::ProgressBar::hidden(),
            )
            .await?;
            created += report.created;
            updated += report.updated;
            unchanged += report.unchanged;
            let refused: Vec<usize> = report.skipped.iter().map(|s| s.line).collect();
            issues.extend(report.skipped.into_iter().map(|s| RowIssue {
                line: s.line,
                column: if s.reason.contains("SKU") {
                    "sku".into()
                } else {
                    String::new()
                },
                reason: s.reason,
            }));
            // One transaction for the chunk's pictures (one commit, not one per statement).
            let mut room = self.picture_room(SellerId::new(seller)).await?;
            let mut tx = self.db.begin_write().await?;
            for product in chunk.iter().filter(|p| !refused.contains(&p.line)) {
                let left_out = self
                    .queue_images(
                        &mut tx,
                        id,
                        SellerId::new(seller),
                        &seller_input.slug,
                        product,
                        &mut room,
                    )
                    .await?;
                if left_out > 0 {
                    issues.push(RowIssue {
                        line: product.line,
                        column: "image_urls".into(),
                        reason: format!(
                            "{left_out} of this row's pictures were not queued. {} Send the \
                             feed again once some of them are fetched.",
                            self.pictures_full()
                        ),
                    });
                }
            }
            tx.commit().await?;
            done += chunk.iter().map(|p| rows_of[&p.line]).sum::<usize>();
            sqlx::query("UPDATE feeds SET rows_done = $1, lease_until = $2 WHERE id = $3")
                .bind(done as i64)
                .bind(self.clock.now() + self.config.lease.as_millis() as i64 * 5)
                .bind(id)
                .execute(self.db.pool())
                .await?;
        }
        issues.sort_by_key(|i| i.line);
        sqlx::query(
            "UPDATE feeds SET status = 'done', rows_done = rows_total, created = $1, updated = $2, \
             unchanged = $3, errors = $4, finished_at = $5 WHERE id = $6",
        )
        .bind(created as i64)
        .bind(updated as i64)
        .bind(unchanged as i64)
        .bind(serde_json::to_string(&issues).unwrap_or_else(|_| "[]".into()))
        .bind(self.clock.now())
        .bind(id)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Queues a product's picture URLs (each once per product: the same feed twice queues
    /// nothing new), as many as the seller's `room` in the queue allows; returns how many it
    /// left out for want of room. A URL that is refused outright is recorded as refused with
    /// its reason.
    async fn queue_images(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        feed: i64,
        seller: SellerId,
        slug: &str,
        product: &FeedProduct,
        room: &mut i64,
    ) -> Result<usize, FeedError> {
        if product.image_urls.is_empty() {
            return Ok(0);
        }
        let mut left_out = 0;
        let product_id: i64 = sqlx::query_scalar(
            "SELECT id FROM products WHERE source = $1 AND external_id = $2 AND seller_id = $3",
        )
        .bind(parse::SOURCE)
        .bind(parse::external_id(slug, &product.key))
        .bind(seller.get())
        .fetch_one(&mut **tx)
        .await?;
        let now = self.clock.now();
        for url in &product.image_urls {
            let policy = super::guard::Policy::default();
            // Form only (scheme, credentials, literal addresses); names are resolved when
            // fetched. The test-only loopback allowance is the fetcher's to apply.
            let (status, reason, host) = match reqwest::Url::parse(url) {
                Ok(parsed) => {
                    let host = parsed.host_str().unwrap_or_default().to_owned();
                    match policy.parse(url) {
                        Ok(_) => ("queued", None, host),
                        Err(super::guard::Refusal::Address(ip)) if ip_is_loopback(ip) => {
                            ("queued", None, host)
                        }
                        Err(r) => ("refused", Some(format!("{}: {r}", r.code())), host),
                    }
                }
                Err(_) => (
                    "refused",
                    Some("bad_url: not a valid URL".into()),
                    String::new(),
                ),
            };
            if status == "queued" && *room <= 0 {
                left_out += 1;
                continue;
            }
            let inserted = sqlx::query(
                "INSERT INTO image_fetches \
                 (seller_id, product_id, feed_id, url, host, status, next_attempt_at, reason, \
                  created_at, finished_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $7, $9) \
                 ON CONFLICT (product_id, url) DO NOTHING",
            )
            .bind(seller.get())
            .bind(product_id)
            .bind(feed)
            .bind(url)
            .bind(host)
            .bind(status)
            .bind(now)
            .bind(&reason)
            .bind(reason.as_ref().map(|_| now))
            .execute(&mut **tx)
            .await?
            .rows_affected();
            match (reason, inserted) {
                (Some(reason), 1) => self
                    .metrics
                    .outcome(reason.split(':').next().unwrap_or("refused")),
                (None, 1) => *room -= 1,
                _ => {}
            }
        }
        Ok(left_out)
    }

    /// Fetches one job's picture and records the outcome: stored, retried later, needs
    /// review or refused, each with its reason.
    pub async fn run(
        &self,
        job: &Job,
        fetcher: &Fetcher,
        assets: &Assets,
    ) -> Result<(), sqlx::Error> {
        let attempts = job.attempts + 1;
        let outcome = match fetcher.fetch(&job.url).await {
            Ok(bytes) => match assets
                .upload(job.seller, job.product, bytes, UploadRequest::default())
                .await
            {
                Ok(image) => Ok(image.id),
                Err(AssetError::Refused(r)) => {
                    Err(("needs_review", format!("not_an_image: {r}"), false))
                }
                Err(AssetError::Invalid(r)) => {
                    Err(("needs_review", format!("not_an_image: {r}"), false))
                }
                Err(AssetError::NotFound) => Err((
                    "needs_review",
                    "product_gone: the product no longer exists".into(),
                    false,
                )),
                Err(e @ (AssetError::Busy | AssetError::StoreUnavailable(_))) => {
                    Err(("needs_review", format!("store_unavailable: {e}"), true))
                }
                Err(AssetError::Db(e)) => return Err(e),
            },
            Err(e @ FetchError::Refused(_)) => {
                Err(("refused", format!("{}: {e}", e.code()), false))
            }
            Err(e) => Err(("needs_review", format!("{}: {e}", e.code()), e.retryable())),
        };
        let now = self.clock.now();
        match outcome {
            Ok(image) => {
                sqlx::query(
                    "UPDATE image_fetches SET status = 'stored', attempts = $1, image_id = $2, \
                     reason = NULL, finished_at = $3 WHERE id = $4",
                )
                .bind(attempts)
                .bind(image)
                .bind(now)
                .bind(job.id)
                .execute(self.db.pool())
                .await?;
                self.finished(job, "stored", now);
            }
            Err((_, reason, true)) if attempts <= self.config.max_retries => {
                let base = self.config.backoff.as_millis() as f64 * 2f64.powi(attempts as i32 - 1);
                let delay = (base * rand::rng().random_range(0.5..1.5)) as i64;
                sqlx::query(
                    "UPDATE image_fetches SET attempts = $1, next_attempt_at = $2, reason = $3 \
                     WHERE id = $4",
                )
                .bind(attempts)
                .bind(now + delay)
                .bind(format!("retrying after {reason}"))
                .bind(job.id)
                .execute(self.db.pool())
                .await?;
                self.metrics.retry();
            }
            Err((status, reason, _)) => {
                sqlx::query(
                    "UPDATE image_fetches SET status = $1, attempts = $2, reason = $3, \
                     finished_at = $4 WHERE id = $5",
                )
                .bind(status)
                .bind(attempts)
                .bind(&reason)
                .bind(now)
                .bind(job.id)
                .execute(self.db.pool())
                .await?;
                self.finished(job, reason.split(':').next().unwrap_or(status), now);
            }
        }
        Ok(())
    }

    fn finished(&self, job: &Job, reason: &str, now: Millis) {
        let queued = u64::try_from(now - job.created_at).unwrap_or(0);
        self.metrics.finished(reason, Duration::from_millis(queued));
    }

    /// Puts a seller's failed fetch back in the queue (the seller fixed their server), if
    /// their picture quota has room: a retry queues a picture like a feed does.
    pub async fn retry(&self, seller: SellerId, fetch: i64) -> Result<(), FeedError> {
        let changed = sqlx::query(
            "UPDATE image_fetches SET status = 'queued', attempts = 0, next_attempt_at = $1, \
             reason = NULL, finished_at = NULL \
             WHERE id = $2 AND seller_id = $3 AND status IN ('needs_review', 'refused') \
               AND (SELECT COUNT(*) FROM image_fetches \
                    WHERE seller_id = $3 AND status = 'queued') < $4",
        )
        .bind(self.clock.now())
        .bind(fetch)
        .bind(seller.get())
        .bind(self.config.seller_pictures)
        .execute(self.db.pool())
        .await?
        .rows_affected();
        if changed == 1 {
            return Ok(());
        }
        let failed: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM image_fetches \
             WHERE id = $1 AND seller_id = $2 AND status IN ('needs_review', 'refused')",
        )
        .bind(fetch)
        .bind(seller.get())
        .fetch_optional(self.db.pool())
        .await?;
        Err(match failed {
            Some(_) => FeedError::QueueFull(format!(
                "{} Retry this one once some of them are fetched.",
                self.pictures_full()
            )),
            None => FeedError::NotFound,
        })
    }

    /// One of the seller's feeds with its report and its pictures' states.
    pub async fn view(&self, seller: Option<SellerId>, id: i64) -> Result<FeedView, FeedError> {
        let feeds = self.list_where(seller, Some(id), 1).await?;
        let mut feed = feeds.into_iter().next().ok_or(FeedError::NotFound)?;
        feed.fetches = self.fetches(seller, Some(id), None, 500).await?;
        Ok(feed)
    }

    /// The seller's latest feeds, newest first (without their pictures).
    pub async fn list(&self, seller: SellerId, limit: i64) -> Result<Vec<FeedView>, FeedError> {
        self.list_where(Some(seller), None, limit).await
    }

    async fn list_where(
        &self,
        seller: Option<SellerId>,
        id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<FeedView>, FeedError> {
        type Row = (
            i64,
            String,
            String,
            String,
            i64,
            i64,
            i64,
            i64,
            i64,
            String,
            Option<String>,
            i64,
            Option<i64>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, file_name, format, status, rows_total, rows_done, created, updated, \
             unchanged, errors, failure, created_at, finished_at FROM feeds \
             WHERE ($1 IS NULL OR seller_id = $1) AND ($2 IS NULL OR id = $2) \
             ORDER BY id DESC LIMIT $3",
        )
        .bind(seller.map(SellerId::get))
        .bind(id)
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| FeedView {
                id: r.0,
                file_name: r.1,
                format: r.2,
                status: r.3,
                rows_total: r.4,
                rows_done: r.5,
                created: r.6,
                updated: r.7,
                unchanged: r.8,
                errors: serde_json::from_str(&r.9).unwrap_or_default(),
                failure: r.10,
                created_at: r.11,
                finished_at: r.12,
                fetches: vec![],
            })
            .collect())
    }

    /// Picture fetches: a feed's, a seller's, or (admin) every stuck or failing one.
    pub async fn fetches(
        &self,
        seller: Option<SellerId>,
        feed: Option<i64>,
        status: Option<FetchStatus>,
        limit: i64,
    ) -> Result<Vec<FetchView>, sqlx::Error> {
        let rows: Vec<FetchRow> = sqlx::query_as(
            "SELECT id, seller_id, product_id, url, status, attempts, reason, created_at, image_id \
             FROM image_fetches \
             WHERE ($1 IS NULL OR seller_id = $1) AND ($2 IS NULL OR feed_id = $2) \
             AND ($3 IS NULL OR status = $3) ORDER BY id LIMIT $4",
        )
        .bind(seller.map(SellerId::get))
        .bind(feed)
        .bind(status.map(FetchStatus::as_str))
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows.into_iter().map(fetch_view).collect())
    }

    /// Fetches that need someone: failed ones, and ones waiting longer than `stuck_after`.
    pub async fn problems(
        &self,
        stuck_after: Millis,
        limit: i64,
    ) -> Result<Vec<FetchView>, sqlx::Error> {
        let rows: Vec<FetchRow> = sqlx::query_as(
            "SELECT id, seller_id, product_id, url, status, attempts, reason, created_at, image_id \
             FROM image_fetches WHERE status IN ('needs_review', 'refused') \
             OR (status = 'queued' AND created_at < $1) ORDER BY id DESC LIMIT $2",
        )
        .bind(self.clock.now() - stuck_after)
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows.into_iter().map(fetch_view).collect())
    }

    /// Queue depth by state, and the oldest waiting fetch.
    pub async fn stats(&self) -> Result<QueueStats, sqlx::Error> {
        let rows: Vec<(String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT status, COUNT(*), MIN(created_at) FROM image_fetches GROUP BY status",
        )
        .fetch_all(self.db.pool())
        .await?;
        let mut stats = QueueStats::default();
        for (status, n, oldest) in rows {
            match status.as_str() {
                "queued" => {
                    stats.queued = n;
                    stats.oldest_queued_at = oldest;
                }
                "stored" => stats.stored = n,
                "needs_review" => stats.needs_review = n,
                _ => stats.refused = n,
            }
        }
        stats.feeds_waiting = sqlx::query_scalar(
            "SELECT COUNT(*) FROM feeds WHERE status IN ('queued', 'processing')",
        )
        .fetch_one(self.db.pool())
        .await?;
        Ok(stats)
    }
}

type FetchRow = (
    i64,
    i64,
    i64,
    String,
    String,
    i64,
    Option<String>,
    i64,
    Option<i64>,
);

fn fetch_view(r: FetchRow) -> FetchView {
    FetchView {
        id: r.0,
        seller_id: r.1,
        product_id: r.2,
        url: r.3,
        status: FetchStatus::parse(&r.4).unwrap_or(FetchStatus::Queued),
        attempts: r.5,
        reason: r.6,
        created_at: r.7,
        image_id: r.8,
    }
}

fn ip_is_loopback(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => v4.is_loopback(),
        std::net::IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v| v.is_loopback())
        }
    }
}
