//! The application state, built once at start-up and handed to every handler and (through
//! Leptos context) every server function. Tests build their own.

use crate::config::Settings;
use app::services::Services;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use shop::accounts::{
    AccountLinks, ApiKeys, Hashing, HashingConfig, SessionConfig, Sessions, Throttle,
    ThrottleConfig, Users,
};
use shop::assets::Assets;
use shop::cart::Carts;
use shop::catalog::Catalog;
use shop::checkout::{CheckoutConfig, CheckoutState, Checkouts};
use shop::clock::{Clock, SystemClock};
use shop::coupons::Coupons;
use shop::db::Db;
use shop::mail::Outbox;
use shop::orders::Orders;
use shop::orders::refunds::Refunds;
use shop::payments::{Gateway, GatewayConfig};
use shop::search::{Recommender, Search};
use shop::sellers::Sellers;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    /// Behind an `Arc`: every handler's `State` extractor clones the state per request.
    pub services: Arc<Services>,
    pub clock: Arc<dyn Clock>,
    pub settings: Arc<Settings>,
    /// Per-address rate limits, unless the settings turn them off.
    pub rate_limits: Option<Arc<crate::web::RateLimits>>,
    /// What this node records as it happens, for `/metrics` (its own recorder: tests run
    /// several states in one process).
    pub metrics: crate::metrics::Metrics,
    /// What `/metrics` last read from the database, kept for `metrics_cache_ms`.
    pub readings: crate::metrics::ReadingsCache,
    /// The node's readiness, as last checked (`/readyz`), kept for `readiness_cache_ms`.
    pub readiness: crate::metrics::Kept<app::health::Readiness>,
}

impl AppState {
    /// The state for these settings, on the wall clock.
    pub fn new(db: Db, settings: &Settings, leptos_options: LeptosOptions) -> anyhow::Result<Self> {
        Self::with_clock(db, settings, leptos_options, Arc::new(SystemClock))
    }

    pub fn with_clock(
        db: Db,
        settings: &Settings,
        leptos_options: LeptosOptions,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        shop::money::configure(settings.money.currency, settings.money.locale)?;
        let catalog = Catalog::new(db.clone());
        let gateway = Gateway::new(GatewayConfig {
            timeout: Duration::from_millis(settings.payments.gateway_timeout_ms),
            ..GatewayConfig::new(&settings.payments.gateway_url)
        });
        let checkout_config = CheckoutConfig {
            hold_ttl: Duration::from_secs(settings.checkout.reservation_ttl_secs),
            lease: Duration::from_secs(settings.checkout.lease_secs),
            settle: Duration::from_secs(settings.checkout.lease_secs),
            crash_after: settings
                .test
                .crash_after
                .as_deref()
                .and_then(CheckoutState::parse),
            tax_mode: settings.checkout.tax_mode(),
            ..CheckoutConfig::default()
        };
        let search = Search::start(db.clone(), catalog.clone(), settings.search_location());
        let store = settings.asset_store()?;
        store.spawn_prober(Duration::from_millis(settings.assets.probe_ms));
        let assets = Assets::new(
            db.clone(),
            store,
            settings.assets.kept_mb.saturating_mul(1024 * 1024),
        );
        settings.mail_transport()?;
        let users = Users::new(
            db.clone(),
            clock.clone(),
            Throttle::new(
                db.clone(),
                ThrottleConfig {
                    per_account: settings.accounts.sign_in_failures,
                    first_delay_ms: millis(settings.accounts.sign_in_delay_secs),
                    max_delay_ms: millis(settings.accounts.sign_in_max_delay_secs),
                    ..ThrottleConfig::default()
                },
            ),
        )
        .with_hashing(Hashing::new(HashingConfig {
            parallel: settings.accounts.password_hashes,
            queue: settings.accounts.password_hash_queue,
        }));
        let outbox = Outbox::new(
            db.clone(),
            clock.clone(),
            shop::mail::sender(&settings.mail.from)?,
        );
        let metrics = crate::metrics::Metrics::new()?;
        metrics.spawn_upkeep();
        Ok(Self {
            services: Arc::new(Services {
                recommender: Recommender::new(db.clone(), catalog.clone(), search.clone()),
                search,
                assets,
                api_keys: ApiKeys::new(db.clone()),
                addresses: shop::accounts::addresses::AddressBook::new(db.clone()),
                links: AccountLinks::new(
                    db.clone(),
                    clock.clone(),
                    users.clone(),
                    outbox.clone(),
                    &settings.public_url(),
                ),
                users,
                order_mails: shop::orders::mail::OrderMails::new(
                    Orders::new(db.clone()),
                    outbox.clone(),
                    &settings.public_url(),
                ),
                outbox,
                feeds: shop::feeds::Feeds::new(
                    db.clone(),
                    catalog.clone(),
                    clock.clone(),
                    shop::feeds::QueueConfig {
                        seller_pictures: settings.feeds.seller_queued_pictures.into(),
                        seller_feeds: settings.feeds.seller_waiting_feeds.into(),
                        ..shop::feeds::QueueConfig::default()
                    },
                )
                .recording_to(metrics.recorder()),
                sessions: Sessions::new(
                    db.clone(),
                    clock.clone(),
                    SessionConfig {
                        idle_ms: millis(settings.accounts.session_idle_minutes * 60),
                        absolute_ms: millis(settings.accounts.session_absolute_hours * 3600),
                        admin_absolute_ms: millis(
                            settings.accounts.admin_session_absolute_hours * 3600,
                        ),
                    },
                ),
                coupons: Coupons::new(db.clone(), clock.clone()),
                refunds: Refunds::new(db.clone(), gateway.clone(), clock.clone()),
                sellers: Sellers::new(db.clone(), catalog.clone(), clock.clone()),
                db: db.clone(),
                secure_cookies: settings.secure_cookies(),
                carts: Carts::new(db.clone(), catalog.clone()),
                checkouts: Checkouts::new(
                    db.clone(),
                    gateway.clone(),
                    clock.clone(),
                    checkout_config,
                )
                .recording_to(metrics.recorder()),
                orders: Orders::new(db.clone()),
                rates: shop::shipping::Rates::new(db.clone(), settings.checkout.tax_mode()),
                catalog,
                clock: clock.clone(),
            }),
            leptos_options,
            db,
            clock,
            rate_limits: crate::web::rate_limits(settings),
            metrics,
            readings: crate::metrics::ReadingsCache::new(Duration::from_millis(
                settings.http.metrics_cache_ms,
            )),
            readiness: crate::metrics::Kept::new(Duration::from_millis(
                settings.http.readiness_cache_ms,
            )),
            settings: Arc::new(settings.clone()),
        })
    }
}

/// Seconds as the clock's milliseconds.
fn millis(secs: u64) -> i64 {
    i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
