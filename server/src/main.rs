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

#[derive(Subcommand)]
enum Command {
    /// Run the shop (the default): migrate, import the demo catalog on first start, serve.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Run the payment gateway simulator (its own port and ledger database).
    Gateway,
    /// Load against a running shop (see BENCHMARKS.md).
    Loadgen {
        #[command(subcommand)]
        which: Loadgen,
    },
    /// Sets a SKU's available stock (receiving or writing off the difference, audited).
    Stock { sku: String, available: i64 },
    /// Rebuild the search index from the database (stop the node using it first).
    Reindex,
    /// Make an API key for a seller (printed once; only its hash is kept). The seller's
    /// tools send it as `Authorization: Bearer …` to `/api/v1/seller/…`.
    SellerKey {
        /// The seller's slug.
        #[arg(long)]
        seller: String,
        /// What the key is for.
        #[arg(long, default_value = "api")]
        label: String,
    },
    /// Manage accounts.
    Users {
        #[command(subcommand)]
        which: Users,
    },
    /// Create a coupon (admins can also use POST /api/v1/admin/coupons).
    Coupon {
        /// The code shoppers type (3–32 letters, digits, - or _).
        #[arg(long)]
        code: String,
        /// Percent off (1–100).
        #[arg(long, conflicts_with = "amount", required_unless_present = "amount")]
        percent: Option<i64>,
        /// Amount off in minor units (cents).
        #[arg(long)]
        amount: Option<i64>,
        #[arg(long, default_value = "USD")]
        currency: String,
        /// Uses per customer (by e-mail).
        #[arg(long)]
        per_customer: Option<i64>,
        /// Uses in total.
        #[arg(long)]
        total: Option<i64>,
        /// Valid for this many hours from now.
        #[arg(long)]
        hours: Option<i64>,
    },
    /// Mean NDCG@10 of search on the WANDS judgments, with and without typos.
    EvalSearch {
        /// Print each query's score.
        #[arg(long)]
        verbose: bool,
        /// Keep the import's invented stock (sold-out products rank last, as in the shop).
        #[arg(long)]
        as_shown: bool,
    },
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
enum Users {
    /// Create an account. The password is read from EMPORIUM_PASSWORD or, without it, from the
    /// first line of standard input (never from a flag: flags end up in shell history and
    /// `ps`).
    Create {
        #[arg(long)]
        email: String,
        /// shopper, seller or admin.
        #[arg(long, default_value = "shopper")]
        role: String,
        /// The seller's slug (required for, and only for, seller accounts).
        #[arg(long)]
        seller: Option<String>,
    },
}

#[derive(Subcommand)]
enum Bench {
    /// Search at scale: reindex time, index size, memory, and query latencies (index path,
    /// bare Tantivy baseline, full path with live stock) over a varied query log.
    Search {
        /// Synthetic products (imported into `--dir` the first time).
        #[arg(long, default_value_t = 1_000_000)]
        products: usize,
        #[arg(long, default_value_t = 1000)]
        queries: usize,
        /// Where the catalog database and the index are kept between runs.
        #[arg(long, default_value = "target/bench-search")]
        dir: PathBuf,
        /// Only write the query log as `/api/v1/search` URLs to this file (one per line, for
        /// an HTTP load tool) and exit.
        #[arg(long)]
        write_urls: Option<PathBuf>,
        /// Also write every query's latencies (index path, bare baseline, in ms), match
        /// count and URL to this file, tab-separated, for a breakdown by query shape.
        #[arg(long)]
        per_query: Option<PathBuf>,
        /// Search the index already in `--dir` instead of rebuilding it (no reindex figure;
        /// for comparing query changes quickly).
        #[arg(long)]
        keep_index: bool,
        /// Also run every query against the index in this folder (built from the same
        /// catalog, by another build or with other settings), the two in turn, and print
        /// both indexes' latencies side by side.
        #[arg(long)]
        against: Option<PathBuf>,
    },
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
    /// A seller's feed applied end to end, next to the catalog importer writing the same
    /// products (same run, fresh databases), then the same feed again.
    Feed {
        /// `sqlite` (a fresh file) or a PostgreSQL URL (a fresh schema in it).
        #[arg(long, default_value = "sqlite")]
        database: String,
        /// Rows in the feed (two per product).
        #[arg(long, default_value_t = 10_000)]
        rows: usize,
    },
}

#[derive(Subcommand)]
enum Loadgen {
    /// N buyers for S units of one SKU, all at once; checks the invariants afterwards.
    FlashSale {
        /// The shop's base URL.
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        shop: String,
        /// The gateway simulator's base URL (for faults and the ledger).
        #[arg(long, default_value = "http://127.0.0.1:3099")]
        gateway: String,
        #[arg(long, default_value = "WANDS-13-KING")]
        sku: String,
        #[arg(long, default_value_t = 1000)]
        buyers: usize,
        #[arg(long, default_value_t = 100)]
        units: i64,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[arg(long, default_value_t = 20)]
        gateway_latency_ms: u64,
        /// Share of charges the gateway makes and never answers (0–1).
        #[arg(long, default_value_t = 0.0)]
        timeout_rate: f64,
        /// Share of gateway calls answered 502 before charging (0–1).
        #[arg(long, default_value_t = 0.0)]
        error_before_rate: f64,
        /// Share of charges the gateway makes and answers 500 (0–1).
        #[arg(long, default_value_t = 0.0)]
        error_after_rate: f64,
        /// How long the gateway faults last from the start of the sale.
        #[arg(long, default_value_t = 5)]
        faults_secs: u64,
        /// Every n-th buyer pays with a card that is declined (0: nobody).
        #[arg(long, default_value_t = 0)]
        decline_every: usize,
        /// Spread the buyers over this many SKUs (the first is `--sku`), `--units` each.
        #[arg(long, default_value_t = 1)]
        skus: usize,
    },
    /// The chaos run's driver (see `cargo xtask chaos`, which starts the cluster it needs):
    /// a flash sale with gateway faults, a node killed, the store frozen and single-packet
    /// bursts, under background traffic; then every invariant, checked.
    Chaos {
        /// The proxy in front of the nodes.
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        shop: String,
        /// A node's own address (repeat for each; bursts are spread over them).
        #[arg(long = "node", required = true)]
        nodes: Vec<std::net::SocketAddr>,
        #[arg(long, default_value = "http://127.0.0.1:3099")]
        gateway: String,
        #[arg(long, default_value_t = 10_000)]
        buyers: usize,
        #[arg(long, default_value_t = 100)]
        units: i64,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Background shoppers browsing, searching and buying other SKUs.
        #[arg(long, default_value_t = 8)]
        shoppers: usize,
        #[arg(long, default_value_t = 0.03)]
        timeout_rate: f64,
        #[arg(long, default_value_t = 0.03)]
        error_before_rate: f64,
        #[arg(long, default_value_t = 0.03)]
        error_after_rate: f64,
        #[arg(long, default_value_t = 10)]
        faults_secs: u64,
        #[arg(long, default_value_t = 20)]
        decline_every: usize,
        /// The pid of a node to SIGKILL one second into the sale…
        #[arg(long, requires = "kill_node")]
        kill_pid: Option<u32>,
        /// …and its address, to see it come back.
        #[arg(long, requires = "kill_pid")]
        kill_node: Option<std::net::SocketAddr>,
        /// The object store's pid, frozen (SIGSTOP) for a while after the kill.
        #[arg(long)]
        store_pid: Option<u32>,
        #[arg(long, default_value_t = 8)]
        store_outage_secs: u64,
        /// Requests in each single-packet burst.
        #[arg(long, default_value_t = 32)]
        burst: usize,
    },
}

const MAX_SYNTHETIC: usize = 1_000_000;

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
                Bench::Search {
                    products,
                    queries,
                    dir,
                    write_urls,
                    per_query,
                    keep_index,
                    against,
                },
        } => {
            if let Some(file) = write_urls {
                let urls: Vec<String> = shop::search::bench::query_log(queries, products)
                    .iter()
                    .map(|q| q.url_with(|_| {}).replacen("/search", "/api/v1/search", 1))
                    .collect();
                std::fs::write(&file, urls.join("\n") + "\n")?;
                println!("wrote {} URLs to {}", urls.len(), file.display());
                return Ok(ExitCode::SUCCESS);
            }
            let b = server::bench::search(&dir, products, queries, !keep_index, against.as_deref())
                .await?;
            let ms = |d: Duration| format!("{:.3}", d.as_secs_f64() * 1000.0);
            if let Some(file) = per_query {
                let lines: Vec<String> = b
                    .per_query
                    .iter()
                    .zip(&b.stages)
                    .map(|((ours, bare, total, url), s)| {
                        format!(
                            "{}\t{}\t{total}\t{url}\t{}\t{}\t{}\t{}",
                            ms(*ours),
                            ms(*bare),
                            ms(s.words),
                            ms(s.first),
                            ms(s.rerank),
                            ms(s.documents)
                        )
                    })
                    .collect();
                std::fs::write(&file, lines.join("\n") + "\n")?;
            }
            let reindex = if keep_index {
                "index kept".to_string()
            } else {
                format!(
                    "reindex {:.1} s ({:.0} products/s)",
                    b.reindex.as_secs_f64(),
                    b.products as f64 / b.reindex.as_secs_f64()
                )
            };
            println!(
                "search at {} products: {reindex}, index {:.0} MB, RSS after opening {:.0} MB (peak {:.0} MB)",
                b.products,
                b.index_bytes as f64 / 1e6,
                b.rss_after_build as f64 / 1e6,
                b.rss_peak as f64 / 1e6,
            );
            println!("{} queries; latency in ms", b.queries);
            println!("| path | p50 | p90 | p99 | max |");
            println!("|---|---:|---:|---:|---:|");
            for (name, [p50, p90, p99, max]) in &b.rows {
                println!(
                    "| {name} | {} | {} | {} | {} |",
                    ms(*p50),
                    ms(*p90),
                    ms(*p99),
                    ms(*max)
                );
            }
            let n = b.stages.len().max(1) as u32;
            let mean = |f: fn(&shop::search::bench::Stages) -> Duration| {
                ms(b.stages.iter().map(f).sum::<Duration>() / n)
            };
            println!(
                "index path by stage (mean ms): words {}, match and count {}, rerank {}, documents and snippets {}",
                mean(|s| s.words),
                mean(|s| s.first),
                mean(|s| s.rerank),
                mean(|s| s.documents)
            );
            println!("slowest on the index path:");
            for (d, total, url) in &b.slowest {
                println!("  {} ms, {total} matches: {url}", ms(*d));
            }
            if let (Some(p), Some(other)) = (&b.paired, &against) {
                println!("each query on both indexes in turn, 4 rounds (index path, ms):");
                println!("| index | p50 | p90 | p99 | documents and snippets (mean) |");
                println!("|---|---:|---:|---:|---:|");
                for (name, [p50, p90, p99], documents) in [
                    (dir.display(), p.this, p.this_documents),
                    (other.display(), p.other, p.other_documents),
                ] {
                    println!(
                        "| {name} | {} | {} | {} | {} |",
                        ms(p50),
                        ms(p90),
                        ms(p99),
                        ms(documents)
                    );
                }
            }
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
        Command::Bench {
            which: Bench::Feed { database, rows },
        } => {
            let b = server::bench_feed::feed(&database, rows).await?;
            let per_s = |d: Duration| b.rows as f64 / d.as_secs_f64();
            println!(
                "feed of {} rows ({} products) on {}",
                b.rows,
                b.products,
                shop::db::redact(&database)
            );
            println!("| path | time | rows/s | vs importer |");
            println!("|---|---:|---:|---:|");
            let importer = per_s(b.importer);
            for (name, d) in [
                (
                    "catalog importer, rows parsed beforehand (baseline)",
                    b.importer,
                ),
                ("feed: submit, parse, check, apply, queue pictures", b.feed),
                ("the same feed again (nothing changes)", b.again),
            ] {
                println!(
                    "| {name} | {:.2} s | {:.0} | {:.2}× |",
                    d.as_secs_f64(),
                    per_s(d),
                    per_s(d) / importer
                );
            }
            println!(
                "(parsing and checking alone: {:.0} ms)",
                b.parse.as_secs_f64() * 1000.0
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Loadgen {
            which:
                Loadgen::FlashSale {
                    shop,
                    gateway,
                    sku,
                    buyers,
                    units,
                    concurrency,
                    gateway_latency_ms,
                    timeout_rate,
                    error_before_rate,
                    error_after_rate,
                    faults_secs,
                    decline_every,
                    skus,
                },
        } => {
            let run = server::loadgen::FlashSale {
                shop,
                gateway,
                database_url: settings.database_url(),
                sku,
                buyers,
                units,
                concurrency,
                gateway_latency_ms,
                faults: server::loadgen::GatewayFaults {
                    timeout_rate,
                    error_before_rate,
                    error_after_rate,
                },
                faults_for: std::time::Duration::from_secs(faults_secs),
                decline_every,
                skus: skus.max(1),
                progress: None,
            };
            let report = server::loadgen::flash_sale(&run).await?;
            println!(
                "flash sale: {} buyers, {} units of {} (and of {} SKUs after it), {} in flight, gateway +{} ms",
                run.buyers,
                run.units,
                run.sku,
                run.skus - 1,
                run.concurrency,
                run.gateway_latency_ms
            );
            println!(
                "  {:.0} checkouts/s over {:.2} s; p50 {:.1} ms, p99 {:.1} ms",
                report.checkouts_per_second(),
                report.seconds,
                report.p50_ms,
                report.p99_ms
            );
            println!(
                "  {} confirmed, {} sold out, {} other; {} requests resent after a lost connection",
                report.confirmed,
                report.sold_out,
                report.other.len(),
                report.resent
            );
            for (status, body) in report.other.iter().take(5) {
                println!("    {status}: {body}");
            }
            if report.violations.is_empty() {
                println!("  invariants: all hold");
                Ok(ExitCode::SUCCESS)
            } else {
                for v in &report.violations {
                    println!("  VIOLATION: {v}");
                }
                Ok(ExitCode::FAILURE)
            }
        }
        Command::Loadgen {
            which:
                Loadgen::Chaos {
                    shop,
                    nodes,
                    gateway,
                    buyers,
                    units,
                    concurrency,
                    shoppers,
                    timeout_rate,
                    error_before_rate,
                    error_after_rate,
                    faults_secs,
                    decline_every,
                    kill_pid,
                    kill_node,
                    store_pid,
                    store_outage_secs,
                    burst,
                },
        } => {
            let run = server::chaos::Chaos {
                shop,
                nodes,
                gateway,
                database_url: settings.database_url(),
                buyers,
                units,
                concurrency,
                shoppers,
                faults: server::loadgen::GatewayFaults {
                    timeout_rate,
                    error_before_rate,
                    error_after_rate,
                },
                faults_for: std::time::Duration::from_secs(faults_secs),
                decline_every,
                kill: kill_pid.zip(kill_node),
                store_pid,
                store_outage: std::time::Duration::from_secs(store_outage_secs),
                burst,
            };
            let outcome = server::chaos::run(&run).await?;
            println!("chaos run:");
            for line in &outcome.story {
                println!("  {line}");
            }
            println!("invariants:");
            for check in &outcome.checks {
                let mark = if check.ok { "ok  " } else { "FAIL" };
                println!("  {mark} {:<72} {}", check.name, check.found);
            }
            let broken = outcome.checks.iter().filter(|c| !c.ok).count();
            if broken == 0 {
                println!("chaos: all {} checks hold", outcome.checks.len());
                Ok(ExitCode::SUCCESS)
            } else {
                println!("chaos: {broken} of {} checks FAILED", outcome.checks.len());
                Ok(ExitCode::FAILURE)
            }
        }
        Command::SellerKey { seller, label } => {
            let db = connect(&settings).await?;
            let (_, key) = shop::accounts::ApiKeys::new(db.clone())
                .issue(&seller, &label)
                .await?;
            println!("{key}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Users {
            which:
                Users::Create {
                    email,
                    role,
                    seller,
                },
        } => {
            let role = shop::accounts::Role::parse(&role)?;
            let password = match std::env::var("EMPORIUM_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let db = connect(&settings).await?;
            let users = shop::accounts::Users::new(
                db.clone(),
                std::sync::Arc::new(SystemClock),
                shop::accounts::Throttle::new(db, shop::accounts::ThrottleConfig::default()),
            );
            let viewer = users
                .create(&email, &password, role, seller.as_deref())
                .await?;
            println!(
                "created {} ({}) as user {}",
                viewer.email, viewer.role, viewer.user_id
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Coupon {
            code,
            percent,
            amount,
            currency,
            per_customer,
            total,
            hours,
        } => {
            use shop::coupons::{CouponCode, Coupons, Discount, NewCoupon};
            let discount = match (percent, amount) {
                (Some(p), _) => Discount::Percent(p),
                (None, Some(a)) => {
                    Discount::Amount(shop::Money::new(a, shop::Currency::parse(&currency)?))
                }
                (None, None) => bail!("give --percent or --amount"),
            };
            let db = connect(&settings).await?;
            let now = SystemClock.now();
            let code = CouponCode::parse(&code)?;
            Coupons::new(db, std::sync::Arc::new(SystemClock))
                .create(&NewCoupon {
                    code: code.clone(),
                    discount,
                    per_customer_limit: per_customer,
                    total_limit: total,
                    expires_at: hours.map(|h| now + h * 3_600_000),
                })
                .await?;
            println!("created coupon {code} ({})", discount.label());
            Ok(ExitCode::SUCCESS)
        }
        Command::Stock { sku, available } => {
            let db = connect(&settings).await?;
            let sku = shop::catalog::Sku::parse(&sku)?;
            let variant: i64 = sqlx::query_scalar("SELECT id FROM variants WHERE sku = $1")
                .bind(sku.as_str())
                .fetch_optional(db.pool())
                .await?
                .with_context(|| format!("no SKU {sku}"))?;
            if available < 0 {
                bail!("stock cannot be negative");
            }
            let mut tx = db.begin_write().await?;
            shop::inventory::adjust::set_available(
                &mut tx,
                shop::catalog::VariantId::new(variant),
                available,
                "cli",
                SystemClock.now(),
            )
            .await?;
            tx.commit().await?;
            println!("{sku}: {available} available");
            Ok(ExitCode::SUCCESS)
        }
        Command::EvalSearch { verbose, as_shown } => {
            let evaluation = server::evaluate::run(as_shown).await?;
            if verbose {
                for (i, ((judged, clean, typo), top)) in
                    evaluation.per_query.iter().zip(&evaluation.top).enumerate()
                {
                    println!("  {clean:.3}  {typo:.3}  {}", judged.text);
                    if std::env::var_os("EMPORIUM_EVAL_TOP").is_some() {
                        for (gain, title) in top {
                            println!("        {gain} {title}");
                        }
                        for missed in &evaluation.missed[i] {
                            println!("        missed {missed}");
                        }
                    }
                }
            }
            println!(
                "mean NDCG@10 over {} WANDS queries: {:.3} (with one typo per query: {:.3})",
                evaluation.per_query.len(),
                evaluation.mean(),
                evaluation.mean_with_typos()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Reindex => {
            let db = connect(&settings).await?;
            let location = settings.search_location();
            let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM products")
                .fetch_one(db.pool())
                .await?;
            let bar = progress(u64::try_from(total).unwrap_or(0));
            let started = std::time::Instant::now();
            let indexed = shop::search::reindex(&db, &location, &bar)
                .await
                .with_context(|| {
                    format!(
                        "cannot rebuild the search index at {location:?} (is a node running on it?)"
                    )
                })?;
            bar.finish_and_clear();
            println!(
                "indexed {indexed} products in {:.1} s into {location:?}",
                started.elapsed().as_secs_f64()
            );
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
