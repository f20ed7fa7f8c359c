//! Creating an account: the sign-up form (`/account/sign-up`, the address only), then the
//! page its mailed link opens (`/account/confirm/{token}`), which asks for the password. The
//! password is chosen only by whoever reads the mail: a password typed with the address
//! would let anyone register someone else's address with a password of their own choosing.

use super::{CsrfField, ExpiredLink, link_usable};
use leptos::prelude::*;
use leptos_meta::Title;

/// Starts a sign-up: the address is checked here (a malformed one is nobody's secret), then
/// the rest runs off the request and the answer is always "check your inbox", whether or not
/// the address has an account (see `shop::accounts::links`).
#[server(prefix = "/rpc", endpoint = "account/sign-up")]
pub async fn sign_up(email: String) -> Result<(), crate::error::AppError> {
    use crate::session::redirect;
    let services = crate::services::services()?;
    match shop::checkout::Email::parse(&email) {
        Ok(email) => {
            let links = services.links.clone();
            tokio::spawn(async move {
                if let Err(e) = links.request_sign_up(&email).await {
                    tracing::error!(error = %e, "sign-up mail not queued");
                }
            });
            redirect("/account/sign-up?sent=1");
        }
        // The address comes back in the form as typed (bounded; the page only ever puts it
        // in the field's value).
        Err(_) => {
            let typed: String = email.chars().take(254).collect();
            let typed: String = url::form_urlencoded::byte_serialize(typed.as_bytes()).collect();
            redirect(&format!("/account/sign-up?error=email&email={typed}"));
        }
    }
    Ok(())
}

/// Creates the account a mailed sign-up link stands for, with the password chosen on the
/// link's page, and signs it in.
#[server(prefix = "/rpc", endpoint = "account/confirm")]
pub async fn confirm_sign_up(
    token: String,
    password: String,
) -> Result<(), crate::error::AppError> {
    use crate::session::redirect;
    use shop::accounts::LinkError;
    let services = crate::services::services()?;
    match services.links.confirm_sign_up(&token, &password).await {
        Ok(viewer) => {
            super::start_session(&services, &viewer, Some("/account?welcome=1".into())).await
        }
        Err(LinkError::Invalid(_)) => {
            super::redirect_weak("/account/confirm/", &token);
            Ok(())
        }
        Err(LinkError::Expired) => {
            redirect("/account/sign-up?error=expired");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

fn sign_up_error(code: &str) -> &'static str {
    match code {
        "email" => "Please enter an e-mail address such as ana@example.com.",
        "expired" => {
            "That link has expired or has already been used. Sign in, or sign up again for a new link."
        }
        _ => "Something went wrong; please try again.",
    }
}

#[component]
pub fn SignUpRoute() -> impl IntoView {
    let action = ServerAction::<SignUp>::new();
    let query = crate::route::query_map();
    let error = move || query.read().get("error").map(|c| sign_up_error(&c));
    let sent = move || query.read().get("sent").is_some();
    // With JavaScript the page is not loaded again (no `autofocus`): the cursor is put back.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        use leptos::wasm_bindgen::JsCast;
        if error().is_some()
            && let Some(input) = document()
                .get_element_by_id("sign-up-email")
                .and_then(|e| e.dyn_into::<leptos::web_sys::HtmlElement>().ok())
        {
            let _ = input.focus();
        }
    });
    // What was typed, when it came back wrong.
    let typed = move || {
        query
            .read()
            .get("email")
            .map(|e| e.chars().take(254).collect::<String>())
            .unwrap_or_default()
    };
    view! {
        <Title text="Create an account"/>
        <section class="account-form">
            <h1>"Create an account"</h1>
            <Show when=sent fallback=move || view! {
                {move || error().map(|e| view! { <p class="notice error" role="alert" data-testid="sign-up-error">{e}</p> })}
                <ActionForm action attr:class="stacked-form">
                    <CsrfField/>
                    <label>"E-mail" <input type="email" name="email" required maxlength="254" autocomplete="username" id="sign-up-email" value=typed autofocus=move || error().is_some()/></label>
                    <p class="muted">"We'll mail you a link; you choose your password on its page."</p>
                    <button type="submit">"Create account"</button>
                </ActionForm>
            }>
                <p class="notice" role="status" data-testid="sign-up-sent">
                    "Check your inbox: we've sent you a link to finish creating your account. "
                    "If this address already has an account, the message says so instead."
                </p>
            </Show>
            <p>"Have an account? " <a href="/account/sign-in">"Sign in"</a></p>
        </section>
    }
}

/// The page a sign-up link opens: the password for the new account. Opening it changes
/// nothing (mail scanners open links); the button does.
#[component]
pub fn ConfirmRoute() -> impl IntoView {
    let params = crate::route::params_map();
    let query = crate::route::query_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let usable = Resource::new(token, |t| link_usable("sign_up".into(), t));
    let weak = move || query.read().get("error").is_some();
    let action = ServerAction::<ConfirmSignUp>::new();
    view! {
        <Title text="Finish creating your account"/>
        <section class="account-form">
            <h1>"Finish creating your account"</h1>
            <Suspense fallback=|| view! { <p class="loading">"Checking your link…"</p> }>
                {move || Suspend::new(async move {
                    if usable.await.unwrap_or(false) {
                        view! {
                            <Show when=weak>
                                <p class="notice error" role="alert" data-testid="sign-up-error">
                                    {super::WEAK_PASSWORD}
                                </p>
                            </Show>
                            <ActionForm action attr:class="stacked-form">
                                <CsrfField/>
                                <input type="hidden" name="token" value=token/>
                                <label>
                                    "Choose a password (at least 10 characters)"
                                    <input type="password" name="password" required minlength="10" maxlength="128" autocomplete="new-password"/>
                                </label>
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
