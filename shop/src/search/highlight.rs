//! The query's words highlighted in a result's title and description.
//!
//! The same snippets Tantivy's generator makes (the best fragment of at most so many
//! characters, fragments with rarer words winning, the query's words in `<b>`; escaped as the
//! rest of the shop's HTML, so an apostrophe is `&#39;`), made more cheaply: that generator
//! runs the field's whole analyzer over every shown text, and stemming every word was most of
//! a page's snippet time.
//!
//! Here a word is stemmed only when it could stem to one of the query's words. An English
//! stem keeps all of its word's letters but maybe the last (it drops endings, and may then
//! turn a final "y" into "i" or add an "e": "happy" → "happi", "hoping" → "hope"), so a word
//! that does not begin with some query stem minus its last letter cannot match. The few words
//! the stemmer rewrites wholesale ("dying" → "die") are not highlighted.

use super::schema::raw_analyzer;
use super::service::escape_into;
use std::collections::HashMap;
use std::ops::Range;
use tantivy::query::Query;
use tantivy::schema::{Field, Value};
use tantivy::tokenizer::{Language, RawTokenizer, Stemmer, TextAnalyzer};
use tantivy::{Score, Searcher, TantivyDocument};

/// Words longer than this (in bytes) are dropped by the index's analyzer: never highlighted.
const LONGEST_WORD: usize = 40;

/// Snippets of one field for one query.
pub struct Highlighter {
    field: Field,
    max_chars: usize,
    /// The query's stems in this field, each scored by its rarity.
    terms: HashMap<String, Score>,
    /// Each stem but its last letter: a word must begin with one of these to be stemmed.
    prefixes: Vec<String>,
    stemmer: TextAnalyzer,
    /// A word lower-cased and accents folded, reused from word to word.
    folded: String,
    surface: TextAnalyzer,
    /// The words stemmed so far and what they scored: the page's snippets repeat the same
    /// few words (the query's, in titles and descriptions alike).
    stemmed: HashMap<String, Option<Score>>,
}

/// A candidate fragment: a byte range of the text, its words' rarity, the words in it.
struct Fragment {
    range: Range<usize>,
    score: Score,
    highlighted: Vec<Range<usize>>,
}

impl Highlighter {
    /// Highlights the terms of `query` that are in `field` (and in the index), in fragments of
    /// at most `max_chars`, as Tantivy's generator scores them: a word found in `n` documents
    /// adds `1 / (1 + n)`.
    pub fn new(
        searcher: &Searcher,
        query: &dyn Query,
        field: Field,
        max_chars: usize,
    ) -> tantivy::Result<Highlighter> {
        let mut found = Vec::new();
        query.query_terms(&mut |term, _| {
            if term.field() == field {
                found.push(term.clone());
            }
        });
        let mut terms: HashMap<String, Score> = HashMap::new();
        for term in found {
            let value = term.value();
            let Some(text) = value.as_str() else {
                continue;
            };
            if terms.contains_key(text) {
                continue;
            }
            let doc_freq = searcher.doc_freq(&term)?;
            if doc_freq > 0 {
                terms.insert(text.to_string(), 1.0 / (1.0 + doc_freq as Score));
            }
        }
        Ok(Highlighter::with_terms(field, terms, max_chars))
    }

    fn with_terms(field: Field, terms: HashMap<String, Score>, max_chars: usize) -> Highlighter {
        let prefixes = terms.keys().map(|stem| all_but_last(stem)).collect();
        Highlighter {
            field,
            max_chars,
            terms,
            prefixes,
            stemmer: TextAnalyzer::builder(RawTokenizer::default())
                .filter(Stemmer::new(Language::English))
                .build(),
            folded: String::new(),
            surface: raw_analyzer(),
            stemmed: HashMap::new(),
        }
    }

    /// The best fragment of the document's text in the field, as HTML with the query's words
    /// in `<b>`; empty when the field has none of them.
    pub fn html(&mut self, doc: &TantivyDocument) -> String {
        let mut values = doc
            .get_all(self.field)
            .filter_map(|v| v.as_str())
            .peekable();
        let first = values.next().unwrap_or("");
        if values.peek().is_none() {
            return self.snippet(first.trim());
        }
        let mut text = first.to_string();
        for value in values {
            text.push(' ');
            text.push_str(value);
        }
        self.snippet(text.trim())
    }

    /// The best fragment of `text`, as HTML.
    pub fn snippet(&mut self, text: &str) -> String {
        if self.terms.is_empty() {
            return String::new();
        }
        let mut best: Option<Fragment> = None;
        let mut current = Fragment {
            range: 0..0,
            score: 0.0,
            highlighted: Vec::new(),
        };
        let keep = |fragment: Fragment, best: &mut Option<Fragment>| {
            // The highest score wins; of equal ones, the first.
            if fragment.score > 0.0 && best.as_ref().is_none_or(|b| fragment.score > b.score) {
                *best = Some(fragment);
            }
        };
        for word in words(text) {
            if word.end - current.range.start > self.max_chars {
                let next = Fragment {
                    range: word.start..word.start,
                    score: 0.0,
                    highlighted: Vec::new(),
                };
                keep(std::mem::replace(&mut current, next), &mut best);
            }
            current.range.end = word.end;
            if let Some(score) = self.score(&text[word.clone()]) {
                current.score += score;
                current.highlighted.push(word);
            }
        }
        keep(current, &mut best);
        best.map_or_else(String::new, |fragment| to_html(text, &fragment))
    }

    /// The rarity score of `word` if it stems to one of the query's words.
    fn score(&mut self, word: &str) -> Option<Score> {
        self.folded.clear();
        if word.is_ascii() {
            self.folded
                .extend(word.bytes().map(|b| char::from(b.to_ascii_lowercase())));
        } else {
            let mut stream = self.surface.token_stream(word);
            while let Some(token) = stream.next() {
                self.folded.push_str(&token.text);
            }
        }
        let folded = self.folded.as_str();
        if !self.prefixes.iter().any(|p| folded.starts_with(p.as_str())) {
            return None;
        }
        if let Some(score) = self.stemmed.get(folded) {
            return *score;
        }
        let mut stream = self.stemmer.token_stream(folded);
        let score = stream
            .next()
            .and_then(|stem| self.terms.get(&stem.text).copied());
        self.stemmed.insert(self.folded.clone(), score);
        score
    }
}

/// The byte ranges of `text`'s words as the index's tokenizer splits them (runs of letters
/// and digits), without those the analyzer drops as too long.
fn words(text: &str) -> impl Iterator<Item = Range<usize>> + '_ {
    let mut chars = text.char_indices().peekable();
    std::iter::from_fn(move || {
        loop {
            let (start, _) = chars.by_ref().find(|(_, c)| c.is_alphanumeric())?;
            let mut end = text.len();
            while let Some((at, c)) = chars.peek() {
                if !c.is_alphanumeric() {
                    end = *at;
                    break;
                }
                chars.next();
            }
            if end - start < LONGEST_WORD {
                return Some(start..end);
            }
        }
    })
}

fn all_but_last(word: &str) -> String {
    let mut chars = word.chars();
    chars.next_back();
    chars.as_str().to_string()
}

/// The fragment's text, escaped, with its highlighted words in `<b>`.
fn to_html(text: &str, fragment: &Fragment) -> String {
    let mut html = String::with_capacity(fragment.range.len() + 16);
    let mut at = fragment.range.start;
    for word in &fragment.highlighted {
        escape_into(&mut html, &text[at..word.start]);
        html.push_str("<b>");
        escape_into(&mut html, &text[word.clone()]);
        html.push_str("</b>");
        at = word.end;
    }
    escape_into(&mut html, &text[at..fragment.range.end]);
    html
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::schema::analyzer;
    use tantivy::schema::Schema;
    use tantivy::snippet::SnippetGenerator;

    fn stem(word: &str) -> String {
        let mut analyzer = analyzer();
        let mut stream = analyzer.token_stream(word);
        stream.next().map(|t| t.text.clone()).unwrap_or_default()
    }

    #[test]
    fn a_stem_keeps_its_words_letters_but_the_last() {
        let words = "happy happiness hopping hoping ponies skies cities running sized \
                     generously conflated agreed feed knives leaves tables chairs sofas \
                     analysis bookcases dressers luxurious rustic storage cabinets \
                     fountains brick lighting vanities mirrors shelving dining outdoor \
                     sectional loveseat ottomans dryer dried drying tries trying";
        for word in words.split_whitespace() {
            let s = stem(word);
            assert!(
                word.starts_with(&all_but_last(&s)),
                "{word} stems to {s}, which is not its own letters"
            );
        }
        // The stemmer's wholesale exceptions, which are not highlighted.
        assert_eq!(stem("dying"), "die");
    }

    #[test]
    fn snippets_are_the_ones_tantivys_generator_makes() {
        let field = Schema::builder().add_text_field("t", tantivy::schema::TEXT);
        let texts = [
            "Modern walnut coffee table with two drawers & a shelf",
            "Hoping for happy days: a cheerful rug, rugs and more rugs for the hallway",
            "A plain sentence without any of the words",
            "Café chairs — CAFÉ tables, café lighting <b>bold</b> \"quoted\" and more",
            "Long description of a sofa. It goes on and on about comfort, then mentions \
             the sectional sofa again near the end, after many words about cushions and \
             fabric and legs and colours, to make the fragments split somewhere.",
            "",
        ];
        let queries: [&[&str]; 5] = [
            &["tabl", "walnut"],
            &["rug", "happi", "hope"],
            &["cafe", "chair"],
            &["sofa", "section"],
            &["nothing"],
        ];
        for words in queries {
            let terms: HashMap<String, Score> = words
                .iter()
                .enumerate()
                .map(|(i, w)| (w.to_string(), 1.0 / (2.0 + i as Score)))
                .collect();
            for max in [20, 60, 160, 400] {
                let theirs = SnippetGenerator::new(
                    terms.clone().into_iter().collect(),
                    analyzer(),
                    field,
                    max,
                );
                let mut ours = Highlighter::with_terms(field, terms.clone(), max);
                for text in texts {
                    assert_eq!(
                        ours.snippet(text),
                        theirs.snippet(text).to_html(),
                        "{text:?} for {words:?} in {max} characters"
                    );
                }
            }
        }
    }
}
