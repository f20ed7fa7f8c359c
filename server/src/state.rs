//! The application state, built once at start-up and handed to every handler and (through
//! Leptos context) every server function. Tests build their own.

use crate::config::Settings;
use app::services::Services;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use shop::accounts::ApiKeys;
use shop::assets::Assets;
use shop::cart::Carts;
use shop::catalog::Catalog;
use shop::checkout::{CheckoutConfig, CheckoutState, Checkouts};
use shop::clock::{Clock, SystemClock};
use shop::db::Db;
use shop::orders::Orders;
use shop::payments::{Gateway, GatewayConfig};
use shop::search::{Recommender, Search};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub services: Services,
    pub clock: Arc<dyn Clock>,
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
        let catalog = Catalog::new(db.clone());
        let gateway = Gateway::new(GatewayConfig {
            timeout: Duration::from_millis(settings.gateway_timeout_ms),
            ..GatewayConfig::new(&settings.gateway_url)
        });
        let checkout_config = CheckoutConfig {
            hold_ttl: Duration::from_secs(settings.reservation_ttl_secs),
            lease: Duration::from_secs(settings.checkout_lease_secs),
            settle: Duration::from_secs(settings.checkout_lease_secs),
            crash_after: settings
                .test_crash_after
                .as_deref()
                .and_then(CheckoutState::parse),
            ..CheckoutConfig::default()
        };
        let search = Search::start(db.clone(), catalog.clone(), settings.search_location());
        let store = settings.asset_store()?;
        store.spawn_prober(Duration::from_millis(settings.asset_probe_ms));
        let assets = Assets::new(db.clone(), store);
        Ok(Self {
            services: Services {
                recommender: Recommender::new(db.clone(), catalog.clone(), search.clone()),
                search,
                assets,
                api_keys: ApiKeys::new(db.clone()),
                carts: Carts::new(db.clone(), catalog.clone()),
                checkouts: Checkouts::new(db.clone(), gateway, clock.clone(), checkout_config),
                orders: Orders::new(db.clone()),
                catalog,
                clock: clock.clone(),
            },
            leptos_options,
            db,
            clock,
        })
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
