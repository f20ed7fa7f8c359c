//! Query building: the words (see `words`) and the search's filters as Tantivy queries.
//!
//! Each word comes in two forms. The full form ([`text_parts`]) scores: the word summed over
//! the fields (title weighs most, then brand and class, then category, then description)
//! through each of its candidates, plus a bonus for the title holding the typed words as a
//! phrase. The cheap form ([`match_query`]) matches and counts: each word once, in the one
//! `all` field that holds every searched field's words, with "most of the words" required
//! (all of one or two, all but one of three, …) or, relaxed, any of them. The two forms match
//! the same products; by relevance the cheap one finds them and the full one reranks the best
//! (see `first_stage`). Where the cheap form's words are intersected, and for the filters'
//! terms, the first stage in use builds the leaves (`FirstStage::term` and friends); the
//! shape around them is built here, the same for both.

use super::words::{EXACT, Word};
use crate::catalog::CategoryPath;
use crate::search::engine::Engine;
use crate::search::first_stage::FirstStage;
use crate::search::rank;
use crate::search::types::SearchQuery;
use std::ops::Bound;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, EmptyQuery, Occur, PhraseQuery, Query,
    RangeQuery, TermQuery,
};
use tantivy::schema::{Facet, IndexRecordOption};
use tantivy::{Score, Searcher, Term};

/// How much a match in each field counts; a word's score is the sum over the fields it
/// matches (BM25F-like), not only the best one.
const FIELD_BOOSTS: [(&str, f32); 5] = [
    ("title", 3.0),
    ("brand", 2.0),
    ("class", 2.0),
    ("category", 1.5),
    ("description", 0.6),
];

/// The full form of the words, for scoring products already matched: each word against
/// each searched field (title weighs most, then brand and class, then category, then
/// description), through each of its candidates at the candidate's weight; and a bonus for
/// the words typed as they are standing together in the title. A product's score is the
/// sum of the parts it matches (BM25F-like: a word counts in every field it is in, not only
/// the best one). Empty when no word has a candidate.
///
/// The parts stay separate so that reranking can seek each one straight to a product: the
/// same parts under one union query would be summed alike, but a union seeking far ahead
/// refills a window of thousands of documents for every part.
pub fn text_parts(engine: &Engine, words: &[Word]) -> Vec<Box<dyn Query>> {
    let schema = engine.index.schema();
    let usable: Vec<&Word> = words.iter().filter(|w| !w.candidates.is_empty()).collect();
    let mut parts: Vec<Box<dyn Query>> = Vec::new();
    for word in &usable {
        for (field, boost) in FIELD_BOOSTS
            .iter()
            .filter_map(|(name, boost)| schema.get_field(name).ok().map(|f| (f, *boost)))
        {
            for (w, weight) in &word.candidates {
                let term = TermQuery::new(
                    Term::from_field_text(field, w),
                    IndexRecordOption::WithFreqs,
                );
                parts.push(Box::new(BoostQuery::new(Box::new(term), boost * weight)));
            }
        }
    }
    // Words next to each other in the title, as typed, earn a bonus.
    let exact: Vec<&str> = usable
        .iter()
        .filter(|w| {
            w.candidates
                .first()
                .is_some_and(|(_, weight)| *weight == EXACT)
        })
        .map(|w| w.stem.as_str())
        .collect();
    if exact.len() >= 2 {
        let terms: Vec<(usize, Term)> = exact
            .iter()
            .enumerate()
            .map(|(i, w)| (i, Term::from_field_text(engine.fields.title, w)))
            .collect();
        let phrase = PhraseQuery::new_with_offset_and_slop(terms, 2);
        parts.push(Box::new(BoostQuery::new(Box::new(phrase), 2.0)));
    }
    parts
}

/// The parts as one query (any part matches, their scores add up), for highlighting.
pub fn union(parts: &[Box<dyn Query>]) -> BooleanQuery {
    BooleanQuery::new(
        parts
            .iter()
            .map(|p| (Occur::Should, p.box_clone()))
            .collect(),
    )
}

/// How many of `n` words a product must match: all of one or two, all but one of three, …;
/// any one when relaxed.
fn required(n: usize, relaxed: bool) -> usize {
    if relaxed { 1 } else { (n - n / 3).max(1) }
}

/// The cheap form of [`text_parts`], for matching and counting: each word's candidates
/// against the one `all` field (which holds every searched field's words, analysed alike),
/// with as many words required. It matches exactly the products the full form matches;
/// only the scores differ, and the full form reranks the best of them (see `rank`).
///
/// Where words are intersected, `stage` makes each candidate's query and the intersection of
/// the words that have one candidate each: the fast stage answers common words from bitsets
/// (see `dense`), the plain one with term queries that score alike.
pub fn match_query(
    searcher: &Searcher,
    engine: &Engine,
    stage: FirstStage,
    words: &[Word],
    relaxed: bool,
) -> Option<Box<dyn Query>> {
    let all = engine.fields.all;
    let usable = words.iter().filter(|w| !w.candidates.is_empty()).count();
    let intersected = usable >= 2 && required(usable, relaxed) >= 2;
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = words
        .iter()
        .filter(|w| !w.candidates.is_empty())
        .map(|word| {
            let mut terms: Vec<Box<dyn Query>> = word
                .candidates
                .iter()
                .map(|(w, weight)| {
                    let term = Term::from_field_text(all, w);
                    if intersected {
                        return stage.term(searcher, engine, term, *weight);
                    }
                    let term = TermQuery::new(term, IndexRecordOption::WithFreqs);
                    // A boost is folded into the term's scorer, which stays a term scorer
                    // to Tantivy (so block-max WAND still applies); a weight of one needs
                    // no wrapper.
                    if *weight == EXACT {
                        Box::new(term) as Box<dyn Query>
                    } else {
                        Box::new(BoostQuery::new(Box::new(term), *weight))
                    }
                })
                .collect();
            let query: Box<dyn Query> = if terms.len() == 1 {
                terms.swap_remove(0)
            } else {
                Box::new(BooleanQuery::new(
                    terms.into_iter().map(|t| (Occur::Should, t)).collect(),
                ))
            };
            (Occur::Should, query)
        })
        .collect();
    let n = clauses.len();
    let k = required(n, relaxed);
    match n {
        0 => None,
        1 => Some(clauses.swap_remove(0).1),
        _ if k == 1 || binomial(n, k) > MAX_SUBSETS => Some(Box::new(
            BooleanQuery::with_minimum_required_clauses(clauses, k),
        )),
        _ => {
            // "k of n" as the union of every k-word intersection (just the one when every
            // word is required): each intersection is led by its rarest word, where the
            // general k-of-n scorer walks every word's whole list. A product matching more
            // words is in more of them and scores more, which is the cheap score's order
            // anyway. (The scores are not those of the k-of-n scorer: a product matching m
            // words is in C(m-1, k-1) intersections with each of them, so both stages build
            // this same union.)
            let singles: Vec<Option<(Term, Score)>> = words
                .iter()
                .filter(|w| !w.candidates.is_empty())
                .map(|w| match w.candidates.as_slice() {
                    [(only, weight)] => Some((Term::from_field_text(all, only), *weight)),
                    _ => None,
                })
                .collect();
            let mut subsets = combinations(n, k)
                .into_iter()
                .map(|subset| {
                    let (single, other): (Vec<usize>, Vec<usize>) =
                        subset.into_iter().partition(|i| singles[*i].is_some());
                    let mut all: Vec<(Occur, Box<dyn Query>)> = other
                        .into_iter()
                        .map(|i| (Occur::Must, clauses[i].1.box_clone()))
                        .collect();
                    if single.len() >= 2 {
                        let terms = single.iter().filter_map(|i| singles[*i].clone()).collect();
                        all.push((Occur::Must, stage.all_of(searcher, engine, terms)));
                    } else {
                        all.extend(
                            single
                                .into_iter()
                                .map(|i| (Occur::Must, clauses[i].1.box_clone())),
                        );
                    }
                    let query: Box<dyn Query> = if all.len() == 1 {
                        all.swap_remove(0).1
                    } else {
                        Box::new(BooleanQuery::new(all))
                    };
                    (Occur::Should, query)
                })
                .collect::<Vec<_>>();
            if subsets.len() == 1 {
                return Some(subsets.swap_remove(0).1);
            }
            Some(Box::new(BooleanQuery::new(subsets)))
        }
    }
}

/// Beyond this many k-word subsets, "k of n" stays one k-of-n clause.
const MAX_SUBSETS: usize = 10;

/// n choose k, stopping early once past `MAX_SUBSETS` (queries can have thousands of words).
fn binomial(n: usize, k: usize) -> usize {
    let k = k.min(n - k);
    let mut c: usize = 1;
    for i in 1..=k {
        c = c * (n - k + i) / i;
        if c > MAX_SUBSETS {
            return c;
        }
    }
    c
}

/// Every k-element subset of `0..n`, in lexicographic order.
fn combinations(n: usize, k: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut current = Vec::with_capacity(k);
    fn go(start: usize, n: usize, k: usize, current: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if current.len() == k {
            out.push(current.clone());
            return;
        }
        for i in start..n {
            if n - i < k - current.len() {
                break;
            }
            current.push(i);
            go(i + 1, n, k, current, out);
            current.pop();
        }
    }
    go(0, n, k, &mut current, &mut out);
    out
}

/// Which of a search's filters its query holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filters {
    All,
    /// All but those the collector checks on each match (see [`rank::Keep`]).
    ButKept,
}

/// What the first stage checks on each match of `q` itself (see [`rank::Keep`]).
pub fn keep(q: &SearchQuery) -> rank::Keep {
    rank::Keep {
        in_stock: q.in_stock,
        price: (q.min_price.is_some() || q.max_price.is_some())
            .then(|| q.min_price.unwrap_or(0)..=q.max_price.unwrap_or(u64::MAX)),
    }
}

/// The filters of `q` (`which` of them), as clauses that restrict but do not score. A
/// filter's term is often common (a department, a big brand, "in stock"): `stage` makes its
/// query (the fast stage answers it from a bitset where it is: see `dense`).
fn filters(
    engine: &Engine,
    stage: FirstStage,
    q: &SearchQuery,
    which: Filters,
) -> Vec<(Occur, Box<dyn Query>)> {
    let f = &engine.fields;
    let mut out: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let mut must = |query: Box<dyn Query>| {
        out.push((
            Occur::Must,
            Box::new(ConstScoreQuery::new(query, 0.0)) as Box<dyn Query>,
        ));
    };
    let term = |term: Term| stage.filter(engine, term);
    if let Some(path) = &q.category {
        must(term(Term::from_facet(
            f.category_facet,
            &category_facet(path),
        )));
    }
    if let Some(brand) = &q.brand {
        must(term(Term::from_facet(
            f.brand_facet,
            &Facet::from_path([brand.as_str()]),
        )));
    }
    let all = which == Filters::All;
    // The range the collector would check (see `keep`), as a clause.
    if all && let Some(range) = keep(q).price {
        let bound = |price: &u64| Bound::Included(Term::from_field_u64(f.price, *price));
        must(Box::new(RangeQuery::new(
            bound(range.start()),
            bound(range.end()),
        )));
    }
    if all && q.in_stock {
        must(term(Term::from_field_u64(f.in_stock, 1)));
    }
    if let Some(r) = q.min_rating {
        must(Box::new(RangeQuery::new(
            Bound::Included(Term::from_field_u64(f.rating, r + 1)),
            Bound::Unbounded,
        )));
    }
    out
}

fn category_facet(path: &CategoryPath) -> Facet {
    Facet::from_path(path.as_str().split('/'))
}

/// The query that decides which products match: the filters (`which` of them) and the words'
/// cheap form (`text`).
pub fn matching(
    engine: &Engine,
    stage: FirstStage,
    q: &SearchQuery,
    words: &[Word],
    text: Option<Box<dyn Query>>,
    which: Filters,
) -> Box<dyn Query> {
    let mut clauses = filters(engine, stage, q, which);
    if clauses.is_empty()
        && let Some(text) = &text
    {
        // Words alone stay bare, so that their specialised scorers are used.
        return text.box_clone();
    }
    if let Some(text) = text {
        clauses.push((Occur::Must, text));
    } else if !q.text.trim().is_empty() && !words.is_empty() {
        // Words that match nothing at all: nothing to show (but maybe a correction).
        clauses.push((Occur::Must, Box::new(EmptyQuery)));
    }
    if clauses.is_empty() {
        clauses.push((Occur::Must, Box::new(AllQuery)));
    }
    Box::new(BooleanQuery::new(clauses))
}

#[cfg(test)]
mod tests {
    #[test]
    fn combinations_are_every_subset_once() {
        assert_eq!(
            super::combinations(4, 3),
            vec![vec![0, 1, 2], vec![0, 1, 3], vec![0, 2, 3], vec![1, 2, 3]]
        );
        assert_eq!(super::combinations(5, 4).len(), 5);
        assert_eq!(super::combinations(6, 4).len(), 15);
        assert_eq!(super::combinations(3, 3), vec![vec![0, 1, 2]]);
        assert_eq!(super::binomial(4, 3), 4);
        assert_eq!(super::binomial(5, 4), 5);
        assert!(super::binomial(6, 4) > super::MAX_SUBSETS);
        assert!(super::binomial(3000, 2000) > super::MAX_SUBSETS);
    }
}
