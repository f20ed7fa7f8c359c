//! Failed password checks (sign-ins, and the current password before a change) and failed
//! second-factor codes (`second_factor`), counted per account and per client address in the database, so every node sees the same counts.
//!
//! Invariants:
//! - Nothing is ever locked. Past its free failures a key (an account, an address) makes
//!   each further try wait a delay since its last failure, doubling with every failure up to
//!   a cap; once the delay has passed the right password gets in. A lock would let anyone
//!   keep an admin or a seller out by guessing wrong on purpose.
//! - A try inside the delay is refused before the password is checked: guessing stops
//!   costing argon2 work, and the refusal reads the same whether or not the account exists.
//! - A try is counted as a failure *before* the password is checked, by one compare-and-set
//!   per key that also decides whether the try may go ahead. So a burst of concurrent guesses
//!   gets exactly the free tries, never one per request in flight; a try that turns out right
//!   gives its count back (`Admitted::succeeded`).

use crate::clock::Millis;
use crate::db::Db;

#[derive(Clone, Copy, Debug)]
pub struct ThrottleConfig {
    /// Failures an account may have before each further try waits.
    pub per_account: i64,
    /// Failures a client address may have before each further try waits.
    pub per_address: i64,
    /// The wait after the first failure past the free ones; each further failure doubles it.
    pub first_delay_ms: Millis,
    /// The longest wait, however many failures.
    pub max_delay_ms: Millis,
    /// A key's failures are forgotten this long after its last one.
    pub forget_after_ms: Millis,
}

impl ThrottleConfig {
    /// The wait before the next try once a key has `failures`, of which `free` cost nothing.
    /// When the next try may be made after `failures`: no bar at all (0) while they are
    /// free. Not `now`: a concurrent try that read the clock a millisecond earlier would find
    /// itself "too early" for a delay of nothing.
    fn not_before(&self, now: Millis, failures: i64, free: i64) -> Millis {
        match self.delay(failures, free) {
            0 => 0,
            delay => now + delay,
        }
    }

    fn delay(&self, failures: i64, free: i64) -> Millis {
        if failures < free {
            return 0;
        }
        let doublings = u32::try_from(failures - free).unwrap_or(u32::MAX).min(62);
        self.first_delay_ms
            .saturating_mul(1_i64 << doublings)
            .min(self.max_delay_ms)
    }
}

impl Default for ThrottleConfig {
    /// Five free tries per account (fifty per address), then 1 s, 2 s, 4 s, … up to five
    /// minutes: a guesser gets a few hundred tries a day at one account, an owner who mistyped
    /// waits seconds.
    fn default() -> Self {
        Self {
            per_account: 5,
            per_address: 50,
            first_delay_ms: 1000,
            max_delay_ms: 5 * 60 * 1000,
            forget_after_ms: 24 * 60 * 60 * 1000,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Throttle {
    db: Db,
    config: ThrottleConfig,
}

/// A key's row: failures so far, when the last one was, and when the next try may be made.
type Row = (i64, Millis, Millis);

/// How often a try re-reads a key that a concurrent try changed under it before giving up
/// (and being refused for the first delay). Each lost race means another try was counted
/// first; tries from one address at the same moment (an office behind one NAT, a burst of
/// sign-ins) race on that address's key, so this covers a burst of that size, not a handful.
const RACES: usize = 64;

/// A try that was let through and counted as a failure in advance.
#[derive(Debug)]
#[must_use = "a right password gives its count back with `succeeded`"]
pub struct Admitted {
    account: String,
    address: Charge,
}

/// What counting a try changed on one key, so that a right password can give it back.
#[derive(Debug)]
struct Charge {
    key: String,
    before: Option<Row>,
    /// The count this try left, and when.
    counted: i64,
    at: Millis,
}

impl Throttle {
    pub fn new(db: Db, config: ThrottleConfig) -> Self {
        Self { db, config }
    }

    /// Lets a password check for `email` from `address` go ahead, counting it as a failure
    /// now; or, inside either key's delay, refuses it with the milliseconds left to wait.
    pub async fn admit(
        &self,
        email: &str,
        address: &str,
        now: Millis,
    ) -> Result<Result<Admitted, Millis>, sqlx::Error> {
        let account = format!("account:{email}");
        let address = format!("address:{address}");
        // A refusal costs only these reads, and counts nothing: waiting out the delay is
        // enough to be heard again.
        for key in [&account, &address] {
            if let Some((_, _, not_before)) = self.row(key).await?
                && not_before > now
            {
                return Ok(Err(not_before - now));
            }
        }
        let free = (self.config.per_account, self.config.per_address);
        if let Err(wait) = self.charge(&account, free.0, now).await? {
            return Ok(Err(wait));
        }
        // The account's count stands even if the address is refused here (a race with
        // another try from it): that try was made.
        match self.charge(&address, free.1, now).await? {
            Ok(charge) => Ok(Ok(Admitted {
                account,
                address: charge,
            })),
            Err(wait) => Ok(Err(wait)),
        }
    }

    /// The right password: the account's failures are forgotten, and the address gets back
    /// the count this try took (one good password does not buy an address more guesses at
    /// other accounts, nor cost it any).
    pub async fn succeeded(&self, admitted: Admitted) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM sign_in_failures WHERE key = $1")
            .bind(&admitted.account)
            .execute(self.db.pool())
            .await?;
        self.give_back(admitted.address).await
    }

    /// A right password for an account that also needs a code: the address gets back the
    /// count this try took, but the account's count stands until the code is right too.
    /// Otherwise whoever knows the password could clear the account's count between guesses
    /// at its code, and walk all million of them.
    pub async fn first_factor_passed(&self, admitted: Admitted) -> Result<(), sqlx::Error> {
        self.give_back(admitted.address).await
    }

    async fn give_back(&self, charge: Charge) -> Result<(), sqlx::Error> {
        let Charge {
            key,
            before,
            counted,
            at,
        } = charge;
        // Only if no other try counted since: otherwise its count and delay stand.
        let query = match before {
            None => sqlx::query(
                "DELETE FROM sign_in_failures WHERE key = $1 AND failures = $2 AND last_failed_at = $3",
            )
            .bind(key)
            .bind(counted)
            .bind(at),
            Some((failures, last, not_before)) => sqlx::query(
                "UPDATE sign_in_failures SET failures = $4, last_failed_at = $5, not_before = $6 \
                 WHERE key = $1 AND failures = $2 AND last_failed_at = $3",
            )
            .bind(key)
            .bind(counted)
            .bind(at)
            .bind(failures)
            .bind(last)
            .bind(not_before),
        };
        query.execute(self.db.pool()).await?;
        Ok(())
    }

    /// Forgets keys whose last failure is older than `forget_after_ms`.
    pub async fn sweep(&self, now: Millis) -> Result<u64, sqlx::Error> {
        Ok(
            sqlx::query("DELETE FROM sign_in_failures WHERE last_failed_at <= $1")
                .bind(now - self.config.forget_after_ms)
                .execute(self.db.pool())
                .await?
                .rows_affected(),
        )
    }

    async fn row(&self, key: &str) -> Result<Option<Row>, sqlx::Error> {
        sqlx::query_as(
            "SELECT failures, last_failed_at, not_before FROM sign_in_failures WHERE key = $1",
        )
        .bind(key)
        .fetch_optional(self.db.pool())
        .await
    }

    /// Counts one failure against `key` if its delay has passed: a compare-and-set on the
    /// row as read, so two concurrent tries cannot both take the same free place.
    async fn charge(
        &self,
        key: &str,
        free: i64,
        now: Millis,
    ) -> Result<Result<Charge, Millis>, sqlx::Error> {
        for _ in 0..RACES {
            let before = self.row(key).await?;
            let (changed, counted) = match before {
                Some((_, _, not_before)) if not_before > now => return Ok(Err(not_before - now)),
                None => {
                    let changed = sqlx::query(
                        "INSERT INTO sign_in_failures (key, failures, last_failed_at, not_before) \
                         VALUES ($1, 1, $2, $3) ON CONFLICT (key) DO NOTHING",
                    )
                    .bind(key)
                    .bind(now)
                    .bind(self.config.not_before(now, 1, free))
                    .execute(self.db.pool())
                    .await?
                    .rows_affected();
                    (changed, 1)
                }
                Some((failures, last, _)) => {
                    // Failures older than `forget_after_ms` start the count again.
                    let counted = if last + self.config.forget_after_ms <= now {
                        1
                    } else {
                        failures + 1
                    };
                    let changed = sqlx::query(
                        "UPDATE sign_in_failures \
                         SET failures = $2, last_failed_at = $3, not_before = $4 \
                         WHERE key = $1 AND failures = $5 AND last_failed_at = $6",
                    )
                    .bind(key)
                    .bind(counted)
                    .bind(now)
                    .bind(self.config.not_before(now, counted, free))
                    .bind(failures)
                    .bind(last)
                    .execute(self.db.pool())
                    .await?
                    .rows_affected();
                    (changed, counted)
                }
            };
            if changed == 1 {
                return Ok(Ok(Charge {
                    key: key.to_owned(),
                    before,
                    counted,
                    at: now,
                }));
            }
        }
        Ok(Err(self.config.first_delay_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_past_the_free_failures_up_to_the_cap() {
        let config = ThrottleConfig::default();
        let delays: Vec<Millis> = (3..=16).map(|f| config.delay(f, 5)).collect();
        assert_eq!(
            delays,
            [
                0, 0, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000,
                300_000, 300_000, 300_000
            ]
        );
        assert_eq!(config.delay(i64::MAX, 5), 300_000, "no overflow");
    }
}
