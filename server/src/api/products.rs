//! `GET /products`, `GET /products/{id}`, `GET /categories`.

use super::ApiError;
use super::extract::{Json, Path, Query};
use crate::state::AppState;
use axum::extract::State;
use serde::Serialize;
use shop::Money;
use shop::catalog::{
    CatalogError, Category, CategoryPath, PageRequest, ProductCard, ProductDetail, ProductId, Sort,
    category_url,
};
use std::collections::{BTreeMap, HashMap};
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct ProductList {
    total: u64,
    page: u32,
    per_page: u32,
    products: Vec<ProductSummary>,
}

#[derive(Serialize, ToSchema)]
struct ProductSummary {
    id: i64,
    external_id: String,
    title: String,
    url: String,
    brand: Option<String>,
    category: String,
    price_from: Money,
    rating: Option<f64>,
    available: i64,
}

impl From<ProductCard> for ProductSummary {
    fn from(c: ProductCard) -> Self {
        Self {
            url: c.url(),
            id: c.id.get(),
            external_id: c.external_id,
            title: c.title,
            brand: c.brand,
            category: c.category,
            price_from: c.price_from,
            rating: c.rating.map(stars),
            available: c.available,
        }
    }
}

fn stars(r: shop::catalog::Rating) -> f64 {
    r.hundredths() as f64 / 100.0
}

/// `GET /api/v1/products?category=&page=&per_page=&sort=`
#[utoipa::path(
    get,
    path = "/products",
    tag = "catalog",
    params(
        ("category" = Option<String>, Query, description = "A category path such as `furniture/bedroom-furniture`; its subcategories are included."),
        ("page" = Option<u32>, Query, description = "1 – 10000 (default 1)."),
        ("per_page" = Option<u32>, Query, description = "1 – 100 (default 24)."),
        ("sort" = Option<String>, Query, description = "`featured` (default: best rated first), `price_asc`, `price_desc`, `newest` or `name`."),
    ),
    responses(
        (status = 200, description = "A page of products; `price_from` is the lowest variant price.", body = ProductList),
        (status = 304, description = "Unchanged since the `ETag` sent in `If-None-Match`."),
        (status = 404, description = "No such category (`not_found`), rather than an empty list.", body = super::error::ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<ProductList>, ApiError> {
    let get = |key: &str| params.get(key).map(String::as_str);
    let page = PageRequest::parse(get("page"), get("per_page"))?;
    let sort = Sort::parse(get("sort"))?;
    let category = get("category")
        .filter(|c| !c.is_empty())
        .map(CategoryPath::parse)
        .transpose()?;
    let catalog = &state.services.catalog;
    if let Some(path) = &category {
        // An unknown category is a 404, not an empty list that looks like a sold-out shelf.
        let known = catalog.categories().await?.iter().any(|c| c.path == *path);
        if !known {
            return Err(CatalogError::CategoryNotFound.into());
        }
    }
    let listing = catalog.list(category.as_ref(), sort, page).await?;
    Ok(Json(ProductList {
        total: listing.total,
        page: listing.page,
        per_page: listing.per_page,
        products: listing.items.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct ProductBody {
    id: i64,
    external_id: String,
    source: String,
    slug: String,
    url: String,
    title: String,
    description: String,
    brand: Option<String>,
    product_class: Option<String>,
    rating: Option<f64>,
    seller: String,
    categories: Vec<CategoryRef>,
    variants: Vec<VariantBody>,
}

#[derive(Serialize, ToSchema)]
struct CategoryRef {
    name: String,
    path: String,
    url: String,
}

#[derive(Serialize, ToSchema)]
struct VariantBody {
    sku: String,
    options: BTreeMap<String, String>,
    price: Money,
    available: i64,
}

impl From<ProductDetail> for ProductBody {
    fn from(p: ProductDetail) -> Self {
        Self {
            url: p.url(),
            id: p.id.get(),
            external_id: p.external_id,
            source: p.source,
            slug: p.slug.to_string(),
            title: p.title,
            description: p.description,
            brand: p.brand,
            product_class: p.product_class,
            rating: p.rating.map(stars),
            seller: p.seller,
            categories: p
                .breadcrumbs
                .into_iter()
                .map(|c| CategoryRef {
                    url: category_url(&c.path),
                    name: c.name,
                    path: c.path.to_string(),
                })
                .collect(),
            variants: p
                .variants
                .into_iter()
                .map(|v| VariantBody {
                    sku: v.sku.to_string(),
                    options: v.options.into_iter().map(|o| (o.name, o.value)).collect(),
                    price: v.price,
                    available: v.available,
                })
                .collect(),
        }
    }
}

/// `GET /api/v1/products/{id}`
#[utoipa::path(
    get,
    path = "/products/{id}",
    tag = "catalog",
    params(("id" = String, Path, description = "The numeric `id` from the list; anything but a positive integer is a 400.")),
    responses(
        (status = 200, description = "The product with its categories (department first) and variants (in the seller's order).", body = ProductBody),
        (status = 304, description = "Unchanged since the `ETag` sent in `If-None-Match`."),
        (status = 404, description = "No such product (`not_found`).", body = super::error::ErrorBody),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<ProductId>,
) -> Result<Json<ProductBody>, ApiError> {
    let product = state.services.catalog.product_by_id(id).await?;
    Ok(Json(product.into()))
}

#[derive(Serialize, ToSchema)]
pub struct CategoryList {
    categories: Vec<CategoryBody>,
}

#[derive(Serialize, ToSchema)]
struct CategoryBody {
    id: i64,
    parent_id: Option<i64>,
    name: String,
    path: String,
    depth: u32,
    product_count: u64,
    url: String,
}

impl From<Category> for CategoryBody {
    fn from(c: Category) -> Self {
        Self {
            url: c.url(),
            id: c.id.get(),
            parent_id: c.parent_id.map(|p| p.get()),
            name: c.name,
            path: c.path.to_string(),
            depth: c.depth,
            product_count: c.product_count,
        }
    }
}

/// `GET /api/v1/categories`
#[utoipa::path(
    get,
    path = "/categories",
    tag = "catalog",
    responses(
        (status = 200, description = "The whole category tree, parents before children; `product_count` includes every subcategory's products.", body = CategoryList),
        (status = 304, description = "Unchanged since the `ETag` sent in `If-None-Match`."),
    )
)]
pub async fn categories(State(state): State<AppState>) -> Result<Json<CategoryList>, ApiError> {
    let categories = state.services.catalog.categories().await?;
    Ok(Json(CategoryList {
        categories: categories.iter().cloned().map(Into::into).collect(),
    }))
}
