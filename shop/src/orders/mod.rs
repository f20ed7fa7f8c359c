//! Orders: created by the checkout's confirm step, then moved along an explicit state machine
//! (`OrderStatus::next`) by fulfillment and, later, operators.
//!
//! Invariants:
//! - one order per checkout (`orders.checkout_id` is unique), written in the same transaction
//!   that commits the stock and announces `order_confirmed`;
//! - a status moves only to one of `OrderStatus::next`, with a conditional update on the
//!   current status, and every move is kept in `order_history`;
//! - an order is shown only to its signed-in owner, an admin, or whoever holds its secret
//!   link (`Orders::get_for`); its id alone, or with its e-mail, shows nothing.

mod types;
pub use types::*;

#[cfg(feature = "server")]
pub mod mail;
#[cfg(feature = "server")]
pub mod refunds;
#[cfg(feature = "server")]
mod store;
#[cfg(feature = "server")]
pub use store::{Access, OrderError, OrderFilter, Orders, advance, create, token_of};
