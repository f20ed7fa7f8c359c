//! Passwords: argon2id at OWASP's minimum cost (19 MiB, 2 passes, 1 lane), computed on the
//! blocking pool so sign-ins never stall the async workers, and at most `PARALLEL` at a time
//! so a burst of sign-ins cannot take 19 MiB times the burst.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use tokio::sync::Semaphore;

/// Memory per hash in KiB (19 MiB), passes, lanes.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;
/// Hashes computed at once, process-wide.
const PARALLEL: usize = 4;

pub const MIN_LENGTH: usize = 10;
pub const MAX_LENGTH: usize = 128;

/// A password that meets the rules for a new one (length in characters; anything else,
/// spaces and all scripts included, is allowed: NIST SP 800-63B).
#[derive(Clone)]
pub struct NewPassword(String);

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(…)")
    }
}

impl NewPassword {
    pub fn parse(text: &str) -> Result<Self, crate::InvalidInput> {
        let chars = text.chars().count();
        if chars < MIN_LENGTH {
            return Err(crate::InvalidInput::new(
                "password",
                format!("must be at least {MIN_LENGTH} characters"),
            ));
        }
        if chars > MAX_LENGTH {
            return Err(crate::InvalidInput::new(
                "password",
                format!("must be at most {MAX_LENGTH} characters"),
            ));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn permits() -> &'static Semaphore {
    static PERMITS: Semaphore = Semaphore::const_new(PARALLEL);
    &PERMITS
}

/// How many stored hashes a service has checked a password against (argon2 verifications,
/// the decoy's included). Kept by each service rather than by the process, so that tests
/// running side by side in one process each count their own; clones share the count.
#[derive(Clone, Debug, Default)]
pub struct VerifyCount(Arc<AtomicU64>);

impl VerifyCount {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed: {0}")]
    Failed(String),
}

async fn on_blocking_pool<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, HashError> {
    let _permit = permits()
        .acquire()
        .await
        .map_err(|e| HashError::Failed(e.to_string()))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| HashError::Failed(e.to_string()))
}

/// The PHC string of a new password (random 128-bit salt; parameters included).
pub async fn hash(password: &NewPassword) -> Result<String, HashError> {
    let password = password.0.clone();
    on_blocking_pool(move || {
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
            .map_err(|e| HashError::Failed(e.to_string()))?;
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| HashError::Failed(e.to_string()))
    })
    .await?
}

/// Whether `password` matches the stored hash. With no stored hash (no such account), a
/// hash of the same cost is checked anyway, so the answer takes as long either way. Each
/// check run is counted in `count`.
pub async fn verify(
    password: &str,
    stored: Option<&str>,
    count: &VerifyCount,
) -> Result<bool, HashError> {
    let password = password.to_owned();
    let stored = stored.map(str::to_owned);
    let count = count.clone();
    on_blocking_pool(move || {
        let phc = stored.as_deref().unwrap_or_else(|| decoy());
        let Ok(parsed) = PasswordHash::new(phc) else {
            return false;
        };
        let matched = argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        count.0.fetch_add(1, Ordering::Relaxed);
        matched && stored.is_some()
    })
    .await
}

/// A hash of a random password, computed once, for accounts that do not exist.
fn decoy() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).ok();
        let secret: [u8; 32] = rand::random();
        salt.and_then(|salt| {
            argon2()
                .hash_password(&secret, &salt)
                .ok()
                .map(|h| h.to_string())
        })
        .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_passwords_are_length_checked_in_characters() {
        assert!(NewPassword::parse("short").is_err());
        assert!(NewPassword::parse("ten chars!").is_ok());
        // Ten characters, more bytes: counted as ten.
        assert!(NewPassword::parse("éééééééééé").is_ok());
        assert!(NewPassword::parse(&"x".repeat(MAX_LENGTH + 1)).is_err());
        assert_eq!(
            format!("{:?}", NewPassword::parse("secret secret").ok()),
            "Some(NewPassword(…))"
        );
    }

    #[tokio::test]
    async fn hashes_are_argon2id_at_the_stated_cost_and_verify() {
        let password = NewPassword::parse("correct horse battery").expect("valid");
        let phc = hash(&password).await.expect("hashed");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(
            decoy().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "the decoy costs what a real hash costs"
        );
        let count = VerifyCount::default();
        assert!(
            verify("correct horse battery", Some(&phc), &count)
                .await
                .expect("ran")
        );
        assert!(
            !verify("correct horse batter", Some(&phc), &count)
                .await
                .expect("ran")
        );
        assert!(
            !verify("correct horse battery", None, &count)
                .await
                .expect("ran")
        );
        assert_eq!(count.get(), 3, "the decoy is checked like a stored hash");
        assert!(
            !verify("anything", Some("not a hash"), &count)
                .await
                .expect("ran")
        );
        let again = hash(&password).await.expect("hashed");
        assert_ne!(phc, again, "each hash has its own salt");
    }
}
