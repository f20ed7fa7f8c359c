//! The payment gateway simulator: a provider's ledger and the ways calls to it go wrong, as one
//! model ([`Simulator`]) with two fronts.
//!
//! - [`http`]: the provider's HTTP API, served by the `paysim` binary (and started in process
//!   by the server's tests). The shop talks to it as it would to a real provider, so the crash,
//!   cluster and chaos runs check the shop's invariants against a ledger it does not control.
//! - In process: the shop's deterministic simulation (shop/tests/it/sim) plugs a seeded
//!   [`Simulator`] into `shop::payments::Gateway` through its `Transport`, and gets the same
//!   ledger, the same rules and the same faults with no network and no wall clock.
//!
//! The model ([`ledger`], [`faults`]) knows nothing of HTTP: a front turns its requests into
//! calls and the [`Exchange`] of each call into what its caller sees. (Issue 28 is to give it a
//! second HTTP front that speaks Stripe's wire protocol.)
//!
//! Rules, whichever front is used:
//! - a charge or refund carries an idempotency key; the same key with the same request replays
//!   the first answer byte for byte, with a different request it is refused (409);
//! - test cards choose the outcome ([`cards`]); any other valid number succeeds;
//! - a refund never exceeds what is left of a succeeded charge;
//! - faults are shares of calls ([`Faults`]), drawn from the simulator's own random stream:
//!   seeded, a run replays exactly.
//!
//! The ledger lives in memory. No test needs it to outlive the process (the crash tests kill
//! the shop, never the gateway; the cluster, chaos and browser runs start a fresh one each
//! time), and in memory one model serves both fronts, with no database between the simulation
//! and its determinism.

pub mod cards;
pub mod faults;
pub mod http;
pub mod ledger;

pub use faults::{Call, Fault, Faults, Plan};
pub use ledger::{Answer, Charge, Refund};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

/// What became of one call, before a front turns it into what its caller sees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exchange {
    /// Refused before anything was sent (a connection that never opened): nothing happened.
    Refused,
    /// This answer reaches the caller (a simulated failure included).
    Answered(Answer),
    /// Handled, money moved, and the answer never reaches the caller: it times out.
    Lost(Answer),
}

/// The provider: its ledger, its faults, and the random stream both draw from. Its lock is
/// never held across an await, so a front may share it between tasks.
#[derive(Debug)]
pub struct Simulator {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    ledger: ledger::Ledger,
    faults: Faults,
    rng: StdRng,
    /// Faults met so far, by call and kind ("charge: lost", …).
    met: BTreeMap<String, u64>,
}

impl Simulator {
    /// A simulator whose faults and ids are drawn from the operating system's randomness.
    pub fn new() -> Self {
        Self::with_rng(StdRng::from_os_rng())
    }

    /// A simulator whose every draw follows from `seed`: the same calls in the same order
    /// give the same ids, the same faults and the same answers.
    pub fn seeded(seed: u64) -> Self {
        Self::with_rng(StdRng::seed_from_u64(seed))
    }

    fn with_rng(rng: StdRng) -> Self {
        Self {
            state: Mutex::new(State {
                ledger: ledger::Ledger::default(),
                faults: Faults::default(),
                rng,
                met: BTreeMap::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves the ledger as consistent as any
        // single call leaves it: every call's changes are made at its end, all at once.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn faults(&self) -> Faults {
        self.lock().faults.clone()
    }

    /// Puts `faults` in force from the next call on (already [`Faults::checked`]).
    pub fn set_faults(&self, faults: Faults) {
        self.lock().faults = faults;
    }

    /// Rolls the dice for one call: how slow it is and what, if anything, goes wrong. A front
    /// waits out the latency before handing the call over, so that a caller who hangs up
    /// meanwhile leaves nothing done.
    pub fn plan(&self, call: Call) -> Plan {
        let mut state = self.lock();
        let roll: f64 = state.rng.random();
        let plan = state.faults.plan(call, roll);
        if let Some(fault) = plan.fault {
            *state.met.entry(format!("{call}: {fault}")).or_default() += 1;
        }
        plan
    }

    /// `POST /v1/charges`: makes (or replays) the charge under `key`.
    pub fn charge(&self, plan: &Plan, key: Option<&str>, body: &Value, now: i64) -> Exchange {
        self.write(
            plan,
            key,
            ledger::ChargeRequest::read(body),
            "charging",
            |l, key, r, id| l.charge(key, r, now, || new_id(id, "ch")),
        )
    }

    /// `POST /v1/refunds`: refunds (or replays the refund under `key`).
    pub fn refund(&self, plan: &Plan, key: Option<&str>, body: &Value, now: i64) -> Exchange {
        self.write(
            plan,
            key,
            ledger::RefundRequest::read(body),
            "refunding",
            |l, key, r, id| l.refund(key, r, now, || new_id(id, "re")),
        )
    }

    /// A call that writes to the ledger under an idempotency key, in the order faults strike:
    /// a refusal before anything is read, then the request checked, then a failure before
    /// acting, then the ledger's answer, which the plan may lose or replace.
    fn write<R>(
        &self,
        plan: &Plan,
        key: Option<&str>,
        request: Result<R, Answer>,
        acting: &str,
        act: impl FnOnce(&mut ledger::Ledger, &str, &R, &mut StdRng) -> Result<Answer, Answer>,
    ) -> Exchange {
        if plan.fault == Some(Fault::Refused) {
            return Exchange::Refused;
        }
        let (key, request) = match (ledger::key(key), request) {
            (Ok(key), Ok(request)) => (key, request),
            (Err(answer), _) | (_, Err(answer)) => return Exchange::Answered(answer),
        };
        if plan.fault == Some(Fault::ErrorBefore) {
            return failed_before(acting);
        }
        let mut state = self.lock();
        let State { ledger, rng, .. } = &mut *state;
        match act(ledger, key, &request, rng) {
            Ok(answer) => after(plan, answer),
            Err(refused) => Exchange::Answered(refused),
        }
    }

    /// `GET /v1/charges?idempotency_key=…`: the charge under `key` as it stands now.
    pub fn lookup(&self, plan: &Plan, key: Option<&str>) -> Exchange {
        if plan.fault == Some(Fault::Refused) {
            return Exchange::Refused;
        }
        let Some(key) = key else {
            return Exchange::Answered(Answer::invalid("idempotency_key is required"));
        };
        Exchange::Answered(self.lock().ledger.lookup(key))
    }

    /// Every charge, in the order they were made.
    pub fn charges(&self) -> Vec<Charge> {
        self.lock().ledger.charges().to_vec()
    }

    /// Every refund, in the order they were made.
    pub fn refunds(&self) -> Vec<Refund> {
        self.lock().ledger.refunds().to_vec()
    }

    /// The ledger as `GET /v1/ledger` shows it: `{ charges, refunds }`.
    pub fn ledger_json(&self) -> Value {
        self.lock().ledger.to_json()
    }

    /// Faults met so far, by call and kind.
    pub fn faults_met(&self) -> BTreeMap<String, u64> {
        self.lock().met.clone()
    }
}

impl Default for Simulator {
    fn default() -> Self {
        Self::new()
    }
}

/// A 5xx before anything was done.
fn failed_before(what: &str) -> Exchange {
    Exchange::Answered(Answer::error(
        502,
        "api_error",
        &format!("simulated failure before {what}"),
    ))
}

/// What the plan does to a call that was handled: its answer lost, or replaced by a 500.
fn after(plan: &Plan, answer: Answer) -> Exchange {
    match plan.fault {
        Some(Fault::Lost) => Exchange::Lost(answer),
        Some(Fault::ErrorAfter) => Exchange::Answered(Answer::error(
            500,
            "api_error",
            "simulated failure after charging",
        )),
        _ => Exchange::Answered(answer),
    }
}

/// `prefix_` and 96 random bits in hex, like a provider's object ids.
fn new_id(rng: &mut StdRng, prefix: &str) -> String {
    let bits: [u8; 12] = rng.random();
    let hex: String = bits.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}_{hex}")
}
