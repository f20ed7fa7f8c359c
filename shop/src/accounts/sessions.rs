//! Signed-in sessions, kept in the database so that any node serves any shopper.
//!
//! A session is a 256-bit random token in an `HttpOnly`, `SameSite=Lax` cookie; the table
//! holds only its SHA-256. A new token is made at every sign-in (so a token planted before
//! sign-in is worthless afterwards) and on every role change; a session ends after
//! `idle` without use or `absolute` after sign-in, whichever comes first; an admin's after
//! `admin_absolute`, shorter (ASVS 7.3: the more a session may do, the sooner it is
//! proved again).

use super::types::{Role, UserId, Viewer};
use crate::catalog::SellerId;
use crate::clock::{Clock, Millis};
use crate::db::Db;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The session cookie's name.
pub const COOKIE: &str = "emporium_session";

#[derive(Clone, Copy, Debug)]
pub struct SessionConfig {
    pub idle_ms: Millis,
    pub absolute_ms: Millis,
    /// An admin's session's absolute limit (the shorter of this and `absolute_ms` applies).
    pub admin_absolute_ms: Millis,
}

impl Default for SessionConfig {
    /// Two hours idle; a week after sign-in for shoppers and sellers, 12 hours for admins.
    fn default() -> Self {
        Self {
            idle_ms: 2 * 60 * 60 * 1000,
            absolute_ms: 7 * 24 * 60 * 60 * 1000,
            admin_absolute_ms: 12 * 60 * 60 * 1000,
        }
    }
}

/// A session token as the cookie carries it: 64 lowercase hex digits.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(…)")
    }
}

impl SessionToken {
    pub fn parse(text: &str) -> Option<Self> {
        (text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| Self(text.to_owned()))
    }

    pub(crate) fn random() -> Self {
        let bytes: [u8; 32] = rand::random();
        Self(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn digest(&self) -> String {
        Sha256::digest(self.0.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The token forms carry for browsers that send neither `Origin` nor `Sec-Fetch-Site`:
    /// derived from the cookie, so only a page that could read the cookie's session (ours)
    /// can know it.
    pub fn csrf(&self) -> String {
        csrf_for(&self.0)
    }
}

/// The form token for any secret cookie value (the session's, or a guest's cart id).
pub fn csrf_for(cookie_value: &str) -> String {
    Sha256::digest(format!("emporium-csrf\0{cookie_value}").as_bytes())
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What the server's session layer found on a request: an extension that every handler and
/// server function reads (through `http::request::Parts`), so all of them see one answer.
#[derive(Clone, Debug, Default)]
pub struct Visit {
    pub viewer: Option<Viewer>,
    pub token: Option<SessionToken>,
    /// The client's address (for throttling sign-ins).
    pub address: String,
}

#[derive(Clone, Debug)]
pub struct Sessions {
    db: Db,
    clock: Arc<dyn Clock>,
    config: SessionConfig,
}

/// How often `resolve` writes `last_seen_at` back (not on every request).
const TOUCH_EVERY_MS: Millis = 60 * 1000;

type Row = (
    i64,
    String,
    String,
    Option<i64>,
    Option<String>,
    i64,
    i64,
    i64,
    Option<i64>,
);

impl Sessions {
    pub fn new(db: Db, clock: Arc<dyn Clock>, config: SessionConfig) -> Self {
        Self { db, clock, config }
    }

    pub fn config(&self) -> SessionConfig {
        self.config
    }

    /// Starts a session for `user`, ending `previous` (the token the browser had) if any.
    pub async fn start(
        &self,
        user: UserId,
        previous: Option<&SessionToken>,
    ) -> Result<SessionToken, sqlx::Error> {
        if let Some(previous) = previous {
            self.end(previous).await?;
        }
        let token = SessionToken::random();
        let now = self.clock.now();
        // The lifetime follows the role the account has now; a role change ends its
        // sessions, so a promoted account starts again with an admin's.
        let started = sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, expires_at) \
             SELECT $1, id, $3, $3, CASE WHEN role = 'admin' THEN $5 ELSE $4 END \
             FROM users WHERE id = $2",
        )
        .bind(token.digest())
        .bind(user.get())
        .bind(now)
        .bind(now + self.config.absolute_ms)
        .bind(now + self.config.admin_absolute_ms.min(self.config.absolute_ms))
        .execute(self.db.pool())
        .await?;
        if started.rows_affected() == 0 {
            return Err(sqlx::Error::RowNotFound);
        }
        Ok(token)
    }

    /// The account behind a token, if the session is live.
    pub async fn resolve(&self, token: &SessionToken) -> Result<Option<Viewer>, sqlx::Error> {
        let now = self.clock.now();
        let row: Option<Row> = sqlx::query_as(
            "SELECT u.id, u.email, u.role, u.seller_id, sl.slug, s.last_seen_at, s.expires_at, \
                    s.created_at, f.enabled_at \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             LEFT JOIN sellers sl ON sl.id = u.seller_id \
             LEFT JOIN second_factors f ON f.user_id = u.id \
             WHERE s.id_hash = $1",
        )
        .bind(token.digest())
        .fetch_optional(self.db.pool())
        .await?;
        let Some((user, email, role, seller, slug, last_seen, expires, _, factor_enabled)) = row
        else {
            return Ok(None);
        };
        if expires <= now || last_seen + self.config.idle_ms <= now {
            self.end(token).await?;
            return Ok(None);
        }
        if now - last_seen >= TOUCH_EVERY_MS {
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2")
                .bind(now)
                .bind(token.digest())
                .execute(self.db.pool())
                .await?;
        }
        let Ok(role) = Role::parse(&role) else {
            return Ok(None);
        };
        Ok(Some(Viewer {
            user_id: UserId::new(user),
            email,
            role,
            seller: seller.map(|s| (SellerId::new(s), slug.unwrap_or_default())),
            second_factor: factor_enabled.is_some(),
        }))
    }

    /// Signs this browser out.
    pub async fn end(&self, token: &SessionToken) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(token.digest())
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Signs the account out everywhere (after a password change, a role change, or when
    /// asked); returns how many sessions ended.
    pub async fn end_all(&self, user: UserId) -> Result<u64, sqlx::Error> {
        Ok(sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user.get())
            .execute(self.db.pool())
            .await?
            .rows_affected())
    }

    /// Drops sessions that can no longer be used.
    pub async fn sweep(&self) -> Result<u64, sqlx::Error> {
        let now = self.clock.now();
        Ok(
            sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
                .bind(now)
                .bind(now - self.config.idle_ms)
                .execute(self.db.pool())
                .await?
                .rows_affected(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_parse_only_in_their_own_shape() {
        let t = SessionToken::random();
        assert_eq!(t.as_str().len(), 64);
        assert_eq!(SessionToken::parse(t.as_str()), Some(t.clone()));
        assert!(SessionToken::parse(&t.as_str().to_uppercase()).is_none());
        assert!(SessionToken::parse("abc").is_none());
        assert!(SessionToken::parse(&"g".repeat(64)).is_none());
        assert_ne!(t, SessionToken::random());
        assert_eq!(t.csrf().len(), 32);
        assert_ne!(t.csrf(), SessionToken::random().csrf());
        assert_eq!(format!("{t:?}"), "SessionToken(…)");
    }
}
