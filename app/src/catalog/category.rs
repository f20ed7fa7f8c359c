//! A category's listing: subcategories, sorting and pagination, all plain links and a GET
//! form so that it works the same with and without JavaScript.

use super::cards::{Breadcrumbs, Pagination, ProductGrid};
use super::load_category;
use crate::error::ErrorPage;
use leptos::prelude::*;
use leptos_meta::Title;
use shop::catalog::{CategoryPage, Sort};

#[component]
pub fn CategoryRoute() -> impl IntoView {
    let params = crate::route::params_map();
    let query = crate::route::query_map();
    let request = move || {
        let q = query.read();
        (
            params.read().get("path").unwrap_or_default(),
            q.get("page"),
            q.get("per_page"),
            q.get("sort"),
        )
    };
    let listing = Resource::new(request, |(path, page, per_page, sort)| {
        load_category(path, page, per_page, sort)
    });
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading products…"</p> }>
            {move || Suspend::new(async move {
                match listing.await {
                    Ok(page) => view! { <Listing page/> }.into_any(),
                    Err(error) => view! { <ErrorPage error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Listing(page: CategoryPage) -> impl IntoView {
    let url = page.category.url();
    let sort = page.sort;
    let per_page = page.products.per_page;
    let navigate = crate::route::Navigator::here();
    let total = page.products.total;
    let link = {
        let url = url.clone();
        move |n: u32| listing_url(&url, n, per_page, sort)
    };
    let summary = match total {
        0 => "No products".to_string(),
        1 => "1 product".to_string(),
        n => format!("{n} products"),
    };
    view! {
        <Title text=page.category.name.clone()/>
        <Breadcrumbs crumbs=page.breadcrumbs/>
        <header class="listing-header">
            <h1>{page.category.name}</h1>
            <p class="count" data-testid="product-count">{summary}</p>
        </header>
        {(!page.children.is_empty())
            .then(|| {
                view! {
                    <nav class="subcategories" aria-label="Subcategories">
                        <ul>
                            {page
                                .children
                                .into_iter()
                                .map(|c| {
                                    let href = c.url();
                                    view! {
                                        <li>
                                            <a href=href>
                                                {c.name} <span class="count">{c.product_count}</span>
                                            </a>
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                    </nav>
                }
            })}
        <form
            method="get"
            action=url.clone()
            class="sort-form"
            on:submit=move |ev| crate::forms::navigate_on_submit(&ev, &navigate)
        >
            <label for="sort">"Sort by"</label>
            <select id="sort" name="sort">
                {Sort::ALL
                    .into_iter()
                    .map(|s| {
                        view! {
                            <option value=s.as_str() selected=s == sort>
                                {s.label()}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
            {(per_page != shop::catalog::PageRequest::DEFAULT_PER_PAGE)
                .then(|| view! { <input type="hidden" name="per_page" value=per_page/> })}
            <button type="submit">"Apply"</button>
        </form>
        <ProductGrid
            products=page.products.items.clone()
            empty="There are no products on this page. Try the first page."
        />
        <Pagination page=page.products link/>
    }
}

/// The address of one page of a listing, leaving out values that are the defaults.
fn listing_url(base: &str, page: u32, per_page: u32, sort: Sort) -> String {
    let mut params = Vec::new();
    if sort != Sort::Featured {
        params.push(format!("sort={}", sort.as_str()));
    }
    if per_page != shop::catalog::PageRequest::DEFAULT_PER_PAGE {
        params.push(format!("per_page={per_page}"));
    }
    if page > 1 {
        params.push(format!("page={page}"));
    }
    if params.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", params.join("&"))
    }
}
