//! The fast first stage of search against the plain one, over the whole search pipeline.
//!
//! The fast stage (`FirstStage::Fast`: bitsets for common words, packed facet codes, its own
//! collector and rerank) is written against Tantivy's internals; the plain stage computes the
//! same ranking with Tantivy's own query types and collectors. On the benchmark's query log
//! (the queries `cargo xtask bench --only search` times) over the synthetic catalog it is made
//! for, every query must get the same total, facets and correction from both, and the same
//! hits in the same order with the same keys, but for ties.
//!
//! Both stages give equal keys to the lower document address, so where they compute a page's
//! keys alike, to the bit, the pages must be identical: the synthetic catalog is full of
//! products with equal keys, and which of them a page shows is part of the ranking. Rounding
//! is the one thing allowed to differ. Adding the same scores in another order (an
//! intersection adds its words' scores in an order of its own choosing) changes the last few
//! bits of an f32, so relevance keys within four units in the last place of the larger are
//! tied; a sort by rating counts the score a millionth, so its keys are tied within 1e-10
//! (ratings, prices and dates differ by far more). On a page where the stages rounded some
//! key differently, tied hits may swap places, and where they run on past the end of the
//! page, which of them it shows may differ too. Anything else is a difference. (One rounding
//! difference this cannot excuse: a product whose first-stage key ties with the last one the
//! first stage keeps for the rerank could make the cut in one stage only and then rank
//! anywhere on the page. No query of the log does that: today every key of every page is the
//! same to the bit in both stages.)

use crate::common::NOW;
use crate::search::ready;
use indicatif::ProgressBar;
use shop::catalog::import;
use shop::db::scratch::ScratchDb;
use shop::search::bench::{Rank, query_log, ranked};
use shop::search::{FirstStage, SearchQuery, SearchResults, SearchSort};
use std::collections::BTreeSet;

/// The synthetic catalog's size: most words match more products than the first stage keeps
/// for the rerank (a block of a hundred), so its choice of them matters, and the common words
/// (styles, materials, brands: a tenth to a sixteenth of the catalog) are answered from
/// bitsets where they are intersected.
const PRODUCTS: usize = 10_000;

/// As many queries as the benchmark runs.
const QUERIES: usize = 1_000;

#[tokio::test]
async fn the_fast_first_stage_finds_and_ranks_what_the_plain_one_does() {
    let scratch = ScratchDb::new().await.expect("scratch database");
    let catalog = import::synthetic(PRODUCTS);
    import::apply(&scratch.db, catalog, NOW, &ProgressBar::hidden())
        .await
        .expect("the synthetic catalog imports");
    let search = ready(&scratch).await;

    let mut seen = Seen::default();
    for (n, q) in query_log(QUERIES, PRODUCTS).iter().enumerate() {
        let answer = |stage| {
            ranked(&search, q, stage)
                .expect("the index is ready")
                .unwrap_or_else(|e| panic!("query {n} {q:?} by the {stage:?} stage: {e}"))
        };
        let (fast, fast_ranks) = answer(FirstStage::Fast);
        let (plain, plain_ranks) = answer(FirstStage::Plain);
        let case = describe(n, q);
        assert_eq!(
            (fast.total, &fast.facets, &fast.did_you_mean),
            (plain.total, &plain.facets, &plain.did_you_mean),
            "{case}: the total, facets and correction, fast then plain"
        );
        let total = fast.total;
        let (fast, plain) = (page(&fast, fast_ranks), page(&plain, plain_ranks));
        if let Err(difference) = same_up_to_ties(&fast, &plain) {
            panic!(
                "{case}: {difference}\n  fast:  {}\n  plain: {}",
                show(&fast),
                show(&plain)
            );
        }
        seen.count(q, total, &fast);
    }
    // The log reached what the fast stage does differently, or the comparison proves little.
    assert!(
        seen.beyond_first_block >= 300
            && seen.sorted >= 50
            && seen.filtered >= 100
            && seen.later_pages >= 50
            && seen.several_words >= 300,
        "the log exercises both stages: {seen:?}"
    );
}

/// A page as (product, rank) pairs.
type Page = Vec<(i64, Rank)>;

fn page(results: &SearchResults, ranks: Vec<Rank>) -> Page {
    assert_eq!(results.hits.len(), ranks.len(), "a rank for every hit");
    results
        .hits
        .iter()
        .map(|hit| hit.product_id.get())
        .zip(ranks)
        .collect()
}

/// Whether `fast` and `plain` are the same page but for ties (see the module's notes), or
/// where they first differ.
fn same_up_to_ties(fast: &Page, plain: &Page) -> Result<(), String> {
    if fast.len() != plain.len() {
        return Err(format!("{} hits against {}", fast.len(), plain.len()));
    }
    // Both stages give equal keys to the lower document address, so while they compute every
    // key alike (to the bit), their pages are the same; only rounding lets tied hits move.
    let rounded = fast.iter().any(|(product, rank)| {
        plain
            .iter()
            .any(|(other, other_rank)| other == product && other_rank != rank)
    });
    if !rounded {
        return match fast.iter().zip(plain).position(|(a, b)| a != b) {
            None => Ok(()),
            Some(at) => Err(format!(
                "hit {at} is product {} ({:?}) against product {} ({:?}), every key of \
                 both pages computed alike",
                fast[at].0, fast[at].1, plain[at].0, plain[at].1
            )),
        };
    }
    let mut at = 0;
    while at < fast.len() {
        let ((product, rank), (other, other_rank)) = (fast[at], plain[at]);
        if product == other {
            if !same_rank(&rank, &other_rank) {
                return Err(format!(
                    "hit {at} (product {product}) is ranked {rank:?} against {other_rank:?}"
                ));
            }
            at += 1;
            continue;
        }
        // The run of hits tied in order with this one, in either page.
        let tied = |page: &Page| {
            page[at..]
                .iter()
                .take_while(|(_, r)| tied_in_order(&rank, r))
                .count()
        };
        let run = tied(fast);
        if tied(plain) < run {
            return Err(format!(
                "hit {at} is product {product} ({rank:?}) against product {other} \
                 ({other_rank:?}), which is not tied with it"
            ));
        }
        let end = at + run;
        let ids = |page: &Page| {
            page[at..end]
                .iter()
                .map(|(p, _)| *p)
                .collect::<BTreeSet<_>>()
        };
        // Where the run reaches the page's end, tied products beyond it may take its places.
        if end < fast.len() && ids(fast) != ids(plain) {
            return Err(format!(
                "hits {at}..{end} are tied but hold products {:?} against {:?}",
                ids(fast),
                ids(plain)
            ));
        }
        for (product, rank) in &fast[at..end] {
            if let Some((_, other_rank)) = plain[at..end].iter().find(|(p, _)| p == product)
                && !same_rank(rank, other_rank)
            {
                return Err(format!(
                    "product {product} is ranked {rank:?} against {other_rank:?}"
                ));
            }
        }
        at = end;
    }
    Ok(())
}

/// Two f32 keys equal but for rounding: within four units in the last place of the larger.
fn close(a: f32, b: f32) -> bool {
    (a - b).abs() <= 4.0 * f32::EPSILON * a.abs().max(b.abs())
}

/// Two sort keys equal but for rounding (see the module's notes).
fn close_sorted(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-10
}

/// Whether two ranks are the same but for rounding, in every key.
fn same_rank(a: &Rank, b: &Rank) -> bool {
    match (a, b) {
        (
            Rank::Relevance { block, first, full },
            Rank::Relevance {
                block: other_block,
                first: other_first,
                full: other_full,
            },
        ) => block == other_block && close(*first, *other_first) && close(*full, *other_full),
        (
            Rank::Sorted { available, key },
            Rank::Sorted {
                available: other_available,
                key: other_key,
            },
        ) => available == other_available && close_sorted(*key, *other_key),
        _ => false,
    }
}

/// Whether two hits' order is a tie: by relevance, the same block and full keys equal but
/// for rounding (equal full keys are ordered by the first stage's keys, which may be tied
/// in turn); by a sort order, the same key.
fn tied_in_order(a: &Rank, b: &Rank) -> bool {
    match (a, b) {
        (
            Rank::Relevance { block, full, .. },
            Rank::Relevance {
                block: other_block,
                full: other_full,
                ..
            },
        ) => block == other_block && close(*full, *other_full),
        _ => same_rank(a, b),
    }
}

fn show(page: &Page) -> String {
    page.iter()
        .map(|(product, rank)| format!("{product} {rank:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe(n: usize, q: &SearchQuery) -> String {
    format!(
        "query {n} {:?} (sort {:?}, page {}, in stock {}, price {:?}..{:?})",
        q.text, q.sort, q.page, q.in_stock, q.min_price, q.max_price
    )
}

/// What the log's queries reached, so that a log or catalog that stopped reaching the fast
/// stage's own code would fail the test instead of passing it idly.
#[derive(Debug, Default)]
struct Seen {
    /// Ranked by relevance from more matches than the first stage keeps for the rerank.
    beyond_first_block: usize,
    sorted: usize,
    filtered: usize,
    later_pages: usize,
    several_words: usize,
}

impl Seen {
    fn count(&mut self, q: &SearchQuery, total: u64, page: &Page) {
        let by_relevance = page
            .first()
            .is_some_and(|(_, rank)| matches!(rank, Rank::Relevance { .. }));
        self.beyond_first_block += usize::from(by_relevance && total > 100);
        self.sorted += usize::from(q.sort != SearchSort::Relevance);
        self.filtered += usize::from(q.in_stock || q.min_price.is_some() || q.max_price.is_some());
        self.later_pages += usize::from(q.page > 1);
        self.several_words += usize::from(q.text.split_whitespace().count() > 1);
    }
}
