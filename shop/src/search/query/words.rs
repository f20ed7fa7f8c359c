//! Word analysis: what the shopper typed, as the words the index knows.
//!
//! The text is analysed like the index (lower case, accents folded, English stems) and never
//! parsed as query syntax, so `title:(x) AND *` is just three words; stop words are dropped.
//! Words run together ("roomtables") are split where both halves are real words. Each word
//! then gets its candidates, the index words it stands for, each weighted by how it was found:
//! its own stem, its synonyms from the shop's list (`synonyms.txt`), words one or two typos
//! away when the index does not know it (by length, keeping the first letter), and — for the
//! last word while the shopper is still typing — words it begins. `build` turns the
//! candidates into queries.

use crate::search::engine::Engine;
use crate::search::schema::{analyzer, raw_analyzer};
use crate::search::synonyms::synonyms;
use std::collections::HashMap;
use tantivy::schema::Field;
use tantivy::{Searcher, Term};

/// Words that carry no meaning in a product search.
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "is", "it", "of", "on",
    "or", "the", "to", "with", "without",
];

/// The most words of one query that are looked up (after stop words). Each costs dictionary
/// scans for typos and compounds; a shopper's query is a few words, and a pasted paragraph
/// must not cost a hundred scans.
pub const MAX_WORDS: usize = 12;

/// How much a candidate word counts, by how it was found.
pub const EXACT: f32 = 1.0;
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
        // Room for stop words among the words kept (they are dropped below).
        while let Some(token) = stream.next()
            && typed.len() < MAX_WORDS * 2
        {
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
        .take(MAX_WORDS)
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
