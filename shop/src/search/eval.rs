//! Relevance evaluation: mean NDCG@10 of a ranking against graded human judgments (WANDS:
//! Exact = 2, Partial = 1, Irrelevant or unjudged = 0; linear gain, log2 discount).

use std::collections::HashMap;

/// One judged query.
#[derive(Clone, Debug)]
pub struct Judged {
    pub id: String,
    pub text: String,
    /// External product id → gain.
    pub gains: HashMap<String, u32>,
}

/// Reads WANDS' `query.tsv` and `label.tsv`, keeping the queries with at least one Exact or
/// Partial judgment.
pub fn wands(queries_tsv: &str, labels_tsv: &str) -> Vec<Judged> {
    let mut gains: HashMap<String, HashMap<String, u32>> = HashMap::new();
    for line in labels_tsv.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        if let [query, product, label] = f.as_slice() {
            let gain = match label.trim() {
                "Exact" => 2,
                "Partial" => 1,
                _ => 0,
            };
            gains
                .entry(query.to_string())
                .or_default()
                .insert(product.to_string(), gain);
        }
    }
    queries_tsv
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            let (id, text) = (f.first()?.to_string(), f.get(1)?.to_string());
            let gains = gains.remove(&id)?;
            gains
                .values()
                .any(|g| *g > 0)
                .then_some(Judged { id, text, gains })
        })
        .collect()
}

/// NDCG@k of `ranked` (external ids, best first) for `judged`.
pub fn ndcg(ranked: &[String], judged: &Judged, k: usize) -> f64 {
    let dcg: f64 = ranked
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, id)| f64::from(*judged.gains.get(id).unwrap_or(&0)) / ((i + 2) as f64).log2())
        .sum();
    let mut ideal: Vec<u32> = judged.gains.values().copied().collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, g)| f64::from(*g) / ((i + 2) as f64).log2())
        .sum();
    if idcg == 0.0 { 0.0 } else { dcg / idcg }
}

/// The query with one typo: in its longest word (of at least four letters), two letters after
/// the first swapped; a shorter word loses its last letter. Deterministic.
pub fn with_typo(text: &str) -> String {
    let words: Vec<&str> = text.split(' ').collect();
    let Some((index, word)) = words
        .iter()
        .enumerate()
        .filter(|(_, w)| w.chars().all(char::is_alphabetic))
        .max_by_key(|(i, w)| (w.chars().count(), usize::MAX - i))
    else {
        return text.to_string();
    };
    let mut chars: Vec<char> = word.chars().collect();
    if chars.len() >= 4 {
        let at = chars.len() / 2;
        chars.swap(at - 1, at);
    } else if chars.len() > 1 {
        chars.pop();
    }
    let typo: String = chars.into_iter().collect();
    words
        .iter()
        .enumerate()
        .map(|(i, w)| if i == index { typo.as_str() } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ndcg_is_one_for_the_ideal_order_and_less_otherwise() {
        let judged = Judged {
            id: "1".into(),
            text: "q".into(),
            gains: HashMap::from([("a".into(), 2), ("b".into(), 1), ("c".into(), 0)]),
        };
        let ideal = ["a", "b", "c"].map(String::from);
        assert!((ndcg(&ideal, &judged, 10) - 1.0).abs() < 1e-9);
        let worse = ["b", "a"].map(String::from);
        assert!(ndcg(&worse, &judged, 10) < 1.0);
        assert_eq!(ndcg(&[], &judged, 10), 0.0);
    }

    #[test]
    fn typos_are_injected_deterministically() {
        assert_eq!(with_typo("king poster bed"), "king potser bed");
        assert_eq!(
            with_typo("70s inspired furniture"),
            "70s inspired furinture"
        );
        assert_eq!(with_typo("bed"), "be");
    }
}
