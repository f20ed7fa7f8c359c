//! Emporium's tools: what measures, loads and shakes a shop from outside, apart from the node
//! (`server`) so that the node's binary holds only what a production node runs. The `tools`
//! binary is their command line; `cargo xtask bench|chaos|eval-search` drive it.
//!
//! - [`bench`]: benchmarks that need no running shop (search at scale, the hot SKU, feeds);
//! - [`loadgen`]: a flash sale against a running shop, through its JSON API;
//! - [`chaos`]: the chaos run's driver (a sale under faults, a node killed, the store frozen,
//!   bursts), then every invariant against the database and the gateway's ledger;
//! - [`evaluate`]: search relevance on the WANDS judgments.
//!
//! Tools may read the shop's database directly to check what the shop did (they are not the
//! node); where a `shop` function says the same thing, they use it.

pub mod bench;
pub mod chaos;
pub mod evaluate;
pub mod loadgen;
