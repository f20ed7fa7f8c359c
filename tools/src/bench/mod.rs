//! `tools bench …`: the benchmarks that need no running shop (see BENCHMARKS.md). Each
//! measures its baseline in the same run: the machine is shared, ratios are what compare.

pub mod feed;
pub mod hot_sku;
pub mod search;

/// `tools bench`'s subcommands.
#[derive(clap::Subcommand)]
pub enum Bench {
    /// Search at scale: reindex time, index size, memory, and query latencies (index path,
    /// bare Tantivy baseline, full path with live stock) over a varied query log.
    Search(search::SearchArgs),
    /// Holds per second on one SKU next to the raw conditional UPDATE rate, same run.
    HotSku(hot_sku::HotSkuArgs),
    /// A seller's feed applied end to end, next to the catalog importer writing the same
    /// products (same run, fresh databases), then the same feed again.
    Feed(feed::FeedArgs),
}

impl Bench {
    pub async fn run(self) -> anyhow::Result<std::process::ExitCode> {
        match self {
            Bench::Search(args) => args.run().await,
            Bench::HotSku(args) => args.run().await,
            Bench::Feed(args) => args.run().await,
        }
    }
}
