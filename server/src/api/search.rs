//! `GET /search` and `GET /suggest`: the same search the pages use, as JSON.

use super::ApiError;
use super::extract::{Json, Query};
use crate::state::AppState;
use axum::extract::State;
use serde::Serialize;
use shop::Money;
use shop::search::{Facets, Hit, SearchParams, SearchQuery, Suggestion};
use std::collections::HashMap;

#[derive(Serialize)]
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

#[derive(Serialize)]
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

#[derive(Serialize)]
pub struct SuggestResponse {
    suggestions: Vec<Suggestion>,
}

/// `GET /api/v1/suggest?q=`: products and categories for what has been typed so far.
pub async fn suggest(
    State(state): State<AppState>,
    Query(params): Params,
) -> Result<Json<SuggestResponse>, ApiError> {
    let text = params.get("q").map(String::as_str).unwrap_or("");
    let suggestions = state.services.search.suggest(text).await?;
    Ok(Json(SuggestResponse { suggestions }))
}
