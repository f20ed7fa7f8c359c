//! Group commit for the reserve step: one writer task takes every reservation that is waiting
//! and writes them in one transaction.
//!
//! On one hot SKU, reservations made one transaction each queue for the same row (PostgreSQL)
//! or the same write lock (SQLite) and pay a commit apiece. Here, while one batch commits, the
//! next ones gather; a batch moves its attempts from `claimed` to `reserved` with one
//! statement, holds stock for all single-line attempts of a SKU with three set-based
//! statements when one warehouse has their total, and falls back to reserving attempt by
//! attempt (each in a savepoint) when it does not, or for multi-line carts. An attempt whose
//! stock runs short is put back to `claimed` in the same transaction, and the saga fails it
//! as it always has. Either way every attempt's holds and state commit together.

use super::faults::FaultPoints;
use super::saga::CheckoutError;
use crate::catalog::VariantId;
use crate::clock::Millis;
use crate::db::{AnyConnection, Db, is_retryable, placeholders};
use crate::inventory::holds::{self, HoldError};
use sqlx::Acquire;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// The most attempts written in one transaction.
const MAX_BATCH: usize = 256;

/// What became of one attempt's reservation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reserved {
    /// Held, and the attempt is `reserved`.
    Held,
    /// The attempt was no longer `claimed` (someone else moved it): nothing written.
    Moved,
    /// A line ran short; the attempt is still `claimed` and nothing is held.
    Short { variant: VariantId, available: i64 },
}

struct Job {
    checkout: String,
    lines: Vec<(VariantId, i64)>,
    /// Move the attempt from `claimed` to `reserved` with its holds (the saga always does;
    /// the hot-SKU benchmark holds stock for ids that are not attempts).
    claim: bool,
    reply: oneshot::Sender<Result<Reserved, CheckoutError>>,
}

/// Timings a batch stamps on its attempts.
#[derive(Clone, Copy, Debug)]
pub struct Stamp {
    pub now: Millis,
    pub lease_until: Millis,
    pub hold_until: Millis,
}

/// The handle requests use; the writer task lives as long as any handle does.
#[derive(Clone, Debug)]
pub struct ReserveBatcher {
    jobs: mpsc::Sender<Job>,
}

impl ReserveBatcher {
    /// Starts the writer task. `stamp` gives the current times when a batch starts.
    pub fn spawn(db: Db, stamp: impl Fn() -> Stamp + Send + 'static) -> Self {
        Self::spawn_with_faults(db, stamp, None)
    }

    /// `spawn`, with the simulation's hook checked before each batch commits (it can only
    /// fail the batch as a busy database would: this task is no request's, so no crash).
    pub(super) fn spawn_with_faults(
        db: Db,
        stamp: impl Fn() -> Stamp + Send + 'static,
        faults: Option<Arc<dyn FaultPoints>>,
    ) -> Self {
        let (jobs, mut queue) = mpsc::channel::<Job>(4 * MAX_BATCH);
        tokio::spawn(async move {
            while let Some(first) = queue.recv().await {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match queue.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
                write(&db, batch, stamp(), faults.as_deref()).await;
            }
        });
        Self { jobs }
    }

    /// Reserves `lines` for the attempt `checkout` in the next batch, moving it from
    /// `claimed` to `reserved` in the same transaction.
    pub async fn reserve(
        &self,
        checkout: &str,
        lines: Vec<(VariantId, i64)>,
    ) -> Result<Reserved, CheckoutError> {
        self.submit(checkout, lines, true).await
    }

    /// Holds `lines` under `holder` in the next batch, without touching any attempt.
    pub async fn hold(
        &self,
        holder: &str,
        lines: Vec<(VariantId, i64)>,
    ) -> Result<Reserved, CheckoutError> {
        self.submit(holder, lines, false).await
    }

    async fn submit(
        &self,
        checkout: &str,
        lines: Vec<(VariantId, i64)>,
        claim: bool,
    ) -> Result<Reserved, CheckoutError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            checkout: checkout.to_string(),
            lines,
            claim,
            reply,
        };
        if self.jobs.send(job).await.is_err() {
            return Err(CheckoutError::Corrupt(
                "the reservation writer stopped".into(),
            ));
        }
        answer.await.unwrap_or_else(|_| {
            Err(CheckoutError::Corrupt(
                "the reservation writer stopped".into(),
            ))
        })
    }
}

/// Writes one batch, retrying the whole transaction on a transient conflict, and answers
/// every job.
async fn write(db: &Db, batch: Vec<Job>, stamp: Stamp, faults: Option<&dyn FaultPoints>) {
    let mut outcome = Err(CheckoutError::Corrupt("not run".into()));
    for attempt in 0..4 {
        outcome = write_once(db, &batch, stamp, faults).await;
        match &outcome {
            Err(CheckoutError::Database(e)) if is_retryable(e) && attempt < 3 => continue,
            _ => break,
        }
    }
    match outcome {
        Ok(results) => {
            for (job, result) in batch.into_iter().zip(results) {
                let _ = job.reply.send(Ok(result));
            }
        }
        Err(e) => {
            tracing::error!(error = %e, jobs = batch.len(), "reservation batch failed");
            for job in batch {
                let _ = job.reply.send(Err(e.clone()));
            }
        }
    }
}

async fn write_once(
    db: &Db,
    batch: &[Job],
    stamp: Stamp,
    faults: Option<&dyn FaultPoints>,
) -> Result<Vec<Reserved>, CheckoutError> {
    let mut tx = db.begin_write().await?;
    let moved = claim_all(&mut tx, batch, stamp).await?;
    let mut results: Vec<Reserved> = batch
        .iter()
        .map(|j| {
            if !j.claim || moved.contains(&j.checkout) {
                Reserved::Held
            } else {
                Reserved::Moved
            }
        })
        .collect();

    // Single-line attempts, grouped by SKU, in arrival order: set-based when they fit.
    let mut groups: HashMap<VariantId, Vec<usize>> = HashMap::new();
    let mut singles_order = Vec::new();
    for (i, job) in batch.iter().enumerate() {
        if results[i] != Reserved::Held {
            continue;
        }
        if let [(variant, _)] = job.lines.as_slice() {
            let group = groups.entry(*variant).or_default();
            if group.is_empty() {
                singles_order.push(*variant);
            }
            group.push(i);
        }
    }
    for variant in singles_order {
        let members = &groups[&variant];
        let holders: Vec<(&str, i64)> = members
            .iter()
            .map(|&i| (batch[i].checkout.as_str(), batch[i].lines[0].1))
            .collect();
        let fitted =
            holds::reserve_batch(&mut tx, variant, &holders, stamp.hold_until, stamp.now).await?;
        if !fitted {
            for &i in members {
                results[i] = one_by_one(&mut tx, &batch[i], stamp).await?;
            }
        }
    }
    // Multi-line attempts, each all-or-nothing in its own savepoint.
    for (i, job) in batch.iter().enumerate() {
        if results[i] == Reserved::Held && job.lines.len() != 1 {
            results[i] = one_by_one(&mut tx, job, stamp).await?;
        }
    }
    if let Some(faults) = faults {
        faults.check("reserve.batch").await?;
    }
    tx.commit().await?;
    Ok(results)
}

/// Moves every job's attempt from `claimed` to `reserved` in one statement; returns the ids
/// that moved.
async fn claim_all(
    conn: &mut AnyConnection,
    batch: &[Job],
    stamp: Stamp,
) -> Result<Vec<String>, sqlx::Error> {
    let batch: Vec<&Job> = batch.iter().filter(|j| j.claim).collect();
    if batch.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "UPDATE checkouts SET state = 'reserved', lease_until = $1, updated_at = $2 \
         WHERE state = 'claimed' AND id IN ({}) RETURNING id",
        placeholders(3, batch.len())
    );
    let mut query = sqlx::query_scalar::<_, String>(&sql)
        .bind(stamp.lease_until)
        .bind(stamp.now);
    for job in &batch {
        query = query.bind(&job.checkout);
    }
    query.fetch_all(&mut *conn).await
}

/// Reserves one attempt in a savepoint; on a shortfall rolls its holds back and puts the
/// attempt back to `claimed`.
async fn one_by_one(
    conn: &mut AnyConnection,
    job: &Job,
    stamp: Stamp,
) -> Result<Reserved, CheckoutError> {
    let mut savepoint = conn.begin().await?;
    match holds::reserve(
        &mut savepoint,
        &job.checkout,
        &job.lines,
        stamp.hold_until,
        stamp.now,
    )
    .await
    {
        Ok(()) => {
            savepoint.commit().await?;
            Ok(Reserved::Held)
        }
        Err(HoldError::OutOfStock {
            variant, available, ..
        }) => {
            savepoint.rollback().await?;
            if job.claim {
                sqlx::query(
                    "UPDATE checkouts SET state = 'claimed' WHERE id = $1 AND state = 'reserved'",
                )
                .bind(&job.checkout)
                .execute(&mut *conn)
                .await?;
            }
            Ok(Reserved::Short { variant, available })
        }
        Err(e) => Err(e.into()),
    }
}
