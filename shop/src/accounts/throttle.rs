//! Failed sign-ins, counted per account and per client address in fixed windows in the
//! database (so every node sees the same counts). Once either count reaches its limit,
//! sign-in is refused for the rest of the window without checking the password: guessing
//! stops costing us argon2 work, and the refusal reads the same whether or not the account
//! exists.

use crate::clock::Millis;
use crate::db::Db;

#[derive(Clone, Copy, Debug)]
pub struct ThrottleConfig {
    pub window_ms: Millis,
    /// Failures per account (email) per window.
    pub per_account: i64,
    /// Failures per client address per window.
    pub per_address: i64,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            window_ms: 15 * 60 * 1000,
            per_account: 5,
            per_address: 50,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Throttle {
    db: Db,
    config: ThrottleConfig,
}

fn keys(email: &str, address: &str) -> [String; 2] {
    [format!("account:{email}"), format!("address:{address}")]
}

impl Throttle {
    pub fn new(db: Db, config: ThrottleConfig) -> Self {
        Self { db, config }
    }

    /// When sign-in may be tried again, if it is blocked now.
    pub async fn blocked_until(
        &self,
        email: &str,
        address: &str,
        now: Millis,
    ) -> Result<Option<Millis>, sqlx::Error> {
        let [account, addr] = keys(email, address);
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT key, failures, window_start FROM sign_in_failures WHERE key IN ($1, $2)",
        )
        .bind(&account)
        .bind(&addr)
        .fetch_all(self.db.pool())
        .await?;
        let mut until = None;
        for (key, failures, start) in rows {
            let limit = if key == account {
                self.config.per_account
            } else {
                self.config.per_address
            };
            let end = start + self.config.window_ms;
            if failures >= limit && end > now {
                until = until.max(Some(end));
            }
        }
        Ok(until)
    }

    /// Counts a failed sign-in against both the account and the address.
    pub async fn failed(&self, email: &str, address: &str, now: Millis) -> Result<(), sqlx::Error> {
        let window_start = now - self.config.window_ms;
        for key in keys(email, address) {
            // A new window starts when the old one has run out.
            sqlx::query(
                "INSERT INTO sign_in_failures (key, failures, window_start) VALUES ($1, 1, $2) \
                 ON CONFLICT (key) DO UPDATE SET \
                   failures = CASE WHEN sign_in_failures.window_start <= $3 THEN 1 \
                                   ELSE sign_in_failures.failures + 1 END, \
                   window_start = CASE WHEN sign_in_failures.window_start <= $3 THEN $2 \
                                       ELSE sign_in_failures.window_start END",
            )
            .bind(&key)
            .bind(now)
            .bind(window_start)
            .execute(self.db.pool())
            .await?;
        }
        Ok(())
    }

    /// A successful sign-in clears the account's count (not the address's: one good
    /// password does not buy an address more guesses at other accounts).
    pub async fn succeeded(&self, email: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM sign_in_failures WHERE key = $1")
            .bind(format!("account:{email}"))
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Forgets windows that ran out before `now`.
    pub async fn sweep(&self, now: Millis) -> Result<u64, sqlx::Error> {
        Ok(
            sqlx::query("DELETE FROM sign_in_failures WHERE window_start <= $1")
                .bind(now - self.config.window_ms)
                .execute(self.db.pool())
                .await?
                .rows_affected(),
        )
    }
}
