//! Turning a shopper's words into a Tantivy query, and running it with facets.
//!
//! The words are analysed like the index (lower case, accents folded, English stems), and
//! never parsed as query syntax, so `title:(x) AND *` is just three words. Words run together
//! ("roomtables") are split where both halves are real words. Each word becomes a sum over
//! the fields (title weighs most, then brand and class, then category, then description) of
//! the word itself, its synonyms from the shop's list (`synonyms.txt`), words one or two typos
//! away when the index does not know it (by length, keeping the first letter), and — for the
//! last word while the shopper is still typing — words it begins. A result must match most of
//! the words (all of one or two, all but one of three, …) unless that finds less than a page,
//! when any word will do (products matching more of the words then score more). BM25 orders
//! the results, with a bonus for the title matching as a phrase, and products that are out of
//! stock rank after those that are not, whatever the order. By relevance this runs in two
//! stages: a cheap one-field form of the words matches and counts, and the full form reranks
//! its best (see `rank`).

use super::counts::{Counted, Counts, FacetCodes, PRICE_BANDS};
use super::dense::{DenseAllQuery, DenseTermQuery};
use super::engine::Engine;
use super::highlight::Highlighter;
use super::rank;
use super::schema::{analyzer, raw_analyzer};
use super::synonyms::synonyms;
use super::types::{FacetValue, Facets, SearchQuery, SearchSort};
use crate::catalog::CategoryPath;
use std::cell::Cell;
use std::collections::HashMap;
use std::ops::Bound;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tantivy::collector::{Collector, TopDocs};
use tantivy::columnar::ColumnValues;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, MoreLikeThisQuery, Occur, PhraseQuery,
    Query, RangeQuery, TermQuery,
};
use tantivy::schema::{Facet, Field, IndexRecordOption, Value};
use tantivy::{DocAddress, DocId, Score, Searcher, SegmentReader, TantivyDocument, Term};

/// Words that carry no meaning in a product search.
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "is", "it", "of", "on",
    "or", "the", "to", "with", "without",
];

/// How much a match in each field counts; a word's score is the sum over the fields it
/// matches (BM25F-like), not only the best one.
const FIELD_BOOSTS: [(&str, f32); 5] = [
    ("title", 3.0),
    ("brand", 2.0),
    ("class", 2.0),
    ("category", 1.5),
    ("description", 0.6),
];

/// How much a candidate word counts, by how it was found.
const EXACT: f32 = 1.0;
const PREFIX: f32 = 0.8;
const TYPO: f32 = 0.55;
const SYNONYM: f32 = 0.45;

/// One word of the query and the index words it stands for.
#[derive(Clone, Debug)]
pub struct Word {
    /// The word as typed (lower case, accents folded).
    pub text: String,
    /// Its stem, as the index stores words.
    pub stem: String,
    /// Whether the index has the stem itself.
    pub known: bool,
    /// Candidate index stems and their weights.
    pub candidates: Vec<(String, f32)>,
    /// The closest real word, when the typed one is not in the index.
    pub correction: Option<String>,
}

/// Splits `text` into words (stop words dropped) and finds each one's candidates in the
/// index: its own stem if the index has it; otherwise the surface words one or two typos away
/// (by length, first letter kept), stemmed; and, when `typing`, the words the last one begins.
pub fn words(searcher: &Searcher, engine: &Engine, text: &str, typing: bool) -> Vec<Word> {
    let mut raw = raw_analyzer();
    let mut typed = Vec::new();
    {
        let mut stream = raw.token_stream(text);
        while let Some(token) = stream.next() {
            typed.push(token.text.clone());
        }
    }
    let typing = typing && !text.ends_with(char::is_whitespace);
    let stems = Vocabulary::new(searcher, engine.fields.all);
    let surface = Vocabulary::new(searcher, engine.fields.all_raw);
    let mut stemmer = analyzer();
    let mut stem = |w: &str| {
        let mut stream = stemmer.token_stream(w);
        let mut out = String::new();
        while let Some(t) = stream.next() {
            out.push_str(&t.text);
        }
        out
    };
    // Words run together ("roomtables") are split where both halves are words the index
    // knows (the last word is left alone while it is still being typed).
    let last = typed.len().saturating_sub(1);
    let typed: Vec<String> = typed
        .into_iter()
        .enumerate()
        .flat_map(|(i, w)| {
            if (typing && i == last) || has_digit(&w) || surface.doc_freq(&w) > 0 {
                return vec![w];
            }
            match split_compound(&w, &surface, typo_distance(&w)) {
                Some((a, b)) => vec![a, b],
                None => vec![w],
            }
        })
        .collect();
    let n = typed.len();
    typed
        .into_iter()
        .enumerate()
        .filter(|(_, w)| !STOP_WORDS.contains(&w.as_str()) && w.chars().count() <= 40)
        .map(|(i, text)| {
            let own = stem(&text);
            let known = stems.doc_freq(&own) > 0;
            let mut candidates: Vec<(String, f32)> = Vec::new();
            let mut add = |s: String, weight: f32| {
                if !s.is_empty() && !candidates.iter().any(|(c, _)| *c == s) {
                    candidates.push((s, weight));
                }
            };
            if known {
                add(own.clone(), EXACT);
                // A real but rare word one typo from a common one ("loving room") stands
                // for both.
                if text.chars().count() >= 5 && !has_digit(&text) && surface.doc_freq(&text) <= RARE
                {
                    let own_freq = surface.doc_freq(&text);
                    if let Some(common) = surface
                        .near(&text, 1, 1)
                        .into_iter()
                        .find(|w| surface.doc_freq(w) >= own_freq.max(1) * 10)
                    {
                        add(stem(&common), TYPO);
                    }
                }
            }
            for synonym in synonyms().of(&text) {
                let s = stem(synonym);
                if stems.doc_freq(&s) > 0 {
                    add(s, SYNONYM);
                }
            }
            let mut correction = None;
            if !known {
                // Numbers (sizes, model numbers) are never "corrected".
                let distance = if has_digit(&text) {
                    0
                } else {
                    typo_distance(&text)
                };
                if distance > 0 {
                    let near = surface.near(&text, distance, 4);
                    correction = near.first().cloned();
                    for w in near {
                        add(stem(&w), TYPO);
                    }
                }
            }
            if typing && i + 1 == n && text.chars().count() >= 2 {
                for w in surface.starting_with(&text, 8) {
                    add(stem(&w), PREFIX);
                }
            }
            Word {
                text,
                stem: own,
                known,
                candidates,
                correction,
            }
        })
        .collect()
}

/// A known word this rare may be a typo of a common one.
const RARE: u64 = 2;

fn has_digit(word: &str) -> bool {
    word.chars().any(|c| c.is_ascii_digit())
}

/// How many typos a word of this length may carry: none up to three letters, one up to
/// seven, two beyond.
fn typo_distance(word: &str) -> usize {
    match word.chars().count() {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// Splits a word the index does not know into two it does (each at least three letters),
/// preferring the split whose rarer half is most common. Failing that, and only when the
/// whole word is not simply a typo (nothing within `distance`), one half may carry a typo.
fn split_compound(word: &str, surface: &Vocabulary, distance: usize) -> Option<(String, String)> {
    let chars: Vec<char> = word.chars().collect();
    if chars.len() < 6 || chars.len() > 30 {
        return None;
    }
    let halves = |at: usize| -> (String, String) {
        (chars[..at].iter().collect(), chars[at..].iter().collect())
    };
    let exact = (3..=chars.len() - 3)
        .filter_map(|at| {
            let (a, b) = halves(at);
            let weakest = surface.doc_freq(&a).min(surface.doc_freq(&b));
            (weakest > 0).then_some((weakest, a, b))
        })
        .max_by_key(|(weakest, _, _)| *weakest)
        .map(|(_, a, b)| (a, b));
    // Else one half as typed and the other one typo from a word ("roomtbales").
    if exact.is_some() || (distance > 0 && !surface.near(word, distance, 1).is_empty()) {
        return exact;
    }
    exact.or_else(|| {
        (3..=chars.len() - 3).find_map(|at| {
            let (a, b) = halves(at);
            let fix = |w: &str| surface.near(w, 1, 1).into_iter().next();
            match (surface.doc_freq(&a) > 0, surface.doc_freq(&b) > 0) {
                (true, false) if b.chars().count() >= 5 => fix(&b).map(|b| (a, b)),
                (false, true) if a.chars().count() >= 5 => fix(&a).map(|a| (a, b)),
                _ => None,
            }
        })
    })
}

/// The index's words (of one field), across segments.
struct Vocabulary<'a> {
    searcher: &'a Searcher,
    field: Field,
}

impl<'a> Vocabulary<'a> {
    fn new(searcher: &'a Searcher, field: Field) -> Self {
        Self { searcher, field }
    }

    fn doc_freq(&self, word: &str) -> u64 {
        self.searcher
            .doc_freq(&Term::from_field_text(self.field, word))
            .unwrap_or(0)
    }

    /// Words starting with `prefix`, most frequent first, at most `limit`.
    fn starting_with(&self, prefix: &str, limit: usize) -> Vec<String> {
        let mut upper = prefix.as_bytes().to_vec();
        upper.push(0xff);
        let mut found: HashMap<String, u64> = HashMap::new();
        self.scan(prefix.as_bytes(), &upper, |word, freq| {
            *found.entry(word.to_string()).or_default() += freq;
        });
        top(found, limit)
    }

    /// Words within `distance` edits of `word` that share its first letter, closest and then
    /// most frequent first, at most `limit`, `word` itself excluded.
    fn near(&self, word: &str, distance: usize, limit: usize) -> Vec<String> {
        let Some(first) = word.chars().next() else {
            return vec![];
        };
        let mut lower = [0u8; 4];
        let lower = first.encode_utf8(&mut lower).as_bytes().to_vec();
        let mut upper = lower.clone();
        upper.push(0xff);
        let target: Vec<char> = word.chars().collect();
        let mut found: HashMap<String, (usize, u64)> = HashMap::new();
        self.scan(&lower, &upper, |candidate, freq| {
            if candidate == word {
                return;
            }
            let c: Vec<char> = candidate.chars().collect();
            if c.len().abs_diff(target.len()) > distance {
                return;
            }
            if let Some(d) = edit_distance(&target, &c, distance) {
                let entry = found.entry(candidate.to_string()).or_insert((d, 0));
                entry.1 += freq;
            }
        });
        let mut ranked: Vec<(String, (usize, u64))> = found.into_iter().collect();
        ranked.sort_by(|a, b| {
            a.1.0
                .cmp(&b.1.0)
                .then(b.1.1.cmp(&a.1.1))
                .then(a.0.cmp(&b.0))
        });
        let closest = ranked.first().map_or(0, |(_, (d, _))| *d);
        ranked
            .into_iter()
            .take_while(|(_, (d, _))| *d == closest)
            .take(limit)
            .map(|(w, _)| w)
            .collect()
    }

    fn scan(&self, lower: &[u8], upper: &[u8], mut visit: impl FnMut(&str, u64)) {
        for segment in self.searcher.segment_readers() {
            let Ok(inverted) = segment.inverted_index(self.field) else {
                continue;
            };
            let Ok(mut stream) = inverted.terms().range().ge(lower).lt(upper).into_stream() else {
                continue;
            };
            while stream.advance() {
                if let Ok(word) = std::str::from_utf8(stream.key()) {
                    visit(word, u64::from(stream.value().doc_freq));
                }
            }
        }
    }
}

fn top(found: HashMap<String, u64>, limit: usize) -> Vec<String> {
    let mut ranked: Vec<(String, u64)> = found.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked.into_iter().take(limit).map(|(w, _)| w).collect()
}

/// Damerau–Levenshtein distance (with adjacent transpositions), or `None` past `max`.
pub fn edit_distance(a: &[char], b: &[char], max: usize) -> Option<usize> {
    let (n, m) = (a.len(), b.len());
    let mut prev2 = vec![0usize; m + 1];
    let mut prev: Vec<usize> = (0..=m).collect();
    let mut cur = vec![0usize; m + 1];
    for i in 1..=n {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    (prev[m] <= max).then_some(prev[m])
}

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
pub fn match_query(engine: &Engine, words: &[Word], relaxed: bool) -> Option<Box<dyn Query>> {
    let all = engine.fields.all;
    let usable = words.iter().filter(|w| !w.candidates.is_empty()).count();
    // Where words are intersected, the common ones are answered from bitsets (see `dense`).
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
                        return dense(engine, term, *weight);
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
            // anyway.
            // Words of one candidate that are intersected together are answered from the
            // common ones' bitsets (see `dense::DenseAllQuery`).
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
                        all.push((
                            Occur::Must,
                            Box::new(DenseAllQuery {
                                terms,
                                words: engine.dense.clone(),
                            }),
                        ));
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

/// `term` boosted by `boost`, answered from a bitset in segments where the term is common
/// (and scored there as if once in each document: see `dense`).
fn dense(engine: &Engine, term: Term, boost: Score) -> Box<dyn Query> {
    Box::new(DenseTermQuery {
        term,
        boost,
        words: engine.dense.clone(),
    })
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

/// The filters of `q` (`which` of them), as clauses that restrict but do not score.
pub fn filters(engine: &Engine, q: &SearchQuery, which: Filters) -> Vec<(Occur, Box<dyn Query>)> {
    let f = &engine.fields;
    let mut out: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let mut must = |query: Box<dyn Query>| {
        out.push((
            Occur::Must,
            Box::new(ConstScoreQuery::new(query, 0.0)) as Box<dyn Query>,
        ));
    };
    // A filter's term is often common (a department, a big brand, "in stock"): it is
    // answered from a bitset where it is (see `dense`).
    let term = |term: Term| dense(engine, term, 1.0);
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

pub fn category_facet(path: &CategoryPath) -> Facet {
    Facet::from_path(path.as_str().split('/'))
}

/// The sort key: in-stock first, then the chosen order.
type Key = (u64, f64);

/// The page by a sort key read from fast fields: for every order but relevance with words
/// (which goes by score alone; see `run`). The columns are the ones `codes` keeps open.
pub fn top_docs(
    q: &SearchQuery,
    codes: Arc<FacetCodes>,
) -> impl Collector<Fruit = Vec<(Key, DocAddress)>> + use<> {
    let per_page = usize::try_from(q.per_page).unwrap_or(24);
    let offset = usize::try_from(q.page.saturating_sub(1)).unwrap_or(0) * per_page;
    let sort = q.sort;
    TopDocs::with_limit(per_page)
        .and_offset(offset)
        .tweak_score(move |segment: &SegmentReader| {
            let columns = codes.columns(segment);
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

/// What one search run found, before live stock is added.
pub struct Found {
    pub total: u64,
    pub docs: Vec<(DocAddress, TantivyDocument)>,
    pub facets: Facets,
    pub did_you_mean: Option<String>,
    pub title_snippets: Vec<String>,
    pub description_snippets: Vec<String>,
    /// Where the time went (for `server bench search`).
    pub stages: Stages,
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

/// The query that decides which products match: the filters and the words' cheap form.
fn matching(
    engine: &Engine,
    q: &SearchQuery,
    words: &[Word],
    text: Option<Box<dyn Query>>,
    which: Filters,
) -> Box<dyn Query> {
    let mut clauses = filters(engine, q, which);
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
        clauses.push((Occur::Must, Box::new(tantivy::query::EmptyQuery)));
    }
    if clauses.is_empty() {
        clauses.push((Occur::Must, Box::new(AllQuery)));
    }
    Box::new(BooleanQuery::new(clauses))
}

/// Runs `q` against the engine: a page of documents, the total, facet counts, snippets.
pub fn run(engine: &Engine, q: &SearchQuery) -> tantivy::Result<Found> {
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
    let parts = text_parts(engine, &words);
    let search = |relaxed: bool| -> tantivy::Result<(Vec<DocAddress>, Counted)> {
        let text = match_query(engine, &words, relaxed);
        if q.sort == SearchSort::Relevance && !parts.is_empty() {
            let matches = matching(engine, q, &words, text, Filters::ButKept);
            let limit = rank::window(offset, per_page);
            let (ranked, counted) =
                rank::page_and_counts(&searcher, &engine.codes, matches.as_ref(), &keep(q), limit)?;
            // Only the blocks from the page's own on matter.
            let first = (offset / rank::BLOCK * rank::BLOCK).min(ranked.len());
            let reranking = Instant::now();
            let order = rank::rerank(&searcher, &parts, ranked[first..].to_vec())?;
            rerank_took.set(rerank_took.get() + reranking.elapsed());
            let page = order
                .into_iter()
                .skip(offset - first)
                .take(per_page)
                .collect();
            Ok((page, counted))
        } else {
            let matches = matching(engine, q, &words, text, Filters::All);
            let (top, counted) = searcher.search(
                matches.as_ref(),
                &(top_docs(q, engine.codes.clone()), Counts(&engine.codes)),
            )?;
            Ok((top.into_iter().map(|(_, a)| a).collect(), counted))
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
    let (top, counted) = found;
    let total = counted.matched;
    let full = union(&parts);
    let query: &dyn Query = if parts.is_empty() { &AllQuery } else { &full };

    let mut title_gen = Highlighter::new(&searcher, query, engine.fields.title, 400)?;
    let mut description_gen = Highlighter::new(&searcher, query, engine.fields.description, 160)?;
    let mut docs = Vec::with_capacity(top.len());
    let mut title_snippets = Vec::with_capacity(top.len());
    let mut description_snippets = Vec::with_capacity(top.len());
    for address in top {
        let doc: TantivyDocument = searcher.doc(address)?;
        title_snippets.push(title_gen.html(&doc));
        description_snippets.push(description_gen.html(&doc));
        docs.push((address, doc));
    }
    stages.documents = documents.elapsed();

    let parent = q.category.as_ref().map(|c| c.as_str().to_string());
    let mut category_values: Vec<FacetValue> =
        children_counts(&counted.categories, parent.as_deref())
            .into_iter()
            .map(|(value, count)| FacetValue {
                value,
                label: String::new(),
                count,
            })
            .collect();
    category_values.sort_by(|a, b| b.count.cmp(&a.count).then(a.value.cmp(&b.value)));
    let mut brand_values: Vec<FacetValue> = counted
        .brands
        .into_iter()
        .map(|(name, count)| FacetValue {
            value: name.clone(),
            label: name,
            count,
        })
        .collect();
    brand_values.sort_by(|a, b| b.count.cmp(&a.count).then(a.value.cmp(&b.value)));
    brand_values.truncate(20);
    let (bands, available) = (counted.bands, counted.available);
    let price_bands = PRICE_BANDS
        .iter()
        .zip(bands)
        .filter(|(_, count)| *count > 0)
        .map(|((lo, hi), count)| FacetValue {
            value: format!(
                "{}-{}",
                lo / 100,
                hi.map(|h| (h / 100 - 1).to_string()).unwrap_or_default()
            ),
            label: match hi {
                Some(h) => format!("${} – ${}", lo / 100, h / 100),
                None => format!("${} and up", lo / 100),
            },
            count,
        })
        .collect();

    // A word the index does not know was read as its closest real word: say which.
    let did_you_mean = words
        .iter()
        .any(|w| !w.known && w.correction.is_some())
        .then(|| {
            words
                .iter()
                .map(|w| w.correction.clone().unwrap_or_else(|| w.text.clone()))
                .collect::<Vec<_>>()
                .join(" ")
        });
    Ok(Found {
        total,
        docs,
        facets: Facets {
            categories: category_values,
            brands: brand_values,
            price_bands,
            in_stock: available,
        },
        did_you_mean,
        title_snippets,
        description_snippets,
        stages,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn d(a: &str, b: &str) -> Option<usize> {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        edit_distance(&a, &b, 2)
    }

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

    #[test]
    fn edit_distance_counts_typos_including_swaps() {
        assert_eq!(d("fountain", "fountain"), Some(0));
        assert_eq!(d("foutain", "fountain"), Some(1));
        assert_eq!(d("fuontain", "fountain"), Some(1), "a swap is one typo");
        assert_eq!(d("bookcase", "bokcsae"), Some(2));
        assert_eq!(d("chair", "table"), None);
    }
}
