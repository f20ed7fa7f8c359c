//! The orders holding the seller's items (`/seller/orders`), without the buyers' addresses.

use super::{SellerNav, sign_in_first};
use crate::admin::OrdersPage;
use crate::error::AppError;
use crate::format::utc;
use leptos::prelude::*;
use leptos_meta::Title;

#[server(prefix = "/rpc", endpoint = "seller/orders")]
pub async fn load_seller_orders(page: Option<String>) -> Result<OrdersPage, AppError> {
    let seller = super::seller()?;
    let services = crate::services::services()?;
    let page = shop::input::parse_page(page.as_deref())?;
    let per_page = 25;
    let filter = shop::orders::OrderFilter {
        seller: Some(seller),
        ..Default::default()
    };
    let (mut orders, total) = services.orders.list(&filter, page, per_page).await?;
    // A seller ships the order; the buyer's address is on the packing slip, not in this list.
    for o in &mut orders {
        o.email = String::new();
    }
    Ok(OrdersPage {
        orders,
        total,
        page,
        per_page,
    })
}

#[component]
pub fn SellerOrdersRoute() -> impl IntoView {
    let query = crate::route::query_map();
    let orders = Resource::new(move || query.read().get("page"), load_seller_orders);
    view! {
        <Title text="Your orders"/>
        <section class="portal">
            <h1>"Orders with your items"</h1>
            <SellerNav/>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match orders.await {
                        Ok(page) => {
                            let rows: Vec<AnyView> = page.orders.iter().map(|o| view! {
                                <tr data-testid="seller-order">
                                    <td>{o.id.to_string()}</td>
                                    <td>{utc(o.created_at)}</td>
                                    <td>{o.status.label()}</td>
                                    <td>{o.items}</td>
                                    <td>{o.total.to_string()}</td>
                                </tr>
                            }.into_any()).collect();
                            view! {
                                <table class="orders-table">
                                    <thead><tr><th>"Order"</th><th>"Placed"</th><th>"Status"</th><th>"Your items"</th><th>"Your revenue"</th></tr></thead>
                                    <tbody>{rows}</tbody>
                                </table>
                                <crate::pager::Pager total=page.total page=page.page per_page=page.per_page noun="order"
                                    back="Newer" forward="Older"/>
                            }.into_any()
                        }
                        Err(e) => sign_in_first(e),
                    }
                })}
            </Transition>
        </section>
    }
}
