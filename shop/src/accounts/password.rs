//! Passwords: argon2id at OWASP's minimum cost (19 MiB, 2 passes, 1 lane), computed on the
//! blocking pool so sign-ins never stall the async workers.
//!
//! Invariants:
//! - At most `parallel` hashes run at once (a burst cannot take 19 MiB times the burst), and
//!   at most `queue` callers wait for a turn: past that a caller is refused at once with
//!   `HashError::Busy` (503 with `Retry-After`), so a flood of password checks can never
//!   build a line that every shopper's sign-in waits behind.
//! - A new password is long enough and not among the commonest or otherwise easily guessed
//!   (`NewPassword::parse`, ASVS 6.2).

use crate::failure::{Failure, FailureKind};
use crate::resilience::{Admission, Turn};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// Memory per hash in KiB (19 MiB), passes, lanes.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;

pub const MIN_LENGTH: usize = 10;
pub const MAX_LENGTH: usize = 128;

/// A password that meets the rules for a new one: its length in characters (anything else,
/// spaces and all scripts included, is allowed: NIST SP 800-63B), and not one that the
/// `zxcvbn` estimator (Dropbox's, with its lists of the commonest passwords, words and
/// patterns) reckons guessable in under 10^10 tries.
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
        // Score 3 is zxcvbn's "safely unguessable" line (10^10 guesses). It reads at most the
        // first 100 characters, so this costs a few milliseconds at worst.
        if zxcvbn::zxcvbn(text, &[]).score() < zxcvbn::Score::Three {
            return Err(crate::InvalidInput::new(
                "password",
                "is too common or too easy to guess: a few unrelated words make a good one",
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

/// How many hashes run at once and how many callers may wait for a turn.
#[derive(Clone, Copy, Debug)]
pub struct HashingConfig {
    pub parallel: usize,
    pub queue: usize,
}

impl Default for HashingConfig {
    /// Four at once (76 MiB) on the blocking pool; 32 waiting is about a second's work on a
    /// small node, after which asking again later beats waiting.
    fn default() -> Self {
        Self {
            parallel: 4,
            queue: 32,
        }
    }
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
    /// Every turn is taken and the line is full: try again in a moment.
    #[error("password hashing is saturated: {running} running, {waiting} waiting")]
    Busy { running: usize, waiting: usize },
    #[error("password hashing failed: {0}")]
    Failed(String),
}

impl Failure for HashError {
    fn kind(&self) -> FailureKind {
        match self {
            HashError::Busy { .. } => FailureKind::Unavailable,
            HashError::Failed(_) => FailureKind::Internal,
        }
    }

    fn public_message(&self) -> String {
        match self {
            HashError::Busy { .. } => {
                "We're checking a lot of passwords right now. Please try again in a moment.".into()
            }
            HashError::Failed(_) => self.kind().plain_message().into(),
        }
    }

    fn retry_after(&self) -> Option<u64> {
        matches!(self, HashError::Busy { .. }).then_some(1)
    }
}

/// The node's password hashing: a bounded number at once, a bounded line behind them. One
/// per node (built with the services; clones share it).
#[derive(Clone, Debug)]
pub struct Hashing {
    admission: Admission,
    verified: VerifyCount,
}

impl Default for Hashing {
    fn default() -> Self {
        Self::new(HashingConfig::default())
    }
}

impl Hashing {
    pub fn new(config: HashingConfig) -> Self {
        Self {
            admission: Admission::new(config.parallel, config.queue),
            verified: VerifyCount::default(),
        }
    }

    /// Waits for a turn, or refuses at once when `parallel` are running and `queue` waiting.
    /// Public so that a test can hold turns and fill the line deterministically.
    pub async fn admit(&self) -> Result<Turn, HashError> {
        self.admission.admit().await.map_err(|_| {
            let running = self.admission.running();
            HashError::Busy {
                running,
                waiting: self.admission.in_line().saturating_sub(running),
            }
        })
    }

    /// Callers running or waiting now.
    pub fn in_line(&self) -> usize {
        self.admission.in_line()
    }

    /// How many password checks (argon2 verifications) have run, the decoy's included.
    pub fn verifications(&self) -> u64 {
        self.verified.get()
    }

    async fn on_blocking_pool<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let _turn = self.admit().await?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| HashError::Failed(e.to_string()))
    }

    /// The PHC string of a new password (random 128-bit salt; parameters included).
    pub async fn hash(&self, password: &NewPassword) -> Result<String, HashError> {
        let password = password.0.clone();
        self.on_blocking_pool(move || {
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
    /// check run is counted (`verifications`).
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<bool, HashError> {
        let password = password.to_owned();
        let stored = stored.map(str::to_owned);
        let count = self.verified.clone();
        self.on_blocking_pool(move || {
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
        assert!(NewPassword::parse("éàüöçñßøåæ").is_ok());
        assert!(NewPassword::parse(&"x".repeat(MAX_LENGTH + 1)).is_err());
        assert_eq!(
            format!("{:?}", NewPassword::parse("secret secret").ok()),
            "Some(NewPassword(…))"
        );
    }

    #[test]
    fn common_passwords_are_refused_however_long() {
        for common in ["1234567890", "password1234", "qwertyuiop", "iloveyou12"] {
            let refused = NewPassword::parse(common).expect_err(common);
            assert_eq!(refused.field, "password");
            assert!(
                refused.message.contains("too common"),
                "{common}: {}",
                refused.message
            );
        }
    }

    /// With every turn held and the line full, the next caller is refused at once: its first
    /// poll answers (no timing: the line's length is read, and the refusal must not wait); a
    /// turn given back lets the one waiting in.
    #[tokio::test]
    async fn a_full_line_refuses_at_once_and_a_freed_turn_admits_the_next() {
        let hashing = Hashing::new(HashingConfig {
            parallel: 1,
            queue: 1,
        });
        let held = hashing.admit().await.expect("the one turn");
        let waiting = tokio::spawn({
            let hashing = hashing.clone();
            async move { hashing.admit().await.map(drop) }
        });
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while hashing.in_line() < 2 {
            assert!(
                std::time::Instant::now() < deadline,
                "the second caller queues"
            );
            tokio::task::yield_now().await;
        }
        let mut third = std::pin::pin!(hashing.admit());
        let first_poll = third
            .as_mut()
            .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()));
        assert!(
            matches!(
                first_poll,
                std::task::Poll::Ready(Err(HashError::Busy {
                    running: 1,
                    waiting: 1
                }))
            ),
            "a full line refuses at once instead of queueing the caller: {first_poll:?}"
        );
        drop(held);
        waiting
            .await
            .expect("ran")
            .expect("the waiting caller gets the freed turn");
        assert_eq!(hashing.in_line(), 0);
    }

    #[tokio::test]
    async fn hashes_are_argon2id_at_the_stated_cost_and_verify() {
        let hashing = Hashing::default();
        let password = NewPassword::parse("correct horse battery").expect("valid");
        let phc = hashing.hash(&password).await.expect("hashed");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(
            decoy().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "the decoy costs what a real hash costs"
        );
        assert!(
            hashing
                .verify("correct horse battery", Some(&phc))
                .await
                .expect("ran")
        );
        assert!(
            !hashing
                .verify("correct horse batter", Some(&phc))
                .await
                .expect("ran")
        );
        assert!(
            !hashing
                .verify("correct horse battery", None)
                .await
                .expect("ran")
        );
        assert_eq!(
            hashing.verifications(),
            3,
            "the decoy is checked like a stored hash"
        );
        assert!(
            !hashing
                .verify("anything", Some("not a hash"))
                .await
                .expect("ran")
        );
        let again = hashing.hash(&password).await.expect("hashed");
        assert_ne!(phc, again, "each hash has its own salt");
    }
}
