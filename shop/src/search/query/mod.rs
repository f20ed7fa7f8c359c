//! Turning a shopper's words into Tantivy queries, and running them with facets: in three
//! parts, in the order a search goes through them.
//!
//! - `words`: word analysis. The text as the index's words (stems, run-together words split,
//!   stop words dropped), each with its candidates: its own stem, synonyms, words a typo or
//!   two away, words it begins while the shopper types.
//! - `build`: query building. The words' full form (every searched field, weighted, with a
//!   title phrase bonus) that scores, their cheap form (one field, "most of the words") that
//!   matches and counts, and the filters.
//! - `run`: running. A search from its text to a page of documents, its total and facets,
//!   through a first stage (`first_stage`), with "any word" when "most" finds too little; and
//!   autocomplete titles and similar products.

mod build;
mod run;
mod words;

pub use build::{Filters, keep};
pub use run::{Rank, Stages, run, similar, suggest_titles};
