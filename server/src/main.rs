//! `server`: run the shop, apply migrations, import catalogs.

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use server::config::Settings;
use shop::catalog::import;
use shop::clock::{Clock, SystemClock};
use shop::db::{Db, DbOptions};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(name = "server", version, about = "Emporium, a storefront")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the shop (the default): migrate, import the demo catalog on first start, serve.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Run the payment gateway simulator (its own port and ledger database).
    Gateway,
    /// Benchmarks that need no running shop (see BENCHMARKS.md).
    Bench {
        #[command(subcommand)]
        which: Bench,
    },
    /// Import products from DummyJSON (.json) or WANDS (.tsv) files, or generate a synthetic
    /// catalog. Exits with 2 if some rows were skipped (each is listed with its line).
    Import {
        /// Files to import, in order.
        files: Vec<PathBuf>,
        /// Generate N synthetic products (deterministic; up to 1,000,000) instead.
        #[arg(long, value_name = "N", conflicts_with = "files")]
        synthetic: Option<usize>,
        /// Import the built-in demo catalog.
        #[arg(long, conflicts_with_all = ["files", "synthetic"])]
        demo: bool,
    },
}

#[derive(Subcommand)]
enum Bench {
    /// Holds per second on one SKU next to the raw conditional UPDATE rate, same run.
    HotSku {
        /// `sqlite` (a fresh file) or a PostgreSQL URL (a fresh schema in it).
        #[arg(long, default_value = "sqlite")]
        database: String,
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        #[arg(long, default_value_t = 32)]
        tasks: usize,
    },
}

const MAX_SYNTHETIC: usize = 1_000_000;

fn main() -> ExitCode {
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
    match runtime.block_on(run(cli, settings)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli, settings: Settings) -> anyhow::Result<ExitCode> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let state = server::prepare(&settings).await?;
            let workers = server::workers::spawn(&state, &settings);
            let db = state.db.clone();
            let listener = tokio::net::TcpListener::bind(settings.addr)
                .await
                .with_context(|| format!("cannot listen on {}", settings.addr))?;
            tracing::info!("Emporium is open on http://{}", listener.local_addr()?);
            server::serve(
                listener,
                state,
                server::shutdown_signal(),
                Duration::from_secs(settings.shutdown_grace_secs),
            )
            .await?;
            // Workers first: they may be mid-pass on the database.
            workers.shutdown().await;
            db.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Gateway => {
            let state = server::gateway::prepare(&settings.gateway_database_url()).await?;
            let listener = tokio::net::TcpListener::bind(settings.gateway_addr)
                .await
                .with_context(|| format!("cannot listen on {}", settings.gateway_addr))?;
            tracing::info!(
                "payment gateway simulator on http://{}",
                listener.local_addr()?
            );
            axum::serve(listener, server::gateway::router(state))
                .with_graceful_shutdown(server::shutdown_signal())
                .await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            which:
                Bench::HotSku {
                    database,
                    seconds,
                    tasks,
                },
        } => {
            let rates = server::bench::hot_sku(&database, seconds, tasks).await?;
            let raw = rates.first().map(|r| r.per_second).unwrap_or(1.0);
            println!(
                "hot SKU, {tasks} tasks, {seconds} s each, on {}",
                shop::db::redact(&database)
            );
            for rate in &rates {
                println!(
                    "  {:<55} {:>10.0}/s  {:>5.2}× raw",
                    rate.name,
                    rate.per_second,
                    rate.per_second / raw
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            connect(&settings).await?;
            println!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Command::Import {
            files,
            synthetic,
            demo,
        } => {
            let db = connect(&settings).await?;
            let now = SystemClock.now();
            let mut skipped = 0;
            if demo {
                for (name, report) in server::demo::import_all(&db, now).await? {
                    skipped += print_report(&name, &report);
                }
            } else if let Some(n) = synthetic {
                if n == 0 || n > MAX_SYNTHETIC {
                    bail!("--synthetic takes a number from 1 to {MAX_SYNTHETIC}");
                }
                let bar = progress(n as u64);
                let report = import::apply(&db, import::synthetic(n), now, &bar).await?;
                bar.finish_and_clear();
                skipped += print_report(&format!("synthetic({n})"), &report);
            } else if files.is_empty() {
                bail!("name files to import, or use --synthetic N or --demo");
            } else {
                for file in files {
                    let name = file.display().to_string();
                    let text = std::fs::read_to_string(&file)
                        .with_context(|| format!("cannot read {name}"))?;
                    let rows = import::parse(&name, &text)?;
                    let bar = progress(rows.len() as u64);
                    let report = import::apply(&db, rows, now, &bar).await?;
                    bar.finish_and_clear();
                    skipped += print_report(&name, &report);
                }
            }
            Ok(if skipped > 0 {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

async fn connect(settings: &Settings) -> anyhow::Result<Db> {
    let db = Db::connect(&settings.database_url(), &DbOptions::default()).await?;
    db.migrate().await?;
    Ok(db)
}

fn progress(len: u64) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} {bar:40} {pos}/{len} products ({per_sec}, {eta} left)",
    ) {
        bar.set_style(style);
    }
    bar
}

/// Prints what an import did; returns how many rows it skipped.
fn print_report(name: &str, r: &import::ImportReport) -> usize {
    println!(
        "{name}: {} rows: {} created, {} updated, {} unchanged, {} skipped",
        r.rows(),
        r.created,
        r.updated,
        r.unchanged,
        r.skipped.len()
    );
    for e in &r.skipped {
        println!("  skipped {e}");
    }
    r.skipped.len()
}
