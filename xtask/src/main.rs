//! `cargo xtask …`: the README's commands.
//!
//! - `cargo xtask run [--release]` — install what is missing, build the server (the tests'
//!   `quick` profile, or `release`) and the hydrate bundle, then run the shop (data in `data/`, on http://127.0.0.1:3000 by default).
//! - `cargo xtask test` — check the prerequisites, then fmt, clippy (native and wasm), the Rust
//!   tests on SQLite and PostgreSQL (cargo-nextest), the Playwright suite against the quick
//!   build, and the small chaos run. Ends with one summary line of passed, failed and skipped.
//!   Arguments narrow it: `cargo xtask test checkout --no-browser` (see `test.rs`).
//! - `cargo xtask build [--release]` — just build the binaries (the node `server`, the gateway simulator
//!   `paysim`, `tools`) and the site.
//! - `cargo xtask simulate [--seeds N] [--from S] [--seed S]` — the checkout simulation.
//! - `cargo xtask eval-search [--verbose]` — mean NDCG@10 of search on the WANDS judgments.
//! - `cargo xtask cluster [--nodes N] [--port P]` — N nodes over one PostgreSQL database, with
//!   the gateway, an S3-compatible store and a round-robin proxy on P (see `cluster.rs`).
//! - `cargo xtask chaos [--small]` — a fresh cluster, a flash sale under faults, a node killed,
//!   the store frozen, single-packet bursts; then every invariant (see `chaos.rs`).
//! - `cargo xtask bench [--quick] [--only page,checkout,search,vitals,restart]` — the
//!   benchmark suite with same-run baselines and SVG charts (see `bench.rs`).
//!
//! The build is the one cargo-leptos would do (server with `ssr`, `frontend` for wasm32 with
//! the `wasm-release` profile, wasm-bindgen, CSS and `public/` into `target/site`), driven
//! with plain cargo so that nobody has to install cargo-leptos or wasm-opt first.

mod bench;
mod build;
mod chaos;
mod cluster;
mod nextest;
mod prereq;
mod setup;
mod simulate;
mod test;
mod util;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Build, run and test Emporium", version)]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Build, then serve the demo shop (arguments after `--` go to the server).
    Run {
        /// Build with the release profile (production's) instead of the tests' quick one.
        #[arg(long)]
        release: bool,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Build the server, the gateway simulator, the tools and the site.
    Build {
        /// The release profile, for production (`target/release/`); without it, the tests'
        /// quick profile (`target/quick/`).
        #[arg(long)]
        release: bool,
    },
    /// Everything a change must pass, with one summary line.
    Test(test::TestArgs),
    /// Search relevance on the WANDS judgments (arguments go to `tools eval-search`).
    EvalSearch {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Several nodes over one PostgreSQL database behind a round-robin proxy.
    Cluster(cluster::ClusterArgs),
    /// A flash sale on a fresh cluster under faults; then every invariant.
    Chaos(chaos::ChaosArgs),
    /// The benchmark suite, each figure beside a baseline measured in the same run.
    Bench(bench::BenchArgs),
    /// The deterministic simulation of the checkout core.
    Simulate(simulate::SimulateArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Task::Run { release, args } => build::run(&args, build::Profile::release_if(release)),
        Task::Build { release } => {
            build::build_all(false, build::Profile::release_if(release)).map(|_| ExitCode::SUCCESS)
        }
        Task::Test(args) => test::test(&args),
        Task::EvalSearch { args } => build::tools_command(&["eval-search"], &args),
        Task::Cluster(args) => cluster::cluster(&args),
        Task::Chaos(args) => chaos::chaos(&args),
        Task::Bench(args) => bench::bench(&args),
        Task::Simulate(args) => simulate::simulate(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
