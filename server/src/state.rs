//! The application state, built once at start-up and handed to every handler and (through
//! Leptos context) every server function. Tests build their own.

use app::services::Services;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use shop::catalog::Catalog;
use shop::clock::{Clock, SystemClock};
use shop::db::Db;
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub services: Services,
    pub clock: Arc<dyn Clock>,
}

impl AppState {
    pub fn new(db: Db, leptos_options: LeptosOptions) -> Self {
        Self {
            services: Services {
                catalog: Catalog::new(db.clone()),
            },
            leptos_options,
            db,
            clock: Arc::new(SystemClock),
        }
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
