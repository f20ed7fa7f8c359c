//! Reading a seller's feed: CSV (a header row, then one row per SKU) or JSON (an array of
//! objects with the same keys). Rows sharing a `product_key` are one product's variants; the
//! product's own fields come from its first row that has a title.
//!
//! | column        | required | meaning                                                   |
//! |---------------|----------|-----------------------------------------------------------|
//! | `product_key` | yes      | the seller's own id for the product (groups variants)     |
//! | `sku`         | yes      | the seller's SKU: 1–64 letters, digits, `-`, `_` or `.`   |
//! | `price`       | yes      | in the shop's currency, a plain number, e.g. `129.99`     |
//! | `currency`    | no       | the prices' ISO code; a feed in another currency than the shop's is refused whole (prices are never converted) |
//! | `title`       | first row| up to 200 characters                                      |
//! | `description` | first row| up to 5,000 characters                                    |
//! | `category`    | first row| an existing category: `Furniture > Beds`, or a unique name |
//! | `brand`       | no       | up to 80 characters                                       |
//! | `options`     | no       | `Size: Queen, Color: Blue`                                |
//! | `stock`       | no       | units received into the main warehouse the first time the SKU is seen |
//! | `image_urls`  | no       | up to 8 http(s) URLs separated by spaces or `|`           |
//!
//! Every row is checked on its own; a bad row is reported with its line (for JSON, the
//! item's position), the column and the reason, and the good rows still apply.

use crate::catalog::import::{ProductInput, SellerInput, StockInput, VariantInput};
use crate::catalog::{Category, CategoryId, Sku, VariantOption};
use crate::money::{Currency, Money};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The largest feed accepted, and the most rows in one.
pub const MAX_FEED_BYTES: usize = 8 * 1024 * 1024;
pub const MAX_ROWS: usize = 20_000;
pub const MAX_IMAGES: usize = 8;
const MAX_STOCK: i64 = 1_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeedFormat {
    Csv,
    Json,
}

impl FeedFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            FeedFormat::Csv => "csv",
            FeedFormat::Json => "json",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "csv" => Some(FeedFormat::Csv),
            "json" => Some(FeedFormat::Json),
            _ => None,
        }
    }

    /// From the file's name, else from its first character.
    pub fn detect(file_name: &str, body: &str) -> Self {
        let name = file_name.to_ascii_lowercase();
        if name.ends_with(".json") {
            FeedFormat::Json
        } else if name.ends_with(".csv") {
            FeedFormat::Csv
        } else if body.trim_start().starts_with('[') {
            FeedFormat::Json
        } else {
            FeedFormat::Csv
        }
    }
}

pub use super::parse_types::RowIssue;

/// One raw row: its line and its cells by column name.
pub type RawRow = (usize, HashMap<String, String>);

const COLUMNS: [&str; 11] = [
    "product_key",
    "sku",
    "price",
    "currency",
    "title",
    "description",
    "category",
    "brand",
    "options",
    "stock",
    "image_urls",
];

/// Splits a feed into rows. Fails (nothing applies) only when the file as a whole cannot be
/// read: not CSV or JSON, no `product_key`/`sku`/`price` columns, too many rows.
pub fn rows(format: FeedFormat, body: &str) -> Result<Vec<RawRow>, String> {
    let rows = match format {
        FeedFormat::Csv => csv_rows(body)?,
        FeedFormat::Json => json_rows(body)?,
    };
    if rows.len() > MAX_ROWS {
        return Err(format!(
            "the feed has {} rows; at most {MAX_ROWS} at once",
            rows.len()
        ));
    }
    in_shop_currency(&rows)?;
    Ok(rows)
}

/// A feed that says its prices are in another currency than the shop sells in is refused
/// as a whole: its numbers would otherwise be read as the shop's money.
fn in_shop_currency(rows: &[RawRow]) -> Result<(), String> {
    let shop = Currency::shop();
    for (line, cells) in rows {
        let Some(code) = cells
            .get("currency")
            .map(|c| c.trim())
            .filter(|c| !c.is_empty())
        else {
            continue;
        };
        match Currency::parse(&code.to_ascii_uppercase()) {
            Ok(c) if c == shop => {}
            Ok(c) => {
                return Err(format!(
                    "the feed's prices are in {c} (line {line}), but this shop sells in {shop} \
                     and never converts prices: send them in {shop}"
                ));
            }
            Err(_) => {
                return Err(format!(
                    "line {line}: the currency {code:?} is not a three-letter ISO code such as {shop}"
                ));
            }
        }
    }
    Ok(())
}

fn csv_rows(body: &str) -> Result<Vec<RawRow>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(body.trim_start_matches('\u{feff}').as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| format!("the header row cannot be read: {e}"))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    for needed in ["product_key", "sku", "price"] {
        if !header.iter().any(|h| h == needed) {
            return Err(format!(
                "the header row has no `{needed}` column (columns: {})",
                COLUMNS.join(", ")
            ));
        }
    }
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| format!("the file is not valid CSV: {e}"))?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        if record.iter().all(str::is_empty) {
            continue;
        }
        let cells = header
            .iter()
            .zip(record.iter())
            .map(|(h, v)| (h.clone(), v.to_owned()))
            .collect();
        out.push((line, cells));
        if out.len() > MAX_ROWS {
            break;
        }
    }
    Ok(out)
}

fn json_rows(body: &str) -> Result<Vec<RawRow>, String> {
    let items: Vec<serde_json::Value> =
        serde_json::from_str(body).map_err(|e| format!("the file is not a JSON array: {e}"))?;
    Ok(items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let cells = match item {
                serde_json::Value::Object(map) => map
                    .into_iter()
                    .map(|(k, v)| {
                        let text = match v {
                            serde_json::Value::String(s) => s,
                            serde_json::Value::Null => String::new(),
                            serde_json::Value::Array(items) => items
                                .iter()
                                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                                .collect::<Vec<_>>()
                                .join(" "),
                            other => other.to_string(),
                        };
                        (k.to_ascii_lowercase(), text.trim().to_owned())
                    })
                    .collect(),
                _ => HashMap::new(),
            };
            (i + 1, cells)
        })
        .collect())
}

/// A product a feed describes, ready for the importer, with its picture URLs.
#[derive(Clone, Debug)]
pub struct FeedProduct {
    pub line: usize,
    pub key: String,
    pub input: ProductInput,
    pub image_urls: Vec<String>,
}

/// The external id that keeps a feed's product the same product on every upload.
pub fn external_id(seller_slug: &str, key: &str) -> String {
    format!("{seller_slug}/{key}")
}

pub const SOURCE: &str = "feed";

/// Checks every row and groups the good ones into products.
pub fn products(
    rows: &[RawRow],
    seller: &SellerInput,
    categories: &[Category],
) -> (Vec<FeedProduct>, Vec<RowIssue>) {
    let mut issues = Vec::new();
    let by_id: HashMap<CategoryId, &Category> = categories.iter().map(|c| (c.id, c)).collect();
    // Group rows by product key, in the feed's order.
    let mut order: Vec<String> = Vec::new();
    let mut groups: BTreeMap<String, Vec<&RawRow>> = BTreeMap::new();
    for row in rows {
        let key = cell(row, "product_key");
        if key.is_empty() || key.chars().count() > 100 || key.chars().any(char::is_control) {
            issues.push(RowIssue::new(
                row.0,
                "product_key",
                "give every row a product_key of 1–100 characters",
            ));
            continue;
        }
        if !groups.contains_key(key) {
            order.push(key.to_owned());
        }
        groups.entry(key.to_owned()).or_default().push(row);
    }
    let mut seen_skus = HashSet::new();
    let mut out = Vec::new();
    for key in order {
        let group = &groups[&key];
        let Some(head) = group.iter().find(|r| !cell(r, "title").is_empty()) else {
            for row in group {
                issues.push(RowIssue::new(
                    row.0,
                    "title",
                    format!("no row of product {key:?} has a title"),
                ));
            }
            continue;
        };
        let head_issues = product_fields(head, &by_id, categories);
        let (title, description, brand, category, images) = match head_issues {
            Ok(fields) => fields,
            Err(found) => {
                let first = &found[0];
                for row in group {
                    if row.0 != head.0 {
                        issues.push(RowIssue::new(
                            row.0,
                            &first.column,
                            format!("its product (line {}) was refused", head.0),
                        ));
                    }
                }
                issues.extend(found);
                continue;
            }
        };
        let mut variants = Vec::new();
        for row in group {
            match variant(row, &mut seen_skus) {
                Ok(v) => variants.push(v),
                Err(issue) => issues.push(issue),
            }
        }
        if variants.is_empty() {
            continue;
        }
        out.push(FeedProduct {
            line: head.0,
            input: ProductInput {
                source: SOURCE.into(),
                external_id: external_id(&seller.slug, &key),
                seller: seller.clone(),
                category: crate::sellers::category_names(&by_id, category),
                title,
                description,
                brand,
                product_class: None,
                rating: None,
                weight_grams: None,
                variants,
            },
            key,
            image_urls: images,
        });
    }
    issues.sort_by_key(|i| i.line);
    (out, issues)
}

fn cell<'a>(row: &'a RawRow, column: &str) -> &'a str {
    row.1.get(column).map_or("", |s| s.trim())
}

type ProductFields = (String, String, Option<String>, CategoryId, Vec<String>);

fn product_fields(
    row: &RawRow,
    by_id: &HashMap<CategoryId, &Category>,
    categories: &[Category],
) -> Result<ProductFields, Vec<RowIssue>> {
    let line = row.0;
    let mut issues = Vec::new();
    let title = cell(row, "title");
    if title.chars().count() > 200 {
        issues.push(RowIssue::new(
            line,
            "title",
            "a title is at most 200 characters",
        ));
    }
    let description = cell(row, "description");
    if description.is_empty() || description.chars().count() > 5000 {
        issues.push(RowIssue::new(
            line,
            "description",
            "describe the product in 1–5,000 characters",
        ));
    }
    let brand = cell(row, "brand");
    if brand.chars().count() > 80 {
        issues.push(RowIssue::new(
            line,
            "brand",
            "a brand is at most 80 characters",
        ));
    }
    let category = find_category(cell(row, "category"), by_id, categories);
    if category.is_none() {
        issues.push(RowIssue::new(
            line,
            "category",
            format!(
                "{:?} is not one of the shop's categories (write a path such as `Furniture > Beds`)",
                cell(row, "category")
            ),
        ));
    }
    let mut images = Vec::new();
    for url in cell(row, "image_urls")
        .split(|c: char| c.is_whitespace() || c == '|')
        .filter(|u| !u.is_empty())
    {
        if url.len() > 2000 {
            issues.push(RowIssue::new(
                line,
                "image_urls",
                "a URL is at most 2,000 characters",
            ));
        } else if !images.iter().any(|u| u == url) {
            images.push(url.to_owned());
        }
    }
    if images.len() > MAX_IMAGES {
        issues.push(RowIssue::new(
            line,
            "image_urls",
            format!("at most {MAX_IMAGES} pictures per product"),
        ));
    }
    match (issues.is_empty(), category) {
        (true, Some(category)) => Ok((
            title.to_owned(),
            description.to_owned(),
            (!brand.is_empty()).then(|| brand.to_owned()),
            category,
            images,
        )),
        _ => Err(issues),
    }
}

/// A category by its path (`Furniture > Beds`, case-insensitive) or by a name only one
/// category has.
fn find_category(
    text: &str,
    by_id: &HashMap<CategoryId, &Category>,
    categories: &[Category],
) -> Option<CategoryId> {
    let wanted: Vec<String> = text
        .split(['>', '/'])
        .map(|p| p.trim().to_lowercase())
        .filter(|p| !p.is_empty())
        .collect();
    if wanted.is_empty() {
        return None;
    }
    let matches: Vec<CategoryId> = categories
        .iter()
        .filter(|c| {
            let path: Vec<String> = crate::sellers::category_names(by_id, c.id)
                .iter()
                .map(|n| n.to_lowercase())
                .collect();
            path == wanted || (wanted.len() == 1 && c.name.to_lowercase() == wanted[0])
        })
        .map(|c| c.id)
        .collect();
    (matches.len() == 1).then(|| matches[0])
}

fn variant(row: &RawRow, seen: &mut HashSet<String>) -> Result<VariantInput, RowIssue> {
    let line = row.0;
    let sku = Sku::parse(cell(row, "sku")).map_err(|_| {
        RowIssue::new(
            line,
            "sku",
            "a SKU is 1–64 letters, digits, dashes, underscores or dots",
        )
    })?;
    if !seen.insert(sku.as_str().to_owned()) {
        return Err(RowIssue::new(
            line,
            "sku",
            "this SKU appears earlier in the feed",
        ));
    }
    let raw_price = cell(row, "price");
    let price = Money::parse_price(raw_price, Currency::shop()).map_err(|e| {
        // "€12.99" or "12.99 EUR": money, but written with its currency.
        let marked = raw_price.chars().any(|c| c.is_ascii_digit())
            && raw_price
                .chars()
                .any(|c| !(c.is_ascii_digit() || c == '.' || c == ',' || c.is_whitespace() || c == '-'));
        let why = if marked {
            format!(
                "write the price as a plain number in {}, such as 129.99, without a currency sign or code",
                Currency::shop()
            )
        } else {
            format!("the price {}", e.message)
        };
        RowIssue::new(line, "price", why)
    })?;
    if price.amount == 0 {
        return Err(RowIssue::new(line, "price", "the price must be above zero"));
    }
    let options = crate::sellers::parse_options(cell(row, "options")).ok_or_else(|| {
        RowIssue::new(
            line,
            "options",
            "write options as name: value pairs, such as Size: Queen, Color: Blue",
        )
    })?;
    let stock = match cell(row, "stock") {
        "" => vec![],
        text => {
            let quantity = text
                .parse::<i64>()
                .ok()
                .filter(|q| (0..=MAX_STOCK).contains(q))
                .ok_or_else(|| {
                    RowIssue::new(
                        line,
                        "stock",
                        format!("stock is a whole number from 0 to {MAX_STOCK}"),
                    )
                })?;
            vec![StockInput {
                warehouse: "main".into(),
                quantity,
            }]
        }
    };
    Ok(VariantInput {
        sku,
        options: options.into_iter().map(VariantOption::from).collect(),
        price,
        stock,
    })
}
