//! The one error type at the UI's HTTP boundary, and the pages that show it.
//!
//! Business errors from `shop` become a plain sentence for the shopper and the right status;
//! anything unexpected is logged once, here, with its detail, and the shopper sees only that
//! something went wrong on our side.

use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use leptos_router::components::A;
use serde::{Deserialize, Serialize};

/// What a server function can fail with, as the page (and the wire) sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// The thing asked for does not exist: 404.
    #[error("{0}")]
    NotFound(String),
    /// The request itself is wrong (a malformed page number, say): 400.
    #[error("{0}")]
    BadRequest(String),
    /// The page or action needs a signed-in account: 401.
    #[error("Please sign in to continue.")]
    SignInRequired,
    /// Signed in, but this is not theirs to see or change: 403.
    #[error("You don't have access to this.")]
    Forbidden,
    /// A dependency is down or overloaded; trying again later may work: 503.
    #[error("This part of the shop is unavailable right now. Please try again in a moment.")]
    Unavailable,
    /// A bug or an unexpected failure, already logged on the server: 500.
    #[error("Something went wrong on our side. Please try again in a moment.")]
    Internal,
}

impl AppError {
    pub fn status(&self) -> u16 {
        match self {
            AppError::NotFound(_) => 404,
            AppError::BadRequest(_) => 400,
            AppError::SignInRequired => 401,
            AppError::Forbidden => 403,
            AppError::Unavailable => 503,
            AppError::Internal => 500,
        }
    }

    fn title(&self) -> &'static str {
        match self {
            AppError::NotFound(_) => "Page not found",
            AppError::BadRequest(_) => "That request didn't look right",
            AppError::SignInRequired => "Please sign in",
            AppError::Forbidden => "Not available to you",
            AppError::Unavailable => "Temporarily unavailable",
            AppError::Internal => "Something went wrong",
        }
    }
}

impl AppError {
    /// An unexpected failure of `what`: logged once, here, with its detail; the shopper sees
    /// only that something went wrong on our side.
    #[cfg(feature = "ssr")]
    pub fn internal(what: &str, e: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %e, "{what} failed");
        AppError::Internal
    }
}

impl From<shop::InvalidInput> for AppError {
    fn from(e: shop::InvalidInput) -> Self {
        AppError::BadRequest(format!("The {} {}.", e.field.replace('_', " "), e.message))
    }
}

impl From<shop::accounts::Denied> for AppError {
    fn from(e: shop::accounts::Denied) -> Self {
        match e {
            shop::accounts::Denied::SignInRequired => AppError::SignInRequired,
            shop::accounts::Denied::Forbidden => AppError::Forbidden,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => {
                AppError::BadRequest("The request was missing something or malformed.".into())
            }
            // The browser could not reach us, or could not read our answer.
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Deserialization(_) => {
                AppError::Unavailable
            }
            _ => AppError::Internal,
        }
    }
}

#[cfg(feature = "ssr")]
mod from_shop {
    use super::AppError;
    use shop::catalog::CatalogError;

    impl From<CatalogError> for AppError {
        fn from(e: CatalogError) -> Self {
            match e {
                CatalogError::ProductNotFound => {
                    AppError::NotFound("We couldn't find that product.".into())
                }
                CatalogError::CategoryNotFound => {
                    AppError::NotFound("We couldn't find that category.".into())
                }
                CatalogError::Database(ref db) if shop::db::is_unavailable(db) => {
                    tracing::warn!(error = %e, "database unavailable");
                    AppError::Unavailable
                }
                other => {
                    tracing::error!(error = %other, "catalog read failed");
                    AppError::Internal
                }
            }
        }
    }

    impl From<shop::cart::CartError> for AppError {
        fn from(e: shop::cart::CartError) -> Self {
            use shop::cart::CartError::*;
            match e {
                CartNotFound => AppError::NotFound("We couldn't find that cart.".into()),
                UnknownSku(_) => AppError::NotFound("We couldn't find that product.".into()),
                InsufficientStock { available, .. } => {
                    AppError::BadRequest(format!("Only {available} left in stock."))
                }
                TooMany { .. } => AppError::BadRequest("At most 99 of an item per order.".into()),
                MixedCurrency { .. } => AppError::BadRequest(
                    "That item is priced in another currency than your cart.".into(),
                ),
                Catalog(c) => c.into(),
                Database(ref db) if shop::db::is_unavailable(db) => AppError::Unavailable,
                Database(_) => {
                    tracing::error!(error = %e, "cart operation failed");
                    AppError::Internal
                }
            }
        }
    }

    impl From<shop::checkout::CheckoutError> for AppError {
        fn from(e: shop::checkout::CheckoutError) -> Self {
            use shop::checkout::CheckoutError::*;
            match e {
                KeyReused => AppError::BadRequest(
                    "This checkout form was already submitted with other details. Please start again from your cart.".into(),
                ),
                CartNotFound => AppError::NotFound("We couldn't find your cart.".into()),
                NotFound => AppError::NotFound("We couldn't find that checkout.".into()),
                Database(ref db) if shop::db::is_unavailable(db) => AppError::Unavailable,
                other => {
                    tracing::error!(error = %other, "checkout failed");
                    AppError::Internal
                }
            }
        }
    }

    impl From<shop::orders::OrderError> for AppError {
        fn from(e: shop::orders::OrderError) -> Self {
            match e {
                shop::orders::OrderError::NotFound => {
                    AppError::NotFound("We couldn't find that order.".into())
                }
                shop::orders::OrderError::Database(ref db) if shop::db::is_unavailable(db) => {
                    AppError::Unavailable
                }
                other => {
                    tracing::error!(error = %other, "order read failed");
                    AppError::Internal
                }
            }
        }
    }
}

/// Sets the HTTP status of the page being rendered on the server (a no-op in the browser).
pub fn set_status(status: u16) {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>()
        && let Ok(code) = http::StatusCode::from_u16(status)
    {
        response.set_status(code);
    }
    #[cfg(not(feature = "ssr"))]
    let _ = status;
}

/// A whole-page error: the right status, a title, a sentence and ways onward.
#[component]
pub fn ErrorPage(error: AppError) -> impl IntoView {
    set_status(error.status());
    let title = error.title();
    view! {
        <leptos_meta::Title text=title/>
        <section class="error-page" data-status=error.status()>
            <p class="error-code">{error.status()}</p>
            <h1>{title}</h1>
            <p class="lead">{error.to_string()}</p>
            <p class="actions">
                <A href="/" attr:class="button">"Go to the home page"</A>
            </p>
        </section>
    }
}

/// The page for any address the router does not know.
#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <ErrorPage error=AppError::NotFound(
            "There is no page at this address. It may have moved, or the link may be mistyped."
                .into(),
        )/>
    }
}
