//! `/metrics`: the node's counters, gauges and histograms in Prometheus' text format, through
//! the `metrics` facade and `metrics-exporter-prometheus` (without its HTTP listener: the
//! page is served by the node's own router).
//!
//! Two kinds of series, two recorders:
//! - what is recorded as it happens (requests by route, checkout steps, picture fetches)
//!   goes to the state's [`Metrics`], whose histograms have buckets, so Prometheus can
//!   compute latency quantiles across nodes;
//! - what is read when scraped (breakers, caches, search, rate limits, and the queues that
//!   lag behind, read from the database) is set on a recorder made for that one scrape. Queue
//!   gauges come from the database, so every node reports the same numbers and an alert
//!   fires once whichever node is scraped; each query has a timeout, and one that fails
//!   leaves its family out of that reading (never an old number repeated in its place): a
//!   slow database makes the page shorter, never late. The database's readings are kept for
//!   a few seconds ([`Readings`], `EMPORIUM_METRICS_CACHE_MS`) and scrapes that arrive
//!   meanwhile, at once or one after another, share one set of queries: a flood of scrapes
//!   cannot become a flood of `COUNT`s.
//!
//! Who may scrape is `health::metrics`'s to decide (loopback, or the operator's token).
//!
//! One recorder per [`AppState`], not the process-global one: tests run the real server
//! in-process (`spawn_app`), several of them in one process under `cargo test`, and a global
//! recorder would add their counts together. Code records with
//! `metrics::with_local_recorder` or through handles registered on it (`shop`'s
//! `StepMetrics` and `FetchMetrics`).

use crate::state::AppState;
use metrics::{counter, describe_counter, describe_gauge, gauge};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusRecorder};
use shop::clock::Millis;
use shop::events;
use shop::inventory::holds;
use shop::resilience::{BreakerMetrics, BreakerState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// How long one database-backed gauge may take before it is left out of this scrape.
const QUERY_TIMEOUT: Duration = Duration::from_secs(2);

/// How often recorded histogram samples are folded into their buckets when nobody scrapes
/// (the exporter keeps raw samples until then; unscraped, they would pile up).
const UPKEEP: Duration = Duration::from_secs(5);

/// Topics the outbox dispatcher delivers (see `workers`); others are followed by position.
pub const DISPATCHED_TOPICS: &[&str] = &[shop::events::ORDER_CONFIRMED];

/// The histograms and their upper bounds in seconds (`+Inf` is implied).
const BUCKETS: [(&str, &[f64]); 3] = [
    (crate::http_metrics::DURATION, &crate::http_metrics::BUCKETS),
    (shop::checkout::STEP_SECONDS, &shop::checkout::STEP_BUCKETS),
    (shop::feeds::QUEUE_SECONDS, &shop::feeds::QUEUE_BUCKETS),
];

/// The series this node records as things happen. Cheap to clone (clones share them).
#[derive(Clone, Debug)]
pub struct Metrics(Arc<PrometheusRecorder>);

impl Metrics {
    /// A recorder whose histograms have [`BUCKETS`]. Fails only for an empty list of bounds.
    pub fn new() -> Result<Self, BuildError> {
        let mut builder = PrometheusBuilder::new();
        for (name, bounds) in BUCKETS {
            builder = builder.set_buckets_for_metric(Matcher::Full(name.into()), bounds)?;
        }
        let metrics = Self(Arc::new(builder.build_recorder()));
        metrics.record(crate::http_metrics::describe);
        Ok(metrics)
    }

    /// The recorder, for the services that register their own handles on it.
    pub fn recorder(&self) -> Arc<dyn metrics::Recorder + Send + Sync> {
        self.0.clone()
    }

    /// Runs `record` with this recorder behind the `metrics` macros.
    pub fn record<T>(&self, record: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(&*self.0, record)
    }

    /// Everything recorded so far, in Prometheus' text format.
    pub fn render(&self) -> String {
        self.0.handle().render()
    }

    /// Folds recorded samples into buckets every few seconds, until the last clone is gone.
    pub fn spawn_upkeep(&self) {
        let recorder: Weak<PrometheusRecorder> = Arc::downgrade(&self.0);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(UPKEEP);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                match recorder.upgrade() {
                    Some(recorder) => recorder.handle().run_upkeep(),
                    None => return,
                }
            }
        });
    }
}

/// What a scrape reads from the database, each `None` when its query failed or took too
/// long. Ages are computed from these timestamps when a page is rendered, so a reading kept
/// for a few seconds still shows ages as of the scrape.
#[derive(Debug, Default)]
pub struct Readings {
    held: Option<holds::HeldStats>,
    unfinished: Option<Vec<(shop::checkout::CheckoutState, i64, Millis)>>,
    backlog: Option<events::Backlog>,
    lag: Option<(i64, Option<Millis>)>,
    mail: Option<shop::mail::OutboxStats>,
    pictures: Option<shop::feeds::QueueStats>,
}

/// The last reading of something costly to read (the database's gauges, the node's
/// readiness), kept for an interval; concurrent readers of an expired one wait for a single
/// read (moka runs one initialiser per key and shares its result), so a flood of scrapes or
/// probes costs one set of queries per interval.
pub struct Kept<T: Send + Sync + 'static>(Option<moka::future::Cache<(), Arc<T>>>);

impl<T: Send + Sync + 'static> Clone for Kept<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T: Send + Sync + 'static> std::fmt::Debug for Kept<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kept")
            .field("kept", &self.0.is_some())
            .finish()
    }
}

impl<T: Send + Sync + 'static> Kept<T> {
    /// Readings kept for `ttl`; none kept at all for a zero interval.
    pub fn new(ttl: Duration) -> Self {
        Self((!ttl.is_zero()).then(|| {
            moka::future::Cache::builder()
                .max_capacity(1)
                .time_to_live(ttl)
                .build()
        }))
    }

    pub async fn get_with(&self, read: impl Future<Output = T>) -> Arc<T> {
        match &self.0 {
            Some(cache) => cache.get_with((), async { Arc::new(read.await) }).await,
            None => Arc::new(read.await),
        }
    }
}

/// The database's gauges, as last read.
pub type ReadingsCache = Kept<Readings>;

/// Reads every database-backed gauge, one query at a time, as a request would: a scrape
/// never takes more than one of the pool's connections.
async fn read(state: &AppState) -> Readings {
    let now = state.clock.now();
    let search = state.services.search.health();
    Readings {
        held: query("reservations", holds::held_stats(&state.db, now)).await,
        unfinished: query("checkouts", state.services.checkouts.unfinished()).await,
        backlog: query("outbox", events::backlog(&state.db, DISPATCHED_TOPICS)).await,
        // This node's index: lag means its searches miss recent changes. Only while the
        // index is ready: before that the database answers (and `..._index_ready` says so).
        lag: match search.ready {
            true => {
                query(
                    "search index lag",
                    events::written_after(&state.db, search.position),
                )
                .await
            }
            false => None,
        },
        mail: query("mail", state.services.outbox.stats()).await,
        pictures: query("picture fetches", state.services.feeds.stats()).await,
    }
}

/// The whole `/metrics` page: what was recorded, then what was read (at most an interval
/// ago) from the database and this node's components.
pub async fn render(state: &AppState) -> String {
    let readings = state.readings.get_with(read(state)).await;
    let now = state.clock.now();
    let search = state.services.search.health();
    let Readings {
        held,
        unfinished,
        backlog,
        lag,
        mail,
        pictures,
    } = &*readings;
    let scrape = PrometheusBuilder::new().build_recorder();
    metrics::with_local_recorder(&scrape, || {
        search_index(&search);
        breakers(state);
        counter(
            "emporium_catalog_product_loads_total",
            "Products this node read from the database into its product cache (misses that loaded; a crowd missing one product counts one).",
            state.services.catalog.product_loads(),
        );
        if let Some(limits) = state.rate_limits.as_deref() {
            describe_counter!(
                "emporium_rate_limited_total",
                "Requests refused with 429, by route class."
            );
            for (class, n) in limits.refusals() {
                counter!("emporium_rate_limited_total", "class" => class).absolute(n);
            }
        }
        if let Some(held) = held {
            held_stock(held, now);
        }
        if let Some(unfinished) = unfinished {
            checkouts(unfinished, now);
        }
        if let Some(backlog) = backlog {
            outbox(backlog, now);
        }
        if let Some((behind, oldest)) = *lag {
            gauge(
                "emporium_search_index_lag_events",
                "Outbox events written after this node's search index checkpoint (not yet applied, or applied past a gap still being waited for).",
                behind as f64,
            );
            gauge(
                "emporium_search_index_lag_seconds",
                "Age of the oldest outbox event past this node's search index checkpoint, in seconds (0 when the index is up to date).",
                age(now, oldest),
            );
        }
        if let Some(mail) = mail {
            mail_outbox(mail, now);
        }
        if let Some(pictures) = pictures {
            picture_queue(pictures);
        }
    });
    let mut page = state.metrics.render();
    page.push_str(&scrape.handle().render());
    page
}

/// A family of one unlabelled gauge.
fn gauge(name: &'static str, help: &'static str, value: f64) {
    describe_gauge!(name, help);
    gauge!(name).set(value);
}

/// A family of one unlabelled counter, kept elsewhere and copied in.
fn counter(name: &'static str, help: &'static str, value: u64) {
    describe_counter!(name, help);
    counter!(name).absolute(value);
}

/// Seconds from `since` to `now`; 0 when there is nothing waiting.
fn age(now: Millis, since: Option<Millis>) -> f64 {
    since.map_or(0.0, |t| (now - t).max(0) as f64 / 1000.0)
}

/// Runs one gauge's query within `QUERY_TIMEOUT`; `None` (and a log line) otherwise.
async fn query<T, E: std::fmt::Display>(
    what: &str,
    future: impl std::future::Future<Output = Result<T, E>>,
) -> Option<T> {
    match tokio::time::timeout(QUERY_TIMEOUT, future).await {
        Ok(Ok(value)) => Some(value),
        Ok(Err(e)) => {
            tracing::warn!(gauge = what, error = %e, "a metric could not be read");
            None
        }
        Err(_) => {
            tracing::warn!(gauge = what, "a metric took too long to read");
            None
        }
    }
}

fn search_index(search: &shop::search::SearchHealth) {
    gauge(
        "emporium_search_index_ready",
        "1 when searches use the index, 0 while the database answers them (degraded).",
        f64::from(u8::from(search.ready)),
    );
    gauge(
        "emporium_search_documents",
        "Products in this node's search index.",
        search.documents as f64,
    );
    counter(
        "emporium_search_queries_total",
        "Searches answered since start.",
        search.queries,
    );
    counter(
        "emporium_search_degraded_queries_total",
        "Searches the database answered because the index was unavailable.",
        search.degraded_queries,
    );
}

/// The two clients behind a breaker: the payment gateway and the image store.
fn breakers(state: &AppState) {
    let gateway = state.services.checkouts.gateway();
    gauge(
        "emporium_gateway_available",
        "1 while payments go to the gateway, 0 while its breaker is open or probing (checkouts fail fast with nothing charged).",
        f64::from(u8::from(gateway.breaker_state() == BreakerState::Closed)),
    );
    breaker(
        gateway.metrics(),
        [
            (
                "emporium_gateway_calls_total",
                "Calls made to the payment gateway (retries included).",
            ),
            (
                "emporium_gateway_failures_total",
                "Payment gateway calls that timed out, failed to connect or got a 5xx.",
            ),
            (
                "emporium_gateway_rejected_total",
                "Payment gateway calls refused at once because the breaker was open.",
            ),
            (
                "emporium_gateway_breaker_transitions_total",
                "Payment gateway breaker state changes, by the state entered.",
            ),
        ],
    );
    let assets = &state.services.assets;
    let store = assets.store();
    gauge(
        "emporium_asset_store_available",
        "1 while every picture is shown, 0 while the image store's breaker is open (pages show \
         only the pictures this node holds).",
        f64::from(u8::from(store.serving())),
    );
    gauge(
        "emporium_asset_kept_bytes",
        "Bytes of pictures this node holds a copy of (EMPORIUM_ASSET_KEPT_MB bounds it).",
        assets.kept_bytes() as f64,
    );
    counter(
        "emporium_asset_placeholders_total",
        "Placeholders answered for pictures neither the image store nor this node's copies had.",
        assets.placeholders(),
    );
    breaker(
        store.metrics(),
        [
            (
                "emporium_asset_store_calls_total",
                "Calls made to the image store.",
            ),
            (
                "emporium_asset_store_failures_total",
                "Image store calls that failed or timed out.",
            ),
            (
                "emporium_asset_store_rejected_total",
                "Image store calls refused at once because the breaker was open.",
            ),
            (
                "emporium_asset_breaker_transitions_total",
                "Image store breaker state changes, by the state entered.",
            ),
        ],
    );
}

/// A breaker's counters: calls, failures, rejections and transitions by the state entered,
/// each a (name, help).
fn breaker(
    m: &BreakerMetrics,
    [calls, failures, rejected, transitions]: [(&'static str, &'static str); 4],
) {
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    counter(calls.0, calls.1, load(&m.calls));
    counter(failures.0, failures.1, load(&m.failures));
    counter(rejected.0, rejected.1, load(&m.rejected));
    describe_counter!(transitions.0, transitions.1);
    for (to, n) in [
        ("open", &m.opened),
        ("half_open", &m.half_opened),
        ("closed", &m.closed),
    ] {
        counter!(transitions.0, "to" => to).absolute(load(n));
    }
}

fn held_stock(held: &holds::HeldStats, now: Millis) {
    describe_gauge!(
        "emporium_reservations",
        "Stock holds in place, by state: held (within its time) or overdue (past its expiry; released by the sweeper unless its checkout's payment is in progress)."
    );
    gauge!("emporium_reservations", "state" => "held").set(held.live as f64);
    gauge!("emporium_reservations", "state" => "overdue").set(held.overdue as f64);
    gauge(
        "emporium_reserved_units",
        "Units of stock held for checkouts in progress.",
        held.units as f64,
    );
    gauge(
        "emporium_reservations_oldest_seconds",
        "Age of the oldest hold in place, in seconds (0 when there is none).",
        age(now, held.oldest_at),
    );
}

fn checkouts(unfinished: &[(shop::checkout::CheckoutState, i64, Millis)], now: Millis) {
    describe_gauge!(
        "emporium_checkouts_unfinished",
        "Checkout attempts not yet confirmed or failed, by state."
    );
    describe_gauge!(
        "emporium_checkouts_unfinished_oldest_seconds",
        "Seconds since the least recently moved unfinished checkout attempt moved, by state (0 when there is none)."
    );
    // Every unfinished state, 0 included, so that an alert has a series to watch.
    let states = shop::checkout::CheckoutState::ALL.into_iter();
    for state in states.filter(|s| !s.is_terminal()) {
        let found = unfinished.iter().find(|(s, _, _)| *s == state);
        let (n, oldest) = found.map_or((0, None), |(_, n, at)| (*n, Some(*at)));
        gauge!("emporium_checkouts_unfinished", "state" => state.as_str()).set(n as f64);
        gauge!("emporium_checkouts_unfinished_oldest_seconds", "state" => state.as_str())
            .set(age(now, oldest));
    }
}

fn outbox(backlog: &events::Backlog, now: Millis) {
    gauge(
        "emporium_outbox_waiting",
        "Events waiting for the dispatcher (order confirmations for fulfillment), retries included.",
        backlog.waiting as f64,
    );
    gauge(
        "emporium_outbox_oldest_waiting_seconds",
        "Age of the oldest event waiting for the dispatcher, in seconds (0 when none waits).",
        age(now, backlog.oldest_waiting_at),
    );
    gauge(
        "emporium_outbox_dead",
        "Events the dispatcher gave up on after repeated failures, waiting for an operator to replay them.",
        backlog.dead as f64,
    );
}

fn mail_outbox(mail: &shop::mail::OutboxStats, now: Millis) {
    gauge(
        "emporium_mail_waiting",
        "Messages in the mail outbox not sent yet.",
        mail.waiting as f64,
    );
    gauge(
        "emporium_mail_failing",
        "Unsent messages whose last delivery attempt failed.",
        mail.failing as f64,
    );
    gauge(
        "emporium_mail_oldest_waiting_seconds",
        "Age of the oldest unsent message, in seconds (0 when none waits).",
        age(now, mail.oldest_waiting_at),
    );
}

/// The picture queue's depth by state, from the database, so every node reports the same
/// queue (this node's fetch outcomes are recorded as they happen, by `shop::feeds`).
fn picture_queue(stats: &shop::feeds::QueueStats) {
    describe_gauge!(
        "emporium_picture_fetches",
        "Picture URLs from feeds, by state."
    );
    for (status, n) in [
        ("queued", stats.queued),
        ("stored", stats.stored),
        ("needs_review", stats.needs_review),
        ("refused", stats.refused),
    ] {
        gauge!("emporium_picture_fetches", "status" => status).set(n as f64);
    }
    gauge(
        "emporium_feeds_waiting",
        "Feeds queued or being processed.",
        stats.feeds_waiting as f64,
    );
}
