//! The one error type at the UI's HTTP boundary, and the pages that show it.
//!
//! Every `shop` failure becomes an `AppError` the same way (`From<impl shop::Failure>`): its
//! kind decides the status, its public message is the sentence the shopper reads, and
//! anything unexpected is logged once, there, with its detail. The status goes out with the
//! answer where the answer is made: a failed server function's when its error is encoded
//! (`FromServerFnError::ser` below), a page's when `ErrorPage` renders.

use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use leptos::server_fn::{Bytes, Encodes};
use serde::{Deserialize, Serialize};
use shop::FailureKind;

/// What a server function can fail with, as the page (and the wire) sees it: what kind of
/// failure it is, and the sentence to show.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    pub kind: FailureKind,
    pub message: String,
    /// Seconds until trying again may work, when the failure knows (sent as `Retry-After`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl AppError {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            retry_after: None,
        }
    }

    /// A failure with nothing more to say than its kind's plain sentence.
    pub fn plain(kind: FailureKind) -> Self {
        Self::new(kind, kind.plain_message())
    }

    /// The request itself is wrong (a malformed page number, say): 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(FailureKind::Invalid, message)
    }

    /// The thing asked for does not exist: 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(FailureKind::NotFound, message)
    }

    pub fn status(&self) -> u16 {
        self.kind.status()
    }

    fn title(&self) -> &'static str {
        match self.kind {
            FailureKind::Invalid => "That request didn't look right",
            FailureKind::SignInRequired => "Please sign in",
            FailureKind::Forbidden => "Not available to you",
            FailureKind::NotFound => "Page not found",
            FailureKind::Conflict | FailureKind::Refused => "That couldn't be done",
            FailureKind::Throttled => "Too many attempts",
            FailureKind::Unavailable => "Temporarily unavailable",
            FailureKind::Internal => "Something went wrong",
        }
    }

    /// An unexpected failure of `what` that is no `shop` failure (a task that panicked):
    /// logged once, here, with its detail; the shopper sees only that something went wrong
    /// on our side.
    #[cfg(feature = "ssr")]
    pub fn internal(what: &str, e: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %e, "{what} failed");
        Self::plain(FailureKind::Internal)
    }
}

/// Any `shop` failure, shown as its kind and public message (see `shop::failure::shown`).
#[cfg(feature = "ssr")]
impl<E: shop::Failure> From<E> for AppError {
    fn from(failure: E) -> Self {
        let shown = shop::failure::shown(&failure);
        Self {
            retry_after: shown.retry_after,
            ..Self::new(shown.kind, shown.message)
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => {
                AppError::bad_request("The request was missing something or malformed.")
            }
            // The browser could not reach us, or could not read our answer.
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Deserialization(_) => {
                AppError::plain(FailureKind::Unavailable)
            }
            _ => AppError::plain(FailureKind::Internal),
        }
    }

    /// Where a failed server function's answer is made. `server_fn` encodes the error the
    /// function returned (or the one it made of a malformed request) with this, once, and
    /// answers 500 unless the request's `ResponseOptions` carry a status, which `leptos_axum`
    /// applies once the function has run. So the status is set here, from the error itself,
    /// for every server function alike. (In the browser, `set_status` does nothing.)
    fn ser(&self) -> Bytes {
        set_status(self.status());
        if let Some(seconds) = self.retry_after {
            set_retry_after(seconds);
        }
        // A kind and a string always serialize; were that ever to fail, the status still
        // says what happened.
        <JsonEncoding as Encodes<Self>>::encode(self).unwrap_or_default()
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

/// Tells the client when to try again (`Retry-After`, in seconds); a no-op in the browser.
fn set_retry_after(seconds: u64) {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.insert_header(http::header::RETRY_AFTER, http::HeaderValue::from(seconds));
    }
    #[cfg(not(feature = "ssr"))]
    let _ = seconds;
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
                <a href="/" class="button">"Go to the home page"</a>
            </p>
        </section>
    }
}

/// The page for any address the router does not know.
#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <ErrorPage error=AppError::not_found(
            "There is no page at this address. It may have moved, or the link may be mistyped.",
        )/>
    }
}
