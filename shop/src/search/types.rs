//! What a search asks and answers, as the pages and the API see it.

use crate::catalog::{CategoryPath, ProductId, Rating, Sku, Slug, product_url};
use crate::input::parse_bounded;
use crate::{InvalidInput, Money};
use serde::{Deserialize, Serialize};

/// How results are ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchSort {
    /// Best match first (best rated first for an empty query).
    #[default]
    Relevance,
    PriceAsc,
    PriceDesc,
    Rating,
    Newest,
}

impl SearchSort {
    pub const ALL: [SearchSort; 5] = [
        SearchSort::Relevance,
        SearchSort::PriceAsc,
        SearchSort::PriceDesc,
        SearchSort::Rating,
        SearchSort::Newest,
    ];

    pub fn parse(text: Option<&str>) -> Result<Self, InvalidInput> {
        match text.unwrap_or("") {
            "" | "relevance" => Ok(SearchSort::Relevance),
            "price_asc" => Ok(SearchSort::PriceAsc),
            "price_desc" => Ok(SearchSort::PriceDesc),
            "rating" => Ok(SearchSort::Rating),
            "newest" => Ok(SearchSort::Newest),
            _ => Err(InvalidInput::new(
                "sort",
                "must be one of relevance, price_asc, price_desc, rating, newest",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SearchSort::Relevance => "relevance",
            SearchSort::PriceAsc => "price_asc",
            SearchSort::PriceDesc => "price_desc",
            SearchSort::Rating => "rating",
            SearchSort::Newest => "newest",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SearchSort::Relevance => "Best match",
            SearchSort::PriceAsc => "Price: low to high",
            SearchSort::PriceDesc => "Price: high to low",
            SearchSort::Rating => "Best rated",
            SearchSort::Newest => "Newest",
        }
    }
}

/// A search: the words, the filters, the order and the page. Built from query-string values
/// with `parse`; words are never interpreted as query syntax.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchQuery {
    /// What the shopper typed (trimmed, at most 200 characters).
    pub text: String,
    pub category: Option<CategoryPath>,
    pub brand: Option<String>,
    /// Minor units, inclusive.
    pub min_price: Option<u64>,
    pub max_price: Option<u64>,
    pub in_stock: bool,
    /// Hundredths of a star.
    pub min_rating: Option<u64>,
    pub sort: SearchSort,
    pub page: u32,
    pub per_page: u32,
}

/// The raw query-string values of a search, as the page and the API receive them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchParams {
    pub q: Option<String>,
    pub category: Option<String>,
    pub brand: Option<String>,
    pub min_price: Option<String>,
    pub max_price: Option<String>,
    pub in_stock: Option<String>,
    pub min_rating: Option<String>,
    pub sort: Option<String>,
    pub page: Option<String>,
    pub per_page: Option<String>,
}

/// Prices in query strings are whole currency units (dollars), as a shopper types them.
const MAX_PRICE_UNITS: u32 = 10_000_000;

impl SearchQuery {
    pub const DEFAULT_PER_PAGE: u32 = 24;

    /// Reads a search from its URL's values, price bounds in whole units of the shop's
    /// currency.
    pub fn parse(p: &SearchParams) -> Result<Self, InvalidInput> {
        Self::parse_in(p, crate::Currency::shop())
    }

    /// [`parse`](Self::parse) for a shop selling in `currency`.
    pub fn parse_in(p: &SearchParams, currency: crate::Currency) -> Result<Self, InvalidInput> {
        let text: String =
            p.q.as_deref()
                .unwrap_or("")
                .trim()
                .chars()
                .take(200)
                .collect();
        let nonempty = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let category = nonempty(&p.category)
            .map(|c| CategoryPath::parse(&c))
            .transpose()?;
        let brand = nonempty(&p.brand).map(|b| b.chars().take(100).collect());
        // Bounds are typed in whole units of the shop's currency (dollars, yen); the query
        // holds minor units, a maximum reaching the last minor unit below the next whole one.
        let unit = currency.minor_per_major();
        let price = |field: &str, v: &Option<String>| -> Result<Option<u64>, InvalidInput> {
            match nonempty(v) {
                None => Ok(None),
                Some(s) => parse_bounded(field, Some(&s), 0, 0, MAX_PRICE_UNITS)
                    .map(|d| Some(u64::from(d) * unit)),
            }
        };
        let min_price = price("min_price", &p.min_price)?;
        let max_price = price("max_price", &p.max_price)?.map(|m| m + (unit - 1));
        let in_stock = match nonempty(&p.in_stock).as_deref() {
            None | Some("0" | "false" | "no") => false,
            Some("1" | "true" | "yes" | "on") => true,
            Some(_) => return Err(InvalidInput::new("in_stock", "must be true or false")),
        };
        let min_rating = match nonempty(&p.min_rating) {
            None => None,
            Some(s) => Some(u64::from(parse_bounded("min_rating", Some(&s), 0, 1, 5)?) * 100),
        };
        Ok(SearchQuery {
            text,
            category,
            brand,
            min_price,
            max_price,
            in_stock,
            min_rating,
            sort: SearchSort::parse(p.sort.as_deref())?,
            page: parse_bounded("page", p.page.as_deref(), 1, 1, 1000)?,
            per_page: parse_bounded(
                "per_page",
                p.per_page.as_deref(),
                Self::DEFAULT_PER_PAGE,
                1,
                100,
            )?,
        })
    }

    /// The query-string values of this search, in a fixed order, leaving out the defaults:
    /// what its URL carries and what a form that changes one thing must keep.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        self.params_in(crate::Currency::shop())
    }

    /// [`params`](Self::params) for a shop selling in `currency`.
    pub fn params_in(&self, currency: crate::Currency) -> Vec<(&'static str, String)> {
        let mut out: Vec<(&'static str, String)> = Vec::new();
        if !self.text.is_empty() {
            out.push(("q", self.text.clone()));
        }
        if let Some(c) = &self.category {
            out.push(("category", c.to_string()));
        }
        if let Some(b) = &self.brand {
            out.push(("brand", b.clone()));
        }
        let unit = currency.minor_per_major();
        if let Some(p) = self.min_price {
            out.push(("min_price", (p / unit).to_string()));
        }
        if let Some(p) = self.max_price {
            out.push(("max_price", (p / unit).to_string()));
        }
        if self.in_stock {
            out.push(("in_stock", "true".into()));
        }
        if let Some(r) = self.min_rating {
            out.push(("min_rating", (r / 100).to_string()));
        }
        if self.sort != SearchSort::Relevance {
            out.push(("sort", self.sort.as_str().into()));
        }
        if self.per_page != Self::DEFAULT_PER_PAGE {
            out.push(("per_page", self.per_page.to_string()));
        }
        if self.page > 1 {
            out.push(("page", self.page.to_string()));
        }
        out
    }

    /// The search page's address for this query with one thing changed by `edit`; empty
    /// values are left out, so URLs stay short and shareable.
    pub fn url_with(&self, edit: impl FnOnce(&mut SearchQuery)) -> String {
        let mut q = self.clone();
        edit(&mut q);
        let parts: Vec<String> = q
            .params()
            .into_iter()
            .map(|(k, v)| format!("{k}={}", encode(&v)))
            .collect();
        if parts.is_empty() {
            "/search".to_string()
        } else {
            format!("/search?{}", parts.join("&"))
        }
    }
}

/// Percent-encodes a query-string value.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// One result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    pub product_id: ProductId,
    pub external_id: String,
    pub slug: Slug,
    pub title: String,
    /// The title with the words that matched in `<b>…</b>`, HTML-escaped otherwise.
    pub title_html: String,
    /// A piece of the description around what matched, marked the same way (may be empty).
    pub snippet_html: String,
    pub brand: Option<String>,
    pub category: String,
    pub price_from: Money,
    pub price_varies: bool,
    pub rating: Option<Rating>,
    /// Live units available (from inventory, not from the index).
    pub available: i64,
    /// The SKU of a product with a single variant, so a listing can add it to the cart.
    #[serde(default)]
    pub only_sku: Option<Sku>,
    /// The first live picture, attached by the page (none while the image store fails).
    #[serde(default)]
    pub picture: Option<crate::assets::Picture>,
}

impl Hit {
    pub fn url(&self) -> String {
        product_url(&self.slug)
    }
}

/// One value of a facet and how many results have it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FacetValue {
    /// What to filter by (a category path, a brand name, a band's bounds).
    pub value: String,
    pub label: String,
    pub count: u64,
}

/// Counts over the whole result set, for narrowing it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Facets {
    /// Subcategories of the current category (or departments).
    pub categories: Vec<FacetValue>,
    pub brands: Vec<FacetValue>,
    /// `value` is `min-max` in whole currency units (`max` empty for the top band).
    pub price_bands: Vec<FacetValue>,
    pub in_stock: u64,
}

/// A page of results.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchResults {
    pub query: SearchQuery,
    pub total: u64,
    pub hits: Vec<Hit>,
    pub facets: Facets,
    /// The query with its unknown words replaced by the closest real ones, when the search
    /// read them so ("did you mean …?").
    pub did_you_mean: Option<String>,
    /// True when the index was unavailable and the plain database search answered.
    pub degraded: bool,
}

impl SearchResults {
    pub fn total_pages(&self) -> u32 {
        let per = u64::from(self.query.per_page.max(1));
        u32::try_from(self.total.div_ceil(per)).unwrap_or(u32::MAX)
    }
}

/// An autocomplete suggestion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Suggestion {
    /// `product` or `category`.
    pub kind: String,
    pub label: String,
    pub url: String,
}

/// Recommendations beside a product (see `Recommender`).
/// Which kind of list it is, so the page can say so honestly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecommendationKind {
    AlsoBought,
    Similar,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recommendations {
    pub kind: RecommendationKind,
    pub products: Vec<crate::catalog::ProductCard>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> SearchParams {
        let mut p = SearchParams::default();
        for (k, v) in pairs {
            let v = Some(v.to_string());
            match *k {
                "q" => p.q = v,
                "category" => p.category = v,
                "brand" => p.brand = v,
                "min_price" => p.min_price = v,
                "max_price" => p.max_price = v,
                "in_stock" => p.in_stock = v,
                "sort" => p.sort = v,
                "page" => p.page = v,
                _ => {}
            }
        }
        p
    }

    #[test]
    fn queries_parse_and_round_trip_through_their_url() {
        let q = SearchQuery::parse(&params(&[
            ("q", "  king bed "),
            ("category", "furniture/beds"),
            ("min_price", "100"),
            ("max_price", "500"),
            ("in_stock", "true"),
            ("sort", "price_asc"),
            ("page", "2"),
        ]))
        .unwrap();
        assert_eq!(q.text, "king bed");
        assert_eq!((q.min_price, q.max_price), (Some(10_000), Some(50_099)));
        let url = q.url_with(|_| {});
        assert_eq!(
            url,
            "/search?q=king+bed&category=furniture/beds&min_price=100&max_price=500&in_stock=true&sort=price_asc&page=2"
        );
    }

    #[test]
    fn price_bounds_are_whole_units_of_the_shops_currency() {
        use crate::Currency;
        let p = params(&[("min_price", "1500"), ("max_price", "3000")]);
        // Yen have no minor unit: 1500 typed is ¥1,500, not ¥150,000.
        let yen = SearchQuery::parse_in(&p, Currency::JPY).unwrap();
        assert_eq!((yen.min_price, yen.max_price), (Some(1_500), Some(3_000)));
        assert_eq!(
            yen.params_in(Currency::JPY),
            [("min_price", "1500".into()), ("max_price", "3000".into())]
        );
        // Dinars have three decimals: up to 3000 reaches 3000.999.
        let dinars = SearchQuery::parse_in(&p, Currency::parse("KWD").unwrap()).unwrap();
        assert_eq!(
            (dinars.min_price, dinars.max_price),
            (Some(1_500_000), Some(3_000_999))
        );
        let dollars = SearchQuery::parse_in(&p, Currency::USD).unwrap();
        assert_eq!(
            (dollars.min_price, dollars.max_price),
            (Some(150_000), Some(300_099))
        );
    }

    #[test]
    fn bad_filters_are_named() {
        for (k, v, field) in [
            ("min_price", "-5", "min_price"),
            ("sort", "sideways", "sort"),
            ("page", "0", "page"),
            ("in_stock", "maybe", "in_stock"),
            ("category", "../x", "category"),
        ] {
            assert_eq!(
                SearchQuery::parse(&params(&[(k, v)])).unwrap_err().field,
                field,
                "{k}={v}"
            );
        }
        let long = "x".repeat(5000);
        assert_eq!(
            SearchQuery::parse(&params(&[("q", &long)]))
                .unwrap()
                .text
                .len(),
            200
        );
    }
}
