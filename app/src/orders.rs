//! Order pages: an order's status and contents, and finding an order by number and e-mail.

use crate::error::ErrorPage;
use leptos::prelude::*;
use leptos_meta::Title;
use shop::orders::Order;

/// An order, for its signed-in owner, an admin, or whoever holds its secret link (`token`);
/// anyone else is told there is no such order. The page shows its status and contents; the
/// e-mail is masked and the street left out, since a secret link may still be forwarded.
#[server(prefix = "/rpc", endpoint = "orders/load")]
pub async fn load_order(
    id: String,
    #[server(default)] token: Option<String>,
) -> Result<Order, crate::error::AppError> {
    let id = shop::orders::OrderId::parse(&id).map_err(|_| shop::orders::OrderError::NotFound)?;
    let services = crate::services::services()?;
    let viewer = crate::session::viewer();
    let access = shop::orders::Access {
        viewer: viewer.as_ref(),
        token: token.as_deref(),
    };
    let mut order = services.orders.get_for(&id, access).await?;
    order.email = mask_email(&order.email);
    order.shipping_address = shop::checkout::Address {
        city: order.shipping_address.city,
        region: order.shipping_address.region,
        country: order.shipping_address.country,
        ..Default::default()
    };
    Ok(order)
}

/// An e-mail as a page anyone with its link may see shows it: the first letter and the
/// domain (`a•••@example.com`), enough for its owner to recognise. Order and checkout pages
/// both use it.
#[cfg(feature = "ssr")]
pub(crate) fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "•••".into(),
    }
}

/// Finds a guest's order from its number and e-mail by mailing its secret link to that
/// address: whoever asks learns nothing (a match, a mismatch and an unknown number get the
/// same answer), and only the mailbox that placed the order can open it. An address gets at
/// most `MAILS_PER_HOUR` messages an hour, whoever asks; the route counts against the
/// sign-in limit per client.
#[server(prefix = "/rpc", endpoint = "orders/lookup")]
pub async fn lookup_order(order: String, email: String) -> Result<(), crate::error::AppError> {
    let services = crate::services::services()?;
    if let Ok(id) = shop::orders::OrderId::parse(order.trim())
        && let Ok(found) = services.orders.lookup(&id, &email).await
    {
        services.order_mails.link(&found).await?;
    }
    crate::session::redirect("/orders?sent=1");
    Ok(())
}

#[component]
pub fn OrderRoute() -> impl IntoView {
    let params = crate::route::params_map();
    let query = crate::route::query_map();
    let id = move || {
        (
            params.read().get("id").unwrap_or_default(),
            query.read().get("token"),
        )
    };
    let order = Resource::new(id, |(id, token)| load_order(id, token));
    #[cfg(feature = "hydrate")]
    {
        use std::time::Duration;
        // Status moves on its own (fulfillment); keep the page current while it is open.
        if let Ok(handle) =
            set_interval_with_handle(move || order.refetch(), Duration::from_secs(5))
        {
            on_cleanup(move || handle.clear());
        }
    }
    view! {
        <Title text="Your order"/>
        <Transition fallback=|| view! { <p class="loading">"Loading your order…"</p> }>
            {move || Suspend::new(async move {
                match order.await {
                    Ok(order) => view! { <OrderView order/> }.into_any(),
                    Err(error) => view! { <ErrorPage error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn OrderView(order: Order) -> impl IntoView {
    let currency = order.total.currency;
    let lines: Vec<AnyView> = order
        .lines
        .iter()
        .map(|l| {
            let price = shop::Money::new(l.unit_price * l.quantity, currency).to_string();
            view! {
                <li>
                    <span>{format!("{} × {}", l.quantity, l.title)}</span>
                    <span class="muted">{l.options.clone()}</span>
                    <span>{price}</span>
                </li>
            }
            .into_any()
        })
        .collect();
    let deliveries: Vec<AnyView> = order
        .shipping
        .iter()
        .map(|p| view! { <li>{p.describe(currency)}</li> }.into_any())
        .collect();
    let history: Vec<AnyView> = order
        .history
        .iter()
        .map(|h| view! { <li>{h.status.label()}</li> }.into_any())
        .collect();
    // Without JavaScript the page reloads itself while the order is still moving.
    let refresh = order.status.refresh_secs().map(|secs| {
        view! { <noscript><meta http-equiv="refresh" content=secs.to_string()/></noscript> }
    });
    view! {
        <section class="order">
            {refresh}
            <h1>"Order " <span class="order-number">{order.id.to_string()}</span></h1>
            <p class="lead">
                "Status: " <strong data-testid="order-status">{order.status.label()}</strong>
            </p>
            <ol class="timeline" aria-label="Order history">{history}</ol>
            <h2>"Items"</h2>
            <ul class="order-lines">{lines}</ul>
            {(!deliveries.is_empty()).then(|| view! {
                <h2>"Delivery"</h2>
                <ul class="order-deliveries">{deliveries}</ul>
            })}
            <crate::checkout::Totals totals=order.totals/>
            <p class="muted">
                "Confirmation sent to " {order.email.clone()} ". Shipping to "
                {order.shipping_address.city.clone()} ", " {order.shipping_address.country.clone()} "."
            </p>
        </section>
    }
    .into_any()
}

#[component]
pub fn OrderLookupRoute() -> impl IntoView {
    let lookup = ServerAction::<LookupOrder>::new();
    let query = crate::route::query_map();
    let sent = move || query.read().get("sent").is_some();
    view! {
        <Title text="Find your order"/>
        <section class="order-lookup">
            <h1>"Find your order"</h1>
            <p>"We'll e-mail the link to your order to the address it was placed with."</p>
            <Show when=sent>
                <p class="notice" role="status" data-testid="lookup-sent">
                    "If that order number and e-mail address match an order, its link is on its way to that address."
                </p>
            </Show>
            <ActionForm action=lookup attr:class="lookup-form">
                <crate::accounts::CsrfField/>
                <label>"Order number" <input name="order" required maxlength="40" placeholder="ord_…"/></label>
                <label>"E-mail used for the order" <input type="email" name="email" required maxlength="254"/></label>
                <button type="submit">"E-mail me the link"</button>
            </ActionForm>
        </section>
    }
}
