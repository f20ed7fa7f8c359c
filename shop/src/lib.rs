//! Emporium's business logic, one module per bounded context (see docs/ARCHITECTURE.md).
//!
//! The default build holds only the types and rules that the browser needs too (money, ids,
//! validated inputs, the shapes of catalog pages), so it compiles to wasm. The `server` feature
//! adds storage (sqlx over SQLite or PostgreSQL) and the services that use it.

pub mod accounts;
pub mod address;
pub mod assets;
pub mod cart;
pub mod catalog;
pub mod checkout;
pub mod coupons;
pub mod failure;
pub mod feeds;
pub mod input;
pub mod inventory;
pub mod money;
pub mod orders;
pub mod payments;
pub mod pricing;
pub mod search;
pub mod sellers;
pub mod shipping;

#[cfg(feature = "server")]
pub mod clock;
#[cfg(feature = "server")]
pub mod db;
#[cfg(feature = "server")]
pub mod events;
#[cfg(feature = "server")]
pub mod fulfillment;
#[cfg(feature = "server")]
pub mod jobs;
#[cfg(feature = "server")]
pub mod mail;
#[cfg(feature = "server")]
pub mod resilience;
#[cfg(feature = "server")]
pub mod retention;
#[cfg(feature = "server")]
pub mod testing;

pub use failure::{Failure, FailureKind};
pub use input::InvalidInput;
pub use money::{Currency, Money};
