//! A forgotten password: asking for a link (`/account/reset`), then the page the link opens
//! (`/account/reset/{token}`).

use super::{CsrfField, ExpiredLink, link_usable};
use leptos::prelude::*;
use leptos_meta::Title;

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
            super::start_session(&services, &viewer, Some("/account?password=reset".into())).await
        }
        Err(LinkError::Invalid(_)) => {
            super::redirect_weak("/account/reset/", &token);
            Ok(())
        }
        Err(LinkError::Expired) => {
            redirect("/account/reset?error=expired");
            Ok(())
        }
        Err(e) => Err(e.into()),
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
    let query = crate::route::query_map();
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
            <p><a href="/account/sign-in">"Back to sign in"</a></p>
        </section>
    }
}

/// The page a reset link opens: a new password, which signs out every other session.
#[component]
pub fn ResetRoute() -> impl IntoView {
    let params = crate::route::params_map();
    let query = crate::route::query_map();
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
                                    {super::WEAK_PASSWORD}
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
