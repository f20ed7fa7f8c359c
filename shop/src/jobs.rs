//! Periodic jobs that the whole cluster should run once per period, not once per node (the
//! "customers also bought" recompute, the sweeps of sessions, links and what the retention settings no longer keep).
//!
//! Before a pass, a node takes the job's lease in `job_leases` with one conditional upsert:
//! it succeeds only if nobody holds the lease or the holder's lease has run out. The lease
//! lasts the job's period, so however many nodes tick, one of them runs the job per period;
//! if that node dies, the next period's taker is another. (Work that is shared out rather
//! than done once, such as the outbox, checkouts, mail and picture fetches, leases its rows
//! instead.)

use crate::clock::{Clock, Millis};
use crate::db::Db;
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct Jobs {
    db: Db,
    clock: Arc<dyn Clock>,
    /// This node, as the table names it (host, process and a random tag).
    holder: String,
}

impl Jobs {
    pub fn new(db: Db, clock: Arc<dyn Clock>, holder: impl Into<String>) -> Self {
        Self {
            db,
            clock,
            holder: holder.into(),
        }
    }

    /// A name for this process: the host, the process id and a random tag (two processes
    /// on one host, or a restarted one, are different holders).
    pub fn node_name() -> String {
        let host = std::env::var("HOSTNAME")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "node".into());
        let tag: u32 = rand::random();
        format!("{host}/{}/{tag:08x}", std::process::id())
    }

    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Takes `job`'s lease for `period` if it is free; returns whether this node should run
    /// the job now.
    pub async fn take(&self, job: &str, period: Millis) -> Result<bool, sqlx::Error> {
        let now = self.clock.now();
        let taken = sqlx::query(
            "INSERT INTO job_leases (name, holder, until, runs, taken_at) VALUES ($1, $2, $3, 1, $4) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until, \
             runs = job_leases.runs + 1, taken_at = excluded.taken_at \
             WHERE job_leases.until <= excluded.taken_at",
        )
        .bind(job)
        .bind(&self.holder)
        .bind(now + period.max(1))
        .bind(now)
        .execute(self.db.pool())
        .await?
        .rows_affected();
        Ok(taken == 1)
    }

    /// Who holds `job`'s lease, until when, and how many passes it has had.
    pub async fn lease(&self, job: &str) -> Result<Option<(String, Millis, i64)>, sqlx::Error> {
        sqlx::query_as("SELECT holder, until, runs FROM job_leases WHERE name = $1")
            .bind(job)
            .fetch_optional(self.db.pool())
            .await
    }
}
