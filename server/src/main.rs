//! `server`: what a production node runs. Serve, and the operator's commands around it:
//! migrate, import, reindex, users, seller keys, coupons, stock. Benchmarks, load and chaos
//! live in `tools`, the payment gateway simulator in `paysim`.

use anyhow::Context;
use clap::{Parser, Subcommand};
use server::cli;
use server::config::Settings;
use std::process::ExitCode;
use std::time::Duration;

/// mimalloc rather than glibc's allocator: rendering a page is thousands of small
/// allocations on whichever worker thread runs it, where glibc spent a quarter of the
/// product page's CPU and let memory under load grow with its per-thread arenas (see
/// BENCHMARKS.md, "The allocator").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's defaults keep freed memory for a second and commit whole arenas up front,
/// which under load held up to three times the memory glibc did; returning freed pages at
/// once and committing on demand keeps it below glibc's. mimalloc reads these settings from
/// the environment as the process starts, before `main`, so a server started without them
/// starts itself again with them (`exec`: the same process, the same arguments). Settings
/// already in the environment are left as they are.
#[cfg(unix)]
fn tune_allocator() {
    use std::os::unix::process::CommandExt;
    const TUNING: [(&str, &str); 2] = [
        ("MIMALLOC_ARENA_EAGER_COMMIT", "0"),
        ("MIMALLOC_PURGE_DELAY", "0"),
    ];
    let missing: Vec<_> = TUNING
        .iter()
        .filter(|(name, _)| std::env::var_os(name).is_none())
        .collect();
    if missing.is_empty() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut again = std::process::Command::new(exe);
    again.args(std::env::args_os().skip(1));
    for (name, value) in missing {
        again.env(name, value);
    }
    // Returns only if the process could not be replaced.
    let error = again.exec();
    eprintln!("warning: running with mimalloc's default settings ({error})");
}

#[cfg(not(unix))]
fn tune_allocator() {}

#[derive(Parser)]
#[command(name = "server", version, about = "Emporium, a storefront")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

/// What a node does.
#[derive(Subcommand)]
enum Command {
    /// Run the shop (the default): migrate, import the demo catalog on first start, serve.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Import products from DummyJSON (.json) or WANDS (.tsv) files, or generate a synthetic
    /// catalog. Exits with 2 if some rows were skipped (each is listed with its line).
    Import(cli::ImportArgs),
    /// Rebuild the search index from the database (stop the node using it first).
    Reindex,
    /// Manage accounts.
    Users {
        #[command(subcommand)]
        which: cli::Users,
    },
    /// Make an API key for a seller (printed once; only its hash is kept). The seller's
    /// tools send it as `Authorization: Bearer …` to `/api/v1/seller/…`.
    SellerKey(cli::SellerKeyArgs),
    /// Create a coupon (admins can also use POST /api/v1/admin/coupons).
    Coupon(cli::CouponArgs),
    /// Sets a SKU's available stock (receiving or writing off the difference, audited).
    Stock(cli::StockArgs),
}

fn main() -> ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: invalid configuration: {e}");
            return ExitCode::FAILURE;
        }
    };
    server::telemetry::init(settings.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command.unwrap_or(Command::Serve), settings)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<ExitCode> {
    // Before anything reads or writes a price (an import, a coupon).
    shop::money::configure(settings.money.currency, settings.money.locale)?;
    match command {
        Command::Serve => serve(settings).await,
        Command::Migrate => {
            cli::connect(&settings).await?;
            println!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Command::Import(args) => args.run(&settings).await,
        Command::Reindex => cli::reindex(&settings).await,
        Command::Users { which } => which.run(&settings).await,
        Command::SellerKey(args) => args.run(&settings).await,
        Command::Coupon(args) => args.run(&settings).await,
        Command::Stock(args) => args.run(&settings).await,
    }
}

/// Serves until SIGTERM or Ctrl-C, then lets requests and workers finish.
async fn serve(settings: Settings) -> anyhow::Result<ExitCode> {
    let state = server::prepare(&settings).await?;
    let workers = server::workers::spawn(&state, &settings);
    let db = state.db.clone();
    let listener = tokio::net::TcpListener::bind(settings.http.addr)
        .await
        .with_context(|| format!("cannot listen on {}", settings.http.addr))?;
    tracing::info!("Emporium is open on http://{}", listener.local_addr()?);
    let grace = Duration::from_secs(settings.http.shutdown_grace_secs);
    server::serve(listener, state, server::shutdown_signal(), grace).await?;
    // Workers first: they may be mid-pass on the database.
    workers.shutdown().await;
    db.close().await;
    Ok(ExitCode::SUCCESS)
}
