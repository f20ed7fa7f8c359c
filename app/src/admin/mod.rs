//! The admin pages: every order (with filters) and its refunds, returned items awaiting
//! inspection, the outbox's dead letters with replay, holds in place, coupons, and the health
//! of every component. Every server function here starts with `Viewer::require_admin`: the
//! pages are hidden from others, but the check that matters is this one.
//!
//! The admin is a role, not a context: its pages show several contexts at once. One file per
//! page (`overview` at `/admin`, `orders`, `order`); here the admin check and the sign-in
//! prompt they share. Coupons have their own module, `crate::coupons`, shown on the overview.

mod order;
mod orders;
mod overview;

pub use order::*;
pub use orders::*;
pub use overview::*;

use crate::error::{AppError, ErrorPage};
use leptos::prelude::*;
use leptos_router::components::A;

#[cfg(feature = "ssr")]
pub(crate) fn admin() -> Result<shop::accounts::Viewer, AppError> {
    Ok(shop::accounts::Viewer::require_admin(crate::session::viewer().as_ref())?.clone())
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
