//! The dashboard (`/seller`): sales over the last 30 days and what runs low.

use super::{SellerNav, sign_in_first};
use crate::error::AppError;
use crate::format::month_day;
use leptos::prelude::*;
use leptos_meta::Title;
use shop::sellers::Dashboard;

#[server(prefix = "/rpc", endpoint = "seller/dashboard")]
pub async fn load_dashboard() -> Result<Dashboard, AppError> {
    let seller = super::seller()?;
    let services = crate::services::services()?;
    Ok(services.sellers.dashboard(seller, 30).await?)
}

#[component]
pub fn SellerDashboardRoute() -> impl IntoView {
    let dashboard = Resource::new(|| (), |_| load_dashboard());
    view! {
        <Title text="Seller portal"/>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match dashboard.await {
                    Ok(d) => view! { <DashboardView d/> }.into_any(),
                    Err(e) => sign_in_first(e),
                }
            })}
        </Transition>
    }
}

/// Revenue per day as bars and orders as dots, drawn as SVG on the server (no script, no
/// chart library, readable without JavaScript).
#[component]
fn SalesChart(d: Dashboard) -> impl IntoView {
    let (w, h, pad) = (720.0_f64, 220.0_f64, 28.0_f64);
    let n = d.days.len().max(1) as f64;
    let max_revenue = d.days.iter().map(|x| x.revenue).max().unwrap_or(0).max(1) as f64;
    let max_orders = d.days.iter().map(|x| x.orders).max().unwrap_or(0).max(1) as f64;
    let slot = (w - 2.0 * pad) / n;
    let bars: Vec<AnyView> = d
        .days
        .iter()
        .enumerate()
        .map(|(i, day)| {
            let bh = (h - 2.0 * pad) * day.revenue as f64 / max_revenue;
            let x = pad + slot * i as f64 + slot * 0.15;
            let oy = h - pad - (h - 2.0 * pad) * day.orders as f64 / max_orders;
            let label = format!(
                "{}: {} order(s), {}",
                month_day(day.day),
                day.orders,
                shop::Money::new(day.revenue, shop::Currency::shop())
            );
            view! {
                <g>
                    <title>{label}</title>
                    <rect class="bar" x=format!("{x:.1}") y=format!("{:.1}", h - pad - bh)
                        width=format!("{:.1}", slot * 0.7) height=format!("{bh:.1}")/>
                    {(day.orders > 0).then(|| view! {
                        <circle class="dot" cx=format!("{:.1}", x + slot * 0.35) cy=format!("{oy:.1}") r="3"/>
                    })}
                </g>
            }
            .into_any()
        })
        .collect();
    let first = d.days.first().map(|x| month_day(x.day)).unwrap_or_default();
    let last = d.days.last().map(|x| month_day(x.day)).unwrap_or_default();
    let total_revenue: i64 = d.days.iter().map(|x| x.revenue).sum();
    let total_orders: i64 = d.days.iter().map(|x| x.orders).sum();
    let summary = format!(
        "Last {} days: {} order(s), {} revenue",
        d.days.len(),
        total_orders,
        shop::Money::new(total_revenue, shop::Currency::shop())
    );
    view! {
        <figure class="sales-chart">
            <svg viewBox=format!("0 0 {w} {h}") role="img" aria-label=summary.clone() data-testid="sales-chart">
                <line class="axis" x1=pad y1=h - pad x2=w - pad y2=h - pad/>
                {bars}
                <text x=pad y=h - 8.0>{first}</text>
                <text x=w - pad y=h - 8.0 text-anchor="end">{last}</text>
                <text x=pad y=16.0>{format!("max {}", shop::Money::new(max_revenue as i64, shop::Currency::shop()))}</text>
            </svg>
            <figcaption data-testid="sales-summary">{summary}</figcaption>
        </figure>
    }
}

#[component]
fn DashboardView(d: Dashboard) -> impl IntoView {
    let low: Vec<AnyView> = d
        .low_stock
        .iter()
        .map(|l| {
            let (href, title) = (
                format!("/seller/products/{}", l.product_id),
                l.title.clone(),
            );
            view! {
                <li data-testid="low-stock">
                    <a href=href>{title}</a>
                    {format!(" ({}): {} left", l.sku, l.available)}
                </li>
            }
            .into_any()
        })
        .collect();
    let empty = low.is_empty();
    view! {
        <section class="portal">
            <h1>"Seller portal"</h1>
            <SellerNav/>
            <h2>"Orders and revenue"</h2>
            <SalesChart d=d.clone()/>
            <h2>"Low stock"</h2>
            {if empty { view! { <p class="muted">"Every SKU has more than 5 units."</p> }.into_any() } else {
                view! { <ul>{low}</ul> }.into_any()
            }}
        </section>
    }
}
