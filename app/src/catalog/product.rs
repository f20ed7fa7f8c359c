//! The product page. The variant selector is a set of links (`?sku=…`): without JavaScript
//! each is a page load that renders the chosen variant; once hydrated the router turns it
//! into a client-side navigation, and price and availability update without a reload.

use super::cards::{Breadcrumbs, Img, Monogram, ProductGrid, Stars, StockBadge};
use super::load_product;
use crate::error::ErrorPage;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use shop::catalog::{ProductDetail, Variant};
use shop::inventory::StockStatus;

#[component]
pub fn ProductRoute() -> impl IntoView {
    let params = crate::route::params_map();
    // Only the slug keys the resource: choosing a variant changes the query, not the data.
    let slug = move || params.read().get("slug").unwrap_or_default();
    let product = Resource::new(slug, load_product);
    // The add-to-cart form's operation id, made on the server so that a double click (and a
    // resubmitted form) adds once.
    let op = Resource::new(|| (), |_| crate::cart::fresh_token());
    // Asked for beside the product, not from inside its view: a resource made while another
    // resolves would make the server's render wait on it in a second round.
    let recommendations = Resource::new(slug, super::load_recommendations);
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading product…"</p> }>
            {move || Suspend::new(async move {
                let op = op.await.unwrap_or_default();
                match product.await {
                    Ok(product) => view! { <ProductView product op recommendations/> }.into_any(),
                    Err(error) => view! { <ErrorPage error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ProductView(
    product: ProductDetail,
    op: String,
    recommendations: Resource<Result<shop::search::Recommendations, crate::error::AppError>>,
) -> impl IntoView {
    let query = crate::route::query_map();
    let variants = StoredValue::new(product.variants.clone());
    // The chosen variant follows `?sku=`; an unknown or missing SKU means the first one.
    let selected = Memo::new(move |_| {
        let sku = query.read().get("sku");
        variants.with_value(|vs| {
            sku.and_then(|s| vs.iter().find(|v| v.sku.as_str() == s))
                .or_else(|| vs.first())
                .cloned()
        })
    });
    let description = product.description.chars().take(160).collect::<String>();
    let details = product.clone();
    view! {
        <Title text=product.title.clone()/>
        <Meta name="description" content=description/>
        <Breadcrumbs crumbs=product.breadcrumbs.clone()/>
        <article class="product" data-product-id=product.id.get()>
            <Gallery title=product.title.clone() pictures=product.pictures.clone()/>
            <div class="product-info">
                {product.brand.clone().map(|b| view! { <p class="brand">{b}</p> })}
                <h1>{product.title.clone()}</h1>
                <p class="byline">
                    "Sold by " <span class="seller">{product.seller.clone()}</span>
                    {product.rating.map(|r| view! { " · " <Stars stars=r.stars()/> })}
                </p>
                <Purchase product=product.clone() selected/>
                <AddToCart selected op/>
                <Details product=details/>
            </div>
        </article>
        <Recommended list=recommendations/>
    }
    .into_any()
}

/// The product's pictures: the first one large (above the fold, so not lazy), the others as
/// thumbnails linking to their large versions; the monogram tile when there are none.
#[component]
fn Gallery(title: String, pictures: Vec<shop::assets::Picture>) -> impl IntoView {
    use shop::assets::ImageVariant;
    let mut pictures = pictures.into_iter();
    let Some(main) = pictures.next() else {
        return view! { <div class="product-media"><Monogram title/></div> }.into_any();
    };
    let zoom = main.zoomable.then(|| main.src(ImageVariant::Zoom));
    let others: Vec<_> = pictures.collect();
    view! {
        <div class="gallery">
            <div class="product-media">
                <Img picture=main variant=ImageVariant::Zoom sizes="(max-width: 50rem) 100vw, 480px" eager=true/>
            </div>
            {zoom.map(|href| view! { <a class="zoom-link" href=href>"View larger"</a> })}
            {(!others.is_empty()).then(|| view! {
                <ul class="thumbs">
                    {others
                        .into_iter()
                        .map(|p| {
                            let href = p.src(ImageVariant::Zoom);
                            view! {
                                <li><a href=href><Img picture=p variant=ImageVariant::Thumb sizes="80px"/></a></li>
                            }
                        })
                        .collect_view()}
                </ul>
            })}
        </div>
    }
    .into_any()
}

/// "Customers also bought" (or, before anyone has, similar products). Optional: if they
/// cannot be loaded the page simply goes without.
#[component]
fn Recommended(
    list: Resource<Result<shop::search::Recommendations, crate::error::AppError>>,
) -> impl IntoView {
    use shop::search::RecommendationKind;
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                let list = list.await.ok().filter(|l| !l.products.is_empty())?;
                let heading = match list.kind {
                    RecommendationKind::AlsoBought => "Customers also bought",
                    RecommendationKind::Similar => "Similar products",
                };
                Some(view! {
                    <section class="recommendations" data-testid="recommendations" data-kind=format!("{:?}", list.kind)>
                        <h2>{heading}</h2>
                        <ProductGrid products=list.products empty=""/>
                    </section>
                })
            })}
        </Suspense>
    }
}

/// Price, availability and the variant chooser for the selected variant.
#[component]
fn Purchase(product: ProductDetail, selected: Memo<Option<Variant>>) -> impl IntoView {
    let url = product.url();
    let axis = product
        .variants
        .first()
        .map(|v| {
            v.options
                .iter()
                .map(|o| o.name.clone())
                .collect::<Vec<_>>()
                .join(" / ")
        })
        .unwrap_or_default();
    let chooser = (product.variants.len() > 1).then(|| {
        let chips: Vec<AnyView> = product
            .variants
            .iter()
            .map(|v| variant_chip(v, &url, selected))
            .collect();
        view! {
            <fieldset class="variants">
                <legend>
                    {axis} ": "
                    <strong data-testid="selected-variant">
                        {move || selected.read().as_ref().map(Variant::label)}
                    </strong>
                </legend>
                <ul>{chips}</ul>
            </fieldset>
        }
    });
    view! {
        <p class="price big" data-testid="price">
            {move || selected.read().as_ref().map(|v| v.price.to_string())}
        </p>
        {move || {
            selected
                .read()
                .as_ref()
                .map(|v| view! { <StockBadge status=StockStatus::of(v.available)/> })
        }}
        {chooser}
        <p class="sku">
            "SKU "
            <span data-testid="sku">
                {move || selected.read().as_ref().map(|v| v.sku.to_string())}
            </span>
        </p>
    }
    .into_any()
}

/// The add-to-cart form for the selected variant. A plain form post without JavaScript.
#[component]
fn AddToCart(selected: Memo<Option<Variant>>, op: String) -> impl IntoView {
    let add = ServerAction::<crate::cart::AddToCart>::new();
    let pending = add.pending();
    let query = crate::route::query_map();
    let error = move || {
        let q = query.read();
        q.get("error")
            .map(|code| crate::cart::cart_error_message(&code, q.get("available")))
    };
    let sku = move || {
        selected
            .read()
            .as_ref()
            .map(|v| v.sku.to_string())
            .unwrap_or_default()
    };
    let sold_out = move || selected.read().as_ref().is_none_or(|v| v.available <= 0);
    let max = move || {
        selected
            .read()
            .as_ref()
            .map(|v| v.available.clamp(1, 99))
            .unwrap_or(1)
    };
    view! {
        {move || error().map(|m| view! { <p class="notice error" role="alert">{m}</p> })}
        <ActionForm action=add attr:class="add-to-cart">
            <crate::accounts::CsrfField/>
            <input type="hidden" name="sku" value=sku/>
            <input type="hidden" name="op" value=op/>
            <label class="quantity">
                "Quantity"
                <input type="number" name="quantity" min="1" max=max value="1" required/>
            </label>
            <button type="submit" disabled=move || sold_out() || pending.get()>
                {move || if sold_out() { "Sold out" } else { "Add to cart" }}
            </button>
        </ActionForm>
    }
    .into_any()
}

/// One variant as a link to itself. A plain `<a>`: the router's `<A>` would mark every chip
/// `aria-current` (they share the page's path); `data-noscroll` keeps the page in place.
fn variant_chip(v: &Variant, url: &str, selected: Memo<Option<Variant>>) -> AnyView {
    let sku = v.sku.to_string();
    let is_selected = {
        let sku = sku.clone();
        move || {
            selected
                .read()
                .as_ref()
                .is_some_and(|s| s.sku.as_str() == sku)
        }
    };
    let is_selected_too = is_selected.clone();
    let sold_out = v.available <= 0;
    let class = move || {
        let mut class = String::from("chip");
        if is_selected() {
            class.push_str(" selected");
        }
        if sold_out {
            class.push_str(" sold-out");
        }
        class
    };
    view! {
        <li>
            <a
                href=format!("{url}?sku={sku}")
                data-noscroll=""
                class=class
                aria-current=move || is_selected_too().then_some("true")
                data-sku=sku.clone()
            >
                {v.label()}
                {sold_out.then(|| view! { <span class="visually-hidden">" (sold out)"</span> })}
            </a>
        </li>
    }
    .into_any()
}

/// The description and facts.
#[component]
fn Details(product: ProductDetail) -> impl IntoView {
    view! {
        <section class="description" aria-label="Description">
            <p>{product.description}</p>
        </section>
        <dl class="facts">
            {product
                .product_class
                .map(|c| view! { <dt>"Type"</dt><dd>{c.replace('|', ", ")}</dd> })}
            <dt>"Product id"</dt>
            <dd>{product.id.get()}</dd>
        </dl>
    }
    .into_any()
}
