//! The admin pages: every order (with filters) and its refunds, returned items awaiting
//! inspection, the outbox's dead letters with replay, holds in place, coupons, and the health
//! of every component. Every server function here starts with `Viewer::require_admin`: the
//! pages are hidden from others, but the check that matters is this one.

use crate::account::CsrfField;
use crate::error::{AppError, ErrorPage};
use crate::format::utc;
use crate::health::Readiness;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};
use shop::orders::{Order, OrderStatus, OrderSummary, RefundView, ReturnedItem};

/// An event the outbox gave up on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeadLetterView {
    pub id: i64,
    pub topic: String,
    pub aggregate_id: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub dead_at: i64,
}

/// Stock held for a checkout in progress.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HoldView {
    pub checkout_id: String,
    pub sku: String,
    pub warehouse: String,
    pub quantity: i64,
    pub expires_at: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CouponView {
    pub code: String,
    pub label: String,
    pub redeemed: i64,
    pub total_limit: Option<i64>,
    pub per_customer_limit: Option<i64>,
}

#[cfg(feature = "ssr")]
mod convert {
    use super::*;

    impl From<shop::events::DeadLetter> for DeadLetterView {
        fn from(d: shop::events::DeadLetter) -> Self {
            Self {
                id: d.id,
                topic: d.topic,
                aggregate_id: d.aggregate_id,
                attempts: d.attempts,
                last_error: d.last_error,
                dead_at: d.dead_at,
            }
        }
    }

    impl From<shop::inventory::holds::ActiveHold> for HoldView {
        fn from(h: shop::inventory::holds::ActiveHold) -> Self {
            Self {
                checkout_id: h.checkout_id,
                sku: h.sku,
                warehouse: h.warehouse,
                quantity: h.quantity,
                expires_at: h.expires_at,
            }
        }
    }

    impl From<shop::coupons::CouponRow> for CouponView {
        fn from(c: shop::coupons::CouponRow) -> Self {
            Self {
                label: c.discount.label(),
                code: c.code,
                redeemed: c.redeemed,
                total_limit: c.total_limit,
                per_customer_limit: c.per_customer_limit,
            }
        }
    }
}

#[cfg(feature = "ssr")]
fn admin() -> Result<shop::accounts::Viewer, AppError> {
    Ok(shop::accounts::Viewer::require_admin(crate::session::viewer().as_ref())?.clone())
}

/// The overview: health, and what needs someone's attention.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    pub health: Readiness,
    pub dead_letters: Vec<DeadLetterView>,
    pub holds: Vec<HoldView>,
    pub returns: Vec<ReturnedItem>,
    pub coupons: Vec<CouponView>,
    /// Feed pictures that failed, or have waited too long.
    pub fetch_problems: Vec<shop::feeds::FetchView>,
    pub fetch_stats: shop::feeds::QueueStats,
}

#[server(prefix = "/rpc", endpoint = "admin/overview")]
pub async fn load_overview() -> Result<Overview, AppError> {
    admin()?;
    let services = crate::services::services()?;
    let health = crate::health::readiness(&services).await;
    let dead_letters = shop::events::dead_letters(&services.db, 50).await?;
    let holds = shop::inventory::holds::active(&services.db, 50).await?;
    let returns = services.refunds.returned(50).await?;
    let coupons = services
        .coupons
        .list()
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    let fetch_problems = services.feeds.problems(10 * 60 * 1000, 50).await?;
    let fetch_stats = services.feeds.stats().await?;
    Ok(Overview {
        fetch_problems,
        fetch_stats,
        health,
        dead_letters: dead_letters.into_iter().map(Into::into).collect(),
        holds: holds.into_iter().map(Into::into).collect(),
        returns,
        coupons,
    })
}

#[server(prefix = "/rpc", endpoint = "admin/replay")]
pub async fn replay_event(id: String) -> Result<(), AppError> {
    admin()?;
    let services = crate::services::services()?;
    let id: i64 = id
        .parse()
        .map_err(|_| AppError::bad_request("No such event."))?;
    let replayed = shop::events::replay(&services.db, id, services.clock.now()).await?;
    crate::session::redirect(if replayed {
        "/admin?replayed=1"
    } else {
        "/admin?replayed=0"
    });
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "admin/inspect")]
pub async fn inspect_return(item: String, resellable: String) -> Result<(), AppError> {
    let viewer = admin()?;
    let services = crate::services::services()?;
    let item: i64 = item
        .parse()
        .map_err(|_| AppError::bad_request("No such item."))?;
    services
        .refunds
        .inspect(item, resellable == "yes", Some(viewer.user_id))
        .await?;
    crate::session::redirect("/admin?inspected=1");
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "admin/coupon")]
pub async fn create_coupon(
    code: String,
    percent: Option<String>,
    amount: Option<String>,
    total_limit: Option<String>,
    per_customer_limit: Option<String>,
) -> Result<(), AppError> {
    use shop::coupons::{CouponCode, CouponError, Discount, NewCoupon};
    admin()?;
    let services = crate::services::services()?;
    let number = |v: &Option<String>| -> Result<Option<i64>, AppError> {
        match v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| AppError::bad_request("Limits and values are whole numbers.")),
        }
    };
    let discount = match (
        number(&percent)?,
        amount.as_deref().map(str::trim).filter(|a| !a.is_empty()),
    ) {
        (Some(p), None) => Discount::Percent(p),
        (None, Some(a)) => Discount::Amount(shop::Money::parse_price(a, shop::Currency::USD)?),
        _ => {
            crate::session::redirect("/admin?coupon=choose");
            return Ok(());
        }
    };
    let created = services
        .coupons
        .create(&NewCoupon {
            code: CouponCode::parse(&code)?,
            discount,
            per_customer_limit: number(&per_customer_limit)?,
            total_limit: number(&total_limit)?,
            expires_at: None,
        })
        .await;
    match created {
        Ok(()) => crate::session::redirect("/admin?coupon=created"),
        Err(CouponError::Exists(_)) => crate::session::redirect("/admin?coupon=exists"),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// A page of all orders.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrdersPage {
    pub orders: Vec<OrderSummary>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

#[server(prefix = "/rpc", endpoint = "admin/orders")]
pub async fn load_orders(
    status: Option<String>,
    q: Option<String>,
    page: Option<String>,
) -> Result<OrdersPage, AppError> {
    admin()?;
    let services = crate::services::services()?;
    let page = i64::from(shop::input::parse_bounded(
        "page",
        page.as_deref(),
        1,
        1,
        10_000,
    )?);
    let per_page = 25;
    let filter = shop::orders::OrderFilter {
        status: status.as_deref().and_then(OrderStatus::parse),
        query: q.map(|q| q.chars().take(100).collect()),
        ..Default::default()
    };
    let (orders, total) = services.orders.list(&filter, page, per_page).await?;
    Ok(OrdersPage {
        orders,
        total,
        page,
        per_page,
    })
}

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
    admin()?;
    let services = crate::services::services()?;
    let id = shop::orders::OrderId::parse(&id).map_err(|_| shop::orders::OrderError::NotFound)?;
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
    order: String,
    key: String,
    reason: String,
    position: Option<String>,
    quantity: Option<String>,
) -> Result<(), AppError> {
    use shop::orders::refunds::{RefundError, RefundScope};
    let viewer = admin()?;
    let services = crate::services::services()?;
    let id =
        shop::orders::OrderId::parse(&order).map_err(|_| shop::orders::OrderError::NotFound)?;
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
    let back = format!("/admin/orders/{id}");
    match services
        .refunds
        .refund(&id, &scope, &key, &reason, Some(viewer.user_id))
        .await
    {
        Ok(view) => crate::session::redirect(&format!("{back}?refund={}", view.status)),
        Err(RefundError::Invalid(_)) => crate::session::redirect(&format!("{back}?refund=invalid")),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

fn forbidden_or(error: AppError) -> AnyView {
    match error {
        AppError {
            kind: shop::FailureKind::SignInRequired,
            ..
        } => {
            // The prompt is the page, with the status a monitor or crawler understands.
            crate::error::set_status(401);
            view! {
            <section>
                <h1>"Admin"</h1>
                <p>"Please " <A href="/account/sign-in?next=/admin">"sign in"</A> " with an admin account."</p>
            </section>
        }
            .into_any()
        }
        error => view! { <ErrorPage error/> }.into_any(),
    }
}

#[component]
pub fn AdminRoute() -> impl IntoView {
    let query = use_query_map();
    let location = leptos_router::hooks::use_location();
    // Every action on this page ends in a redirect back here with a new query string.
    let overview = Resource::new(move || location.search.get(), |_| load_overview());
    let notice = move || {
        let q = query.read();
        if q.get("replayed").as_deref() == Some("1") {
            Some("Event queued for delivery again.")
        } else if q.get("inspected").is_some() {
            Some("Inspection recorded.")
        } else {
            q.get("coupon").map(|c| match c.as_str() {
                "created" => "Coupon created.",
                "exists" => "A coupon with that code already exists.",
                _ => "Give either a percentage or an amount.",
            })
        }
    };
    view! {
        <Title text="Admin"/>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(o) => view! { <OverviewView o notice=notice()/> }.into_any(),
                    Err(e) => forbidden_or(e),
                }
            })}
        </Transition>
    }
}

#[component]
fn OverviewView(o: Overview, notice: Option<&'static str>) -> impl IntoView {
    let replay = ServerAction::<ReplayEvent>::new();
    let inspect = ServerAction::<InspectReturn>::new();
    let coupon = ServerAction::<CreateCoupon>::new();
    let health: Vec<AnyView> = o
        .health
        .components
        .iter()
        .map(|(name, c)| {
            view! {
                <tr data-testid="health-row">
                    <td>{name.clone()}</td>
                    <td class=format!("status-{}", c.status.as_str())>{c.status.as_str()}</td>
                    <td>{c.detail.clone().unwrap_or_default()}</td>
                </tr>
            }
            .into_any()
        })
        .collect();
    let dead: Vec<AnyView> = o
        .dead_letters
        .iter()
        .map(|d| {
            let id = d.id.to_string();
            view! {
                <tr data-testid="dead-letter">
                    <td>{d.topic.clone()}</td>
                    <td>{d.aggregate_id.clone()}</td>
                    <td>{d.attempts}</td>
                    <td>{d.last_error.clone().unwrap_or_default()}</td>
                    <td>{utc(d.dead_at)}</td>
                    <td>
                        <ActionForm action=replay>
                            <CsrfField/>
                            <input type="hidden" name="id" value=id/>
                            <button type="submit" class="secondary">"Replay"</button>
                        </ActionForm>
                    </td>
                </tr>
            }
            .into_any()
        })
        .collect();
    let fetches: Vec<AnyView> = o
        .fetch_problems
        .iter()
        .map(|f| {
            view! {
                <tr data-testid="fetch-problem">
                    <td>{f.seller_id}</td>
                    <td>{f.product_id}</td>
                    <td class="url">{f.url.clone()}</td>
                    <td>{f.status.label()}</td>
                    <td>{f.attempts}</td>
                    <td>{f.reason.clone().unwrap_or_default()}</td>
                    <td>{utc(f.created_at)}</td>
                </tr>
            }
            .into_any()
        })
        .collect();
    let queue = format!(
        "{} waiting, {} stored, {} need review, {} refused; {} feed(s) being applied.",
        o.fetch_stats.queued,
        o.fetch_stats.stored,
        o.fetch_stats.needs_review,
        o.fetch_stats.refused,
        o.fetch_stats.feeds_waiting
    );
    let holds: Vec<AnyView> = o
        .holds
        .iter()
        .map(|h| {
            view! {
                <tr>
                    <td>{h.checkout_id.clone()}</td>
                    <td>{h.sku.clone()}</td>
                    <td>{h.warehouse.clone()}</td>
                    <td>{h.quantity}</td>
                    <td>{utc(h.expires_at)}</td>
                </tr>
            }
            .into_any()
        })
        .collect();
    let returns: Vec<AnyView> = o
        .returns
        .iter()
        .map(|r| {
            let waiting = r.status == "awaiting_inspection";
            let (yes, no) = (r.id.to_string(), r.id.to_string());
            let (href, order) = (format!("/admin/orders/{}", r.order_id), r.order_id.clone());
            view! {
                <tr data-testid="returned-item">
                    <td><A href=href>{order}</A></td>
                    <td>{format!("{} × {} ({})", r.quantity, r.title, r.sku)}</td>
                    <td data-testid="return-status">{r.status.replace('_', " ")}</td>
                    <td>
                        {waiting.then(move || view! {
                            <div class="row">
                                <ActionForm action=inspect>
                                    <CsrfField/>
                                    <input type="hidden" name="item" value=yes/>
                                    <input type="hidden" name="resellable" value="yes"/>
                                    <button type="submit" class="secondary">"Resellable: restock"</button>
                                </ActionForm>
                                <ActionForm action=inspect>
                                    <CsrfField/>
                                    <input type="hidden" name="item" value=no/>
                                    <input type="hidden" name="resellable" value="no"/>
                                    <button type="submit" class="link">"Not resellable"</button>
                                </ActionForm>
                            </div>
                        })}
                    </td>
                </tr>
            }
            .into_any()
        })
        .collect();
    let coupons: Vec<AnyView> = o
        .coupons
        .iter()
        .map(|c| {
            view! {
                <tr>
                    <td>{c.code.clone()}</td>
                    <td>{c.label.clone()}</td>
                    <td>{format!("{} of {}", c.redeemed, c.total_limit.map_or("∞".to_string(), |l| l.to_string()))}</td>
                    <td>{c.per_customer_limit.map_or("—".to_string(), |l| l.to_string())}</td>
                </tr>
            }
            .into_any()
        })
        .collect();
    view! {
        <section class="admin">
            <h1>"Admin"</h1>
            <nav class="row"><A href="/admin/orders">"All orders"</A></nav>
            {notice.map(|n| view! { <p class="notice" role="status">{n}</p> })}
            <h2>"Health: " <span data-testid="health-status">{o.health.status.as_str()}</span></h2>
            <table class="orders-table"><tbody>{health}</tbody></table>
            <h2>"Returned items"</h2>
            {if returns.is_empty() { view! { <p class="muted">"Nothing to inspect."</p> }.into_any() } else {
                view! { <table class="orders-table"><tbody>{returns}</tbody></table> }.into_any()
            }}
            <h2>"Dead letters"</h2>
            {if dead.is_empty() { view! { <p class="muted" data-testid="no-dead-letters">"None: every event was delivered."</p> }.into_any() } else {
                view! {
                    <table class="orders-table">
                        <thead><tr><th>"Topic"</th><th>"About"</th><th>"Attempts"</th><th>"Last error"</th><th>"Gave up"</th><th></th></tr></thead>
                        <tbody>{dead}</tbody>
                    </table>
                }.into_any()
            }}
            <h2>"Feed pictures"</h2>
            <p data-testid="fetch-queue">{queue}</p>
            {if fetches.is_empty() { view! { <p class="muted">"No picture needs attention."</p> }.into_any() } else {
                view! {
                    <table class="orders-table">
                        <thead><tr><th>"Seller"</th><th>"Product"</th><th>"URL"</th><th>"Status"</th><th>"Tries"</th><th>"Why"</th><th>"Queued"</th></tr></thead>
                        <tbody>{fetches}</tbody>
                    </table>
                }.into_any()
            }}
            <h2>"Holds in place"</h2>
            {if holds.is_empty() { view! { <p class="muted">"No stock is held right now."</p> }.into_any() } else {
                view! {
                    <table class="orders-table">
                        <thead><tr><th>"Checkout"</th><th>"SKU"</th><th>"Warehouse"</th><th>"Units"</th><th>"Expires"</th></tr></thead>
                        <tbody>{holds}</tbody>
                    </table>
                }.into_any()
            }}
            <h2>"Coupons"</h2>
            <table class="orders-table">
                <thead><tr><th>"Code"</th><th>"Discount"</th><th>"Redeemed"</th><th>"Per customer"</th></tr></thead>
                <tbody>{coupons}</tbody>
            </table>
            <ActionForm action=coupon attr:class="stacked-form">
                <CsrfField/>
                <label>"Code" <input name="code" required maxlength="32"/></label>
                <label>"Percent off" <input name="percent" inputmode="numeric"/></label>
                <label>"…or amount off (USD)" <input name="amount" inputmode="decimal"/></label>
                <label>"Uses in total" <input name="total_limit" inputmode="numeric"/></label>
                <label>"Uses per customer" <input name="per_customer_limit" inputmode="numeric"/></label>
                <button type="submit">"Create coupon"</button>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn AdminOrdersRoute() -> impl IntoView {
    let query = use_query_map();
    let orders = Resource::new(
        move || {
            let q = query.read();
            (q.get("status"), q.get("q"), q.get("page"))
        },
        |(status, q, page)| load_orders(status, q, page),
    );
    let status = move || query.read().get("status").unwrap_or_default();
    let text = move || query.read().get("q").unwrap_or_default();
    view! {
        <Title text="All orders"/>
        <section class="admin">
            <h1>"All orders"</h1>
            <form method="get" action="/admin/orders" class="coupon-form">
                <label>"Status"
                    <select name="status">
                        <option value="" selected=move || status().is_empty()>"Any"</option>
                        {OrderStatus::ALL.into_iter().map(|s| {
                            let value = s.as_str();
                            view! { <option value=value selected=move || status() == value>{s.label()}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label>"E-mail or order number" <input name="q" value=text maxlength="100"/></label>
                <button type="submit" class="secondary">"Filter"</button>
            </form>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match orders.await {
                        Ok(page) => view! { <OrderTable page/> }.into_any(),
                        Err(e) => forbidden_or(e),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn OrderTable(page: OrdersPage) -> impl IntoView {
    let rows: Vec<AnyView> = page
        .orders
        .iter()
        .map(|o| {
            let id = o.id.to_string();
            let href = format!("/admin/orders/{id}");
            view! {
                <tr data-testid="admin-order">
                    <td><A href=href>{id}</A></td>
                    <td>{utc(o.created_at)}</td>
                    <td>{o.email.clone()}</td>
                    <td>{o.status.label()}</td>
                    <td>{o.items}</td>
                    <td>{o.total.to_string()}</td>
                </tr>
            }
            .into_any()
        })
        .collect();
    view! {
        <table class="orders-table">
            <thead><tr><th>"Order"</th><th>"Placed"</th><th>"E-mail"</th><th>"Status"</th><th>"Items"</th><th>"Total"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
        <crate::pager::Pager total=page.total page=page.page per_page=page.per_page noun="order"
            keep=&["status", "q"] back="Newer" forward="Older"/>
    }
}

#[component]
pub fn AdminOrderRoute() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
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
            <p><A href="/admin/orders">"All orders"</A></p>
        </section>
    }
}
