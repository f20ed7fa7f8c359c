//! The shop's services as server functions reach them: provided once per request through
//! Leptos context by the server (see `server::app_state`), never through global state.

use crate::error::AppError;
use leptos::prelude::use_context;
use shop::cart::Carts;
use shop::catalog::Catalog;
use shop::checkout::Checkouts;
use shop::clock::Clock;
use shop::orders::Orders;
use shop::search::{Recommender, Search};
use std::sync::Arc;

/// Everything a server function may call into.
#[derive(Clone, Debug)]
pub struct Services {
    pub catalog: Catalog,
    pub carts: Carts,
    pub checkouts: Checkouts,
    pub orders: Orders,
    pub search: Search,
    pub recommender: Recommender,
    pub clock: Arc<dyn Clock>,
}

/// The request's services. Missing services are a wiring bug, reported once and shown to
/// the shopper as an internal error.
pub fn services() -> Result<Services, AppError> {
    use_context::<Services>().ok_or_else(|| {
        tracing::error!("Services were not provided to the Leptos context");
        AppError::Internal
    })
}
