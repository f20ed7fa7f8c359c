//! Links sent by mail: finishing a sign-up and resetting a password.
//!
//! Neither form tells the person asking whether an address has an account. Sign-up asks only
//! for the address and always answers "we've sent you a link": a new address gets a link
//! whose page asks for the password and creates the account (so an account exists only once
//! its address has shown it receives mail, and only whoever reads that mail chooses its
//! password: nobody can register someone else's address with a password of their own and
//! wait for the owner to click), a taken one gets a message saying it already has an
//! account, with a way to reset the password. A reset
//! request always answers "if there is an account, we've sent a link"; only an account's
//! address is sent one. Whatever happens after the form is checked runs off the request
//! (see `app::accounts`), so the answer's timing does not tell either.
//!
//! A link's token is 256 random bits, kept only as its SHA-256, used once, and short-lived
//! (a day for a sign-up, an hour for a reset). Using a reset link ends every session of the
//! account and every other reset link.

use super::password::{HashError, NewPassword};
use super::sessions::SessionToken;
use super::types::{UserId, Viewer};
use super::users::Users;
use crate::checkout::Email;
use crate::clock::{Clock, Millis};
use crate::db::Db;
use crate::failure::{Failure, FailureKind};
use crate::mail::{Mail, Outbox};
use std::sync::Arc;

const HOUR: Millis = 60 * 60 * 1000;
pub const SIGN_UP_TTL: Millis = 24 * HOUR;
pub const RESET_TTL: Millis = HOUR;
/// Messages one address may be sent per hour, however often the forms are posted for it.
pub const MAILS_PER_HOUR: i64 = 5;

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error(transparent)]
    Invalid(#[from] crate::InvalidInput),
    /// Unknown, used, or expired: one answer for all three.
    #[error("this link has expired or has already been used")]
    Expired,
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl Failure for LinkError {
    fn kind(&self) -> FailureKind {
        match self {
            LinkError::Invalid(e) => e.kind(),
            LinkError::Expired => FailureKind::NotFound,
            LinkError::Hash(e) => e.kind(),
            LinkError::Db(e) => e.kind(),
        }
    }

    fn public_message(&self) -> String {
        match self {
            LinkError::Invalid(e) => e.public_message(),
            LinkError::Expired => "This link has expired or has already been used.".into(),
            LinkError::Hash(e) => e.public_message(),
            LinkError::Db(e) => e.public_message(),
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            LinkError::Hash(e) => e.retry_after(),
            _ => None,
        }
    }
}

/// The kinds of link, as `account_links.kind` spells them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkKind {
    SignUp,
    Reset,
}

impl LinkKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::SignUp => "sign_up",
            Self::Reset => "reset",
        }
    }
}

#[derive(Clone, Debug)]
pub struct AccountLinks {
    db: Db,
    clock: Arc<dyn Clock>,
    users: Users,
    outbox: Outbox,
    /// The shop's address as shoppers reach it, without a trailing slash.
    public_url: String,
}

impl AccountLinks {
    pub fn new(
        db: Db,
        clock: Arc<dyn Clock>,
        users: Users,
        outbox: Outbox,
        public_url: &str,
    ) -> Self {
        Self {
            db,
            clock,
            users,
            outbox,
            public_url: public_url.trim_end_matches('/').to_owned(),
        }
    }

    /// Mails `email` either a link that creates the account or, if it has one, a note saying
    /// so. Returns which, for logs and tests; the person asking is told the same either way.
    pub async fn request_sign_up(&self, email: &Email) -> Result<Sent, LinkError> {
        let email = lowercase(email)?;
        if !self.may_mail(&email).await? {
            return Ok(Sent::Nothing);
        }
        if self.users.by_email(email.as_str()).await?.is_some() {
            self.outbox
                .queue(&Mail {
                    html: None,
                    to: email,
                    subject: "You already have an Emporium account".into(),
                    body: format!(
                        "Someone (perhaps you) tried to create an Emporium account with this \
                         address, but it already has one.\n\n\
                         Sign in: {base}/account/sign-in\n\
                         Forgotten your password? Choose a new one: {base}/account/reset\n\n\
                         If it wasn't you, you can ignore this message: nothing has changed.\n",
                        base = self.public_url
                    ),
                })
                .await?;
            return Ok(Sent::AlreadyRegistered);
        }
        let token = self
            .insert_link(LinkKind::SignUp, &email, None, SIGN_UP_TTL)
            .await?;
        self.outbox
            .queue(&Mail {
                html: None,
                to: email,
                subject: "Finish creating your Emporium account".into(),
                body: format!(
                    "Welcome to Emporium!\n\n\
                     To finish creating your account, open this link within 24 hours and \
                     choose your password:\n\
                     {}/account/confirm/{}\n\n\
                     If you didn't ask for an account, ignore this message and none will be made.\n",
                    self.public_url,
                    token.as_str()
                ),
            })
            .await?;
        Ok(Sent::Link)
    }

    /// Creates the account a sign-up link stands for, with the password chosen on the
    /// link's page. The link works once; if the address got an account meanwhile (another
    /// link, an operator), the link has simply expired.
    pub async fn confirm_sign_up(&self, token: &str, password: &str) -> Result<Viewer, LinkError> {
        let token = SessionToken::parse(token).ok_or(LinkError::Expired)?;
        let password = NewPassword::parse(password)?;
        // Checked before the costly hash, so that a dead link costs nothing; checked again
        // (and used) in the transaction.
        if !self.is_usable(LinkKind::SignUp, token.as_str()).await? {
            return Err(LinkError::Expired);
        }
        let hash = self.users.hashing().hash(&password).await?;
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        let email: Option<String> = sqlx::query_scalar(
            "UPDATE account_links SET used_at = $1 \
             WHERE token_hash = $2 AND kind = 'sign_up' AND used_at IS NULL AND expires_at > $1 \
             RETURNING email",
        )
        .bind(now)
        .bind(token.digest())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(email) = email else {
            return Err(LinkError::Expired);
        };
        let inserted: Result<i64, sqlx::Error> = sqlx::query_scalar(
            "INSERT INTO users (email, password_hash, role, seller_id, created_at, updated_at) \
             VALUES ($1, $2, 'shopper', NULL, $3, $3) RETURNING id",
        )
        .bind(&email)
        .bind(&hash)
        .bind(now)
        .fetch_one(&mut *tx)
        .await;
        let id = match inserted {
            Ok(id) => id,
            Err(e) if crate::db::is_unique_violation(&e) => return Err(LinkError::Expired),
            Err(e) => return Err(e.into()),
        };
        // The address's other sign-up links have nothing left to do.
        sqlx::query(
            "UPDATE account_links SET used_at = $1 \
             WHERE kind = 'sign_up' AND email = $2 AND used_at IS NULL",
        )
        .bind(now)
        .bind(&email)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.users
            .viewer(UserId::new(id))
            .await?
            .ok_or(LinkError::Expired)
    }

    /// Mails a reset link to `email` if it has an account; otherwise does nothing.
    pub async fn request_reset(&self, email: &Email) -> Result<Sent, LinkError> {
        let email = lowercase(email)?;
        let Some(viewer) = self.users.by_email(email.as_str()).await? else {
            return Ok(Sent::Nothing);
        };
        if !self.may_mail(&email).await? {
            return Ok(Sent::Nothing);
        }
        let token = self
            .insert_link(LinkKind::Reset, &email, Some(viewer.user_id), RESET_TTL)
            .await?;
        self.outbox
            .queue(&Mail {
                html: None,
                to: email,
                subject: "Choose a new Emporium password".into(),
                body: format!(
                    "Someone (perhaps you) asked to reset the password of the Emporium account \
                     with this address.\n\n\
                     To choose a new one, open this link within an hour:\n\
                     {}/account/reset/{}\n\n\
                     If it wasn't you, ignore this message: your password stays as it is.\n",
                    self.public_url,
                    token.as_str()
                ),
            })
            .await?;
        Ok(Sent::Link)
    }

    /// Whether a link can still be used (for the page that shows its form).
    pub async fn is_usable(&self, kind: LinkKind, token: &str) -> Result<bool, sqlx::Error> {
        let Some(token) = SessionToken::parse(token) else {
            return Ok(false);
        };
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM account_links \
             WHERE token_hash = $1 AND kind = $2 AND used_at IS NULL AND expires_at > $3",
        )
        .bind(token.digest())
        .bind(kind.as_str())
        .bind(self.clock.now())
        .fetch_optional(self.db.pool())
        .await?;
        Ok(found.is_some())
    }

    /// Sets a new password through a reset link. The caller ends the account's sessions
    /// (every one: whoever knew the old password is signed out) and starts a new one.
    pub async fn finish_reset(&self, token: &str, new: &str) -> Result<Viewer, LinkError> {
        let token = SessionToken::parse(token).ok_or(LinkError::Expired)?;
        let new = NewPassword::parse(new)?;
        // Checked before the costly hash, so that a dead link costs nothing; checked again
        // (and used) in the transaction.
        if !self.is_usable(LinkKind::Reset, token.as_str()).await? {
            return Err(LinkError::Expired);
        }
        let hash = self.users.hashing().hash(&new).await?;
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        let user: Option<Option<i64>> = sqlx::query_scalar(
            "UPDATE account_links SET used_at = $1 \
             WHERE token_hash = $2 AND kind = 'reset' AND used_at IS NULL AND expires_at > $1 \
             RETURNING user_id",
        )
        .bind(now)
        .bind(token.digest())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(Some(user)) = user else {
            return Err(LinkError::Expired);
        };
        sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(&hash)
            .bind(now)
            .bind(user)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE account_links SET used_at = $1 \
             WHERE kind = 'reset' AND user_id = $2 AND used_at IS NULL",
        )
        .bind(now)
        .bind(user)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.users
            .viewer(UserId::new(user))
            .await?
            .ok_or(LinkError::Expired)
    }

    /// Forgets links that ran out or were used more than a day ago.
    pub async fn sweep(&self) -> Result<u64, sqlx::Error> {
        let now = self.clock.now();
        Ok(sqlx::query(
            "DELETE FROM account_links WHERE expires_at < $1 OR (used_at IS NOT NULL AND used_at < $2)",
        )
        .bind(now)
        .bind(now - 24 * HOUR)
        .execute(self.db.pool())
        .await?
        .rows_affected())
    }

    async fn may_mail(&self, email: &Email) -> Result<bool, sqlx::Error> {
        let sent = self
            .outbox
            .queued_since(email, self.clock.now() - HOUR)
            .await?;
        if sent >= MAILS_PER_HOUR {
            tracing::info!("mail to an address held back: {MAILS_PER_HOUR} sent this hour");
        }
        Ok(sent < MAILS_PER_HOUR)
    }

    async fn insert_link(
        &self,
        kind: LinkKind,
        email: &Email,
        user: Option<UserId>,
        ttl: Millis,
    ) -> Result<SessionToken, sqlx::Error> {
        let token = SessionToken::random();
        let now = self.clock.now();
        sqlx::query(
            "INSERT INTO account_links (token_hash, kind, email, user_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token.digest())
        .bind(kind.as_str())
        .bind(email.as_str())
        .bind(user.map(UserId::get))
        .bind(now)
        .bind(now + ttl)
        .execute(self.db.pool())
        .await?;
        Ok(token)
    }
}

/// What a request for a link ended in (never shown to the person asking).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// A link was mailed.
    Link,
    /// The address has an account; it was told so.
    AlreadyRegistered,
    /// Nothing: no account (reset), or the address's hourly allowance is spent.
    Nothing,
}

/// Accounts are keyed by the lowercased address.
fn lowercase(email: &Email) -> Result<Email, crate::InvalidInput> {
    Email::parse(&email.as_str().to_lowercase())
}
