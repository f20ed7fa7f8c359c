//! The home page: departments and a selection of products.

use super::cards::ProductGrid;
use super::load_home;
use crate::error::ErrorPage;
use leptos::prelude::*;
use leptos_meta::Title;
use shop::catalog::HomePage;

#[component]
pub fn HomeRoute() -> impl IntoView {
    let home = Resource::new(|| (), |_| load_home());
    view! {
        <Title text="Home, style and everyday essentials"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading the shop…"</p> }>
            {move || Suspend::new(async move {
                match home.await {
                    Ok(page) => view! { <Home page/> }.into_any(),
                    Err(error) => view! { <ErrorPage error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Home(page: HomePage) -> impl IntoView {
    view! {
        <section class="hero">
            <h1>"Everything for the home, and then some."</h1>
            <p class="lead">
                {format!(
                    "{} products from independent sellers, with live stock on every page.",
                    page.product_count,
                )}
            </p>
        </section>
        <section class="departments" aria-labelledby="departments-heading">
            <h2 id="departments-heading">"Shop by department"</h2>
            <ul class="department-grid">
                {page
                    .departments
                    .into_iter()
                    .map(|d| {
                        let href = d.url();
                        view! {
                            <li>
                                <a href=href>
                                    <span class="department-name">{d.name}</span>
                                    <span class="count">
                                        {format!("{} products", d.product_count)}
                                    </span>
                                </a>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </section>
        <section aria-labelledby="featured-heading">
            <h2 id="featured-heading">"Top rated"</h2>
            <ProductGrid products=page.featured empty="Nothing rated yet."/>
        </section>
        <section aria-labelledby="newest-heading">
            <h2 id="newest-heading">"New arrivals"</h2>
            <ProductGrid products=page.newest empty="Nothing new yet."/>
        </section>
    }
}
