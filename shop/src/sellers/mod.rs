//! Sellers (the context behind the seller portal): what a seller sees and changes of their own
//! catalog, stock and orders.
//!
//! Every read and write takes the seller (from the signed-in account or API key, never from
//! the request) and is scoped to it in SQL: another seller's product, SKU or order is simply
//! not found. Product writes go through the catalog importer (one row), so a product made in
//! the portal obeys exactly the rules a feed does, and announces itself to search the same way.

mod types;
pub use types::*;

#[cfg(feature = "server")]
mod store;
#[cfg(feature = "server")]
pub(crate) use store::names as category_names;
#[cfg(feature = "server")]
pub use store::{SellerError, Sellers};
