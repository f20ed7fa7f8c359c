//! `tools`: benchmarks, the load generator, the chaos run's driver and search evaluation
//! (see the library's modules, README.md and BENCHMARKS.md).

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use tools::{bench, chaos, evaluate, loadgen};

#[derive(Parser)]
#[command(
    name = "tools",
    version,
    about = "Emporium's benchmarks, load and chaos"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Benchmarks that need no running shop (see BENCHMARKS.md).
    Bench {
        #[command(subcommand)]
        which: bench::Bench,
    },
    /// Load against a running shop (see BENCHMARKS.md).
    Loadgen {
        #[command(subcommand)]
        which: Loadgen,
    },
    /// Mean NDCG@10 of search on the WANDS judgments, with and without typos.
    EvalSearch(evaluate::EvalArgs),
}

#[derive(Subcommand)]
enum Loadgen {
    /// N buyers for S units of one SKU, all at once; checks the invariants afterwards.
    FlashSale(loadgen::FlashSale),
    /// The chaos run's driver (see `cargo xtask chaos`, which starts the cluster it needs):
    /// a flash sale with gateway faults, a node killed, the store frozen and single-packet
    /// bursts, under background traffic; then every invariant, checked.
    Chaos(chaos::Chaos),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let result = match cli.command {
        Command::Bench { which } => which.run().await,
        Command::Loadgen {
            which: Loadgen::FlashSale(sale),
        } => sale.run().await,
        Command::Loadgen {
            which: Loadgen::Chaos(chaos),
        } => chaos.run().await,
        Command::EvalSearch(args) => args.run().await,
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::FAILURE
    })
}
