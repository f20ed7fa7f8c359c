//! The overview (`/admin`): health, and what needs someone's attention.

use super::forbidden_or;
use crate::accounts::CsrfField;
use crate::error::AppError;
use crate::format::utc;
use crate::health::Readiness;
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};
use shop::orders::ReturnedItem;

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
}

/// The overview: health, and what needs someone's attention.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    pub health: Readiness,
    pub dead_letters: Vec<DeadLetterView>,
    pub holds: Vec<HoldView>,
    pub returns: Vec<ReturnedItem>,
    pub coupons: Vec<crate::coupons::CouponView>,
    /// Feed pictures that failed, or have waited too long.
    pub fetch_problems: Vec<shop::feeds::FetchView>,
    pub fetch_stats: shop::feeds::QueueStats,
}

#[server(prefix = "/rpc", endpoint = "admin/overview")]
pub async fn load_overview() -> Result<Overview, AppError> {
    super::admin()?;
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
pub async fn replay_event(id: i64) -> Result<(), AppError> {
    super::admin()?;
    let services = crate::services::services()?;
    let replayed = shop::events::replay(&services.db, id, services.clock.now()).await?;
    crate::session::redirect(if replayed {
        "/admin?replayed=1"
    } else {
        "/admin?replayed=0"
    });
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "admin/inspect")]
pub async fn inspect_return(item: i64, resellable: String) -> Result<(), AppError> {
    let viewer = super::admin()?;
    let services = crate::services::services()?;
    services
        .refunds
        .inspect(item, resellable == "yes", Some(viewer.user_id))
        .await?;
    crate::session::redirect("/admin?inspected=1");
    Ok(())
}

#[component]
pub fn AdminRoute() -> impl IntoView {
    let query = crate::route::query_map();
    let search = crate::route::search();
    // Every action on this page ends in a redirect back here with a new query string.
    let overview = Resource::new(move || search.get(), |_| load_overview());
    let notice = move || {
        let q = query.read();
        if q.get("replayed").as_deref() == Some("1") {
            Some("Event queued for delivery again.")
        } else if q.get("inspected").is_some() {
            Some("Inspection recorded.")
        } else {
            q.get("coupon").map(|c| crate::coupons::notice(&c))
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
                    <td><a href=href>{order}</a></td>
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
    view! {
        <section class="admin">
            <h1>"Admin"</h1>
            <nav class="row"><a href="/admin/orders">"All orders"</a> " " <a href="/admin/shipping">"Shipping and tax"</a></nav>
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
            <crate::coupons::CouponsSection coupons=o.coupons.clone()/>
        </section>
    }
}
