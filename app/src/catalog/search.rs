//! The search results page. Until the search index arrives this is the plain database
//! search, which later remains as the index's fallback.

use super::cards::{Pagination, ProductGrid};
use super::search_catalog;
use crate::error::ErrorPage;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SearchRoute() -> impl IntoView {
    let query = use_query_map();
    let request = move || {
        let q = query.read();
        (q.get("q").unwrap_or_default(), q.get("page"))
    };
    let results = Resource::new(request, |(q, page)| search_catalog(q, page));
    view! {
        <Title text="Search"/>
        <Suspense fallback=|| view! { <p class="loading">"Searching…"</p> }>
            {move || Suspend::new(async move {
                let q = query.read_untracked().get("q").unwrap_or_default();
                match results.await {
                    Ok(page) => {
                        let heading = if q.trim().is_empty() {
                            "Search the shop".to_string()
                        } else {
                            format!("Results for “{}”", q.trim().chars().take(80).collect::<String>())
                        };
                        let summary = format!("{} matching products", page.total);
                        let encoded = urlencode(&q);
                        let link = move |n: u32| format!("/search?q={encoded}&page={n}");
                        view! {
                            <header class="listing-header">
                                <h1>{heading}</h1>
                                <p class="count">{summary}</p>
                            </header>
                            <ProductGrid
                                products=page.items.clone()
                                empty="No products match those words. Try fewer or different words."
                            />
                            <Pagination page link/>
                        }
                            .into_any()
                    }
                    Err(error) => view! { <ErrorPage error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Percent-encodes text for a query-string value.
fn urlencode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
