//! The shop's services as server functions reach them: provided once per request through
//! Leptos context by the server (see `server::app_state`), never through global state.

use crate::error::AppError;
use leptos::prelude::use_context;
use shop::assets::{Assets, Picture};
use shop::cart::Carts;
use shop::catalog::{Catalog, ProductId};
use shop::checkout::Checkouts;
use shop::clock::Clock;
use shop::orders::Orders;
use shop::search::{Recommender, Search};
use std::collections::HashMap;
use std::sync::Arc;

/// Everything a server function may call into.
#[derive(Clone, Debug)]
pub struct Services {
    /// For the admin's reads that belong to no one service (dead letters, holds, health).
    pub db: shop::db::Db,
    pub catalog: Catalog,
    pub carts: Carts,
    pub checkouts: Checkouts,
    pub orders: Orders,
    /// Shipping zones and methods, the tax table, and quotes against them.
    pub rates: shop::shipping::Rates,
    pub search: Search,
    pub recommender: Recommender,
    pub assets: Assets,
    pub api_keys: shop::accounts::ApiKeys,
    pub users: shop::accounts::Users,
    pub sessions: shop::accounts::Sessions,
    /// Signed-in shoppers' saved addresses.
    pub addresses: shop::accounts::addresses::AddressBook,
    /// Mailed links: finishing a sign-up, resetting a password.
    pub links: shop::accounts::AccountLinks,
    pub outbox: shop::mail::Outbox,
    /// The shopper's order mail (the confirmation, the order's link on request).
    pub order_mails: shop::orders::mail::OrderMails,
    /// Sellers' feeds and the picture queue.
    pub feeds: shop::feeds::Feeds,
    pub coupons: shop::coupons::Coupons,
    pub refunds: shop::orders::refunds::Refunds,
    pub sellers: shop::sellers::Sellers,
    /// Whether cookies are marked `Secure` (the shop is served over TLS).
    pub secure_cookies: bool,
    pub clock: Arc<dyn Clock>,
}

/// The request's services. Missing services are a wiring bug, reported once and shown to
/// the shopper as an internal error.
pub fn services() -> Result<Arc<Services>, AppError> {
    use_context::<Arc<Services>>().ok_or_else(|| {
        tracing::error!("Services were not provided to the Leptos context");
        AppError::plain(shop::FailureKind::Internal)
    })
}

/// The live pictures of these products. Pictures are optional by nature: if they cannot be
/// read, the page goes without them (and says nothing worse than a log line).
pub async fn pictures(services: &Services, ids: &[ProductId]) -> HashMap<ProductId, Vec<Picture>> {
    match services.assets.pictures_for(ids).await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(error = %e, "pictures unavailable; page shown text-only");
            HashMap::new()
        }
    }
}

/// Sets each item's first picture.
pub async fn attach_first_pictures<T>(
    services: &Services,
    items: &mut [T],
    id: impl Fn(&T) -> ProductId,
    set: impl Fn(&mut T, Option<Picture>),
) {
    let ids: Vec<ProductId> = items.iter().map(&id).collect();
    let mut found = pictures(services, &ids).await;
    for item in items {
        let first = found
            .get_mut(&id(item))
            .and_then(|p| (!p.is_empty()).then(|| p.remove(0)));
        set(item, first);
    }
}

/// Sets the pictures of every card in the list.
pub async fn attach_card_pictures(services: &Services, cards: &mut [shop::catalog::ProductCard]) {
    attach_first_pictures(services, cards, |c| c.id, |c, p| c.picture = p).await;
}
