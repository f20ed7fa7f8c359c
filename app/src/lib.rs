//! Emporium's user interface: the shell, the routes and the pages, plus the `#[server]`
//! functions that are the UI's HTTP boundary into `shop`.
//!
//! Built twice: with `ssr` (native, linked into the server, server functions call `shop`)
//! and with `hydrate` (wasm, server functions become HTTP calls).

pub mod accounts;
pub mod admin;
pub mod cart;
pub mod catalog;
pub mod checkout;
pub mod coupons;
pub mod error;
pub mod feeds;
pub mod fields;
pub mod format;
pub mod forms;
pub mod health;
pub mod layout;
pub mod orders;
pub mod pager;
pub mod route;
pub mod sellers;
#[cfg(feature = "ssr")]
pub mod services;
#[cfg(feature = "ssr")]
pub mod session;
pub mod shipping_setup;

use leptos::prelude::*;
use leptos_meta::{Link, Meta, MetaTags, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let locale = shop::money::locale();
    view! {
        <!DOCTYPE html>
        <html lang=locale.language()>
            <head>
                <meta charset="utf-8"/>
                // What the browser's half writes amounts with (read by `configure_from_page`).
                <meta name=MONEY_META content=format!("{} {locale}", shop::Currency::shop())/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link
                    rel="stylesheet"
                    href=format!("/{}/emporium.css", options.site_pkg_dir)
                />
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The `<meta>` that carries the shop's currency and locale to the browser.
const MONEY_META: &str = "emporium-money";

/// In the browser, before hydrating: takes the shop's currency and locale from the page, so
/// that amounts rendered there read as the server wrote them. A page without them (or with
/// values this build does not know) keeps the defaults.
#[cfg(feature = "hydrate")]
pub fn configure_from_page() {
    let content = document()
        .query_selector(&format!("meta[name={MONEY_META}]"))
        .ok()
        .flatten()
        .and_then(|m| m.get_attribute("content"));
    if let Some((currency, locale)) = content.as_deref().and_then(|c| c.split_once(' '))
        && let (Ok(currency), Ok(locale)) = (
            shop::Currency::parse(currency),
            shop::money::Locale::parse(locale),
        )
    {
        let _ = shop::money::configure(currency, locale);
    }
}

/// The app: layout and routes.
///
/// Every route renders with `SsrMode::Async`: the server waits for the page's data and sends
/// complete HTML. That makes every page readable without JavaScript (out-of-order streaming
/// needs scripts to put its chunks in place), lets a page's data decide its HTTP status
/// (404 for an unknown product), and puts titles into `<head>`.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Effects run only in the browser, after hydration: mark <body> so tests (and anyone
    // curious) can tell a hydrated page from server-rendered HTML.
    #[cfg(feature = "hydrate")]
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "");
        }
    });
    view! {
        <Link rel="icon" href="/favicon.svg" type_="image/svg+xml"/>
        <Meta name="theme-color" content="#1f3a2e"/>
        <Title formatter=|text: String| format!("{text} · Emporium")/>
        <Router>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <layout::Header/>
            <main id="main">
                <Routes fallback=error::NotFound>
                    <Route path=path!("/") view=catalog::HomeRoute ssr=SsrMode::Async/>
                    <Route path=path!("/c/*path") view=catalog::CategoryRoute ssr=SsrMode::Async/>
                    <Route path=path!("/p/:slug") view=catalog::ProductRoute ssr=SsrMode::Async/>
                    <Route path=path!("/search") view=catalog::SearchRoute ssr=SsrMode::Async/>
                    <Route path=path!("/cart") view=cart::CartRoute ssr=SsrMode::Async/>
                    <Route path=path!("/checkout") view=checkout::CheckoutRoute ssr=SsrMode::Async/>
                    <Route
                        path=path!("/checkout/:id")
                        view=checkout::CheckoutStatusRoute
                        ssr=SsrMode::Async
                    />
                    <Route path=path!("/seller") view=sellers::SellerDashboardRoute ssr=SsrMode::Async/>
                    <Route path=path!("/seller/products") view=sellers::SellerProductsRoute ssr=SsrMode::Async/>
                    <Route path=path!("/seller/products/:id") view=sellers::SellerProductRoute ssr=SsrMode::Async/>
                    <Route path=path!("/seller/orders") view=sellers::SellerOrdersRoute ssr=SsrMode::Async/>
                    <Route path=path!("/seller/feeds") view=feeds::SellerFeedsRoute ssr=SsrMode::Async/>
                    <Route path=path!("/seller/shipping") view=shipping_setup::SellerShippingRoute ssr=SsrMode::Async/>
                    <Route path=path!("/seller/feeds/:id") view=feeds::SellerFeedRoute ssr=SsrMode::Async/>
                    <Route path=path!("/admin") view=admin::AdminRoute ssr=SsrMode::Async/>
                    <Route path=path!("/admin/orders") view=admin::AdminOrdersRoute ssr=SsrMode::Async/>
                    <Route path=path!("/admin/shipping") view=shipping_setup::AdminShippingRoute ssr=SsrMode::Async/>
                    <Route path=path!("/admin/orders/:id") view=admin::AdminOrderRoute ssr=SsrMode::Async/>
                    <Route path=path!("/account") view=accounts::AccountRoute ssr=SsrMode::Async/>
                    <Route path=path!("/account/addresses") view=accounts::AddressesRoute ssr=SsrMode::Async/>
                    <Route path=path!("/account/sign-in") view=accounts::SignInRoute ssr=SsrMode::Async/>
                    <Route path=path!("/account/sign-in/code") view=accounts::SignInCodeRoute ssr=SsrMode::Async/>
                    <Route path=path!("/account/security") view=accounts::SecurityRoute ssr=SsrMode::Async/>
                    <Route path=path!("/account/sign-up") view=accounts::SignUpRoute ssr=SsrMode::Async/>
                    <Route path=path!("/account/confirm/:token") view=accounts::ConfirmRoute ssr=SsrMode::Async/>
                    <Route path=path!("/account/reset") view=accounts::ResetRequestRoute ssr=SsrMode::Async/>
                    <Route path=path!("/account/reset/:token") view=accounts::ResetRoute ssr=SsrMode::Async/>
                    <Route path=path!("/orders") view=orders::OrderLookupRoute ssr=SsrMode::Async/>
                    <Route path=path!("/orders/:id") view=orders::OrderRoute ssr=SsrMode::Async/>
                </Routes>
            </main>
            <layout::Footer/>
        </Router>
    }
}
