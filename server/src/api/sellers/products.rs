//! The seller API beyond pictures: products (with their variants), stock per SKU and
//! warehouse, and orders — the same `shop::sellers` calls, and the same checks, as the portal
//! pages. The seller is the key's or the session's, never the request's.

use super::Seller;
use crate::api::ApiError;
use crate::api::extract::{Json, Known, Path, Query};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shop::catalog::{ProductId, Sku};
use shop::orders::OrderSummary;
use shop::sellers::{ProductDraft, SellerError, SellerProduct, StockRow, VariantDraft};
use utoipa::ToSchema;

/// A page of the seller's products.
#[derive(Serialize, ToSchema)]
pub struct SellerProductPage {
    total: i64,
    page: i64,
    products: Vec<SellerProduct>,
}

/// A product as its form edits it, with its stock per SKU and warehouse.
#[derive(Serialize, ToSchema)]
pub struct SellerProductView {
    id: i64,
    product: ProductDraft,
    stock: Vec<StockRow>,
}

/// The product saved.
#[derive(Serialize, ToSchema)]
pub struct ProductSaved {
    id: i64,
}

/// A page of orders holding the seller's items (`items` and `total` count only those; no
/// buyer e-mail).
#[derive(Serialize, ToSchema)]
pub struct SellerOrderPage {
    total: i64,
    page: i64,
    orders: Vec<OrderSummary>,
}

#[derive(Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    page: Option<String>,
}

/// `GET /api/v1/seller/products?q=&page=`
#[utoipa::path(
    get,
    path = "/seller/products",
    tag = "seller",
    params(
        ("q" = Option<String>, Query, description = "Matches the title or a SKU."),
        ("page" = Option<u32>, Query, description = "1 – 10000 (default 1); 50 a page."),
    ),
    responses(
        (status = 200, description = "The seller's products.", body = SellerProductPage),
    ),
    security(("seller_key" = []), ("session" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    Seller(seller): Seller,
    Query(query): Query<ListQuery>,
) -> Result<Json<SellerProductPage>, ApiError> {
    let page = i64::from(shop::input::parse_bounded(
        "page",
        query.page.as_deref(),
        1,
        1,
        10_000,
    )?);
    let q: String = query.q.unwrap_or_default().chars().take(100).collect();
    let (products, total) = state
        .services
        .sellers
        .products(seller, &q, page, 50)
        .await?;
    Ok(Json(SellerProductPage {
        total,
        page,
        products,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SellerVariantBody)]
pub struct VariantBody {
    sku: String,
    /// Decimal text or a number of major units: "19.99".
    #[schema(value_type = String, example = "19.99")]
    price: Value,
    /// Option names and values, such as `[["Size", "Queen"]]`.
    #[serde(default)]
    options: Vec<(String, String)>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SellerProductBody)]
pub struct ProductBody {
    title: String,
    description: String,
    #[serde(default)]
    brand: Option<String>,
    category_id: i64,
    variants: Vec<VariantBody>,
}

impl From<ProductBody> for ProductDraft {
    fn from(b: ProductBody) -> Self {
        ProductDraft {
            title: b.title,
            description: b.description,
            brand: b.brand.unwrap_or_default(),
            category: b.category_id.to_string(),
            variants: b
                .variants
                .into_iter()
                .map(|v| VariantDraft {
                    sku: v.sku,
                    price: match v.price {
                        Value::String(s) => s,
                        other => other.to_string(),
                    },
                    options: v
                        .options
                        .iter()
                        .map(|(n, v)| format!("{n}: {v}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                })
                .collect(),
        }
    }
}

/// `POST /api/v1/seller/products`: 201 with the new product's id.
#[utoipa::path(
    post,
    path = "/seller/products",
    tag = "seller",
    request_body = ProductBody,
    responses(
        (status = 201, description = "The product is listed.", body = ProductSaved),
        (status = 422, description = "Every mistake at once (`invalid`), naming each field (`title`, `variants.0.sku`, …).", body = crate::api::error::ErrorBody),
    ),
    security(("seller_key" = []), ("session" = [], "csrf_token" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    Seller(seller): Seller,
    Json(body): Json<ProductBody>,
) -> Result<(StatusCode, Json<ProductSaved>), ApiError> {
    let id = state
        .services
        .sellers
        .save(seller, None, &body.into())
        .await?;
    Ok((StatusCode::CREATED, Json(ProductSaved { id })))
}

/// `GET /api/v1/seller/products/{id}`: the product as its form edits it, with stock.
#[utoipa::path(
    get,
    path = "/seller/products/{id}",
    tag = "seller",
    params(
        ("id" = String, Path, description = "The product's id."),
    ),
    responses(
        (status = 200, description = "The product and its stock.", body = SellerProductView),
        (status = 404, description = "No such product of this seller's (`not_found`).", body = crate::api::error::ErrorBody),
    ),
    security(("seller_key" = []), ("session" = []))
)]
pub async fn show(
    State(state): State<AppState>,
    Seller(seller): Seller,
    Known(id, _): Known<ProductId, SellerError>,
) -> Result<Json<SellerProductView>, ApiError> {
    let id = id.get();
    let draft = state.services.sellers.draft(seller, id).await?;
    let stock = state.services.sellers.stock(seller, id).await?;
    Ok(Json(SellerProductView {
        id,
        product: draft,
        stock,
    }))
}

/// `PUT /api/v1/seller/products/{id}`
#[utoipa::path(
    put,
    path = "/seller/products/{id}",
    tag = "seller",
    params(
        ("id" = String, Path, description = "The product's id."),
    ),
    request_body = ProductBody,
    responses(
        (status = 200, description = "The product is updated.", body = ProductSaved),
        (status = 404, description = "No such product of this seller's (`not_found`).", body = crate::api::error::ErrorBody),
        (status = 422, description = "Every mistake at once (`invalid`).", body = crate::api::error::ErrorBody),
    ),
    security(("seller_key" = []), ("session" = [], "csrf_token" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    Seller(seller): Seller,
    Known(id, _): Known<ProductId, SellerError>,
    body: Result<Json<ProductBody>, ApiError>,
) -> Result<Json<ProductSaved>, ApiError> {
    let Json(body) = body?;
    let id = state
        .services
        .sellers
        .save(seller, Some(id.get()), &body.into())
        .await?;
    Ok(Json(ProductSaved { id }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockBody {
    #[serde(default = "main")]
    warehouse: String,
    available: i64,
    reason: String,
}

fn main() -> String {
    "main".into()
}

/// `PUT /api/v1/seller/stock/{sku}` with `{ "warehouse", "available", "reason" }`.
#[utoipa::path(
    put,
    path = "/seller/stock/{sku}",
    tag = "seller",
    params(
        ("sku" = String, Path, description = "One of the seller's SKUs."),
    ),
    request_body = StockBody,
    responses(
        (status = 204, description = "Stock set; the difference is received or written off, with the reason in the audit trail."),
        (status = 404, description = "No such SKU of this seller's (`not_found`).", body = crate::api::error::ErrorBody),
    ),
    security(("seller_key" = []), ("session" = [], "csrf_token" = []))
)]
pub async fn set_stock(
    State(state): State<AppState>,
    Seller(seller): Seller,
    Path(sku): Path<Sku>,
    body: Result<Json<StockBody>, ApiError>,
) -> Result<StatusCode, ApiError> {
    let Json(body) = body?;
    state
        .services
        .sellers
        .set_stock(
            seller,
            sku.as_str(),
            &body.warehouse,
            body.available,
            &body.reason,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/seller/orders?page=`: orders holding the seller's items, counting only those.
#[utoipa::path(
    get,
    path = "/seller/orders",
    tag = "seller",
    params(
        ("page" = Option<u32>, Query, description = "1 – 10000 (default 1); 50 a page."),
    ),
    responses(
        (status = 200, description = "The orders holding the seller's items.", body = SellerOrderPage),
    ),
    security(("seller_key" = []), ("session" = []))
)]
pub async fn orders(
    State(state): State<AppState>,
    Seller(seller): Seller,
    Query(query): Query<ListQuery>,
) -> Result<Json<SellerOrderPage>, ApiError> {
    let page = i64::from(shop::input::parse_bounded(
        "page",
        query.page.as_deref(),
        1,
        1,
        10_000,
    )?);
    let filter = shop::orders::OrderFilter {
        seller: Some(seller),
        ..Default::default()
    };
    let (mut orders, total) = state.services.orders.list(&filter, page, 50).await?;
    for o in &mut orders {
        o.email = String::new();
    }
    Ok(Json(SellerOrderPage {
        total,
        page,
        orders,
    }))
}
