//! The seller portal, the sellers context's pages: dashboard (sales chart drawn on the server,
//! low stock), products with search, the product form (validation messages beside the
//! fields), stock per warehouse with a reason for each change and the audit trail, pictures
//! (upload through the assets pipeline, approve, remove), and the orders holding the seller's
//! items. Every server function starts from `Viewer::require_seller`: the seller comes from
//! the session, never from the form.
//!
//! One file per page (`dashboard`, `products`, `product`, `orders`); here what they share:
//! the seller check, the sign-in prompt and the portal's navigation. The feed pages live with
//! their own context, in `crate::feeds`.

mod dashboard;
mod orders;
mod product;
mod products;

pub use dashboard::*;
pub use orders::*;
pub use product::*;
pub use products::*;

use crate::error::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
pub(crate) fn seller() -> Result<shop::catalog::SellerId, AppError> {
    Ok(shop::accounts::Viewer::require_seller(
        crate::session::viewer().as_ref(),
    )?)
}

pub(crate) fn sign_in_first(error: AppError) -> AnyView {
    crate::accounts::sign_in_or_error(error, "Seller portal", "/seller", "your seller account")
}

#[component]
pub(crate) fn SellerNav() -> impl IntoView {
    view! {
        <nav class="row portal-nav" aria-label="Seller portal">
            <a href="/seller">"Dashboard"</a>
            <a href="/seller/products">"Products"</a>
            <a href="/seller/products/new">"New product"</a>
            <a href="/seller/orders">"Orders"</a>
            <a href="/seller/feeds">"Feeds"</a>
            <a href="/seller/shipping">"Shipping"</a>
        </nav>
    }
}
