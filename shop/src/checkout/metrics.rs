//! Counters of the saga's steps on this node, for `/metrics`: how each step ended and how long
//! it took. Counted where the step runs (the request's own drive, or the recovery worker's),
//! so a node's numbers are the work that node did.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// One step's tallies.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepStats {
    /// Times the step ended, by outcome: the state it moved the attempt to (`reserved`,
    /// `paid`, …), the failure code when it ended the attempt (`out_of_stock`,
    /// `card_declined`, …), `pending` when it must wait, `error` when it failed unexpectedly.
    pub outcomes: BTreeMap<String, u64>,
    /// Time spent in the step, summed over `count` runs.
    pub seconds: f64,
    pub count: u64,
}

/// Saga step outcomes and durations. One per `Checkouts` (its clones share it).
#[derive(Debug, Default)]
pub struct StepMetrics {
    // A mutex, not atomics: outcomes are open-ended (failure codes), a step is a database
    // transaction or a gateway call, and one short lock per step is noise beside either.
    steps: Mutex<BTreeMap<&'static str, StepStats>>,
}

impl StepMetrics {
    /// Counts one run of `step` that ended in `outcome` after `took`.
    pub fn record(&self, step: &'static str, outcome: &str, took: Duration) {
        // A panic while holding the lock leaves at worst one tally short; keep counting.
        let mut steps = self.steps.lock().unwrap_or_else(|p| p.into_inner());
        let stats = steps.entry(step).or_default();
        match stats.outcomes.get_mut(outcome) {
            Some(n) => *n += 1,
            None => {
                stats.outcomes.insert(outcome.to_owned(), 1);
            }
        }
        stats.seconds += took.as_secs_f64();
        stats.count += 1;
    }

    /// Every step seen so far, by name.
    pub fn snapshot(&self) -> BTreeMap<&'static str, StepStats> {
        self.steps.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_and_durations_add_up_per_step() {
        let m = StepMetrics::default();
        m.record("pay", "paid", Duration::from_millis(30));
        m.record("pay", "card_declined", Duration::from_millis(10));
        m.record("reserve", "reserved", Duration::from_millis(5));
        let s = m.snapshot();
        assert_eq!(s["pay"].count, 2);
        assert_eq!(s["pay"].outcomes["paid"], 1);
        assert_eq!(s["pay"].outcomes["card_declined"], 1);
        assert!((s["pay"].seconds - 0.04).abs() < 1e-9);
        assert_eq!(s["reserve"].outcomes.len(), 1);
    }
}
