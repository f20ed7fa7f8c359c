//! Turning a shopper's words into a Tantivy query, and running it with facets.
//!
//! The words are analysed like the index (lower case, accents folded, English stems), and
//! never parsed as query syntax, so `title:(x) AND *` is just three words. Each word becomes
//! a disjunction over the fields (title weighs most, then brand and class, then category,
//! then description) of the word itself, words one or two typos away (by word length,
//! keeping the first letter), and — for the last word while the shopper is still typing —
//! words it begins. A result must match most of the words (all of one or two, all but one
//! of three, …), earns more for matching the title as a phrase, and products that are out of
//! stock rank after those that are not, whatever the order.

use super::engine::Engine;
use super::schema::analyzer;
use super::types::{FacetValue, Facets, SearchQuery, SearchSort};
use crate::catalog::CategoryPath;
use std::collections::HashMap;
use std::ops::Bound;
use tantivy::collector::{Collector, Count, FacetCollector, SegmentCollector, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, DisjunctionMaxQuery, MoreLikeThisQuery,
    Occur, PhraseQuery, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{Facet, Field, IndexRecordOption, Value};
use tantivy::{DocAddress, DocId, Score, Searcher, SegmentReader, TantivyDocument, Term};

/// Words that carry no meaning in a product search.
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "is", "it", "of", "on",
    "or", "the", "to", "with", "without",
];

/// How much a match in each field counts.
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

/// Price bands for the facet, in minor units: [low, high).
pub const PRICE_BANDS: [(u64, Option<u64>); 7] = [
    (0, Some(2_500)),
    (2_500, Some(5_000)),
    (5_000, Some(10_000)),
    (10_000, Some(25_000)),
    (25_000, Some(50_000)),
    (50_000, Some(100_000)),
    (100_000, None),
];

/// One analysed word of the query and the index words it stands for.
#[derive(Clone, Debug)]
pub struct Word {
    /// The word as analysed (stemmed).
    pub stem: String,
    /// Candidate index words and their weights.
    pub candidates: Vec<(String, f32)>,
    /// The best correction, when the word itself is not in the index.
    pub correction: Option<String>,
}

/// Analyses `text` into words (stop words dropped) with their candidates from the index's
/// vocabulary. `typing` treats the last word as unfinished (prefix matching).
pub fn words(searcher: &Searcher, engine: &Engine, text: &str, typing: bool) -> Vec<Word> {
    let mut analyzer = analyzer();
    let mut stems = Vec::new();
    let mut raw_last = String::new();
    {
        let mut stream = analyzer.token_stream(text);
        while let Some(token) = stream.next() {
            stems.push(token.text.clone());
        }
    }
    if let Some(last) = text
        .split(|c: char| !c.is_alphanumeric())
        .rfind(|w| !w.is_empty())
    {
        raw_last = fold(last);
    }
    let typing = typing && !text.ends_with(char::is_whitespace);
    let n = stems.len();
    let vocabulary = Vocabulary::new(searcher, engine.fields.all);
    stems
        .into_iter()
        .enumerate()
        .filter(|(_, s)| !STOP_WORDS.contains(&s.as_str()) && s.chars().count() <= 40)
        .map(|(i, stem)| {
            let mut candidates = Vec::new();
            let known = vocabulary.doc_freq(&stem) > 0;
            if known {
                candidates.push((stem.clone(), EXACT));
            }
            let mut correction = None;
            let len = stem.chars().count();
            let distance = match len {
                0..=3 => 0,
                4..=7 => 1,
                _ => 2,
            };
            if distance > 0 {
                let near = vocabulary.near(&stem, distance, 4);
                if !known {
                    correction = near.first().cloned();
                }
                candidates.extend(near.into_iter().map(|w| (w, TYPO)));
            }
            if typing && i + 1 == n && raw_last.chars().count() >= 2 {
                for w in vocabulary.starting_with(&raw_last, 8) {
                    if !candidates.iter().any(|(c, _)| *c == w) {
                        candidates.push((w, PREFIX));
                    }
                }
            }
            Word {
                stem,
                candidates,
                correction,
            }
        })
        .collect()
}

/// Lower-cases and folds accents the way the analyzer does, without stemming (a word being
/// typed is matched as a prefix of index words).
fn fold(word: &str) -> String {
    let mut analyzer =
        tantivy::tokenizer::TextAnalyzer::builder(tantivy::tokenizer::SimpleTokenizer::default())
            .filter(tantivy::tokenizer::LowerCaser)
            .filter(tantivy::tokenizer::AsciiFoldingFilter)
            .build();
    let mut out = String::new();
    let mut stream = analyzer.token_stream(word);
    while let Some(t) = stream.next() {
        out.push_str(&t.text);
    }
    out
}

/// The index's words (of the `all` field), across segments.
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
        ranked.into_iter().take(limit).map(|(w, _)| w).collect()
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

/// The text part of the query: one clause per word, most of which must match.
pub fn text_query(engine: &Engine, words: &[Word]) -> Option<Box<dyn Query>> {
    let schema = engine.index.schema();
    let usable: Vec<&Word> = words.iter().filter(|w| !w.candidates.is_empty()).collect();
    if usable.is_empty() {
        return None;
    }
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = usable
        .iter()
        .map(|word| {
            let per_field: Vec<Box<dyn Query>> = FIELD_BOOSTS
                .iter()
                .filter_map(|(name, boost)| schema.get_field(name).ok().map(|f| (f, *boost)))
                .map(|(field, boost)| {
                    let alternatives: Vec<(Occur, Box<dyn Query>)> = word
                        .candidates
                        .iter()
                        .map(|(w, weight)| {
                            let term = TermQuery::new(
                                Term::from_field_text(field, w),
                                IndexRecordOption::WithFreqs,
                            );
                            (
                                Occur::Should,
                                Box::new(BoostQuery::new(Box::new(term), boost * weight))
                                    as Box<dyn Query>,
                            )
                        })
                        .collect();
                    Box::new(BooleanQuery::new(alternatives)) as Box<dyn Query>
                })
                .collect();
            (
                Occur::Should,
                Box::new(DisjunctionMaxQuery::with_tie_breaker(per_field, 0.3)) as Box<dyn Query>,
            )
        })
        .collect();
    let n = clauses.len();
    let required = n - n / 3;
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
    let mut query =
        BooleanQuery::with_minimum_required_clauses(std::mem::take(&mut clauses), required);
    if exact.len() >= 2 {
        let terms: Vec<(usize, Term)> = exact
            .iter()
            .enumerate()
            .map(|(i, w)| (i, Term::from_field_text(engine.fields.title, w)))
            .collect();
        let phrase = PhraseQuery::new_with_offset_and_slop(terms, 2);
        query = BooleanQuery::new(vec![
            (Occur::Must, Box::new(query) as Box<dyn Query>),
            (
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(phrase), 2.0)),
            ),
        ]);
    }
    Some(Box::new(query))
}

/// The filters of `q`, as clauses that restrict but do not score.
pub fn filters(engine: &Engine, q: &SearchQuery) -> Vec<(Occur, Box<dyn Query>)> {
    let f = &engine.fields;
    let mut out: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let mut must = |query: Box<dyn Query>| {
        out.push((
            Occur::Must,
            Box::new(ConstScoreQuery::new(query, 0.0)) as Box<dyn Query>,
        ));
    };
    if let Some(path) = &q.category {
        must(Box::new(TermQuery::new(
            Term::from_facet(f.category_facet, &category_facet(path)),
            IndexRecordOption::Basic,
        )));
    }
    if let Some(brand) = &q.brand {
        must(Box::new(TermQuery::new(
            Term::from_facet(f.brand_facet, &Facet::from_path([brand.as_str()])),
            IndexRecordOption::Basic,
        )));
    }
    if q.min_price.is_some() || q.max_price.is_some() {
        let lower = q.min_price.map_or(Bound::Unbounded, |p| {
            Bound::Included(Term::from_field_u64(f.price, p))
        });
        let upper = q.max_price.map_or(Bound::Unbounded, |p| {
            Bound::Included(Term::from_field_u64(f.price, p))
        });
        must(Box::new(RangeQuery::new(lower, upper)));
    }
    if q.in_stock {
        must(Box::new(TermQuery::new(
            Term::from_field_u64(f.in_stock, 1),
            IndexRecordOption::Basic,
        )));
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

pub fn top_docs(
    engine: &Engine,
    q: &SearchQuery,
    has_text: bool,
) -> impl Collector<Fruit = Vec<(Key, DocAddress)>> + use<> {
    let per_page = usize::try_from(q.per_page).unwrap_or(24);
    let offset = usize::try_from(q.page.saturating_sub(1)).unwrap_or(0) * per_page;
    let sort = q.sort;
    let _ = engine;
    TopDocs::with_limit(per_page)
        .and_offset(offset)
        .tweak_score(move |segment: &SegmentReader| {
            let fast = segment.fast_fields();
            let column = |name: &str| fast.u64(name).ok().map(|c| c.first_or_default_col(0));
            let in_stock = column("in_stock");
            let price = column("price");
            let rating = column("rating");
            let created = fast
                .i64("created_at")
                .ok()
                .map(|c| c.first_or_default_col(0));
            move |doc: DocId, score: Score| -> Key {
                let get = |c: &Option<std::sync::Arc<dyn tantivy::columnar::ColumnValues<u64>>>| {
                    c.as_ref().map_or(0, |c| c.get_val(doc))
                };
                let available = get(&in_stock);
                let key = match sort {
                    SearchSort::Relevance if has_text => f64::from(score),
                    SearchSort::Relevance | SearchSort::Rating => {
                        get(&rating) as f64 + f64::from(score) * 1e-6
                    }
                    SearchSort::PriceAsc => -(get(&price) as f64),
                    SearchSort::PriceDesc => get(&price) as f64,
                    SearchSort::Newest => created.as_ref().map_or(0, |c| c.get_val(doc)) as f64,
                };
                (available, key)
            }
        })
}

/// Counts for the price bands and the in-stock facet, in the same pass as the search.
pub struct Stats;

pub struct StatsSegment {
    price: Option<std::sync::Arc<dyn tantivy::columnar::ColumnValues<u64>>>,
    in_stock: Option<std::sync::Arc<dyn tantivy::columnar::ColumnValues<u64>>>,
    bands: [u64; PRICE_BANDS.len()],
    available: u64,
}

impl Collector for Stats {
    type Fruit = ([u64; PRICE_BANDS.len()], u64);
    type Child = StatsSegment;

    fn for_segment(&self, _: u32, segment: &SegmentReader) -> tantivy::Result<StatsSegment> {
        let fast = segment.fast_fields();
        Ok(StatsSegment {
            price: fast.u64("price").ok().map(|c| c.first_or_default_col(0)),
            in_stock: fast.u64("in_stock").ok().map(|c| c.first_or_default_col(0)),
            bands: [0; PRICE_BANDS.len()],
            available: 0,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Self::Fruit>) -> tantivy::Result<Self::Fruit> {
        let mut bands = [0; PRICE_BANDS.len()];
        let mut available = 0;
        for (b, a) in fruits {
            for (total, n) in bands.iter_mut().zip(b) {
                *total += n;
            }
            available += a;
        }
        Ok((bands, available))
    }
}

impl SegmentCollector for StatsSegment {
    type Fruit = ([u64; PRICE_BANDS.len()], u64);

    fn collect(&mut self, doc: DocId, _: Score) {
        if let Some(price) = &self.price {
            let p = price.get_val(doc);
            if let Some(i) = PRICE_BANDS
                .iter()
                .position(|(lo, hi)| p >= *lo && hi.is_none_or(|h| p < h))
            {
                self.bands[i] += 1;
            }
        }
        if let Some(s) = &self.in_stock {
            self.available += s.get_val(doc);
        }
    }

    fn harvest(self) -> Self::Fruit {
        (self.bands, self.available)
    }
}

/// What one search run found, before live stock is added.
pub struct Found {
    pub total: u64,
    pub docs: Vec<(DocAddress, TantivyDocument)>,
    pub facets: Facets,
    pub did_you_mean: Option<String>,
    pub title_snippets: Vec<String>,
    pub description_snippets: Vec<String>,
}

/// Runs `q` against the engine: a page of documents, the total, facet counts, snippets.
pub fn run(engine: &Engine, q: &SearchQuery) -> tantivy::Result<Found> {
    let searcher = engine.reader.searcher();
    let words = words(&searcher, engine, &q.text, false);
    let text = text_query(engine, &words);
    let has_text = text.is_some();
    let mut clauses = filters(engine, q);
    if let Some(text) = text {
        clauses.push((Occur::Must, text));
    } else if !q.text.trim().is_empty()
        && words.iter().all(|w| w.candidates.is_empty())
        && !words.is_empty()
    {
        // Words that match nothing at all: nothing to show (but maybe a correction).
        clauses.push((Occur::Must, Box::new(tantivy::query::EmptyQuery)));
    }
    if clauses.is_empty() {
        clauses.push((Occur::Must, Box::new(AllQuery)));
    }
    let query = BooleanQuery::new(clauses);

    let mut categories = FacetCollector::for_field("category_facet");
    let parent = q
        .category
        .as_ref()
        .map(category_facet)
        .unwrap_or_else(Facet::root);
    categories.add_facet(parent.clone());
    let mut brands = FacetCollector::for_field("brand_facet");
    brands.add_facet(Facet::root());
    let (top, total, (category_counts, brand_counts), (bands, available)) = searcher.search(
        &query,
        &(
            top_docs(engine, q, has_text),
            Count,
            (categories, brands),
            Stats,
        ),
    )?;

    let mut title_gen =
        tantivy::snippet::SnippetGenerator::create(&searcher, &query, engine.fields.title)?;
    title_gen.set_max_num_chars(400);
    let mut description_gen =
        tantivy::snippet::SnippetGenerator::create(&searcher, &query, engine.fields.description)?;
    description_gen.set_max_num_chars(160);
    let mut docs = Vec::with_capacity(top.len());
    let mut title_snippets = Vec::with_capacity(top.len());
    let mut description_snippets = Vec::with_capacity(top.len());
    for (_, address) in top {
        let doc: TantivyDocument = searcher.doc(address)?;
        title_snippets.push(title_gen.snippet_from_doc(&doc).to_html());
        description_snippets.push(description_gen.snippet_from_doc(&doc).to_html());
        docs.push((address, doc));
    }

    let mut category_values: Vec<FacetValue> = category_counts
        .get(parent.clone())
        .map(|(facet, count)| FacetValue {
            value: facet.to_path().join("/"),
            label: String::new(),
            count,
        })
        .collect();
    category_values.sort_by(|a, b| b.count.cmp(&a.count).then(a.value.cmp(&b.value)));
    let brand_values: Vec<FacetValue> = brand_counts
        .top_k(Facet::root(), 20)
        .into_iter()
        .map(|(facet, count)| {
            let name = facet.to_path().join("/");
            FacetValue {
                value: name.clone(),
                label: name,
                count,
            }
        })
        .collect();
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

    let did_you_mean = (total == 0 && words.iter().any(|w| w.correction.is_some())).then(|| {
        words
            .iter()
            .map(|w| w.correction.clone().unwrap_or_else(|| w.stem.clone()))
            .collect::<Vec<_>>()
            .join(" ")
    });
    Ok(Found {
        total: u64::try_from(total).unwrap_or(0),
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
    fn edit_distance_counts_typos_including_swaps() {
        assert_eq!(d("fountain", "fountain"), Some(0));
        assert_eq!(d("foutain", "fountain"), Some(1));
        assert_eq!(d("fuontain", "fountain"), Some(1), "a swap is one typo");
        assert_eq!(d("bookcase", "bokcsae"), Some(2));
        assert_eq!(d("chair", "table"), None);
    }
}
