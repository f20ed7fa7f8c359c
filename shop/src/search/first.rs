//! The first stage's common case in one loop: every word required (a search of one or two
//! words, or more when all must match), with any filters.
//!
//! Through Tantivy's scorer tree each match costs a dynamically dispatched call per scorer to
//! seek and another to score, then one into the collector; a two-word search matching twenty
//! thousand products spent most of its first stage there. Here the words' postings and
//! bitsets are walked by one monomorphic loop (the rarest word leads, the others are sought
//! to its documents), and the matches reach the counts in batches.
//!
//! It matches, scores and counts as the general path does (`query::match_query` and
//! `query::filters` through `rank::PageAndCounts`): the same terms with the same BM25
//! weights, a dense word answered from the same bitset and scored as if once in the
//! document (when words are intersected), filters scoring nothing. Only the order in which a
//! document's parts are added up can differ. A test compares the two on every query shape.

use super::counts::Counted;
use super::dense::{BITSET_COST, Bits};
use super::engine::Engine;
use super::query::{Filter, Word, required};
use super::rank::{PageAndCounts, Ranked};
use super::types::SearchQuery;
use std::sync::Arc;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::ColumnValues;
use tantivy::postings::{Postings, SegmentPostings};
use tantivy::query::Bm25Weight;
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, DocSet, Score, Searcher, SegmentOrdinal, SegmentReader, TERMINATED, Term};

/// Matches handed to the counts at once.
const BATCH: usize = 64;

/// The best `limit` matches by the cheap score (in stock first) and every facet count, as
/// [`super::rank::page_and_counts`] finds them; `None` when the query is not of the shape
/// this path serves (some words optional, or no words).
pub fn page_and_counts(
    engine: &Engine,
    searcher: &Searcher,
    q: &SearchQuery,
    words: &[Word],
    relaxed: bool,
    limit: usize,
) -> tantivy::Result<Option<(Vec<Ranked>, Counted)>> {
    let usable: Vec<&Word> = words.iter().filter(|w| !w.candidates.is_empty()).collect();
    let n = usable.len();
    if n == 0 || required(n, relaxed) != n {
        return Ok(None);
    }
    // As in `match_query`: common words come from bitsets only where words are intersected.
    let intersected = n >= 2;
    let all = engine.fields.all;
    let words = usable
        .iter()
        .map(|word| {
            word.candidates
                .iter()
                .map(|(text, weight)| {
                    let term = Term::from_field_text(all, text);
                    let bm25 = Bm25Weight::for_terms(searcher, std::slice::from_ref(&term))?
                        .boost_by(*weight);
                    Ok((term, bm25))
                })
                .collect::<tantivy::Result<Vec<_>>>()
        })
        .collect::<tantivy::Result<Vec<_>>>()?;
    let filters = Filter::of(engine, q);
    let collector = PageAndCounts {
        codes: &engine.codes,
        limit,
    };
    let fruits = searcher
        .segment_readers()
        .iter()
        .enumerate()
        .map(|(ord, reader)| {
            let ord = SegmentOrdinal::try_from(ord).unwrap_or(SegmentOrdinal::MAX);
            segment(
                engine,
                &collector,
                ord,
                reader,
                &words,
                intersected,
                &filters,
            )
        })
        .collect::<tantivy::Result<Vec<_>>>()?;
    collector.merge_fruits(fruits).map(Some)
}

/// One segment's matches, scored and counted.
fn segment(
    engine: &Engine,
    collector: &PageAndCounts,
    ord: SegmentOrdinal,
    reader: &SegmentReader,
    words: &[Vec<(Term, Bm25Weight)>],
    intersected: bool,
    filters: &[Filter],
) -> tantivy::Result<(Vec<Ranked>, Counted)> {
    let mut collect = collector.for_segment(ord, reader)?;
    let mut clauses = Vec::with_capacity(words.len() + filters.len());
    for word in words {
        let mut terms = Vec::with_capacity(word.len());
        for (term, bm25) in word {
            if let Some(cursor) = Cursor::open(engine, reader, term, intersected, true)? {
                terms.push((cursor, Some(bm25.clone())));
            }
        }
        clauses.push(Clause::new(terms));
    }
    let columns = engine.codes.columns(reader);
    let mut bounds = Vec::new();
    for filter in filters {
        match filter {
            Filter::Term(term) => {
                let cursor = Cursor::open(engine, reader, term, true, false)?;
                clauses.push(Clause::new(cursor.into_iter().map(|c| (c, None)).collect()));
            }
            Filter::Price(lower, upper) => bounds.push(Bounds {
                values: lower.unwrap_or(0)..=upper.unwrap_or(u64::MAX),
                column: columns.price.clone(),
            }),
            Filter::Rating(least) => bounds.push(Bounds {
                values: *least..=u64::MAX,
                column: columns.rating.clone(),
            }),
        }
    }
    if clauses.iter().any(|c| c.doc == TERMINATED) {
        return Ok(collect.harvest());
    }
    clauses.sort_by_key(Clause::cost);
    let norms = reader.get_fieldnorms_reader(engine.fields.all)?;
    let alive = reader.alive_bitset();
    let mut batch: Vec<(DocId, Score)> = Vec::with_capacity(BATCH);
    let mut target: DocId = 0;
    'matches: loop {
        let (lead, others) = clauses.split_at_mut(1);
        let doc = lead[0].seek(target);
        if doc == TERMINATED {
            break;
        }
        for clause in others.iter_mut() {
            let at = clause.seek(doc);
            if at != doc {
                target = at;
                continue 'matches;
            }
        }
        target = doc + 1;
        if alive.is_some_and(|a| a.is_deleted(doc)) || !bounds.iter().all(|b| b.contain(doc)) {
            continue;
        }
        let norm = norms.fieldnorm_id(doc);
        let score = clauses.iter().map(|c| c.score(norm)).sum();
        batch.push((doc, score));
        if batch.len() == BATCH {
            for (doc, score) in batch.drain(..) {
                collect.collect(doc, score);
            }
        }
    }
    for (doc, score) in batch {
        collect.collect(doc, score);
    }
    Ok(collect.harvest())
}

/// Bounds on a number read from a fast column, both included.
struct Bounds {
    values: std::ops::RangeInclusive<u64>,
    /// `None` when the segment lacks the column: nothing there is within bounds, as for a
    /// range query.
    column: Option<Arc<dyn ColumnValues<u64>>>,
}

impl Bounds {
    fn contain(&self, doc: DocId) -> bool {
        self.column
            .as_ref()
            .is_some_and(|c| self.values.contains(&c.get_val(doc)))
    }
}

/// One term's documents in a segment: its bitset where it is dense, else its postings.
// Kept inline, not boxed: a search has a few cursors, and the loop reads them at every match.
#[allow(clippy::large_enum_variant)]
enum Cursor {
    Bits { bits: Arc<Bits>, doc: DocId },
    Postings(SegmentPostings),
}

impl Cursor {
    /// `None` when the segment lacks the term. `dense`: a bitset may answer it.
    fn open(
        engine: &Engine,
        reader: &SegmentReader,
        term: &Term,
        dense: bool,
        scored: bool,
    ) -> tantivy::Result<Option<Cursor>> {
        if dense && let Some(bits) = engine.dense.of(reader, term)? {
            let doc = bits.next_from(0);
            return Ok(Some(Cursor::Bits { bits, doc }));
        }
        let option = if scored {
            IndexRecordOption::WithFreqs
        } else {
            IndexRecordOption::Basic
        };
        Ok(reader
            .inverted_index(term.field())?
            .read_postings(term, option)?
            .map(Cursor::Postings))
    }

    #[inline(always)]
    fn doc(&self) -> DocId {
        match self {
            Cursor::Bits { doc, .. } => *doc,
            Cursor::Postings(postings) => postings.doc(),
        }
    }

    /// Moves to the first document at or after `target` (never back).
    #[inline(always)]
    fn seek(&mut self, target: DocId) -> DocId {
        match self {
            Cursor::Bits { bits, doc } => {
                if *doc < target {
                    *doc = bits.next_from(target);
                }
                *doc
            }
            Cursor::Postings(postings) => {
                let doc = postings.doc();
                if doc >= target {
                    doc
                } else if doc + 1 == target {
                    // The next document: cheaper than a seek, which searches the block.
                    postings.advance()
                } else {
                    postings.seek(target)
                }
            }
        }
    }

    /// How often the term is in the current document (once, from a bitset).
    #[inline(always)]
    fn term_freq(&self) -> u32 {
        match self {
            Cursor::Bits { .. } => 1,
            Cursor::Postings(postings) => postings.term_freq(),
        }
    }

    /// As Tantivy orders an intersection: the shortest list leads, bitsets come last.
    fn cost(&self) -> u64 {
        match self {
            Cursor::Bits { bits, .. } => BITSET_COST + u64::from(bits.len()),
            Cursor::Postings(postings) => u64::from(postings.doc_freq()),
        }
    }
}

/// What a match must have: any of a word's candidate terms, or a filter's one term.
struct Clause {
    /// The terms, each with its weight (`None`: a filter, which scores nothing).
    terms: Vec<(Cursor, Option<Bm25Weight>)>,
    /// The first document of any term at or after the last target.
    doc: DocId,
}

impl Clause {
    fn new(terms: Vec<(Cursor, Option<Bm25Weight>)>) -> Clause {
        let doc = terms
            .iter()
            .map(|(c, _)| c.doc())
            .min()
            .unwrap_or(TERMINATED);
        Clause { terms, doc }
    }

    fn cost(&self) -> u64 {
        self.terms.iter().map(|(c, _)| c.cost()).sum()
    }

    #[inline(always)]
    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc < target {
            self.doc = match self.terms.as_mut_slice() {
                [(only, _)] => only.seek(target),
                terms => terms
                    .iter_mut()
                    .map(|(c, _)| c.seek(target))
                    .min()
                    .unwrap_or(TERMINATED),
            };
        }
        self.doc
    }

    /// The sum of the terms in the current document, by the document's length `norm`.
    #[inline(always)]
    fn score(&self, norm: u8) -> Score {
        if let [(only, weight)] = self.terms.as_slice() {
            return weight
                .as_ref()
                .map_or(0.0, |w| w.score(norm, only.term_freq()));
        }
        self.terms
            .iter()
            .filter(|(c, _)| c.doc() == self.doc)
            .map(|(c, bm25)| bm25.as_ref().map_or(0.0, |w| w.score(norm, c.term_freq())))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::CategoryPath;
    use crate::search::engine::Location;
    use crate::search::query::{match_query, matching, words};
    use crate::search::rank;
    use crate::search::types::SearchSort;
    use tantivy::TantivyDocument;
    use tantivy::schema::Facet;

    /// Two segments of products whose words are of every density (some in most products,
    /// some in few, some twice in a product), with deletes.
    fn engine() -> Engine {
        let (engine, _) = Engine::open(&Location::Ram).unwrap();
        let f = &engine.fields;
        let mut writer: tantivy::IndexWriter =
            engine.index.writer_with_num_threads(1, 30_000_000).unwrap();
        let pick = |options: &[&'static str], i: u64, by: u64| {
            options[((i / by) % options.len() as u64) as usize]
        };
        for i in 0..4000u64 {
            let color = pick(&["red", "blue", "green"], i, 1);
            let item = pick(&["chair", "table", "sofa", "lamp", "rug"], i, 3);
            let material = pick(&["wooden", "metal", "rattan", "glass"], i, 7);
            let rare = if i % 97 == 0 { " antique" } else { "" };
            let twice = if i % 5 == 0 {
                format!(" {item}")
            } else {
                String::new()
            };
            let filler = "nice ".repeat((i % 4) as usize);
            let text = format!("{color} {material} {item}{twice}{rare} {filler}");
            let category = match item {
                "lamp" => "lighting/lamps",
                "rug" => "decor/rugs",
                _ => "furniture/seating",
            };
            let brand = pick(&["acme", "globex", "initech"], i, 11);
            let mut doc = TantivyDocument::default();
            doc.add_u64(f.product_id, i + 1);
            doc.add_text(f.title, &text);
            doc.add_text(f.all, &text);
            doc.add_text(f.all_raw, &text);
            doc.add_facet(f.category_facet, Facet::from_path(category.split('/')));
            doc.add_text(f.category_key, category);
            doc.add_facet(f.brand_facet, Facet::from_path([brand]));
            doc.add_text(f.brand_key, brand);
            doc.add_u64(f.price, (i * 7919) % 100_000);
            doc.add_u64(f.rating, i % 6);
            doc.add_u64(f.in_stock, u64::from(i % 4 != 0));
            doc.add_i64(f.created_at, i as i64);
            writer.add_document(doc).unwrap();
            if i == 2500 {
                writer.commit().unwrap();
            }
        }
        writer.commit().unwrap();
        for id in [3u64, 10, 2600, 2601, 3999] {
            writer.delete_term(Term::from_field_u64(f.product_id, id));
        }
        writer.commit().unwrap();
        engine.reader.reload().unwrap();
        engine
    }

    fn query(text: &str) -> SearchQuery {
        SearchQuery {
            text: text.into(),
            sort: SearchSort::Relevance,
            page: 1,
            per_page: 20,
            ..SearchQuery::default()
        }
    }

    /// The one loop finds, scores and counts what Tantivy's scorers do, for every shape it
    /// serves, and declines the others.
    #[test]
    fn the_loop_matches_scores_and_counts_like_the_scorer_tree() {
        let engine = engine();
        let searcher = engine.reader.searcher();
        assert_eq!(searcher.segment_readers().len(), 2);
        let mut filtered = Vec::new();
        for text in [
            "red chair",
            "chair",
            "blue",
            "antique lamp",
            "green rug",
            "chiar",
            "red",
        ] {
            filtered.push(query(text));
            filtered.push(SearchQuery {
                in_stock: true,
                ..query(text)
            });
            filtered.push(SearchQuery {
                min_price: Some(20_000),
                max_price: Some(60_000),
                ..query(text)
            });
            filtered.push(SearchQuery {
                category: Some(CategoryPath::parse("furniture").unwrap()),
                brand: Some("globex".into()),
                min_rating: Some(2),
                ..query(text)
            });
        }
        let mut served = 0;
        for q in &filtered {
            let words = words(&searcher, &engine, &q.text, false);
            for relaxed in [false, true] {
                for limit in [5, 10_000] {
                    let Some((ours, our_counts)) =
                        page_and_counts(&engine, &searcher, q, &words, relaxed, limit).unwrap()
                    else {
                        continue;
                    };
                    served += 1;
                    let matches =
                        matching(&engine, q, &words, match_query(&engine, &words, relaxed));
                    let (theirs, their_counts) =
                        rank::page_and_counts(&searcher, &engine.codes, matches.as_ref(), limit)
                            .unwrap();
                    let what = format!("{q:?} relaxed {relaxed} limit {limit}");
                    assert_eq!(our_counts.matched, their_counts.matched, "{what}");
                    assert_eq!(our_counts.categories, their_counts.categories, "{what}");
                    assert_eq!(our_counts.brands, their_counts.brands, "{what}");
                    assert_eq!(our_counts.bands, their_counts.bands, "{what}");
                    assert_eq!(our_counts.available, their_counts.available, "{what}");
                    assert_eq!(ours.len(), theirs.len(), "{what}");
                    // The same scores in the same order (parts may be added up in another
                    // order, so equal within rounding).
                    for ((a, _), (b, _)) in ours.iter().zip(&theirs) {
                        assert!((a - b).abs() <= 1e-3, "{what}: {a} vs {b}");
                    }
                    if limit == 10_000 {
                        let mut a: Vec<_> = ours.iter().map(|(_, d)| *d).collect();
                        let mut b: Vec<_> = theirs.iter().map(|(_, d)| *d).collect();
                        a.sort();
                        b.sort();
                        assert_eq!(a, b, "{what}");
                    }
                }
            }
        }
        assert!(served >= 40, "the loop served {served} of the searches");
        // Three words with one optional are for the scorer tree.
        let q = query("red wooden chair");
        let words = words(&searcher, &engine, &q.text, false);
        assert!(
            page_and_counts(&engine, &searcher, &q, &words, false, 10)
                .unwrap()
                .is_none()
        );
    }
}
