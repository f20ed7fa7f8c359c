//! Faults: how slow the provider is, and what share of calls go wrong in which way.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// The faults in force. Rates are shares of calls, from 0 to 1, and add up to at most 1: one
/// roll per call picks at most one fault (so a rate means exactly what it says).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Added to every charge and refund before it is handled.
    pub latency_ms: u64,
    /// Refused before anything is sent (in process only: a server that accepted the
    /// connection cannot also refuse it).
    pub refused_rate: f64,
    /// Answered 502 before anything is done.
    pub error_before_rate: f64,
    /// Done, then never answered (the caller times out): the nastiest case, because the money
    /// moved.
    pub timeout_rate: f64,
    /// Charged, then answered 500.
    pub error_after_rate: f64,
}

/// The kinds of call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    Charge,
    Refund,
    Lookup,
}

/// What goes wrong with one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    Refused,
    ErrorBefore,
    /// Done, answer lost.
    Lost,
    /// Done, answered 500.
    ErrorAfter,
}

impl Call {
    /// The faults this kind of call can meet. A lookup is how the shop settles what a lost
    /// answer left unknown, so the simulator answers it whenever it is reached (it is only
    /// refused, in process, as a dead network refuses it); a refund is never answered 500
    /// after refunding.
    fn meets(self) -> &'static [Fault] {
        match self {
            Call::Charge => &[
                Fault::Refused,
                Fault::ErrorBefore,
                Fault::Lost,
                Fault::ErrorAfter,
            ],
            Call::Refund => &[Fault::Refused, Fault::ErrorBefore, Fault::Lost],
            Call::Lookup => &[Fault::Refused],
        }
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Call::Charge => "charge",
            Call::Refund => "refund",
            Call::Lookup => "lookup",
        })
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Fault::Refused => "refused before sending",
            Fault::ErrorBefore => "5xx before acting",
            Fault::Lost => "done, answer lost",
            Fault::ErrorAfter => "done, answered 500",
        })
    }
}

/// What will happen to one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    pub latency: Duration,
    pub fault: Option<Fault>,
}

impl Faults {
    /// `rate` of calls meet a fault, every kind equally often (what the simulation draws).
    pub fn spread(rate: f64) -> Self {
        let each = rate / 4.0;
        Self {
            latency_ms: 0,
            refused_rate: each,
            error_before_rate: each,
            timeout_rate: each,
            error_after_rate: each,
        }
    }

    /// These faults, if they make sense.
    pub fn checked(self) -> Result<Self, String> {
        let mut total = 0.0;
        for fault in Call::Charge.meets() {
            let rate = self.rate(*fault);
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("the {fault} rate must be between 0 and 1"));
            }
            total += rate;
        }
        if total > 1.0 {
            return Err("the rates add up to more than 1".into());
        }
        if self.latency_ms > 60_000 {
            return Err("latency_ms must be at most 60000".into());
        }
        Ok(self)
    }

    fn rate(&self, fault: Fault) -> f64 {
        match fault {
            Fault::Refused => self.refused_rate,
            Fault::ErrorBefore => self.error_before_rate,
            Fault::Lost => self.timeout_rate,
            Fault::ErrorAfter => self.error_after_rate,
        }
    }

    /// The plan for a call of kind `call`, given a `roll` from 0 to 1: the rates of the faults
    /// it can meet, laid end to end, and the fault whose stretch the roll falls in.
    pub fn plan(&self, call: Call, roll: f64) -> Plan {
        let mut edge = 0.0;
        let fault = call.meets().iter().copied().find(|fault| {
            edge += self.rate(*fault);
            roll < edge
        });
        Plan {
            latency: match call {
                Call::Charge | Call::Refund => Duration::from_millis(self.latency_ms),
                Call::Lookup => Duration::ZERO,
            },
            fault,
        }
    }
}
