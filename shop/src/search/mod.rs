//! Search: a Tantivy index of the catalog, kept fresh from the outbox, with a database
//! fallback.
//!
//! Invariants:
//! - the index is derived data: it can always be rebuilt from the database, and is, when it
//!   is missing, corrupt or of an older schema version;
//! - one writer, owned by one task (the indexer), which records in every commit how far into
//!   the outbox it has read; a fresh searcher per request;
//! - stock shown with a result is read live from inventory for the shown products, so a stale
//!   index can rank a sold-out product wrongly but never sell it as available;
//! - any query text is words, never query syntax; absurd input gives a page, not an error.

mod types;
pub use types::*;

pub mod eval;

#[cfg(feature = "server")]
pub mod bench;
#[cfg(feature = "server")]
mod counts;
#[cfg(feature = "server")]
mod dense;
#[cfg(feature = "server")]
mod document;
#[cfg(feature = "server")]
mod engine;
#[cfg(feature = "server")]
mod first_stage;
#[cfg(feature = "server")]
mod highlight;
#[cfg(feature = "server")]
mod indexer;
#[cfg(feature = "server")]
mod plain;
#[cfg(feature = "server")]
mod query;
#[cfg(feature = "server")]
mod rank;
#[cfg(feature = "server")]
mod recommend;
#[cfg(feature = "server")]
mod schema;
#[cfg(feature = "server")]
mod service;
#[cfg(feature = "server")]
mod synonyms;
#[cfg(feature = "server")]
pub use engine::{Checkpoint, Engine, Location};
#[cfg(feature = "server")]
pub use first_stage::FirstStage;
#[cfg(feature = "server")]
pub use indexer::{Indexer, IndexerError};
#[cfg(feature = "server")]
pub use recommend::{Recommender, SHOWN as SHOWN_RECOMMENDATIONS};
#[cfg(feature = "server")]
pub use service::{OpenError, Search, SearchHealth, escape, reindex};
