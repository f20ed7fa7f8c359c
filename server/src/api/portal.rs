//! The seller API beyond pictures: products (with their variants), stock per SKU and
//! warehouse, and orders — the same `shop::portal` calls, and the same checks, as the portal
//! pages. The seller is the key's or the session's, never the request's.

use super::ApiError;
use super::seller::Seller;
use crate::state::AppState;
use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use shop::portal::{PortalError, ProductDraft, VariantDraft};

impl From<PortalError> for ApiError {
    fn from(e: PortalError) -> Self {
        match e {
            PortalError::NotFound => ApiError::not_found("no such product or SKU"),
            PortalError::Invalid(errors) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                errors
                    .0
                    .iter()
                    .map(|(f, m)| format!("{f}: {m}"))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            PortalError::Catalog(e) => e.into(),
            PortalError::Db(e) => {
                super::error::unexpected("portal", &e, shop::db::is_unavailable(&e))
            }
        }
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    page: Option<String>,
}

/// `GET /api/v1/seller/products?q=&page=`
pub async fn list(
    State(state): State<AppState>,
    Seller(seller): Seller,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let page = i64::from(shop::input::parse_bounded(
        "page",
        query.page.as_deref(),
        1,
        1,
        10_000,
    )?);
    let q: String = query.q.unwrap_or_default().chars().take(100).collect();
    let (products, total) = state.services.portal.products(seller, &q, page, 50).await?;
    Ok(Json(
        json!({ "total": total, "page": page, "products": products }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantBody {
    sku: String,
    /// Decimal text or a number of major units: "19.99".
    price: Value,
    #[serde(default)]
    options: Vec<(String, String)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
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
pub async fn create(
    State(state): State<AppState>,
    Seller(seller): Seller,
    body: Result<Json<ProductBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(body) = body?;
    let id = state
        .services
        .portal
        .save(seller, None, &body.into())
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))))
}

/// `GET /api/v1/seller/products/{id}`: the product as its form edits it, with stock.
pub async fn show(
    State(state): State<AppState>,
    Seller(seller): Seller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(id) = path?;
    let id = shop::catalog::ProductId::parse(&id)
        .map_err(|_| ApiError::not_found("no such product or SKU"))?
        .get();
    let draft = state.services.portal.draft(seller, id).await?;
    let stock = state.services.portal.stock(seller, id).await?;
    Ok(Json(json!({ "id": id, "product": draft, "stock": stock })))
}

/// `PUT /api/v1/seller/products/{id}`
pub async fn update(
    State(state): State<AppState>,
    Seller(seller): Seller,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<ProductBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(id) = path?;
    let id = shop::catalog::ProductId::parse(&id)
        .map_err(|_| ApiError::not_found("no such product or SKU"))?
        .get();
    let Json(body) = body?;
    let id = state
        .services
        .portal
        .save(seller, Some(id), &body.into())
        .await?;
    Ok(Json(json!({ "id": id })))
}

#[derive(Deserialize)]
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
pub async fn set_stock(
    State(state): State<AppState>,
    Seller(seller): Seller,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<StockBody>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let Path(sku) = path?;
    let sku = shop::catalog::Sku::parse(&sku)?;
    let Json(body) = body?;
    state
        .services
        .portal
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
pub async fn orders(
    State(state): State<AppState>,
    Seller(seller): Seller,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
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
    Ok(Json(
        json!({ "total": total, "page": page, "orders": orders }),
    ))
}
