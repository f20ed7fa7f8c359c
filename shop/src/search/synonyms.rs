//! The shop's synonym list (`synonyms.txt`), parsed once.

use std::collections::HashMap;
use std::sync::LazyLock;

static SYNONYMS: LazyLock<Synonyms> =
    LazyLock::new(|| Synonyms::parse(include_str!("synonyms.txt")));

/// Word → the other words it stands for.
#[derive(Debug, Default)]
pub struct Synonyms {
    map: HashMap<String, Vec<String>>,
}

impl Synonyms {
    /// Parses the list's format: `a, b, c` (each stands for the others) or `a, b => c` (`a`
    /// and `b` also mean `c`). Blank lines and `#` comments are skipped.
    pub fn parse(text: &str) -> Self {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        let words = |s: &str| -> Vec<String> {
            s.split(',')
                .map(|w| w.trim().to_lowercase())
                .filter(|w| !w.is_empty())
                .collect()
        };
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (from, to) = match line.split_once("=>") {
                Some((from, to)) => (words(from), words(to)),
                None => (words(line), words(line)),
            };
            for f in &from {
                let entry = map.entry(f.clone()).or_default();
                for t in &to {
                    if t != f && !entry.contains(t) {
                        entry.push(t.clone());
                    }
                }
            }
        }
        Synonyms { map }
    }

    pub fn of(&self, word: &str) -> &[String] {
        self.map.get(word).map_or(&[], Vec::as_slice)
    }
}

/// The shop's list.
pub fn synonyms() -> &'static Synonyms {
    &SYNONYMS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_mutual_and_arrows_one_way() {
        let s = Synonyms::parse("# c\nsofa, couch\nspoon, fork => utensil\n\n");
        assert_eq!(s.of("sofa"), ["couch"]);
        assert_eq!(s.of("couch"), ["sofa"]);
        assert_eq!(s.of("fork"), ["utensil"]);
        assert!(s.of("utensil").is_empty());
        assert!(s.of("chair").is_empty());
    }

    #[test]
    fn the_shop_list_parses() {
        assert!(synonyms().of("couch").contains(&"sofa".to_string()));
    }
}
