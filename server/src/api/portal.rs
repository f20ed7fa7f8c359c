//! The seller API beyond pictures: products (with their variants), stock per SKU and
//! warehouse, and orders — the same `shop::portal` calls, and the same checks, as the portal
//! pages. The seller is the key's or the session's, never the request's.

use super::ApiError;
use super::extract::{Json, Path, Query};
use super::seller::Seller;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use shop::portal::{PortalError, ProductDraft, VariantDraft};

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
    Json(body): Json<ProductBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
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
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = shop::catalog::ProductId::parse(&id)
        .map_err(|_| PortalError::NotFound)?
        .get();
    let draft = state.services.portal.draft(seller, id).await?;
    let stock = state.services.portal.stock(seller, id).await?;
    Ok(Json(json!({ "id": id, "product": draft, "stock": stock })))
}

/// `PUT /api/v1/seller/products/{id}`
pub async fn update(
    State(state): State<AppState>,
    Seller(seller): Seller,
    Path(id): Path<String>,
    body: Result<Json<ProductBody>, ApiError>,
) -> Result<Json<Value>, ApiError> {
    let id = shop::catalog::ProductId::parse(&id)
        .map_err(|_| PortalError::NotFound)?
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
    Path(sku): Path<String>,
    body: Result<Json<StockBody>, ApiError>,
) -> Result<StatusCode, ApiError> {
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
