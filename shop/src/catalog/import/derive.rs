//! Deterministic stand-ins for what a source lacks: prices, stock, variants, sellers.
//!
//! Everything here is a pure function of the product's own data (through a stable FNV-1a
//! hash, never `std`'s randomly seeded hasher), so importing the same file twice, on any
//! machine, gives the same catalog.

use super::{ProductInput, SellerInput, StockInput, VariantInput};
use crate::catalog::{Sku, VariantOption};
use crate::{Currency, Money};

/// The two demo warehouses. Stock of a variant is split between them.
pub const WAREHOUSES: [(&str, &str); 2] =
    [("main", "Main warehouse"), ("east", "East coast depot")];

/// A stable 64-bit FNV-1a hash of `parts`, each followed by a separator byte.
pub fn stable_hash(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0xff)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

/// A number in `lo..=hi` picked by `hash`.
pub fn pick(hash: u64, lo: i64, hi: i64) -> i64 {
    let span = u64::try_from(hi - lo + 1).unwrap_or(1).max(1);
    lo + i64::try_from(hash % span).unwrap_or(0)
}

/// The demo seller for a department (the first segment of a category path).
pub fn seller_for_department(department: &str) -> SellerInput {
    let (slug, name) = match department {
        "Beauty" => ("lumen-beauty", "Lumen Beauty"),
        "Electronics" => ("circuit-supply", "Circuit Supply"),
        "Clothing" | "Accessories" => ("threadline", "Threadline Apparel"),
        "Grocery" => ("pantry-market", "Pantry Market"),
        "Vehicles" => ("open-road", "Open Road Motors"),
        "Sports & Outdoors" => ("fieldhouse", "Fieldhouse Sports"),
        _ => ("northwind-home", "Northwind Home"),
    };
    SellerInput {
        slug: slug.to_string(),
        name: name.to_string(),
    }
}

/// A price range in cents for a WANDS product class (which the dataset has no prices for),
/// chosen to be plausible for the kind of thing it is.
fn class_price_range(class: &str) -> (i64, i64) {
    let c = class.to_ascii_lowercase();
    let ranges: &[(&str, (i64, i64))] = &[
        ("sauna", (189_900, 549_900)),
        ("bed", (24_900, 189_900)),
        ("sofa", (49_900, 249_900)),
        ("sectional", (89_900, 329_900)),
        ("recliner", (29_900, 129_900)),
        ("cabinet", (12_900, 89_900)),
        ("armoire", (29_900, 119_900)),
        ("desk", (14_900, 69_900)),
        ("table", (9_900, 79_900)),
        ("bookcase", (8_900, 49_900)),
        ("chair", (7_900, 59_900)),
        ("ottoman", (5_900, 34_900)),
        ("rug", (4_900, 59_900)),
        ("fountain", (6_900, 79_900)),
        ("chandelier", (12_900, 99_900)),
        ("light", (3_900, 39_900)),
        ("sconce", (3_900, 24_900)),
        ("lamp", (3_900, 29_900)),
        ("mount", (3_900, 29_900)),
        ("art", (2_900, 39_900)),
        ("clock", (2_900, 19_900)),
        ("pillow", (1_900, 8_900)),
        ("sheet", (2_900, 14_900)),
        ("candle", (1_500, 7_900)),
        ("wreath", (2_900, 12_900)),
        ("dish", (1_500, 8_900)),
        ("platter", (1_500, 8_900)),
        ("knob", (1_200, 6_900)),
    ];
    ranges
        .iter()
        .find(|(key, _)| c.contains(key))
        .map(|(_, r)| *r)
        .unwrap_or((1_900, 19_900))
}

/// A weight range in grams for a WANDS product class (the dataset has no weights), by the
/// same class words as the prices: a sofa weighs tens of kilograms, a knob a few hundred grams.
fn class_weight_range(class: &str) -> (i64, i64) {
    let c = class.to_ascii_lowercase();
    let ranges: &[(&str, (i64, i64))] = &[
        ("sauna", (150_000, 400_000)),
        ("bed", (30_000, 120_000)),
        ("sofa", (40_000, 110_000)),
        ("sectional", (70_000, 180_000)),
        ("recliner", (30_000, 70_000)),
        ("cabinet", (15_000, 80_000)),
        ("armoire", (40_000, 120_000)),
        ("desk", (15_000, 60_000)),
        ("table", (8_000, 60_000)),
        ("bookcase", (12_000, 50_000)),
        ("chair", (5_000, 25_000)),
        ("ottoman", (4_000, 20_000)),
        ("rug", (3_000, 30_000)),
        ("fountain", (5_000, 60_000)),
        ("chandelier", (4_000, 25_000)),
        ("light", (1_000, 8_000)),
        ("sconce", (500, 4_000)),
        ("lamp", (1_000, 8_000)),
        ("mount", (1_000, 6_000)),
        ("art", (1_000, 10_000)),
        ("clock", (500, 4_000)),
        ("pillow", (300, 2_000)),
        ("sheet", (1_000, 3_000)),
        ("candle", (200, 1_500)),
        ("wreath", (500, 3_000)),
        ("dish", (300, 2_000)),
        ("platter", (500, 3_000)),
        ("knob", (100, 600)),
    ];
    ranges
        .iter()
        .find(|(key, _)| c.contains(key))
        .map(|(_, r)| *r)
        .unwrap_or((1_000, 10_000))
}

/// A WANDS product's weight in grams: in its class's range, to the hundred grams, the same
/// on every import (a hash of the product's id, like its price and stock).
pub fn wands_weight_grams(external_id: &str, class: &str) -> i64 {
    let (lo, hi) = class_weight_range(class);
    pick(
        stable_hash(&["wands-weight", external_id]),
        lo / 100,
        hi / 100,
    ) * 100
}

/// A WANDS product's base price: in its class's range, ending in .99 like shop prices do.
pub fn wands_price(external_id: &str, class: &str) -> i64 {
    let (lo, hi) = class_price_range(class);
    let dollars = pick(
        stable_hash(&["wands-price", external_id]),
        lo / 100,
        hi / 100,
    );
    dollars * 100 + 99
}

/// A WANDS product's total stock: mostly a few dozen, about one in twelve sold out.
pub fn wands_stock(external_id: &str) -> i64 {
    let h = stable_hash(&["wands-stock", external_id]);
    if h.is_multiple_of(12) {
        0
    } else {
        pick(h >> 8, 1, 60)
    }
}

/// One row of a variant table: the option's value and the price as a percentage of base.
type Option_ = (&'static str, u32);

/// The variant axis a product gets, by its category and class: `(option name, values)`.
/// Products that match nothing keep the single variant their source describes.
fn variant_axis(category: &[String], class: &str) -> Option<(&'static str, &'static [Option_])> {
    let leaf = category.last().map(String::as_str).unwrap_or("");
    let class = class.to_ascii_lowercase();
    const BED: &[Option_] = &[("Twin", 100), ("Full", 115), ("Queen", 125), ("King", 140)];
    const RUG: &[Option_] = &[("5' × 8'", 100), ("8' × 10'", 170), ("9' × 12'", 230)];
    const FRAGRANCE: &[Option_] = &[("50 ml", 100), ("100 ml", 160)];
    const LAPTOP: &[Option_] = &[("16 GB · 512 GB", 100), ("32 GB · 1 TB", 125)];
    const PHONE: &[Option_] = &[("128 GB", 100), ("256 GB", 115), ("512 GB", 135)];
    const APPAREL: &[Option_] = &[("S", 100), ("M", 100), ("L", 100), ("XL", 100)];
    const MENS_SHOES: &[Option_] = &[
        ("EU 41", 100),
        ("EU 42", 100),
        ("EU 43", 100),
        ("EU 44", 100),
    ];
    const WOMENS_SHOES: &[Option_] = &[
        ("EU 37", 100),
        ("EU 38", 100),
        ("EU 39", 100),
        ("EU 40", 100),
    ];
    if class.contains("bed") && !class.contains("bedding") && !class.contains("daybed") {
        return Some(("Size", BED));
    }
    if class.contains("rug") && !class.contains("pad") {
        return Some(("Size", RUG));
    }
    let path: Vec<&str> = category.iter().map(String::as_str).collect();
    match (path.as_slice(), leaf) {
        (_, "Fragrances") => Some(("Size", FRAGRANCE)),
        (_, "Laptops") => Some(("Configuration", LAPTOP)),
        (_, "Smartphones" | "Tablets") => Some(("Storage", PHONE)),
        (["Clothing", "Men", "Shoes"], _) => Some(("Size", MENS_SHOES)),
        (["Clothing", "Women", "Shoes"], _) => Some(("Size", WOMENS_SHOES)),
        (["Clothing", ..], _) => Some(("Size", APPAREL)),
        _ => None,
    }
}

/// Turns one source product (base SKU, base price, total stock) into its variants, each
/// with its stock split across the demo warehouses.
pub fn variants(
    external_id: &str,
    base_sku: &Sku,
    base_price: i64,
    currency: Currency,
    total_stock: i64,
    category: &[String],
    class: &str,
) -> Vec<VariantInput> {
    let Some((axis, values)) = variant_axis(category, class) else {
        return vec![VariantInput {
            sku: base_sku.clone(),
            options: vec![],
            price: Money::new(base_price, currency),
            stock: split_stock(external_id, base_sku.as_str(), total_stock),
        }];
    };
    let n = i64::try_from(values.len()).unwrap_or(1);
    values
        .iter()
        .enumerate()
        .map(|(i, (value, percent))| {
            // A stable SKU per option: the base SKU plus the option's letters and digits.
            let suffix: String = value
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
                .to_ascii_uppercase();
            let mut sku_text = format!("{}-{suffix}", base_sku.as_str());
            sku_text.truncate(64);
            let sku = Sku::parse(&sku_text).unwrap_or_else(|_| base_sku.clone());
            // Round the scaled price to a whole dollar minus a cent, as shops price.
            let scaled = base_price * i64::from(*percent) / 100;
            let price = if *percent == 100 {
                base_price
            } else {
                (scaled / 100) * 100 + 99
            };
            // Stock is spread over the variants; the remainder goes to the first ones.
            let i = i64::try_from(i).unwrap_or(0);
            let share = total_stock / n + i64::from(i < total_stock % n);
            VariantInput {
                stock: split_stock(external_id, &sku_text, share),
                sku,
                options: vec![VariantOption {
                    name: axis.to_string(),
                    value: value.to_string(),
                }],
                price: Money::new(price, currency),
            }
        })
        .collect()
}

/// Splits `total` units between the demo warehouses: most in `main`, some in `east`.
pub fn split_stock(external_id: &str, sku: &str, total: i64) -> Vec<StockInput> {
    let east_percent = pick(stable_hash(&["split", external_id, sku]), 0, 40);
    let east = total * east_percent / 100;
    vec![
        StockInput {
            warehouse: WAREHOUSES[0].0.to_string(),
            quantity: total - east,
        },
        StockInput {
            warehouse: WAREHOUSES[1].0.to_string(),
            quantity: east,
        },
    ]
}

/// Title-cases a lower-case WANDS name: `king tufted bed` → `King Tufted Bed`, and
/// `70.87 '' h` → `70.87" H`.
pub fn title_case(name: &str) -> String {
    const SMALL: [&str; 12] = [
        "a", "an", "and", "by", "for", "in", "of", "on", "or", "the", "to", "with",
    ];
    let name = name.replace(" ''", "\"").replace("''", "\"");
    let mut out = Vec::new();
    for (i, word) in name.split_whitespace().enumerate() {
        if i > 0 && (SMALL.contains(&word) || word == "x") {
            out.push(word.to_string());
            continue;
        }
        let mut chars = word.chars();
        let titled = match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => String::new(),
        };
        out.push(titled);
    }
    out.join(" ")
}

/// A short description for a product whose source has none.
pub fn description(title: &str, classes: &str, category: &[String]) -> String {
    let leaf = category.last().map(String::as_str).unwrap_or("Home");
    let classes = classes.replace('|', ", ");
    if classes.is_empty() {
        format!("{title}, from our {leaf} range.")
    } else {
        format!("{title}. {classes}, from our {leaf} range.")
    }
}

/// Checks the derived parts of an input before it is written: the things a hand-written
/// feed could get wrong too.
pub fn check(input: &ProductInput) -> Result<(), String> {
    if input.variants.is_empty() {
        return Err("has no variants".into());
    }
    let currency = input.variants[0].price.currency;
    if input.variants.iter().any(|v| v.price.currency != currency) {
        return Err("mixes currencies across its variants".into());
    }
    let mut skus: Vec<&str> = input.variants.iter().map(|v| v.sku.as_str()).collect();
    skus.sort_unstable();
    if skus.windows(2).any(|w| w[0] == w[1]) {
        return Err("lists the same SKU twice".into());
    }
    if input
        .variants
        .iter()
        .flat_map(|v| &v.stock)
        .any(|s| s.quantity < 0 || s.quantity > 1_000_000_000)
    {
        return Err("stock must be between 0 and 1,000,000,000".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_stable_across_runs_and_machines() {
        // Fixed expectations: a change here would reshuffle every derived price.
        assert_eq!(stable_hash(&[]), 0xcbf2_9ce4_8422_2325);
        assert_eq!(stable_hash(&["a"]), stable_hash(&["a"]));
        assert_ne!(stable_hash(&["ab", "c"]), stable_hash(&["a", "bc"]));
    }

    #[test]
    fn beds_get_sizes_with_rising_prices() {
        let sku = Sku::parse("WANDS-13").unwrap();
        let category = vec!["Furniture".to_string(), "Beds".to_string()];
        let v = variants("13", &sku, 49_999, Currency::USD, 10, &category, "Beds");
        let labels: Vec<_> = v.iter().map(|v| v.options[0].value.as_str()).collect();
        assert_eq!(labels, ["Twin", "Full", "Queen", "King"]);
        assert!(v.windows(2).all(|w| w[0].price.amount < w[1].price.amount));
        let total: i64 = v.iter().flat_map(|v| &v.stock).map(|s| s.quantity).sum();
        assert_eq!(total, 10, "stock is split, never invented");
        assert_eq!(v[3].sku.as_str(), "WANDS-13-KING");
    }

    #[test]
    fn other_products_keep_one_variant() {
        let sku = Sku::parse("BEA-1").unwrap();
        let v = variants(
            "1",
            &sku,
            999,
            Currency::USD,
            5,
            &["Beauty".into(), "Makeup".into()],
            "",
        );
        assert_eq!(v.len(), 1);
        assert!(v[0].options.is_empty());
        assert_eq!(v[0].price.amount, 999);
    }

    #[test]
    fn wands_names_read_like_titles() {
        assert_eq!(
            title_case("lugent 70.87 '' h x 70.87 '' w steel etagere bookcase"),
            "Lugent 70.87\" H x 70.87\" W Steel Etagere Bookcase"
        );
        assert_eq!(title_case("bed with storage"), "Bed with Storage");
    }

    #[test]
    fn derived_prices_sit_in_their_class_range() {
        for id in ["1", "2", "3", "400"] {
            let p = wands_price(id, "Beds");
            assert!((24_900..=189_999).contains(&p), "{p}");
            assert_eq!(p % 100, 99);
        }
    }
}
