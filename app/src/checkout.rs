//! Checkout: the form (contact, address, test card), the live status page of an attempt, and
//! the server functions behind them.
//!
//! The form carries an idempotency key rendered into it on the server, so a double click or a
//! resubmitted form is the same checkout. Whatever happens, the form's server function ends
//! in a redirect: to the attempt's status page once an attempt exists (which polls while the
//! saga runs, or refreshes itself without JavaScript), or back to the form with the field that
//! needs fixing.

// The order form's server function takes the form's fields one by one, so that the plain
// HTML form posts them as they are; clippy counts them on both the server and the client side.
#![allow(clippy::too_many_arguments)]

use crate::error::ErrorPage;
use crate::fields::{AddressFields, Field};
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};
use shop::cart::Cart;
use shop::checkout::draft::Draft;
use shop::checkout::{CheckoutState, CheckoutView};
use shop::shipping::Quote;

/// What the checkout page needs: the cart as it is now, a fresh key for this rendering, what
/// the shopper typed last time (with its problems), and, once the address is known, each
/// seller's delivery options and the totals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckoutForm {
    pub cart: Cart,
    pub key: String,
    pub draft: Draft,
    pub quote: Option<Quote>,
}

#[server(prefix = "/rpc", endpoint = "checkout/load")]
pub async fn load_checkout() -> Result<Option<CheckoutForm>, crate::error::AppError> {
    use shop::address::Address;
    let services = crate::services::services()?;
    let Some(cart) = crate::cart::load_cart().await? else {
        return Ok(None);
    };
    if cart.is_empty() {
        return Ok(None);
    }
    let mut draft = shop::checkout::draft::load(&services.db, &cart.id)
        .await
        .map_err(shop::checkout::CheckoutError::from)?
        .unwrap_or_default();
    // A signed-in shopper's e-mail, and the shop's home country, until typed otherwise.
    if draft.email.is_empty()
        && let Some(viewer) = crate::session::viewer()
    {
        draft.email = viewer.email;
    }
    // …and a signed-in shopper's default address, until anything of an address is typed.
    if draft.address.name.is_empty()
        && draft.address.line1.is_empty()
        && let Some(viewer) = crate::session::viewer()
        && let Some(saved) = services.addresses.default_address(viewer.user_id).await?
    {
        draft.address = saved;
    }
    if draft.address.country.is_empty() {
        draft.address.country = "US".into();
    }
    let mut quote = None;
    if let Ok(address) = Address::parse(&draft.address) {
        match quote_cart(&services, &cart, &address, &draft.choices).await? {
            Ok(q) => quote = Some(q),
            Err(fields) => {
                for (field, message) in fields.0 {
                    draft.errors.add(&field, message);
                }
            }
        }
    }
    Ok(Some(CheckoutForm {
        cart,
        key: crate::session::one_time_token(),
        draft,
        quote,
    }))
}

/// The cart's delivery options and totals for `address`, or the form's fields that stop it
/// (no shipping to the country, a method the part does not offer).
#[cfg(feature = "ssr")]
async fn quote_cart(
    services: &crate::services::Services,
    cart: &Cart,
    address: &shop::address::Address,
    choices: &[shop::shipping::Choice],
) -> Result<Result<Quote, shop::address::FieldErrors>, crate::error::AppError> {
    let quoted = services
        .rates
        .quote_cart(cart, &address.country, &address.region, choices)
        .await;
    match quoted {
        Ok(quote) => Ok(Ok(quote)),
        Err(e) => match e.field_errors() {
            Some(fields) => Ok(Err(fields)),
            None => Err(e.into()),
        },
    }
}

#[server(prefix = "/rpc", endpoint = "checkout/place")]
pub async fn place_order(
    key: String,
    expected_total: String,
    intent: Option<String>,
    email: String,
    name: String,
    line1: String,
    line2: Option<String>,
    city: String,
    region: Option<String>,
    postal_code: String,
    country: String,
    phone: Option<String>,
    card_number: Option<String>,
    shipping: Option<std::collections::BTreeMap<String, String>>,
) -> Result<(), crate::error::AppError> {
    use crate::session::{current_cart, redirect};
    use shop::address::{Address, FieldErrors};
    use shop::checkout::{CheckoutError, CheckoutRequest, Email, IdempotencyKey, Placed, draft};
    use shop::payments::CardNumber;
    use shop::shipping::Choice;
    let services = crate::services::services()?;
    let Some(cart_id) = current_cart(&services).await? else {
        redirect("/cart");
        return Ok(());
    };
    let Ok(key) = IdempotencyKey::parse(&key) else {
        redirect("/checkout?notice=form");
        return Ok(());
    };
    let placing = intent.as_deref() != Some("review");
    // Everything typed is kept, right or wrong, so the page comes back as it was.
    let mut typed = Draft {
        email,
        address: Address {
            name,
            line1,
            line2: line2.unwrap_or_default(),
            city,
            region: region.unwrap_or_default(),
            postal_code,
            country,
            phone: phone.unwrap_or_default(),
        },
        choices: shipping
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(seller, method)| {
                Some(Choice {
                    seller: seller.parse().ok()?,
                    method: method.chars().take(64).collect(),
                })
            })
            .take(50)
            .collect(),
        errors: FieldErrors::default(),
    };
    let mut errors = FieldErrors::default();
    let address = Address::parse(&typed.address)
        .map_err(|e| errors.0.extend(e.0))
        .ok();
    let email = Email::parse(&typed.email)
        .map_err(|_| {
            errors.add(
                "email",
                "Please enter your e-mail address, such as ana@example.com.",
            )
        })
        .ok();
    let card = match (placing, card_number.as_deref().unwrap_or("").trim()) {
        (false, _) => None,
        (true, "") => {
            errors.add("card_number", "Please enter your card number.");
            None
        }
        (true, number) => CardNumber::parse(number)
            .map_err(|_| {
                errors.add(
                    "card_number",
                    "That card number doesn't look right. Check the digits and try again.",
                )
            })
            .ok(),
    };
    let save = |draft: &Draft| {
        let (db, cart_id, now) = (services.db.clone(), cart_id.clone(), services.clock.now());
        let draft = draft.clone();
        async move {
            draft::save(&db, &cart_id, &draft, now)
                .await
                .map_err(CheckoutError::from)
        }
    };
    let (Some(address), Some(email)) = (address, email) else {
        typed.errors = errors;
        save(&typed).await?;
        redirect("/checkout");
        return Ok(());
    };
    // A second post of the same form (a double click) may arrive after the first has made
    // the cart an order: where the cart can no longer be quoted, it is answered with the
    // first's attempt, as `place_order` would (looked up after the failure, so a first post
    // that emptied the cart has its attempt by then).
    let Some(cart) = crate::cart::load_cart().await? else {
        match services.checkouts.attempt_for(&cart_id, &key).await? {
            Some(id) => redirect(&format!("/checkout/{id}")),
            None => redirect("/cart"),
        }
        return Ok(());
    };
    let quote = match quote_cart(&services, &cart, &address, &typed.choices).await? {
        Ok(quote) => quote,
        Err(fields) => {
            if let Some(id) = services.checkouts.attempt_for(&cart_id, &key).await? {
                redirect(&format!("/checkout/{id}"));
                return Ok(());
            }
            errors.0.extend(fields.0);
            typed.errors = errors;
            save(&typed).await?;
            redirect("/checkout");
            return Ok(());
        }
    };
    // The choices as the quote resolved them (the cheapest where none was made).
    typed.choices = quote
        .parts
        .iter()
        .map(|p| Choice {
            seller: p.seller,
            method: p.chosen.clone(),
        })
        .collect();
    let total = quote.breakdown.totals.total.amount;
    let seen = expected_total.trim().parse::<i64>().ok();
    // Shipping and tax depend on the address: a total the shopper has not seen yet is shown
    // before anything is charged.
    if !placing || seen != Some(total) || !errors.is_empty() {
        typed.errors = errors;
        save(&typed).await?;
        // No `#fragment` where a field is wrong: a page with a target element skips
        // `autofocus`, and the first wrong field must have the cursor.
        redirect(if !typed.errors.is_empty() {
            "/checkout"
        } else if placing {
            "/checkout?notice=review#delivery"
        } else {
            "/checkout#delivery"
        });
        return Ok(());
    }
    save(&typed).await?;
    let Some(card) = card else {
        redirect("/checkout");
        return Ok(());
    };
    let request = CheckoutRequest {
        cart: cart_id,
        email,
        address,
        card,
        expected_total: Some(total),
        user: crate::session::viewer().map(|v| v.user_id),
        shipping: typed.choices,
    };
    // On a task of its own: a shopper who closes the tab (or double-clicks, which aborts the
    // first request) must not stop the saga halfway and leave the attempt to recovery.
    let checkouts = services.checkouts.clone();
    let placed = tokio::spawn(async move { checkouts.place_order(&key, &request).await })
        .await
        .map_err(|e| crate::error::AppError::internal("checkout task", &e))?;
    match placed {
        Ok(Placed::Answer { checkout_id, .. })
        | Ok(Placed::Pending { checkout_id, .. })
        | Ok(Placed::InFlight { checkout_id, .. }) => redirect(&format!("/checkout/{checkout_id}")),
        Err(CheckoutError::KeyReused) => redirect("/checkout?notice=resubmitted"),
        Err(CheckoutError::CartNotFound) => redirect("/cart"),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "checkout/status")]
pub async fn load_checkout_status(id: String) -> Result<CheckoutView, crate::error::AppError> {
    if !id.starts_with("co_") || id.len() > 40 {
        return Err(shop::checkout::CheckoutError::NotFound.into());
    }
    let services = crate::services::services()?;
    let mut view = services.checkouts.view(&id).await?;
    // The id travels in a link that may be shared: the address is masked as on the order
    // page.
    view.email = crate::orders::mask_email(&view.email);
    Ok(view)
}

fn notice_message(notice: &str) -> (&'static str, bool) {
    match notice {
        "review" => (
            "Shipping and tax for your address are now in the total: please check it, then place your order.",
            false,
        ),
        "resubmitted" => (
            "That form was already used. Please check your details and place the order again.",
            true,
        ),
        _ => (
            "Something in the form wasn't right; please check it and try again.",
            true,
        ),
    }
}

#[component]
pub fn CheckoutRoute() -> impl IntoView {
    let place = ServerAction::<PlaceOrder>::new();
    let query = crate::route::query_map();
    // Read again after every submission (with JavaScript the page is not reloaded: the
    // action's answer is a redirect back here, often to the same address).
    let form = Resource::new(
        move || (place.version().get(), query.read().get("notice")),
        |_| load_checkout(),
    );
    let notice = move || query.read().get("notice").map(|n| notice_message(&n));
    view! {
        <Title text="Checkout"/>
        <section class="checkout">
            <h1>"Checkout"</h1>
            {move || {
                notice()
                    .map(|(m, error)| {
                        view! {
                            <p class=if error { "notice error" } else { "notice" } role="alert">
                                {m}
                            </p>
                        }
                    })
            }}
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match form.await {
                        Ok(Some(form)) => view! { <CheckoutFormView form place/> }.into_any(),
                        Ok(None) => view! { <crate::cart::EmptyCart/> }.into_any(),
                        Err(error) => view! { <ErrorPage error/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn CheckoutFormView(form: CheckoutForm, place: ServerAction<PlaceOrder>) -> impl IntoView {
    let pending = place.pending();
    let draft = form.draft;
    let errors = draft.errors.clone();
    let first = errors
        .first(&shop::checkout::draft::FORM_FIELDS)
        .map(str::to_owned);
    // Without JavaScript `autofocus` puts the cursor in the first wrong field; with it, the
    // form is redrawn in place, so the focus is moved there.
    crate::fields::focus_first_error("checkout", first.clone());
    let address_errors = errors.clone();
    let address_first = first.clone();
    let err = move |field: &str| errors.get(field).map(str::to_owned);
    let focus = move |field: &str| first.as_deref() == Some(field);
    let a = draft.address;
    let currency = form.cart.subtotal.map(|m| m.currency);
    let money = move |amount: i64| {
        currency
            .map(|c| shop::Money::new(amount, c).to_string())
            .unwrap_or_default()
    };
    let expected = form
        .quote
        .as_ref()
        .map(|q| q.breakdown.totals.total.amount.to_string())
        .unwrap_or_default();
    let delivery: AnyView = match &form.quote {
        Some(quote) => {
            let parts: Vec<AnyView> = quote
                .parts
                .iter()
                .map(|part| {
                    let group = format!("shipping[{}]", part.seller);
                    let options: Vec<AnyView> = part
                        .options
                        .iter()
                        .map(|o| {
                            let price = if o.amount == 0 { "Free".to_owned() } else { money(o.amount) };
                            let days = if o.days[0] == o.days[1] {
                                format!("{} days", o.days[0])
                            } else {
                                format!("{}–{} days", o.days[0], o.days[1])
                            };
                            view! {
                                <label class="option">
                                    <input
                                        type="radio"
                                        name=group.clone()
                                        value=o.method.clone()
                                        checked=o.method == part.chosen
                                    />
                                    {format!("{} · {price} · {days}", o.name)}
                                </label>
                            }
                            .into_any()
                        })
                        .collect();
                    let from = if part.seller_name.is_empty() {
                        "Delivery".to_owned()
                    } else {
                        format!("Delivery of {}'s items", part.seller_name)
                    };
                    view! {
                        <fieldset class="delivery-part" data-seller=part.seller.to_string()>
                            <legend>{from}</legend>
                            {options}
                        </fieldset>
                    }
                    .into_any()
                })
                .collect();
            view! { <div class="delivery">{parts}</div> }.into_any()
        }
        None => view! {
            <p class="hint">
                "Enter your address, then choose “Update delivery and total” to see delivery options, shipping and tax."
            </p>
        }
        .into_any(),
    };
    let lines: Vec<AnyView> = form
        .cart
        .lines
        .iter()
        .map(|l| {
            view! {
                <li>
                    <span>{format!("{} × {}", l.quantity.get(), l.title)}</span>
                    <span class="muted">{l.options.clone()}</span>
                    <span>{l.line_total.to_string()}</span>
                </li>
            }
            .into_any()
        })
        .collect();
    let totals: AnyView = match &form.quote {
        Some(quote) => view! { <Totals totals=quote.breakdown.totals/> }.into_any(),
        None => {
            let subtotal = form.cart.total().map(|m| m.to_string()).unwrap_or_default();
            view! {
                <p class="total">"Subtotal " <strong data-testid="checkout-subtotal">{subtotal}</strong></p>
                <p class="hint">"Shipping and tax are added once your address is known."</p>
            }
            .into_any()
        }
    };
    let card_error = err("card_number");
    view! {
        <div class="checkout-grid">
            <ActionForm action=place attr:class="checkout-form" attr:id="checkout-form">
                <crate::accounts::CsrfField/>
                <input type="hidden" name="key" value=form.key/>
                <input type="hidden" name="expected_total" value=expected/>
                {(!draft.errors.is_empty()).then(|| view! {
                    <p class="notice error" role="alert" id="checkout-errors">
                        "Please check the fields marked below."
                    </p>
                })}
                <fieldset>
                    <legend>"Contact"</legend>
                    <Field form="checkout" label="E-mail" name="email" kind="email" value=draft.email autocomplete="email" maxlength=254 required=true error=err("email") focus=focus("email")/>
                </fieldset>
                <fieldset>
                    <legend>"Shipping address"</legend>
                    <AddressFields form="checkout" address=a errors=address_errors first=address_first/>
                </fieldset>
                <fieldset id="delivery">
                    <legend>"Delivery"</legend>
                    {delivery}
                    {err("shipping").map(|e| view! { <p class="field-error">{e}</p> })}
                    <button type="submit" name="intent" value="review" class="secondary">
                        "Update delivery and total"
                    </button>
                </fieldset>
                <fieldset>
                    <legend>"Payment"</legend>
                    <Field form="checkout" label="Card number" name="card_number" value=String::new() autocomplete="cc-number" maxlength=23 numeric=true error=card_error focus=focus("card_number")/>
                    <p class="hint">
                        "This is a demo shop: use the test card 4242 4242 4242 4242. "
                        "4000 0000 0000 0002 is declined."
                    </p>
                </fieldset>
                <button type="submit" name="intent" value="place" class="place-order" disabled=move || pending.get()>
                    {move || if pending.get() { "Placing your order…" } else { "Place order" }}
                </button>
            </ActionForm>
            <aside class="order-summary" aria-label="Order summary">
                <h2>"Order summary"</h2>
                <ul>{lines}</ul>
                {totals}
                <p><a href="/cart">"Edit cart"</a></p>
            </aside>
        </div>
    }
    .into_any()
}

/// Subtotal, discount, shipping, tax and total, as every page shows them.
#[component]
pub fn Totals(totals: shop::pricing::Totals) -> impl IntoView {
    let tax_label = if totals.tax_included {
        "Including tax"
    } else {
        "Tax"
    };
    view! {
        <dl class="totals">
            <dt>"Subtotal"</dt>
            <dd data-testid="totals-subtotal">{totals.subtotal.to_string()}</dd>
            {(totals.discount.amount > 0).then(|| view! {
                <dt>"Discount"</dt>
                <dd data-testid="totals-discount">{format!("−{}", totals.discount)}</dd>
            })}
            <dt>"Shipping"</dt>
            <dd data-testid="totals-shipping">
                {if totals.shipping.amount == 0 { "Free".to_owned() } else { totals.shipping.to_string() }}
            </dd>
            <dt>{tax_label}</dt>
            <dd data-testid="totals-tax">{totals.tax.to_string()}</dd>
            <dt class="total">"Total"</dt>
            <dd class="total"><strong data-testid="checkout-total">{totals.total.to_string()}</strong></dd>
        </dl>
    }
}

/// An attempt's live status: polls while the saga runs (or refreshes itself without
/// JavaScript), then shows the order or what went wrong.
#[component]
pub fn CheckoutStatusRoute() -> impl IntoView {
    let params = crate::route::params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let status = Resource::new(id, load_checkout_status);
    // With JavaScript: look again every second until the attempt is over.
    #[cfg(feature = "hydrate")]
    {
        use std::time::Duration;
        if let Ok(handle) = set_interval_with_handle(
            move || {
                let done = status
                    .get_untracked()
                    .and_then(Result::ok)
                    .is_some_and(|v| v.state.is_terminal());
                if !done {
                    status.refetch();
                }
            },
            Duration::from_secs(1),
        ) {
            on_cleanup(move || handle.clear());
        }
    }
    view! {
        <Title text="Your order"/>
        <section class="checkout-status">
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(view) => view! { <StatusView view/> }.into_any(),
                        Err(error) => view! { <ErrorPage error/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn StatusView(view: CheckoutView) -> impl IntoView {
    let state = view.state;
    let body = match state {
        CheckoutState::Confirmed => {
            let order = view.order_id.clone().unwrap_or_default();
            let link = match &view.order_token {
                Some(token) => format!("/orders/{order}?token={token}"),
                None => format!("/orders/{order}"),
            };
            view! {
                <h1>"Thank you! Your order is confirmed."</h1>
                <p class="lead">
                    "Order number " <strong data-testid="order-id">{order.clone()}</strong>
                    ". A confirmation is on its way to " {view.email.clone()} "."
                </p>
                <p><a class="button" href=link data-testid="order-link">"View your order"</a></p>
            }
            .into_any()
        }
        CheckoutState::Failed => {
            let message = view
                .failure_message
                .clone()
                .unwrap_or_else(|| "Checkout did not complete.".into());
            view! {
                <h1>"We couldn't place your order"</h1>
                <p class="notice error" role="alert" data-testid="failure">{message}</p>
                <p>
                    <a href="/checkout" class="button">"Back to checkout"</a>
                    " "
                    <a href="/cart">"Back to your cart"</a>
                </p>
            }
            .into_any()
        }
        _ => view! {
            <h1>{state.label()} "…"</h1>
            <p class="lead">"This page updates by itself; please keep it open."</p>
            // Without JavaScript the page reloads itself every two seconds instead.
            <noscript><meta http-equiv="refresh" content="2"/></noscript>
        }
        .into_any(),
    };
    let lines: Vec<AnyView> = view
        .lines
        .iter()
        .map(|l| view! { <li>{format!("{} × {}", l.quantity, l.title)}</li> }.into_any())
        .collect();
    view! {
        <div class="status" data-state=state.as_str()>
            {body}
            <ul class="status-lines">{lines}</ul>
            <p class="total">"Total " {view.total.to_string()}</p>
        </div>
    }
    .into_any()
}
