//! Running a search: from the shopper's text to a page of documents with their snippets, the
//! total and the facet counts, through the first stage it is given (see `first_stage`); and
//! the two lookups beside it, autocomplete titles and similar products.
//!
//! A result must match most of the words (see `build`) unless that finds less than a page,
//! when any word will do (products matching more of the words then score more). BM25 orders
//! the results, with a bonus for the title matching as a phrase, and products that are out of
//! stock rank after those that are not, whatever the order. By relevance this runs in two
//! stages: a cheap one-field form of the words matches and counts, and the full form reranks
//! its best (see `rank`).

use super::build::{self, Filters};
use super::words::{Word, words};
use crate::search::counts::{Counted, PRICE_BANDS};
use crate::search::engine::Engine;
use crate::search::first_stage::FirstStage;
use crate::search::highlight::Highlighter;
use crate::search::rank;
use crate::search::types::{FacetValue, Facets, SearchQuery, SearchSort};
use std::cell::Cell;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tantivy::collector::TopDocs;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, MoreLikeThisQuery, Occur, Query, TermQuery,
};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{DocAddress, Score, TantivyDocument, Term};

/// What one search run found, before live stock is added.
pub struct Found {
    pub total: u64,
    pub docs: Vec<(DocAddress, TantivyDocument)>,
    /// Why each of `docs` is where it is.
    pub ranks: Vec<Rank>,
    pub facets: Facets,
    pub did_you_mean: Option<String>,
    pub title_snippets: Vec<String>,
    pub description_snippets: Vec<String>,
    /// Where the time went (for `tools bench search`).
    pub stages: Stages,
}

/// What put a hit where it is on its page: the keys its order compared, for comparing two
/// first stages (see the equivalence test).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rank {
    /// By relevance with words: the first stage's key (the cheap score, plus the in-stock
    /// bonus) placed the product in a block of the first stage's order ([`rank::BLOCK`]
    /// products each); the full key (the full query's score, plus the same bonus) ordered the
    /// block, equal full keys keeping the first stage's order.
    Relevance {
        block: usize,
        first: Score,
        full: Score,
    },
    /// By a sort order, or without words: in stock first, then the order's value (higher
    /// first; equal keys to the lower document address).
    Sorted { available: u64, key: f64 },
}

/// How long each stage of a search run took.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stages {
    /// Reading the words: stems, corrections, synonyms (term dictionary lookups).
    pub words: Duration,
    /// Matching and counting every match, keeping the best by the cheap score (both tries,
    /// when the first found too little).
    pub first: Duration,
    /// Reranking the kept products with the full query.
    pub rerank: Duration,
    /// The page's stored documents and their highlighted snippets.
    pub documents: Duration,
}

/// Below this many results for "most words", a search relaxes to "any word".
const RELAX_BELOW: usize = 10;

/// Runs `q` against the engine through `stage`: a page of documents, the total, facet
/// counts, snippets.
pub fn run(engine: &Engine, q: &SearchQuery, stage: FirstStage) -> tantivy::Result<Found> {
    let started = Instant::now();
    let searcher = engine.reader.searcher();
    let words = words(&searcher, engine, &q.text, false);
    let mut stages = Stages {
        words: started.elapsed(),
        ..Stages::default()
    };
    let rerank_took = Cell::new(Duration::ZERO);
    let per_page = usize::try_from(q.per_page).unwrap_or(24);
    let offset = usize::try_from(q.page.saturating_sub(1)).unwrap_or(0) * per_page;
    // One pass over every match counts the facets and keeps the best by the cheap score (or
    // the chosen order); by relevance, the full form then reranks those (see `rank`). The full
    // form scores products already known to match, so it needs no "most words" rule.
    let parts = build::text_parts(engine, &words);
    let search = |relaxed: bool| -> tantivy::Result<(Vec<(DocAddress, Rank)>, Counted)> {
        let text = build::match_query(&searcher, engine, stage, &words, relaxed);
        if q.sort == SearchSort::Relevance && !parts.is_empty() {
            let which = stage.relevance_filters();
            let matches = build::matching(engine, stage, q, &words, text, which);
            let limit = rank::window(offset, per_page);
            let (ranked, counted) =
                stage.best_and_counts(&searcher, engine, matches.as_ref(), q, limit)?;
            // Only the blocks from the page's own on matter.
            let first = (offset / rank::BLOCK * rank::BLOCK).min(ranked.len());
            let reranking = Instant::now();
            let order = stage.rerank(&searcher, &parts, &ranked[first..])?;
            rerank_took.set(rerank_took.get() + reranking.elapsed());
            let page = order
                .into_iter()
                .enumerate()
                .skip(offset - first)
                .take(per_page)
                .map(|(i, product)| {
                    let rank = Rank::Relevance {
                        block: (first + i) / rank::BLOCK,
                        first: product.first,
                        full: product.full,
                    };
                    (product.address, rank)
                })
                .collect();
            Ok((page, counted))
        } else {
            let matches = build::matching(engine, stage, q, &words, text, Filters::All);
            let (page, counted) =
                stage.sorted_and_counts(&searcher, engine, matches.as_ref(), q)?;
            let page = page
                .into_iter()
                .map(|((available, key), address)| (address, Rank::Sorted { available, key }))
                .collect();
            Ok((page, counted))
        }
    };
    // Most words first; when that finds too little to fill a first page, any word, ranked by
    // how much of the query each product matches (products matching more words score more).
    let searching = Instant::now();
    let mut found = search(false)?;
    if found.1.matched < RELAX_BELOW as u64 && words.len() > 1 {
        found = search(true)?;
    }
    stages.rerank = rerank_took.get();
    stages.first = searching.elapsed().saturating_sub(stages.rerank);
    let documents = Instant::now();
    let (page, counted) = found;
    let full = build::union(&parts);
    let query: &dyn Query = if parts.is_empty() { &AllQuery } else { &full };

    let mut title_gen = Highlighter::new(&searcher, query, engine.fields.title, 400)?;
    let mut description_gen = Highlighter::new(&searcher, query, engine.fields.description, 160)?;
    let mut docs = Vec::with_capacity(page.len());
    let mut ranks = Vec::with_capacity(page.len());
    let mut title_snippets = Vec::with_capacity(page.len());
    let mut description_snippets = Vec::with_capacity(page.len());
    for (address, rank) in page {
        let doc: TantivyDocument = searcher.doc(address)?;
        title_snippets.push(title_gen.html(&doc));
        description_snippets.push(description_gen.html(&doc));
        docs.push((address, doc));
        ranks.push(rank);
    }
    stages.documents = documents.elapsed();
    Ok(Found {
        total: counted.matched,
        docs,
        ranks,
        facets: facets(counted, q),
        did_you_mean: did_you_mean(&words),
        title_snippets,
        description_snippets,
        stages,
    })
}

/// The counts as the facets shown: categories one level below the one searched (the
/// departments at the top), the twenty brands with most results, the price bands that have
/// any, and how many are in stock.
fn facets(counted: Counted, q: &SearchQuery) -> Facets {
    let parent = q.category.as_ref().map(|c| c.as_str().to_string());
    let mut categories: Vec<FacetValue> = children_counts(&counted.categories, parent.as_deref())
        .into_iter()
        .map(|(value, count)| FacetValue {
            value,
            label: String::new(),
            count,
        })
        .collect();
    categories.sort_by(|a, b| b.count.cmp(&a.count).then(a.value.cmp(&b.value)));
    let mut brands: Vec<FacetValue> = counted
        .brands
        .into_iter()
        .map(|(name, count)| FacetValue {
            value: name.clone(),
            label: name,
            count,
        })
        .collect();
    brands.sort_by(|a, b| b.count.cmp(&a.count).then(a.value.cmp(&b.value)));
    brands.truncate(20);
    let unit = crate::Currency::shop().minor_per_major();
    let price_bands = PRICE_BANDS
        .iter()
        .zip(counted.bands)
        .filter(|(_, count)| *count > 0)
        .map(|((lo, hi), count)| FacetValue {
            value: format!(
                "{}-{}",
                lo / unit,
                hi.map(|h| (h / unit - 1).to_string()).unwrap_or_default()
            ),
            label: {
                let whole = crate::money::bound_label;
                match hi {
                    Some(h) => format!("{} – {}", whole(*lo), whole(*h)),
                    None => format!("{} and up", whole(*lo)),
                }
            },
            count,
        })
        .collect();
    Facets {
        categories,
        brands,
        price_bands,
        in_stock: counted.available,
    }
}

/// Rolls leaf-category counts up to the children of `parent` (the departments at the top).
fn children_counts(leaves: &HashMap<String, u64>, parent: Option<&str>) -> Vec<(String, u64)> {
    let mut out: HashMap<String, u64> = HashMap::new();
    for (path, n) in leaves {
        let rest = match parent {
            None => Some(path.as_str()),
            Some(p) => path.strip_prefix(p).and_then(|r| r.strip_prefix('/')),
        };
        if let Some(rest) = rest {
            let child = rest.split('/').next().unwrap_or(rest);
            let key = match parent {
                None => child.to_string(),
                Some(p) => format!("{p}/{child}"),
            };
            *out.entry(key).or_default() += n;
        }
    }
    out.into_iter().collect()
}

/// A word the index does not know was read as its closest real word: the words as read.
fn did_you_mean(words: &[Word]) -> Option<String> {
    words
        .iter()
        .any(|w| !w.known && w.correction.is_some())
        .then(|| {
            words
                .iter()
                .map(|w| w.correction.clone().unwrap_or_else(|| w.text.clone()))
                .collect::<Vec<_>>()
                .join(" ")
        })
}

/// Titles for autocomplete: products whose title has every typed word (the last as a
/// prefix), best first.
pub fn suggest_titles(
    engine: &Engine,
    text: &str,
    limit: usize,
) -> tantivy::Result<Vec<TantivyDocument>> {
    let searcher = engine.reader.searcher();
    let words = words(&searcher, engine, text, true);
    let usable: Vec<&Word> = words.iter().filter(|w| !w.candidates.is_empty()).collect();
    if usable.is_empty() || usable.len() < words.len() {
        return Ok(vec![]);
    }
    let clauses: Vec<(Occur, Box<dyn Query>)> = usable
        .iter()
        .map(|w| {
            let alternatives: Vec<(Occur, Box<dyn Query>)> = w
                .candidates
                .iter()
                .flat_map(|(c, weight)| {
                    [(engine.fields.title, 2.0), (engine.fields.brand, 1.0)].map(
                        |(field, boost)| {
                            let term = TermQuery::new(
                                Term::from_field_text(field, c),
                                IndexRecordOption::WithFreqs,
                            );
                            (
                                Occur::Should,
                                Box::new(BoostQuery::new(Box::new(term), boost * weight))
                                    as Box<dyn Query>,
                            )
                        },
                    )
                })
                .collect();
            (
                Occur::Must,
                Box::new(BooleanQuery::new(alternatives)) as Box<dyn Query>,
            )
        })
        .collect();
    let query = BooleanQuery::new(clauses);
    let top = searcher.search(&query, &TopDocs::with_limit(limit).order_by_score())?;
    top.into_iter().map(|(_, a)| searcher.doc(a)).collect()
}

/// Products like `product_id` by their words (more-like-this), best first.
pub fn similar(engine: &Engine, product_id: u64, limit: usize) -> tantivy::Result<Vec<u64>> {
    let searcher = engine.reader.searcher();
    let this = TermQuery::new(
        Term::from_field_u64(engine.fields.product_id, product_id),
        IndexRecordOption::Basic,
    );
    let Some((_, address)) = searcher
        .search(&this, &TopDocs::with_limit(1).order_by_score())?
        .into_iter()
        .next()
    else {
        return Ok(vec![]);
    };
    let query = MoreLikeThisQuery::builder()
        .with_min_doc_frequency(1)
        .with_max_doc_frequency(searcher.num_docs() / 2 + 1)
        .with_min_term_frequency(1)
        .with_min_word_length(3)
        .with_max_query_terms(16)
        .with_document(address);
    let top = searcher.search(&query, &TopDocs::with_limit(limit + 1).order_by_score())?;
    let mut ids = Vec::new();
    for (_, a) in top {
        let doc: TantivyDocument = searcher.doc(a)?;
        if let Some(id) = doc
            .get_first(engine.fields.product_id)
            .and_then(|v| v.as_u64())
            && id != product_id
        {
            ids.push(id);
        }
    }
    ids.truncate(limit);
    Ok(ids)
}
