//! Accounts: who is asking, and what they may touch.
//!
//! - `types`: roles and the signed-in viewer (wasm-safe: the pages show them).
//! - `password`: argon2id hashing on the blocking pool, a bounded number at a time behind a
//!   bounded line; what a new password must be.
//! - `users`: sign-up, sign-in, password changes, the `users create` bootstrap.
//! - `sessions`: database-backed sessions behind a 256-bit cookie token.
//! - `links`: mailed links that finish a sign-up or reset a password.
//! - `throttle`: failed password checks counted per account and per address, each past the
//!   free ones delaying the next try (never a lock).
//! - `second_factor`: admins' and sellers' authenticator codes (TOTP) and recovery codes,
//!   and the step between a right password and the code.
//! - `keys`: sellers' API keys.
//!
//! Authorization lives here too (`types::Viewer::require_*`), so every entry point (page,
//! server function, JSON route) asks the same question in the same place.

pub mod types;

#[cfg(feature = "server")]
pub mod addresses;

#[cfg(feature = "server")]
mod keys;
#[cfg(feature = "server")]
pub mod links;
#[cfg(feature = "server")]
pub mod password;
#[cfg(feature = "server")]
pub mod second_factor;
#[cfg(feature = "server")]
pub mod sessions;
#[cfg(feature = "server")]
pub mod throttle;
#[cfg(feature = "server")]
pub mod users;

#[cfg(feature = "server")]
pub use keys::{ApiKeys, KeyError};
#[cfg(feature = "server")]
pub use links::{AccountLinks, LinkError, LinkKind, Sent};
#[cfg(feature = "server")]
pub use password::{HashError, Hashing, HashingConfig};
#[cfg(feature = "server")]
pub use second_factor::{Enrolment, FactorStatus, PendingSignIn, SecondFactors};
#[cfg(feature = "server")]
pub use sessions::{SessionConfig, SessionToken, Sessions, Visit};
#[cfg(feature = "server")]
pub use throttle::{Throttle, ThrottleConfig};
pub use types::{ADMIN_NEEDS_SECOND_FACTOR, Denied, Role, UserId, Viewer, wait_in_words};
#[cfg(feature = "server")]
pub use users::{AccountError, Users};
