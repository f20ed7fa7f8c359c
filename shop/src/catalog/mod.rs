//! Catalog: sellers, products, their variants (SKUs), and the category tree.
//!
//! Invariants:
//! - every product belongs to one seller and one category, and has at least one variant;
//! - a product's variants share one currency, and `products.price_from` is the lowest of
//!   their prices (kept in the same transaction as any variant write);
//! - a product keeps the `(source, external_id)` it was imported from, so re-importing a
//!   source updates it in place and search evaluation can map it back to its dataset;
//! - slugs and SKUs are unique and never change once given out (links stay valid).
//!
//! Availability shown with a product always comes from the inventory context's live stock,
//! never from a stored copy.

mod types;
pub use types::*;

#[cfg(feature = "server")]
mod cache;
#[cfg(feature = "server")]
pub mod import;
#[cfg(feature = "server")]
mod store;
#[cfg(feature = "server")]
pub use store::{Catalog, CatalogError, ListingStock, variants_in};
