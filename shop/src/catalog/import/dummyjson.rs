//! DummyJSON's `products.json`: a JSON array of products (or the API's
//! `{"products": [...]}`), with decimal USD prices and a stock count per product.

use super::{ParsedRow, ProductInput, derive};
use crate::catalog::{Rating, Sku};
use crate::{Currency, Money};
use serde::Deserialize;
use serde_json::value::RawValue;

/// DummyJSON's category slugs, placed in the shop's department tree.
fn category_path(slug: &str) -> Vec<String> {
    let path: &[&str] = match slug {
        "beauty" => &["Beauty", "Makeup"],
        "fragrances" => &["Beauty", "Fragrances"],
        "skin-care" => &["Beauty", "Skin Care"],
        "furniture" => &["Furniture", "Living Room Furniture"],
        "home-decoration" => &["Décor & Pillows", "Decorative Accents"],
        "kitchen-accessories" => &["Kitchen & Tabletop", "Kitchen Utensils & Tools"],
        "groceries" => &["Grocery"],
        "laptops" => &["Electronics", "Laptops"],
        "smartphones" => &["Electronics", "Smartphones"],
        "tablets" => &["Electronics", "Tablets"],
        "mobile-accessories" => &["Electronics", "Mobile Accessories"],
        "mens-shirts" => &["Clothing", "Men", "Shirts"],
        "mens-shoes" => &["Clothing", "Men", "Shoes"],
        "tops" => &["Clothing", "Women", "Tops"],
        "womens-dresses" => &["Clothing", "Women", "Dresses"],
        "womens-shoes" => &["Clothing", "Women", "Shoes"],
        "mens-watches" => &["Accessories", "Watches", "Men's Watches"],
        "womens-watches" => &["Accessories", "Watches", "Women's Watches"],
        "womens-bags" => &["Accessories", "Bags"],
        "womens-jewellery" => &["Accessories", "Jewellery"],
        "sunglasses" => &["Accessories", "Sunglasses"],
        "motorcycle" => &["Vehicles", "Motorcycles"],
        "vehicle" => &["Vehicles", "Cars"],
        "sports-accessories" => &["Sports & Outdoors"],
        _ => &[],
    };
    if path.is_empty() {
        // An unknown category still lands somewhere sensible: "Other / Its Name".
        let name = slug
            .split('-')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect::<String>())
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join(" ");
        return vec!["Other".to_string(), name];
    }
    path.iter().map(|s| s.to_string()).collect()
}

/// The API's wrapper object around the list.
#[derive(Deserialize)]
struct Wrapped<'a> {
    #[serde(borrow)]
    products: Vec<&'a RawValue>,
}

/// The fields the shop uses; the rest of a DummyJSON product is ignored.
#[derive(Deserialize)]
struct Product {
    id: serde_json::Value,
    title: String,
    #[serde(default)]
    description: String,
    category: String,
    price: serde_json::Number,
    rating: Option<f64>,
    stock: Option<i64>,
    brand: Option<String>,
    sku: Option<String>,
    /// 1–10 in the demo data, with no unit given: read as kilograms (its dimensions are
    /// centimetres, so the data is metric).
    weight: Option<f64>,
}

pub(super) fn parse(text: &str) -> Result<Vec<ParsedRow>, String> {
    let refuse = |e: serde_json::Error| format!("not a DummyJSON product list: {e}");
    // Rows stay unparsed (`RawValue`) here so that one bad row cannot refuse the file.
    let items: Vec<&RawValue> = if text.trim_start().starts_with('{') {
        serde_json::from_str::<Wrapped>(text)
            .map_err(refuse)?
            .products
    } else {
        serde_json::from_str(text).map_err(refuse)?
    };
    let base = text.as_ptr() as usize;
    Ok(items
        .into_iter()
        .map(|raw| {
            // `raw` borrows from `text`, so its offset there gives the row's line number.
            let offset = (raw.get().as_ptr() as usize).saturating_sub(base);
            let line = 1 + text.as_bytes()[..offset.min(text.len())]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            ParsedRow {
                line,
                product: row(raw.get()),
            }
        })
        .collect())
}

fn row(raw: &str) -> Result<ProductInput, String> {
    let p: Product = serde_json::from_str(raw).map_err(|e| {
        // serde's position is relative to the row; the row's own line is reported instead.
        let message = e.to_string();
        message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_string()
    })?;
    let external_id = match &p.id {
        serde_json::Value::Number(n) if n.is_u64() => n.to_string(),
        serde_json::Value::String(s) if !s.trim().is_empty() && s.len() <= 64 => s.clone(),
        _ => return Err("id must be a positive number or a short string".into()),
    };
    let title = p.title.trim().to_string();
    if title.is_empty() || title.chars().count() > 300 {
        return Err("title must be 1 to 300 characters".into());
    }
    if p.description.chars().count() > 10_000 {
        return Err("description is longer than 10,000 characters".into());
    }
    let price =
        Money::parse_price(&p.price.to_string(), Currency::shop()).map_err(|e| e.to_string())?;
    let rating = match p.rating {
        Some(r) if r.is_finite() => {
            Some(Rating::from_hundredths((r * 100.0).round() as i64).map_err(|e| e.to_string())?)
        }
        Some(_) => return Err("rating must be a number".into()),
        None => None,
    };
    let stock = p.stock.unwrap_or(0);
    if !(0..=1_000_000_000).contains(&stock) {
        return Err("stock must be between 0 and 1,000,000,000".into());
    }
    let sku = match p.sku.as_deref() {
        Some(s) => Sku::parse(s.trim()).map_err(|e| e.to_string())?,
        None => Sku::parse(&format!("DJ-{external_id}")).map_err(|e| e.to_string())?,
    };
    let category = category_path(p.category.trim());
    let brand = p
        .brand
        .map(|b| b.trim().to_string())
        .filter(|b| !b.is_empty());
    let variants = derive::variants(
        &external_id,
        &sku,
        price.amount,
        price.currency,
        stock,
        &category,
        "",
    );
    Ok(ProductInput {
        source: "dummyjson".into(),
        seller: derive::seller_for_department(&category[0]),
        external_id,
        title,
        description: p.description.trim().to_string(),
        brand,
        product_class: None,
        rating,
        weight_grams: p
            .weight
            .filter(|w| w.is_finite() && (0.0..=10_000.0).contains(w))
            .map(|w| (w * 1000.0).round() as i64),
        category,
        variants,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_keep_their_line_numbers_and_bad_rows_say_why() {
        let text = r#"[
  {"id": 1, "title": "Lipstick", "category": "beauty", "price": 9.99, "stock": 3, "sku": "L-1"},
  {"id": 2, "title": "", "category": "beauty", "price": 1, "stock": 3},
  {"id": 3, "title": "Perfume", "category": "fragrances", "price": -4, "stock": 3},
  {"id": 4, "title": "Chair", "category": "furniture", "price": "cheap"}
]"#;
        let rows = parse(text).unwrap();
        assert_eq!(
            rows.iter().map(|r| r.line).collect::<Vec<_>>(),
            [2, 3, 4, 5]
        );
        let first = rows[0].product.as_ref().unwrap();
        assert_eq!(first.variants[0].price.amount, 999);
        assert_eq!(first.category, ["Beauty", "Makeup"]);
        assert!(rows[1].product.as_ref().unwrap_err().contains("title"));
        assert!(rows[2].product.as_ref().unwrap_err().contains("price"));
        assert!(
            rows[3]
                .product
                .as_ref()
                .unwrap_err()
                .contains("invalid type")
        );
    }

    #[test]
    fn a_corrupt_file_is_refused_whole() {
        assert!(parse("[{\"id\": 1,").is_err());
        assert!(parse("\"just a string\"").is_err());
    }

    #[test]
    fn the_api_wrapper_is_accepted() {
        let rows = parse(r#"{"products": [{"id": 7, "title": "Phone", "category": "smartphones", "price": 499, "stock": 9}]}"#).unwrap();
        let p = rows[0].product.as_ref().unwrap();
        assert_eq!(p.variants.len(), 3, "phones come in three storage sizes");
        assert_eq!(p.variants[0].sku.as_str(), "DJ-7-128GB");
    }
}
