//! Shipping zones and methods, the tax table, and the quote that puts them together: what
//! each seller's part of a cart costs to ship to an address, and the order's totals.
//!
//! The arithmetic is `crate::pricing`'s; this module finds what applies. An address belongs
//! to the zone that lists its region, else the one that lists its country, else the `*` zone
//! ("everywhere else"); no zone, no shipping. In a zone a seller with methods of their own
//! ships their parts by those, everyone else by the shop's.

#[cfg(feature = "server")]
mod store;
#[cfg(feature = "server")]
pub use store::{CurrencyConflict, QuoteLine, Rates, ShippingError, quote, settle_currency};

use crate::pricing::{Breakdown, ShippingOption};
use serde::{Deserialize, Serialize};

/// One seller's part of a cart: its options, cheapest first, and the one chosen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartOptions {
    pub seller: i64,
    /// The seller's shop name, for the page.
    pub seller_name: String,
    pub options: Vec<ShippingOption>,
    /// The chosen method's code (the cheapest unless the shopper chose another).
    pub chosen: String,
}

/// What a cart costs delivered to an address: each part's options, and the totals with the
/// chosen ones.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub parts: Vec<PartOptions>,
    pub breakdown: Breakdown,
}

/// A shopper's choice of method for one seller's part.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Choice {
    pub seller: i64,
    pub method: String,
}
