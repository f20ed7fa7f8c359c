//! Accounts in the shop's pages: sign up, sign in, sign out (here or everywhere), change
//! password, order history and "buy again". Like the cart, every form posts to a server
//! function that ends in a redirect, so each works without JavaScript; outcomes travel in the
//! query string.
//!
//! One file per page (`sign_in` with its second step, `sign_up` with its mailed link, `reset`
//! with its mailed link, `overview` for `/account` itself, `security` for two-step sign-in); here what they share: starting a session (and the cart
//! merge report it leaves), the mailed links' check, and the CSRF field every form carries.

mod addresses;
mod overview;
mod reset;
mod security;
mod sign_in;
mod sign_up;

pub use addresses::*;
pub use overview::*;
pub use reset::*;
pub use security::*;
pub use sign_in::*;
pub use sign_up::*;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use shop::accounts::Viewer;

/// Where sign-in may send the browser: a path of our own (`/orders?page=2`), never another
/// site. `next` comes from a query string, so it is hostile, and browsers are generous
/// readers: they drop tabs and newlines anywhere in a URL (`/\t/evil.example` becomes
/// `//evil.example`, another host), take `\\` for `/`, and strip leading spaces and controls.
/// So it is not cleaned but taken whole or not at all: it must start with one `/` (two start
/// a host) and hold only what a path and query hold unescaped (RFC 3986's unreserved
/// characters, sub-delimiters, `:`, `@`, `/`, `?`) or well-formed `%` escapes. Nothing a
/// browser rewrites can then be in it, and it is always a valid `Location` value.
pub fn local_path(next: Option<&str>) -> Option<String> {
    let next = next?;
    let bytes = next.as_bytes();
    let plain = |b: &u8| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?".contains(b);
    let mut rest = bytes.iter();
    let mut well_formed = true;
    while let Some(b) = rest.next() {
        well_formed &= plain(b)
            || (*b == b'%'
                && rest.next().is_some_and(u8::is_ascii_hexdigit)
                && rest.next().is_some_and(u8::is_ascii_hexdigit));
    }
    (well_formed
        && next.len() <= MAX_NEXT
        && bytes.first() == Some(&b'/')
        && bytes.get(1) != Some(&b'/'))
    .then(|| next.to_owned())
}

/// What a refused new password is told, wherever one is chosen (sign-up, reset, change).
pub const WEAK_PASSWORD: &str = "Please choose a password of 10 to 128 characters that is not too common or easy to guess: a few unrelated words make a good one.";

/// Sends the browser back to a mailed link's page (`page` + token) to choose another
/// password.
#[cfg(feature = "ssr")]
fn redirect_weak(page: &str, token: &str) {
    // Only a well-formed token gets here, so it is safe to put back in the URL.
    let token: String = token.chars().filter(char::is_ascii_hexdigit).collect();
    crate::session::redirect(&format!("{page}{token}?error=weak"));
}

/// The longest `next` followed (our own links are far shorter).
const MAX_NEXT: usize = 1024;

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
    if viewer.role == shop::accounts::Role::Admin && !viewer.second_factor {
        // An admin can do nothing admin without a second factor: straight to setting it up.
        redirect("/account/security?why=admin");
    } else if merged.is_empty() {
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

#[component]
fn ExpiredLink(again: &'static str) -> impl IntoView {
    view! {
        <p class="notice error" role="alert" data-testid="link-expired">
            "This link has expired or has already been used."
        </p>
        <p><a href=again>"Ask for a new one"</a> " or " <a href="/account/sign-in">"sign in"</a> "."</p>
    }
}

/// The CSRF form token, for browsers that send neither `Origin` nor `Sec-Fetch-Site` (see
/// `server::web::csrf`). Rendered on the server; the hydrated page keeps the server's value.
/// The page for a failed load of a signed-in area (`home`, titled `area`): a prompt to sign
/// in with `account` when no one is, else the error's own page.
pub(crate) fn sign_in_or_error(
    error: crate::error::AppError,
    area: &'static str,
    home: &'static str,
    account: &'static str,
) -> AnyView {
    if error.message == shop::accounts::ADMIN_NEEDS_SECOND_FACTOR {
        crate::error::set_status(403);
        return view! {
            <section>
                <h1>{area}</h1>
                <p class="notice error" role="alert" data-testid="admin-needs-factor">
                    "An admin account needs two-step sign-in before it can use these pages."
                </p>
                <p><a href="/account/security?why=admin">"Set up two-step sign-in"</a> " (it takes a minute)."</p>
            </section>
        }
        .into_any();
    }
    if error.kind != shop::FailureKind::SignInRequired {
        return view! { <crate::error::ErrorPage error/> }.into_any();
    }
    // The prompt is the page, with the status a monitor or crawler understands.
    crate::error::set_status(401);
    view! {
        <section>
            <h1>{area}</h1>
            <p>"Please " <a href=format!("/account/sign-in?next={home}")>"sign in"</a> " with " {account} "."</p>
        </section>
    }
    .into_any()
}

#[component]
pub fn CsrfField() -> impl IntoView {
    #[cfg(feature = "ssr")]
    let token = crate::session::csrf_token().unwrap_or_default();
    #[cfg(not(feature = "ssr"))]
    let token = String::new();
    view! { <input type="hidden" name="csrf_token" value=token/> }
}
