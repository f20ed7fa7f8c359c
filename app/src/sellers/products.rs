//! The seller's products (`/seller/products`), searchable, a page at a time.

use super::{SellerNav, sign_in_first};
use crate::error::AppError;
use crate::format::utc;
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};
use shop::sellers::SellerProduct;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProductsPage {
    pub products: Vec<SellerProduct>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

#[server(prefix = "/rpc", endpoint = "seller/products")]
pub async fn load_products(
    q: Option<String>,
    page: Option<String>,
) -> Result<ProductsPage, AppError> {
    let seller = super::seller()?;
    let services = crate::services::services()?;
    let page = shop::input::parse_page(page.as_deref())?;
    let per_page = 20;
    let query: String = q.unwrap_or_default().chars().take(100).collect();
    let (products, total) = services
        .sellers
        .products(seller, &query, page, per_page)
        .await?;
    Ok(ProductsPage {
        products,
        total,
        page,
        per_page,
    })
}

#[component]
pub fn SellerProductsRoute() -> impl IntoView {
    let query = crate::route::query_map();
    let products = Resource::new(
        move || {
            let q = query.read();
            (q.get("q"), q.get("page"))
        },
        |(q, page)| load_products(q, page),
    );
    let text = move || query.read().get("q").unwrap_or_default();
    view! {
        <Title text="Your products"/>
        <section class="portal">
            <h1>"Your products"</h1>
            <SellerNav/>
            <form method="get" action="/seller/products" class="coupon-form" role="search">
                <label>"Title or SKU" <input name="q" value=text maxlength="100"/></label>
                <button type="submit" class="secondary">"Search"</button>
            </form>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match products.await {
                        Ok(page) => view! { <ProductTable page/> }.into_any(),
                        Err(e) => sign_in_first(e),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn ProductTable(page: ProductsPage) -> impl IntoView {
    let rows: Vec<AnyView> = page
        .products
        .iter()
        .map(|p| {
            let (href, title) = (format!("/seller/products/{}", p.id), p.title.clone());
            view! {
                <tr data-testid="seller-product">
                    <td><a href=href>{title}</a></td>
                    <td>{p.price_from.to_string()}</td>
                    <td>{p.variants}</td>
                    <td>{p.available}</td>
                    <td>{p.pictures}</td>
                    <td>{utc(p.updated_at)}</td>
                </tr>
            }
            .into_any()
        })
        .collect();
    view! {
        <table class="orders-table">
            <thead><tr><th>"Product"</th><th>"From"</th><th>"Variants"</th><th>"In stock"</th><th>"Pictures"</th><th>"Changed"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
        <crate::pager::Pager total=page.total page=page.page per_page=page.per_page noun="product"
            keep=&["q"]/>
    }
}
