//! The index's schema, built once into a typed struct of field handles, and its analyzer.

use tantivy::Index;
use tantivy::schema::{
    FAST, FacetOptions, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema,
    TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    TextAnalyzer,
};

/// Bumped whenever the schema or the analyzer changes: an index of another version is
/// rebuilt from the database.
pub const SCHEMA_VERSION: u32 = 3;

/// The analyzer of every text field: words of letters and digits, lower-cased, accents
/// folded, English stems (so "beds" finds "bed").
pub const ANALYZER: &str = "emporium_en";

/// The same without stems: the surface words shoppers type, for typo and prefix candidates.
pub const RAW_ANALYZER: &str = "emporium_raw";

/// Every field, by role.
#[derive(Clone, Copy, Debug)]
pub struct Fields {
    pub product_id: Field,
    pub external_id: Field,
    pub slug: Field,
    pub title: Field,
    pub description: Field,
    pub brand: Field,
    pub brand_facet: Field,
    pub class: Field,
    pub category: Field,
    pub category_facet: Field,
    pub category_name: Field,
    /// The leaf category's path and the brand as fast columns: facet counts read these
    /// (one ordinal per document) instead of the slower facet fields, which filters use.
    pub category_key: Field,
    pub brand_key: Field,
    pub seller: Field,
    /// Everything a shopper might type, in one field, stemmed.
    pub all: Field,
    /// The same words unstemmed: the vocabulary that typo tolerance, prefixes and "did you
    /// mean" draw their candidates from (a typo breaks a stem, not a surface word).
    pub all_raw: Field,
    /// Lowest variant price, minor units.
    pub price: Field,
    pub price_varies: Field,
    pub currency: Field,
    /// Hundredths of a star plus one; 0 means unrated.
    pub rating: Field,
    /// 1 when any variant has units available anywhere.
    pub in_stock: Field,
    pub created_at: Field,
}

impl Fields {
    /// The schema and its field handles.
    pub fn build() -> (Schema, Fields) {
        let mut b = Schema::builder();
        let raw = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(RAW_ANALYZER)
                .set_index_option(IndexRecordOption::Basic),
        );
        let text = |stored: bool| {
            let indexing = TextFieldIndexing::default()
                .set_tokenizer(ANALYZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions);
            let options = TextOptions::default().set_indexing_options(indexing);
            if stored {
                options.set_stored()
            } else {
                options
            }
        };
        let fields = Fields {
            product_id: b.add_u64_field("product_id", INDEXED | STORED | FAST),
            external_id: b.add_text_field("external_id", STRING | STORED),
            slug: b.add_text_field("slug", STORED),
            title: b.add_text_field("title", text(true)),
            description: b.add_text_field("description", text(true)),
            brand: b.add_text_field("brand", text(true)),
            brand_facet: b.add_facet_field("brand_facet", FacetOptions::default()),
            class: b.add_text_field("class", text(false)),
            category: b.add_text_field("category", text(false)),
            category_facet: b
                .add_facet_field("category_facet", FacetOptions::default().set_stored()),
            category_name: b.add_text_field("category_name", STORED),
            category_key: b.add_text_field("category_key", STRING | FAST),
            brand_key: b.add_text_field("brand_key", STRING | FAST),
            seller: b.add_text_field("seller", STRING | STORED),
            all: b.add_text_field("all", text(false)),
            all_raw: b.add_text_field("all_raw", raw),
            price: b.add_u64_field("price", FAST | STORED),
            price_varies: b.add_u64_field("price_varies", STORED),
            currency: b.add_text_field("currency", STORED),
            rating: b.add_u64_field("rating", FAST | STORED),
            in_stock: b.add_u64_field("in_stock", INDEXED | FAST | STORED),
            created_at: b.add_i64_field("created_at", FAST),
        };
        (b.build(), fields)
    }
}

/// Registers the analyzers with an index (every open and create must).
pub fn register_analyzer(index: &Index) {
    index.tokenizers().register(ANALYZER, analyzer());
    index.tokenizers().register(RAW_ANALYZER, raw_analyzer());
}

/// Surface words: lower-cased, accents folded, not stemmed.
pub fn raw_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// The analyzer on its own, for analysing query text the same way the index was.
pub fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(Language::English))
        .build()
}
