//! Background work that keeps the saga's promises when requests die: resuming attempts whose
//! lease ran out, releasing expired holds, and refunding charges that surfaced late.

use super::CheckoutState;
use super::saga::{CheckoutError, Checkouts, Placed, RecoveryReport, Tx, transaction};
use super::store;
use crate::clock::Millis;
use crate::inventory::StockReason;
use crate::inventory::holds;
use crate::payments::RefundOutcome;
use sqlx::Row;
use std::time::Instant;

impl Checkouts {
    /// One recovery pass: every unfinished attempt whose lease ran out (its request crashed
    /// or gave up) is taken over and driven as far as it can go.
    #[tracing::instrument(name = "checkout.recover", skip_all)]
    pub async fn recover(&self, limit: i64) -> Result<RecoveryReport, CheckoutError> {
        let now = self.clock.now();
        let stale = sqlx::query(
            "SELECT id, lease_until FROM checkouts \
             WHERE state NOT IN ('confirmed', 'failed') AND lease_until < $1 \
             ORDER BY lease_until LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?;
        let mut report = RecoveryReport::default();
        for row in stale {
            let id: String = row.try_get("id")?;
            let seen: i64 = row.try_get("lease_until")?;
            // Another worker, or the attempt's own request, may move first.
            self.pause("recover.next").await;
            let lease = now + i64::try_from(self.config.lease.as_millis()).unwrap_or(i64::MAX);
            let taken = transaction!(self, "recover.take", tx => {
                Ok(Tx::Commit(store::take_over(tx, &id, seen, lease).await?))
            });
            if !taken {
                continue;
            }
            report.resumed += 1;
            tracing::info!(checkout = %id, "resuming an interrupted checkout");
            match self.drive(&id, None).await {
                Ok(Placed::Answer { .. }) => report.finished += 1,
                Ok(_) => report.still_pending += 1,
                Err(e) => {
                    report.still_pending += 1;
                    tracing::error!(checkout = %id, error = %e, "recovery failed; will retry");
                }
            }
        }
        Ok(report)
    }

    /// Releases holds past their expiry whose attempt is not moving money. An attempt still
    /// before payment is ended too (`failed: expired`). Returns the attempts released.
    #[tracing::instrument(name = "checkout.sweep", skip_all)]
    pub async fn sweep(&self, limit: i64) -> Result<usize, CheckoutError> {
        let now = self.clock.now();
        let expired = {
            let mut conn = self.db.pool().acquire().await?;
            holds::expired_checkouts(&mut conn, now, limit).await?
        };
        let mut released = 0;
        for id in expired {
            self.pause("sweep.next").await;
            let started = Instant::now();
            let done = transaction!(self, "sweep.release", tx => {
                let state: Option<String> =
                    sqlx::query_scalar("SELECT state FROM checkouts WHERE id = $1")
                        .bind(&id)
                        .fetch_optional(&mut *tx)
                        .await?;
                let state = state.as_deref().and_then(CheckoutState::parse);
                if state.is_some_and(CheckoutState::payment_in_progress) {
                    // The money may be moving: recovery settles it, holds stay until then.
                    return Ok(Tx::Rollback(false));
                }
                if matches!(state, Some(CheckoutState::Claimed | CheckoutState::Reserved)) {
                    let body = serde_json::json!({
                        "checkout_id": id,
                        "status": "failed",
                        "error": "expired",
                        "message": "Your items were held too long without payment and were released.",
                    })
                    .to_string();
                    store::finish(
                        tx,
                        &id,
                        &[CheckoutState::Claimed, CheckoutState::Reserved],
                        &store::Ending {
                            state: CheckoutState::Failed,
                            order_id: None,
                            failure_code: Some("expired"),
                            failure_message: Some("held too long without payment"),
                            status: 410,
                            body: &body,
                        },
                        now,
                    )
                    .await?;
                }
                Ok(Tx::Commit(holds::release(tx, &id, StockReason::Expire, now).await? > 0))
            });
            // Counted as a step of its own: the attempts it ends never reach `drive`.
            let outcome = if done { "released" } else { "skipped" };
            self.metrics.record("expire", outcome, started.elapsed());
            released += usize::from(done);
        }
        Ok(released)
    }

    /// For attempts that failed after their payment started without a known charge, asks the
    /// gateway once more (after the settle window): a charge found there is refunded, so every
    /// captured payment ends as an order or a refund. Returns the charges refunded.
    #[tracing::instrument(name = "checkout.reconcile", skip_all)]
    pub async fn reconcile(&self, limit: i64) -> Result<usize, CheckoutError> {
        let now = self.clock.now();
        let settle = i64::try_from(self.config.settle.as_millis()).unwrap_or(i64::MAX);
        let candidates: Vec<(String, i64, String)> = sqlx::query_as(
            "SELECT id, total_amount, currency FROM checkouts WHERE state = 'failed' \
             AND payment_started_at IS NOT NULL AND charge_id IS NULL \
             AND reconciled_at IS NULL AND updated_at < $1 ORDER BY updated_at LIMIT $2",
        )
        .bind(now - settle)
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?;
        let mut refunded = 0;
        for (id, amount, currency) in candidates {
            let started = Instant::now();
            let record = match self.gateway.lookup(&id).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(checkout = %id, error = %e, "cannot reconcile yet");
                    self.metrics
                        .record("reconcile", "unreachable", started.elapsed());
                    continue;
                }
            };
            self.pause("reconcile.looked_up").await;
            let mut outcome = "clean";
            let mut settled = true;
            if let Some(charge) = record.filter(|r| r.succeeded() && r.refunded_amount < r.amount) {
                tracing::error!(checkout = %id, charge = %charge.id, "a failed checkout was charged; refunding");
                let currency = crate::Currency::parse(&currency)
                    .map_err(|e| CheckoutError::Corrupt(e.to_string()))?;
                let money =
                    crate::Money::new(amount.min(charge.amount - charge.refunded_amount), currency);
                match self
                    .gateway
                    .refund(&format!("refund-{id}"), &charge.id, money)
                    .await
                {
                    Ok(RefundOutcome::Refunded { .. }) => {
                        refunded += 1;
                        outcome = "refunded";
                    }
                    other => {
                        tracing::warn!(checkout = %id, outcome = ?other, "late refund not settled yet");
                        settled = false;
                        outcome = "unsettled";
                    }
                }
            }
            // A crash here leaves a refund made but not recorded: the next pass asks again
            // and finds the charge refunded (or refunds under the same key, answered from
            // the gateway's ledger).
            self.pause("reconcile.settled").await;
            if settled {
                sqlx::query("UPDATE checkouts SET reconciled_at = $2 WHERE id = $1")
                    .bind(&id)
                    .bind(now)
                    .execute(self.db.pool())
                    .await?;
            }
            self.metrics.record("reconcile", outcome, started.elapsed());
        }
        Ok(refunded)
    }

    /// Unfinished attempts by state, with when the least recently moved of each was last
    /// moved, for `/metrics`. Attempts pass through these states in well under a second;
    /// ones that stay are waiting for the gateway or for recovery.
    pub async fn unfinished(&self) -> Result<Vec<(CheckoutState, i64, Millis)>, CheckoutError> {
        // Listed, not `NOT IN (…)`: a list of states is a few ranges of `checkouts_recovery`.
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT state, COUNT(*), MIN(updated_at) FROM checkouts WHERE state IN \
             ('claimed', 'reserved', 'paying', 'payment_unknown', 'paid', 'compensating') \
             GROUP BY state",
        )
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(state, n, oldest)| Some((CheckoutState::parse(&state)?, n, oldest)))
            .collect())
    }
}
