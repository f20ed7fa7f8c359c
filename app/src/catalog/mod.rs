//! Catalog pages (home, category, product, simple search) and the server functions that
//! feed them. Each server function is a short adapter: parse the arguments into `shop`
//! types, call one service, map the error.

pub(crate) mod cards;
mod category;
mod home;
mod product;
mod search;

pub use category::CategoryRoute;
pub use home::HomeRoute;
pub use product::ProductRoute;
pub use search::SearchRoute;

use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use shop::catalog::{CategoryPage, HomePage, ProductDetail};
use shop::search::{Recommendations, SearchParams, SearchResults, Suggestion};

#[server(prefix = "/rpc", endpoint = "catalog/home")]
pub async fn load_home() -> Result<HomePage, AppError> {
    let services = crate::services::services()?;
    let mut home = services.catalog.home().await?;
    crate::services::attach_card_pictures(&services, &mut home.featured).await;
    crate::services::attach_card_pictures(&services, &mut home.newest).await;
    Ok(home)
}

/// One page of a category. Paging and sorting arrive as the raw query-string values so
/// that a malformed one (`?page=abc`) is refused with a clear message, not a generic one.
#[server(prefix = "/rpc", endpoint = "catalog/category")]
pub async fn load_category(
    path: String,
    page: Option<String>,
    per_page: Option<String>,
    sort: Option<String>,
) -> Result<CategoryPage, AppError> {
    use shop::catalog::{CategoryPath, PageRequest, Sort};
    let path =
        CategoryPath::parse(&path).map_err(|_| shop::catalog::CatalogError::CategoryNotFound)?;
    let page = PageRequest::parse(page.as_deref(), per_page.as_deref())?;
    let sort = Sort::parse(sort.as_deref())?;
    let services = crate::services::services()?;
    let mut page = services.catalog.category_page(&path, sort, page).await?;
    crate::services::attach_card_pictures(&services, &mut page.products.items).await;
    Ok(page)
}

#[server(prefix = "/rpc", endpoint = "catalog/product")]
pub async fn load_product(slug: String) -> Result<ProductDetail, AppError> {
    let services = crate::services::services()?;
    let mut product = services.catalog.product_by_slug(&slug).await?;
    product.pictures = crate::services::pictures(&services, &[product.id])
        .await
        .remove(&product.id)
        .unwrap_or_default();
    Ok(product)
}

/// "Customers also bought" (or similar products) for the product page, by the page's slug
/// (so the page can ask for them at the same time as the product). Optional by nature: a
/// slow or failing answer is an empty list after at most half a second, never a slow page.
#[server(prefix = "/rpc", endpoint = "catalog/recommendations", input = GetUrl)]
pub async fn load_recommendations(slug: String) -> Result<Recommendations, AppError> {
    use shop::search::RecommendationKind;
    let services = crate::services::services()?;
    let none = Recommendations {
        kind: RecommendationKind::Similar,
        products: vec![],
    };
    let work = async {
        let product = services.catalog.product_by_slug(&slug).await?;
        let mut list = (*services.recommender.for_product(product.id).await?).clone();
        crate::services::attach_card_pictures(&services, &mut list.products).await;
        Ok::<_, shop::catalog::CatalogError>(list)
    };
    match tokio::time::timeout(std::time::Duration::from_millis(500), work).await {
        Ok(Ok(list)) => Ok(list),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, slug, "recommendations unavailable");
            Ok(none)
        }
        Err(_) => {
            tracing::warn!(slug, "recommendations took too long; page shown without");
            Ok(none)
        }
    }
}

/// A page of search results, with a fresh add-to-cart operation id per hit (so a double
/// click adds once).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SearchPage {
    pub results: SearchResults,
    pub ops: Vec<String>,
}

/// Search with filters, sort and paging, from the raw query-string values; a malformed
/// filter (`?min_price=abc`) is refused with a message naming it.
#[server(prefix = "/rpc", endpoint = "catalog/search")]
pub async fn search_products(params: SearchParams) -> Result<SearchPage, AppError> {
    let query = shop::search::SearchQuery::parse(&params)?;
    let services = crate::services::services()?;
    let mut results = services.search.search(&query).await?;
    crate::services::attach_first_pictures(
        &services,
        &mut results.hits,
        |h| h.product_id,
        |h, p| h.picture = p,
    )
    .await;
    let ops = results
        .hits
        .iter()
        .map(|_| crate::session::one_time_token())
        .collect();
    Ok(SearchPage { results, ops })
}

/// Autocomplete for the header's search box: products and categories for what has been
/// typed so far. Cheap enough to call per keystroke (the box debounces anyway).
#[server(prefix = "/rpc", endpoint = "catalog/suggest", input = GetUrl)]
pub async fn suggest(q: String) -> Result<Vec<Suggestion>, AppError> {
    let services = crate::services::services()?;
    Ok(services.search.suggest(&q).await?)
}

/// Whether every product picture is being shown (false while the image store is failing and
/// pages show only the pictures this node holds a copy of).
#[server(prefix = "/rpc", endpoint = "assets/available", input = GetUrl)]
pub async fn pictures_available() -> Result<bool, AppError> {
    Ok(crate::services::services()?.assets.serving())
}
