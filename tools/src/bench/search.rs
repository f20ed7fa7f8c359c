//! `tools bench search`: search at scale. Reindex time, index size, memory, and query
//! latencies on the index path, a bare Tantivy baseline and the full path with live stock,
//! over a varied query log (see BENCHMARKS.md).

use shop::db::Db;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// `tools bench search`'s arguments.
#[derive(clap::Args)]
pub struct SearchArgs {
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
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

impl SearchArgs {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        let SearchArgs {
            products,
            queries,
            dir,
            write_urls,
            per_query,
            keep_index,
            against,
        } = self;
        if let Some(file) = write_urls {
            let urls: Vec<String> = shop::search::bench::query_log(queries, products)
                .iter()
                .map(|q| q.url_with(|_| {}).replacen("/search", "/api/v1/search", 1))
                .collect();
            std::fs::write(&file, urls.join("\n") + "\n")?;
            println!("wrote {} URLs to {}", urls.len(), file.display());
            return Ok(ExitCode::SUCCESS);
        }
        let b = search(&dir, products, queries, !keep_index, against.as_deref()).await?;
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
}

/// What `tools bench search` measured.
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
