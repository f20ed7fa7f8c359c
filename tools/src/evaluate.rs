//! `tools eval-search`: mean NDCG@10 of the real search path on the WANDS judgments, with
//! and without one typo per query.

use shop::catalog::Catalog;
use shop::catalog::import;
use shop::db::scratch::ScratchDb;
use shop::search::eval::{self, Judged};
use shop::search::{Location, Search, SearchParams, SearchQuery};
use std::process::ExitCode;
use std::time::Duration;

/// `tools eval-search`'s arguments.
#[derive(clap::Args)]
pub struct EvalArgs {
    /// Print each query's score (with `EMPORIUM_EVAL_TOP` set, its top ten and what it
    /// missed too).
    #[arg(long)]
    verbose: bool,
    /// Keep the import's invented stock (sold-out products rank last, as in the shop).
    #[arg(long)]
    as_shown: bool,
}

impl EvalArgs {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        let evaluation = run(self.as_shown).await?;
        if self.verbose {
            let top = std::env::var_os("EMPORIUM_EVAL_TOP").is_some();
            for (i, ((judged, clean, typo), best)) in
                evaluation.per_query.iter().zip(&evaluation.top).enumerate()
            {
                println!("  {clean:.3}  {typo:.3}  {}", judged.text);
                if top {
                    for (gain, title) in best {
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
}

const PRODUCTS: &str = include_str!("../../datasets/wands/product.tsv");
const QUERIES: &str = include_str!("../../datasets/wands/query.tsv");
const LABELS: &str = include_str!("../../datasets/wands/label.tsv");

/// Scores per query and their mean, for clean and typo'd queries.
pub struct Evaluation {
    pub per_query: Vec<(Judged, f64, f64)>,
    /// Per query, the top ten as (gain, title), for `--verbose`.
    pub top: Vec<Vec<(u32, String)>>,
    /// Per query, the judged relevant products missing from the top ten.
    pub missed: Vec<Vec<String>>,
}

impl Evaluation {
    pub fn mean(&self) -> f64 {
        self.per_query.iter().map(|(_, s, _)| s).sum::<f64>() / self.per_query.len().max(1) as f64
    }

    pub fn mean_with_typos(&self) -> f64 {
        self.per_query.iter().map(|(_, _, s)| s).sum::<f64>() / self.per_query.len().max(1) as f64
    }
}

/// Runs the evaluation. `as_shown` keeps the import's invented stock, so sold-out products
/// rank last as in the shop; otherwise everything is in stock and only relevance counts.
pub async fn run(as_shown: bool) -> anyhow::Result<Evaluation> {
    let scratch = ScratchDb::sqlite().await?;
    let rows = import::parse("product.tsv", PRODUCTS)?;
    import::apply(&scratch.db, rows, 0, &indicatif::ProgressBar::hidden()).await?;
    if !as_shown {
        // The import invents stock (one product in twelve sold out) that the judges never
        // saw; sold-out products rank last in the shop, which is not what is scored here.
        sqlx::query("UPDATE stock_levels SET available = available + 5, received = received + 5")
            .execute(scratch.db.pool())
            .await?;
    }
    let search = Search::start(
        scratch.db.clone(),
        Catalog::new(scratch.db.clone()),
        Location::Ram,
    );
    anyhow::ensure!(
        search.wait_ready(Duration::from_secs(60)).await,
        "the index did not build"
    );
    let mut per_query = Vec::new();
    let mut top = Vec::new();
    let mut missed = Vec::new();
    for judged in eval::wands(QUERIES, LABELS) {
        let (clean, titles, ranked) = score(&search, &judged, &judged.text).await?;
        let (typo, _, _) = score(&search, &judged, &eval::with_typo(&judged.text)).await?;
        missed.push(
            judged
                .gains
                .iter()
                .filter(|(id, gain)| **gain > 0 && !ranked.contains(id))
                .map(|(id, gain)| format!("{gain} #{id}"))
                .collect(),
        );
        per_query.push((judged, clean, typo));
        top.push(titles);
    }
    Ok(Evaluation {
        per_query,
        top,
        missed,
    })
}

async fn score(
    search: &Search,
    judged: &Judged,
    text: &str,
) -> anyhow::Result<(f64, Vec<(u32, String)>, Vec<String>)> {
    let query = SearchQuery::parse(&SearchParams {
        q: Some(text.to_string()),
        per_page: Some("10".into()),
        ..Default::default()
    })?;
    let results = search.search(&query).await?;
    anyhow::ensure!(!results.degraded, "the search fell back to the database");
    let titles = results
        .hits
        .iter()
        .map(|h| {
            (
                *judged.gains.get(&h.external_id).unwrap_or(&0),
                h.title.clone(),
            )
        })
        .collect();
    let ranked: Vec<String> = results.hits.into_iter().map(|h| h.external_id).collect();
    Ok((eval::ndcg(&ranked, judged, 10), titles, ranked))
}
