//! `/account/security`: two-step sign-in for seller and admin accounts. Setting it up shows a
//! QR code (an SVG drawn on the server: no script needed) and the same secret as text; it is
//! turned on only by a code from the app, so a mistyped set-up locks nobody out. The ten
//! recovery codes are shown once, right after they are made. Turning it off, or making new
//! recovery codes, asks for a current code.

use super::CsrfField;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};
use shop::accounts::Role;

/// What the page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SecurityPage {
    pub role: Role,
    pub enabled: bool,
    pub recovery_codes_left: i64,
    /// While two-step sign-in is off: what to put in the app.
    pub setup: Option<Setup>,
    /// Recovery codes just made, shown this once.
    pub fresh_codes: Vec<String>,
}

/// A set-up in progress: the secret as text, and as a QR code.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Setup {
    pub secret: String,
    pub qr_svg: String,
}

/// The signed-in seller or admin (two-step sign-in is theirs; shoppers' pages are as they were).
#[cfg(feature = "ssr")]
fn holder() -> Result<shop::accounts::Viewer, AppError> {
    Ok(shop::accounts::Viewer::require_seller_or_admin(crate::session::viewer().as_ref())?.clone())
}

/// `uri` as a QR code an authenticator app can scan, in SVG.
#[cfg(feature = "ssr")]
fn qr_svg(uri: &str) -> String {
    use qrcode::render::svg;
    qrcode::QrCode::new(uri.as_bytes())
        .map(|code| code.render::<svg::Color>().min_dimensions(200, 200).build())
        .unwrap_or_default()
}

#[server(prefix = "/rpc", endpoint = "account/security/load")]
pub async fn load_security() -> Result<SecurityPage, AppError> {
    let services = crate::services::services()?;
    let viewer = holder()?;
    let factors = services.users.second_factors();
    let status = factors.status(viewer.user_id).await?;
    let setup = match status.enabled {
        true => None,
        false => factors
            .begin(viewer.user_id, &viewer.email)
            .await?
            .map(|e| Setup {
                qr_svg: qr_svg(&e.uri),
                secret: e.secret,
            }),
    };
    Ok(SecurityPage {
        role: viewer.role,
        enabled: status.enabled,
        recovery_codes_left: status.recovery_codes_left,
        setup,
        fresh_codes: crate::session::take_fresh_codes(services.secure_cookies),
    })
}

/// Turns two-step sign-in on with a code from the app just set up.
#[server(prefix = "/rpc", endpoint = "account/security/enable")]
pub async fn enable_two_step(code: String) -> Result<(), AppError> {
    use crate::session::{redirect, set_fresh_codes_cookie};
    let services = crate::services::services()?;
    let viewer = holder()?;
    match services
        .users
        .second_factors()
        .enable(viewer.user_id, &code)
        .await?
    {
        Some(codes) => {
            set_fresh_codes_cookie(&codes, services.secure_cookies);
            redirect("/account/security?done=enabled");
        }
        None => redirect("/account/security?error=code"),
    }
    Ok(())
}

/// Turns two-step sign-in off (`off` set) or makes new recovery codes, after a current code.
#[server(prefix = "/rpc", endpoint = "account/security/change")]
pub async fn change_two_step(code: String, off: Option<String>) -> Result<(), AppError> {
    use crate::session::{redirect, set_fresh_codes_cookie, visit};
    use shop::accounts::AccountError;
    let services = crate::services::services()?;
    let viewer = holder()?;
    let address = visit().address;
    let users = &services.users;
    let done = match off {
        Some(_) => users
            .turn_off_second_factor(viewer.user_id, &code, &address)
            .await
            .map(|()| "disabled"),
        None => users
            .new_recovery_codes(viewer.user_id, &code, &address)
            .await
            .map(|codes| {
                set_fresh_codes_cookie(&codes, services.secure_cookies);
                "renewed"
            }),
    };
    match done {
        Ok(done) => redirect(&format!("/account/security?done={done}")),
        Err(AccountError::WrongCode) => redirect("/account/security?error=code"),
        Err(AccountError::Throttled { .. }) => redirect("/account/security?error=throttled"),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

fn notice(done: Option<String>, error: Option<String>) -> Option<(&'static str, &'static str)> {
    if let Some(error) = error {
        return Some(match error.as_str() {
            "throttled" => (
                "notice error",
                "Too many wrong codes: please wait a little and try again.",
            ),
            _ => (
                "notice error",
                "That code wasn't right (or was already used); nothing changed. Please enter the one your app shows now.",
            ),
        });
    }
    done.map(|done| match done.as_str() {
        "enabled" => ("notice", "Two-step sign-in is on."),
        "disabled" => ("notice", "Two-step sign-in is off."),
        _ => (
            "notice",
            "New recovery codes made; the old ones no longer work.",
        ),
    })
}

#[component]
pub fn SecurityRoute() -> impl IntoView {
    let query = crate::route::query_map();
    // Every outcome comes back as a new query string: each loads the page again (a code used
    // up, recovery codes just made).
    let page = Resource::new(
        move || {
            let q = query.read();
            (q.get("done"), q.get("error"))
        },
        |_| load_security(),
    );
    view! {
        <Title text="Two-step sign-in"/>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) => {
                        let q = query.read();
                        let notice = notice(q.get("done"), q.get("error"));
                        view! { <SecurityView page notice/> }.into_any()
                    }
                    Err(error) => super::sign_in_or_error(
                        error,
                        "Two-step sign-in",
                        "/account/security",
                        "your seller or admin account",
                    ),
                }
            })}
        </Transition>
    }
}

#[component]
fn SecurityView(page: SecurityPage, notice: Option<(&'static str, &'static str)>) -> impl IntoView {
    let admin_without = page.role == Role::Admin && !page.enabled;
    let codes = (!page.fresh_codes.is_empty()).then(|| {
        let codes = page
            .fresh_codes
            .iter()
            .map(|c| view! { <li><code>{c.clone()}</code></li> })
            .collect_view();
        view! {
            <div class="notice" data-testid="recovery-codes">
                <p><strong>"Your recovery codes."</strong> " Keep them somewhere safe, away from your phone: each signs you in once if you lose it. They are shown only this once."</p>
                <ul>{codes}</ul>
            </div>
        }
    });
    view! {
        <section class="account-form">
            <h1>"Two-step sign-in"</h1>
            {notice.map(|(class, text)| view! { <p class=class role="status" data-testid="security-notice">{text}</p> })}
            {admin_without.then(|| view! {
                <p class="notice error" role="alert" data-testid="admin-needs-factor">
                    "An admin account needs two-step sign-in before it can use the admin pages: a stolen or guessed password alone must not open the whole shop. Setting it up takes a minute."
                </p>
            })}
            {codes}
            {match (page.enabled, page.setup) {
                (true, _) => view! { <Enabled left=page.recovery_codes_left/> }.into_any(),
                (false, Some(setup)) => view! { <SetUp setup/> }.into_any(),
                (false, None) => view! { <p>"Please reload this page."</p> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn SetUp(setup: Setup) -> impl IntoView {
    let enable = ServerAction::<EnableTwoStep>::new();
    view! {
        <p>"Two-step sign-in asks for a code from an authenticator app on your phone after your password, so a password alone no longer opens your account."</p>
        <ol>
            <li>
                "Scan this QR code with your authenticator app:"
                <div class="qr-code" data-testid="totp-qr" inner_html=setup.qr_svg></div>
                "or type this key into it: " <code data-testid="totp-secret">{setup.secret}</code>
            </li>
            <li>"Enter the 6-digit code the app shows, to prove it is set up right:"</li>
        </ol>
        <ActionForm action=enable attr:class="stacked-form">
            <CsrfField/>
            <label>"Code from your app" <input type="text" name="code" required maxlength="32" inputmode="numeric" autocomplete="one-time-code"/></label>
            <button type="submit">"Turn on two-step sign-in"</button>
        </ActionForm>
    }
}

#[component]
fn Enabled(left: i64) -> impl IntoView {
    let renew = ServerAction::<ChangeTwoStep>::new();
    let off = ServerAction::<ChangeTwoStep>::new();
    view! {
        <p data-testid="two-step-on">"Two-step sign-in is on. " {left} " recovery codes left."</p>
        <h2>"New recovery codes"</h2>
        <ActionForm action=renew attr:class="stacked-form">
            <CsrfField/>
            <label>"Code for new recovery codes" <input type="text" name="code" required maxlength="32" inputmode="numeric" autocomplete="one-time-code"/></label>
            <button type="submit" class="secondary">"Make new recovery codes"</button>
        </ActionForm>
        <h2>"Turn it off"</h2>
        <ActionForm action=off attr:class="stacked-form">
            <CsrfField/>
            <input type="hidden" name="off" value="1"/>
            <label>"Code to turn it off" <input type="text" name="code" required maxlength="32" inputmode="numeric" autocomplete="one-time-code"/></label>
            <button type="submit" class="secondary">"Turn off two-step sign-in"</button>
        </ActionForm>
    }
}
