//! Measuring search (`tools bench search`): a reproducible query log for the synthetic
//! catalog, and per-query latencies of the index path next to a bare Tantivy baseline — the
//! query's words as one OR of terms on a single field, top 20 by BM25, no typos, no facets —
//! timed in the same process on the same index.

use super::first_stage::FirstStage;
pub use super::query::{Rank, Stages};
use super::service::{Search, answer};
use super::types::{SearchParams, SearchQuery, SearchResults};
use crate::catalog::import::synthetic_vocabulary;
use std::time::{Duration, Instant};
use tantivy::Term;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::IndexRecordOption;

/// `n` varied queries for a synthetic catalog of `products`, shaped like a shop's search
/// log: an item alone ("floor lamp") or with a style or material ("walnut desk"), a brand
/// with or without an item, three-word queries, a few with a product number; one in ten
/// with a typo, a fifth with filters, a tenth sorted, a tenth on a later page.
/// Deterministic.
pub fn query_log(n: usize, products: usize) -> Vec<SearchQuery> {
    let vocabulary = synthetic_vocabulary();
    let (modifiers, rest) = vocabulary.split_at(16 + 12);
    let (items, brands) = rest.split_at(rest.len() - 10);
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |m: usize| -> usize {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % m.max(1) as u64) as usize
    };
    (0..n)
        .map(|_| {
            let shape = next(20);
            let mut pick = |from: &[&str]| from[next(from.len())].to_lowercase();
            let mut text: Vec<String> = match shape {
                0..=6 => vec![pick(items)],
                7..=13 => vec![pick(modifiers), pick(items)],
                14 => vec![pick(brands)],
                15..=16 => vec![pick(brands), pick(items)],
                17..=18 => vec![pick(modifiers), pick(modifiers), pick(items)],
                _ => vec![pick(items), String::new()],
            };
            if let Some(last) = text.last_mut().filter(|w| w.is_empty()) {
                *last = next(products).to_string();
            }
            if next(10) == 0 {
                // A typo: two neighbouring letters swapped.
                let w = &mut text[0];
                let mut chars: Vec<char> = w.chars().collect();
                if chars.len() >= 4 {
                    let at = 1 + next(chars.len() - 2);
                    chars.swap(at, at + 1);
                    *w = chars.into_iter().collect();
                }
            }
            let mut p = SearchParams {
                q: Some(text.join(" ")),
                per_page: Some("20".into()),
                ..Default::default()
            };
            match next(10) {
                0 => p.in_stock = Some("true".into()),
                1 => {
                    p.min_price = Some(next(500).to_string());
                    p.max_price = Some((500 + next(1500)).to_string());
                }
                _ => {}
            }
            if next(10) == 0 {
                p.sort = Some(["price_asc", "price_desc", "rating", "newest"][next(4)].into());
            }
            if next(10) == 0 {
                p.page = Some((2 + next(3)).to_string());
            }
            SearchQuery::parse(&p).unwrap_or_default()
        })
        .collect()
}

/// Latencies of one way of searching, one per query.
#[derive(Debug, Default)]
pub struct Latencies(pub Vec<Duration>);

impl Latencies {
    pub fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.0.clone();
        sorted.sort_unstable();
        if sorted.is_empty() {
            return Duration::ZERO;
        }
        let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted[at.min(sorted.len() - 1)]
    }
}

/// Times every query through the index path (words, typos, filters, top hits, facet counts,
/// snippets; no live stock) and through the bare baseline, interleaved so both see the same
/// machine, with the index path's time by stage. `None` when the index is not ready.
pub fn index_latencies(
    search: &Search,
    queries: &[SearchQuery],
) -> Option<(Latencies, Latencies, Vec<Stages>)> {
    let engine = search.engine()?;
    let mut ours = Latencies::default();
    let mut bare = Latencies::default();
    let mut stages = Vec::with_capacity(queries.len());
    let all = engine.fields.all;
    for q in queries {
        let started = Instant::now();
        let result = std::hint::black_box(answer(&engine, q, FirstStage::default()));
        ours.0.push(started.elapsed());
        stages.push(result.map(|a| a.stages).unwrap_or_default());

        let started = Instant::now();
        let searcher = engine.reader.searcher();
        let mut analyzer = super::schema::analyzer();
        let mut stream = analyzer.token_stream(&q.text);
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        while let Some(token) = stream.next() {
            clauses.push((
                Occur::Should,
                Box::new(TermQuery::new(
                    Term::from_field_text(all, &token.text),
                    IndexRecordOption::WithFreqs,
                )),
            ));
        }
        let query = BooleanQuery::new(clauses);
        let _ = std::hint::black_box(
            searcher.search(&query, &TopDocs::with_limit(20).order_by_score()),
        );
        bare.0.push(started.elapsed());
    }
    Some((ours, bare, stages))
}

/// What the index path answers to `q` through `stage` (no live stock), with why each hit is
/// where it is: how the equivalence test compares the fast first stage with the plain one.
/// `None` when the index is not ready.
pub fn ranked(
    search: &Search,
    q: &SearchQuery,
    stage: FirstStage,
) -> Option<tantivy::Result<(SearchResults, Vec<Rank>)>> {
    let engine = search.engine()?;
    Some(answer(&engine, q, stage).map(|answer| (answer.results, answer.ranks)))
}
