//! `/account` itself: the order history with "buy again", changing the password, signing out.

use super::CsrfField;
use crate::error::ErrorPage;
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};
use shop::accounts::Viewer;
use shop::orders::OrderSummary;

#[server(prefix = "/rpc", endpoint = "account/sign-out")]
pub async fn sign_out(everywhere: Option<String>) -> Result<(), crate::error::AppError> {
    use crate::session::{clear_cookies, redirect, visit};
    let services = crate::services::services()?;
    let visit = visit();
    if let (Some(viewer), true) = (&visit.viewer, everywhere.is_some()) {
        services.sessions.end_all(viewer.user_id).await?;
    } else if let Some(token) = &visit.token {
        services.sessions.end(token).await?;
    }
    clear_cookies(services.secure_cookies);
    redirect("/account/sign-in?signed_out=1");
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "account/password")]
pub async fn change_password(current: String, new: String) -> Result<(), crate::error::AppError> {
    use crate::session::{redirect, set_session_cookie, visit};
    use shop::accounts::{AccountError, Viewer};
    let services = crate::services::services()?;
    let visit = visit();
    let viewer = Viewer::require(visit.viewer.as_ref())?.clone();
    match services
        .users
        .change_password(viewer.user_id, &current, &new, &visit.address)
        .await
    {
        Ok(()) => {
            // Every other session ends; this browser gets a new one.
            services.sessions.end_all(viewer.user_id).await?;
            let token = services.sessions.start(viewer.user_id, None).await?;
            set_session_cookie(&token, services.secure_cookies);
            redirect("/account?password=changed");
        }
        Err(AccountError::WrongCredentials) => redirect("/account?password=wrong"),
        Err(AccountError::Throttled { .. }) => redirect("/account?password=throttled"),
        Err(AccountError::Invalid(_)) => redirect("/account?password=weak"),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// The account's orders, a page at a time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountPage {
    pub viewer: Viewer,
    pub orders: Vec<OrderSummary>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

#[server(prefix = "/rpc", endpoint = "account/load")]
pub async fn load_account(page: Option<String>) -> Result<AccountPage, crate::error::AppError> {
    use shop::accounts::Viewer;
    let services = crate::services::services()?;
    let viewer = Viewer::require(crate::session::viewer().as_ref())?.clone();
    let page = shop::input::parse_page(page.as_deref())?;
    let per_page = 10;
    let (orders, total) = services
        .orders
        .for_account(viewer.user_id, page, per_page)
        .await?;
    Ok(AccountPage {
        viewer,
        orders,
        total,
        page,
        per_page,
    })
}

/// Puts an earlier order's items back in the cart, as many of each as can be bought now.
#[server(prefix = "/rpc", endpoint = "account/reorder")]
pub async fn reorder(order: shop::orders::OrderId) -> Result<(), crate::error::AppError> {
    use crate::session::{ensure_cart, redirect};
    use shop::accounts::Viewer;
    use shop::orders::OrderError;
    let services = crate::services::services()?;
    let viewer = Viewer::require(crate::session::viewer().as_ref())?.clone();
    // Another account's order looks like no order at all.
    if services.orders.owner(&order).await? != Some(viewer.user_id) {
        return Err(OrderError::NotFound.into());
    }
    let order = services.orders.get(&order).await?;
    let cart = ensure_cart(&services).await?;
    let report = services
        .carts
        .reorder(&cart, &order.lines, services.clock.now())
        .await?;
    let short = report.iter().filter(|line| !line.is_whole()).count();
    redirect(&format!("/cart?reordered={}&short={short}", order.id));
    Ok(())
}

#[component]
pub fn AccountRoute() -> impl IntoView {
    let query = crate::route::query_map();
    let account = Resource::new(move || query.read().get("page"), load_account);
    let notice = move || {
        let q = query.read();
        if q.get("welcome").is_some() {
            return Some(("notice", "Welcome! Your account is ready."));
        }
        q.get("password").map(|p| match p.as_str() {
            "reset" => (
                "notice",
                "Your new password is saved. You've been signed out everywhere else.",
            ),
            "changed" => (
                "notice",
                "Password changed. You've been signed out everywhere else.",
            ),
            "wrong" => (
                "notice error",
                "Your current password wasn't right; nothing changed.",
            ),
            "throttled" => (
                "notice error",
                "Too many wrong passwords: please wait a little and try again.",
            ),
            _ => ("notice error", super::WEAK_PASSWORD),
        })
    };
    view! {
        <Title text="Your account"/>
        <Transition fallback=|| view! { <p class="loading">"Loading your account…"</p> }>
            {move || Suspend::new(async move {
                match account.await {
                    Ok(page) => view! { <AccountView page notice=notice()/> }.into_any(),
                    Err(crate::error::AppError {
                        kind: shop::FailureKind::SignInRequired,
                        ..
                    }) => {
                        crate::error::set_status(401);
                        view! {
                        <section class="account-form">
                            <h1>"Your account"</h1>
                            <p>"Please " <a href="/account/sign-in?next=/account">"sign in"</a> " to see your account and orders."</p>
                        </section>
                    }.into_any()
                    }
                    Err(error) => view! { <ErrorPage error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn AccountView(page: AccountPage, notice: Option<(&'static str, &'static str)>) -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    let sign_out_all = ServerAction::<SignOut>::new();
    let password = ServerAction::<ChangePassword>::new();
    let reorder = ServerAction::<Reorder>::new();
    let orders: Vec<AnyView> = page
        .orders
        .iter()
        .map(|o| {
            let id = o.id.to_string();
            let href = format!("/orders/{id}");
            let label = id.clone();
            view! {
                <tr data-testid="history-order">
                    <td><a href=href>{label}</a></td>
                    <td>{o.status.label()}</td>
                    <td>{o.items}</td>
                    <td>{o.total.to_string()}</td>
                    <td>
                        <ActionForm action=reorder>
                            <CsrfField/>
                            <input type="hidden" name="order" value=id/>
                            <button type="submit" class="secondary">"Buy again"</button>
                        </ActionForm>
                    </td>
                </tr>
            }
            .into_any()
        })
        .collect();
    let role = page.viewer.role;
    view! {
        <section class="account">
            <h1>"Your account"</h1>
            {notice.map(|(class, text)| view! { <p class=class role="status">{text}</p> })}
            <p>"Signed in as " <strong data-testid="account-email">{page.viewer.email.clone()}</strong>
               " (" {role.as_str()} ")"</p>
            <h2>"Your orders"</h2>
            {if orders.is_empty() {
                view! { <p class="muted" data-testid="no-orders">"No orders yet."</p> }.into_any()
            } else {
                view! {
                    <table class="orders-table">
                        <thead><tr><th>"Order"</th><th>"Status"</th><th>"Items"</th><th>"Total"</th><th></th></tr></thead>
                        <tbody>{orders}</tbody>
                    </table>
                    <crate::pager::Pager total=page.total page=page.page per_page=page.per_page noun="order"
                        back="Newer" forward="Older"/>
                }.into_any()
            }}
            {matches!(role, shop::accounts::Role::Seller | shop::accounts::Role::Admin).then(|| view! {
                <h2>"Two-step sign-in"</h2>
                <p>{if page.viewer.second_factor { "On." } else { "Off." }} " " <a href="/account/security">"Manage two-step sign-in"</a></p>
            })}
            <h2>"Addresses"</h2>
            <p>"Keep the addresses you send to; checkout starts from your default." " " <a href="/account/addresses">"Your address book"</a></p>
            <h2>"Change password"</h2>
            <ActionForm action=password attr:class="stacked-form">
                <CsrfField/>
                <label>"Current password" <input type="password" name="current" required maxlength="128" autocomplete="current-password"/></label>
                <label>"New password" <input type="password" name="new" required minlength="10" maxlength="128" autocomplete="new-password"/></label>
                <button type="submit">"Change password"</button>
            </ActionForm>
            <h2>"Sign out"</h2>
            <div class="row">
                <ActionForm action=sign_out>
                    <CsrfField/>
                    <button type="submit" data-testid="sign-out">"Sign out"</button>
                </ActionForm>
                <ActionForm action=sign_out_all>
                    <CsrfField/>
                    <input type="hidden" name="everywhere" value="1"/>
                    <button type="submit" class="secondary">"Sign out everywhere"</button>
                </ActionForm>
            </div>
        </section>
    }
}
