//! An in-process payment gateway: the real gateway's API (paths, statuses, bodies; idempotent
//! by key; refunds; lookup by key) over a ledger in memory, with faults drawn from the seed.
//!
//! It plugs into the real `Gateway` client through `Transport`, so retries and the reading of
//! answers are the production code's. Its faults are the ones that cost shops money: refused
//! before anything was sent, 503 before charging, charged but the answer lost (a timeout), and
//! charged but answered 500.

use futures_core::future::BoxFuture;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use shop::payments::{Reply, Request, Transport};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The card number the gateway always declines (as `server gateway` does).
pub const DECLINED_CARD: &str = "4000000000000002";

/// A charge in the ledger.
#[derive(Clone, Debug)]
pub struct Charge {
    pub id: String,
    /// The shop's idempotency key: the checkout attempt's id.
    pub key: String,
    pub amount: i64,
    pub currency: String,
    pub card: String,
    pub succeeded: bool,
    pub refunded: i64,
}

/// A refund in the ledger.
#[derive(Clone, Debug)]
pub struct Refund {
    pub key: String,
    pub charge_id: String,
    pub amount: i64,
}

#[derive(Debug)]
struct State {
    rng: StdRng,
    /// Chance that a call meets a fault; 0 once healed.
    fault_rate: f64,
    charges: Vec<Charge>,
    refunds: Vec<Refund>,
    faults: BTreeMap<&'static str, u64>,
}

/// The gateway. Its mutex is never held across an await.
#[derive(Debug)]
pub struct SimGateway {
    state: Mutex<State>,
}

impl SimGateway {
    pub fn new(seed: u64, fault_rate: f64) -> Self {
        Self {
            state: Mutex::new(State {
                // Its own stream, so that its draws do not depend on the scheduler's.
                rng: StdRng::seed_from_u64(seed ^ 0x6a09_e667_f3bc_c908),
                fault_rate,
                charges: Vec::new(),
                refunds: Vec::new(),
                faults: BTreeMap::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// No more faults from now on.
    pub fn heal(&self) {
        self.lock().fault_rate = 0.0;
    }

    pub fn charges(&self) -> Vec<Charge> {
        self.lock().charges.clone()
    }

    pub fn refunds(&self) -> Vec<Refund> {
        self.lock().refunds.clone()
    }

    /// Faults injected so far, by kind.
    pub fn faults(&self) -> BTreeMap<&'static str, u64> {
        self.lock().faults.clone()
    }
}

fn error(status: u16, message: &str) -> Reply {
    Reply::Answer(
        status,
        json!({ "error": { "type": "api_error", "message": message } }).to_string(),
    )
}

fn charge_json(c: &Charge) -> String {
    json!({
        "id": c.id,
        "object": "charge",
        "idempotency_key": c.key,
        "amount": c.amount,
        "currency": c.currency,
        "status": if c.succeeded { "succeeded" } else { "declined" },
        "decline_code": if c.succeeded { None } else { Some("card_declined") },
        "refunded_amount": c.refunded,
    })
    .to_string()
}

impl State {
    /// Which fault, if any, this call meets: one of `kinds`, equally likely.
    fn fault(&mut self, kinds: &[&'static str]) -> Option<&'static str> {
        if self.fault_rate <= 0.0 || !self.rng.random_bool(self.fault_rate) {
            return None;
        }
        let kind = kinds[self.rng.random_range(0..kinds.len())];
        *self.faults.entry(kind).or_default() += 1;
        Some(kind)
    }

    fn charge(&mut self, key: &str, body: &Value) -> Reply {
        let amount = body["amount"].as_i64().unwrap_or(0);
        let currency = body["currency"].as_str().unwrap_or("").to_string();
        let card = body["card_number"].as_str().unwrap_or("").to_string();
        let fault = self.fault(&[
            "charge: refused before sending",
            "charge: 503 before charging",
            "charge: charged, answer lost",
            "charge: charged, answered 500",
        ]);
        match fault {
            Some("charge: refused before sending") => {
                return Reply::NotSent("connection refused (simulated)".into());
            }
            Some("charge: 503 before charging") => return error(503, "simulated failure"),
            _ => {}
        }
        let record = match self.charges.iter().find(|c| c.key == key) {
            Some(c) if c.amount != amount || c.card != card => {
                return error(409, "this Idempotency-Key was used for a different request");
            }
            Some(c) => c.clone(),
            None => {
                let c = Charge {
                    id: format!("ch_sim_{:04}", self.charges.len() + 1),
                    key: key.to_string(),
                    amount,
                    currency,
                    succeeded: card != DECLINED_CARD,
                    card,
                    refunded: 0,
                };
                self.charges.push(c.clone());
                c
            }
        };
        match fault {
            Some("charge: charged, answer lost") => {
                Reply::Lost("timed out waiting for the answer (simulated)".into())
            }
            Some("charge: charged, answered 500") => error(500, "simulated failure after charging"),
            _ => Reply::Answer(
                if record.succeeded { 201 } else { 402 },
                charge_json(&record),
            ),
        }
    }

    fn lookup(&mut self, key: &str) -> Reply {
        match self.fault(&["lookup: refused", "lookup: 503"]) {
            Some("lookup: refused") => return Reply::NotSent("connection refused".into()),
            Some(_) => return error(503, "simulated failure"),
            None => {}
        }
        match self.charges.iter().find(|c| c.key == key) {
            Some(c) => Reply::Answer(200, charge_json(c)),
            None => error(404, "no charge with that key"),
        }
    }

    fn refund(&mut self, key: &str, body: &Value) -> Reply {
        let fault = self.fault(&[
            "refund: refused before sending",
            "refund: 503 before refunding",
            "refund: refunded, answer lost",
        ]);
        match fault {
            Some("refund: refused before sending") => {
                return Reply::NotSent("connection refused (simulated)".into());
            }
            Some("refund: 503 before refunding") => return error(503, "simulated failure"),
            _ => {}
        }
        let charge_id = body["charge_id"].as_str().unwrap_or("");
        let answer = |r: &Refund| {
            json!({ "id": format!("re_{}", r.key), "object": "refund", "charge_id": r.charge_id,
                    "amount": r.amount, "status": "succeeded" })
            .to_string()
        };
        let reply = if let Some(r) = self.refunds.iter().find(|r| r.key == key) {
            Reply::Answer(201, answer(r))
        } else {
            let Some(charge) = self.charges.iter_mut().find(|c| c.id == charge_id) else {
                return error(400, "no such charge");
            };
            let remaining = charge.amount - charge.refunded;
            let amount = body["amount"].as_i64().unwrap_or(remaining);
            if !charge.succeeded || amount <= 0 || amount > remaining {
                return error(400, "refund amount out of range");
            }
            charge.refunded += amount;
            let r = Refund {
                key: key.to_string(),
                charge_id: charge_id.to_string(),
                amount,
            };
            let reply = Reply::Answer(201, answer(&r));
            self.refunds.push(r);
            reply
        };
        match fault {
            Some("refund: refunded, answer lost") => {
                Reply::Lost("timed out waiting for the answer (simulated)".into())
            }
            _ => reply,
        }
    }
}

impl Transport for SimGateway {
    fn send<'a>(&'a self, request: Request<'a>) -> BoxFuture<'a, Reply> {
        let mut state = self.lock();
        let key = request.idempotency_key.unwrap_or("");
        let body = request.body.cloned().unwrap_or(Value::Null);
        let reply = match (request.method, request.path) {
            ("POST", "/v1/charges") => state.charge(key, &body),
            ("POST", "/v1/refunds") => state.refund(key, &body),
            ("GET", path) if path.starts_with("/v1/charges?idempotency_key=") => {
                let key = path.trim_start_matches("/v1/charges?idempotency_key=");
                state.lookup(key)
            }
            _ => error(404, "no such route"),
        };
        Box::pin(std::future::ready(reply))
    }
}
