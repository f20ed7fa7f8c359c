//! Checkout: the saga that turns a cart into an order, with idempotency keys and recovery.
//!
//! `place_order(key, request)` runs these steps, each ending in one transaction that records
//! the attempt's new state (its recovery point):
//!
//! 1. **Claim** the key: insert the attempt keyed by (owner, key) with a fingerprint of the
//!    request and the cart's lines priced now, in one transaction. Same key and request, done:
//!    replay the stored answer. Same key, different request: refused (422). Same key still
//!    running: "in flight" (409).
//! 2. **Reserve**: hold every line's stock (summed per SKU) or none; a shortfall ends the
//!    attempt `failed: out_of_stock` naming the SKU.
//! 3. **Pay** outside any transaction: the attempt goes `paying` (its id is the gateway's
//!    idempotency key, stored before the call), holds are extended, the gateway is called.
//!    Declined: release, `failed`. No answer: `payment_unknown`, settled by looking the key up.
//! 4. **Confirm**: commit the held stock, write the order, take the bought lines out of the
//!    cart, emit `order_confirmed`, store the answer.
//! 5. **Compensate** when confirm cannot happen after the money moved: refund (idempotent,
//!    keyed by the attempt), release, `failed`.
//!
//! Every transition is conditional on the state it leaves (`WHERE state = …`), so the request
//! that started an attempt and the recovery worker (which drives attempts whose lease ran
//! out: after a crash, on start and periodically) can never both take the same step.
//! Whoever runs a step counts its outcome and duration in `StepMetrics` (for `/metrics`), and
//! runs it in a `tracing` span named after it (`checkout.pay`, …) inside the attempt's, so one
//! checkout reads as one trace in the logs.
//!
//! Invariants: no oversell (inventory's conditional updates); no double charge (one key per
//! attempt, fixed before the first call); every captured payment ends as exactly one order or
//! a refund (confirm, compensate, and `reconcile` for charges that surface late); no leaked
//! holds (`sweep` releases expired holds of attempts whose money is not moving); one key, one
//! outcome.

#[cfg(feature = "server")]
mod batch;
#[cfg(feature = "server")]
mod claim;
pub mod draft;
#[cfg(feature = "server")]
mod faults;
#[cfg(feature = "server")]
mod metrics;
#[cfg(feature = "server")]
mod recovery;
#[cfg(feature = "server")]
mod saga;
#[cfg(feature = "server")]
mod store;
mod types;

pub use types::*;

#[cfg(feature = "server")]
pub use batch::{ReserveBatcher, Reserved, Stamp};
#[cfg(feature = "server")]
pub use faults::FaultPoints;
#[cfg(feature = "server")]
pub use metrics::{STEP_BUCKETS, STEP_SECONDS, STEPS_TOTAL, StepMetrics};
#[cfg(feature = "server")]
pub use saga::{CheckoutConfig, CheckoutError, Checkouts, Placed, RecoveryReport};
