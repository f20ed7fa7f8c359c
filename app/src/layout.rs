//! The frame around every page: header with the search box and cart link, and the footer.

use leptos::prelude::*;

/// What the header shows: the cart's item count and who is signed in.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HeaderFacts {
    /// `None` without a cart.
    pub cart_count: Option<i64>,
    pub viewer: Option<shop::accounts::Viewer>,
}

/// The header's facts. A guest without a cart costs no database query at all (the session
/// was resolved by the server's session layer already).
#[server(prefix = "/rpc", endpoint = "header")]
pub async fn header_info() -> Result<HeaderFacts, crate::error::AppError> {
    let viewer = crate::session::viewer();
    let has_cookie = crate::session::cart_from_cookie().is_some();
    let cart_count = if has_cookie || viewer.is_some() {
        let services = crate::services::services()?;
        match crate::session::current_cart(&services).await? {
            Some(id) => services.carts.item_count(&id).await.ok(),
            None => None,
        }
    } else {
        None
    };
    Ok(HeaderFacts { cart_count, viewer })
}

/// The router's location, for the header and its search box: they sit outside `<Routes>`
/// (where `crate::route`'s reads find the route's address) and are built synchronously while
/// the request is alive, so the router is always there.
fn here() -> leptos_router::location::Location {
    #[expect(
        clippy::disallowed_methods,
        reason = "built synchronously under the router, see above"
    )]
    leptos_router::hooks::use_location()
}

#[component]
pub fn Header() -> impl IntoView {
    let location = here();
    // The count follows every navigation (each cart change ends in one).
    let info = Resource::new(
        move || location.pathname.get() + &location.search.get(),
        |_| header_info(),
    );
    // Whether the image store answers; followed on every navigation like the cart count.
    let pictures = Resource::new(
        move || location.pathname.get(),
        |_| crate::catalog::pictures_available(),
    );
    view! {
        <header class="site-header">
            <div class="bar">
                <a href="/" class="logo">"Emporium"</a>
                <SearchBox/>
                <nav class="account" aria-label="Your shop">
                    <Suspense fallback=|| view! { <a href="/account/sign-in">"Sign in"</a> }>
                        {move || Suspend::new(async move {
                            match info.await.ok().and_then(|i| i.viewer) {
                                Some(v) => {
                                    let portal = match v.role {
                                        shop::accounts::Role::Seller => Some(("/seller", "Seller portal")),
                                        shop::accounts::Role::Admin => Some(("/admin", "Admin")),
                                        shop::accounts::Role::Shopper => None,
                                    };
                                    view! {
                                        {portal.map(|(href, text)| view! { <a href=href>{text}</a> })}
                                        <a href="/account" data-testid="account-link">"Account"</a>
                                    }.into_any()
                                }
                                None => view! {
                                    <a href="/orders">"Orders"</a>
                                    <a href="/account/sign-in" data-testid="sign-in-link">"Sign in"</a>
                                }.into_any(),
                            }
                        })}
                    </Suspense>
                    <a href="/cart" class="cart-link">
                        "Cart"
                        <Suspense>
                            {move || Suspend::new(async move {
                                info.await.ok().and_then(|i| i.cart_count).filter(|n| *n > 0).map(|n| {
                                    view! { <span class="cart-count" data-testid="cart-count">{n}</span> }
                                })
                            })}
                        </Suspense>
                    </a>
                </nav>
            </div>
            <Suspense>
                {move || Suspend::new(async move {
                    (pictures.await == Ok(false)).then(|| view! {
                        <p class="images-note" role="status" data-testid="images-note">
                            "Some product images are temporarily unavailable. Everything else works as usual."
                        </p>
                    })
                })}
            </Suspense>
        </header>
    }
}

/// The header's search box: a plain GET form to `/search` (all it is without JavaScript),
/// with suggestions as the shopper types once hydrated — debounced, fetched from the
/// `suggest` server function, and navigable with the arrow keys, Enter and Escape (the
/// WAI-ARIA combobox pattern).
#[component]
fn SearchBox() -> impl IntoView {
    use crate::catalog::suggest;
    use leptos::ev::KeyboardEvent;
    use shop::search::Suggestion;
    use std::time::Duration;

    let location = here();
    let query = location.query;
    let initial = query.read_untracked().get("q").unwrap_or_default();
    let text = RwSignal::new(initial.clone());
    let suggestions = RwSignal::new(Vec::<Suggestion>::new());
    let open = RwSignal::new(false);
    let active = RwSignal::new(None::<usize>);
    // Each keystroke starts a generation; only the latest one's answer is shown.
    let generation = StoredValue::new(0u64);
    // A navigation (a search, a chosen suggestion) closes the list and shows the query.
    Effect::new(move |_| {
        location.pathname.track();
        text.set(query.read().get("q").unwrap_or_default());
        open.set(false);
        active.set(None);
    });
    let close = move || {
        open.set(false);
        active.set(None);
    };
    let on_input = move |ev| {
        let value = event_target_value(&ev);
        text.set(value.clone());
        active.set(None);
        generation.update_value(|g| *g += 1);
        let mine = generation.get_value();
        if value.trim().chars().count() < 2 {
            suggestions.set(vec![]);
            open.set(false);
            return;
        }
        set_timeout(
            move || {
                if generation.get_value() != mine {
                    return;
                }
                leptos::task::spawn_local(async move {
                    if let Ok(list) = suggest(value).await
                        && generation.get_value() == mine
                    {
                        open.set(!list.is_empty());
                        suggestions.set(list);
                    }
                });
            },
            Duration::from_millis(150),
        );
    };
    let navigate = crate::route::Navigator::here();
    let submit_to = navigate.clone();
    let on_keydown = move |ev: KeyboardEvent| {
        let n = suggestions.with_untracked(Vec::len);
        match ev.key().as_str() {
            "ArrowDown" if n > 0 => {
                ev.prevent_default();
                open.set(true);
                active.update(|a| *a = Some(a.map_or(0, |i| (i + 1) % n)));
            }
            "ArrowUp" if n > 0 => {
                ev.prevent_default();
                open.set(true);
                active.update(|a| *a = Some(a.map_or(n - 1, |i| (i + n - 1) % n)));
            }
            "Enter" => {
                let chosen = active
                    .get_untracked()
                    .filter(|_| open.get_untracked())
                    .and_then(|i| suggestions.with_untracked(|s| s.get(i).map(|s| s.url.clone())));
                if let Some(url) = chosen {
                    ev.prevent_default();
                    close();
                    navigate.go(&url);
                }
            }
            // A search box clears itself on Escape; with the list open, Escape only closes it.
            "Escape" if open.get_untracked() => {
                ev.prevent_default();
                close();
            }
            _ => {}
        }
    };
    let status = move || match (open.get(), suggestions.with(Vec::len)) {
        (false, _) | (true, 0) => String::new(),
        (true, 1) => "1 suggestion. Use the arrow keys to choose.".into(),
        (true, n) => format!("{n} suggestions. Use the arrow keys to choose."),
    };
    view! {
        <form
            method="get"
            action="/search"
            class="search"
            role="search"
            on:submit=move |ev| {
                close();
                crate::forms::navigate_on_submit(&ev, &submit_to);
            }
        >
            <label for="site-search" class="visually-hidden">"Search products"</label>
            <div class="combo">
                <input
                    id="site-search"
                    type="search"
                    name="q"
                    placeholder="Search products"
                    maxlength="200"
                    autocomplete="off"
                    role="combobox"
                    aria-autocomplete="list"
                    aria-controls="search-suggestions"
                    aria-expanded=move || if open.get() { "true" } else { "false" }
                    aria-activedescendant=move || active.get().map(|i| format!("suggestion-{i}"))
                    value=initial
                    prop:value=text
                    on:input=on_input
                    on:keydown=on_keydown
                    on:blur=move |_| close()
                />
                <ul
                    id="search-suggestions"
                    role="listbox"
                    aria-label="Suggestions"
                    class="suggestions"
                    hidden=move || !open.get()
                    // Keep the focus in the box, so a click on a suggestion is not a blur.
                    on:mousedown=|ev| ev.prevent_default()
                >
                    {move || {
                        suggestions
                            .get()
                            .into_iter()
                            .enumerate()
                            .map(|(i, s)| {
                                let selected = move || active.get() == Some(i);
                                let kind = if s.kind == "category" { "Category" } else { "Product" };
                                view! {
                                    <li
                                        role="option"
                                        id=format!("suggestion-{i}")
                                        class:active=selected
                                        aria-selected=move || if selected() { "true" } else { "false" }
                                    >
                                        <a href=s.url.clone() tabindex="-1" on:click=move |_| close()>
                                            <span class="kind">{kind}</span>
                                            {s.label.clone()}
                                        </a>
                                    </li>
                                }
                            })
                            .collect_view()
                    }}
                </ul>
                <p class="visually-hidden" role="status" aria-live="polite">{status}</p>
            </div>
            <button type="submit">"Search"</button>
        </form>
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
