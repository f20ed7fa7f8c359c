//! Seller catalog feeds: a CSV or JSON file of products, applied row by row in the
//! background, whose picture URLs are fetched by a queue of workers that no URL can turn
//! against the shop's own network.
//!
//! - `parse`: reading and checking a feed's rows (server).
//! - `guard`: which URLs and addresses may be fetched (SSRF safety).
//! - `fetch`: one bounded, redirect-checked fetch.
//! - `store`: feeds and the picture queue in the database, leased so that several nodes
//!   share the work without doing any of it twice.
//! - `fair`: sellers take turns in the picture queue, and each fills only their quota of
//!   either queue.
//! - `worker`: the node's picture pool (limits per server, by address) and feed processor.
//! - `types`: what the pages show (wasm-safe).

mod parse_types;
pub mod types;

#[cfg(feature = "server")]
mod fair;
#[cfg(feature = "server")]
pub mod fetch;
#[cfg(feature = "server")]
pub mod guard;
#[cfg(feature = "server")]
pub mod parse;
#[cfg(feature = "server")]
mod store;
#[cfg(feature = "server")]
pub mod worker;

#[cfg(feature = "server")]
pub use store::{
    FeedError, Feeds, Job, OUTCOMES_TOTAL, QUEUE_BUCKETS, QUEUE_SECONDS, QueueConfig, RETRIES_TOTAL,
};
pub use types::{FeedView, FetchStatus, FetchView, QueueStats, RowIssue};
