//! Small pieces the catalog pages share: product cards, breadcrumbs, pagination.

use leptos::prelude::*;
use shop::assets::{ImageVariant, Picture};
use shop::catalog::{Crumb, Page, ProductCard, category_url};
use shop::inventory::StockStatus;

/// A grid of product cards, or a friendly line when there are none.
#[component]
pub fn ProductGrid(products: Vec<ProductCard>, #[prop(into)] empty: String) -> impl IntoView {
    if products.is_empty() {
        return view! { <p class="empty">{empty}</p> }.into_any();
    }
    view! {
        <ul class="product-grid">
            {products
                .into_iter()
                .enumerate()
                .map(|(i, product)| {
                    // The first row loads at once; the rest as the shopper scrolls.
                    let eager = i < EAGER_CARDS;
                    view! { <li><ProductCardView product eager/></li> }
                })
                .collect_view()}
        </ul>
    }
    .into_any()
}

/// How many cards of a grid load their picture without waiting to be scrolled to.
pub const EAGER_CARDS: usize = 4;

/// One product in a listing: its picture (or a monogram tile), title, price and live stock.
#[component]
pub fn ProductCardView(product: ProductCard, #[prop(optional)] eager: bool) -> impl IntoView {
    let url = product.url();
    let status = StockStatus::of(product.available);
    let price = price_label(&product.price_from, product.price_varies);
    view! {
        <article class="product-card" data-product-id=product.id.get()>
            <a href=url.clone() class="tile" aria-hidden="true" tabindex="-1">
                <Tile title=product.title.clone() picture=product.picture eager/>
            </a>
            <div class="card-body">
                <p class="card-category">{product.category}</p>
                <h3 class="card-title">
                    <a href=url>{product.title}</a>
                </h3>
                {product.brand.map(|b| view! { <p class="brand">{b}</p> })}
                <p class="card-meta">
                    <span class="price">{price}</span>
                    {product.rating.map(|r| view! { <Stars stars=r.stars()/> })}
                </p>
                <StockBadge status/>
            </div>
        </article>
    }
}

/// A listing's price: "From $x" when the variants' prices differ.
pub fn price_label(lowest: &shop::Money, varies: bool) -> String {
    if varies {
        format!("From {lowest}")
    } else {
        lowest.to_string()
    }
}

/// A listing's square tile: the product's card-sized picture, letterboxed, with its size set
/// so nothing shifts as it loads; the monogram when there is no picture to show.
#[component]
pub fn Tile(
    title: String,
    picture: Option<Picture>,
    #[prop(optional)] eager: bool,
    /// A thumbnail (cart lines) rather than a listing card.
    #[prop(optional)]
    small: bool,
) -> impl IntoView {
    match picture {
        Some(p) if small => {
            view! { <Img picture=p variant=ImageVariant::Thumb sizes="80px" eager/> }.into_any()
        }
        Some(p) => view! {
            <Img picture=p variant=ImageVariant::Card sizes="(max-width: 40rem) 50vw, 240px" eager/>
        }
        .into_any(),
        None => view! { <Monogram title/> }.into_any(),
    }
}

/// A responsive `<img>` for a picture, up to `variant`: width and height set (no layout
/// shift), a `srcset` of the smaller variants, lazy unless `eager`. Decorative in tiles
/// (the link beside it has the title), so the alt text is the picture's own.
#[component]
pub fn Img(
    picture: Picture,
    variant: ImageVariant,
    sizes: &'static str,
    #[prop(optional)] eager: bool,
) -> impl IntoView {
    let (width, height) = picture.size(variant);
    view! {
        <img
            src=picture.src(variant)
            srcset=picture.srcset(variant)
            sizes=sizes
            width=width
            height=height
            alt=picture.alt.clone()
            loading=if eager { "eager" } else { "lazy" }
            decoding="async"
            data-picture=""
        />
    }
}

/// A text tile standing in for a product photo: the title's initials on a colour derived
/// from the title, so every product keeps the same tile.
#[component]
pub fn Monogram(title: String) -> impl IntoView {
    let initials: String = title
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .filter(|c| c.is_alphanumeric())
        .take(2)
        .collect::<String>()
        .to_uppercase();
    let hue = title
        .bytes()
        .fold(7_u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % 12;
    // One of twelve hues, by class: the Content-Security-Policy allows no inline styles.
    view! {
        <span class=format!("monogram hue-{hue}")>
            {initials}
        </span>
    }
}

#[component]
pub fn Stars(stars: String) -> impl IntoView {
    let label = format!("Rated {stars} out of 5");
    view! {
        <span class="stars" aria-label=label.clone() title=label>
            "★ " {stars}
        </span>
    }
}

#[component]
pub fn StockBadge(status: StockStatus) -> impl IntoView {
    let class = match status {
        StockStatus::InStock => "stock in-stock",
        StockStatus::LowStock(_) => "stock low-stock",
        StockStatus::OutOfStock => "stock out-of-stock",
    };
    view! { <p class=class data-testid="stock">{status.label()}</p> }
}

/// The way from the home page down to a category.
#[component]
pub fn Breadcrumbs(crumbs: Vec<Crumb>) -> impl IntoView {
    view! {
        <nav class="breadcrumbs" aria-label="Breadcrumb">
            <ol>
                <li><a href="/">"Home"</a></li>
                {crumbs
                    .into_iter()
                    .map(|c| view! { <li><a href=category_url(&c.path)>{c.name}</a></li> })
                    .collect_view()}
            </ol>
        </nav>
    }
}

/// Previous / numbered / next links for a listing. `link(page)` builds each page's address
/// (keeping the sort and filters), so the links work without JavaScript. Plain `<a>`s (the
/// router still navigates them client-side once hydrated): a marked active link would mark
/// every page of the listing `aria-current`, as they share one path.
#[component]
pub fn Pagination<T: Send + Sync + 'static>(
    page: Page<T>,
    link: impl Fn(u32) -> String + 'static,
) -> impl IntoView {
    let last = page.total_pages();
    if last <= 1 {
        return ().into_any();
    }
    let current = page.page;
    // First, last, and two either side of the current page; gaps become an ellipsis.
    let mut shown: Vec<u32> = vec![1, last];
    shown.extend(current.saturating_sub(2).max(1)..=(current + 2).min(last));
    shown.sort_unstable();
    shown.dedup();
    let mut items = Vec::new();
    let mut previous = 0;
    for n in shown {
        if n > previous + 1 {
            items.push(view! { <li class="gap" aria-hidden="true">"…"</li> }.into_any());
        }
        let item = if n == current {
            view! { <li><span class="current" aria-current="page">{n}</span></li> }.into_any()
        } else {
            view! { <li><a href=link(n)>{n}</a></li> }.into_any()
        };
        items.push(item);
        previous = n;
    }
    let prev = (current > 1).then(|| {
        view! { <a href=link(current - 1) rel="prev" class="step">"← Previous"</a> }
    });
    let next = (current < last).then(|| {
        view! { <a href=link(current + 1) rel="next" class="step">"Next →"</a> }
    });
    view! {
        <nav class="pagination" aria-label="Pages">
            {prev}
            <ol>{items}</ol>
            {next}
        </nav>
    }
    .into_any()
}
