//! The saga's steps on this node, for `/metrics`: how each step ended and how long it took.
//! Counted where the step runs (the request's own drive, or the recovery worker's), so a
//! node's numbers are the work that node did.
//!
//! Recorded through the `metrics` facade on the recorder the node hands its `Checkouts`
//! (`Checkouts::recording_to`); without one (tools, the simulation) they go nowhere.

// `::metrics`, the crate, not this module.
use ::metrics::{Recorder, counter, describe_counter, describe_histogram, histogram};
use std::sync::Arc;
use std::time::Duration;

/// Steps run, by step and outcome.
pub const STEPS_TOTAL: &str = "emporium_checkout_steps_total";
/// Time spent in each step, a histogram by step.
pub const STEP_SECONDS: &str = "emporium_checkout_step_seconds";
/// [`STEP_SECONDS`]' upper bounds, in seconds: a step is a transaction (milliseconds) or a
/// gateway call (up to the gateway's timeout, seconds).
pub const STEP_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Saga step outcomes and durations. One per `Checkouts` (its clones share it).
#[derive(Clone)]
pub struct StepMetrics {
    recorder: Arc<dyn Recorder + Send + Sync>,
}

impl Default for StepMetrics {
    fn default() -> Self {
        Self::new(Arc::new(::metrics::NoopRecorder))
    }
}

impl std::fmt::Debug for StepMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StepMetrics")
    }
}

impl StepMetrics {
    /// Records on `recorder` from now on, with the families' help text.
    pub fn new(recorder: Arc<dyn Recorder + Send + Sync>) -> Self {
        ::metrics::with_local_recorder(&*recorder, || {
            describe_counter!(
                STEPS_TOTAL,
                "Checkout saga steps run on this node, by step and outcome (the state the step moved the attempt to, the failure code when it ended it, pending when it must wait, error when it failed unexpectedly)."
            );
            describe_histogram!(
                STEP_SECONDS,
                "Time spent in each checkout saga step on this node (database work and gateway calls)."
            );
        });
        Self { recorder }
    }

    /// Counts one run of `step` that ended in `outcome` after `took`. `outcome` is a state
    /// or a failure code: a short, closed set, so one series each stays bounded.
    pub fn record(&self, step: &'static str, outcome: &str, took: Duration) {
        ::metrics::with_local_recorder(&*self.recorder, || {
            counter!(STEPS_TOTAL, "step" => step, "outcome" => outcome.to_owned()).increment(1);
            histogram!(STEP_SECONDS, "step" => step).record(took);
        });
    }
}
