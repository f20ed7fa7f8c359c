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

use crate::error::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
pub(crate) fn admin() -> Result<shop::accounts::Viewer, AppError> {
    Ok(shop::accounts::Viewer::require_admin(crate::session::viewer().as_ref())?.clone())
}

fn forbidden_or(error: AppError) -> AnyView {
    crate::accounts::sign_in_or_error(error, "Admin", "/admin", "an admin account")
}
