//! The page's address and client-side navigation, read so that no render can panic.
//!
//! leptos_router's hooks (`use_query_map`, `use_params_map`, `use_location`,
//! `use_navigate`) and its `<A>` and `<Form>` expect the router's context and panic without
//! it. On the server a page's suspended parts can still be rendered after the shopper has
//! gone: when a connection closes, the dropped response tears the request's reactive owner
//! down while the effect that re-checks a `<Suspense>`'s children may be running on another
//! worker thread, and the lookups it makes find no router (seen once in
//! `bench/store-outage.sh`: "called use_resolved_path outside a <Router>"). Nobody waits for
//! that render, but a panic is a panic. The functions here read the same contexts and fall
//! back to empty values; links are plain `<a>` (the router navigates them client-side all
//! the same). `clippy.toml` forbids the panicking hooks in the app; the header, which is
//! built synchronously while the request is alive, is the one place allowed `use_location`.

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::location::Url;
use leptos_router::params::ParamsMap;

/// The query string's parameters, empty outside a route.
pub fn query_map() -> Memo<ParamsMap> {
    let url = use_context::<ArcRwSignal<Url>>();
    Memo::new(move |_| {
        url.as_ref()
            .map(|url| url.with(|url| url.search_params().clone()))
            .unwrap_or_default()
    })
}

/// The path of the page's address (`/admin/orders`), empty outside a route.
pub fn path() -> Memo<String> {
    let url = use_context::<ArcRwSignal<Url>>();
    Memo::new(move |_| {
        url.as_ref()
            .map(|url| url.with(|url| url.path().to_string()))
            .unwrap_or_default()
    })
}

/// The raw query string, empty outside a route: a resource keyed
/// on it loads again after every navigation that changes the query.
pub fn search() -> Memo<String> {
    let url = use_context::<ArcRwSignal<Url>>();
    Memo::new(move |_| {
        url.as_ref()
            .map(|url| url.with(|url| url.search().to_string()))
            .unwrap_or_default()
    })
}

/// The matched route's parameters (`:slug`, `*path` …), empty outside a route.
pub fn params_map() -> Memo<ParamsMap> {
    let params = use_context::<ArcMemo<ParamsMap>>();
    Memo::new(move |_| params.as_ref().map(|p| p.get()).unwrap_or_default())
}

/// Client-side navigation, looked up when used (in the browser, in an event handler) rather
/// than when the component is built, which may be on the server after the request is gone.
#[derive(Clone)]
pub struct Navigator(Option<Owner>);

impl Navigator {
    /// A navigator for the component being built.
    pub fn here() -> Self {
        Self(Owner::current())
    }

    /// Goes to `url` through the router. In the browser the router is always there; with no
    /// owner (nothing to navigate) it does nothing.
    pub fn go(&self, url: &str) {
        if let Some(owner) = &self.0 {
            #[expect(
                clippy::disallowed_methods,
                reason = "runs in a browser event handler, under a live router"
            )]
            owner.with(|| leptos_router::hooks::use_navigate()(url, NavigateOptions::default()));
        }
    }
}
