//! "N things; page X of Y" under a back-office table, with links to the neighbouring pages
//! that keep the page's filters (and only those: one-off notices such as `?saved=1` stay
//! behind).

use leptos::prelude::*;

/// How many pages `total` rows make, `per_page` at a time (at least one).
pub fn page_count(total: i64, per_page: i64) -> i64 {
    ((total + per_page.max(1) - 1) / per_page.max(1)).max(1)
}

#[component]
pub fn Pager(
    total: i64,
    page: i64,
    per_page: i64,
    /// What the rows are, singular: "order" reads "3 order(s)".
    noun: &'static str,
    /// The query parameters that are filters, carried into the links.
    #[prop(default = &[])]
    keep: &'static [&'static str],
    #[prop(default = "Previous")] back: &'static str,
    #[prop(default = "Next")] forward: &'static str,
) -> impl IntoView {
    let query = crate::route::query_map();
    let path = crate::route::path();
    let pages = page_count(total, per_page);
    let link = move |to: i64| {
        let mut params = leptos_router::params::ParamsMap::new();
        let current = query.read_untracked();
        for key in keep {
            if let Some(value) = current.get(key).filter(|v| !v.is_empty()) {
                params.replace(*key, value);
            }
        }
        params.replace("page", to.to_string());
        format!("{}{}", path.get_untracked(), params.to_query_string())
    };
    view! {
        <p class="row pager">
            <span class="muted">{format!("{total} {noun}(s); page {page} of {pages}")}</span>
            {(page > 1).then(|| view! { <a href=link(page - 1)>{back}</a> })}
            {(page < pages).then(|| view! { <a href=link(page + 1)>{forward}</a> })}
        </p>
    }
}
