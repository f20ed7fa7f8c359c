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
use shop::catalog::{CategoryPage, HomePage, Page, ProductCard, ProductDetail};

#[server(prefix = "/rpc", endpoint = "catalog/home")]
pub async fn load_home() -> Result<HomePage, AppError> {
    let services = crate::services::services()?;
    Ok(services.catalog.home().await?)
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
    let path = CategoryPath::parse(&path)
        .map_err(|_| AppError::NotFound("We couldn't find that category.".into()))?;
    let page = PageRequest::parse(page.as_deref(), per_page.as_deref())?;
    let sort = Sort::parse(sort.as_deref())?;
    let services = crate::services::services()?;
    Ok(services.catalog.category_page(&path, sort, page).await?)
}

#[server(prefix = "/rpc", endpoint = "catalog/product")]
pub async fn load_product(slug: String) -> Result<ProductDetail, AppError> {
    let services = crate::services::services()?;
    Ok(services.catalog.product_by_slug(&slug).await?)
}

#[server(prefix = "/rpc", endpoint = "catalog/search")]
pub async fn search_catalog(
    q: String,
    page: Option<String>,
) -> Result<Page<ProductCard>, AppError> {
    use shop::catalog::{PageRequest, SearchText};
    let text = SearchText::parse(&q);
    let page = PageRequest::parse(page.as_deref(), None)?;
    let services = crate::services::services()?;
    Ok(services.catalog.search(&text, page).await?)
}
