//! `GET /search` and `GET /suggest`: the same search the pages use, as JSON.

use super::ApiError;
use super::extract::{Json, Query};
use crate::state::AppState;
use axum::extract::State;
use serde::Serialize;
use shop::Money;
use shop::search::{Facets, Hit, SearchParams, SearchQuery, Suggestion};
use std::collections::HashMap;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct SearchResponse {
    total: u64,
    page: u32,
    per_page: u32,
    hits: Vec<SearchHit>,
    facets: Facets,
    /// A corrected query when nothing matched the typed one.
    did_you_mean: Option<String>,
    /// True when the index was unavailable and the database answered (no facets then).
    degraded: bool,
}

#[derive(Serialize, ToSchema)]
struct SearchHit {
    product_id: i64,
    external_id: String,
    title: String,
    /// The title with matched words in `<b>`, HTML-escaped otherwise.
    title_html: String,
    snippet_html: String,
    url: String,
    brand: Option<String>,
    category: String,
    price: Money,
    price_varies: bool,
    rating: Option<f64>,
    /// Live units available, read from inventory for this response.
    available: i64,
}

impl From<Hit> for SearchHit {
    fn from(h: Hit) -> Self {
        Self {
            url: h.url(),
            product_id: h.product_id.get(),
            external_id: h.external_id,
            title: h.title,
            title_html: h.title_html,
            snippet_html: h.snippet_html,
            brand: h.brand,
            category: h.category,
            price: h.price_from,
            price_varies: h.price_varies,
            rating: h.rating.map(|r| r.hundredths() as f64 / 100.0),
            available: h.available,
        }
    }
}

type Params = Query<HashMap<String, String>>;

/// `GET /api/v1/search?q=&category=&brand=&min_price=&max_price=&in_stock=&min_rating=&sort=&page=&per_page=`
#[utoipa::path(
    get,
    path = "/search",
    tag = "catalog",
    params(
        ("q" = Option<String>, Query, description = "Any text (the first 200 characters); never parsed as query syntax."),
        ("category" = Option<String>, Query, description = "A category path; its descendants are included."),
        ("brand" = Option<String>, Query, description = "A brand as given in `facets.brands`."),
        ("min_price" = Option<u32>, Query, description = "Whole currency units, inclusive."),
        ("max_price" = Option<u32>, Query, description = "Whole currency units, inclusive."),
        ("in_stock" = Option<bool>, Query, description = "`true`: only what can be bought now."),
        ("min_rating" = Option<u32>, Query, description = "1 – 5 stars."),
        ("sort" = Option<String>, Query, description = "`relevance` (default), `price_asc`, `price_desc`, `rating` or `newest`."),
        ("page" = Option<u32>, Query, description = "1 – 1000 (default 1)."),
        ("per_page" = Option<u32>, Query, description = "1 – 100 (default 24)."),
    ),
    responses(
        (status = 200, description = "A page of hits with live stock, and the facets of the whole result.", body = SearchResponse),
        (status = 304, description = "Unchanged since the `ETag` sent in `If-None-Match`."),
    )
)]
pub async fn search(
    State(state): State<AppState>,
    Query(params): Params,
) -> Result<Json<SearchResponse>, ApiError> {
    let get = |key: &str| params.get(key).cloned();
    let query = SearchQuery::parse(&SearchParams {
        q: get("q"),
        category: get("category"),
        brand: get("brand"),
        min_price: get("min_price"),
        max_price: get("max_price"),
        in_stock: get("in_stock"),
        min_rating: get("min_rating"),
        sort: get("sort"),
        page: get("page"),
        per_page: get("per_page"),
    })?;
    let results = state.services.search.search(&query).await?;
    Ok(Json(SearchResponse {
        total: results.total,
        page: query.page,
        per_page: query.per_page,
        hits: results.hits.into_iter().map(SearchHit::from).collect(),
        facets: results.facets,
        did_you_mean: results.did_you_mean,
        degraded: results.degraded,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct SuggestResponse {
    suggestions: Vec<Suggestion>,
}

/// `GET /api/v1/suggest?q=`: products and categories for what has been typed so far.
#[utoipa::path(
    get,
    path = "/suggest",
    tag = "catalog",
    params(("q" = Option<String>, Query, description = "What has been typed; the last word may be unfinished. Under two letters: no suggestions.")),
    responses(
        (status = 200, description = "Up to six products and four categories.", body = SuggestResponse),
        (status = 304, description = "Unchanged since the `ETag` sent in `If-None-Match`."),
    )
)]
pub async fn suggest(
    State(state): State<AppState>,
    Query(params): Params,
) -> Result<Json<SuggestResponse>, ApiError> {
    let text = params.get("q").map(String::as_str).unwrap_or("");
    let suggestions = state.services.search.suggest(text).await?;
    Ok(Json(SuggestResponse { suggestions }))
}
