//! The sign-in pages: the password (`/account/sign-in`), then, for an account with a second
//! factor, the code (`/account/sign-in/code`). Between the two, the browser holds only the
//! pending sign-in's cookie, which is no session.

use super::CsrfField;
use leptos::prelude::*;
use leptos_meta::Title;

#[server(prefix = "/rpc", endpoint = "account/sign-in")]
pub async fn sign_in(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<(), crate::error::AppError> {
    use crate::session::{redirect, set_pending_cookie, visit};
    use shop::accounts::AccountError;
    let services = crate::services::services()?;
    let next = super::local_path(next.as_deref());
    let address = visit().address;
    match services.users.sign_in(&email, &password, &address).await {
        Ok(viewer) => super::start_session(&services, &viewer, next).await,
        Err(AccountError::SecondFactorNeeded(pending)) => {
            set_pending_cookie(&pending, services.secure_cookies);
            redirect(&code_page(next.as_deref(), &[]));
            Ok(())
        }
        Err(AccountError::WrongCredentials) => {
            redirect("/account/sign-in?error=credentials");
            Ok(())
        }
        Err(AccountError::Throttled { retry_after_secs }) => {
            redirect(&format!(
                "/account/sign-in?error=throttled&seconds={retry_after_secs}"
            ));
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// The code page's address, keeping `next` (a local path, which may hold `?` and `&`) and
/// adding `extra` (an error and its details) to its query string.
#[cfg(feature = "ssr")]
fn code_page(next: Option<&str>, extra: &[(&str, &str)]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.extend_pairs(extra.iter().copied());
    if let Some(next) = next {
        query.append_pair("next", next);
    }
    format!("/account/sign-in/code?{}", query.finish())
}

/// The second step: a code from the authenticator app, or a recovery code, for the sign-in
/// whose password was right (its cookie says which).
#[server(prefix = "/rpc", endpoint = "account/sign-in-code")]
pub async fn sign_in_code(
    code: String,
    next: Option<String>,
) -> Result<(), crate::error::AppError> {
    use crate::session::{PENDING_COOKIE, clear_cookie, pending_from_cookie, redirect, visit};
    use shop::accounts::AccountError;
    let services = crate::services::services()?;
    let next = super::local_path(next.as_deref());
    let Some(pending) = pending_from_cookie() else {
        redirect("/account/sign-in?error=expired");
        return Ok(());
    };
    match services
        .users
        .finish_sign_in(&pending, &code, &visit().address)
        .await
    {
        Ok(viewer) => {
            clear_cookie(PENDING_COOKIE, services.secure_cookies);
            super::start_session(&services, &viewer, next).await
        }
        Err(AccountError::WrongCode) => {
            redirect(&code_page(next.as_deref(), &[("error", "code")]));
            Ok(())
        }
        Err(AccountError::Throttled { retry_after_secs }) => {
            let seconds = retry_after_secs.to_string();
            redirect(&code_page(
                next.as_deref(),
                &[("error", "throttled"), ("seconds", &seconds)],
            ));
            Ok(())
        }
        Err(AccountError::SignInExpired) => {
            clear_cookie(PENDING_COOKIE, services.secure_cookies);
            redirect("/account/sign-in?error=expired");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

fn sign_in_error(code: &str, seconds: Option<String>) -> String {
    match code {
        "credentials" => "That e-mail and password don't match an account.".into(),
        "code" => "That code isn't right, or it has already been used. Please enter the one your app shows now.".into(),
        "expired" => "That sign-in waited too long for its code. Please enter your password again.".into(),
        "throttled" => format!(
            "Too many attempts. Please wait {} and try again.",
            seconds
                .and_then(|s| s.parse().ok())
                .map(shop::accounts::wait_in_words)
                .unwrap_or_else(|| "a moment".into())
        ),
        _ => "Something went wrong; please try again.".into(),
    }
}

/// The query's error, as a sentence, for either page.
fn error_notice() -> impl Fn() -> Option<String> + Copy {
    let query = crate::route::query_map();
    move || {
        let q = query.read();
        q.get("error").map(|c| sign_in_error(&c, q.get("seconds")))
    }
}

#[component]
pub fn SignInRoute() -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let query = crate::route::query_map();
    let error = error_notice();
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
            <p><a href="/account/reset">"Forgotten your password?"</a></p>
            <p>"New here? " <a href="/account/sign-up">"Create an account"</a></p>
        </section>
    }
}

#[component]
pub fn SignInCodeRoute() -> impl IntoView {
    let action = ServerAction::<SignInCode>::new();
    let query = crate::route::query_map();
    let error = error_notice();
    let next = move || query.read().get("next").unwrap_or_default();
    view! {
        <Title text="Two-step sign-in"/>
        <section class="account-form">
            <h1>"Two-step sign-in"</h1>
            {move || error().map(|e| view! { <p class="notice error" role="alert" data-testid="sign-in-error">{e}</p> })}
            <p>"Your password was right. Now enter the 6-digit code your authenticator app shows for this shop."</p>
            <ActionForm action attr:class="stacked-form">
                <CsrfField/>
                <input type="hidden" name="next" value=next/>
                <label>"Code" <input type="text" name="code" required maxlength="32" inputmode="numeric" autocomplete="one-time-code" autofocus/></label>
                <button type="submit">"Finish signing in"</button>
            </ActionForm>
            <p class="muted">"Lost your phone? Enter one of your recovery codes instead; each works once."</p>
            <p><a href="/account/sign-in">"Start again"</a></p>
        </section>
    }
}
