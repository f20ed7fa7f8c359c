//! The checkout saga's steps. See the module documentation for the design.

use super::faults::FaultPoints;
use super::store::{self, Attempt, Ending};
use super::{CheckoutRequest, CheckoutState, CheckoutView, IdempotencyKey};
use crate::cart::{self, CartId};
use crate::catalog::CatalogError;
use crate::clock::{Clock, Millis};
use crate::db::Db;
use crate::events::{self, ORDER_CONFIRMED};
// `Failure` here is a failed attempt (below); the trait is `failure::Failure`.
use crate::failure::{self, FailureKind};
use crate::inventory::StockReason;
use crate::inventory::holds::{self, HoldError};
use crate::orders;
use crate::payments::{CardNumber, ChargeOutcome, Gateway, RefundOutcome};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

use CheckoutState::*;

/// Runs `$body` (an expression of type `Result<Tx<T>, CheckoutError>` that uses `$tx`, a
/// `&mut AnyConnection`) in a write transaction: committed or rolled back as it says, rolled
/// back on `Err`, and run again (a bounded number of times) when the database reports a
/// transient conflict. A macro rather than a function taking an async closure, because the
/// futures of such closures cannot be proven `Send` for every borrow, and axum needs `Send`.
macro_rules! transaction {
    ($service:expr, $point:literal, $tx:ident => $body:expr) => {{
        let mut tries = 0;
        loop {
            tries += 1;
            let mut conn = $service.db.begin_write().await?;
            // Fault points (see `faults`): `.begin` may fail like a conflict on the first
            // statement, `.commit` like one at commit, and either may crash the caller with
            // the transaction open (it rolls back when the future is dropped).
            let result: Result<
                $crate::checkout::saga::Tx<_>,
                $crate::checkout::saga::CheckoutError,
            > = match $service.check(concat!($point, ".begin")).await {
                Err(e) => Err(e.into()),
                Ok(()) => {
                    let $tx: &mut $crate::db::AnyConnection = &mut conn;
                    async { $body }.await
                }
            };
            match result {
                Ok($crate::checkout::saga::Tx::Rollback(value)) => {
                    conn.rollback().await?;
                    break value;
                }
                Ok($crate::checkout::saga::Tx::Commit(value)) => {
                    let committed = match $service.check(concat!($point, ".commit")).await {
                        Ok(()) => conn.commit().await,
                        Err(e) => Err(e),
                    };
                    match committed {
                        Ok(()) => break value,
                        Err(e) if $crate::db::is_retryable(&e) && tries < 4 => continue,
                        Err(e) => return Err(e.into()),
                    }
                }
                Err($crate::checkout::saga::CheckoutError::Database(e))
                    if $crate::db::is_retryable(&e) && tries < 4 =>
                {
                    let _ = conn.rollback().await;
                    continue;
                }
                Err(e) => {
                    let _ = conn.rollback().await;
                    return Err(e);
                }
            }
        }
    }};
}
pub(super) use transaction;

/// Timings of the saga.
#[derive(Clone, Debug)]
pub struct CheckoutConfig {
    /// How long stock is held for a checkout that has not started paying.
    pub hold_ttl: Duration,
    /// How long holds last once payment starts (they are not swept while money moves).
    pub payment_hold_ttl: Duration,
    /// How long the request that started an attempt owns it before the recovery worker may
    /// take over. Must exceed the longest gateway call with its retries.
    pub lease: Duration,
    /// How long after a failed attempt whose payment had started `reconcile` checks the
    /// gateway once more for a charge that surfaced late.
    pub settle: Duration,
    /// Test-only fault injection: abort the process right after committing this state, as a
    /// crash at that recovery point would.
    pub crash_after: Option<CheckoutState>,
    /// Whether catalog prices include tax (`tax.prices_include_tax`).
    pub tax_mode: crate::pricing::TaxMode,
}

impl Default for CheckoutConfig {
    fn default() -> Self {
        Self {
            hold_ttl: Duration::from_secs(15 * 60),
            payment_hold_ttl: Duration::from_secs(60 * 60),
            lease: Duration::from_secs(60),
            settle: Duration::from_secs(60),
            crash_after: None,
            tax_mode: crate::pricing::TaxMode::Exclusive,
        }
    }
}

/// What a `place_order` call (or a status poll) comes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placed {
    /// The attempt is over; this is its answer, the same bytes for every request with its key.
    Answer {
        checkout_id: String,
        status: u16,
        body: String,
    },
    /// This request started the attempt and it is still settling (the payment's outcome is
    /// not known yet); poll the checkout.
    Pending {
        checkout_id: String,
        state: CheckoutState,
    },
    /// Another request with the same key is running it now.
    InFlight {
        checkout_id: String,
        state: CheckoutState,
    },
}

/// Failures that are not an attempt's outcome (nothing is stored for them).
#[derive(Clone, Debug, thiserror::Error)]
pub enum CheckoutError {
    #[error("this Idempotency-Key was already used for a different checkout request")]
    KeyReused,
    #[error("no such cart")]
    CartNotFound,
    #[error("no such checkout")]
    NotFound,
    #[error("checkout data is corrupt: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Database(Arc<sqlx::Error>),
}

impl failure::Failure for CheckoutError {
    fn kind(&self) -> FailureKind {
        match self {
            CheckoutError::KeyReused => FailureKind::Refused,
            CheckoutError::CartNotFound | CheckoutError::NotFound => FailureKind::NotFound,
            CheckoutError::Corrupt(_) => FailureKind::Internal,
            CheckoutError::Database(e) => e.kind(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            CheckoutError::KeyReused => "idempotency_key_reused",
            _ => self.kind().code(),
        }
    }

    fn public_message(&self) -> String {
        match self {
            CheckoutError::KeyReused => {
                "This Idempotency-Key was already used for a different request.".into()
            }
            CheckoutError::CartNotFound => "We couldn't find that cart.".into(),
            CheckoutError::NotFound => "We couldn't find that checkout.".into(),
            CheckoutError::Corrupt(_) => self.kind().plain_message().into(),
            CheckoutError::Database(e) => e.public_message(),
        }
    }
}

impl From<sqlx::Error> for CheckoutError {
    fn from(e: sqlx::Error) -> Self {
        CheckoutError::Database(Arc::new(e))
    }
}

impl From<CatalogError> for CheckoutError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::Database(db) => CheckoutError::Database(db),
            other => CheckoutError::Corrupt(other.to_string()),
        }
    }
}

impl From<HoldError> for CheckoutError {
    fn from(e: HoldError) -> Self {
        match e {
            HoldError::Database(db) => db.into(),
            other => CheckoutError::Corrupt(other.to_string()),
        }
    }
}

impl From<orders::OrderError> for CheckoutError {
    fn from(e: orders::OrderError) -> Self {
        match e {
            orders::OrderError::Database(db) => CheckoutError::Database(db),
            other => CheckoutError::Corrupt(other.to_string()),
        }
    }
}

/// What one recovery pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    pub resumed: usize,
    pub finished: usize,
    pub still_pending: usize,
}

/// The checkout service. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Checkouts {
    pub(super) db: Db,
    pub(super) gateway: Gateway,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) config: CheckoutConfig,
    /// Group commit for the reserve step (see `batch`).
    reserver: super::batch::ReserveBatcher,
    /// Step outcomes and durations on this node (shared by clones).
    pub(super) metrics: Arc<super::StepMetrics>,
    /// The deterministic simulation's hook (see `faults`); `None` in production.
    pub(super) faults: Option<Arc<dyn FaultPoints>>,
}

/// What the logs say of a checkout's `Idempotency-Key`: at most its first half, and at most
/// 8 characters. Enough to find a client's retries of one checkout in the logs; never the
/// whole key, which (with the request) replays the checkout's answer.
fn key_prefix(key: &IdempotencyKey) -> &str {
    let key = key.as_str();
    // Keys are ASCII (`parse_token`), so any index is a character boundary.
    key.get(..(key.len() / 2).min(8)).unwrap_or("")
}

/// How a transaction body wants its transaction to end.
pub(super) enum Tx<T> {
    Commit(T),
    Rollback(T),
}

/// A step that has run, waiting to be counted once its outcome is known.
struct Ran {
    step: &'static str,
    took: Duration,
}

impl Ran {
    fn new(step: &'static str, started: Instant) -> Self {
        Self {
            step,
            took: started.elapsed(),
        }
    }
}

/// Where a step left the attempt.
enum Step {
    /// It moved on (or someone else moved it): look again.
    Continue,
    /// Stop here with this result.
    Stop(Placed),
}

/// A failure that ends an attempt, with the answer to store.
pub(super) struct Failure {
    pub code: &'static str,
    pub message: String,
    pub status: u16,
    pub extra: serde_json::Value,
}

impl Failure {
    pub fn new(code: &'static str, status: u16, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            status,
            extra: json!({}),
        }
    }

    pub fn with(mut self, extra: serde_json::Value) -> Self {
        self.extra = extra;
        self
    }

    /// How an attempt that ends in this failure is recorded, answering every later request
    /// with its key with `body`.
    pub fn ending<'a>(&'a self, body: &'a str) -> Ending<'a> {
        Ending {
            state: Failed,
            order_id: None,
            failure_code: Some(self.code),
            failure_message: Some(&self.message),
            status: self.status,
            body,
        }
    }

    /// The card was refused with the gateway's `code`.
    fn declined(code: &str) -> Self {
        Failure::new(
            "card_declined",
            402,
            format!(
                "Your card was declined ({}). Nothing was charged.",
                code.replace('_', " ")
            ),
        )
        .with(json!({ "decline_code": code }))
    }
}

pub(super) fn ms(d: Duration) -> Millis {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Checkouts {
    /// The service. Starts the reservation writer, so it must be called inside a Tokio
    /// runtime.
    pub fn new(db: Db, gateway: Gateway, clock: Arc<dyn Clock>, config: CheckoutConfig) -> Self {
        Self::build(db, gateway, clock, config, None)
    }

    /// The service with the deterministic simulation's hook at every fault point (see
    /// `faults`). Must be called inside a Tokio runtime.
    pub fn simulated(
        db: Db,
        gateway: Gateway,
        clock: Arc<dyn Clock>,
        config: CheckoutConfig,
        faults: Arc<dyn FaultPoints>,
    ) -> Self {
        Self::build(db, gateway, clock, config, Some(faults))
    }

    fn build(
        db: Db,
        gateway: Gateway,
        clock: Arc<dyn Clock>,
        config: CheckoutConfig,
        faults: Option<Arc<dyn FaultPoints>>,
    ) -> Self {
        let stamp = {
            let clock = clock.clone();
            let (lease, hold) = (ms(config.lease), ms(config.hold_ttl));
            move || {
                let now = clock.now();
                super::batch::Stamp {
                    now,
                    lease_until: now + lease,
                    hold_until: now + hold,
                }
            }
        };
        Self {
            reserver: super::batch::ReserveBatcher::spawn_with_faults(
                db.clone(),
                stamp,
                faults.clone(),
            ),
            db,
            gateway,
            clock,
            config,
            metrics: Arc::default(),
            faults,
        }
    }

    /// Moves the attempt from one of `from` to `to` under a fresh lease (every step holds one
    /// while it works). False if someone else moved it first.
    async fn advance(
        &self,
        tx: &mut crate::db::AnyConnection,
        a: &Attempt,
        from: &[CheckoutState],
        to: CheckoutState,
        now: Millis,
    ) -> Result<bool, sqlx::Error> {
        store::advance(tx, &a.id, from, to, now + ms(self.config.lease), now).await
    }

    /// A fault point with no transaction open (see `faults`): nothing without a hook.
    pub(super) async fn pause(&self, point: &'static str) {
        if let Some(faults) = &self.faults {
            faults.pause(point).await;
        }
    }

    /// A fault point inside a write transaction (see `faults`): `Ok` without a hook.
    pub(super) async fn check(&self, point: &'static str) -> Result<(), sqlx::Error> {
        match &self.faults {
            Some(faults) => faults.check(point).await,
            None => Ok(()),
        }
    }

    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// Counts the saga's steps on `recorder` (the node's `/metrics`) from now on.
    pub fn recording_to(mut self, recorder: Arc<dyn ::metrics::Recorder + Send + Sync>) -> Self {
        self.metrics = Arc::new(super::StepMetrics::new(recorder));
        self
    }

    /// Places an order for the request's cart, once per `key` however often it is called.
    #[tracing::instrument(name = "checkout", skip_all, fields(key = key_prefix(key), attempt = tracing::field::Empty))]
    pub async fn place_order(
        &self,
        key: &IdempotencyKey,
        request: &CheckoutRequest,
    ) -> Result<Placed, CheckoutError> {
        let started = Instant::now();
        let (outcome, placed) = match self.claim(key, request).await {
            // Whether the new attempt lives on or ended at once (an empty cart, a changed
            // total) is read by `drive` when it loads the attempt.
            Ok(Ok(id)) => {
                tracing::Span::current().record("attempt", id.as_str());
                let claim = Ran::new("claim", started);
                return self
                    .drive_after(&id, Some(&request.card), Some(claim))
                    .await;
            }
            Ok(Err(placed)) => match placed {
                Placed::Answer { .. } => ("replayed", Ok(placed)),
                _ => ("in_flight", Ok(placed)),
            },
            Err(e) => match e {
                CheckoutError::KeyReused => ("key_reused", Err(e)),
                CheckoutError::CartNotFound => ("cart_not_found", Err(e)),
                _ => ("error", Err(e)),
            },
        };
        self.metrics.record("claim", outcome, started.elapsed());
        placed
    }

    /// The attempt an earlier submission of this cart's form with `key` made, if any: a
    /// resubmitted form (a double click) that can no longer be checked again (the first one
    /// already turned the cart into an order) is answered with it.
    pub async fn attempt_for(
        &self,
        cart: &CartId,
        key: &IdempotencyKey,
    ) -> Result<Option<String>, CheckoutError> {
        let mut conn = self.db.pool().acquire().await?;
        Ok(
            store::find(&mut conn, &format!("cart:{cart}"), key.as_str())
                .await?
                .map(|a| a.id),
        )
    }

    /// The attempt as the status page shows it.
    pub async fn view(&self, id: &str) -> Result<CheckoutView, CheckoutError> {
        let mut conn = self.db.pool().acquire().await?;
        let a = store::load(&mut conn, id)
            .await?
            .ok_or(CheckoutError::NotFound)?;
        let order_token: Option<String> = match &a.order_id {
            Some(order) => orders::token_of(&mut conn, order).await?.flatten(),
            None => None,
        };
        Ok(CheckoutView {
            order_token,
            id: a.id,
            state: a.state,
            total: a.total,
            lines: a.lines,
            email: a.email,
            order_id: a.order_id,
            failure_code: a.failure_code,
            failure_message: a.failure_message,
        })
    }

    /// Runs the attempt from wherever it is until it ends or must wait. `card` is present
    /// only in the request that started it: without it (recovery), an attempt that has not
    /// reached the gateway yet can only be abandoned.
    #[tracing::instrument(name = "checkout.drive", skip_all, fields(attempt = id))]
    pub(super) async fn drive(
        &self,
        id: &str,
        card: Option<&CardNumber>,
    ) -> Result<Placed, CheckoutError> {
        self.drive_after(id, card, None).await
    }

    /// `drive`, with the step that ran just before it (`claim`) still to be counted: its
    /// outcome is the state the attempt is found in.
    async fn drive_after(
        &self,
        id: &str,
        card: Option<&CardNumber>,
        mut ran: Option<Ran>,
    ) -> Result<Placed, CheckoutError> {
        // Each step moves the attempt at least one state forward, so this ends; the bound is
        // a guard against a bug looping forever.
        for _ in 0..32 {
            let loaded: Result<_, sqlx::Error> = async {
                let mut conn = self.db.pool().acquire().await?;
                store::load(&mut conn, id).await
            }
            .await;
            let attempt = match loaded {
                Ok(Some(attempt)) => attempt,
                Ok(None) => {
                    self.count(ran.take(), "error");
                    return Err(CheckoutError::NotFound);
                }
                Err(e) => {
                    self.count(ran.take(), "error");
                    return Err(e.into());
                }
            };
            // The step that just ran ended where the attempt is now.
            let outcome = match (attempt.state, attempt.failure_code.as_deref()) {
                (Failed, Some(code)) => code,
                (state, _) => state.as_str(),
            };
            self.count(ran.take(), outcome);
            if !attempt.state.is_terminal() {
                // Another driver of this attempt (recovery, a duplicate request) may run here.
                self.pause(step_point(attempt.state, card.is_some())).await;
            }
            let started = Instant::now();
            let (name, step) = match (attempt.state, card) {
                (Confirmed | Failed, _) => return Ok(replay_or_in_flight(attempt)),
                (Claimed, Some(_)) => ("reserve", self.reserve(&attempt).await),
                (Reserved, Some(card)) => ("pay", self.pay(&attempt, card).await),
                (Claimed | Reserved, None) => {
                    let failure = Failure::new(
                        "checkout_interrupted",
                        503,
                        "Checkout was interrupted before payment; nothing was charged. \
                         Please try again.",
                    );
                    let step = self.fail(&attempt, &[Claimed, Reserved], failure).await;
                    ("abandon", step)
                }
                (Paying | PaymentUnknown, _) => ("settle", self.settle_payment(&attempt).await),
                (Paid, _) => ("confirm", self.confirm(&attempt).await),
                (Compensating, _) => ("compensate", self.compensate(&attempt).await),
            };
            let this = Some(Ran::new(name, started));
            match step {
                Ok(Step::Continue) => ran = this,
                Ok(Step::Stop(placed)) => {
                    self.count(this, "pending");
                    return Ok(placed);
                }
                Err(e) => {
                    self.count(this, "error");
                    return Err(e);
                }
            }
        }
        Err(CheckoutError::Corrupt(format!(
            "checkout {id} did not settle"
        )))
    }

    fn count(&self, ran: Option<Ran>, outcome: &str) {
        if let Some(ran) = ran {
            self.metrics.record(ran.step, outcome, ran.took);
        }
    }

    /// Step 2: hold the stock (in the next group-committed batch).
    #[tracing::instrument(name = "checkout.reserve", skip_all)]
    async fn reserve(&self, a: &Attempt) -> Result<Step, CheckoutError> {
        let lines: Vec<_> = a.lines.iter().map(|l| (l.variant_id, l.quantity)).collect();
        let reserved = self.reserver.reserve(&a.id, lines).await?;
        // Held and committed, but the caller may die before it hears so.
        self.pause("reserve.answered").await;
        match reserved {
            super::batch::Reserved::Held => {
                self.crash_point(Reserved);
                Ok(Step::Continue)
            }
            super::batch::Reserved::Moved => Ok(Step::Continue),
            super::batch::Reserved::Short { variant, available } => {
                let line = a.lines.iter().find(|l| l.variant_id == variant);
                let sku = line.map(|l| l.sku.to_string()).unwrap_or_default();
                let title = line.map(|l| l.title.as_str()).unwrap_or("An item");
                let failure = Failure::new(
                    "out_of_stock",
                    409,
                    format!("{title} ({sku}) sold out: only {available} left."),
                )
                .with(json!({ "sku": sku, "available": available }));
                self.fail(a, &[Claimed], failure).await
            }
        }
    }

    /// Step 3: take the money.
    #[tracing::instrument(name = "checkout.pay", skip_all)]
    async fn pay(&self, a: &Attempt, card: &CardNumber) -> Result<Step, CheckoutError> {
        let now = self.clock.now();
        let started = transaction!(self, "pay.start", tx => {
            if !self.advance(tx, a, &[Reserved], Paying, now)
            .await?
            {
                return Ok(Tx::Rollback(false));
            }
            store::mark_payment_started(tx, &a.id, now).await?;
            holds::extend(tx, &a.id, now + ms(self.config.payment_hold_ttl), now).await?;
            Ok(Tx::Commit(true))
        });
        if !started {
            return Ok(Step::Continue);
        }
        self.crash_point(Paying);
        self.pause("pay.charge").await;
        // Still ours to charge? A request that stalled here past its lease may find that
        // recovery has asked the gateway about this key meanwhile, found no charge and ended
        // the attempt: a charge sent now would take money for a checkout already failed.
        let state: Option<String> = sqlx::query_scalar("SELECT state FROM checkouts WHERE id = $1")
            .bind(&a.id)
            .fetch_optional(self.db.pool())
            .await?;
        if state.as_deref() != Some(Paying.as_str()) {
            return Ok(Step::Continue);
        }
        // The attempt's id is the gateway's idempotency key: fixed, and stored, before the call.
        let outcome = match self.gateway.charge(&a.id, a.total, card).await {
            Ok(o) => o,
            Err(e) => {
                tracing::error!(checkout = %a.id, error = %e, "the gateway refused the charge request");
                ChargeOutcome::Unknown {
                    reason: e.to_string(),
                }
            }
        };
        // The money may have moved; a crash here leaves only the gateway knowing.
        self.pause("pay.answered").await;
        let now = self.clock.now();
        match outcome {
            ChargeOutcome::Succeeded { charge_id } => {
                let recorded = transaction!(self, "pay.paid", tx => {
                    let moved = self.advance(tx, a, &[Paying], Paid, now).await?;
                    if moved {
                        store::set_charge(tx, &a.id, &charge_id).await?;
                    }
                    Ok(Tx::Commit(moved))
                });
                if !recorded {
                    self.refund_if_failed(a, &charge_id).await?;
                }
                self.crash_point(Paid);
                Ok(Step::Continue)
            }
            ChargeOutcome::Declined { code } => {
                self.fail(a, &[Paying], Failure::declined(&code)).await
            }
            ChargeOutcome::NotSent { reason } => {
                tracing::warn!(checkout = %a.id, %reason, "payment gateway unreachable");
                let failure = Failure::new(
                    "payment_unavailable",
                    503,
                    "Payments are unavailable right now; nothing was charged. Please try again shortly.",
                );
                self.fail(a, &[Paying], failure).await
            }
            ChargeOutcome::Unknown { reason } => {
                tracing::warn!(checkout = %a.id, %reason, "payment outcome unknown");
                transaction!(self, "pay.unknown", tx => {
                    self.advance(tx, a, &[Paying], PaymentUnknown, now)
                    .await?;
                    Ok(Tx::Commit(()))
                });
                Ok(Step::Continue)
            }
        }
    }

    /// Settles an attempt whose charge may or may not have happened, by asking the gateway
    /// about its key.
    #[tracing::instrument(name = "checkout.settle", skip_all)]
    async fn settle_payment(&self, a: &Attempt) -> Result<Step, CheckoutError> {
        let looked_up = self.gateway.lookup(&a.id).await;
        self.pause("settle.answered").await;
        let record = match looked_up {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(checkout = %a.id, error = %e, "cannot settle the payment yet");
                let now = self.clock.now();
                transaction!(self, "settle.unknown", tx => {
                    self.advance(tx, a, &[Paying], PaymentUnknown, now)
                    .await?;
                    Ok(Tx::Commit(()))
                });
                return Ok(Step::Stop(Placed::Pending {
                    checkout_id: a.id.clone(),
                    state: PaymentUnknown,
                }));
            }
        };
        let now = self.clock.now();
        match record {
            Some(r) if r.succeeded() => {
                transaction!(self, "settle.paid", tx => {
                    if self.advance(tx, a, &[Paying, PaymentUnknown], Paid, now)
                    .await?
                    {
                        store::set_charge(tx, &a.id, &r.id).await?;
                    }
                    Ok(Tx::Commit(()))
                });
                Ok(Step::Continue)
            }
            Some(r) => {
                let code = r.decline_code.unwrap_or_else(|| "card_declined".into());
                self.fail(a, &[Paying, PaymentUnknown], Failure::declined(&code))
                    .await
            }
            None => {
                let failure = Failure::new(
                    "payment_failed",
                    503,
                    "The payment did not go through; nothing was charged. Please try again.",
                );
                self.fail(a, &[Paying, PaymentUnknown], failure).await
            }
        }
    }

    /// Step 4: the money is in; make it an order.
    #[tracing::instrument(name = "checkout.confirm", skip_all)]
    async fn confirm(&self, a: &Attempt) -> Result<Step, CheckoutError> {
        let now = self.clock.now();
        let Some(charge_id) = a.charge_id.as_deref() else {
            return Err(CheckoutError::Corrupt(format!(
                "paid checkout {} has no charge",
                a.id
            )));
        };
        let confirmed = transaction!(self, "confirm", tx => {
            // Claim the transition first: whoever else confirms this attempt now waits
            // for this transaction and then finds nothing to do.
            if !self.advance(tx, a, &[Paid], Confirmed, now)
            .await?
            {
                return Ok(Tx::Rollback(None));
            }
            match holds::commit(tx, &a.id, now).await {
                Ok(()) => {}
                Err(HoldError::HoldLost { .. }) => return Ok(Tx::Rollback(Some(Err(())))),
                Err(e) => return Err(e.into()),
            }
            let (order, order_token) = orders::create(
                tx,
                &a.id,
                &a.email,
                &a.address,
                &a.lines,
                a.total,
                a.pricing.as_ref(),
                charge_id,
                now,
            )
            .await?;
            let cart =
                CartId::parse(&a.cart_id).map_err(|e| CheckoutError::Corrupt(e.to_string()))?;
            let bought: Vec<_> = a.lines.iter().map(|l| (l.variant_id, l.quantity)).collect();
            cart::remove_bought(tx, &cart, &bought, now).await?;
            // What was typed into the form has served: the next checkout starts afresh.
            super::draft::forget(tx, &cart).await?;
            events::emit(
                tx,
                ORDER_CONFIRMED,
                order.as_str(),
                &json!({ "order_id": order.as_str(), "checkout_id": a.id }),
                now,
            )
            .await?;
            let body = json!({
                "checkout_id": a.id,
                "status": "confirmed",
                "order_id": order.as_str(),
                "order_token": order_token,
                "total": a.total,
                "totals": a.pricing.as_ref().map(|p| p.totals),
            })
            .to_string();
            store::finish(
                tx,
                &a.id,
                &[Confirmed],
                &Ending {
                    state: Confirmed,
                    order_id: Some(order.as_str()),
                    failure_code: None,
                    failure_message: None,
                    status: 201,
                    body: &body,
                },
                now,
            )
            .await?;
            Ok(Tx::Commit(Some(Ok(()))))
        });
        match confirmed {
            None | Some(Ok(())) => {
                if confirmed.is_some() {
                    self.crash_point(Confirmed);
                }
                Ok(Step::Continue)
            }
            Some(Err(())) => {
                // The holds are gone (an operator released them, say): the money must go back.
                tracing::error!(checkout = %a.id, "paid checkout lost its stock; refunding");
                transaction!(self, "confirm.lost", tx => {
                    self.advance(tx, a, &[Paid], Compensating, now)
                    .await?;
                    Ok(Tx::Commit(()))
                });
                Ok(Step::Continue)
            }
        }
    }

    /// The gateway charged an attempt that this request no longer held (it stalled during
    /// the call past its lease, and recovery moved the attempt on). If recovery found the
    /// charge, the attempt is paid and becomes an order; if it ended the attempt as failed
    /// before the charge landed, the money goes back now, under the refund key `reconcile`
    /// uses, and `reconcile` is asked to look again should this refund not settle.
    async fn refund_if_failed(&self, a: &Attempt, charge_id: &str) -> Result<(), CheckoutError> {
        let state: Option<String> = sqlx::query_scalar("SELECT state FROM checkouts WHERE id = $1")
            .bind(&a.id)
            .fetch_optional(self.db.pool())
            .await?;
        if state.as_deref() != Some(Failed.as_str()) {
            return Ok(());
        }
        tracing::error!(checkout = %a.id, charge = %charge_id, "a failed checkout was charged; refunding");
        let refunded = self
            .gateway
            .refund(&format!("refund-{}", a.id), charge_id, a.total)
            .await;
        let settled = matches!(refunded, Ok(RefundOutcome::Refunded { .. }));
        sqlx::query("UPDATE checkouts SET reconciled_at = $2 WHERE id = $1")
            .bind(&a.id)
            .bind(settled.then(|| self.clock.now()))
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Step 5: give the money back and let the stock go.
    #[tracing::instrument(name = "checkout.compensate", skip_all)]
    async fn compensate(&self, a: &Attempt) -> Result<Step, CheckoutError> {
        let Some(charge_id) = a.charge_id.as_deref() else {
            return Err(CheckoutError::Corrupt(format!(
                "checkout {} has no charge to refund",
                a.id
            )));
        };
        let refund_key = format!("refund-{}", a.id);
        let refunded = self.gateway.refund(&refund_key, charge_id, a.total).await;
        self.pause("refund.answered").await;
        match refunded {
            Ok(RefundOutcome::Refunded { .. }) => {
                let failure = Failure::new(
                    "out_of_stock",
                    409,
                    "An item sold out while your payment went through. Your payment has been refunded in full.",
                )
                .with(json!({ "refunded": true }));
                self.fail(a, &[Compensating], failure).await
            }
            Ok(RefundOutcome::Unknown { reason }) => {
                tracing::warn!(checkout = %a.id, %reason, "refund not settled yet");
                Ok(Step::Stop(Placed::Pending {
                    checkout_id: a.id.clone(),
                    state: Compensating,
                }))
            }
            Err(e) => {
                tracing::error!(checkout = %a.id, error = %e, "refund refused");
                Ok(Step::Stop(Placed::Pending {
                    checkout_id: a.id.clone(),
                    state: Compensating,
                }))
            }
        }
    }

    /// Ends the attempt as failed (from one of `from`), releasing any holds, storing the answer.
    #[tracing::instrument(name = "checkout.fail", skip_all)]
    async fn fail(
        &self,
        a: &Attempt,
        from: &[CheckoutState],
        failure: Failure,
    ) -> Result<Step, CheckoutError> {
        let now = self.clock.now();
        let body = failure_body(&a.id, &failure);
        transaction!(self, "fail", tx => {
            if store::finish(tx, &a.id, from, &failure.ending(&body), now).await? {
                holds::release(tx, &a.id, StockReason::Release, now).await?;
                crate::coupons::release(tx, &a.id).await?;
            }
            Ok(Tx::Commit(()))
        });
        Ok(Step::Continue)
    }

    /// Test-only: dies here, as `kill -9` would kill it, if configured to.
    pub(super) fn crash_point(&self, state: CheckoutState) {
        if self.config.crash_after == Some(state) {
            tracing::error!(
                state = state.as_str(),
                "EMPORIUM_TEST_CRASH_AFTER: killing the process"
            );
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &std::process::id().to_string()])
                .status();
            std::process::abort();
        }
    }
}

/// The name of the fault point before the step that an attempt in `state` takes next.
fn step_point(state: CheckoutState, with_card: bool) -> &'static str {
    match (state, with_card) {
        (Claimed, true) => "step.reserve",
        (Reserved, true) => "step.pay",
        (Claimed | Reserved, false) => "step.abandon",
        (Paying | PaymentUnknown, _) => "step.settle",
        (Paid, _) => "step.confirm",
        (Compensating, _) => "step.compensate",
        (Confirmed | Failed, _) => "step.answer",
    }
}

/// The stored answer of a finished attempt, or "still running".
pub(super) fn replay_or_in_flight(a: Attempt) -> Placed {
    match (a.state.is_terminal(), a.response) {
        (true, Some((status, body))) => Placed::Answer {
            checkout_id: a.id,
            status,
            body,
        },
        _ => Placed::InFlight {
            checkout_id: a.id,
            state: a.state,
        },
    }
}

pub(super) fn failure_body(id: &str, f: &Failure) -> String {
    let mut body = json!({
        "checkout_id": id,
        "status": "failed",
        "error": f.code,
        "message": f.message,
    });
    if let (Some(map), Some(extra)) = (body.as_object_mut(), f.extra.as_object()) {
        for (k, v) in extra {
            map.insert(k.clone(), v.clone());
        }
    }
    body.to_string()
}
