//! Named points in the saga and the recovery worker where a deterministic simulation may
//! pause the caller, stop it for good (a crash), or fail it as a busy database would.
//!
//! Production runs without hooks (`Checkouts::faults` is `None`): each point is then one
//! branch on an `Option`, nothing more. The simulation (`shop/tests/simulate.rs`) installs a
//! hook that hands control to its seeded scheduler at every point, so the interleaving of
//! buyers, recovery workers and the clock — and with it the whole run — is a function of the
//! seed.
//!
//! Two kinds of point, because a pause is only safe where no write transaction is open (a
//! paused writer would hold SQLite's write lock and every other actor would wait on it):
//! - `pause`: between steps, or around a gateway call; the scheduler may run other actors
//!   first, or crash the caller here (its future is dropped, as a process dying would).
//! - `check`: inside a write transaction; the caller continues at once, is crashed (the
//!   transaction rolls back when its future is dropped), or gets an error that the code must
//!   treat exactly like `SQLITE_BUSY` or a PostgreSQL serialization failure.

use futures_core::future::BoxFuture;

/// The simulation's hook into the checkout. See the module documentation.
pub trait FaultPoints: Send + Sync + std::fmt::Debug {
    /// A point with no transaction open: may wait while other actors run, or never return.
    fn pause(&self, point: &'static str) -> BoxFuture<'_, ()>;

    /// A point inside a write transaction: returns at once (no other actor runs), with an
    /// error to be handled like a transient database conflict, or never.
    fn check(&self, point: &'static str) -> BoxFuture<'_, Result<(), sqlx::Error>>;

    /// The id of a new checkout attempt, when the hook wants to choose it. The simulation
    /// numbers attempts in order: random ids would make queries that order by time break ties
    /// differently from one run of a seed to the next.
    fn checkout_id(&self) -> Option<String> {
        None
    }
}
