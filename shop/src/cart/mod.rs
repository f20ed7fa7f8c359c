//! Cart: guest carts and their lines.
//!
//! Invariants:
//! - a cart is reached only through its id, a 128-bit random token (the cookie value);
//! - one line per SKU, quantity 1–99, never set above what is available when it is set
//!   (stock can still run out later: the cart page says so, and checkout is the arbiter);
//! - line operations are idempotent: setting a quantity twice is one change, and an "add"
//!   carries an operation id so a double-clicked Add adds once;
//! - prices shown are always the current ones; `price_seen` only explains a change;
//! - the cart as shown (`Carts::with_coupon`) carries its coupon and what it takes off now,
//!   composed here once for the cart page and the API alike.

mod types;
pub use types::*;

#[cfg(feature = "server")]
mod owners;
#[cfg(feature = "server")]
mod reorder;
#[cfg(feature = "server")]
mod store;
#[cfg(feature = "server")]
pub use owners::CartOwner;
#[cfg(feature = "server")]
pub use reorder::{Reordered, ReorderedLine};
#[cfg(feature = "server")]
pub use store::{CartError, Carts, StoredLine, remove_bought, stored_lines};
