//! Timeouts' companions: a circuit breaker and jittered exponential backoff, shared by every
//! client of something that can fail (the payment gateway, the image store), and bounded
//! admission for work a flood could pile up (password hashing, searches).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What a breaker lets through right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// Calls fail fast until the cool-down ends.
    Open,
    /// The cool-down ended: one probe call goes through to test the water.
    HalfOpen,
}

#[derive(Debug)]
enum Inner {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probing: bool },
}

/// Opens after `threshold` consecutive failures, stays open for `cool_down`, then lets one
/// probe through: its success closes the breaker, its failure opens it again.
#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    cool_down: Duration,
    inner: Mutex<Inner>,
}

impl Breaker {
    pub fn new(threshold: u32, cool_down: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            cool_down,
            inner: Mutex::new(Inner::Closed { failures: 0 }),
        }
    }

    /// Whether a call may go out now. A `true` must be followed by `record`.
    pub fn allow(&self) -> bool {
        let mut inner = self.lock();
        match *inner {
            Inner::Closed { .. } => true,
            Inner::Open { until } if Instant::now() >= until => {
                *inner = Inner::HalfOpen { probing: true };
                true
            }
            Inner::Open { .. } => false,
            Inner::HalfOpen { ref mut probing } => {
                if *probing {
                    false
                } else {
                    *probing = true;
                    true
                }
            }
        }
    }

    /// Reports how an allowed call went.
    pub fn record(&self, success: bool) {
        let mut inner = self.lock();
        *inner = match (&*inner, success) {
            (_, true) => Inner::Closed { failures: 0 },
            (Inner::Closed { failures }, false) if failures + 1 < self.threshold => Inner::Closed {
                failures: failures + 1,
            },
            (_, false) => Inner::Open {
                until: Instant::now() + self.cool_down,
            },
        };
    }

    pub fn state(&self) -> BreakerState {
        match *self.lock() {
            Inner::Closed { .. } => BreakerState::Closed,
            Inner::Open { until } if Instant::now() >= until => BreakerState::HalfOpen,
            Inner::Open { .. } => BreakerState::Open,
            Inner::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave `Inner` half-updated (each update is
        // one assignment), so a poisoned lock is still a valid one.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What a client behind a breaker counts for `/metrics`: calls, failures, calls refused
/// because the breaker was open, and the breaker's state changes by the state entered.
#[derive(Debug, Default)]
pub struct BreakerMetrics {
    pub calls: AtomicU64,
    pub failures: AtomicU64,
    pub rejected: AtomicU64,
    pub opened: AtomicU64,
    pub half_opened: AtomicU64,
    pub closed: AtomicU64,
}

impl BreakerMetrics {
    /// Counts the state change one allowed call caused. `before` is the state read before
    /// `allow`: a call that found the breaker half-open (its cool-down over) was the probe.
    pub fn transition(&self, before: BreakerState, after: BreakerState) {
        if before == BreakerState::HalfOpen {
            self.half_opened.fetch_add(1, Ordering::Relaxed);
        }
        if before == after {
            return;
        }
        match after {
            BreakerState::Open => self.opened.fetch_add(1, Ordering::Relaxed),
            BreakerState::Closed => self.closed.fetch_add(1, Ordering::Relaxed),
            BreakerState::HalfOpen => 0,
        };
    }
}

/// Exponential backoff with full jitter: attempt `n` (from 0) waits a random time in
/// `0..=min(max, base × 2ⁿ)`, so clients that failed together do not retry together.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Backoff {
    pub fn delay(&self, attempt: u32) -> Duration {
        use rand::Rng;
        let cap = self
            .base
            .saturating_mul(2_u32.saturating_pow(attempt.min(16)))
            .min(self.max);
        let millis = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::rng().random_range(0..=millis))
    }
}

/// Admission to costly work: at most `running` at once, at most `waiting` in line behind
/// them, and anyone past that refused at once, so saturation is an answer ("busy, try again")
/// and never a queue that grows without bound.
#[derive(Clone, Debug)]
pub struct Admission {
    running: usize,
    waiting: usize,
    /// Places in the system, running or waiting: `running + waiting`.
    places: std::sync::Arc<tokio::sync::Semaphore>,
    /// Turns to run: `running`.
    turns: std::sync::Arc<tokio::sync::Semaphore>,
}

/// A turn of admitted work, held until dropped.
#[derive(Debug)]
pub struct Turn {
    _place: tokio::sync::OwnedSemaphorePermit,
    _turn: tokio::sync::OwnedSemaphorePermit,
}

/// Every place was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Saturated;

impl Admission {
    pub fn new(running: usize, waiting: usize) -> Self {
        let running = running.max(1);
        Self {
            running,
            waiting,
            places: std::sync::Arc::new(tokio::sync::Semaphore::new(running + waiting)),
            turns: std::sync::Arc::new(tokio::sync::Semaphore::new(running)),
        }
    }

    /// Callers running or waiting now.
    pub fn in_line(&self) -> usize {
        self.running + self.waiting - self.places.available_permits()
    }

    /// Callers running now.
    pub fn running(&self) -> usize {
        self.running - self.turns.available_permits()
    }

    /// Takes a place at once or is refused, then waits for a turn.
    pub async fn admit(&self) -> Result<Turn, Saturated> {
        let place = self
            .places
            .clone()
            .try_acquire_owned()
            .map_err(|_| Saturated)?;
        let turn = self
            .turns
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Saturated)?;
        Ok(Turn {
            _place: place,
            _turn: turn,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_breaker_opens_after_repeated_failures_and_probes_after_cooling_down() {
        let b = Breaker::new(3, Duration::from_millis(30));
        for _ in 0..2 {
            assert!(b.allow());
            b.record(false);
        }
        assert_eq!(b.state(), BreakerState::Closed);
        assert!(b.allow());
        b.record(false);
        assert_eq!(b.state(), BreakerState::Open);
        assert!(!b.allow(), "open: fail fast");
        std::thread::sleep(Duration::from_millis(40));
        assert!(b.allow(), "one probe after the cool-down");
        assert!(!b.allow(), "only one");
        b.record(true);
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn a_failed_probe_opens_the_breaker_again() {
        let b = Breaker::new(1, Duration::from_millis(10));
        assert!(b.allow());
        b.record(false);
        std::thread::sleep(Duration::from_millis(15));
        assert!(b.allow());
        b.record(false);
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[tokio::test]
    async fn admission_runs_some_lines_up_some_and_refuses_the_rest_at_once() {
        let gate = Admission::new(2, 1);
        let running = [gate.admit().await.unwrap(), gate.admit().await.unwrap()];
        // The third waits for a turn (its place is taken at once)…
        let waiting = tokio::spawn({
            let gate = gate.clone();
            async move { gate.admit().await.map(|_| ()) }
        });
        while gate.places.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        // …and the fourth finds no place at all.
        assert_eq!(gate.admit().await.err(), Some(Saturated));
        drop(running);
        assert_eq!(
            waiting.await.unwrap(),
            Ok(()),
            "a freed turn goes to the one in line"
        );
        assert!(gate.admit().await.is_ok(), "and places come back");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let b = Backoff {
            base: Duration::from_millis(10),
            max: Duration::from_millis(50),
        };
        for attempt in 0..20 {
            assert!(b.delay(attempt) <= Duration::from_millis(50));
        }
        assert!(b.delay(0) <= Duration::from_millis(10));
    }
}
