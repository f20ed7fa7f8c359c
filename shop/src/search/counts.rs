//! Facet counts, in the same pass as the search.
//!
//! Counting touches every match, so it sets the floor of a search's cost. Reading a match's
//! four facet values (leaf category, brand, price band, in stock) from Tantivy's fast
//! columns costs four dynamically dispatched, bit-unpacking reads; instead, every segment's
//! values are packed once into one word per document, in memory ([`FacetCodes`]), when the
//! reader first opens the segment. Counting a match is then one array read.
//!
//! Segments never change once written (a product's new stock or price is a new document in a
//! new segment), so a segment's codes stay right for as long as the segment lives; the reader
//! drops them with the segment.

use super::engine::live_segments;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{ColumnValues, StrColumn};
use tantivy::index::SegmentId;
use tantivy::{DocId, Score, Searcher, SearcherGeneration, SegmentReader, TantivyError, Warmer};

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

/// The price band of a price (the bands start at 0 and are contiguous).
#[inline]
fn band(price: u64) -> usize {
    PRICE_BANDS[1..]
        .iter()
        .filter(|(lo, _)| price >= *lo)
        .count()
}

/// A document's facet values in one word, as narrow as the segment allows: counting reads
/// one word per match, scattered over the segment, so a narrow word keeps the whole array in
/// the processor's cache (2 MB per million documents at 16 bits; at 64 bits a read per match
/// missed the cache and cost more than the four column reads it replaced).
///
/// From the low bit up: in stock (1 bit); price band (3 bits, [`NO_BAND`] when the segment
/// has no prices); the leaf category's ordinal in the segment plus one, 0 for none; the same
/// for the brand (each as many bits as the segment's distinct values need).
#[derive(Clone, Copy, Debug)]
struct Layout {
    category_mask: u64,
    brand_shift: u32,
    brand_mask: u64,
}

const BAND_SHIFT: u32 = 1;
const CATEGORY_SHIFT: u32 = 4;
/// The band slot of documents without a price.
const NO_BAND: usize = PRICE_BANDS.len();
const _: () = assert!(NO_BAND < 8, "the bands and their none fit in three bits");

impl Layout {
    /// Room for ordinals `0..=categories` and `0..=brands`, or `None` past 64 bits.
    fn fitting(categories: usize, brands: usize) -> Option<Layout> {
        let bits = |n: usize| u64::BITS - (n as u64).leading_zeros();
        let (category_bits, brand_bits) = (bits(categories), bits(brands));
        (CATEGORY_SHIFT + category_bits + brand_bits <= 64).then(|| Layout {
            category_mask: (1u64 << category_bits) - 1,
            brand_shift: CATEGORY_SHIFT + category_bits,
            brand_mask: (1u64 << brand_bits) - 1,
        })
    }

    fn bits(&self) -> u32 {
        self.brand_shift + (u64::BITS - self.brand_mask.leading_zeros())
    }

    #[inline]
    fn pack(&self, in_stock: bool, band: usize, category: u64, brand: u64) -> u64 {
        u64::from(in_stock)
            | (band as u64) << BAND_SHIFT
            | category << CATEGORY_SHIFT
            | brand << self.brand_shift
    }
}

/// Every document's code, in the narrowest word that holds them.
enum Codes {
    Narrow(Vec<u16>),
    Middle(Vec<u32>),
    Wide(Vec<u64>),
}

impl Codes {
    #[inline]
    fn get(&self, doc: DocId) -> u64 {
        let doc = doc as usize;
        match self {
            Codes::Narrow(codes) => u64::from(codes[doc]),
            Codes::Middle(codes) => u64::from(codes[doc]),
            Codes::Wide(codes) => codes[doc],
        }
    }
}

/// One segment's codes, indexed by document id, with the names of its ordinals and the
/// columns the sorted orders read.
pub struct SegmentCodes {
    codes: Codes,
    layout: Layout,
    /// Leaf category paths and brands by ordinal: named once here, not at every search.
    category_names: Vec<String>,
    brand_names: Vec<String>,
    columns: SortColumns,
}

/// The fast columns a sorted order reads, opened once per segment (opening one decodes its
/// block headers: a fixed cost that every sorted search paid).
#[derive(Clone)]
pub struct SortColumns {
    pub in_stock: Option<Arc<dyn ColumnValues<u64>>>,
    pub price: Option<Arc<dyn ColumnValues<u64>>>,
    pub rating: Option<Arc<dyn ColumnValues<u64>>>,
    pub created: Option<Arc<dyn ColumnValues<i64>>>,
}

impl SortColumns {
    /// Opens `segment`'s sort columns (those it lacks are `None`).
    pub fn open(segment: &SegmentReader) -> SortColumns {
        let fast = segment.fast_fields();
        let u64s = |name: &str| fast.u64(name).ok().map(|c| c.first_or_default_col(0));
        SortColumns {
            in_stock: u64s("in_stock"),
            price: u64s("price"),
            rating: u64s("rating"),
            created: fast
                .i64("created_at")
                .ok()
                .map(|c| c.first_or_default_col(0)),
        }
    }
}

/// Every ordinal's text, in order.
fn names(column: &Option<StrColumn>, count: usize) -> Vec<String> {
    let Some(column) = column else {
        return Vec::new();
    };
    let mut text = String::new();
    (0..count as u64)
        .map(|ord| {
            if column.ord_to_str(ord, &mut text).unwrap_or(false) {
                text.clone()
            } else {
                String::new()
            }
        })
        .collect()
}

impl SegmentCodes {
    /// Reads every document's facet values from the segment's fast columns.
    fn build(segment: &SegmentReader) -> tantivy::Result<SegmentCodes> {
        let fast = segment.fast_fields();
        let category = fast.str("category_key")?;
        let brand = fast.str("brand_key")?;
        let columns = SortColumns::open(segment);
        let (price, in_stock) = (&columns.price, &columns.in_stock);
        let terms = |c: &Option<StrColumn>| c.as_ref().map_or(0, |c| c.num_terms());
        let (categories, brands) = (terms(&category), terms(&brand));
        let layout = Layout::fitting(categories, brands).ok_or_else(|| {
            TantivyError::InvalidArgument(format!(
                "a segment with {categories} categories and {brands} brands is more than \
                 facet counting can pack"
            ))
        })?;
        let ordinal = |c: &Option<StrColumn>, doc: DocId| -> u64 {
            c.as_ref()
                .and_then(|c| c.ords().first(doc))
                .map_or(0, |ord| ord + 1)
        };
        let code = |doc: DocId| {
            layout.pack(
                in_stock.as_ref().is_some_and(|c| c.get_val(doc) > 0),
                price.as_ref().map_or(NO_BAND, |c| band(c.get_val(doc))),
                ordinal(&category, doc),
                ordinal(&brand, doc),
            )
        };
        let docs = 0..segment.max_doc();
        // Each code fits its word by the layout's width, so the casts below lose nothing.
        let codes = match layout.bits() {
            0..=16 => Codes::Narrow(docs.map(|d| code(d) as u16).collect()),
            17..=32 => Codes::Middle(docs.map(|d| code(d) as u32).collect()),
            _ => Codes::Wide(docs.map(code).collect()),
        };
        Ok(SegmentCodes {
            codes,
            layout,
            category_names: names(&category, categories),
            brand_names: names(&brand, brands),
            columns,
        })
    }
}

/// The packed facet values of every live segment, kept by the index reader: it fills them
/// in for new segments before a reload makes them searchable, and drops those of segments
/// that are gone.
#[derive(Default)]
pub struct FacetCodes {
    segments: RwLock<HashMap<SegmentId, Arc<SegmentCodes>>>,
}

impl FacetCodes {
    /// The codes of `segment`, packed now if the reader has not yet (a searcher taken before
    /// the warming finished).
    fn of(&self, segment: &SegmentReader) -> tantivy::Result<Arc<SegmentCodes>> {
        let id = segment.segment_id();
        if let Some(codes) = self.read().get(&id) {
            return Ok(codes.clone());
        }
        let codes = Arc::new(SegmentCodes::build(segment)?);
        self.write().insert(id, codes.clone());
        Ok(codes)
    }

    /// The sort columns of `segment`, opened now if its codes cannot be packed.
    pub fn columns(&self, segment: &SegmentReader) -> SortColumns {
        match self.of(segment) {
            Ok(codes) => codes.columns.clone(),
            Err(_) => SortColumns::open(segment),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<SegmentId, Arc<SegmentCodes>>> {
        self.segments
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<SegmentId, Arc<SegmentCodes>>> {
        self.segments
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Warmer for FacetCodes {
    fn warm(&self, searcher: &Searcher) -> tantivy::Result<()> {
        for segment in searcher.segment_readers() {
            self.of(segment)?;
        }
        Ok(())
    }

    fn garbage_collect(&self, live: &[&SearcherGeneration]) {
        let live = live_segments(live);
        self.write().retain(|id, _| live.contains(id));
    }
}

/// Every facet count in the same pass as the search: each match's leaf category and brand
/// (counted per segment by ordinal, named at the end), its price band and whether it is in
/// stock.
pub struct Counts<'a>(pub &'a FacetCodes);

/// What [`Counts`] gathered: leaf category path → count, brand → count, price bands,
/// products in stock.
#[derive(Default)]
pub struct Counted {
    pub matched: u64,
    pub categories: HashMap<String, u64>,
    pub brands: HashMap<String, u64>,
    pub bands: [u64; PRICE_BANDS.len()],
    pub available: u64,
}

impl Collector for Counts<'_> {
    type Fruit = Counted;
    type Child = CountsSegment;

    fn for_segment(&self, _: u32, segment: &SegmentReader) -> tantivy::Result<CountsSegment> {
        let codes = self.0.of(segment)?;
        Ok(CountsSegment {
            categories: vec![0; codes.category_names.len() + 1],
            brands: vec![0; codes.brand_names.len() + 1],
            layout: codes.layout,
            codes,
            bands: [0; PRICE_BANDS.len() + 1],
            available: 0,
            matched: 0,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Counted>) -> tantivy::Result<Counted> {
        Ok(merge(fruits))
    }
}

/// The counts of several segments added up.
pub fn merge(fruits: Vec<Counted>) -> Counted {
    let mut total = Counted::default();
    for fruit in fruits {
        for (k, v) in fruit.categories {
            *total.categories.entry(k).or_default() += v;
        }
        for (k, v) in fruit.brands {
            *total.brands.entry(k).or_default() += v;
        }
        for (t, n) in total.bands.iter_mut().zip(fruit.bands) {
            *t += n;
        }
        total.available += fruit.available;
        total.matched += fruit.matched;
    }
    total
}

/// One segment's counts, by ordinal (slot 0: none).
pub struct CountsSegment {
    codes: Arc<SegmentCodes>,
    /// A copy of the codes' layout, read per match without going through the `Arc`.
    layout: Layout,
    categories: Vec<u64>,
    brands: Vec<u64>,
    bands: [u64; PRICE_BANDS.len() + 1],
    available: u64,
    matched: u64,
}

/// The price band a code packs: an index into [`PRICE_BANDS`], or past its end when the
/// segment has no prices.
#[inline]
pub fn band_of(code: u64) -> usize {
    ((code >> BAND_SHIFT) & 0b111) as usize
}

/// Whether the product a code packs is in stock.
#[inline]
pub fn in_stock(code: u64) -> bool {
    code & 1 == 1
}

impl CountsSegment {
    /// Counts `doc` and says whether it is in stock.
    #[inline]
    pub fn count(&mut self, doc: DocId) -> bool {
        let code = self.code(doc);
        self.count_code(code)
    }

    /// `doc`'s packed facet values, for [`in_stock`] and [`Self::count_code`].
    #[inline]
    pub fn code(&self, doc: DocId) -> u64 {
        self.codes.codes.get(doc)
    }

    /// Counts a document by its code and says whether it is in stock.
    #[inline]
    pub fn count_code(&mut self, code: u64) -> bool {
        let layout = &self.layout;
        self.matched += 1;
        self.bands[band_of(code)] += 1;
        self.categories[((code >> CATEGORY_SHIFT) & layout.category_mask) as usize] += 1;
        self.brands[((code >> layout.brand_shift) & layout.brand_mask) as usize] += 1;
        self.available += code & 1;
        in_stock(code)
    }
}

impl SegmentCollector for CountsSegment {
    type Fruit = Counted;

    fn collect(&mut self, doc: DocId, _: Score) {
        self.count(doc);
    }

    fn harvest(self) -> Counted {
        let name = |names: &[String], counts: Vec<u64>| {
            // Slot 0 holds the documents without a value; slot n, ordinal n - 1.
            counts
                .into_iter()
                .zip(std::iter::once(None).chain(names.iter().map(Some)))
                .filter(|(n, _)| *n > 0)
                .filter_map(|(n, name)| Some((name?.clone(), n)))
                .collect::<HashMap<String, u64>>()
        };
        let mut bands = [0; PRICE_BANDS.len()];
        bands.copy_from_slice(&self.bands[..PRICE_BANDS.len()]);
        Counted {
            categories: name(&self.codes.category_names, self.categories),
            brands: name(&self.codes.brand_names, self.brands),
            bands,
            available: self.available,
            matched: self.matched,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_cover_every_price_once() {
        assert_eq!(band(0), 0);
        assert_eq!(band(2_499), 0);
        assert_eq!(band(2_500), 1);
        assert_eq!(band(99_999), 5);
        assert_eq!(band(100_000), 6);
        assert_eq!(band(u64::MAX), 6);
    }

    #[test]
    fn codes_are_as_narrow_as_the_segment_allows_and_unpack_to_what_was_packed() {
        // 48 categories and 10 brands (the synthetic catalog): 4 + 6 + 4 bits.
        let layout = Layout::fitting(48, 10).unwrap();
        assert_eq!(layout.bits(), 14);
        let code = layout.pack(true, 5, 48, 10);
        assert_eq!(code & 1, 1);
        assert_eq!((code >> BAND_SHIFT) & 0b111, 5);
        assert_eq!((code >> CATEGORY_SHIFT) & layout.category_mask, 48);
        assert_eq!((code >> layout.brand_shift) & layout.brand_mask, 10);
        let code = layout.pack(false, NO_BAND, 0, 1);
        assert_eq!(code & 1, 0);
        assert_eq!((code >> BAND_SHIFT) & 0b111, NO_BAND as u64);
        assert_eq!((code >> CATEGORY_SHIFT) & layout.category_mask, 0);
        assert_eq!((code >> layout.brand_shift) & layout.brand_mask, 1);
        // Wider catalogs take wider words; nothing beyond 64 bits is packed.
        assert_eq!(Layout::fitting(5_000, 20_000).unwrap().bits(), 4 + 13 + 15);
        assert_eq!(Layout::fitting(0, 0).unwrap().bits(), 4);
        assert!(Layout::fitting(1 << 40, 1 << 30).is_none());
    }
}
