//! One way to fail: every context's error says what kind of failure it is and what the person
//! (or the API client) may be told, and the boundaries — the pages and server functions in
//! `app`, the JSON API in `server` — turn any of them into an answer the same way.
//!
//! Invariants:
//! - The kind decides the HTTP status, at every boundary alike (`FailureKind::status`).
//! - A failure that knows when trying again will work (a throttled sign-in, a full hashing
//!   queue) says so (`Failure::retry_after`), and every boundary answers it with
//!   `Retry-After`.
//! - Nothing internal leaves the server: an `Internal` failure is always shown as the plain
//!   sentence of its kind, whatever its `public_message` says, and its detail is logged once,
//!   by `shown`, where the answer is made.
//! - A context error with a variant wrapping another failure (a database error, a catalog
//!   error) answers with that failure's kind and words, so the same cause reads the same
//!   wherever it surfaces.

use serde::{Deserialize, Serialize};

/// What kind of failure an error is. Each kind has one HTTP status and one API code (an error
/// can name a more precise code, `insufficient_stock` say, but not another status).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The request is malformed: a value that does not parse, a field out of range.
    Invalid,
    /// Who is asking is not known: not signed in, or credentials that match no account.
    SignInRequired,
    /// Signed in, but this is not theirs to see or change.
    Forbidden,
    /// The thing asked for does not exist (or is not the asker's, which looks the same).
    NotFound,
    /// Well-formed, but at odds with the state of things: too little stock, a code in use.
    Conflict,
    /// Well-formed, but a rule refuses it: an image that fails the checks, a feed that does
    /// not parse, a cart line in another currency, an idempotency key reused.
    Refused,
    /// Too many attempts in a short time; later will work.
    Throttled,
    /// Something we depend on is down or overloaded; trying again later may work.
    Unavailable,
    /// A bug or a failure nobody can act on: logged with its detail, shown as a plain
    /// sentence.
    Internal,
}

impl FailureKind {
    /// Every kind, in the order of their statuses (for whatever must cover them all: the
    /// boundary tests, a list of the API's error codes).
    pub const ALL: [FailureKind; 9] = [
        FailureKind::Invalid,
        FailureKind::SignInRequired,
        FailureKind::Forbidden,
        FailureKind::NotFound,
        FailureKind::Conflict,
        FailureKind::Refused,
        FailureKind::Throttled,
        FailureKind::Internal,
        FailureKind::Unavailable,
    ];

    /// The HTTP status every boundary answers this kind with.
    pub fn status(self) -> u16 {
        match self {
            FailureKind::Invalid => 400,
            FailureKind::SignInRequired => 401,
            FailureKind::Forbidden => 403,
            FailureKind::NotFound => 404,
            FailureKind::Conflict => 409,
            FailureKind::Refused => 422,
            FailureKind::Throttled => 429,
            FailureKind::Internal => 500,
            FailureKind::Unavailable => 503,
        }
    }

    /// The API's `error` code for a failure of this kind that names no code of its own.
    pub fn code(self) -> &'static str {
        match self {
            FailureKind::Invalid => "bad_request",
            FailureKind::SignInRequired => "unauthorized",
            FailureKind::Forbidden => "forbidden",
            FailureKind::NotFound => "not_found",
            FailureKind::Conflict => "conflict",
            FailureKind::Refused => "refused",
            FailureKind::Throttled => "throttled",
            FailureKind::Internal => "internal",
            FailureKind::Unavailable => "unavailable",
        }
    }

    /// The sentence for a failure of this kind that has nothing more precise to say (and the
    /// only one an `Internal` failure is ever shown with).
    pub fn plain_message(self) -> &'static str {
        match self {
            FailureKind::Invalid => "That request didn't look right.",
            FailureKind::SignInRequired => "Please sign in to continue.",
            FailureKind::Forbidden => "You don't have access to this.",
            FailureKind::NotFound => "We couldn't find that.",
            FailureKind::Conflict | FailureKind::Refused => "That couldn't be done.",
            FailureKind::Throttled => "Too many attempts. Please try again in a few minutes.",
            FailureKind::Internal => {
                "Something went wrong on our side. Please try again in a moment."
            }
            FailureKind::Unavailable => {
                "This part of the shop is unavailable right now. Please try again in a moment."
            }
        }
    }
}

/// An error that knows what kind of failure it is and what may be said about it. Implemented
/// by each context's error, beside it.
pub trait Failure: std::error::Error {
    /// What kind of failure this is.
    fn kind(&self) -> FailureKind;

    /// The API's `error` code: the kind's, unless this failure has a more precise one that
    /// clients branch on (`insufficient_stock`, `image_refused`).
    fn code(&self) -> &'static str {
        self.kind().code()
    }

    /// What the shopper or the API client may be told: a sentence they can act on, with no
    /// internal detail (`Display` is for the logs and may hold anything).
    fn public_message(&self) -> String {
        self.kind().plain_message().to_owned()
    }

    /// In how many seconds trying again may work, when this failure knows (`Retry-After`).
    fn retry_after(&self) -> Option<u64> {
        None
    }

    /// Field name → what is wrong with it, when the failure is about a form's fields (each
    /// shown beside its field on a page; `fields` in an API answer).
    fn fields(&self) -> Option<&crate::address::FieldErrors> {
        None
    }
}

/// A failure as a boundary shows it: its kind (hence its status), its code and its sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shown {
    pub kind: FailureKind,
    pub code: &'static str,
    pub message: String,
    /// Seconds until trying again may work, if the failure knows.
    pub retry_after: Option<u64>,
    pub fields: Option<crate::address::FieldErrors>,
}

/// What `failure` may show, with its detail logged here, once: an error for the unexpected,
/// a warning for an unavailable dependency (the on-call engineer sees the cause; the person
/// asking sees only the sentence).
#[cfg(feature = "server")]
pub fn shown(failure: &dyn Failure) -> Shown {
    let kind = failure.kind();
    let code = failure.code();
    match kind {
        FailureKind::Internal => tracing::error!(error = %detail(failure), code, "request failed"),
        FailureKind::Unavailable => {
            tracing::warn!(error = %detail(failure), code, "request failed: unavailable")
        }
        _ => {}
    }
    let message = match kind {
        FailureKind::Internal => kind.plain_message().to_owned(),
        _ => failure.public_message(),
    };
    Shown {
        kind,
        code,
        message,
        retry_after: failure.retry_after(),
        fields: failure.fields().cloned(),
    }
}

/// `failure` and the causes under it, `outer: inner: innermost`, each said once (an error's
/// message often repeats its cause's already).
#[cfg(feature = "server")]
fn detail(failure: &dyn Failure) -> String {
    let mut text = failure.to_string();
    let mut cause = failure.source();
    while let Some(e) = cause {
        let said = e.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        cause = e.source();
    }
    text
}
