//! `server bench hot-sku`: how many holds per second one SKU takes, next to the raw rate of
//! the single conditional `UPDATE` underneath it (and, on PostgreSQL, a naive
//! `SELECT … FOR UPDATE` then `UPDATE`), measured in the same run on a fresh database.

use shop::catalog::VariantId;
use shop::db::Db;
use shop::db::scratch::ScratchDb;
use shop::inventory::holds;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// One measured rate.
#[derive(Debug)]
pub struct Rate {
    pub name: &'static str,
    pub per_second: f64,
}

/// Runs the hot-SKU comparison on `url` (`sqlite` for a fresh SQLite file, or a PostgreSQL
/// URL under which a fresh schema is made).
pub async fn hot_sku(url: &str, seconds: u64, tasks: usize) -> anyhow::Result<Vec<Rate>> {
    let scratch = if url == "sqlite" {
        ScratchDb::sqlite().await?
    } else {
        ScratchDb::postgres(url).await?
    };
    let db = scratch.db.clone();
    let (variant, warehouse) = one_sku(&db).await?;
    let duration = Duration::from_secs(seconds);
    let mut rates = Vec::new();

    let raw = run(tasks, duration, {
        let db = db.clone();
        move |_| {
            let db = db.clone();
            async move {
                let moved = sqlx::query(
                    "UPDATE stock_levels SET available = available - 1, held = held + 1 \
                     WHERE variant_id = $1 AND warehouse_id = $2 AND available >= 1",
                )
                .bind(variant.get())
                .bind(warehouse)
                .execute(db.pool())
                .await?
                .rows_affected();
                Ok(moved == 1)
            }
        }
    })
    .await?;
    rates.push(Rate {
        name: "raw conditional UPDATE (autocommit)",
        per_second: raw,
    });

    if db.backend() == shop::db::Backend::Postgres {
        let naive = run(tasks, duration, {
            let db = db.clone();
            move |_| {
                let db = db.clone();
                async move {
                    let mut tx = db.pool().begin().await?;
                    let available: i64 = sqlx::query_scalar(
                        "SELECT available FROM stock_levels WHERE variant_id = $1 \
                         AND warehouse_id = $2 FOR UPDATE",
                    )
                    .bind(variant.get())
                    .bind(warehouse)
                    .fetch_one(&mut *tx)
                    .await?;
                    sqlx::query(
                        "UPDATE stock_levels SET available = $3, held = held + 1 \
                         WHERE variant_id = $1 AND warehouse_id = $2",
                    )
                    .bind(variant.get())
                    .bind(warehouse)
                    .bind(available - 1)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(true)
                }
            }
        })
        .await?;
        rates.push(Rate {
            name: "naive SELECT … FOR UPDATE, then UPDATE",
            per_second: naive,
        });
    }

    let counter = Arc::new(AtomicU64::new(0));
    let reservations = run(tasks, duration, {
        let db = db.clone();
        move |_| {
            let db = db.clone();
            let checkout = format!("bench-{}", counter.fetch_add(1, Ordering::Relaxed));
            async move {
                let now = 1_780_000_000_000;
                let mut tx = db.begin_write().await?;
                holds::reserve(&mut tx, &checkout, &[(variant, 1)], now + 900_000, now)
                    .await
                    .map_err(|e| anyhow::anyhow!(e))?;
                tx.commit().await?;
                Ok(true)
            }
        }
    })
    .await?;
    rates.push(Rate {
        name: "reservation, one transaction each",
        per_second: reservations,
    });

    // The path checkouts take: the group-committing writer.
    let clock_now = 1_780_000_000_000;
    let batcher =
        shop::checkout::ReserveBatcher::spawn(db.clone(), move || shop::checkout::Stamp {
            now: clock_now,
            lease_until: clock_now + 60_000,
            hold_until: clock_now + 900_000,
        });
    let counter = Arc::new(AtomicU64::new(0));
    let batched = run(tasks, duration, {
        move |_| {
            let batcher = batcher.clone();
            let holder = format!("batch-{}", counter.fetch_add(1, Ordering::Relaxed));
            async move {
                let held = batcher
                    .hold(&holder, vec![(variant, 1)])
                    .await
                    .map_err(|e| anyhow::anyhow!(e))?;
                Ok(held == shop::checkout::Reserved::Held)
            }
        }
    })
    .await?;
    rates.push(Rate {
        name: "reservation, group-committed (the checkout's path)",
        per_second: batched,
    });
    db.close().await;
    Ok(rates)
}

/// A product with one SKU and a billion units in one warehouse.
async fn one_sku(db: &Db) -> anyhow::Result<(VariantId, i64)> {
    let mut tx = db.begin_write().await?;
    sqlx::query("INSERT INTO sellers (slug, name, created_at) VALUES ('bench', 'Bench', 0)")
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO categories (slug, path, name, depth, created_at) VALUES ('bench', 'bench', 'Bench', 0, 0)")
        .execute(&mut *tx)
        .await?;
    let product: i64 = sqlx::query_scalar(
        "INSERT INTO products (seller_id, category_id, slug, title, description, price_from, \
         price_to, currency, source, external_id, created_at, updated_at) \
         SELECT s.id, c.id, 'bench', 'Bench', '', 100, 100, 'USD', 'bench', '1', 0, 0 \
         FROM sellers s, categories c RETURNING id",
    )
    .fetch_one(&mut *tx)
    .await?;
    let variant: i64 = sqlx::query_scalar(
        "INSERT INTO variants (product_id, sku, options, price_amount, currency, position, \
         created_at, updated_at) VALUES ($1, 'BENCH-1', '[]', 100, 'USD', 0, 0, 0) RETURNING id",
    )
    .bind(product)
    .fetch_one(&mut *tx)
    .await?;
    let warehouse = shop::inventory::ensure_warehouse(&mut tx, "main", "Main", 0).await?;
    shop::inventory::adjust::receive(
        &mut tx,
        VariantId::new(variant),
        warehouse,
        1_000_000_000,
        "bench",
        0,
    )
    .await?;
    tx.commit().await?;
    Ok((VariantId::new(variant), warehouse))
}

/// Runs `op` from `tasks` concurrent loops for `duration`; returns successful ops per second.
async fn run<F, Fut>(tasks: usize, duration: Duration, op: F) -> anyhow::Result<f64>
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<bool>> + Send,
{
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut handles = Vec::new();
    for t in 0..tasks {
        let op = op.clone();
        let done = done.clone();
        handles.push(tokio::spawn(async move {
            while started.elapsed() < duration {
                if op(t).await? {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
            anyhow::Ok(())
        }));
    }
    for h in handles {
        h.await??;
    }
    Ok(done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}

/// What `server bench search` measured.
#[derive(Debug)]
pub struct SearchBench {
    pub products: u64,
    pub reindex: Duration,
    pub index_bytes: u64,
    pub queries: usize,
    /// (name, p50, p90, p99, max)
    pub rows: Vec<(&'static str, [Duration; 4])>,
    pub rss_after_build: u64,
    pub rss_peak: u64,
    /// The slowest queries on the index path, with their time and how many products matched.
    pub slowest: Vec<(Duration, u64, String)>,
    /// Every query: its time on the index path and the baseline, matches, URL.
    pub per_query: Vec<(Duration, Duration, u64, String)>,
    /// Every query's time on the index path by stage.
    pub stages: Vec<shop::search::bench::Stages>,
    /// This index against another, when one was given.
    pub paired: Option<Paired>,
}

/// Search at scale: makes sure `dir` holds a SQLite catalog of `products` synthetic products
/// (importing them the first time: minutes for a million), rebuilds the index from it
/// (timed, like `server reindex`; or opens the one there when not `rebuild`), then runs a log of `queries` varied queries through the
/// index path, a bare Tantivy baseline and the full path with live stock.
pub async fn search(
    dir: &std::path::Path,
    products: usize,
    queries: usize,
    rebuild: bool,
    against: Option<&std::path::Path>,
) -> anyhow::Result<SearchBench> {
    use shop::catalog::{Catalog, import};
    use shop::search::bench::{Latencies, index_latencies, query_log};
    use shop::search::{Location, Search};

    std::fs::create_dir_all(dir)?;
    let url = format!("sqlite://{}", dir.join("catalog.db").display());
    let db = Db::connect(&url, &shop::db::DbOptions::default()).await?;
    db.migrate().await?;
    let count = |db: Db| async move {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM products")
            .fetch_one(db.pool())
            .await
    };
    let have = usize::try_from(count(db.clone()).await?).unwrap_or(0);
    if have < products {
        anyhow::ensure!(
            have == 0,
            "{url} holds {have} products, not {products}: use another --dir"
        );
        eprintln!("importing {products} synthetic products into {url} (once)…");
        let bar = indicatif::ProgressBar::new(products as u64);
        import::apply(&db, import::synthetic(products), 0, &bar).await?;
        bar.finish_and_clear();
    }

    let index = dir.join("index");
    let location = Location::Dir(index.clone());
    let (indexed, reindex) = if rebuild || !index.exists() {
        if index.exists() {
            std::fs::remove_dir_all(&index)?;
        }
        let started = Instant::now();
        let indexed =
            shop::search::reindex(&db, &location, &indicatif::ProgressBar::hidden()).await?;
        (indexed, started.elapsed())
    } else {
        (u64::try_from(have).unwrap_or(0), Duration::ZERO)
    };
    let index_bytes = folder_size(&index);

    let search = Search::start(db.clone(), Catalog::new(db.clone()), location);
    anyhow::ensure!(
        search.wait_ready(Duration::from_secs(120)).await,
        "the index did not open: {:?}",
        search.health()
    );
    let rss_after_build = memory("VmRSS:");
    let log = query_log(queries, products);
    // Warm the caches (the index's files, the term dictionaries) as a running node would be.
    let warm = query_log(200.min(queries), products);
    let _ = tokio::task::block_in_place(|| index_latencies(&search, &warm));
    let (ours, bare, stages) = tokio::task::block_in_place(|| index_latencies(&search, &log))
        .ok_or_else(|| anyhow::anyhow!("the index is not ready"))?;
    let paired = match against {
        Some(other) => {
            let other = Search::start(
                db.clone(),
                Catalog::new(db.clone()),
                Location::Dir(other.join("index")),
            );
            anyhow::ensure!(
                other.wait_ready(Duration::from_secs(120)).await,
                "the other index did not open: {:?}",
                other.health()
            );
            let _ = tokio::task::block_in_place(|| index_latencies(&other, &warm));
            Some(tokio::task::block_in_place(|| {
                paired(&search, &other, &log)
            })?)
        }
        None => None,
    };
    let mut full = Latencies::default();
    let mut totals = Vec::with_capacity(log.len());
    for q in &log {
        let started = Instant::now();
        let results = search.search(q).await?;
        full.0.push(started.elapsed());
        anyhow::ensure!(!results.degraded, "a search fell back to the database");
        totals.push(results.total);
    }
    let per_query: Vec<(Duration, Duration, u64, String)> = ours
        .0
        .iter()
        .zip(&bare.0)
        .zip(&totals)
        .zip(&log)
        .map(|(((d, b), total), q)| (*d, *b, *total, q.url_with(|_| {})))
        .collect();
    let mut slowest: Vec<(Duration, u64, String)> = per_query
        .iter()
        .map(|(d, _, total, url)| (*d, *total, url.clone()))
        .collect();
    slowest.sort_by_key(|s| std::cmp::Reverse(s.0));
    slowest.truncate(5);
    let row = |name, l: &Latencies| {
        (
            name,
            [
                l.percentile(0.5),
                l.percentile(0.9),
                l.percentile(0.99),
                l.percentile(1.0),
            ],
        )
    };
    Ok(SearchBench {
        products: indexed,
        reindex,
        index_bytes,
        queries: log.len(),
        rows: vec![
            row("bare Tantivy (OR of terms, top 20)", &bare),
            row("index path (top 20 + facets + snippets)", &ours),
            row("full search (+ live stock from SQLite)", &full),
        ],
        rss_after_build,
        rss_peak: memory("VmHWM:"),
        slowest,
        per_query,
        stages,
        paired,
    })
}

/// Two indexes' latencies on the index path, each query run on both back to back (the first
/// of the two alternating by round), with their mean time on documents and snippets: drift
/// in the machine's speed, which swamps a change of a few percent between separate runs,
/// falls on both alike.
#[derive(Debug)]
pub struct Paired {
    /// (p50, p90, p99) on this index and on the other.
    pub this: [Duration; 3],
    pub other: [Duration; 3],
    pub this_documents: Duration,
    pub other_documents: Duration,
}

/// Rounds of the whole log in [`paired`].
const PAIRED_ROUNDS: usize = 4;

fn paired(
    this: &shop::search::Search,
    other: &shop::search::Search,
    log: &[shop::search::SearchQuery],
) -> anyhow::Result<Paired> {
    use shop::search::bench::{Latencies, index_latencies};
    let (mut a, mut b) = (Latencies::default(), Latencies::default());
    let (mut a_docs, mut b_docs) = (Duration::ZERO, Duration::ZERO);
    for round in 0..PAIRED_ROUNDS {
        for q in log {
            let order = if round % 2 == 0 {
                [true, false]
            } else {
                [false, true]
            };
            for first in order {
                let search = if first { this } else { other };
                let (ours, _, stages) = index_latencies(search, std::slice::from_ref(q))
                    .ok_or_else(|| anyhow::anyhow!("an index is not ready"))?;
                let (latencies, documents) = if first {
                    (&mut a, &mut a_docs)
                } else {
                    (&mut b, &mut b_docs)
                };
                latencies.0.extend(ours.0);
                *documents += stages.iter().map(|s| s.documents).sum::<Duration>();
            }
        }
    }
    let runs = u32::try_from(a.0.len().max(1)).unwrap_or(u32::MAX);
    let three = |l: &Latencies| [l.percentile(0.5), l.percentile(0.9), l.percentile(0.99)];
    Ok(Paired {
        this: three(&a),
        other: three(&b),
        this_documents: a_docs / runs,
        other_documents: b_docs / runs,
    })
}

fn folder_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// A line of /proc/self/status in bytes (0 where there is none).
fn memory(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}
