//! `tools bench feed`: how fast a seller's feed is applied, next to the catalog importer
//! writing the very same products (the baseline: the feed's own work is parsing, checking
//! each row, progress and queueing pictures), each on a fresh database in the same run; then
//! the same feed again (nothing changes, so nothing is written).

use indicatif::ProgressBar;
use shop::catalog::import::{self, ParsedRow, SellerInput};
use shop::catalog::{Catalog, SellerId};
use shop::clock::{Clock, SystemClock};
use shop::db::scratch::ScratchDb;
use shop::feeds::{Feeds, QueueConfig};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `tools bench feed`'s arguments.
#[derive(clap::Args)]
pub struct FeedArgs {
    /// `sqlite` (a fresh file) or a PostgreSQL URL (a fresh schema in it).
    #[arg(long, default_value = "sqlite")]
    database: String,
    /// Rows in the feed (two per product).
    #[arg(long, default_value_t = 10_000)]
    rows: usize,
}

impl FeedArgs {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        let b = feed(&self.database, self.rows).await?;
        let per_s = |d: Duration| b.rows as f64 / d.as_secs_f64();
        println!(
            "feed of {} rows ({} products) on {}",
            b.rows,
            b.products,
            shop::db::redact(&self.database)
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
}

pub struct FeedBench {
    pub rows: usize,
    pub products: usize,
    pub importer: Duration,
    pub feed: Duration,
    pub again: Duration,
    pub parse: Duration,
}

async fn shop_with_catalog(url: &str) -> anyhow::Result<ScratchDb> {
    let scratch = if url == "sqlite" {
        ScratchDb::sqlite().await?
    } else {
        ScratchDb::postgres(url).await?
    };
    import::demo::import_all(&scratch.db, SystemClock.now()).await?;
    Ok(scratch)
}

/// A feed of `rows` rows: two variants per product, one picture URL per product.
fn feed_text(rows: usize, category: &str) -> String {
    let mut text =
        String::from("product_key,sku,price,title,description,category,options,stock,image_urls\n");
    for n in 0..rows {
        let product = n / 2;
        if n % 2 == 0 {
            text.push_str(&format!(
                "bench-{product},BENCH-{n},{}.99,Bench lamp {product},\"A lamp for the feed benchmark, number {product}\",\"{category}\",Size: Small,5,https://images.example.com/{product}.jpg\n",
                10 + product % 90
            ));
        } else {
            text.push_str(&format!(
                "bench-{product},BENCH-{n},{}.99,,,,Size: Large,3,\n",
                20 + product % 90
            ));
        }
    }
    text
}

/// `Parent > Child`, as a seller writes a category.
fn path_of(categories: &[shop::catalog::Category], leaf: &shop::catalog::Category) -> String {
    let mut names = vec![leaf.name.clone()];
    let mut at = leaf.parent_id;
    while let Some(id) = at {
        let Some(c) = categories.iter().find(|c| c.id == id) else {
            break;
        };
        names.push(c.name.clone());
        at = c.parent_id;
    }
    names.reverse();
    names.join(" > ")
}

pub async fn feed(url: &str, rows: usize) -> anyhow::Result<FeedBench> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    // Baseline: the importer writing the feed's products, parsed beforehand.
    let base = shop_with_catalog(url).await?;
    let catalog = Catalog::new(base.db.clone());
    let categories = catalog.categories().await?;
    let leaf = categories
        .iter()
        .find(|c| c.parent_id.is_some())
        .ok_or_else(|| anyhow::anyhow!("the demo catalog has no subcategory"))?;
    let category = path_of(&categories, leaf);
    let (seller, slug, name): (i64, String, String) =
        sqlx::query_as("SELECT id, slug, name FROM sellers ORDER BY id LIMIT 1")
            .fetch_one(base.db.pool())
            .await?;
    let text = feed_text(rows, &category);
    let started = Instant::now();
    let raw = shop::feeds::parse::rows(shop::feeds::parse::FeedFormat::Csv, &text)
        .map_err(|e| anyhow::anyhow!(e))?;
    let (products, issues) =
        shop::feeds::parse::products(&raw, &SellerInput { slug, name }, &categories);
    let parse = started.elapsed();
    anyhow::ensure!(
        issues.is_empty(),
        "the benchmark feed has problems: {issues:?}"
    );
    let parsed: Vec<ParsedRow> = products
        .iter()
        .map(|p| ParsedRow {
            line: p.line,
            product: Ok(p.input.clone()),
        })
        .collect();
    let started = Instant::now();
    import::apply(&base.db, parsed, clock.now(), &ProgressBar::hidden()).await?;
    let importer = started.elapsed();

    // The feed path, on its own fresh database.
    let shop = shop_with_catalog(url).await?;
    let feeds = Feeds::new(
        shop.db.clone(),
        Catalog::new(shop.db.clone()),
        clock.clone(),
        QueueConfig::default(),
    );
    let seller = SellerId::new(seller);
    let time_one = |feeds: Feeds| {
        let text = text.clone();
        async move {
            let started = Instant::now();
            feeds.submit(seller, "bench.csv", text.as_bytes()).await?;
            while feeds.process_next().await? {}
            anyhow::Ok(started.elapsed())
        }
    };
    let feed = time_one(feeds.clone()).await?;
    let again = time_one(feeds).await?;
    Ok(FeedBench {
        rows,
        products: products.len(),
        importer,
        feed,
        again,
        parse,
    })
}
