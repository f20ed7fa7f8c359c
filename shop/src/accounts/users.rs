//! Accounts: sign-up, sign-in (with its second step for accounts with a second factor),
//! password changes, and creating accounts of any role.

use super::password::{self, HashError, Hashing, NewPassword};
use super::second_factor::{PendingSignIn, SecondFactors};
use super::throttle::{Admitted, Throttle};
use super::types::{Role, UserId, Viewer};
use crate::catalog::SellerId;
use crate::checkout::Email;
use crate::clock::Clock;
use crate::db::Db;
use crate::failure::{Failure, FailureKind};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Invalid(#[from] crate::InvalidInput),
    /// The same words for a wrong password and an unknown email.
    #[error("that email and password do not match an account")]
    WrongCredentials,
    /// Inside the delay that recent failures set (`throttle`): the password was not checked.
    #[error("too many failed password checks: try again in {retry_after_secs} s")]
    Throttled { retry_after_secs: u64 },
    /// The password was right, but the account has a second factor: no session yet. The
    /// code goes with this token (`Users::finish_sign_in`).
    #[error("a second factor is needed to finish signing in")]
    SecondFactorNeeded(PendingSignIn),
    /// A wrong code, a malformed one, or one already used: the same words for each.
    #[error("that code is not right")]
    WrongCode,
    /// The step between password and code is unknown or past its time.
    #[error("the sign-in waited too long for its code")]
    SignInExpired,
    /// Sign-up with an email that has an account. Shown as `WrongCredentials`-like wording
    /// by the pages; `users create` says it plainly.
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("no seller {0:?}")]
    NoSuchSeller(String),
    #[error("a seller account needs --seller, and only seller accounts take one")]
    SellerMismatch,
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl Failure for AccountError {
    fn kind(&self) -> FailureKind {
        match self {
            AccountError::Invalid(e) => e.kind(),
            AccountError::WrongCredentials => FailureKind::SignInRequired,
            AccountError::Throttled { .. } => FailureKind::Throttled,
            AccountError::SecondFactorNeeded(_)
            | AccountError::WrongCode
            | AccountError::SignInExpired => FailureKind::SignInRequired,
            AccountError::EmailTaken => FailureKind::Conflict,
            AccountError::NoSuchSeller(_) => FailureKind::NotFound,
            AccountError::SellerMismatch => FailureKind::Invalid,
            AccountError::Hash(e) => e.kind(),
            AccountError::Db(e) => e.kind(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            AccountError::WrongCredentials => "wrong_credentials",
            AccountError::EmailTaken => "email_taken",
            AccountError::SecondFactorNeeded(_) => "second_factor_required",
            AccountError::WrongCode => "wrong_code",
            AccountError::SignInExpired => "sign_in_expired",
            _ => self.kind().code(),
        }
    }

    fn public_message(&self) -> String {
        match self {
            AccountError::Invalid(e) => e.public_message(),
            AccountError::WrongCredentials => {
                "That email and password do not match an account.".into()
            }
            AccountError::Throttled { retry_after_secs } => format!(
                "Too many failed attempts: try again in {}.",
                super::types::wait_in_words(*retry_after_secs)
            ),
            AccountError::SecondFactorNeeded(_) => {
                "Enter the 6-digit code from your authenticator app (or a recovery code) to finish signing in.".into()
            }
            AccountError::WrongCode => "That code isn't right, or it has already been used.".into(),
            AccountError::SignInExpired => {
                "That sign-in waited too long for its code: please enter your password again.".into()
            }
            AccountError::EmailTaken => "An account with this email already exists.".into(),
            AccountError::NoSuchSeller(slug) => format!("There is no seller {slug:?}."),
            AccountError::SellerMismatch => {
                "A seller account needs a seller, and only seller accounts take one.".into()
            }
            AccountError::Hash(e) => e.public_message(),
            AccountError::Db(e) => e.public_message(),
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            AccountError::Throttled { retry_after_secs } => Some(*retry_after_secs),
            AccountError::Hash(e) => e.retry_after(),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Users {
    db: Db,
    clock: Arc<dyn Clock>,
    throttle: Throttle,
    hashing: Hashing,
    second_factors: SecondFactors,
}

type ViewerRow = (
    i64,
    String,
    String,
    Option<i64>,
    Option<String>,
    Option<i64>,
);

fn viewer_from(row: ViewerRow) -> Option<Viewer> {
    let (id, email, role, seller, slug, factor_enabled) = row;
    Some(Viewer {
        user_id: UserId::new(id),
        email,
        role: Role::parse(&role).ok()?,
        seller: seller.map(|s| (SellerId::new(s), slug.unwrap_or_default())),
        second_factor: factor_enabled.is_some(),
    })
}

const VIEWER_SELECT: &str = "SELECT u.id, u.email, u.role, u.seller_id, s.slug, f.enabled_at \
                             FROM users u LEFT JOIN sellers s ON s.id = u.seller_id \
                             LEFT JOIN second_factors f ON f.user_id = u.id";

impl Users {
    pub fn new(db: Db, clock: Arc<dyn Clock>, throttle: Throttle) -> Self {
        Self {
            second_factors: SecondFactors::new(db.clone(), clock.clone()),
            db,
            clock,
            throttle,
            hashing: Hashing::default(),
        }
    }

    /// Accounts' second factors: setting one up, and what it stands at.
    pub fn second_factors(&self) -> &SecondFactors {
        &self.second_factors
    }

    /// The same service hashing through `hashing` (the node's, with its configured bounds).
    pub fn with_hashing(self, hashing: Hashing) -> Self {
        Self { hashing, ..self }
    }

    /// The password hashing this service (and the mailed links built on it) uses.
    pub fn hashing(&self) -> &Hashing {
        &self.hashing
    }

    /// How many password checks (argon2 verifications) this service has run: the work a
    /// sign-in costs, the same whether or not the account exists.
    pub fn password_checks(&self) -> u64 {
        self.hashing.verifications()
    }

    /// Creates an account. `seller` (a seller's slug) is required for, and only for, sellers.
    pub async fn create(
        &self,
        email: &str,
        password: &str,
        role: Role,
        seller: Option<&str>,
    ) -> Result<Viewer, AccountError> {
        let email = Email::parse(email)?.as_str().to_lowercase();
        let password = NewPassword::parse(password)?;
        let seller_id = match (role, seller) {
            (Role::Seller, Some(slug)) => {
                let id: Option<i64> = sqlx::query_scalar("SELECT id FROM sellers WHERE slug = $1")
                    .bind(slug)
                    .fetch_optional(self.db.pool())
                    .await?;
                Some(id.ok_or_else(|| AccountError::NoSuchSeller(slug.to_owned()))?)
            }
            (Role::Seller, None) | (_, Some(_)) => return Err(AccountError::SellerMismatch),
            _ => None,
        };
        // Hash first, so that a taken email costs the same time as a new one.
        let hash = self.hashing.hash(&password).await?;
        let now = self.clock.now();
        let inserted: Result<i64, sqlx::Error> = sqlx::query_scalar(
            "INSERT INTO users (email, password_hash, role, seller_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        )
        .bind(&email)
        .bind(&hash)
        .bind(role.as_str())
        .bind(seller_id)
        .bind(now)
        .fetch_one(self.db.pool())
        .await;
        let id = match inserted {
            Ok(id) => id,
            Err(e) if crate::db::is_unique_violation(&e) => return Err(AccountError::EmailTaken),
            Err(e) => return Err(e.into()),
        };
        self.viewer(UserId::new(id))
            .await?
            .ok_or(AccountError::WrongCredentials)
    }

    /// A new shopper account, straight away. Shoppers sign up through a mailed link
    /// (`links::AccountLinks`); this is for operators' tools and tests.
    pub async fn sign_up(&self, email: &str, password: &str) -> Result<Viewer, AccountError> {
        self.create(email, password, Role::Shopper, None).await
    }

    /// The account these credentials open. `address` is the client's, for throttling. For an
    /// account with a second factor a right password is only half: the answer is
    /// `SecondFactorNeeded` with the token that `finish_sign_in` takes with the code.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        address: &str,
    ) -> Result<Viewer, AccountError> {
        // A malformed email is simply a wrong one (still checked against a decoy hash).
        let email = email.trim().to_lowercase();
        let admitted = self.admit(&email, address).await?;
        let row: Option<(i64, String, Option<i64>)> = sqlx::query_as(
            "SELECT u.id, u.password_hash, f.enabled_at FROM users u \
             LEFT JOIN second_factors f ON f.user_id = u.id WHERE u.email = $1",
        )
        .bind(&email)
        .fetch_optional(self.db.pool())
        .await?;
        let password = password
            .chars()
            .take(password::MAX_LENGTH + 1)
            .collect::<String>();
        let matched = self
            .hashing
            .verify(&password, row.as_ref().map(|(_, h, _)| h.as_str()))
            .await?;
        match row {
            Some((id, _, Some(_))) if matched => {
                self.throttle.first_factor_passed(admitted).await?;
                let pending = self.second_factors.open_pending(UserId::new(id)).await?;
                Err(AccountError::SecondFactorNeeded(pending))
            }
            Some((id, _, None)) if matched => {
                self.throttle.succeeded(admitted).await?;
                self.viewer(UserId::new(id))
                    .await?
                    .ok_or(AccountError::WrongCredentials)
            }
            // The failure was counted when the try was admitted.
            _ => Err(AccountError::WrongCredentials),
        }
    }

    /// The second half of signing in to an account with a second factor: `code` (from the
    /// app, or a recovery code) for the sign-in that `pending` stands for. A code is a guess
    /// like a password, so it is counted in the same throttle, per account and per `address`.
    pub async fn finish_sign_in(
        &self,
        pending: &PendingSignIn,
        code: &str,
        address: &str,
    ) -> Result<Viewer, AccountError> {
        let user = self
            .second_factors
            .pending_user(pending)
            .await?
            .ok_or(AccountError::SignInExpired)?;
        self.check_code(user, code, address).await?;
        self.second_factors.close_pending(pending).await?;
        self.viewer(user)
            .await?
            .ok_or(AccountError::WrongCredentials)
    }

    /// Turns `user`'s second factor off, after a current code (a stolen session alone must
    /// not be enough), throttled like a sign-in.
    pub async fn turn_off_second_factor(
        &self,
        user: UserId,
        code: &str,
        address: &str,
    ) -> Result<(), AccountError> {
        self.check_code(user, code, address).await?;
        Ok(self.second_factors.disable(user).await?)
    }

    /// New recovery codes for `user` in place of the old ones, after a current code; they
    /// are shown once.
    pub async fn new_recovery_codes(
        &self,
        user: UserId,
        code: &str,
        address: &str,
    ) -> Result<Vec<String>, AccountError> {
        self.check_code(user, code, address).await?;
        Ok(self.second_factors.replace_recovery_codes(user).await?)
    }

    /// Checks a code of `user`'s second factor (using it up), counted in the throttle like a
    /// password: a wrong code is a failure for the account and the address.
    async fn check_code(
        &self,
        user: UserId,
        code: &str,
        address: &str,
    ) -> Result<(), AccountError> {
        let email: Option<String> = sqlx::query_scalar("SELECT email FROM users WHERE id = $1")
            .bind(user.get())
            .fetch_optional(self.db.pool())
            .await?;
        let email = email.ok_or(AccountError::WrongCode)?;
        let admitted = self.admit(&email, address).await?;
        if !self.second_factors.verify(user, code).await? {
            // The failure was counted when the try was admitted.
            return Err(AccountError::WrongCode);
        }
        Ok(self.throttle.succeeded(admitted).await?)
    }

    /// Lets a password check for `email` from `address` go ahead (counting it as a failure
    /// until it proves right), or refuses it inside the delay that recent failures set.
    async fn admit(&self, email: &str, address: &str) -> Result<Admitted, AccountError> {
        self.throttle
            .admit(email, address, self.clock.now())
            .await?
            .map_err(|wait_ms| AccountError::Throttled {
                retry_after_secs: u64::try_from((wait_ms + 999) / 1000).unwrap_or(1).max(1),
            })
    }

    /// Changes the password after checking the current one. The check is a guess like a
    /// sign-in's (a stolen session could make it), so it goes through the same throttle, per
    /// account and per `address`. The caller ends the account's other sessions.
    pub async fn change_password(
        &self,
        user: UserId,
        current: &str,
        new: &str,
        address: &str,
    ) -> Result<(), AccountError> {
        let new = NewPassword::parse(new)?;
        let stored: Option<(String, String)> =
            sqlx::query_as("SELECT email, password_hash FROM users WHERE id = $1")
                .bind(user.get())
                .fetch_optional(self.db.pool())
                .await?;
        let Some((email, stored)) = stored else {
            return Err(AccountError::WrongCredentials);
        };
        let admitted = self.admit(&email, address).await?;
        if !self.hashing.verify(current, Some(&stored)).await? {
            return Err(AccountError::WrongCredentials);
        }
        self.throttle.succeeded(admitted).await?;
        let hash = self.hashing.hash(&new).await?;
        sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(hash)
            .bind(self.clock.now())
            .bind(user.get())
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Changes an account's role (the caller ends its sessions, so the new role starts
    /// with a new token).
    pub async fn set_role(
        &self,
        user: UserId,
        role: Role,
        seller: Option<SellerId>,
    ) -> Result<(), AccountError> {
        if (role == Role::Seller) != seller.is_some() {
            return Err(AccountError::SellerMismatch);
        }
        sqlx::query("UPDATE users SET role = $1, seller_id = $2, updated_at = $3 WHERE id = $4")
            .bind(role.as_str())
            .bind(seller.map(SellerId::get))
            .bind(self.clock.now())
            .bind(user.get())
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Forgets failures old enough not to count any more.
    pub async fn forget_old_failures(&self, now: crate::clock::Millis) -> Result<u64, sqlx::Error> {
        self.throttle.sweep(now).await
    }

    pub async fn viewer(&self, user: UserId) -> Result<Option<Viewer>, sqlx::Error> {
        let row: Option<ViewerRow> = sqlx::query_as(&format!("{VIEWER_SELECT} WHERE u.id = $1"))
            .bind(user.get())
            .fetch_optional(self.db.pool())
            .await?;
        Ok(row.and_then(viewer_from))
    }

    pub async fn by_email(&self, email: &str) -> Result<Option<Viewer>, sqlx::Error> {
        let row: Option<ViewerRow> = sqlx::query_as(&format!("{VIEWER_SELECT} WHERE u.email = $1"))
            .bind(email.trim().to_lowercase())
            .fetch_optional(self.db.pool())
            .await?;
        Ok(row.and_then(viewer_from))
    }
}
