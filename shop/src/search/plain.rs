//! The plain first stage: the fast stage's ranking and counts through nothing but Tantivy's
//! own query types and collectors, to hold the fast stage to (the equivalence test) and to
//! fall back on while it is mended after an upgrade (see `first_stage`).
//!
//! Where the fast stage answers a common word from a bitset and scores it as if once in each
//! document, a term query that reads no frequencies does the same from the posting list (its
//! frequencies read as one); where it checks "in stock" and a price range on each match, the
//! query holds them; where it keeps the best in its own buffer, `TopDocs` keeps them (equal
//! keys to the lower address, as there); where it counts facets from packed codes, an
//! aggregation counts them from the fast columns; and the rerank asks each part with an
//! ordinary seek.

use super::counts::{Counted, PRICE_BANDS, SortColumns};
use super::dense::is_dense;
use super::first_stage::{Key, top_docs};
use super::rank::{Asking, IN_STOCK_BONUS, Ranked};
use super::types::SearchQuery;
use serde_json::{Value, json};
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::agg_result::AggregationResults;
use tantivy::aggregation::{AggContextParams, AggregationCollector, DEFAULT_BUCKET_LIMIT};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BoostQuery, Query, Scorer, TermQuery, Weight};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocAddress, DocId, Score, Searcher, SegmentReader, TantivyError, Term};

/// A candidate word where words are intersected, boosted by `boost`: by its frequency in each
/// document, or, where it is common in the index, as if once in each (frequencies not read).
pub fn term(searcher: &Searcher, term: Term, boost: Score) -> Box<dyn Query> {
    let documents: u32 = searcher.segment_readers().iter().map(|s| s.max_doc()).sum();
    // A dictionary that cannot be read now fails the search when the query runs; until then
    // the word is taken for a rare one.
    let found = searcher.doc_freq(&term).unwrap_or(0);
    let common = is_dense(u32::try_from(found).unwrap_or(u32::MAX), documents);
    let frequencies = if common {
        IndexRecordOption::Basic
    } else {
        IndexRecordOption::WithFreqs
    };
    Box::new(BoostQuery::new(
        Box::new(TermQuery::new(term, frequencies)),
        boost,
    ))
}

/// By relevance: the best `limit` matches by score, those in stock first, and every count.
pub fn best_and_counts(
    searcher: &Searcher,
    matches: &dyn Query,
    limit: usize,
) -> tantivy::Result<(Vec<Ranked>, Counted)> {
    let best = TopDocs::with_limit(limit).tweak_score(|segment: &SegmentReader| {
        let in_stock = SortColumns::open(segment).in_stock;
        move |doc: DocId, score: Score| {
            if in_stock.as_ref().is_some_and(|c| c.get_val(doc) > 0) {
                score + IN_STOCK_BONUS
            } else {
                score
            }
        }
    });
    let (best, matched, counts) = searcher.search(matches, &(best, Count, counting()?))?;
    Ok((best, counted(matched, counts)?))
}

/// By a sort order: `q`'s page and every count.
pub fn sorted_and_counts(
    searcher: &Searcher,
    matches: &dyn Query,
    q: &SearchQuery,
) -> tantivy::Result<(Vec<(Key, DocAddress)>, Counted)> {
    let page = top_docs(q, SortColumns::open);
    let (page, matched, counts) = searcher.search(matches, &(page, Count, counting()?))?;
    Ok((page, counted(matched, counts)?))
}

/// Every facet the fast stage counts, as aggregations: the leaf categories and the brands by
/// their fast columns (every value: a count cut short is an error, not a smaller facet), the
/// price bands, and the products in stock.
fn counting() -> tantivy::Result<AggregationCollector> {
    let every = |field: &str| json!({"terms": {"field": field, "size": DEFAULT_BUCKET_LIMIT, "segment_size": DEFAULT_BUCKET_LIMIT}});
    let bands: Vec<Value> = PRICE_BANDS
        .iter()
        .map(|(low, high)| match high {
            Some(high) => json!({"from": low, "to": high}),
            None => json!({"from": low}),
        })
        .collect();
    let request = json!({
        "categories": every("category_key"),
        "brands": every("brand_key"),
        "bands": {"range": {"field": "price", "ranges": bands}},
        "in_stock": {"range": {"field": "in_stock", "ranges": [{"to": 1}, {"from": 1}]}},
    });
    let aggregations: Aggregations = serde_json::from_value(request)
        .map_err(|e| TantivyError::InvalidArgument(format!("facet aggregations: {e}")))?;
    Ok(AggregationCollector::from_aggs(
        aggregations,
        AggContextParams::default(),
    ))
}

/// The aggregations' answer as the fast stage's counts.
fn counted(matched: usize, results: AggregationResults) -> tantivy::Result<Counted> {
    let wrong = |what: &str| TantivyError::InternalError(format!("facet aggregations: {what}"));
    let results = serde_json::to_value(results).map_err(|e| wrong(&e.to_string()))?;
    let buckets = |name: &str| -> tantivy::Result<&Vec<Value>> {
        results[name]["buckets"]
            .as_array()
            .ok_or_else(|| wrong(&format!("no buckets for {name}")))
    };
    let count = |bucket: &Value| bucket["doc_count"].as_u64().unwrap_or(0);
    let terms = |name: &str| -> tantivy::Result<_> {
        if results[name]["sum_other_doc_count"].as_u64() != Some(0) {
            return Err(wrong(&format!("more {name} than counted")));
        }
        Ok(buckets(name)?
            .iter()
            .filter_map(|b| Some((b["key"].as_str()?.to_string(), count(b))))
            .collect())
    };
    // A range's buckets by where they start (the first has no start).
    let from = |low: u64| move |b: &&Value| b["from"].as_f64().unwrap_or(0.0) == low as f64;
    let mut bands = [0; PRICE_BANDS.len()];
    for (band, (low, _)) in bands.iter_mut().zip(PRICE_BANDS) {
        *band = buckets("bands")?.iter().find(from(low)).map_or(0, count);
    }
    Ok(Counted {
        matched: matched as u64,
        categories: terms("categories")?,
        brands: terms("brands")?,
        bands,
        available: buckets("in_stock")?.iter().find(from(1)).map_or(0, count),
    })
}

/// Asks with the ordinary seek: a scorer moves to the product, or past it when it lacks it.
pub struct Seek;

impl Asking for Seek {
    fn open(
        weight: &dyn Weight,
        reader: &SegmentReader,
        first: DocId,
    ) -> tantivy::Result<(bool, Box<dyn Scorer>)> {
        let mut scorer = weight.scorer(reader, 1.0)?;
        let has = Self::has(scorer.as_mut(), first);
        Ok((has, scorer))
    }

    fn has(scorer: &mut dyn Scorer, doc: DocId) -> bool {
        let at = if scorer.doc() < doc {
            scorer.seek(doc)
        } else {
            scorer.doc()
        };
        at == doc
    }
}
