//! Emporium's user interface: the shell, the routes and the pages, plus the `#[server]`
//! functions that are the UI's HTTP boundary into `shop`.
//!
//! Built twice: with `ssr` (native, linked into the server, server functions call `shop`)
//! and with `hydrate` (wasm, server functions become HTTP calls).

pub mod account;
pub mod cart;
pub mod catalog;
pub mod checkout;
pub mod error;
pub mod forms;
pub mod layout;
pub mod orders;
#[cfg(feature = "ssr")]
pub mod services;
#[cfg(feature = "ssr")]
pub mod session;

use leptos::prelude::*;
use leptos_meta::{Link, Meta, MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
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

/// Sets the page's Content-Security-Policy: scripts only from the shop itself and the inline
/// scripts Leptos writes with this response's nonce (hydration, resolved resources), wasm
/// compiled from our own bundle, no inline styles, no framing, forms only to ourselves.
#[cfg(feature = "ssr")]
fn content_security_policy() {
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        &*nonce
    );
    if let Ok(value) = http::HeaderValue::from_str(&policy) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
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
        <Stylesheet id="leptos" href="/pkg/emporium.css"/>
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
                    <Route path=path!("/account") view=account::AccountRoute ssr=SsrMode::Async/>
                    <Route path=path!("/account/sign-in") view=account::SignInRoute ssr=SsrMode::Async/>
                    <Route path=path!("/account/sign-up") view=account::SignUpRoute ssr=SsrMode::Async/>
                    <Route path=path!("/orders") view=orders::OrderLookupRoute ssr=SsrMode::Async/>
                    <Route path=path!("/orders/:id") view=orders::OrderRoute ssr=SsrMode::Async/>
                </Routes>
            </main>
            <layout::Footer/>
        </Router>
    }
}
