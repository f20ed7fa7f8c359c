//! The catalog's values as the pages, the API and the importer see them.

use crate::input::{id_type, parse_bounded};
use crate::{InvalidInput, Money};
use serde::{Deserialize, Serialize};
use std::fmt;

id_type!(
    /// A product's id.
    ProductId, "id"
);
id_type!(
    /// A variant's id (one SKU).
    VariantId, "variant_id"
);
id_type!(
    /// A category's id.
    CategoryId, "category_id"
);
id_type!(
    /// A seller's id.
    SellerId, "seller_id"
);

/// A stock-keeping unit code: 1–64 characters of `A–Z a–z 0–9 - _ .`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sku(String);

impl Sku {
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        let ok = !text.is_empty()
            && text.len() <= 64
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if ok {
            Ok(Sku(text.to_string()))
        } else {
            Err(InvalidInput::new(
                "sku",
                "must be 1 to 64 letters, digits, '-', '_' or '.'",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Sku {
    type Error = InvalidInput;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Sku::parse(&s)
    }
}

impl From<Sku> for String {
    fn from(s: Sku) -> String {
        s.0
    }
}

impl fmt::Display for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A URL slug: 1–160 characters of lower-case letters, digits and single hyphens.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

impl Slug {
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        let ok = !text.is_empty()
            && text.len() <= 160
            && !text.starts_with('-')
            && !text.ends_with('-')
            && !text.contains("--")
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Slug(text.to_string()))
        } else {
            Err(InvalidInput::new(
                "slug",
                "must be lower-case letters, digits and single hyphens",
            ))
        }
    }

    /// Makes a slug out of any text: ASCII-folds common accents, keeps letters and digits,
    /// turns everything else into single hyphens. Returns `None` when nothing is left.
    pub fn from_text(text: &str) -> Option<Self> {
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            let folded = match c {
                'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => {
                    'a'
                }
                'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => 'e',
                'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => 'i',
                'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => {
                    'o'
                }
                'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => 'u',
                'ç' | 'Ç' => 'c',
                'ñ' | 'Ñ' => 'n',
                '&' => {
                    if !out.is_empty() && !out.ends_with('-') {
                        out.push('-');
                    }
                    out.push_str("and");
                    '-'
                }
                c => c.to_ascii_lowercase(),
            };
            if folded.is_ascii_alphanumeric() {
                out.push(folded);
            } else if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
            if out.len() >= 150 {
                break;
            }
        }
        let trimmed = out.trim_matches('-');
        (!trimmed.is_empty()).then(|| Slug(trimmed.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Slug {
    type Error = InvalidInput;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Slug::parse(&s)
    }
}

impl From<Slug> for String {
    fn from(s: Slug) -> String {
        s.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A category's path: its slug and its ancestors', joined by `/` (`furniture/beds`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CategoryPath(String);

impl CategoryPath {
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        let text = text.trim_matches('/');
        if text.is_empty() || text.len() > 400 {
            return Err(InvalidInput::new("category", "must name a category"));
        }
        for part in text.split('/') {
            Slug::parse(part).map_err(|_| {
                InvalidInput::new("category", "must be a category path such as furniture/beds")
            })?;
        }
        Ok(CategoryPath(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The paths of this category and each of its ancestors, root first.
    pub fn lineage(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut acc = String::new();
        for part in self.0.split('/') {
            if !acc.is_empty() {
                acc.push('/');
            }
            acc.push_str(part);
            out.push(acc.clone());
        }
        out
    }
}

impl TryFrom<String> for CategoryPath {
    type Error = InvalidInput;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        CategoryPath::parse(&s)
    }
}

impl From<CategoryPath> for String {
    fn from(p: CategoryPath) -> String {
        p.0
    }
}

impl fmt::Display for CategoryPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A star rating in hundredths of a star, 0–500 (`4.56` stars is `456`).
///
/// Deserializes through [`Rating::from_hundredths`], so a stored or sent rating out of range
/// is refused rather than shown as 7.5 stars.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Rating(u16);

impl Rating {
    pub fn from_hundredths(h: i64) -> Result<Self, InvalidInput> {
        u16::try_from(h)
            .ok()
            .filter(|h| *h <= 500)
            .map(Rating)
            .ok_or_else(|| InvalidInput::new("rating", "must be between 0 and 5 stars"))
    }

    pub fn hundredths(self) -> i64 {
        i64::from(self.0)
    }

    /// One decimal place, as shops show it: `4.6`.
    pub fn stars(self) -> String {
        let tenths = (u32::from(self.0) + 5) / 10;
        format!("{}.{}", tenths / 10, tenths % 10)
    }
}

impl TryFrom<i64> for Rating {
    type Error = InvalidInput;
    fn try_from(hundredths: i64) -> Result<Self, Self::Error> {
        Rating::from_hundredths(hundredths)
    }
}

impl From<Rating> for i64 {
    fn from(r: Rating) -> i64 {
        r.hundredths()
    }
}

/// How a product listing is ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Best rated first, then by id: the shop's own ordering.
    #[default]
    Featured,
    PriceAsc,
    PriceDesc,
    Newest,
    Name,
}

impl Sort {
    pub const ALL: [Sort; 5] = [
        Sort::Featured,
        Sort::PriceAsc,
        Sort::PriceDesc,
        Sort::Newest,
        Sort::Name,
    ];

    pub fn parse(text: Option<&str>) -> Result<Self, InvalidInput> {
        match text.unwrap_or("") {
            "" | "featured" => Ok(Sort::Featured),
            "price_asc" => Ok(Sort::PriceAsc),
            "price_desc" => Ok(Sort::PriceDesc),
            "newest" => Ok(Sort::Newest),
            "name" => Ok(Sort::Name),
            _ => Err(InvalidInput::new(
                "sort",
                "must be one of featured, price_asc, price_desc, newest, name",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Featured => "featured",
            Sort::PriceAsc => "price_asc",
            Sort::PriceDesc => "price_desc",
            Sort::Newest => "newest",
            Sort::Name => "name",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Sort::Featured => "Featured",
            Sort::PriceAsc => "Price: low to high",
            Sort::PriceDesc => "Price: high to low",
            Sort::Newest => "Newest",
            Sort::Name => "Name",
        }
    }
}

/// Which page of a listing to show: 1-based `page` (at most 10,000) of `per_page` items
/// (1–100, 24 by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PageRequest {
    pub page: u32,
    pub per_page: u32,
}

impl PageRequest {
    pub const DEFAULT_PER_PAGE: u32 = 24;
    pub const MAX_PER_PAGE: u32 = 100;
    pub const MAX_PAGE: u32 = crate::input::MAX_PAGE;

    pub fn parse(page: Option<&str>, per_page: Option<&str>) -> Result<Self, InvalidInput> {
        Ok(Self {
            page: parse_bounded("page", page, 1, 1, Self::MAX_PAGE)?,
            per_page: parse_bounded(
                "per_page",
                per_page,
                Self::DEFAULT_PER_PAGE,
                1,
                Self::MAX_PER_PAGE,
            )?,
        })
    }

    pub fn offset(&self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.per_page)
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            per_page: Self::DEFAULT_PER_PAGE,
        }
    }
}

/// One page of a listing and where it sits in the whole.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

impl<T> Page<T> {
    pub fn total_pages(&self) -> u32 {
        let per_page = u64::from(self.per_page.max(1));
        u32::try_from(self.total.div_ceil(per_page)).unwrap_or(u32::MAX)
    }
}

/// A category in the tree, with how many products it and its descendants hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    pub id: CategoryId,
    pub parent_id: Option<CategoryId>,
    pub name: String,
    pub path: CategoryPath,
    pub depth: u32,
    pub product_count: u64,
}

impl Category {
    /// The storefront page of this category.
    pub fn url(&self) -> String {
        category_url(&self.path)
    }
}

/// The storefront page of a category.
pub fn category_url(path: &CategoryPath) -> String {
    format!("/c/{path}")
}

/// The storefront page of a product.
pub fn product_url(slug: &Slug) -> String {
    format!("/p/{slug}")
}

/// A name and link on the way from the root to a category.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Crumb {
    pub name: String,
    pub path: CategoryPath,
}

/// A product as a listing shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProductCard {
    pub id: ProductId,
    pub external_id: String,
    pub slug: Slug,
    pub title: String,
    pub brand: Option<String>,
    pub category: String,
    /// The lowest price among the product's variants.
    pub price_from: Money,
    /// Whether the variants' prices differ (the card then says "from").
    pub price_varies: bool,
    pub rating: Option<Rating>,
    /// Live units available across all variants and warehouses.
    pub available: i64,
    /// The first live picture, attached by the pages (none while the image store fails).
    #[serde(default)]
    pub picture: Option<crate::assets::Picture>,
}

impl ProductCard {
    pub fn url(&self) -> String {
        product_url(&self.slug)
    }
}

/// One option of a variant, such as `Size: Queen`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VariantOption {
    pub name: String,
    pub value: String,
}

/// An option written as a `(name, value)` pair, as feeds and the seller's form give them.
impl From<(String, String)> for VariantOption {
    fn from((name, value): (String, String)) -> Self {
        VariantOption { name, value }
    }
}

/// A variant (SKU) as the product page and the API show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    pub id: VariantId,
    pub sku: Sku,
    pub options: Vec<VariantOption>,
    pub price: Money,
    /// Live units available across warehouses.
    pub available: i64,
}

impl Variant {
    /// `Size: Queen · Colour: Oak`, or `Standard` for a product without options.
    pub fn label(&self) -> String {
        if self.options.is_empty() {
            return "Standard".to_string();
        }
        self.options
            .iter()
            .map(|o| o.value.as_str())
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

/// One variant with what a cart or an order needs to name it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VariantSummary {
    pub id: VariantId,
    pub sku: Sku,
    pub product_id: ProductId,
    pub title: String,
    pub slug: Slug,
    pub options: Vec<VariantOption>,
    pub price: Money,
    /// The seller of the product: whose part of an order the variant ships in.
    #[serde(default)]
    pub seller_id: i64,
    /// The product's weight in grams, when known (by-weight shipping).
    #[serde(default)]
    pub weight_grams: Option<i64>,
}

impl VariantSummary {
    /// `Size: Queen`, or empty for a product without options.
    pub fn options_label(&self) -> String {
        self.options
            .iter()
            .map(|o| format!("{}: {}", o.name, o.value))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Everything the product page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProductDetail {
    pub id: ProductId,
    pub external_id: String,
    pub source: String,
    pub slug: Slug,
    pub title: String,
    pub description: String,
    pub brand: Option<String>,
    pub product_class: Option<String>,
    pub rating: Option<Rating>,
    pub seller: String,
    /// Root first, the product's own category last.
    pub breadcrumbs: Vec<Crumb>,
    /// In the seller's order; at least one.
    pub variants: Vec<Variant>,
    /// Live pictures in display order, attached by the page (none while the store fails).
    #[serde(default)]
    pub pictures: Vec<crate::assets::Picture>,
}

impl ProductDetail {
    pub fn url(&self) -> String {
        product_url(&self.slug)
    }

    /// The variant a `?sku=` selects, or the first one.
    pub fn variant(&self, sku: Option<&str>) -> Option<&Variant> {
        sku.and_then(|s| self.variants.iter().find(|v| v.sku.as_str() == s))
            .or_else(|| self.variants.first())
    }
}

/// A shopper's search box text, reduced to what a plain database search can use: up to eight
/// lower-case words of letters and digits. Symbols, query syntax and absurd lengths are
/// dropped rather than refused, so any input gives a sensible page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchText {
    /// What the shopper typed, trimmed and cut to 200 characters, for showing back.
    pub raw: String,
    pub terms: Vec<String>,
}

impl SearchText {
    pub const MAX_TERMS: usize = 8;

    pub fn parse(text: &str) -> Self {
        let raw: String = text.trim().chars().take(200).collect();
        let terms = raw
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| w.chars().take(40).collect::<String>().to_lowercase())
            .take(Self::MAX_TERMS)
            .collect();
        Self { raw, terms }
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }
}

/// What the home page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HomePage {
    /// Top-level categories.
    pub departments: Vec<Category>,
    pub featured: Vec<ProductCard>,
    pub newest: Vec<ProductCard>,
    pub product_count: u64,
}

/// A listing of one category.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CategoryPage {
    pub category: Category,
    pub breadcrumbs: Vec<Crumb>,
    pub children: Vec<Category>,
    pub sort: Sort,
    pub products: Page<ProductCard>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_only_positive_integers() {
        assert_eq!(ProductId::parse("42").unwrap().get(), 42);
        for bad in [
            "",
            "0",
            "-1",
            "abc",
            "1e3",
            "4 2",
            "99999999999999999999",
            "9223372036854775808",
        ] {
            assert!(ProductId::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(ProductId::parse("x").unwrap_err().field, "id");
    }

    #[test]
    fn slugs_are_made_from_any_title() {
        assert_eq!(
            Slug::from_text("Essence Mascara Lash Princess")
                .unwrap()
                .as_str(),
            "essence-mascara-lash-princess"
        );
        assert_eq!(
            Slug::from_text("Décor & Pillows").unwrap().as_str(),
            "decor-and-pillows"
        );
        assert_eq!(
            Slug::from_text("70.87'' H x 70.87'' W").unwrap().as_str(),
            "70-87-h-x-70-87-w"
        );
        assert_eq!(Slug::from_text("!!!"), None);
        assert!(Slug::parse("Bad Slug").is_err());
        assert!(Slug::parse("a--b").is_err());
    }

    #[test]
    fn category_paths_are_slug_segments() {
        let p = CategoryPath::parse("furniture/beds").unwrap();
        assert_eq!(p.lineage(), vec!["furniture", "furniture/beds"]);
        assert!(CategoryPath::parse("../etc").is_err());
        assert!(CategoryPath::parse("").is_err());
        assert!(CategoryPath::parse("a%2fb").is_err());
    }

    #[test]
    fn skus_refuse_spaces_and_control_characters() {
        assert!(Sku::parse("BEA-ESS-001").is_ok());
        assert!(Sku::parse("a b").is_err());
        assert!(Sku::parse("").is_err());
        assert!(Sku::parse(&"x".repeat(65)).is_err());
    }

    #[test]
    fn pagination_is_bounded() {
        assert_eq!(
            PageRequest::parse(None, None).unwrap(),
            PageRequest::default()
        );
        assert_eq!(
            PageRequest::parse(Some("3"), Some("10")).unwrap().offset(),
            20
        );
        assert!(PageRequest::parse(Some("0"), None).is_err());
        assert!(PageRequest::parse(None, Some("101")).is_err());
        assert!(PageRequest::parse(Some("abc"), None).is_err());
    }

    #[test]
    fn ratings_show_one_decimal() {
        assert_eq!(Rating::from_hundredths(456).unwrap().stars(), "4.6");
        assert_eq!(Rating::from_hundredths(500).unwrap().stars(), "5.0");
        assert!(Rating::from_hundredths(501).is_err());
        assert!(Rating::from_hundredths(-1).is_err());
    }

    #[test]
    fn search_text_keeps_words_and_drops_syntax() {
        let t = SearchText::parse("  King BED* AND title:(oak) %_ ");
        assert_eq!(t.terms, ["king", "bed", "and", "title", "oak"]);
        assert!(SearchText::parse("!!! *** ---").is_empty());
        let long = SearchText::parse(&"word ".repeat(5000));
        assert_eq!(long.terms.len(), SearchText::MAX_TERMS);
        assert!(long.raw.chars().count() <= 200);
    }

    #[test]
    fn page_counts_round_up() {
        let page = Page::<()> {
            items: vec![],
            total: 49,
            page: 1,
            per_page: 24,
        };
        assert_eq!(page.total_pages(), 3);
        let empty = Page::<()> {
            items: vec![],
            total: 0,
            page: 1,
            per_page: 24,
        };
        assert_eq!(empty.total_pages(), 0);
    }
}
