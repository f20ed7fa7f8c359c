//! `tools bench hot-sku`: how many holds per second one SKU takes, next to the raw rate of
//! the single conditional `UPDATE` underneath it (and, on PostgreSQL, a naive
//! `SELECT … FOR UPDATE` then `UPDATE`), measured in the same run on a fresh database.

use shop::catalog::VariantId;
use shop::db::Db;
use shop::db::scratch::ScratchDb;
use shop::inventory::holds;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// `tools bench hot-sku`'s arguments.
#[derive(clap::Args)]
pub struct HotSkuArgs {
    /// `sqlite` (a fresh file) or a PostgreSQL URL (a fresh schema in it).
    #[arg(long, default_value = "sqlite")]
    database: String,
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    #[arg(long, default_value_t = 32)]
    tasks: usize,
}

impl HotSkuArgs {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        let HotSkuArgs {
            database,
            seconds,
            tasks,
        } = self;
        let rates = hot_sku(&database, seconds, tasks).await?;
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
}

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
