//! The product page. The variant selector is a set of links (`?sku=…`): without JavaScript
//! each is a page load that renders the chosen variant; once hydrated the router turns it
//! into a client-side navigation, and price and availability update without a reload.

use super::cards::{Breadcrumbs, Monogram, Stars, StockBadge};
use super::load_product;
use crate::error::ErrorPage;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::{use_params_map, use_query_map};
use shop::catalog::ProductDetail;
use shop::inventory::StockStatus;

#[component]
pub fn ProductRoute() -> impl IntoView {
    let params = use_params_map();
    // Only the slug keys the resource: choosing a variant changes the query, not the data.
    let slug = move || params.read().get("slug").unwrap_or_default();
    let product = Resource::new(slug, load_product);
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading product…"</p> }>
            {move || Suspend::new(async move {
                match product.await {
                    Ok(product) => view! { <ProductView product/> }.into_any(),
                    Err(error) => view! { <ErrorPage error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ProductView(product: ProductDetail) -> impl IntoView {
    let query = use_query_map();
    let product = StoredValue::new(product);
    let selected = Memo::new(move |_| {
        let sku = query.read().get("sku");
        product.with_value(|p| p.variant(sku.as_deref()).cloned())
    });
    let p = product.get_value();
    let url = p.url();
    let description = p.description.chars().take(160).collect::<String>();
    let option_names = p
        .variants
        .first()
        .map(|v| {
            v.options
                .iter()
                .map(|o| o.name.clone())
                .collect::<Vec<_>>()
                .join(" / ")
        })
        .unwrap_or_default();
    let has_choice = p.variants.len() > 1;

    let chips = p
        .variants
        .iter()
        .map(|v| {
            let sku = v.sku.to_string();
            let href = format!("{url}?sku={sku}");
            let is_selected = {
                let sku = sku.clone();
                move || selected.read().as_ref().is_some_and(|s| s.sku.as_str() == sku)
            };
            let is_selected_attr = is_selected.clone();
            let sold_out = v.available <= 0;
            let label = v.label();
            view! {
                <li>
                    // A plain <a>: the router's <A> would mark every chip aria-current (they
                    // share the page's path); `data-noscroll` keeps the page where it is.
                    <a
                        href=href
                        data-noscroll=""
                        class=move || {
                            let mut class = String::from("chip");
                            if is_selected() {
                                class.push_str(" selected");
                            }
                            if sold_out {
                                class.push_str(" sold-out");
                            }
                            class
                        }
                        aria-current=move || is_selected_attr().then_some("true")
                        data-sku=sku.clone()
                    >
                        {label}
                        {sold_out.then(|| view! { <span class="visually-hidden">" (sold out)"</span> })}
                    </a>
                </li>
            }
        })
        .collect_view();

    view! {
        <Title text=p.title.clone()/>
        <Meta name="description" content=description/>
        <Breadcrumbs crumbs=p.breadcrumbs.clone()/>
        <article class="product" data-product-id=p.id.get()>
            <div class="product-media">
                <Monogram title=p.title.clone()/>
            </div>
            <div class="product-info">
                {p.brand.clone().map(|b| view! { <p class="brand">{b}</p> })}
                <h1>{p.title.clone()}</h1>
                <p class="byline">
                    "Sold by " <span class="seller">{p.seller.clone()}</span>
                    {p.rating.map(|r| view! { " · " <Stars stars=r.stars()/> })}
                </p>
                <p class="price big" data-testid="price">
                    {move || selected.read().as_ref().map(|v| v.price.to_string())}
                </p>
                {move || {
                    selected
                        .read()
                        .as_ref()
                        .map(|v| view! { <StockBadge status=StockStatus::of(v.available)/> })
                }}
                {has_choice
                    .then(|| {
                        view! {
                            <fieldset class="variants">
                                <legend>
                                    {option_names} ": "
                                    <strong data-testid="selected-variant">
                                        {move || selected.read().as_ref().map(|v| v.label())}
                                    </strong>
                                </legend>
                                <ul>{chips}</ul>
                            </fieldset>
                        }
                    })}
                <p class="sku">
                    "SKU " <span data-testid="sku">
                        {move || selected.read().as_ref().map(|v| v.sku.to_string())}
                    </span>
                </p>
                <section class="description" aria-label="Description">
                    <p>{p.description.clone()}</p>
                </section>
                <dl class="facts">
                    {p.product_class.clone().map(|c| view! {
                        <dt>"Type"</dt><dd>{c.replace('|', ", ")}</dd>
                    })}
                    <dt>"Product id"</dt><dd>{p.id.get()}</dd>
                </dl>
            </div>
        </article>
    }
}
