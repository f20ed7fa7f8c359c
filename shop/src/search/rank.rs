//! Ranking by relevance in two stages, so that a word matching a tenth of a large catalog
//! costs one cheap pass instead of an expensive one.
//!
//! 1. **Match and count**: one pass over every matching product with the cheap form of the
//!    query (each word against the one `all` field, no phrase), keeping the best few hundred
//!    by that score and counting every facet at the same time ([`PageAndCounts`]). The cheap
//!    form matches exactly the products the full one does, because `all` holds every searched
//!    field's words under the same analyzer; only the scores differ.
//! 2. **Rerank**: the full query (each word summed over the weighted fields, the title phrase
//!    bonus), part by part, scores just those products ([`rerank`]), block by block of
//!    [`BLOCK`] in the first stage's order, so a page's contents never depend on which page
//!    was asked for.
//!
//! Products in stock come first in both stages (a bonus above any text score), read from the
//! same packed code the counts read (see `counts`). The "in stock" and price filters are
//! checked by the first stage on each match too ([`Keep`]), not by the query.
//!
//! The collector here is the fast first stage's (see `first_stage`); the rerank serves both
//! first stages, generic over how it asks a part about a product: [`Danger`] here, an ordinary
//! seek in `plain`.

use super::counts::{self, Counted, Counts, CountsSegment, FacetCodes, PRICE_BANDS};
use std::ops::RangeInclusive;
use std::sync::Arc;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::ColumnValues;
use tantivy::query::{EnableScoring, Query, Scorer, Weight};
use tantivy::{
    DocAddress, DocId, Score, Searcher, SeekDangerResult, SegmentOrdinal, SegmentReader,
};

/// Added to the score of products in stock: more than any text score, small enough for an
/// f32 to keep the text scores' order.
pub const IN_STOCK_BONUS: f32 = 10_000.0;

/// The first stage's best products are reranked in blocks of this many.
pub const BLOCK: usize = 100;

/// How many first-stage products a page `offset..offset + per_page` needs: whole blocks.
pub fn window(offset: usize, per_page: usize) -> usize {
    (offset + per_page).div_ceil(BLOCK).max(1) * BLOCK
}

/// The first stage: every facet count and the best `limit` matches by the cheap score, those
/// in stock first, in one pass over the matches.
///
/// Tried and measured slower (`tools bench search`): counting in a pass that scores nothing
/// (its column reads batched a block at a time) beside a top-k pass that skips blocks with
/// block-max WAND. The counting pass alone cost three quarters of this one, so scoring every
/// match here costs less than a second pass does.
pub fn page_and_counts(
    searcher: &Searcher,
    codes: &FacetCodes,
    query: &dyn Query,
    keep: &Keep,
    limit: usize,
) -> tantivy::Result<(Vec<Ranked>, Counted)> {
    searcher.search(query, &PageAndCounts { codes, keep, limit })
}

/// The best `limit` products by score (in stock first) and every facet count, in one pass,
/// of the query's matches that `keep` keeps.
pub struct PageAndCounts<'a> {
    pub codes: &'a FacetCodes,
    pub keep: &'a Keep,
    pub limit: usize,
}

/// The filters the first stage checks on each match itself, rather than the query: in stock
/// (a bit of the code that counting reads anyway) and a price range (the price band in that
/// code, or the price column: see `PriceCheck`). As query clauses they cost an
/// intersection, with a dispatched seek per match,
/// and a price range scanned the price column ahead of the matches a block at a time: a
/// word with a price range took three times as long as the word alone.
#[derive(Clone, Debug, Default)]
pub struct Keep {
    pub in_stock: bool,
    /// Minor units, both ends included.
    pub price: Option<RangeInclusive<u64>>,
}

/// [`Keep`] in one segment.
struct KeepSegment {
    in_stock: bool,
    price: Option<PriceCheck>,
}

/// A price range checked on each match: by the price band in its code where the band lies
/// wholly inside or outside the range, by the price column only where it straddles an end.
struct PriceCheck {
    range: RangeInclusive<u64>,
    /// For each band (and the slot of "no price"), whether all its prices are in range
    /// (`Some(true)`), none is (`Some(false)`), or the column must say.
    bands: [Option<bool>; PRICE_BANDS.len() + 1],
    /// `None`: the segment has no prices, so nothing is in range.
    column: Option<Arc<dyn ColumnValues<u64>>>,
}

impl PriceCheck {
    fn new(range: RangeInclusive<u64>, column: Option<Arc<dyn ColumnValues<u64>>>) -> Self {
        let mut bands = [None; PRICE_BANDS.len() + 1];
        for (verdict, (low, high)) in bands.iter_mut().zip(PRICE_BANDS) {
            let last = high.map_or(u64::MAX, |h| h - 1);
            if *range.start() <= low && last <= *range.end() {
                *verdict = Some(true);
            } else if last < *range.start() || low > *range.end() {
                *verdict = Some(false);
            }
        }
        PriceCheck {
            range,
            bands,
            column,
        }
    }

    #[inline]
    fn contains(&self, doc: DocId, code: u64) -> bool {
        match self.bands.get(counts::band_of(code)).copied().flatten() {
            Some(verdict) => verdict,
            None => self
                .column
                .as_ref()
                .is_some_and(|c| self.range.contains(&c.get_val(doc))),
        }
    }
}

impl KeepSegment {
    #[inline]
    fn keeps(&self, doc: DocId, code: u64) -> bool {
        if self.in_stock && !counts::in_stock(code) {
            return false;
        }
        self.price
            .as_ref()
            .is_none_or(|price| price.contains(doc, code))
    }
}

/// A ranked product: its first-stage key (score plus the in-stock bonus) and address.
pub type Ranked = (Score, DocAddress);

impl Collector for PageAndCounts<'_> {
    type Fruit = (Vec<Ranked>, Counted);
    type Child = PageAndCountsSegment;

    fn for_segment(
        &self,
        ord: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<PageAndCountsSegment> {
        let price = self
            .keep
            .price
            .clone()
            .map(|range| PriceCheck::new(range, self.codes.columns(segment).price));
        Ok(PageAndCountsSegment {
            counts: Counts(self.codes).for_segment(ord, segment)?,
            keep: KeepSegment {
                in_stock: self.keep.in_stock,
                price,
            },
            top: TopScores::new(self.limit),
            segment: ord,
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(&self, fruits: Vec<(Vec<Ranked>, Counted)>) -> tantivy::Result<Self::Fruit> {
        let mut ranked = Vec::new();
        let mut counts = Vec::with_capacity(fruits.len());
        for (r, c) in fruits {
            ranked.extend(r);
            counts.push(c);
        }
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        ranked.truncate(self.limit);
        Ok((ranked, counts::merge(counts)))
    }
}

pub struct PageAndCountsSegment {
    counts: CountsSegment,
    keep: KeepSegment,
    top: TopScores,
    segment: SegmentOrdinal,
}

impl SegmentCollector for PageAndCountsSegment {
    type Fruit = (Vec<Ranked>, Counted);

    #[inline]
    fn collect(&mut self, doc: DocId, score: Score) {
        let code = self.counts.code(doc);
        if !self.keep.keeps(doc, code) {
            return;
        }
        let key = if self.counts.count_code(code) {
            score + IN_STOCK_BONUS
        } else {
            score
        };
        self.top.push(key, doc);
    }

    fn harvest(self) -> Self::Fruit {
        let segment = self.segment;
        let ranked = self
            .top
            .into_sorted()
            .into_iter()
            .map(|(score, doc)| (score, DocAddress::new(segment, doc)))
            .collect();
        (ranked, self.counts.harvest())
    }
}

/// The best `limit` (score, doc) pairs of a stream: a buffer of twice the limit, cut back to
/// the limit by selection whenever it fills, with anything below the last cut's lowest score
/// turned away at once (ties go to the lower doc id, the order docs arrive in).
struct TopScores {
    limit: usize,
    buffer: Vec<(Score, DocId)>,
    threshold: Score,
}

impl TopScores {
    fn new(limit: usize) -> Self {
        TopScores {
            limit: limit.max(1),
            buffer: Vec::with_capacity(limit.max(1) * 2),
            threshold: Score::MIN,
        }
    }

    #[inline]
    fn push(&mut self, score: Score, doc: DocId) {
        if score <= self.threshold {
            return;
        }
        if self.buffer.len() == 2 * self.limit {
            self.cut();
        }
        self.buffer.push((score, doc));
    }

    fn cut(&mut self) {
        let k = self.limit - 1;
        self.buffer
            .select_nth_unstable_by(k, |a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        self.buffer.truncate(self.limit);
        // Docs arrive in increasing order, so a later doc with the lowest kept score loses
        // its tie: only strictly higher scores get in from now on.
        self.threshold = self.buffer[k].0;
    }

    fn into_sorted(mut self) -> Vec<(Score, DocId)> {
        self.buffer
            .sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        self.buffer.truncate(self.limit);
        self.buffer
    }
}

/// A product after the rerank: its address, its first-stage key (the cheap score plus the
/// in-stock bonus) and its full one (the full query's score plus the same bonus).
#[derive(Clone, Copy, Debug)]
pub struct Reranked {
    pub address: DocAddress,
    pub first: Score,
    pub full: Score,
}

/// How the rerank asks one part's scorer whether it has each product of a segment, the
/// products coming in increasing order.
pub trait Asking {
    /// A scorer of `weight` in `reader`, and whether it has `first`.
    fn open(
        weight: &dyn Weight,
        reader: &SegmentReader,
        first: DocId,
    ) -> tantivy::Result<(bool, Box<dyn Scorer>)>;

    /// Whether `scorer` has `doc` (greater than every product asked about before).
    fn has(scorer: &mut dyn Scorer, doc: DocId) -> bool;
}

/// Asks with Tantivy's "dangerous" seek, which only answers whether a scorer has a product,
/// not where its next match is. A phrase part would otherwise check its words' positions in
/// every document that has them all, from the segment's start on.
pub struct Danger;

impl Asking for Danger {
    fn open(
        weight: &dyn Weight,
        reader: &SegmentReader,
        first: DocId,
    ) -> tantivy::Result<(bool, Box<dyn Scorer>)> {
        let (found, scorer) = weight.scorer_danger(reader, first, 1.0)?;
        Ok((found == SeekDangerResult::Found, scorer))
    }

    #[inline]
    fn has(scorer: &mut dyn Scorer, doc: DocId) -> bool {
        // Targets strictly increase, as `seek_danger` requires; a scorer left in the state a
        // miss leaves it in is only asked with `seek_danger` again until it finds one.
        scorer.seek_danger(doc) == SeekDangerResult::Found
    }
}

/// Reorders the first stage's products by the full query's score (the sum of the `parts`
/// each matches; see `query::build::text_parts`), block by block, keeping the in-stock bonus
/// (a product the full query does not match, which should not happen, keeps only that bonus
/// and sinks within its block). Equal scores keep the first stage's order. `A` is how each
/// part is asked about a product.
pub fn rerank<A: Asking>(
    searcher: &Searcher,
    parts: &[Box<dyn Query>],
    ranked: &[Ranked],
) -> tantivy::Result<Vec<Reranked>> {
    let scoring = EnableScoring::enabled_from_searcher(searcher);
    let weights = parts
        .iter()
        .map(|part| part.weight(scoring))
        .collect::<tantivy::Result<Vec<_>>>()?;
    let mut out = Vec::with_capacity(ranked.len());
    for block in ranked.chunks(BLOCK) {
        // Score the block segment by segment, in doc order (a scorer only moves forward).
        let mut by_doc: Vec<(usize, DocAddress)> = block
            .iter()
            .enumerate()
            .map(|(i, (_, address))| (i, *address))
            .collect();
        by_doc.sort_by_key(|(_, a)| (a.segment_ord, a.doc_id));
        let mut keys: Vec<Score> = vec![0.0; block.len()];
        let mut at = 0;
        while at < by_doc.len() {
            let segment = by_doc[at].1.segment_ord;
            let reader = searcher.segment_reader(segment);
            // Each part is asked only about these products, in doc order: whether it has each
            // one, from the first of them on.
            let first = by_doc[at].1.doc_id;
            let mut scorers = weights
                .iter()
                .map(|w| A::open(w.as_ref(), reader, first))
                .collect::<tantivy::Result<Vec<_>>>()?;
            let mut asked_first = true;
            while at < by_doc.len() && by_doc[at].1.segment_ord == segment {
                let (i, address) = by_doc[at];
                let mut text = 0.0;
                for (found, scorer) in &mut scorers {
                    if !asked_first {
                        *found = A::has(scorer.as_mut(), address.doc_id);
                    }
                    if *found {
                        text += scorer.score();
                    }
                }
                asked_first = false;
                let bonus = if block[i].0 >= IN_STOCK_BONUS {
                    IN_STOCK_BONUS
                } else {
                    0.0
                };
                keys[i] = bonus + text;
                at += 1;
            }
        }
        let mut order: Vec<usize> = (0..block.len()).collect();
        order.sort_by(|a, b| keys[*b].total_cmp(&keys[*a]).then(a.cmp(b)));
        out.extend(order.into_iter().map(|i| Reranked {
            address: block[i].1,
            first: block[i].0,
            full: keys[i],
        }));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_scores_keeps_the_best_and_breaks_ties_by_doc() {
        let mut top = TopScores::new(3);
        for (doc, score) in [1.0, 5.0, 3.0, 5.0, 2.0, 4.0, 5.0, 0.5, 4.0]
            .iter()
            .enumerate()
        {
            top.push(*score, doc as DocId);
        }
        assert_eq!(top.into_sorted(), vec![(5.0, 1), (5.0, 3), (5.0, 6)]);

        let mut top = TopScores::new(2);
        for doc in 0..100 {
            top.push((doc % 7) as Score, doc);
        }
        assert_eq!(top.into_sorted(), vec![(6.0, 6), (6.0, 13)]);
    }

    #[test]
    fn windows_are_whole_blocks() {
        assert_eq!(window(0, 20), BLOCK);
        assert_eq!(window(80, 20), BLOCK);
        assert_eq!(window(90, 20), 2 * BLOCK);
        assert_eq!(window(0, 0), BLOCK);
    }
}
