//! Every order (`/admin/orders`), filtered by status or by e-mail and order number.

use super::forbidden_or;
use crate::error::AppError;
use crate::format::utc;
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};
use shop::orders::{OrderStatus, OrderSummary};

/// A page of all orders.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrdersPage {
    pub orders: Vec<OrderSummary>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

#[server(prefix = "/rpc", endpoint = "admin/orders")]
pub async fn load_orders(
    status: Option<String>,
    q: Option<String>,
    page: Option<String>,
) -> Result<OrdersPage, AppError> {
    super::admin()?;
    let services = crate::services::services()?;
    let page = shop::input::parse_page(page.as_deref())?;
    let per_page = 25;
    let filter = shop::orders::OrderFilter {
        status: status.as_deref().and_then(OrderStatus::parse),
        query: q.map(|q| q.chars().take(100).collect()),
        ..Default::default()
    };
    let (orders, total) = services.orders.list(&filter, page, per_page).await?;
    Ok(OrdersPage {
        orders,
        total,
        page,
        per_page,
    })
}

#[component]
pub fn AdminOrdersRoute() -> impl IntoView {
    let query = crate::route::query_map();
    let orders = Resource::new(
        move || {
            let q = query.read();
            (q.get("status"), q.get("q"), q.get("page"))
        },
        |(status, q, page)| load_orders(status, q, page),
    );
    let status = move || query.read().get("status").unwrap_or_default();
    let text = move || query.read().get("q").unwrap_or_default();
    view! {
        <Title text="All orders"/>
        <section class="admin">
            <h1>"All orders"</h1>
            <form method="get" action="/admin/orders" class="coupon-form">
                <label>"Status"
                    <select name="status">
                        <option value="" selected=move || status().is_empty()>"Any"</option>
                        {OrderStatus::ALL.into_iter().map(|s| {
                            let value = s.as_str();
                            view! { <option value=value selected=move || status() == value>{s.label()}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label>"E-mail or order number" <input name="q" value=text maxlength="100"/></label>
                <button type="submit" class="secondary">"Filter"</button>
            </form>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match orders.await {
                        Ok(page) => view! { <OrderTable page/> }.into_any(),
                        Err(e) => forbidden_or(e),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn OrderTable(page: OrdersPage) -> impl IntoView {
    let rows: Vec<AnyView> = page
        .orders
        .iter()
        .map(|o| {
            let id = o.id.to_string();
            let href = format!("/admin/orders/{id}");
            view! {
                <tr data-testid="admin-order">
                    <td><a href=href>{id}</a></td>
                    <td>{utc(o.created_at)}</td>
                    <td>{o.email.clone()}</td>
                    <td>{o.status.label()}</td>
                    <td>{o.items}</td>
                    <td>{o.total.to_string()}</td>
                </tr>
            }
            .into_any()
        })
        .collect();
    view! {
        <table class="orders-table">
            <thead><tr><th>"Order"</th><th>"Placed"</th><th>"E-mail"</th><th>"Status"</th><th>"Items"</th><th>"Total"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
        <crate::pager::Pager total=page.total page=page.page per_page=page.per_page noun="order"
            keep=&["status", "q"] back="Newer" forward="Older"/>
    }
}
