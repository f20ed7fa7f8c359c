//! The portal's values as its pages and the API show them (wasm-safe).

use crate::Money;
use serde::{Deserialize, Serialize};

/// A product in the seller's list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SellerProduct {
    pub id: i64,
    pub title: String,
    pub slug: String,
    pub price_from: Money,
    pub variants: i64,
    pub available: i64,
    pub pictures: i64,
    pub updated_at: i64,
}

/// One variant as the product form edits it: the text the seller typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VariantDraft {
    pub sku: String,
    /// `Size: Queen, Color: Blue`, or empty.
    pub options: String,
    /// `19.99`
    pub price: String,
}

/// The product form's contents.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProductDraft {
    pub title: String,
    pub description: String,
    pub brand: String,
    /// A category id from `categories`.
    pub category: String,
    pub variants: Vec<VariantDraft>,
}

/// What is wrong with a draft, field by field (`variants.0.price`), for messages beside the
/// fields.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldErrors(pub Vec<(String, String)>);

impl FieldErrors {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push((field.into(), message.into()));
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A category the product form offers: its id and its names from the root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryChoice {
    pub id: i64,
    pub label: String,
}

/// Stock of one SKU in one warehouse.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StockRow {
    pub sku: String,
    pub warehouse: String,
    pub available: i64,
    pub held: i64,
    pub committed: i64,
}

/// One line of the stock audit trail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Movement {
    pub at: i64,
    pub sku: String,
    pub warehouse: String,
    pub reason: String,
    pub reference: String,
    pub available: i64,
}

/// Orders and revenue on one day (days since the epoch, UTC).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaySales {
    pub day: i64,
    pub orders: i64,
    pub revenue: i64,
}

/// A SKU running low.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LowStock {
    pub product_id: i64,
    pub sku: String,
    pub title: String,
    pub available: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    /// One entry per day of the period, oldest first (days without sales included).
    pub days: Vec<DaySales>,
    pub currency: String,
    pub low_stock: Vec<LowStock>,
}

/// "Size: Queen, Color: Blue" → pairs; `None` if a part has no `name: value`.
pub fn parse_options(text: &str) -> Option<Vec<(String, String)>> {
    text.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|part| {
            let (name, value) = part.split_once(':')?;
            let (name, value) = (name.trim(), value.trim());
            (!name.is_empty() && !value.is_empty() && name.len() <= 40 && value.len() <= 80)
                .then(|| (name.to_owned(), value.to_owned()))
        })
        .collect()
}

/// The variants textarea: one variant per line, `SKU | price | options`.
pub fn parse_variant_lines(text: &str) -> Vec<VariantDraft> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .take(200)
        .map(|line| {
            let mut parts = line.splitn(3, '|').map(str::trim);
            VariantDraft {
                sku: parts.next().unwrap_or_default().to_owned(),
                price: parts.next().unwrap_or_default().to_owned(),
                options: parts.next().unwrap_or_default().to_owned(),
            }
        })
        .collect()
}

/// The variants as the textarea shows them.
pub fn format_variant_lines(variants: &[VariantDraft]) -> String {
    variants
        .iter()
        .map(|v| {
            if v.options.is_empty() {
                format!("{} | {}", v.sku, v.price)
            } else {
                format!("{} | {} | {}", v.sku, v.price, v.options)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variant_lines_round_trip() {
        let text = "BED-Q | 499.00 | Size: Queen\nBED-K | 599.00";
        let drafts = parse_variant_lines(text);
        assert_eq!(drafts.len(), 2);
        assert_eq!(drafts[0].options, "Size: Queen");
        assert_eq!(drafts[1].options, "");
        assert_eq!(format_variant_lines(&drafts), text);
    }

    #[test]
    fn options_read_as_name_value_pairs() {
        assert_eq!(parse_options(""), Some(vec![]));
        assert_eq!(
            parse_options("Size: Queen, Color : Blue"),
            Some(vec![
                ("Size".into(), "Queen".into()),
                ("Color".into(), "Blue".into())
            ])
        );
        assert_eq!(parse_options("Queen"), None);
        assert_eq!(parse_options("Size:"), None);
    }
}
