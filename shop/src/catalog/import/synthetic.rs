//! A deterministic synthetic catalog of any size (up to a million products) for benchmarks:
//! the same `n` always gives the same products, prices and stock.

use super::{ParsedRow, ProductInput, derive};
use crate::Currency;
use crate::catalog::{Rating, Sku};

const DEPARTMENTS: [(&str, [&str; 6]); 8] = [
    (
        "Furniture",
        ["Sofas", "Beds", "Tables", "Chairs", "Desks", "Bookcases"],
    ),
    (
        "Lighting",
        [
            "Floor Lamps",
            "Table Lamps",
            "Pendants",
            "Sconces",
            "Chandeliers",
            "Outdoor Lights",
        ],
    ),
    (
        "Kitchen & Tabletop",
        [
            "Cookware",
            "Bakeware",
            "Knives",
            "Dinnerware",
            "Glassware",
            "Storage",
        ],
    ),
    (
        "Rugs",
        [
            "Area Rugs",
            "Runners",
            "Outdoor Rugs",
            "Rug Pads",
            "Doormats",
            "Kids Rugs",
        ],
    ),
    (
        "Electronics",
        [
            "Laptops",
            "Smartphones",
            "Tablets",
            "Headphones",
            "Speakers",
            "Cameras",
        ],
    ),
    (
        "Clothing",
        [
            "Shirts", "Dresses", "Jackets", "Knitwear", "Trousers", "Shoes",
        ],
    ),
    (
        "Beauty",
        [
            "Fragrances",
            "Skin Care",
            "Makeup",
            "Hair Care",
            "Bath",
            "Tools",
        ],
    ),
    (
        "Sports & Outdoors",
        [
            "Camping",
            "Cycling",
            "Fitness",
            "Running",
            "Climbing",
            "Water Sports",
        ],
    ),
];
const ADJECTIVES: [&str; 16] = [
    "Classic",
    "Modern",
    "Rustic",
    "Compact",
    "Deluxe",
    "Everyday",
    "Nordic",
    "Urban",
    "Coastal",
    "Vintage",
    "Essential",
    "Premium",
    "Studio",
    "Heritage",
    "Minimal",
    "Grand",
];
const MATERIALS: [&str; 12] = [
    "Oak", "Walnut", "Linen", "Steel", "Ceramic", "Wool", "Cotton", "Bamboo", "Marble", "Leather",
    "Glass", "Brass",
];
const BRANDS: [&str; 10] = [
    "Aldgate",
    "Brightwell",
    "Corvina",
    "Dunmore",
    "Elmhurst",
    "Fairlane",
    "Greystone",
    "Halden",
    "Ivywood",
    "Juniper",
];

/// The `n` products of the synthetic catalog, generated lazily.
/// The words synthetic products are made of (adjectives, materials, item nouns, brands), for
/// building realistic query logs against a synthetic catalog.
pub fn synthetic_vocabulary() -> Vec<&'static str> {
    let mut words: Vec<&'static str> = ADJECTIVES.to_vec();
    words.extend(MATERIALS);
    for (_, leaves) in DEPARTMENTS {
        words.extend(leaves.iter().map(|l| l.trim_end_matches('s')));
    }
    words.extend(BRANDS);
    words
}

pub fn synthetic(n: usize) -> impl Iterator<Item = ParsedRow> {
    (0..n).map(|i| ParsedRow {
        line: i + 1,
        product: product(i),
    })
}

fn product(i: usize) -> Result<ProductInput, String> {
    let id = format!("syn-{i}");
    let h = derive::stable_hash(&["synthetic", &id]);
    let (department, leaves) = DEPARTMENTS[i % DEPARTMENTS.len()];
    let leaf = leaves[(i / DEPARTMENTS.len()) % leaves.len()];
    // The item noun is the leaf without its plural 's', which reads well enough for test data.
    let noun = leaf.trim_end_matches('s');
    let title = format!(
        "{} {} {} {}",
        ADJECTIVES[(h % 16) as usize],
        MATERIALS[((h >> 8) % 12) as usize],
        noun,
        i
    );
    let category = vec![department.to_string(), leaf.to_string()];
    let price = derive::pick(h >> 16, 5, 2_000) * 100 + 99;
    let stock = derive::pick(h >> 32, 0, 200);
    let sku = Sku::parse(&format!("SYN-{i}")).map_err(|e| e.to_string())?;
    let variants = derive::variants(&id, &sku, price, Currency::shop(), stock, &category, leaf);
    Ok(ProductInput {
        source: "synthetic".into(),
        seller: derive::seller_for_department(department),
        description: format!(
            "{title}: a synthetic product for benchmarks, in {department} / {leaf}."
        ),
        brand: Some(BRANDS[((h >> 40) % 10) as usize].to_string()),
        product_class: Some(noun.to_string()),
        rating: Rating::from_hundredths(derive::pick(h >> 48, 100, 500)).ok(),
        weight_grams: Some(derive::pick(h >> 24, 1, 200) * 100),
        external_id: id,
        title,
        category,
        variants,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_synthetic_catalog_is_deterministic() {
        let a: Vec<_> = synthetic(50).collect();
        let b: Vec<_> = synthetic(50).collect();
        assert_eq!(a, b);
        assert!(a.iter().all(|r| r.product.is_ok()));
        let titles: std::collections::HashSet<_> = a
            .iter()
            .map(|r| r.product.as_ref().unwrap().title.clone())
            .collect();
        assert_eq!(titles.len(), 50, "titles are unique");
    }
}
