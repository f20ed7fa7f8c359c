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
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};
use shop::cart::Cart;
use shop::checkout::{CheckoutState, CheckoutView};

/// What the checkout page needs: the cart as it is now, and a fresh key for this rendering.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckoutForm {
    pub cart: Cart,
    pub key: String,
}

#[server(prefix = "/rpc", endpoint = "checkout/load")]
pub async fn load_checkout() -> Result<Option<CheckoutForm>, crate::error::AppError> {
    let Some(cart) = crate::cart::load_cart().await? else {
        return Ok(None);
    };
    if cart.is_empty() {
        return Ok(None);
    }
    Ok(Some(CheckoutForm {
        cart,
        key: crate::session::one_time_token(),
    }))
}

#[server(prefix = "/rpc", endpoint = "checkout/place")]
pub async fn place_order(
    key: String,
    expected_total: String,
    email: String,
    name: String,
    line1: String,
    line2: Option<String>,
    city: String,
    postal_code: String,
    country: String,
    card_number: String,
) -> Result<(), crate::error::AppError> {
    use crate::session::{current_cart, redirect};
    use shop::checkout::{Address, CheckoutError, CheckoutRequest, Email, IdempotencyKey, Placed};
    use shop::payments::CardNumber;
    let services = crate::services::services()?;
    let Some(cart) = current_cart(&services).await? else {
        redirect("/cart");
        return Ok(());
    };
    let parsed = (|| {
        Ok::<_, shop::InvalidInput>(CheckoutRequest {
            cart,
            email: Email::parse(&email)?,
            address: Address::parse(
                &name,
                &line1,
                line2.as_deref().unwrap_or(""),
                &city,
                &postal_code,
                &country,
            )?,
            card: CardNumber::parse(&card_number)?,
            expected_total: expected_total.trim().parse().ok(),
            user: crate::session::viewer().map(|v| v.user_id),
        })
    })();
    let request = match parsed {
        Ok(r) => r,
        Err(invalid) => {
            redirect(&format!("/checkout?invalid={}", invalid.field));
            return Ok(());
        }
    };
    let Ok(key) = IdempotencyKey::parse(&key) else {
        redirect("/checkout?invalid=form");
        return Ok(());
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
        Err(CheckoutError::KeyReused) => redirect("/checkout?invalid=resubmitted"),
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

fn invalid_message(field: &str) -> &'static str {
    match field {
        "email" => "Please check your e-mail address.",
        "name" => "Please enter the name to ship to.",
        "line1" => "Please enter your street address.",
        "line2" => "The second address line is too long.",
        "city" => "Please enter your city.",
        "postal_code" => "Please check your postal code.",
        "country" => "Please enter a two-letter country code, such as US.",
        "card_number" => "That card number doesn't look right. Check the digits and try again.",
        "resubmitted" => {
            "That form was already used. Please check your details and place the order again."
        }
        _ => "Something in the form wasn't right; please check it and try again.",
    }
}

#[component]
pub fn CheckoutRoute() -> impl IntoView {
    let form = Resource::new(|| (), |_| load_checkout());
    let query = use_query_map();
    let invalid = move || query.read().get("invalid").map(|f| invalid_message(&f));
    view! {
        <Title text="Checkout"/>
        <section class="checkout">
            <h1>"Checkout"</h1>
            {move || invalid().map(|m| view! { <p class="notice error" role="alert">{m}</p> })}
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match form.await {
                        Ok(Some(form)) => view! { <CheckoutFormView form/> }.into_any(),
                        Ok(None) => view! { <crate::cart::EmptyCart/> }.into_any(),
                        Err(error) => view! { <ErrorPage error/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn CheckoutFormView(form: CheckoutForm) -> impl IntoView {
    let place = ServerAction::<PlaceOrder>::new();
    let pending = place.pending();
    // The total to charge: the subtotal less the coupon's discount (re-checked by the saga).
    let total = form.cart.total().map(|m| m.to_string()).unwrap_or_default();
    let total_amount = form.cart.total().map(|m| m.amount).unwrap_or(0);
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
    view! {
        <div class="checkout-grid">
            <ActionForm action=place attr:class="checkout-form">
                <crate::accounts::CsrfField/>
                <input type="hidden" name="key" value=form.key/>
                <input type="hidden" name="expected_total" value=total_amount/>
                <fieldset>
                    <legend>"Contact"</legend>
                    <label>"E-mail" <input type="email" name="email" autocomplete="email" required maxlength="254"/></label>
                </fieldset>
                <fieldset>
                    <legend>"Shipping address"</legend>
                    <label>"Full name" <input name="name" autocomplete="name" required maxlength="100"/></label>
                    <label>"Address" <input name="line1" autocomplete="address-line1" required maxlength="200"/></label>
                    <label>"Apartment, suite (optional)" <input name="line2" autocomplete="address-line2" maxlength="200"/></label>
                    <div class="row">
                        <label>"City" <input name="city" autocomplete="address-level2" required maxlength="100"/></label>
                        <label>"Postal code" <input name="postal_code" autocomplete="postal-code" required maxlength="20"/></label>
                        <label>"Country" <input name="country" autocomplete="country" required maxlength="2" value="US" size="3"/></label>
                    </div>
                </fieldset>
                <fieldset>
                    <legend>"Payment"</legend>
                    <label>
                        "Card number"
                        <input name="card_number" inputmode="numeric" autocomplete="cc-number" required maxlength="23"/>
                    </label>
                    <p class="hint">
                        "This is a demo shop: use the test card 4242 4242 4242 4242. "
                        "4000 0000 0000 0002 is declined."
                    </p>
                </fieldset>
                <button type="submit" class="place-order" disabled=move || pending.get()>
                    {move || if pending.get() { "Placing your order…" } else { "Place order" }}
                </button>
            </ActionForm>
            <aside class="order-summary" aria-label="Order summary">
                <h2>"Order summary"</h2>
                <ul>{lines}</ul>
                <p class="total">"Total " <strong data-testid="checkout-total">{total}</strong></p>
                <p><A href="/cart">"Edit cart"</A></p>
            </aside>
        </div>
    }
    .into_any()
}

/// An attempt's live status: polls while the saga runs (or refreshes itself without
/// JavaScript), then shows the order or what went wrong.
#[component]
pub fn CheckoutStatusRoute() -> impl IntoView {
    let params = use_params_map();
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
            view! {
                <h1>"Thank you! Your order is confirmed."</h1>
                <p class="lead">
                    "Order number " <strong data-testid="order-id">{order.clone()}</strong>
                    ". A confirmation is on its way to " {view.email.clone()} "."
                </p>
                <p><a class="button" href=format!("/orders/{order}")>"View your order"</a></p>
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
                    <A href="/cart" attr:class="button">"Back to your cart"</A>
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
