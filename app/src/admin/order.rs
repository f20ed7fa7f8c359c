//! One order as the admin sees it (`/admin/orders/{id}`): everything, with its refunds and
//! the forms that make them.

use super::forbidden_or;
use crate::accounts::CsrfField;
use crate::error::AppError;
use crate::format::utc;
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};
use shop::orders::{Order, OrderId, RefundView};

/// One order as the admin sees it: everything, with its refunds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdminOrder {
    pub order: Order,
    /// Units of each line refunded so far, by position.
    pub refunded: Vec<i64>,
    pub refunds: Vec<RefundView>,
    /// A fresh key for the refund forms on this rendering.
    pub key: String,
}

#[server(prefix = "/rpc", endpoint = "admin/order")]
pub async fn load_admin_order(id: String) -> Result<AdminOrder, AppError> {
    super::admin()?;
    let services = crate::services::services()?;
    let id = OrderId::parse(&id).map_err(|_| shop::orders::OrderError::NotFound)?;
    let order = services.orders.get(&id).await?;
    let refunded = services.refunds.refunded_quantities(&id).await?;
    let refunds = services.refunds.for_order(&id).await?;
    Ok(AdminOrder {
        order,
        refunded,
        refunds,
        key: crate::session::one_time_token(),
    })
}

/// Refunds the whole order (`position` empty) or `quantity` of one line.
#[server(prefix = "/rpc", endpoint = "admin/refund")]
pub async fn refund_order(
    order: OrderId,
    key: String,
    reason: String,
    position: Option<String>,
    quantity: Option<String>,
) -> Result<(), AppError> {
    use shop::orders::refunds::{RefundError, RefundScope};
    let viewer = super::admin()?;
    let services = crate::services::services()?;
    let key = shop::input::parse_token("key", &key)?;
    let scope = match position.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        None => RefundScope::Full,
        Some(p) => {
            let bad = || AppError::bad_request("Choose a line and a quantity of at least 1.");
            let position: i64 = p.parse().map_err(|_| bad())?;
            let quantity: i64 = quantity
                .as_deref()
                .unwrap_or("")
                .trim()
                .parse()
                .map_err(|_| bad())?;
            RefundScope::Lines(vec![(position, quantity)])
        }
    };
    let back = format!("/admin/orders/{order}");
    match services
        .refunds
        .refund(&order, &scope, &key, &reason, Some(viewer.user_id))
        .await
    {
        Ok(view) => crate::session::redirect(&format!("{back}?refund={}", view.status)),
        Err(RefundError::Invalid(_)) => crate::session::redirect(&format!("{back}?refund=invalid")),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

#[component]
pub fn AdminOrderRoute() -> impl IntoView {
    let params = crate::route::params_map();
    let query = crate::route::query_map();
    let order = Resource::new(
        move || {
            (
                params.read().get("id").unwrap_or_default(),
                query.read().get("refund"),
            )
        },
        |(id, _)| load_admin_order(id),
    );
    let notice = move || {
        query.read().get("refund").map(|r| match r.as_str() {
            "succeeded" => "Refunded. The items wait for inspection before going back on sale.",
            "pending" => "The payment provider has not answered yet; submit again to retry (it will not refund twice).",
            "failed" => "The payment provider refused the refund.",
            _ => "That refund is not possible: check the quantities still refundable.",
        })
    };
    view! {
        <Title text="Order"/>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match order.await {
                    Ok(o) => view! { <AdminOrderView o notice=notice()/> }.into_any(),
                    Err(e) => forbidden_or(e),
                }
            })}
        </Transition>
    }
}

#[component]
fn AdminOrderView(o: AdminOrder, notice: Option<&'static str>) -> impl IntoView {
    let full = ServerAction::<RefundOrder>::new();
    let order_id = o.order.id.to_string();
    let currency = o.order.total.currency;
    let lines: Vec<AnyView> = o
        .order
        .lines
        .iter()
        .enumerate()
        .map(|(position, l)| {
            let action = ServerAction::<RefundOrder>::new();
            let refunded = o.refunded.get(position).copied().unwrap_or(0);
            let left = l.quantity - refunded;
            let (order_id, key) = (order_id.clone(), format!("{}-l{position}", o.key));
            view! {
                <tr data-testid="admin-line">
                    <td>{format!("{} × {} ({})", l.quantity, l.title, l.sku)}</td>
                    <td>{shop::Money::new(l.unit_price * l.quantity, currency).to_string()}</td>
                    <td>{format!("{refunded} refunded")}</td>
                    <td>
                        {(left > 0).then(move || view! {
                            <ActionForm action attr:class="row">
                                <CsrfField/>
                                <input type="hidden" name="order" value=order_id/>
                                <input type="hidden" name="key" value=key/>
                                <input type="hidden" name="position" value=position.to_string()/>
                                <input type="hidden" name="reason" value="line refund"/>
                                <label>"Units" <input type="number" name="quantity" min="1" max=left value=left/></label>
                                <button type="submit" class="secondary">"Refund line"</button>
                            </ActionForm>
                        })}
                    </td>
                </tr>
            }
            .into_any()
        })
        .collect();
    let refunds: Vec<AnyView> = o
        .refunds
        .iter()
        .map(|r| {
            view! {
                <li data-testid="refund">{format!("{} {} — {} ({})", r.amount, r.status, r.reason, utc(r.created_at))}</li>
            }
            .into_any()
        })
        .collect();
    let anything_left = o
        .order
        .lines
        .iter()
        .enumerate()
        .any(|(p, l)| l.quantity > o.refunded.get(p).copied().unwrap_or(0));
    view! {
        <section class="admin">
            <h1>"Order " {order_id.clone()}</h1>
            {notice.map(|n| view! { <p class="notice" role="status" data-testid="refund-notice">{n}</p> })}
            <p>"Status: " <strong data-testid="admin-order-status">{o.order.status.label()}</strong>
               " · placed " {utc(o.order.created_at)} " by " {o.order.email.clone()}</p>
            <p>"Charged " <strong>{o.order.total.to_string()}</strong>
               {(o.order.discount > 0).then(|| format!(" (after a coupon of {})", shop::Money::new(o.order.discount, currency)))}</p>
            <table class="orders-table"><tbody>{lines}</tbody></table>
            {anything_left.then(|| view! {
                <ActionForm action=full attr:class="stacked-form">
                    <CsrfField/>
                    <input type="hidden" name="order" value=order_id.clone()/>
                    <input type="hidden" name="key" value=o.key.clone()/>
                    <label>"Reason" <input name="reason" required maxlength="500" value="customer request"/></label>
                    <button type="submit">"Refund everything not yet refunded"</button>
                </ActionForm>
            })}
            <h2>"Refunds"</h2>
            <ul>{refunds}</ul>
            <p><a href="/admin/orders">"All orders"</a></p>
        </section>
    }
}
