//! The frame around every page: header with the search box and cart link, and the footer.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_location, use_query_map};

/// How many items are in the shopper's cart; `None` without a cart (and then no database
/// query at all, so pages for visitors without a cart cost nothing extra).
#[server(prefix = "/rpc", endpoint = "cart/count")]
pub async fn cart_item_count() -> Result<Option<i64>, crate::error::AppError> {
    let Some(id) = crate::session::cart_from_cookie() else {
        return Ok(None);
    };
    let services = crate::services::services()?;
    Ok(services.carts.item_count(&id).await.ok())
}

#[component]
pub fn Header() -> impl IntoView {
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    let location = use_location();
    // The count follows every navigation (each cart change ends in one).
    let cart_count = Resource::new(
        move || location.pathname.get() + &location.search.get(),
        |_| cart_item_count(),
    );
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
                    <A href="/orders">"Orders"</A>
                    <A href="/cart" attr:class="cart-link">
                        "Cart"
                        <Suspense>
                            {move || Suspend::new(async move {
                                cart_count.await.ok().flatten().filter(|n| *n > 0).map(|n| {
                                    view! { <span class="cart-count" data-testid="cart-count">{n}</span> }
                                })
                            })}
                        </Suspense>
                    </A>
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
