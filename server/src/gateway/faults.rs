//! Fault injection: how slow the gateway is, and how often it times out or fails.

use rand::Rng;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::Duration;

/// The faults in force. Rates are shares of calls, from 0 to 1.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Added to every call before it is handled.
    pub latency_ms: u64,
    /// Share of charges that are made and then never answered (the client times out): the
    /// nastiest case, because the money moved.
    pub timeout_rate: f64,
    /// Share of calls answered 502 before anything is charged.
    pub error_before_rate: f64,
    /// Share of charges that are made and then answered 500.
    pub error_after_rate: f64,
}

impl Faults {
    pub fn checked(self) -> Result<Self, String> {
        for (name, rate) in [
            ("timeout_rate", self.timeout_rate),
            ("error_before_rate", self.error_before_rate),
            ("error_after_rate", self.error_after_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} must be between 0 and 1"));
            }
        }
        if self.latency_ms > 60_000 {
            return Err("latency_ms must be at most 60000".into());
        }
        Ok(self)
    }
}

/// How long a timed-out call hangs before the connection is dropped: longer than any
/// client's timeout.
const HANG: Duration = Duration::from_secs(120);

#[derive(Debug, Default)]
pub(super) struct FaultSwitch(Mutex<Faults>);

impl FaultSwitch {
    pub fn get(&self) -> Faults {
        self.0.lock().map(|f| f.clone()).unwrap_or_default()
    }

    pub fn set(&self, faults: Faults) {
        if let Ok(mut f) = self.0.lock() {
            *f = faults;
        }
    }

    /// Rolls the dice for one call.
    pub fn plan(&self) -> Plan {
        let f = self.get();
        let mut rng = rand::rng();
        Plan {
            latency: Duration::from_millis(f.latency_ms),
            error_before: rng.random_bool(f.error_before_rate),
            hang_after: rng.random_bool(f.timeout_rate),
            error_after: rng.random_bool(f.error_after_rate),
        }
    }
}

/// What will go wrong with one call.
pub(super) struct Plan {
    latency: Duration,
    pub error_before: bool,
    hang_after: bool,
    pub error_after: bool,
}

impl Plan {
    pub async fn delay(&self) {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
    }

    /// After the charge is recorded: hang, if this call is to time out.
    pub async fn after_charge(&self) {
        if self.hang_after {
            tokio::time::sleep(HANG).await;
        }
    }
}
