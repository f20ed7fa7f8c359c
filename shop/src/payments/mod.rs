//! Payments: card numbers at the boundary, and (with `server`) the adapter that talks to the
//! payment gateway over HTTP.
//!
//! Invariants:
//! - a raw card number never reaches storage or a log: `CardNumber` prints as its last four
//!   digits, and only the gateway call sees the digits;
//! - every gateway call carries an idempotency key that was stored before the call, so a retry,
//!   a crash or a timeout can never charge twice: the same key is the same charge;
//! - an outcome the shop did not hear (timeout, 5xx) is resolved by looking the key up, never
//!   by charging again with a new key.

mod card;
pub use card::CardNumber;

#[cfg(feature = "server")]
mod gateway;
#[cfg(feature = "server")]
pub use gateway::{
    ChargeOutcome, ChargeRecord, Gateway, GatewayConfig, GatewayError, RefundOutcome, Reply,
    Request, Transport,
};
