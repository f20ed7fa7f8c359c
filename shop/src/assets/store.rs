//! The object store behind a circuit breaker. A local folder by default, any S3-compatible
//! service in production. Every call has a timeout derived from recent healthy latencies and
//! goes through the breaker: while it is open, calls fail at once and pages leave pictures out
//! instead of waiting.

use crate::resilience::{Breaker, BreakerMetrics, BreakerState};
use bytes::Bytes;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, PutPayload};
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where pictures are kept: `EMPORIUM_ASSET_STORE` is a folder or `s3://bucket/prefix`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreLocation {
    Folder(std::path::PathBuf),
    S3 {
        bucket: String,
        prefix: String,
        /// `EMPORIUM_S3_ENDPOINT`, for S3-compatible services; AWS itself when unset.
        endpoint: Option<String>,
        /// Credentials and region given in the shop's own settings; the standard `AWS_*`
        /// variables (or the instance's role) otherwise.
        credentials: Option<S3Credentials>,
    },
}

/// An access key pair and region for S3, when not taken from the `AWS_*` variables.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub region: String,
}

impl std::fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl StoreLocation {
    pub fn parse(value: &str, endpoint: Option<String>) -> Result<Self, StoreError> {
        match value.strip_prefix("s3://") {
            Some(rest) => {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    return Err(StoreError::Config(format!(
                        "{value:?} names no bucket (expected s3://bucket/prefix)"
                    )));
                }
                Ok(Self::S3 {
                    bucket: bucket.to_owned(),
                    prefix: prefix.trim_matches('/').to_owned(),
                    endpoint,
                    credentials: None,
                })
            }
            None => Ok(Self::Folder(value.into())),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("image store misconfigured: {0}")]
    Config(String),
    #[error("the image store is unavailable (circuit open)")]
    Open,
    #[error("the image store did not answer within {0:?}")]
    Timeout(Duration),
    #[error("no such object")]
    NotFound,
    #[error("image store error: {0}")]
    Store(#[from] object_store::Error),
}

/// Tuning for the breaker and timeouts.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Consecutive failures that open the breaker. One by default: the first failed read
    /// switches this node's pages to the pictures it holds a copy of, before a second
    /// shopper is sent to a store that does not answer.
    pub failures_to_open: u32,
    /// How long the breaker stays open before a probe.
    pub cool_down: Duration,
    /// The timeout before any latency has been seen, and its ceiling.
    pub max_timeout: Duration,
    /// The timeout's floor.
    pub min_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            failures_to_open: 1,
            cool_down: Duration::from_secs(5),
            max_timeout: Duration::from_secs(2),
            min_timeout: Duration::from_millis(250),
        }
    }
}

/// The store client. Cheap to clone.
#[derive(Clone)]
pub struct AssetStore(Arc<Shared>);

struct Shared {
    inner: Arc<dyn ObjectStore>,
    breaker: Breaker,
    latencies: Mutex<VecDeque<Duration>>,
    options: StoreOptions,
    metrics: BreakerMetrics,
    describe: String,
}

impl std::fmt::Debug for AssetStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssetStore")
            .field("store", &self.0.describe)
            .finish_non_exhaustive()
    }
}

/// How many recent healthy latencies the timeout is derived from.
const WINDOW: usize = 128;

impl AssetStore {
    pub fn open(location: &StoreLocation, options: StoreOptions) -> Result<Self, StoreError> {
        let (inner, describe): (Arc<dyn ObjectStore>, String) = match location {
            StoreLocation::Folder(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StoreError::Config(format!("cannot create {}: {e}", dir.display()))
                })?;
                (
                    Arc::new(object_store::local::LocalFileSystem::new_with_prefix(dir)?),
                    format!("folder {}", dir.display()),
                )
            }
            StoreLocation::S3 {
                bucket,
                prefix,
                endpoint,
                credentials,
            } => {
                // Our own timeout and breaker decide when to give up; the client's retries
                // are kept short so that one call cannot outlive them by minutes.
                let retry = object_store::RetryConfig {
                    max_retries: 1,
                    retry_timeout: options.max_timeout,
                    backoff: object_store::BackoffConfig::default(),
                };
                let mut builder = object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .with_retry(retry)
                    .with_client_options(
                        object_store::ClientOptions::new()
                            .with_connect_timeout(options.max_timeout)
                            .with_timeout(options.max_timeout * 2),
                    );
                if let Some(c) = credentials {
                    builder = builder
                        .with_access_key_id(&c.access_key_id)
                        .with_secret_access_key(&c.secret_access_key)
                        .with_region(&c.region);
                }
                if let Some(endpoint) = endpoint {
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_allow_http(endpoint.starts_with("http://"))
                        .with_virtual_hosted_style_request(false);
                }
                let s3: Arc<dyn ObjectStore> = Arc::new(builder.build()?);
                let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
                    s3
                } else {
                    Arc::new(object_store::prefix::PrefixStore::new(
                        s3,
                        StorePath::from(prefix.as_str()),
                    ))
                };
                (store, format!("s3://{bucket}/{prefix}"))
            }
        };
        Ok(Self(Arc::new(Shared {
            inner,
            breaker: Breaker::new(options.failures_to_open, options.cool_down),
            latencies: Mutex::new(VecDeque::with_capacity(WINDOW)),
            options,
            metrics: BreakerMetrics::default(),
            describe,
        })))
    }

    /// Probes the store every `period` for as long as any clone of this client lives.
    pub fn spawn_prober(&self, period: Duration) {
        let weak = Arc::downgrade(&self.0);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(period.max(Duration::from_millis(50)));
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let Some(shared) = weak.upgrade() else { return };
                let store = AssetStore(shared);
                // While open, `probe` fails fast until the cool-down lets one through.
                let _ = store.probe().await;
            }
        });
    }

    pub fn describe(&self) -> &str {
        &self.0.describe
    }

    pub fn state(&self) -> BreakerState {
        self.0.breaker.state()
    }

    /// Whether pages should show pictures: only while the breaker is closed. Half-open is
    /// not enough: the probe may yet time out, and a page must not point at a store that has
    /// not answered.
    pub fn serving(&self) -> bool {
        self.0.breaker.state() == BreakerState::Closed
    }

    pub fn metrics(&self) -> &BreakerMetrics {
        &self.0.metrics
    }

    /// The current per-call timeout: four times the 99th percentile of recent healthy calls
    /// plus 50 ms, within the configured floor and ceiling.
    pub fn timeout(&self) -> Duration {
        let latencies = self.0.latencies.lock().unwrap_or_else(|p| p.into_inner());
        if latencies.len() < 8 {
            return self.0.options.max_timeout;
        }
        let mut sorted: Vec<Duration> = latencies.iter().copied().collect();
        sorted.sort_unstable();
        let p99 = sorted[(sorted.len() * 99 / 100).min(sorted.len() - 1)];
        (p99 * 4 + Duration::from_millis(50))
            .clamp(self.0.options.min_timeout, self.0.options.max_timeout)
    }

    // Keys are content hashes under a seller's id: they identify a picture, nothing personal.
    #[tracing::instrument(name = "image_store.put", skip_all, fields(key = %key, bytes = bytes.len()))]
    pub async fn put(&self, key: &StorePath, bytes: Vec<u8>) -> Result<(), StoreError> {
        let payload = PutPayload::from(bytes);
        self.call(|store| async move { store.put(key, payload).await.map(|_| ()) })
            .await
    }

    #[tracing::instrument(name = "image_store.get", skip_all, fields(key = %key))]
    pub async fn get(&self, key: &StorePath) -> Result<Bytes, StoreError> {
        self.call(|store| async move { store.get(key).await?.bytes().await })
            .await
    }

    /// Whether `key` exists. A missing object is an answer, not a failure.
    #[tracing::instrument(name = "image_store.exists", skip_all, fields(key = %key))]
    pub async fn exists(&self, key: &StorePath) -> Result<bool, StoreError> {
        match self
            .call(|store| async move { store.head(key).await.map(|_| ()) })
            .await
        {
            Ok(()) => Ok(true),
            Err(StoreError::NotFound) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// One cheap call to learn whether the store answers (a HEAD of a key that need not
    /// exist). Run periodically, it is what opens the breaker when no shopper is asking for
    /// pictures, and what closes it again when the store is back.
    pub async fn probe(&self) -> Result<Duration, StoreError> {
        let started = Instant::now();
        self.exists(&StorePath::from("health/probe")).await?;
        Ok(started.elapsed())
    }

    async fn call<'a, T, F, Fut>(&'a self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&'a dyn ObjectStore) -> Fut,
        Fut: std::future::Future<Output = Result<T, object_store::Error>> + 'a,
    {
        let before = self.0.breaker.state();
        if !self.0.breaker.allow() {
            self.0.metrics.rejected.fetch_add(1, Ordering::Relaxed);
            return Err(StoreError::Open);
        }
        self.0.metrics.calls.fetch_add(1, Ordering::Relaxed);
        let timeout = self.timeout();
        let started = Instant::now();
        let result = match tokio::time::timeout(timeout, f(self.0.inner.as_ref())).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(object_store::Error::NotFound { .. })) => Err(StoreError::NotFound),
            Ok(Err(e)) => Err(StoreError::Store(e)),
            Err(_) => Err(StoreError::Timeout(timeout)),
        };
        // A missing object is the store answering correctly.
        let healthy = matches!(result, Ok(_) | Err(StoreError::NotFound));
        if healthy {
            let mut latencies = self.0.latencies.lock().unwrap_or_else(|p| p.into_inner());
            if latencies.len() == WINDOW {
                latencies.pop_front();
            }
            latencies.push_back(started.elapsed());
        } else {
            self.0.metrics.failures.fetch_add(1, Ordering::Relaxed);
        }
        self.0.breaker.record(healthy);
        self.count_transition(before);
        result
    }

    fn count_transition(&self, before: BreakerState) {
        let after = self.0.breaker.state();
        self.0.metrics.transition(before, after);
        if before == after {
            return;
        }
        match after {
            // Logged once per outage, not at every failed probe.
            BreakerState::Open if before == BreakerState::Closed => {
                tracing::warn!(store = %self.0.describe, "image store failing: pages show only the pictures this node holds")
            }
            BreakerState::Open => {}
            BreakerState::Closed => {
                tracing::info!(store = %self.0.describe, "image store back: every picture shown")
            }
            BreakerState::HalfOpen => {}
        }
    }
}
