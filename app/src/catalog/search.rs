//! The search results page: a facet sidebar, active filters, sort and pagination. Every
//! control is a link or a GET form whose address is the whole search, so the page works the
//! same without JavaScript and every state of it can be shared by URL.

use super::cards::{EAGER_CARDS, Pagination, Stars, StockBadge, Tile, price_label};
use super::{SearchPage, search_products};
use crate::error::ErrorPage;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use shop::catalog::Page;
use shop::inventory::StockStatus;
use shop::search::{FacetValue, Hit, SearchParams, SearchQuery, SearchResults, SearchSort};

#[component]
pub fn SearchRoute() -> impl IntoView {
    let query = crate::route::query_map();
    let params = move || {
        let q = query.read();
        SearchParams {
            q: q.get("q"),
            category: q.get("category"),
            brand: q.get("brand"),
            min_price: q.get("min_price"),
            max_price: q.get("max_price"),
            in_stock: q.get("in_stock"),
            min_rating: q.get("min_rating"),
            sort: q.get("sort"),
            page: q.get("page"),
            per_page: q.get("per_page"),
        }
    };
    let results = Resource::new(params, search_products);
    view! {
        <Title text="Search"/>
        <Meta name="robots" content="noindex"/>
        <Suspense fallback=|| view! { <p class="loading">"Searching…"</p> }>
            {move || Suspend::new(async move {
                match results.await {
                    Ok(page) => view! { <Results page/> }.into_any(),
                    Err(error) => view! { <ErrorPage error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Results(page: SearchPage) -> impl IntoView {
    let SearchPage { results, ops } = page;
    let q = results.query.clone();
    let text: String = q.text.chars().take(80).collect();
    let heading = if text.is_empty() {
        "All products".to_string()
    } else {
        format!("Results for “{text}”")
    };
    let summary = match results.total {
        0 => "No products".to_string(),
        1 => "1 product".to_string(),
        n => format!("{n} products"),
    };
    let pages = Page::<()> {
        items: vec![],
        total: results.total,
        page: q.page,
        per_page: q.per_page,
    };
    let link = {
        let q = q.clone();
        move |n: u32| q.url_with(|q| q.page = n)
    };
    let did_you_mean = results.did_you_mean.clone().map(|fixed| {
        let url = q.url_with(|q| {
            q.text = fixed.clone();
            q.page = 1;
        });
        view! {
            <p class="did-you-mean" data-testid="did-you-mean">
                "Did you mean " <a href=url>{fixed.clone()}</a> "?"
            </p>
        }
    });
    let hits = results.hits.clone();
    let empty = hits.is_empty();
    view! {
        <div class="search-page">
            <Facets results=results.clone()/>
            <section class="search-results" aria-labelledby="results-heading">
                <header class="listing-header">
                    <h1 id="results-heading">{heading}</h1>
                    <p class="count" data-testid="result-count">{summary}</p>
                </header>
                {did_you_mean}
                <ActiveFilters q=q.clone()/>
                <SortForm q=q.clone()/>
                {results.degraded.then(|| view! {
                    <p class="notice" role="status">
                        "Search is running in a simpler mode right now: filters and spelling help are unavailable."
                    </p>
                })}
                {if empty {
                    view! { <NoResults q=q.clone()/> }.into_any()
                } else {
                    view! {
                        <ul class="product-grid">
                            {hits
                                .into_iter()
                                .zip(ops.into_iter().chain(std::iter::repeat(String::new())))
                                .enumerate()
                                .map(|(i, (hit, op))| {
                                    let eager = i < EAGER_CARDS;
                                    view! { <li><HitCard hit op eager/></li> }
                                })
                                .collect_view()}
                        </ul>
                    }
                        .into_any()
                }}
                <Pagination page=pages link/>
            </section>
        </div>
    }
}

/// One result: the title with the matched words marked, a snippet, live stock, and an
/// add-to-cart button for products with a single variant in stock.
#[component]
fn HitCard(hit: Hit, op: String, eager: bool) -> impl IntoView {
    let url = hit.url();
    let status = StockStatus::of(hit.available);
    let price = price_label(&hit.price_from, hit.price_varies);
    let add = hit
        .only_sku
        .clone()
        .filter(|_| hit.available > 0 && !op.is_empty())
        .map(|sku| {
            let action = ServerAction::<crate::cart::AddToCart>::new();
            let pending = action.pending();
            view! {
                <ActionForm action attr:class="quick-add">
                    <crate::accounts::CsrfField/>
                    <input type="hidden" name="sku" value=sku.to_string()/>
                    <input type="hidden" name="op" value=op.clone()/>
                    <input type="hidden" name="quantity" value="1"/>
                    <button type="submit" disabled=move || pending.get()>"Add to cart"</button>
                </ActionForm>
            }
        });
    // The `*_html` fields are escaped on the server; only `<b>` marks are markup.
    view! {
        <article class="product-card" data-product-id=hit.product_id.get()>
            <a href=url.clone() class="tile" aria-hidden="true" tabindex="-1">
                <Tile title=hit.title.clone() picture=hit.picture.clone() eager/>
            </a>
            <div class="card-body">
                <p class="card-category">{hit.category.clone()}</p>
                <h3 class="card-title">
                    <a href=url.clone() inner_html=hit.title_html.clone()></a>
                </h3>
                {hit.brand.clone().map(|b| view! { <p class="brand">{b}</p> })}
                {(!hit.snippet_html.is_empty())
                    .then(|| view! { <p class="snippet" inner_html=hit.snippet_html.clone()></p> })}
                <p class="card-meta">
                    <span class="price">{price}</span>
                    {hit.rating.map(|r| view! { <Stars stars=r.stars()/> })}
                </p>
                <StockBadge status/>
                {add}
            </div>
        </article>
    }
}

/// The sidebar: categories, brands, price bands and availability, each value a link to the
/// search narrowed by it, with how many results it keeps.
#[component]
fn Facets(results: SearchResults) -> impl IntoView {
    let q = results.query.clone();
    let f = results.facets.clone();
    let section = |title: &'static str, id: &'static str, items: Vec<AnyView>| {
        (!items.is_empty()).then(|| {
            view! {
                <section class="facet" data-facet=id>
                    <h2>{title}</h2>
                    <ul>{items}</ul>
                </section>
            }
        })
    };
    let link = |label: String, count: u64, url: String, current: bool| -> AnyView {
        if current {
            view! {
                <li>
                    <span class="facet-current" aria-current="true">
                        {label} <span class="count">{count}</span>
                    </span>
                </li>
            }
            .into_any()
        } else {
            view! {
                <li>
                    <a href=url>{label} <span class="count">{count}</span></a>
                </li>
            }
            .into_any()
        }
    };
    let categories: Vec<AnyView> = f
        .categories
        .iter()
        .take(12)
        .map(|c: &FacetValue| {
            let path = shop::catalog::CategoryPath::parse(&c.value).ok();
            let url = q.url_with(|q| {
                q.category = path.clone();
                q.page = 1;
            });
            link(c.label.clone(), c.count, url, false)
        })
        .collect();
    let brands: Vec<AnyView> = f
        .brands
        .iter()
        .take(12)
        .map(|b| {
            let current = q.brand.as_deref() == Some(b.value.as_str());
            let url = q.url_with(|q| {
                q.brand = Some(b.value.clone());
                q.page = 1;
            });
            link(b.label.clone(), b.count, url, current)
        })
        .collect();
    let unit = shop::Currency::shop().minor_per_major();
    let prices: Vec<AnyView> = f
        .price_bands
        .iter()
        .map(|band| {
            let (lo, hi) = band.value.split_once('-').unwrap_or((&band.value, ""));
            let min = lo.parse::<u64>().ok().map(|d| d * unit);
            let max = hi.parse::<u64>().ok().map(|d| d * unit + (unit - 1));
            let current = q.min_price == min && q.max_price == max;
            let url = q.url_with(|q| {
                q.min_price = min;
                q.max_price = max;
                q.page = 1;
            });
            link(band.label.clone(), band.count, url, current)
        })
        .collect();
    let availability: Vec<AnyView> = if results.degraded || (f.in_stock == 0 && !q.in_stock) {
        vec![]
    } else {
        let url = q.url_with(|q| {
            q.in_stock = true;
            q.page = 1;
        });
        vec![link("In stock only".into(), f.in_stock, url, q.in_stock)]
    };
    let title = if q.category.is_some() {
        "Subcategories"
    } else {
        "Category"
    };
    view! {
        <aside class="facets" aria-label="Narrow the results">
            {section(title, "category", categories)}
            {section("Brand", "brand", brands)}
            {section("Price", "price", prices)}
            {section("Availability", "in_stock", availability)}
            <PriceForm q=q.clone()/>
        </aside>
    }
}

/// A price range typed by the shopper, as a GET form keeping the rest of the search.
#[component]
fn PriceForm(q: SearchQuery) -> impl IntoView {
    let unit = shop::Currency::shop().minor_per_major();
    let min = q
        .min_price
        .map(|p| (p / unit).to_string())
        .unwrap_or_default();
    let max = q
        .max_price
        .map(|p| (p / unit).to_string())
        .unwrap_or_default();
    let keep = hidden_fields(&q, &["min_price", "max_price", "page"]);
    let navigate = crate::route::Navigator::here();
    view! {
        <form
            method="get"
            action="/search"
            class="price-form"
            on:submit=move |ev| crate::forms::navigate_on_submit(&ev, &navigate)
        >
            <fieldset>
                <legend>{format!("Price range ({})", shop::money::locale().symbol(shop::Currency::shop()))}</legend>
                {keep}
                <label>
                    "Min" <input type="number" name="min_price" min="0" step="1" inputmode="numeric" value=min/>
                </label>
                <label>
                    "Max" <input type="number" name="max_price" min="0" step="1" inputmode="numeric" value=max/>
                </label>
                <button type="submit">"Go"</button>
            </fieldset>
        </form>
    }
}

/// The filters in force, each with a link that removes it.
#[component]
fn ActiveFilters(q: SearchQuery) -> impl IntoView {
    let mut chips: Vec<(String, String)> = Vec::new();
    if let Some(c) = &q.category {
        let name = c
            .as_str()
            .rsplit('/')
            .next()
            .unwrap_or("")
            .replace('-', " ");
        chips.push((
            format!("Category: {name}"),
            q.url_with(|q| {
                q.category = None;
                q.page = 1;
            }),
        ));
    }
    if let Some(b) = &q.brand {
        chips.push((
            format!("Brand: {b}"),
            q.url_with(|q| {
                q.brand = None;
                q.page = 1;
            }),
        ));
    }
    if q.min_price.is_some() || q.max_price.is_some() {
        let whole = shop::money::bound_label;
        let label = match (q.min_price, q.max_price) {
            (Some(lo), Some(hi)) => format!("{} – {}", whole(lo), whole(hi)),
            (Some(lo), None) => format!("{} and up", whole(lo)),
            (None, Some(hi)) => format!("up to {}", whole(hi)),
            (None, None) => String::new(),
        };
        chips.push((
            format!("Price: {label}"),
            q.url_with(|q| {
                q.min_price = None;
                q.max_price = None;
                q.page = 1;
            }),
        ));
    }
    if q.in_stock {
        chips.push((
            "In stock only".into(),
            q.url_with(|q| {
                q.in_stock = false;
                q.page = 1;
            }),
        ));
    }
    if let Some(r) = q.min_rating {
        chips.push((
            format!("{}★ and up", r / 100),
            q.url_with(|q| {
                q.min_rating = None;
                q.page = 1;
            }),
        ));
    }
    (!chips.is_empty()).then(|| {
        view! {
            <ul class="active-filters" aria-label="Filters in use">
                {chips
                    .into_iter()
                    .map(|(label, url)| {
                        let remove = format!("Remove filter {label}");
                        view! {
                            <li>
                                <a href=url aria-label=remove>{label} " ×"</a>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        }
    })
}

#[component]
fn SortForm(q: SearchQuery) -> impl IntoView {
    let sort = q.sort;
    let keep = hidden_fields(&q, &["sort", "page"]);
    let navigate = crate::route::Navigator::here();
    view! {
        <form
            method="get"
            action="/search"
            class="sort-form"
            on:submit=move |ev| crate::forms::navigate_on_submit(&ev, &navigate)
        >
            {keep}
            <label for="sort">"Sort by"</label>
            <select id="sort" name="sort">
                {SearchSort::ALL
                    .into_iter()
                    .map(|s| {
                        view! {
                            <option value=s.as_str() selected=s == sort>
                                {s.label()}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
            <button type="submit">"Apply"</button>
        </form>
    }
}

/// Nothing matched: say so, offer to drop the filters, and point at the whole catalog.
#[component]
fn NoResults(q: SearchQuery) -> impl IntoView {
    let filtered = q.category.is_some()
        || q.brand.is_some()
        || q.min_price.is_some()
        || q.max_price.is_some()
        || q.in_stock
        || q.min_rating.is_some();
    let without_filters = SearchQuery {
        text: q.text.clone(),
        per_page: q.per_page,
        page: 1,
        ..SearchQuery::default()
    }
    .url_with(|_| {});
    view! {
        <div class="no-results" data-testid="no-results">
            <p>"No products match your search."</p>
            <ul>
                {filtered.then(|| view! {
                    <li><a href=without_filters>"Search again without the filters"</a></li>
                })}
                <li>"Check the spelling, or use fewer or more general words."</li>
                <li><a href="/">"Browse the departments"</a></li>
            </ul>
        </div>
    }
}

/// Hidden inputs carrying the search's current values, except `skip`, so that a form that
/// changes one thing keeps the rest.
fn hidden_fields(q: &SearchQuery, skip: &[&str]) -> impl IntoView + use<> {
    q.params()
        .into_iter()
        .filter(|(name, _)| !skip.contains(name))
        .map(|(name, value)| view! { <input type="hidden" name=name value=value/> })
        .collect_view()
}
