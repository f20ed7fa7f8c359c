//! The seam between a search and the code that finds its matches: the first stage (match
//! every product the words and filters allow, count their facets, keep the best by the cheap
//! score, or the page by a sort order) and the rerank of those best by the full query.
//!
//! Two stages stand behind it and answer alike:
//! - [`FirstStage::Fast`], the shop's own. Common words are answered from bitsets (`dense`),
//!   facets are counted from codes packed per segment (`counts`), one collector filters,
//!   counts and keeps the best in a single pass (`rank`), and the rerank asks each part of the
//!   full query only about the products it scores (`rank::Danger`). It is written against
//!   Tantivy's internals (scorers, postings, BM25 weights, reader warmers), which is where its
//!   speed comes from (BENCHMARKS.md, "Search latency at a million products") and what an
//!   upgrade of Tantivy can break: docs/ARCHITECTURE.md lists each internal it relies on.
//! - [`FirstStage::Plain`]: the same ranking through Tantivy's own query types and collectors
//!   (term and Boolean queries, `TopDocs`, aggregations; see `plain`). It is several times
//!   slower, and only Tantivy's public behaviour can change under it. The equivalence test
//!   (`shop/tests/it/search_paths.rs`) holds the fast stage to it on the benchmark query log,
//!   and it is the fallback while the fast stage is mended after an upgrade: make it the
//!   default below.
//!
//! The ranking both compute is defined by the cheap form of the words (`query::build`) and by
//! these rules, which the plain stage spells out with public types:
//! - where words are intersected, a word in at least a thirty-second of the documents counts
//!   as if it were in each of its documents once (BM25 with the document's length but a
//!   frequency of one: see `dense`); elsewhere by its frequency;
//! - products in stock score [`rank::IN_STOCK_BONUS`] more than any that are not;
//! - equal keys go to the lower document address, in both stages and in the rerank's blocks.
//!
//! The fast stage judges a word's commonness per segment, the plain one over the whole index:
//! they agree exactly on an index of one segment (what a rebuild leaves, and what the
//! equivalence test searches), and an index that has grown segments since may rank a few
//! products differently in the plain stage.

use super::counts::{Counted, Counts, SortColumns};
use super::dense::{DenseAllQuery, DenseTermQuery};
use super::engine::Engine;
use super::plain;
use super::query::{Filters, keep};
use super::rank::{self, Ranked, Reranked};
use super::types::{SearchQuery, SearchSort};
use std::sync::Arc;
use tantivy::collector::{Collector, TopDocs};
use tantivy::columnar::ColumnValues;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocAddress, DocId, Score, Searcher, SegmentReader, Term};

/// Which first stage a search runs (see the module's notes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FirstStage {
    /// The shop's own, against Tantivy's internals: what every search uses.
    #[default]
    Fast,
    /// Tantivy's own query types and collectors only.
    Plain,
}

impl FirstStage {
    /// A candidate word, boosted by `boost`, where words are intersected.
    pub(super) fn term(
        self,
        searcher: &Searcher,
        engine: &Engine,
        term: Term,
        boost: Score,
    ) -> Box<dyn Query> {
        match self {
            FirstStage::Fast => Box::new(DenseTermQuery {
                term,
                boost,
                words: engine.dense.clone(),
            }),
            FirstStage::Plain => plain::term(searcher, term, boost),
        }
    }

    /// Words of one candidate each, all required, each boosted.
    pub(super) fn all_of(
        self,
        searcher: &Searcher,
        engine: &Engine,
        terms: Vec<(Term, Score)>,
    ) -> Box<dyn Query> {
        match self {
            FirstStage::Fast => Box::new(DenseAllQuery {
                terms,
                words: engine.dense.clone(),
            }),
            FirstStage::Plain => Box::new(BooleanQuery::new(
                terms
                    .into_iter()
                    .map(|(term, boost)| (Occur::Must, plain::term(searcher, term, boost)))
                    .collect(),
            )),
        }
    }

    /// A filter's term (its score is not used).
    pub(super) fn filter(self, engine: &Engine, term: Term) -> Box<dyn Query> {
        match self {
            FirstStage::Fast => Box::new(DenseTermQuery {
                term,
                boost: 1.0,
                words: engine.dense.clone(),
            }),
            FirstStage::Plain => Box::new(TermQuery::new(term, IndexRecordOption::Basic)),
        }
    }

    /// By relevance, which of the filters the query holds: the fast stage checks "in stock"
    /// and a price range on each match instead (see `rank::Keep`).
    pub(super) fn relevance_filters(self) -> Filters {
        match self {
            FirstStage::Fast => Filters::ButKept,
            FirstStage::Plain => Filters::All,
        }
    }

    /// By relevance: every facet of `matches` counted, and the best `limit` by the cheap score,
    /// those in stock first, ties to the lower address. `matches` holds the filters
    /// [`Self::relevance_filters`] names; the rest of `q`'s are applied here.
    pub(super) fn best_and_counts(
        self,
        searcher: &Searcher,
        engine: &Engine,
        matches: &dyn Query,
        q: &SearchQuery,
        limit: usize,
    ) -> tantivy::Result<(Vec<Ranked>, Counted)> {
        match self {
            FirstStage::Fast => {
                rank::page_and_counts(searcher, &engine.codes, matches, &keep(q), limit)
            }
            FirstStage::Plain => plain::best_and_counts(searcher, matches, limit),
        }
    }

    /// By a sort order (or with no words): `q`'s page of `matches` and every facet count.
    pub(super) fn sorted_and_counts(
        self,
        searcher: &Searcher,
        engine: &Engine,
        matches: &dyn Query,
        q: &SearchQuery,
    ) -> tantivy::Result<(Vec<(Key, DocAddress)>, Counted)> {
        match self {
            FirstStage::Fast => {
                let codes = engine.codes.clone();
                let page = top_docs(q, move |segment| codes.columns(segment));
                searcher.search(matches, &(page, Counts(&engine.codes)))
            }
            FirstStage::Plain => plain::sorted_and_counts(searcher, matches, q),
        }
    }

    /// The first stage's products reordered by the full query's `parts`, block by block.
    pub(super) fn rerank(
        self,
        searcher: &Searcher,
        parts: &[Box<dyn Query>],
        ranked: &[Ranked],
    ) -> tantivy::Result<Vec<Reranked>> {
        match self {
            FirstStage::Fast => rank::rerank::<rank::Danger>(searcher, parts, ranked),
            FirstStage::Plain => rank::rerank::<plain::Seek>(searcher, parts, ranked),
        }
    }
}

/// The sort key: in-stock first, then the chosen order.
pub type Key = (u64, f64);

/// The page by a sort key read from fast fields: for every order but relevance with words
/// (which goes by score alone; see `query::run`). `columns` opens a segment's columns (the
/// fast stage keeps them open beside its facet codes).
pub fn top_docs<C>(
    q: &SearchQuery,
    columns: C,
) -> impl Collector<Fruit = Vec<(Key, DocAddress)>> + use<C>
where
    C: Fn(&SegmentReader) -> SortColumns + Send + Sync + 'static,
{
    let per_page = usize::try_from(q.per_page).unwrap_or(24);
    let offset = usize::try_from(q.page.saturating_sub(1)).unwrap_or(0) * per_page;
    let sort = q.sort;
    TopDocs::with_limit(per_page)
        .and_offset(offset)
        .tweak_score(move |segment: &SegmentReader| {
            let columns = columns(segment);
            move |doc: DocId, score: Score| -> Key {
                let get = |c: &Option<Arc<dyn ColumnValues<u64>>>| {
                    c.as_ref().map_or(0, |c| c.get_val(doc))
                };
                let available = get(&columns.in_stock);
                let key = match sort {
                    SearchSort::Relevance | SearchSort::Rating => {
                        get(&columns.rating) as f64 + f64::from(score) * 1e-6
                    }
                    SearchSort::PriceAsc => -(get(&columns.price) as f64),
                    SearchSort::PriceDesc => get(&columns.price) as f64,
                    SearchSort::Newest => {
                        columns.created.as_ref().map_or(0, |c| c.get_val(doc)) as f64
                    }
                };
                (available, key)
            }
        })
}
