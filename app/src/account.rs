//! Accounts in the shop's pages: sign up, sign in, sign out (here or everywhere), change
//! password, order history and "buy again". Like the cart, every form posts to a server
//! function that ends in a redirect, so each works without JavaScript; outcomes travel in the
//! query string.

use crate::error::ErrorPage;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};
use shop::accounts::Viewer;
use shop::orders::OrderSummary;

/// Only our own paths are followed after sign-in (never `//evil.example` or a URL).
pub fn local_path(next: Option<&str>) -> Option<String> {
    let next = next?.trim();
    (next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') && next.is_ascii())
        .then(|| next.to_owned())
}

/// The signed-in account, if any.
#[server(prefix = "/rpc", endpoint = "account/me")]
pub async fn who_am_i() -> Result<Option<Viewer>, crate::error::AppError> {
    Ok(crate::session::viewer())
}

/// Starts a session for `viewer`, merging the browser's guest cart into the account's cart,
/// and sends the browser on (to the cart with a report, when the merge changed anything).
#[cfg(feature = "ssr")]
async fn start_session(
    services: &crate::services::Services,
    viewer: &Viewer,
    next: Option<String>,
) -> Result<(), crate::error::AppError> {
    use crate::session::{cart_from_cookie, redirect, set_cart_cookie, set_session_cookie, visit};
    let previous = visit().token;
    let token = services
        .sessions
        .start(viewer.user_id, previous.as_ref())
        .await?;
    set_session_cookie(&token, services.secure_cookies);
    let (cart, merged) = services
        .carts
        .merge_at_sign_in(
            cart_from_cookie().as_ref(),
            viewer.user_id,
            services.clock.now(),
        )
        .await?;
    if let Some(cart) = &cart {
        set_cart_cookie(cart, services.secure_cookies);
    }
    if merged.is_empty() {
        redirect(&next.unwrap_or_else(|| "/account".into()));
    } else {
        redirect(&format!("/cart?merged={}", encode_merge(&merged)));
    }
    Ok(())
}

/// The merge report in a query string: `sku~kind~quantity~wanted` per line, joined by `.`.
#[cfg(feature = "ssr")]
fn encode_merge(lines: &[shop::cart::MergedLine]) -> String {
    use shop::cart::MergeOutcome::*;
    lines
        .iter()
        .map(|l| match l.outcome {
            Kept { quantity } => format!("{}~kept~{quantity}~{quantity}", l.sku),
            Combined { quantity } => format!("{}~combined~{quantity}~{quantity}", l.sku),
            Reduced { wanted, quantity } => format!("{}~reduced~{quantity}~{wanted}", l.sku),
            Removed { wanted } => format!("{}~removed~0~{wanted}", l.sku),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// One line of a merge report, read back from the query string.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeNote {
    pub sku: String,
    pub kind: String,
    pub quantity: i64,
    pub wanted: i64,
}

/// The merge report a sign-in left in the query string, read back: only known kinds, at most
/// a hundred lines, SKUs cut at 64 characters (the string comes from a URL: it is hostile).
pub fn decode_merge(text: &str) -> Vec<MergeNote> {
    text.split('.')
        .take(100)
        .filter_map(|part| {
            let mut it = part.split('~');
            let sku = it.next()?.chars().take(64).collect::<String>();
            let kind = it.next()?;
            if !matches!(kind, "kept" | "combined" | "reduced" | "removed") {
                return None;
            }
            Some(MergeNote {
                sku,
                kind: kind.into(),
                quantity: it.next()?.parse().ok()?,
                wanted: it.next()?.parse().ok()?,
            })
        })
        .collect()
}

#[server(prefix = "/rpc", endpoint = "account/sign-in")]
pub async fn sign_in(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<(), crate::error::AppError> {
    use crate::session::{redirect, visit};
    use shop::accounts::AccountError;
    let services = crate::services::services()?;
    let next = local_path(next.as_deref());
    let address = visit().address;
    match services.users.sign_in(&email, &password, &address).await {
        Ok(viewer) => start_session(&services, &viewer, next).await,
        Err(AccountError::WrongCredentials) => {
            redirect("/account/sign-in?error=credentials");
            Ok(())
        }
        Err(AccountError::Throttled { minutes }) => {
            redirect(&format!(
                "/account/sign-in?error=throttled&minutes={minutes}"
            ));
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Starts a sign-up: the form is checked here (a malformed address or a short password is
/// nobody's secret), then the rest runs off the request and the answer is always "check your
/// inbox", whether or not the address has an account (see `shop::accounts::links`).
#[server(prefix = "/rpc", endpoint = "account/sign-up")]
pub async fn sign_up(email: String, password: String) -> Result<(), crate::error::AppError> {
    use crate::session::redirect;
    use shop::accounts::{AccountLinks, LinkError};
    let services = crate::services::services()?;
    match AccountLinks::check_sign_up(&email, &password) {
        Ok((email, password)) => {
            let links = services.links.clone();
            tokio::spawn(async move {
                if let Err(e) = links.request_sign_up(&email, &password).await {
                    tracing::error!(error = %e, "sign-up mail not queued");
                }
            });
            redirect("/account/sign-up?sent=1");
        }
        Err(LinkError::Invalid(invalid)) => {
            redirect(&format!("/account/sign-up?error={}", invalid.field))
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// Creates the account a mailed sign-up link stands for, and signs it in.
#[server(prefix = "/rpc", endpoint = "account/confirm")]
pub async fn confirm_sign_up(token: String) -> Result<(), crate::error::AppError> {
    use crate::session::redirect;
    use shop::accounts::LinkError;
    let services = crate::services::services()?;
    match services.links.confirm_sign_up(&token).await {
        Ok(viewer) => start_session(&services, &viewer, Some("/account?welcome=1".into())).await,
        Err(LinkError::Expired | LinkError::Invalid(_)) => {
            redirect("/account/sign-up?error=expired");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Mails a password-reset link if the address has an account; answers the same either way.
#[server(prefix = "/rpc", endpoint = "account/reset-request")]
pub async fn request_reset(email: String) -> Result<(), crate::error::AppError> {
    use crate::session::redirect;
    let services = crate::services::services()?;
    match shop::checkout::Email::parse(&email) {
        Ok(email) => {
            let links = services.links.clone();
            tokio::spawn(async move {
                if let Err(e) = links.request_reset(&email).await {
                    tracing::error!(error = %e, "reset mail not queued");
                }
            });
            redirect("/account/reset?sent=1");
        }
        Err(_) => redirect("/account/reset?error=email"),
    }
    Ok(())
}

/// Sets a new password through a mailed link: every session of the account ends, and this
/// browser is signed in with a new one.
#[server(prefix = "/rpc", endpoint = "account/reset")]
pub async fn finish_reset(token: String, new: String) -> Result<(), crate::error::AppError> {
    use crate::session::redirect;
    use shop::accounts::LinkError;
    let services = crate::services::services()?;
    match services.links.finish_reset(&token, &new).await {
        Ok(viewer) => {
            services.sessions.end_all(viewer.user_id).await?;
            start_session(&services, &viewer, Some("/account?password=reset".into())).await
        }
        Err(LinkError::Invalid(_)) => {
            // Only a well-formed token gets here, so it is safe to put back in the URL.
            let token: String = token.chars().filter(char::is_ascii_hexdigit).collect();
            redirect(&format!("/account/reset/{token}?error=weak"));
            Ok(())
        }
        Err(LinkError::Expired) => {
            redirect("/account/reset?error=expired");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Whether a mailed link can still be used, for the page that shows its form.
#[server(prefix = "/rpc", endpoint = "account/link")]
pub async fn link_usable(kind: String, token: String) -> Result<bool, crate::error::AppError> {
    use shop::accounts::LinkKind;
    let services = crate::services::services()?;
    let kind = match kind.as_str() {
        "sign_up" => LinkKind::SignUp,
        _ => LinkKind::Reset,
    };
    Ok(services.links.is_usable(kind, &token).await?)
}

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
    use crate::session::{redirect, set_session_cookie, viewer};
    use shop::accounts::{AccountError, Viewer};
    let services = crate::services::services()?;
    let viewer = Viewer::require(viewer().as_ref())?.clone();
    match services
        .users
        .change_password(viewer.user_id, &current, &new)
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
    let page = i64::from(shop::input::parse_bounded(
        "page",
        page.as_deref(),
        1,
        1,
        10_000,
    )?);
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
pub async fn reorder(order: String) -> Result<(), crate::error::AppError> {
    use crate::session::{ensure_cart, redirect};
    use shop::accounts::Viewer;
    use shop::cart::{CartError, Quantity};
    use shop::orders::{OrderError, OrderId};
    let services = crate::services::services()?;
    let viewer = Viewer::require(crate::session::viewer().as_ref())?.clone();
    let id = OrderId::parse(&order).map_err(|_| OrderError::NotFound)?;
    // Another account's order looks like no order at all.
    if services.orders.owner(&id).await? != Some(viewer.user_id) {
        return Err(OrderError::NotFound.into());
    }
    let order = services.orders.get(&id).await?;
    let cart = ensure_cart(&services).await?;
    let now = services.clock.now();
    let mut short = 0;
    for line in &order.lines {
        let Ok(quantity) = Quantity::new(line.quantity.min(Quantity::MAX)) else {
            continue;
        };
        match services
            .carts
            .add(&cart, &line.sku, quantity, None, now)
            .await
        {
            Ok(_) => {}
            Err(
                CartError::InsufficientStock { .. }
                | CartError::TooMany { .. }
                | CartError::UnknownSku(_)
                | CartError::MixedCurrency { .. },
            ) => short += 1,
            Err(e) => return Err(e.into()),
        }
    }
    redirect(&format!("/cart?reordered={}&short={short}", order.id));
    Ok(())
}

fn sign_in_error(code: &str, minutes: Option<String>) -> String {
    match code {
        "credentials" => "That e-mail and password don't match an account.".into(),
        "throttled" => format!(
            "Too many attempts. Please wait {} minute(s) and try again.",
            minutes.unwrap_or_else(|| "a few".into())
        ),
        _ => "Something went wrong; please try again.".into(),
    }
}

#[component]
pub fn SignInRoute() -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let query = use_query_map();
    let error = move || {
        let q = query.read();
        q.get("error").map(|c| sign_in_error(&c, q.get("minutes")))
    };
    let signed_out = move || query.read().get("signed_out").is_some();
    let next = move || query.read().get("next").unwrap_or_default();
    view! {
        <Title text="Sign in"/>
        <section class="account-form">
            <h1>"Sign in"</h1>
            <Show when=signed_out>
                <p class="notice" role="status">"You're signed out."</p>
            </Show>
            {move || error().map(|e| view! { <p class="notice error" role="alert" data-testid="sign-in-error">{e}</p> })}
            <ActionForm action attr:class="stacked-form">
                <CsrfField/>
                <input type="hidden" name="next" value=next/>
                <label>"E-mail" <input type="email" name="email" required maxlength="254" autocomplete="username"/></label>
                <label>"Password" <input type="password" name="password" required maxlength="128" autocomplete="current-password"/></label>
                <button type="submit">"Sign in"</button>
            </ActionForm>
            <p><A href="/account/reset">"Forgotten your password?"</A></p>
            <p>"New here? " <A href="/account/sign-up">"Create an account"</A></p>
        </section>
    }
}

fn sign_up_error(code: &str) -> &'static str {
    match code {
        "email" => "Please enter an e-mail address such as ana@example.com.",
        "password" => "Please choose a password of 10 to 128 characters.",
        "expired" => {
            "That link has expired or has already been used. Sign in, or sign up again for a new link."
        }
        _ => "Something went wrong; please try again.",
    }
}

#[component]
pub fn SignUpRoute() -> impl IntoView {
    let action = ServerAction::<SignUp>::new();
    let query = use_query_map();
    let error = move || query.read().get("error").map(|c| sign_up_error(&c));
    let sent = move || query.read().get("sent").is_some();
    view! {
        <Title text="Create an account"/>
        <section class="account-form">
            <h1>"Create an account"</h1>
            <Show when=sent fallback=move || view! {
                {move || error().map(|e| view! { <p class="notice error" role="alert" data-testid="sign-up-error">{e}</p> })}
                <ActionForm action attr:class="stacked-form">
                    <CsrfField/>
                    <label>"E-mail" <input type="email" name="email" required maxlength="254" autocomplete="username"/></label>
                    <label>
                        "Password (at least 10 characters)"
                        <input type="password" name="password" required minlength="10" maxlength="128" autocomplete="new-password"/>
                    </label>
                    <button type="submit">"Create account"</button>
                </ActionForm>
            }>
                <p class="notice" role="status" data-testid="sign-up-sent">
                    "Check your inbox: we've sent you a link to finish creating your account. "
                    "If this address already has an account, the message says so instead."
                </p>
            </Show>
            <p>"Have an account? " <A href="/account/sign-in">"Sign in"</A></p>
        </section>
    }
}

/// The page a sign-up link opens. Opening it changes nothing (mail scanners open links);
/// the button does.
#[component]
pub fn ConfirmRoute() -> impl IntoView {
    let params = leptos_router::hooks::use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let usable = Resource::new(token, |t| link_usable("sign_up".into(), t));
    let action = ServerAction::<ConfirmSignUp>::new();
    view! {
        <Title text="Finish creating your account"/>
        <section class="account-form">
            <h1>"Finish creating your account"</h1>
            <Suspense fallback=|| view! { <p class="loading">"Checking your link…"</p> }>
                {move || Suspend::new(async move {
                    if usable.await.unwrap_or(false) {
                        view! {
                            <ActionForm action attr:class="stacked-form">
                                <CsrfField/>
                                <input type="hidden" name="token" value=token/>
                                <button type="submit">"Create my account"</button>
                            </ActionForm>
                        }.into_any()
                    } else {
                        view! { <ExpiredLink again="/account/sign-up"/> }.into_any()
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn ExpiredLink(again: &'static str) -> impl IntoView {
    view! {
        <p class="notice error" role="alert" data-testid="link-expired">
            "This link has expired or has already been used."
        </p>
        <p><A href=again>"Ask for a new one"</A> " or " <A href="/account/sign-in">"sign in"</A> "."</p>
    }
}

fn reset_error(code: &str) -> &'static str {
    match code {
        "email" => "Please enter an e-mail address such as ana@example.com.",
        "expired" => "That link has expired or has already been used. Ask for a new one below.",
        _ => "Something went wrong; please try again.",
    }
}

/// "Forgotten your password?": asks for the address and mails a link.
#[component]
pub fn ResetRequestRoute() -> impl IntoView {
    let action = ServerAction::<RequestReset>::new();
    let query = use_query_map();
    let error = move || query.read().get("error").map(|c| reset_error(&c));
    let sent = move || query.read().get("sent").is_some();
    view! {
        <Title text="Reset your password"/>
        <section class="account-form">
            <h1>"Reset your password"</h1>
            <Show when=sent fallback=move || view! {
                {move || error().map(|e| view! { <p class="notice error" role="alert" data-testid="reset-error">{e}</p> })}
                <p>"Enter your account's e-mail address and we'll send you a link to choose a new password."</p>
                <ActionForm action attr:class="stacked-form">
                    <CsrfField/>
                    <label>"E-mail" <input type="email" name="email" required maxlength="254" autocomplete="username"/></label>
                    <button type="submit">"Send me a link"</button>
                </ActionForm>
            }>
                <p class="notice" role="status" data-testid="reset-sent">
                    "If that address has an account, we've sent it a link to choose a new password. "
                    "The link works once, for an hour."
                </p>
            </Show>
            <p><A href="/account/sign-in">"Back to sign in"</A></p>
        </section>
    }
}

/// The page a reset link opens: a new password, which signs out every other session.
#[component]
pub fn ResetRoute() -> impl IntoView {
    let params = leptos_router::hooks::use_params_map();
    let query = use_query_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let usable = Resource::new(token, |t| link_usable("reset".into(), t));
    let weak = move || query.read().get("error").is_some();
    let action = ServerAction::<FinishReset>::new();
    view! {
        <Title text="Choose a new password"/>
        <section class="account-form">
            <h1>"Choose a new password"</h1>
            <Suspense fallback=|| view! { <p class="loading">"Checking your link…"</p> }>
                {move || Suspend::new(async move {
                    if usable.await.unwrap_or(false) {
                        view! {
                            <Show when=weak>
                                <p class="notice error" role="alert" data-testid="reset-error">
                                    "Please choose a password of 10 to 128 characters."
                                </p>
                            </Show>
                            <ActionForm action attr:class="stacked-form">
                                <CsrfField/>
                                <input type="hidden" name="token" value=token/>
                                <label>
                                    "New password (at least 10 characters)"
                                    <input type="password" name="new" required minlength="10" maxlength="128" autocomplete="new-password"/>
                                </label>
                                <button type="submit">"Save new password"</button>
                            </ActionForm>
                        }.into_any()
                    } else {
                        view! { <ExpiredLink again="/account/reset"/> }.into_any()
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
pub fn AccountRoute() -> impl IntoView {
    let query = use_query_map();
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
            _ => (
                "notice error",
                "Please choose a new password of 10 to 128 characters.",
            ),
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
                            <p>"Please " <A href="/account/sign-in?next=/account">"sign in"</A> " to see your account and orders."</p>
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
                    <td><A href=href>{label}</A></td>
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

/// The CSRF form token, for browsers that send neither `Origin` nor `Sec-Fetch-Site` (see
/// `server::web::csrf`). Rendered on the server; the hydrated page keeps the server's value.
#[component]
pub fn CsrfField() -> impl IntoView {
    #[cfg(feature = "ssr")]
    let token = crate::session::csrf_token().unwrap_or_default();
    #[cfg(not(feature = "ssr"))]
    let token = String::new();
    view! { <input type="hidden" name="csrf_token" value=token/> }
}
