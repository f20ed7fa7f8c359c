//! The cart page. Carts themselves arrive with checkout; until then every cart is empty,
//! which is what this page truthfully says.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn CartRoute() -> impl IntoView {
    view! {
        <Title text="Your cart"/>
        <section class="cart">
            <h1>"Your cart"</h1>
            <p class="empty">"Your cart is empty."</p>
            <p><A href="/" attr:class="button">"Continue shopping"</A></p>
        </section>
    }
}
