//! The payment gateway, in process: the simulator the HTTP tests run (`paysim`), seeded from
//! the run's seed and plugged into the real `Gateway` client through `Transport`, so retries
//! and the reading of answers are the production code's, and the ledger, its rules and its
//! faults are the ones every other test meets over HTTP. Its faults are the ones that cost
//! shops money: refused before anything was sent, 5xx before acting, done but the answer lost
//! (a timeout), and charged but answered 500.

use futures_core::future::BoxFuture;
use paysim::{Call, Exchange, Faults, Simulator};
use serde_json::Value;
use shop::clock::{Clock, ManualClock};
use shop::payments::{Reply, Request, Transport};

pub use paysim::cards::DECLINED as DECLINED_CARD;

/// The gateway, on the simulation's virtual clock.
#[derive(Debug)]
pub struct SimGateway {
    simulator: Simulator,
    clock: ManualClock,
}

impl SimGateway {
    /// `fault_rate` of calls meet a fault, every kind equally often.
    pub fn new(seed: u64, fault_rate: f64, clock: ManualClock) -> Self {
        // Its own stream, so that its draws do not depend on the scheduler's.
        let simulator = Simulator::seeded(seed ^ 0x6a09_e667_f3bc_c908);
        simulator.set_faults(Faults::spread(fault_rate));
        Self { simulator, clock }
    }

    /// No more faults from now on.
    pub fn heal(&self) {
        self.simulator.set_faults(Faults::default());
    }

    pub fn charges(&self) -> Vec<paysim::Charge> {
        self.simulator.charges()
    }

    pub fn refunds(&self) -> Vec<paysim::Refund> {
        self.simulator.refunds()
    }

    /// Faults injected so far, by kind.
    pub fn faults(&self) -> std::collections::BTreeMap<String, u64> {
        self.simulator.faults_met()
    }
}

impl Transport for SimGateway {
    fn send<'a>(&'a self, request: Request<'a>) -> BoxFuture<'a, Reply> {
        let (key, now) = (request.idempotency_key, self.clock.now());
        let body = request.body.unwrap_or(&Value::Null);
        let sim = &self.simulator;
        // The plan's latency is ignored: the simulation's time is its virtual clock.
        let exchange = match (request.method, request.path) {
            ("POST", "/v1/charges") => sim.charge(&sim.plan(Call::Charge), key, body, now),
            ("POST", "/v1/refunds") => sim.refund(&sim.plan(Call::Refund), key, body, now),
            ("GET", path) if path.starts_with("/v1/charges?idempotency_key=") => {
                let key = path.trim_start_matches("/v1/charges?idempotency_key=");
                sim.lookup(&sim.plan(Call::Lookup), Some(key))
            }
            _ => Exchange::Answered(paysim::Answer::error(
                404,
                "invalid_request_error",
                "no such route",
            )),
        };
        let reply = match exchange {
            Exchange::Refused => Reply::NotSent("connection refused (simulated)".into()),
            Exchange::Answered(answer) => Reply::Answer(answer.status, answer.body),
            Exchange::Lost(_) => Reply::Lost("timed out waiting for the answer (simulated)".into()),
        };
        Box::pin(std::future::ready(reply))
    }
}
