//! The frame around every page: header with the search box and cart link, and the footer.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

#[component]
pub fn Header() -> impl IntoView {
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    view! {
        <header class="site-header">
            <div class="bar">
                <A href="/" attr:class="logo">"Emporium"</A>
                <form class="search" role="search" action="/search" method="get">
                    <label for="site-search" class="visually-hidden">"Search products"</label>
                    <input
                        id="site-search"
                        type="search"
                        name="q"
                        placeholder="Search products"
                        maxlength="200"
                        prop:value=q
                    />
                    <button type="submit">"Search"</button>
                </form>
                <nav class="account" aria-label="Your shop">
                    <A href="/cart" attr:class="cart-link">"Cart"</A>
                </nav>
            </div>
        </header>
    }
}

#[component]
pub fn Footer() -> impl IntoView {
    view! {
        <footer class="site-footer">
            <div class="columns">
                <section>
                    <h2>"Emporium"</h2>
                    <p>"A marketplace of independent sellers. Prices include no hidden fees."</p>
                </section>
                <section>
                    <h2>"Catalog data"</h2>
                    <p>
                        "Demo products from DummyJSON (MIT) and the WANDS dataset by Wayfair (MIT)."
                    </p>
                </section>
            </div>
        </footer>
    }
}
