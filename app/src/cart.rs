//! The cart page and the cart's server functions. Every form posts to a server function that
//! ends in a redirect, so each works as a plain form without JavaScript, and with it the
//! router follows the redirect without a reload. Outcomes travel in the query string
//! (`?error=stock&sku=…`), never in server-side flash state.

use crate::catalog::cards::Tile;
use crate::error::ErrorPage;
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};
use shop::cart::{Cart, CartLine, LineNotice};

/// The shopper's cart, or `None` when they have none yet.
#[server(prefix = "/rpc", endpoint = "cart/load")]
pub async fn load_cart() -> Result<Option<Cart>, crate::error::AppError> {
    let services = crate::services::services()?;
    let Some(id) = crate::session::current_cart(&services).await? else {
        return Ok(None);
    };
    match services.carts.with_coupon(&id, &services.coupons).await {
        Ok(mut cart) => {
            crate::services::attach_first_pictures(
                &services,
                &mut cart.lines,
                |l| l.product_id,
                |l, p| l.picture = p,
            )
            .await;
            Ok(Some(cart))
        }
        Err(shop::cart::CartError::CartNotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A fresh random token for a form (an add-to-cart operation id, say), made on the server so
/// the page and its hydrated copy agree.
#[server(prefix = "/rpc", endpoint = "token")]
pub async fn fresh_token() -> Result<String, crate::error::AppError> {
    Ok(crate::session::one_time_token())
}

/// Adds `quantity` of `sku`; the same `op` twice adds once (a double-clicked button).
#[server(prefix = "/rpc", endpoint = "cart/add")]
pub async fn add_to_cart(
    sku: String,
    quantity: String,
    op: String,
) -> Result<(), crate::error::AppError> {
    use crate::session::{ensure_cart, redirect};
    use shop::cart::{CartError, Quantity};
    use shop::catalog::Sku;
    let services = crate::services::services()?;
    let Ok(sku) = Sku::parse(&sku) else {
        redirect("/cart?error=unknown_sku");
        return Ok(());
    };
    // Errors go back to the product page the shopper came from.
    let back = match services.catalog.variant_by_sku(&sku).await? {
        Some(v) => format!("{}?sku={sku}", shop::catalog::product_url(&v.slug)),
        None => {
            redirect("/cart?error=unknown_sku");
            return Ok(());
        }
    };
    let Ok(quantity) = Quantity::parse(&quantity) else {
        redirect(&format!("{back}&error=quantity"));
        return Ok(());
    };
    let op = shop::input::parse_token("op", &op).ok();
    let cart = ensure_cart(&services).await?;
    let now = services.clock.now();
    match services
        .carts
        .add(&cart, &sku, quantity, op.as_deref(), now)
        .await
    {
        Ok(_) => redirect(&format!("/cart?added={sku}")),
        Err(CartError::InsufficientStock { available, .. }) => {
            redirect(&format!("{back}&error=stock&available={available}"))
        }
        Err(CartError::TooMany { .. }) => redirect(&format!("{back}&error=too_many")),
        Err(CartError::MixedCurrency { .. }) => redirect(&format!("{back}&error=currency")),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// Sets a line's quantity (0 removes it).
#[server(prefix = "/rpc", endpoint = "cart/set")]
pub async fn set_cart_line(
    sku: shop::catalog::Sku,
    quantity: String,
) -> Result<(), crate::error::AppError> {
    use crate::session::{current_cart, redirect};
    use shop::cart::{CartError, LineQuantity};
    let services = crate::services::services()?;
    let Some(cart) = current_cart(&services).await? else {
        redirect("/cart");
        return Ok(());
    };
    let Ok(quantity) = LineQuantity::parse(&quantity) else {
        redirect(&format!("/cart?error=quantity&sku={sku}"));
        return Ok(());
    };
    let now = services.clock.now();
    match services.carts.set_line(&cart, &sku, quantity, now).await {
        Ok(_) | Err(CartError::CartNotFound | CartError::UnknownSku(_)) => redirect("/cart"),
        Err(CartError::InsufficientStock { available, .. }) => redirect(&format!(
            "/cart?error=stock&sku={sku}&available={available}"
        )),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// Applies a coupon code to the cart, or removes it (`remove` set).
#[server(prefix = "/rpc", endpoint = "cart/coupon")]
pub async fn apply_coupon(
    code: Option<String>,
    remove: Option<String>,
) -> Result<(), crate::error::AppError> {
    use crate::session::{current_cart, redirect};
    use shop::coupons::CouponCode;
    let services = crate::services::services()?;
    let Some(cart) = current_cart(&services).await? else {
        redirect("/cart");
        return Ok(());
    };
    let now = services.clock.now();
    if remove.is_some() {
        services.carts.set_coupon(&cart, None, now).await?;
        redirect("/cart?coupon=removed");
        return Ok(());
    }
    match CouponCode::parse(code.as_deref().unwrap_or("")) {
        Ok(code) => {
            services.carts.set_coupon(&cart, Some(&code), now).await?;
            redirect("/cart?coupon=applied");
        }
        Err(_) => redirect("/cart?error=coupon"),
    }
    Ok(())
}

/// The cart's estimate: where to (as the shopper gave it on the cart or at checkout), and
/// the delivery options and totals there, or what stops them.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CartEstimate {
    pub country: String,
    pub region: String,
    pub errors: shop::address::FieldErrors,
    pub quote: Option<shop::shipping::Quote>,
}

/// The estimate for the area kept in the cart's checkout draft, with the methods chosen
/// there (the cheapest otherwise): the numbers the checkout will show. `None` without a
/// cart to estimate.
#[server(prefix = "/rpc", endpoint = "cart/estimate")]
pub async fn load_estimate() -> Result<Option<CartEstimate>, crate::error::AppError> {
    use shop::address::{Address, FieldErrors};
    let services = crate::services::services()?;
    let Some(id) = crate::session::current_cart(&services).await? else {
        return Ok(None);
    };
    let cart = match services.carts.with_coupon(&id, &services.coupons).await {
        Ok(cart) if !cart.is_empty() => cart,
        Ok(_) | Err(shop::cart::CartError::CartNotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let draft = shop::checkout::draft::load(&services.db, &cart.id)
        .await
        .map_err(shop::checkout::CheckoutError::from)?
        .unwrap_or_default();
    let (country, region) = (draft.address.country, draft.address.region);
    let mut estimate = CartEstimate {
        country: country.clone(),
        region: region.clone(),
        errors: FieldErrors::default(),
        quote: None,
    };
    if country.is_empty() {
        return Ok(Some(estimate));
    }
    match Address::parse_area(&country, &region, "") {
        Err(errors) => estimate.errors = errors,
        Ok((country, region, _)) => {
            match services
                .rates
                .quote_cart(&cart, &country, &region, &draft.choices)
                .await
            {
                Ok(quote) => estimate.quote = Some(quote),
                Err(e) => match e.field_errors() {
                    Some(errors) => estimate.errors = errors,
                    None => return Err(e.into()),
                },
            }
        }
    }
    Ok(Some(estimate))
}

/// Keeps where the shopper wants the estimate for in the cart's checkout draft (the
/// checkout form starts from it), then back to the cart.
#[server(prefix = "/rpc", endpoint = "cart/estimate-for")]
pub async fn estimate_for(
    country: String,
    region: Option<String>,
) -> Result<(), crate::error::AppError> {
    use crate::session::{current_cart, redirect};
    let services = crate::services::services()?;
    let Some(cart) = current_cart(&services).await? else {
        redirect("/cart");
        return Ok(());
    };
    let typed = |t: &str| {
        t.trim()
            .chars()
            .filter(|c| !c.is_control())
            .take(100)
            .collect::<String>()
    };
    let mut draft = shop::checkout::draft::load(&services.db, &cart)
        .await
        .map_err(shop::checkout::CheckoutError::from)?
        .unwrap_or_default();
    let (country, region) = (
        typed(&country).to_ascii_uppercase(),
        typed(region.as_deref().unwrap_or("")),
    );
    if (&country, &region) != (&draft.address.country, &draft.address.region) {
        // Methods chosen for another area may not exist in this one.
        draft.choices.clear();
    }
    draft.address.country = country;
    draft.address.region = region;
    shop::checkout::draft::save(&services.db, &cart, &draft, services.clock.now())
        .await
        .map_err(shop::checkout::CheckoutError::from)?;
    redirect("/cart");
    Ok(())
}

/// A sentence for an `?error=` code on the cart and product pages.
pub fn cart_error_message(code: &str, available: Option<String>) -> String {
    match code {
        "stock" => match available.as_deref() {
            Some("0") => "Sorry, that just sold out.".to_string(),
            Some(n) => format!("Only {n} left in stock, so we couldn't add that many."),
            None => "There isn't enough in stock for that.".to_string(),
        },
        "quantity" => "Please choose a quantity from 1 to 99.".to_string(),
        "too_many" => "You can order at most 99 of one item.".to_string(),
        "currency" => "That item is priced in another currency than your cart.".to_string(),
        "unknown_sku" => "We couldn't find that item.".to_string(),
        "coupon" => "Coupon codes are 3 to 32 letters, digits or dashes.".to_string(),
        _ => "Something about that request wasn't right; please try again.".to_string(),
    }
}

#[component]
pub fn CartRoute() -> impl IntoView {
    let query = crate::route::query_map();
    let search = crate::route::search();
    // Refetch whenever the query changes: every cart form ends in a redirect back here.
    // …and after an estimate's area is set (its redirect may lead to the same address).
    let estimate_for = ServerAction::<EstimateFor>::new();
    let version = estimate_for.version();
    let cart = Resource::new(move || (search.get(), version.get()), |_| load_cart());
    let estimate = Resource::new(move || (search.get(), version.get()), |_| load_estimate());
    let notice = move || {
        let q = query.read();
        if let Some(code) = q.get("error") {
            Some((
                "notice error",
                cart_error_message(&code, q.get("available")),
            ))
        } else if q.get("added").is_some() {
            Some(("notice success", "Added to your cart.".to_string()))
        } else if let Some(short) = q.get("short") {
            Some(match short.as_str() {
                "0" => (
                    "notice success",
                    "Your earlier order's items are back in your cart.".to_string(),
                ),
                n => (
                    "notice",
                    format!(
                        "Your earlier order's items are in your cart, except {n} that can't be bought as before."
                    ),
                ),
            })
        } else {
            q.get("coupon").map(|c| match c.as_str() {
                "applied" => ("notice success", "Coupon added.".to_string()),
                _ => ("notice", "Coupon removed.".to_string()),
            })
        }
    };
    let merged = move || {
        query
            .read()
            .get("merged")
            .map(|m| crate::accounts::decode_merge(&m))
            .filter(|notes| !notes.is_empty())
    };
    view! {
        <Title text="Your cart"/>
        <section class="cart">
            <h1>"Your cart"</h1>
            {move || notice().map(|(class, text)| view! { <p class=class role="status">{text}</p> })}
            {move || merged().map(|notes| view! { <MergeNotes notes/> })}
            <Suspense fallback=|| view! { <p class="loading">"Loading your cart…"</p> }>
                {move || Suspend::new(async move {
                    match cart.await {
                        Ok(Some(cart)) if !cart.is_empty() => {
                            let estimate = estimate.await.ok().flatten();
                            view! { <CartView cart estimate estimate_for/> }.into_any()
                        }
                        Ok(_) => view! { <EmptyCart/> }.into_any(),
                        Err(error) => view! { <ErrorPage error/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// What the cart and the checkout show when there is nothing to buy.
#[component]
pub fn EmptyCart() -> impl IntoView {
    view! {
        <p class="empty">"Your cart is empty."</p>
        <p><a href="/" class="button">"Continue shopping"</a></p>
    }
}

/// What became of the guest cart's lines at sign-in.
#[component]
fn MergeNotes(notes: Vec<crate::accounts::MergeNote>) -> impl IntoView {
    let items: Vec<AnyView> = notes
        .into_iter()
        .map(|n| {
            let text = match n.kind.as_str() {
                "kept" => format!("{}: kept ({})", n.sku, n.quantity),
                "combined" => format!(
                    "{}: combined with your saved cart, now {}",
                    n.sku, n.quantity
                ),
                "reduced" => format!(
                    "{}: reduced from {} to {}, all that is available",
                    n.sku, n.wanted, n.quantity
                ),
                _ => format!("{}: removed, none left", n.sku),
            };
            view! { <li data-testid="merge-note" data-kind=n.kind>{text}</li> }.into_any()
        })
        .collect();
    view! {
        <div class="notice merge-notes" role="status">
            <p>"You're signed in. We added your cart from before:"</p>
            <ul>{items}</ul>
        </div>
    }
}

#[component]
fn CartView(
    cart: Cart,
    estimate: Option<CartEstimate>,
    estimate_for: ServerAction<EstimateFor>,
) -> impl IntoView {
    let buyable = cart.is_buyable();
    let subtotal = cart.subtotal.map(|m| m.to_string()).unwrap_or_default();
    let total = cart.total().map(|m| m.to_string()).unwrap_or_default();
    let coupon = cart.coupon.clone();
    let lines: Vec<AnyView> = cart.lines.into_iter().map(line_view).collect();
    let apply = ServerAction::<ApplyCoupon>::new();
    let remove = ServerAction::<ApplyCoupon>::new();
    view! {
        <ul class="cart-lines">{lines}</ul>
        <div class="cart-summary">
            <p class="subtotal">
                "Subtotal (" {cart.item_count} " items): "
                <strong data-testid="subtotal">{subtotal}</strong>
            </p>
            {match coupon {
                Some(c) => {
                    let line = match (&c.discount, &c.problem) {
                        (Some(d), _) => format!("Coupon {} ({}): −{}", c.code, c.label, d),
                        (None, Some(problem)) => problem.clone(),
                        (None, None) => format!("Coupon {}", c.code),
                    };
                    view! {
                        <p class="coupon" data-testid="coupon">{line}</p>
                        <ActionForm action=remove>
                            <crate::accounts::CsrfField/>
                            <input type="hidden" name="remove" value="1"/>
                            <button type="submit" class="link">"Remove coupon"</button>
                        </ActionForm>
                        <p class="total">"Total: " <strong data-testid="cart-total">{total}</strong></p>
                    }.into_any()
                }
                None => view! {
                    <ActionForm action=apply attr:class="coupon-form">
                        <crate::accounts::CsrfField/>
                        <label>"Coupon code" <input name="code" maxlength="32" autocomplete="off"/></label>
                        <button type="submit" class="secondary">"Apply"</button>
                    </ActionForm>
                }.into_any(),
            }}
            {estimate.map(|estimate| view! { <Estimate estimate action=estimate_for/> })}
            {if buyable {
                view! { <a href="/checkout" class="button">"Check out"</a> }.into_any()
            } else {
                view! {
                    <p class="notice error">
                        "Some items are no longer available in the quantity you chose. "
                        "Lower the quantity or remove them to check out."
                    </p>
                }
                .into_any()
            }}
        </div>
    }
    .into_any()
}

/// Delivery and tax for an area the shopper names: each seller's options, the totals the
/// checkout will show, or what is wrong with the area. A plain form post without JavaScript.
#[component]
fn Estimate(estimate: CartEstimate, action: ServerAction<EstimateFor>) -> impl IntoView {
    let set = action;
    let err = |field: &str| estimate.errors.get(field).map(str::to_owned);
    let (country_error, region_error) = (err("country"), err("region"));
    // Anything else that stops the estimate (no shipping there, an empty part).
    let other: Vec<String> = estimate
        .errors
        .0
        .iter()
        .filter(|(field, _)| !matches!(field.as_str(), "country" | "region"))
        .map(|(_, message)| message.clone())
        .collect();
    let country = if estimate.country.is_empty() {
        "US".to_owned()
    } else {
        estimate.country.clone()
    };
    let described = |error: &Option<String>, id: &'static str| error.as_ref().map(|_| id);
    view! {
        <section class="estimate" aria-labelledby="estimate-heading" data-testid="estimate">
            <h2 id="estimate-heading">"Delivery and tax"</h2>
            <ActionForm action=set attr:class="estimate-form">
                <crate::accounts::CsrfField/>
                <label>
                    "Country (two letters)"
                    <input
                        name="country"
                        value=country
                        maxlength="2"
                        size="3"
                        autocomplete="country"
                        aria-invalid=country_error.as_ref().map(|_| "true")
                        aria-describedby=described(&country_error, "estimate-country-error")
                    />
                </label>
                {country_error.clone().map(|e| view! { <p class="field-error" id="estimate-country-error">{e}</p> })}
                <label>
                    "State / province"
                    <input
                        name="region"
                        value=estimate.region.clone()
                        maxlength="100"
                        autocomplete="address-level1"
                        aria-invalid=region_error.as_ref().map(|_| "true")
                        aria-describedby=described(&region_error, "estimate-region-error")
                    />
                </label>
                {region_error.clone().map(|e| view! { <p class="field-error" id="estimate-region-error">{e}</p> })}
                <button type="submit" class="secondary">"Estimate"</button>
            </ActionForm>
            {other.into_iter().map(|m| view! { <p class="notice error">{m}</p> }).collect_view()}
            {match estimate.quote {
                Some(quote) => {
                    let parts = quote.parts.into_iter().map(|part| {
                        let chosen = part.options.iter().find(|o| o.method == part.chosen).cloned();
                        view! {
                            <li data-testid="estimate-part">
                                {part.seller_name} ": "
                                {chosen.map(|o| format!("{} ({}–{} days)", o.name, o.days[0], o.days[1]))}
                            </li>
                        }
                    }).collect_view();
                    view! {
                        <ul class="estimate-parts">{parts}</ul>
                        <crate::checkout::Totals totals=quote.breakdown.totals/>
                        <p class="muted">"An estimate: the checkout shows the final amounts for your address and the delivery you choose."</p>
                    }.into_any()
                }
                None if estimate.country.is_empty() => view! {
                    <p class="muted">"Shipping and tax are added at checkout. Say where your order goes to see them now."</p>
                }.into_any(),
                None => ().into_any(),
            }}
        </section>
    }
}

fn line_view(line: CartLine) -> AnyView {
    let set = ServerAction::<SetCartLine>::new();
    let remove = ServerAction::<SetCartLine>::new();
    let notices: Vec<AnyView> = line
        .notices
        .iter()
        .map(|n| {
            let text = match n {
                LineNotice::OutOfStock => "Sold out".to_string(),
                LineNotice::OnlyLeft { available } => format!("Only {available} left"),
                LineNotice::PriceChanged { was, now } => {
                    format!("Price changed from {was} to {now}")
                }
            };
            view! { <li>{text}</li> }.into_any()
        })
        .collect();
    let sku = line.sku.to_string();
    let (set_sku, remove_sku) = (sku.clone(), sku.clone());
    let title = line.title.clone();
    let quantity = line.quantity.get();
    let max = line.available.clamp(1, 99);
    view! {
        <li class="cart-line" data-sku=sku>
            <a href=line.url() class="thumb" aria-hidden="true" tabindex="-1">
                <Tile title=line.title.clone() picture=line.picture.clone() eager=true small=true/>
            </a>
            <div class="line-info">
                <a href=line.url() class="line-title">{line.title.clone()}</a>
                <p class="line-options">{line.options.clone()}</p>
                <p class="line-price">{line.unit_price.to_string()} " each"</p>
                <ul class="line-notices">{notices}</ul>
            </div>
            <ActionForm action=set attr:class="line-quantity">
                <crate::accounts::CsrfField/>
                <input type="hidden" name="sku" value=set_sku/>
                <label>
                    <span class="visually-hidden">"Quantity of " {title}</span>
                    <input type="number" name="quantity" min="1" max=max value=quantity required/>
                </label>
                <button type="submit" class="secondary">"Update"</button>
            </ActionForm>
            <p class="line-total">{line.line_total.to_string()}</p>
            <ActionForm action=remove attr:class="line-remove">
                <crate::accounts::CsrfField/>
                <input type="hidden" name="sku" value=remove_sku/>
                <input type="hidden" name="quantity" value="0"/>
                <button type="submit" class="link">"Remove"</button>
            </ActionForm>
        </li>
    }
    .into_any()
}
