//! The sign-in page (`/account/sign-in`).

use super::CsrfField;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

#[server(prefix = "/rpc", endpoint = "account/sign-in")]
pub async fn sign_in(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<(), crate::error::AppError> {
    use crate::session::{redirect, visit};
    use shop::accounts::AccountError;
    let services = crate::services::services()?;
    let next = super::local_path(next.as_deref());
    let address = visit().address;
    match services.users.sign_in(&email, &password, &address).await {
        Ok(viewer) => super::start_session(&services, &viewer, next).await,
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

fn sign_in_error(code: &str, seconds: Option<String>) -> String {
    match code {
        "credentials" => "That e-mail and password don't match an account.".into(),
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

#[component]
pub fn SignInRoute() -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let query = use_query_map();
    let error = move || {
        let q = query.read();
        q.get("error").map(|c| sign_in_error(&c, q.get("seconds")))
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
