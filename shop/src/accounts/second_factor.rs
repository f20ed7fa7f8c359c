//! A second factor for the accounts that can do the most harm: admins (required, see
//! `Viewer::require_admin`) and sellers (if they choose). The six-digit codes of an
//! authenticator app (TOTP, RFC 6238: HMAC-SHA1 over 30-second steps), with ten single-use
//! recovery codes for a lost phone.
//!
//! Invariants:
//! - A factor protects an account only once a code from it has been accepted (`enable`): an
//!   enrolment mistyped or abandoned locks nobody out, and until it is confirmed its secret is
//!   only shown again (the page reloaded after the QR code was scanned), never trusted.
//! - A code is accepted once (ASVS 2.8; RFC 6238 §5.2): the account keeps the last time step
//!   whose code was accepted and takes only a later step's, by a compare-and-set, so two
//!   requests racing with one code cannot both win. A code from the step before or after the
//!   server's is accepted (phones' clocks drift), none further.
//! - Recovery codes are 80 random bits each, shown once and kept only as SHA-256. A slow hash
//!   (argon2) is for what people choose, which can be guessed offline; nobody guesses 2^80
//!   values, so a fast hash loses nothing and lets a code be found by its hash.
//! - The secret itself is kept in clear: the server must compute codes from it. Whoever can
//!   read the database could mint codes (the password still stands in their way).
//! - A right password for an account with a factor does not sign in: it opens a
//!   `PendingSignIn` (a 256-bit token, kept hashed like a session's, for `PENDING_MS`) that
//!   only a right code turns into a session. Codes are checked through the sign-in throttle
//!   (`Users::finish_sign_in`), so the million codes cannot be walked.

use super::sessions::SessionToken;
use super::types::UserId;
use crate::clock::{Clock, Millis};
use crate::db::Db;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use totp_rs::{Algorithm, Secret, TOTP};

/// How long the step between a right password and the code may take.
pub const PENDING_MS: Millis = 5 * 60 * 1000;

/// How many recovery codes an account is given at a time.
pub const RECOVERY_CODES: usize = 10;

/// The authenticator's time step, in seconds (every app's default).
const STEP_SECS: u64 = 30;

/// The name authenticator apps list the account under.
const ISSUER: &str = "Emporium";

/// A recovery code's length in base32 characters (80 bits), without its dashes.
const RECOVERY_LENGTH: usize = 16;

/// The token that stands between a right password and the code: whoever holds it may answer
/// with a code, for `PENDING_MS`. The same shape as a session token, and kept the same way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingSignIn(SessionToken);

impl PendingSignIn {
    pub fn parse(text: &str) -> Option<Self> {
        SessionToken::parse(text).map(Self)
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// What setting up a factor shows: the secret as base32 text (to type into an app) and as
/// the `otpauth://` URI that the QR code holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enrolment {
    pub secret: String,
    pub uri: String,
}

/// Whether an account's second factor is on, and how many recovery codes it has left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FactorStatus {
    pub enabled: bool,
    pub recovery_codes_left: i64,
}

/// What a person typed where a code is asked for.
enum Code {
    /// Six digits from the app.
    App(String),
    /// A recovery code, lowercased, without dashes or spaces.
    Recovery(String),
}

impl Code {
    /// Spaces and dashes are ignored (apps show `123 456`, recovery codes are printed in
    /// groups); anything else that is neither shape is no code.
    fn parse(text: &str) -> Option<Self> {
        let plain: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .take(RECOVERY_LENGTH + 1)
            .collect::<String>()
            .to_ascii_lowercase();
        let base32 = |c: char| c.is_ascii_lowercase() || ('2'..='7').contains(&c);
        if plain.len() == 6 && plain.chars().all(|c| c.is_ascii_digit()) {
            Some(Code::App(plain))
        } else if plain.len() == RECOVERY_LENGTH && plain.chars().all(base32) {
            Some(Code::Recovery(plain))
        } else {
            None
        }
    }
}

/// `bytes` as unpadded RFC 4648 base32, as authenticator apps take secrets.
fn base32(bytes: &[u8]) -> String {
    match Secret::Raw(bytes.to_vec()).to_encoded() {
        Secret::Encoded(text) => text,
        Secret::Raw(_) => String::new(),
    }
}

/// The code generator for a stored secret; `account` names it in the URI only.
fn generator(secret: &str, account: &str) -> Option<TOTP> {
    let bytes = Secret::Encoded(secret.to_owned()).to_bytes().ok()?;
    // No skew in the crate: the steps around now are tried one by one (`step_of`), so that
    // the step a code matched is known and can be remembered against replay.
    TOTP::new(
        Algorithm::SHA1,
        6,
        0,
        STEP_SECS,
        bytes,
        Some(ISSUER.to_owned()),
        // The URI's label is `issuer:account`: a colon in the account would split it.
        account.replace(':', " "),
    )
    .ok()
}

/// The time step (now's, the one before or the one after) whose code `code` is, if any, and
/// only a step later than `after` (the last one accepted).
fn step_of(totp: &TOTP, code: &str, now: Millis, after: Option<i64>) -> Option<i64> {
    let current = now.div_euclid(1000) / STEP_SECS as i64;
    (current - 1..=current + 1)
        .filter(|step| after.is_none_or(|last| *step > last))
        .find(|step| u64::try_from(*step).is_ok_and(|s| totp.check(code, s * STEP_SECS)))
}

fn recovery_hash(code: &str) -> String {
    Sha256::digest(code.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A new recovery code as it is shown: four groups of four (`abcd-efgh-ijkl-mnop`).
fn new_recovery_code() -> String {
    let plain = base32(&rand::random::<[u8; 10]>()).to_ascii_lowercase();
    plain
        .as_bytes()
        .chunks(4)
        .map(|group| String::from_utf8_lossy(group).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// Accounts' second factors, their recovery codes, and the sign-ins waiting for a code.
#[derive(Clone, Debug)]
pub struct SecondFactors {
    db: Db,
    clock: Arc<dyn Clock>,
}

impl SecondFactors {
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Self {
        Self { db, clock }
    }

    /// Starts setting up a factor for `user` (whose `email` names it in the app), or shows the
    /// set-up already started again; `None` once the factor is on.
    pub async fn begin(&self, user: UserId, email: &str) -> Result<Option<Enrolment>, sqlx::Error> {
        // 160 bits, as RFC 4226 recommends.
        let fresh = base32(&rand::random::<[u8; 20]>());
        sqlx::query(
            "INSERT INTO second_factors (user_id, secret, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO NOTHING",
        )
        .bind(user.get())
        .bind(&fresh)
        .bind(self.clock.now())
        .execute(self.db.pool())
        .await?;
        let row: Option<(String, Option<i64>)> =
            sqlx::query_as("SELECT secret, enabled_at FROM second_factors WHERE user_id = $1")
                .bind(user.get())
                .fetch_optional(self.db.pool())
                .await?;
        Ok(match row {
            Some((secret, None)) => generator(&secret, email).map(|totp| Enrolment {
                uri: totp.get_url(),
                secret,
            }),
            _ => None,
        })
    }

    /// Turns the factor being set up on, if `code` is a current code of it: the account's
    /// recovery codes, to be shown once. `None` for a wrong code (nothing changes) or when no
    /// set-up is under way.
    pub async fn enable(
        &self,
        user: UserId,
        code: &str,
    ) -> Result<Option<Vec<String>>, sqlx::Error> {
        let Some(Code::App(code)) = Code::parse(code) else {
            return Ok(None);
        };
        let secret: Option<String> = sqlx::query_scalar(
            "SELECT secret FROM second_factors WHERE user_id = $1 AND enabled_at IS NULL",
        )
        .bind(user.get())
        .fetch_optional(self.db.pool())
        .await?;
        let now = self.clock.now();
        let step = secret
            .as_deref()
            .and_then(|s| generator(s, ""))
            .and_then(|totp| step_of(&totp, &code, now, None));
        let (Some(secret), Some(step)) = (secret, step) else {
            return Ok(None);
        };
        let mut tx = self.db.begin_write().await?;
        // The step is remembered at once: the code that turned the factor on cannot then
        // be used to sign in.
        let enabled = sqlx::query(
            "UPDATE second_factors SET enabled_at = $1, last_step = $2 \
             WHERE user_id = $3 AND secret = $4 AND enabled_at IS NULL",
        )
        .bind(now)
        .bind(step)
        .bind(user.get())
        .bind(&secret)
        .execute(&mut *tx)
        .await?;
        if enabled.rows_affected() == 0 {
            return Ok(None);
        }
        let codes = Self::put_recovery_codes(&mut tx, user, now).await?;
        tx.commit().await?;
        Ok(Some(codes))
    }

    /// Whether `code` is a current code of `user`'s factor, or one of its unused recovery
    /// codes; either is used up by being accepted. Not throttled: callers go through
    /// `Users`, which is.
    pub(crate) async fn verify(&self, user: UserId, code: &str) -> Result<bool, sqlx::Error> {
        match Code::parse(code) {
            None => Ok(false),
            Some(Code::App(code)) => {
                let row: Option<(String, Option<i64>)> = sqlx::query_as(
                    "SELECT secret, last_step FROM second_factors \
                     WHERE user_id = $1 AND enabled_at IS NOT NULL",
                )
                .bind(user.get())
                .fetch_optional(self.db.pool())
                .await?;
                let Some((secret, last)) = row else {
                    return Ok(false);
                };
                let now = self.clock.now();
                let Some(step) =
                    generator(&secret, "").and_then(|totp| step_of(&totp, &code, now, last))
                else {
                    return Ok(false);
                };
                // Only if no code of this step or a later one was accepted meanwhile.
                let claimed = sqlx::query(
                    "UPDATE second_factors SET last_step = $1 \
                     WHERE user_id = $2 AND (last_step IS NULL OR last_step < $1)",
                )
                .bind(step)
                .bind(user.get())
                .execute(self.db.pool())
                .await?;
                Ok(claimed.rows_affected() == 1)
            }
            Some(Code::Recovery(code)) => {
                let used = sqlx::query(
                    "UPDATE recovery_codes SET used_at = $1 \
                     WHERE code_hash = $2 AND user_id = $3 AND used_at IS NULL",
                )
                .bind(self.clock.now())
                .bind(recovery_hash(&code))
                .bind(user.get())
                .execute(self.db.pool())
                .await?;
                Ok(used.rows_affected() == 1)
            }
        }
    }

    /// Whether `user`'s factor is on, and how many recovery codes it has left.
    pub async fn status(&self, user: UserId) -> Result<FactorStatus, sqlx::Error> {
        let enabled: Option<Option<i64>> =
            sqlx::query_scalar("SELECT enabled_at FROM second_factors WHERE user_id = $1")
                .bind(user.get())
                .fetch_optional(self.db.pool())
                .await?;
        let left: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
        )
        .bind(user.get())
        .fetch_one(self.db.pool())
        .await?;
        Ok(FactorStatus {
            enabled: enabled.flatten().is_some(),
            recovery_codes_left: left,
        })
    }

    /// Turns `user`'s factor off and forgets its secret and recovery codes (the caller has
    /// checked a current code).
    pub(crate) async fn disable(&self, user: UserId) -> Result<(), sqlx::Error> {
        let mut tx = self.db.begin_write().await?;
        for table in ["second_factors", "recovery_codes"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE user_id = $1"))
                .bind(user.get())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }

    /// New recovery codes for `user` in place of all the old ones (the caller has checked a
    /// current code).
    pub(crate) async fn replace_recovery_codes(
        &self,
        user: UserId,
    ) -> Result<Vec<String>, sqlx::Error> {
        let mut tx = self.db.begin_write().await?;
        let codes = Self::put_recovery_codes(&mut tx, user, self.clock.now()).await?;
        tx.commit().await?;
        Ok(codes)
    }

    async fn put_recovery_codes(
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        user: UserId,
        now: Millis,
    ) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user.get())
            .execute(&mut **tx)
            .await?;
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
        for code in &codes {
            sqlx::query(
                "INSERT INTO recovery_codes (code_hash, user_id, created_at) VALUES ($1, $2, $3)",
            )
            .bind(recovery_hash(&code.replace('-', "")))
            .bind(user.get())
            .bind(now)
            .execute(&mut **tx)
            .await?;
        }
        Ok(codes)
    }

    /// A sign-in of `user` waiting for its code (their password was right).
    pub(crate) async fn open_pending(&self, user: UserId) -> Result<PendingSignIn, sqlx::Error> {
        let now = self.clock.now();
        // Steps nobody finished go here rather than in a job of their own: they are few.
        sqlx::query("DELETE FROM sign_in_steps WHERE expires_at <= $1")
            .bind(now)
            .execute(self.db.pool())
            .await?;
        let token = SessionToken::random();
        sqlx::query("INSERT INTO sign_in_steps (id_hash, user_id, expires_at) VALUES ($1, $2, $3)")
            .bind(token.digest())
            .bind(user.get())
            .bind(now + PENDING_MS)
            .execute(self.db.pool())
            .await?;
        Ok(PendingSignIn(token))
    }

    /// The account a pending sign-in is for, while it lasts.
    pub(crate) async fn pending_user(
        &self,
        pending: &PendingSignIn,
    ) -> Result<Option<UserId>, sqlx::Error> {
        let user: Option<i64> = sqlx::query_scalar(
            "SELECT user_id FROM sign_in_steps WHERE id_hash = $1 AND expires_at > $2",
        )
        .bind(pending.0.digest())
        .bind(self.clock.now())
        .fetch_optional(self.db.pool())
        .await?;
        Ok(user.map(UserId::new))
    }

    /// Ends a pending sign-in (its code was right).
    pub(crate) async fn close_pending(&self, pending: &PendingSignIn) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM sign_in_steps WHERE id_hash = $1")
            .bind(pending.0.digest())
            .execute(self.db.pool())
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_in_their_two_shapes_and_nothing_else() {
        assert!(matches!(Code::parse(" 123 456 "), Some(Code::App(c)) if c == "123456"));
        let recovery = new_recovery_code();
        assert_eq!(recovery.len(), RECOVERY_LENGTH + 3, "{recovery}");
        assert!(
            matches!(Code::parse(&recovery.to_uppercase()), Some(Code::Recovery(c)) if c == recovery.replace('-', ""))
        );
        for junk in [
            "",
            "12345",
            "1234567",
            "12345a",
            "abcd-efgh-ijkl-mno1",
            "é",
            &"9".repeat(10_000),
        ] {
            assert!(Code::parse(junk).is_none(), "{junk:?}");
        }
    }

    #[test]
    fn a_code_matches_its_step_and_one_either_side_and_only_after_the_last_used() {
        let secret = base32(&[7; 20]);
        let totp = generator(&secret, "a:b@example.com").expect("a generator");
        assert!(totp.get_url().contains("secret="), "{}", totp.get_url());
        let now: Millis = 1_700_000_000_000;
        let step = now / 1000 / 30;
        let code_at = |s: i64| totp.generate(s as u64 * 30);
        assert_eq!(step_of(&totp, &code_at(step), now, None), Some(step));
        assert_eq!(
            step_of(&totp, &code_at(step - 1), now, None),
            Some(step - 1)
        );
        assert_eq!(
            step_of(&totp, &code_at(step + 1), now, None),
            Some(step + 1)
        );
        assert_eq!(step_of(&totp, &code_at(step - 2), now, None), None);
        assert_eq!(step_of(&totp, &code_at(step + 2), now, None), None);
        assert_eq!(
            step_of(&totp, &code_at(step), now, Some(step)),
            None,
            "replayed"
        );
    }
}
