//! Common words as bitsets, so that intersecting them costs a bit test per candidate.
//!
//! "Most of the words" is an intersection, led by the rarest word's list; every other word's
//! list is sought to each of its documents. A word in a thirty-second of a segment or more
//! ([`is_dense`]) has a list so dense that those seeks decode nearly all of it and then
//! search within each block, once per candidate: that was most of a two-word search's time.
//! Such a word is answered instead from a bitset of its documents, built once per segment
//! and kept while the segment lives ([`DenseWords`]): a seek is a bit test.
//!
//! Only the first stage's cheap query uses this (see `rank`), and it scores a dense word as
//! if it were in the document once: BM25 with the document's length but a term frequency of
//! one, so that scoring needs no seek either. A common word's frequency moves its score
//! little (its weight is low and BM25 saturates), the first stage only picks the products
//! the full query reranks, and the rerank scores every word exactly.

use super::engine::live_segments;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};
use tantivy::fieldnorm::FieldNormReader;
use tantivy::index::SegmentId;
use tantivy::postings::{Postings, SegmentPostings, TermInfo};
use tantivy::query::{
    Bm25Weight, BooleanQuery, BoostQuery, EmptyScorer, EnableScoring, Explanation, Occur, Query,
    Scorer, TermQuery, Weight,
};
use tantivy::schema::IndexRecordOption;
use tantivy::{
    DocId, DocSet, Score, Searcher, SearcherGeneration, SegmentReader, TERMINATED, Term, Warmer,
};

/// A term in at least this share of a segment's documents (one in `DENSE_SHARE`) is
/// answered from a bitset: the bitset (one bit per document) is then at most four times the
/// size of its postings.
const DENSE_SHARE: u32 = 32;

/// The bitsets kept at once, in bytes (beyond it, a dense word's bitset is built for the
/// search that needs it and not kept).
const BUDGET: usize = 64 << 20;

/// Whether a term in `doc_freq` of a segment's `max_doc` documents is answered from a bitset.
pub fn is_dense(doc_freq: u32, max_doc: u32) -> bool {
    doc_freq > 0 && u64::from(doc_freq) * u64::from(DENSE_SHARE) >= u64::from(max_doc)
}

/// One bit per document of a segment.
pub struct Bits {
    words: Vec<u64>,
    len: u32,
}

impl Bits {
    fn new(max_doc: u32) -> Bits {
        Bits {
            words: vec![0; (max_doc as usize).div_ceil(64)],
            len: 0,
        }
    }

    fn insert(&mut self, doc: DocId) {
        self.words[(doc / 64) as usize] |= 1 << (doc % 64);
        self.len += 1;
    }

    /// The first document at or after `target`, or `TERMINATED`.
    #[inline]
    fn next_from(&self, target: DocId) -> DocId {
        let mut at = (target / 64) as usize;
        let Some(first) = self.words.get(at) else {
            return TERMINATED;
        };
        let mut word = first & (u64::MAX << (target % 64));
        loop {
            if word != 0 {
                return at as DocId * 64 + word.trailing_zeros();
            }
            at += 1;
            match self.words.get(at) {
                Some(w) => word = *w,
                None => return TERMINATED,
            }
        }
    }

    /// Whether `doc` is set (false past the end).
    #[inline]
    fn contains(&self, doc: DocId) -> bool {
        self.words
            .get((doc / 64) as usize)
            .is_some_and(|word| word >> (doc % 64) & 1 == 1)
    }

    fn bytes(&self) -> usize {
        self.words.len() * 8
    }
}

/// The bitsets of dense words, per live segment. The index reader drops a segment's with
/// the segment (it is registered as a warmer).
#[derive(Default)]
pub struct DenseWords {
    bits: RwLock<HashMap<(SegmentId, Term), Arc<Bits>>>,
}

impl fmt::Debug for DenseWords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DenseWords").finish_non_exhaustive()
    }
}

impl DenseWords {
    /// The bitset of `term` in `segment` if the term is dense there, built on first use.
    fn of(&self, segment: &SegmentReader, term: &Term) -> tantivy::Result<Option<Arc<Bits>>> {
        Ok(match self.find(segment, term)? {
            InSegment::Dense(bits) => Some(bits),
            InSegment::Absent | InSegment::Sparse(_) => None,
        })
    }

    /// How `term` is in `segment`: not at all, as a bitset (built on first use), or as a list.
    fn find(&self, segment: &SegmentReader, term: &Term) -> tantivy::Result<InSegment> {
        let inverted = segment.inverted_index(term.field())?;
        let Some(info) = inverted.get_term_info(term)? else {
            return Ok(InSegment::Absent);
        };
        if !is_dense(info.doc_freq, segment.max_doc()) {
            return Ok(InSegment::Sparse(info));
        }
        let key = (segment.segment_id(), term.clone());
        if let Some(bits) = self.read().get(&key) {
            return Ok(InSegment::Dense(bits.clone()));
        }
        let mut postings = inverted.read_postings_from_terminfo(&info, IndexRecordOption::Basic)?;
        let mut bits = Bits::new(segment.max_doc());
        let mut doc = postings.doc();
        while doc != TERMINATED {
            bits.insert(doc);
            doc = postings.advance();
        }
        let bits = Arc::new(bits);
        let mut kept = self.write();
        let used: usize = kept.values().map(|b| b.bytes()).sum();
        if used + bits.bytes() <= BUDGET {
            kept.insert(key, bits.clone());
        }
        Ok(InSegment::Dense(bits))
    }

    #[cfg(test)]
    fn is_kept(&self, word: &str, field: tantivy::schema::Field) -> bool {
        let term = Term::from_field_text(field, word);
        self.read().keys().any(|(_, t)| *t == term)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<(SegmentId, Term), Arc<Bits>>> {
        self.bits
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<(SegmentId, Term), Arc<Bits>>> {
        self.bits
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// How a term is in one segment.
enum InSegment {
    Absent,
    Dense(Arc<Bits>),
    Sparse(TermInfo),
}

impl Warmer for DenseWords {
    fn warm(&self, _: &Searcher) -> tantivy::Result<()> {
        Ok(())
    }

    fn garbage_collect(&self, live: &[&SearcherGeneration]) {
        let live = live_segments(live);
        self.write()
            .retain(|(segment, _), _| live.contains(segment));
    }
}

/// `term` boosted by `boost`, answered from a bitset where the term is dense (and scored
/// there as if once in each document: see the module's notes); a plain term query
/// elsewhere.
#[derive(Clone, Debug)]
pub struct DenseTermQuery {
    pub term: Term,
    pub boost: Score,
    pub words: Arc<DenseWords>,
}

impl Query for DenseTermQuery {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let bm25 = match scoring.searcher() {
            Some(searcher) if scoring.is_scoring_enabled() => Some(
                Bm25Weight::for_terms(searcher, std::slice::from_ref(&self.term))?
                    .boost_by(self.boost),
            ),
            _ => None,
        };
        // Frequencies are read only when scoring (Tantivy reads the bare list otherwise).
        let plain = TermQuery::new(self.term.clone(), IndexRecordOption::WithFreqs);
        Ok(Box::new(DenseWeight {
            inner: BoostQuery::new(Box::new(plain), self.boost).weight(scoring)?,
            term: self.term.clone(),
            words: self.words.clone(),
            bm25,
        }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        visitor(&self.term, false);
    }
}

struct DenseWeight {
    inner: Box<dyn Weight>,
    term: Term,
    words: Arc<DenseWords>,
    /// `None` when nothing is scored.
    bm25: Option<Bm25Weight>,
}

impl Weight for DenseWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let Some(bits) = self.words.of(reader, &self.term)? else {
            return self.inner.scorer(reader, boost);
        };
        let scoring = match &self.bm25 {
            Some(bm25) => Some((
                bm25.boost_by(boost),
                reader.get_fieldnorms_reader(self.term.field())?,
            )),
            None => None,
        };
        let doc = bits.next_from(0);
        Ok(Box::new(DenseScorer { bits, doc, scoring }))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.inner.explain(reader, doc)
    }
}

/// Above any posting list's cost: an intersection is led by a list and seeks the bitsets
/// (the rarest bitset leads when every word is dense).
const BITSET_COST: u64 = 1 << 40;

/// Walks a bitset; scores the term as if once in the document.
struct DenseScorer {
    bits: Arc<Bits>,
    doc: DocId,
    scoring: Option<(Bm25Weight, FieldNormReader)>,
}

impl DocSet for DenseScorer {
    fn advance(&mut self) -> DocId {
        if self.doc != TERMINATED {
            self.doc = self.bits.next_from(self.doc + 1);
        }
        self.doc
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc < target {
            self.doc = self.bits.next_from(target);
        }
        self.doc
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        self.bits.len
    }

    fn cost(&self) -> u64 {
        BITSET_COST + u64::from(self.bits.len)
    }
}

impl Scorer for DenseScorer {
    fn score(&mut self) -> Score {
        match &self.scoring {
            Some((bm25, norms)) => bm25.score(norms.fieldnorm_id(self.doc), 1),
            None => 0.0,
        }
    }
}

/// Several terms of one field, all required, each boosted, scored as the intersection of
/// their [`DenseTermQuery`]s (a document's length is read once, from the first term's field)
/// and answered, in each segment:
/// - where every term is dense, by ANDing their bitsets a machine word at a time (two
///   common words together, "vintage leather", otherwise cost a bit test for every document
///   of the rarer one);
/// - where one term is not, by walking its list and testing each document's bits
///   ([`LedScorer`]; "vintage pendant");
/// - elsewhere, as that intersection.
#[derive(Clone, Debug)]
pub struct DenseAllQuery {
    pub terms: Vec<(Term, Score)>,
    pub words: Arc<DenseWords>,
}

impl DenseAllQuery {
    fn parts(&self) -> Vec<DenseTermQuery> {
        self.terms
            .iter()
            .map(|(term, boost)| DenseTermQuery {
                term: term.clone(),
                boost: *boost,
                words: self.words.clone(),
            })
            .collect()
    }
}

impl Query for DenseAllQuery {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let parts = self.parts();
        let bm25 = match scoring.searcher() {
            Some(searcher) if scoring.is_scoring_enabled() => Some(
                parts
                    .iter()
                    .map(|p| {
                        Ok(
                            Bm25Weight::for_terms(searcher, std::slice::from_ref(&p.term))?
                                .boost_by(p.boost),
                        )
                    })
                    .collect::<tantivy::Result<Vec<_>>>()?,
            ),
            _ => None,
        };
        let all = BooleanQuery::new(
            parts
                .into_iter()
                .map(|p| (Occur::Must, Box::new(p) as Box<dyn Query>))
                .collect(),
        );
        Ok(Box::new(DenseAllWeight {
            inner: all.weight(scoring)?,
            terms: self.terms.iter().map(|(term, _)| term.clone()).collect(),
            words: self.words.clone(),
            bm25,
        }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        for (term, _) in &self.terms {
            visitor(term, false);
        }
    }
}

struct DenseAllWeight {
    /// The intersection of the terms' own queries, for segments where two or more are not
    /// dense, and when nothing is scored.
    inner: Box<dyn Weight>,
    terms: Vec<Term>,
    words: Arc<DenseWords>,
    /// Each term's weight, in order; `None` when nothing is scored.
    bm25: Option<Vec<Bm25Weight>>,
}

impl Weight for DenseAllWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let Some(bm25) = &self.bm25 else {
            return self.inner.scorer(reader, boost);
        };
        // Each term's bitset or list here, with its weight.
        let mut bits = Vec::with_capacity(self.terms.len());
        let mut bits_bm25 = Vec::with_capacity(self.terms.len());
        let mut lists = Vec::new();
        for (term, weight) in self.terms.iter().zip(bm25) {
            match self.words.find(reader, term)? {
                InSegment::Absent => return Ok(Box::new(EmptyScorer)),
                InSegment::Dense(b) => {
                    bits.push(b);
                    bits_bm25.push(weight.boost_by(boost));
                }
                InSegment::Sparse(info) => lists.push((term, info, weight.boost_by(boost))),
            }
        }
        let norms = match self.terms.first() {
            Some(term) => reader.get_fieldnorms_reader(term.field())?,
            None => return self.inner.scorer(reader, boost),
        };
        match lists.len() {
            0 => {
                let mut scorer = AndScorer {
                    bits,
                    at: 0,
                    mask: 0,
                    doc: 0,
                    bm25: bits_bm25,
                    norms,
                };
                scorer.mask = scorer.word(0);
                scorer.settle();
                Ok(Box::new(scorer))
            }
            1 if !bits.is_empty() => {
                let Some((term, info, lead_bm25)) = lists.pop() else {
                    return self.inner.scorer(reader, boost);
                };
                let postings = reader
                    .inverted_index(term.field())?
                    .read_postings_from_terminfo(&info, IndexRecordOption::WithFreqs)?;
                let mut scorer = LedScorer {
                    lead: postings,
                    lead_bm25,
                    bits,
                    bits_bm25,
                    norms,
                };
                scorer.settle();
                Ok(Box::new(scorer))
            }
            // Two lists or more: the general intersection, led by the rarer.
            _ => self.inner.scorer(reader, boost),
        }
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.inner.explain(reader, doc)
    }
}

/// One term's list walked document by document, each tested against the other terms'
/// bitsets (a bit test per document, where an intersection would seek each bitset to the
/// next document it has and then the list to that). Scores the listed term by its frequency
/// and the others as if once in the document, as the intersection of [`DenseTermQuery`]s
/// does.
struct LedScorer {
    lead: SegmentPostings,
    lead_bm25: Bm25Weight,
    bits: Vec<Arc<Bits>>,
    bits_bm25: Vec<Bm25Weight>,
    norms: FieldNormReader,
}

impl LedScorer {
    /// Moves the list on to its first document (from the current one) in every bitset.
    #[inline]
    fn settle(&mut self) -> DocId {
        let mut doc = self.lead.doc();
        while doc != TERMINATED && !self.bits.iter().all(|b| b.contains(doc)) {
            doc = self.lead.advance();
        }
        doc
    }
}

impl DocSet for LedScorer {
    fn advance(&mut self) -> DocId {
        if self.lead.doc() == TERMINATED {
            return TERMINATED;
        }
        self.lead.advance();
        self.settle()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.lead.doc() >= target {
            return self.lead.doc();
        }
        self.lead.seek(target);
        self.settle()
    }

    fn doc(&self) -> DocId {
        self.lead.doc()
    }

    fn size_hint(&self) -> u32 {
        self.lead.size_hint()
    }

    fn cost(&self) -> u64 {
        self.lead.cost()
    }
}

impl Scorer for LedScorer {
    fn score(&mut self) -> Score {
        let norm = self.norms.fieldnorm_id(self.lead.doc());
        self.lead_bm25.score(norm, self.lead.term_freq())
            + self
                .bits_bm25
                .iter()
                .map(|w| w.score(norm, 1))
                .sum::<Score>()
    }
}

/// Walks the AND of several bitsets; scores each term as if once in the document.
struct AndScorer {
    bits: Vec<Arc<Bits>>,
    /// The machine word being walked, and its bits not yet visited.
    at: usize,
    mask: u64,
    doc: DocId,
    bm25: Vec<Bm25Weight>,
    norms: FieldNormReader,
}

impl AndScorer {
    /// The AND of every bitset's `i`th word (0 past the end).
    #[inline]
    fn word(&self, i: usize) -> u64 {
        self.bits.iter().fold(u64::MAX, |and, b| {
            and & b.words.get(i).copied().unwrap_or(0)
        })
    }

    /// Moves to the first set bit at or after the current position.
    #[inline]
    fn settle(&mut self) -> DocId {
        let words = self.bits.first().map_or(0, |b| b.words.len());
        while self.mask == 0 {
            self.at += 1;
            if self.at >= words {
                self.doc = TERMINATED;
                return self.doc;
            }
            self.mask = self.word(self.at);
        }
        self.doc = self.at as DocId * 64 + self.mask.trailing_zeros();
        self.doc
    }
}

impl DocSet for AndScorer {
    fn advance(&mut self) -> DocId {
        if self.doc == TERMINATED {
            return TERMINATED;
        }
        self.mask &= self.mask - 1;
        self.settle()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc >= target {
            return self.doc;
        }
        let at = (target / 64) as usize;
        if at > self.at {
            self.at = at;
            self.mask = self.word(at);
        }
        self.mask &= u64::MAX << (target % 64);
        self.settle()
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        self.bits.iter().map(|b| b.len).min().unwrap_or(0)
    }

    fn cost(&self) -> u64 {
        BITSET_COST + u64::from(self.size_hint())
    }
}

impl Scorer for AndScorer {
    fn score(&mut self) -> Score {
        let norm = self.norms.fieldnorm_id(self.doc);
        self.bm25.iter().map(|w| w.score(norm, 1)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::collector::TopDocs;
    use tantivy::query::{BooleanQuery, BoostQuery, Occur, TermQuery};
    use tantivy::schema::{STORED, Schema, TEXT};
    use tantivy::{DocAddress, Index, doc};

    #[test]
    fn bits_find_the_next_document() {
        let mut bits = Bits::new(200);
        for doc in [3, 64, 65, 130, 199] {
            bits.insert(doc);
        }
        assert_eq!(bits.next_from(0), 3);
        assert_eq!(bits.next_from(3), 3);
        assert_eq!(bits.next_from(4), 64);
        assert_eq!(bits.next_from(66), 130);
        assert_eq!(bits.next_from(131), 199);
        assert_eq!(bits.next_from(200), TERMINATED);
        assert_eq!(bits.next_from(TERMINATED), TERMINATED);
        assert_eq!(bits.len, 5);
        assert!(is_dense(1, 32) && !is_dense(1, 33) && !is_dense(0, 10));
    }

    /// The same intersections with and without the bitsets find the same documents (words
    /// of every density, two and three at a time), scored alike where each word is in the
    /// document once and never more than the plain terms where one is there twice.
    #[test]
    fn intersections_through_bitsets_match_like_the_terms() {
        let mut schema = Schema::builder();
        let text = schema.add_text_field("text", TEXT | STORED);
        let index = Index::create_in_ram(schema.build());
        // One thread, one segment: document ids are the order of insertion.
        let mut writer = index.writer_with_num_threads(1, 15_000_000).unwrap();
        let every = |word: &str| match word {
            "every" => 1,
            "half" => 2,
            "third" => 3,
            "tenth" => 10,
            "rare" => 97,
            _ => 61,
        };
        let twice = |word: &str, doc: u32| (doc / every(word)) % 5 == 1;
        for i in 0..3000u32 {
            let mut words = vec![];
            for word in ["every", "half", "third", "tenth", "rare", "few"] {
                if i % every(word) == 0 {
                    words.push(word);
                    if twice(word, i) {
                        words.push(word);
                    }
                }
            }
            let filler = "x ".repeat((i % 7) as usize);
            writer
                .add_document(doc!(text => format!("{} {filler}", words.join(" "))))
                .unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let words = Arc::new(DenseWords::default());
        let term = |w: &str| Term::from_field_text(text, w);
        let plain = |w: &str, boost: f32| -> Box<dyn Query> {
            Box::new(BoostQuery::new(
                Box::new(TermQuery::new(term(w), IndexRecordOption::WithFreqs)),
                boost,
            ))
        };
        let dense = |w: &str, boost: f32| -> Box<dyn Query> {
            Box::new(DenseTermQuery {
                term: term(w),
                boost,
                words: words.clone(),
            })
        };
        for combination in [
            vec!["half", "third"],
            vec!["every", "rare"],
            vec!["tenth", "half"],
            vec!["half", "third", "tenth"],
            vec!["every", "half", "rare"],
            vec!["half", "few"],
            vec!["rare", "few"],
            vec!["half", "rare", "few"],
        ] {
            let search = |query: &dyn Query| {
                let mut found: Vec<(DocAddress, Score)> = searcher
                    .search(query, &TopDocs::with_limit(5000).order_by_score())
                    .unwrap()
                    .into_iter()
                    .map(|(score, address)| (address, score))
                    .collect();
                found.sort_by_key(|(address, _)| *address);
                found
            };
            // Every word required, each made by `make` with its boost.
            let all_of = |make: &dyn Fn(&str, f32) -> Box<dyn Query>| -> Box<dyn Query> {
                Box::new(BooleanQuery::new(
                    combination
                        .iter()
                        .enumerate()
                        .map(|(i, w)| (Occur::Must, make(w, 1.0 + i as f32)))
                        .collect(),
                ))
            };
            let run = |make: &dyn Fn(&str, f32) -> Box<dyn Query>| search(all_of(make).as_ref());
            let expected = run(&plain);
            let got = run(&dense);
            // The words answered together (their bitsets ANDed, or a list tested against
            // them, or neither when two are lists) find and score what their intersection
            // does, alone and sought by a rarer word's list.
            let and = DenseAllQuery {
                terms: combination
                    .iter()
                    .enumerate()
                    .map(|(i, w)| (term(w), 1.0 + i as f32))
                    .collect(),
                words: words.clone(),
            };
            let with_rare = |q: Box<dyn Query>| {
                BooleanQuery::new(vec![(Occur::Must, plain("rare", 0.5)), (Occur::Must, q)])
            };
            for (anded, intersected) in [
                (search(&and), got.clone()),
                (
                    search(&with_rare(Box::new(and.clone()))),
                    search(&with_rare(all_of(&dense))),
                ),
            ] {
                assert_eq!(anded.len(), intersected.len(), "{combination:?}");
                for ((a, x), (b, y)) in anded.iter().zip(&intersected) {
                    assert_eq!(a, b, "{combination:?}");
                    assert!(
                        (x - y).abs() <= 1e-5 * y.abs(),
                        "{combination:?}: {x} vs {y}"
                    );
                }
            }
            assert!(!expected.is_empty(), "{combination:?} matches something");
            assert_eq!(got.len(), expected.len(), "{combination:?}");
            let mut alike = 0;
            for ((a, x), (b, y)) in got.iter().zip(&expected) {
                assert_eq!(a, b, "{combination:?}");
                let doubled = combination
                    .iter()
                    .any(|w| words.is_kept(w, text) && twice(w, a.doc_id));
                if doubled {
                    assert!(
                        *x <= *y + 1e-5,
                        "{combination:?} doc {}: {x} vs {y}",
                        a.doc_id
                    );
                } else {
                    // The same parts, summed in another order.
                    assert!(
                        (x - y).abs() <= 1e-5 * y.abs(),
                        "{combination:?}: {x} vs {y}"
                    );
                    alike += 1;
                }
            }
            assert!(alike > 0, "{combination:?} compares some scores exactly");
        }
        // The common words were answered from bitsets (and kept), the rare ones were not.
        assert!(words.is_kept("half", text));
        assert!(!words.is_kept("rare", text) && !words.is_kept("few", text));
    }
}
