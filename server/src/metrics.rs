//! The `/metrics` families about the shop's own machinery: the checkout saga's steps, the
//! payment gateway's breaker, and the queues that lag behind (holds, unfinished checkouts,
//! the event outbox, the search indexer, mail).
//!
//! Counters are this node's since start. Queue gauges are read from the database, so every
//! node reports the same numbers and an alert fires once whichever node is scraped; each is
//! one indexed COUNT/MIN, and each has a timeout, so a slow database makes the page shorter,
//! never late.

use crate::state::AppState;
use shop::clock::Millis;
use shop::resilience::BreakerState;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How long one database-backed gauge may take before it is left out of this scrape.
const QUERY_TIMEOUT: Duration = Duration::from_secs(2);

/// Topics the outbox dispatcher delivers (see `workers`); others are followed by position.
pub const DISPATCHED_TOPICS: &[&str] = &[shop::events::ORDER_CONFIRMED];

/// Appends every family of this module.
pub async fn render(state: &AppState, out: &mut String) {
    checkout_steps(state, out);
    gateway(state, out);
    single(
        out,
        "emporium_catalog_product_loads_total",
        "counter",
        "Products this node read from the database into its product cache (misses that loaded; a crowd missing one product counts one).",
        state.services.catalog.product_loads(),
    );
    let now = state.clock.now();
    holds_and_checkouts(state, now, out).await;
    outboxes(state, now, out).await;
}

/// `# HELP` and `# TYPE` of a family.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n");
}

/// A family of one unlabelled value.
fn single(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    family(out, name, kind, help);
    let _ = writeln!(out, "{name} {value}");
}

/// Seconds from `since` to `now`; 0 when there is nothing waiting.
fn age(now: Millis, since: Option<Millis>) -> f64 {
    since.map_or(0.0, |t| (now - t).max(0) as f64 / 1000.0)
}

/// Runs one gauge's query within `QUERY_TIMEOUT`; `None` (and a log line) otherwise.
async fn query<T, E: std::fmt::Display>(
    what: &str,
    future: impl std::future::Future<Output = Result<T, E>>,
) -> Option<T> {
    match tokio::time::timeout(QUERY_TIMEOUT, future).await {
        Ok(Ok(value)) => Some(value),
        Ok(Err(e)) => {
            tracing::warn!(gauge = what, error = %e, "a metric could not be read");
            None
        }
        Err(_) => {
            tracing::warn!(gauge = what, "a metric took too long to read");
            None
        }
    }
}

fn checkout_steps(state: &AppState, out: &mut String) {
    let steps = state.services.checkouts.metrics().snapshot();
    family(
        out,
        "emporium_checkout_steps_total",
        "counter",
        "Checkout saga steps run on this node, by step and outcome (the state the step moved the attempt to, the failure code when it ended it, pending when it must wait, error when it failed unexpectedly).",
    );
    for (step, stats) in &steps {
        for (outcome, n) in &stats.outcomes {
            let _ = writeln!(
                out,
                "emporium_checkout_steps_total{{step=\"{step}\",outcome=\"{outcome}\"}} {n}"
            );
        }
    }
    family(
        out,
        "emporium_checkout_step_seconds",
        "summary",
        "Time spent in each checkout saga step on this node (database work and gateway calls).",
    );
    for (step, stats) in &steps {
        let _ = write!(
            out,
            "emporium_checkout_step_seconds_sum{{step=\"{step}\"}} {:.6}\n\
             emporium_checkout_step_seconds_count{{step=\"{step}\"}} {}\n",
            stats.seconds, stats.count
        );
    }
}

fn gateway(state: &AppState, out: &mut String) {
    let gateway = state.services.checkouts.gateway();
    let m = gateway.metrics();
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    single(
        out,
        "emporium_gateway_available",
        "gauge",
        "1 while payments go to the gateway, 0 while its breaker is open or probing (checkouts fail fast with nothing charged).",
        u8::from(gateway.breaker_state() == BreakerState::Closed),
    );
    single(
        out,
        "emporium_gateway_calls_total",
        "counter",
        "Calls made to the payment gateway (retries included).",
        load(&m.calls),
    );
    single(
        out,
        "emporium_gateway_failures_total",
        "counter",
        "Payment gateway calls that timed out, failed to connect or got a 5xx.",
        load(&m.failures),
    );
    single(
        out,
        "emporium_gateway_rejected_total",
        "counter",
        "Payment gateway calls refused at once because the breaker was open.",
        load(&m.rejected),
    );
    family(
        out,
        "emporium_gateway_breaker_transitions_total",
        "counter",
        "Payment gateway breaker state changes, by the state entered.",
    );
    for (to, counter) in [
        ("open", &m.opened),
        ("half_open", &m.half_opened),
        ("closed", &m.closed),
    ] {
        let _ = writeln!(
            out,
            "emporium_gateway_breaker_transitions_total{{to=\"{to}\"}} {}",
            load(counter)
        );
    }
}

async fn holds_and_checkouts(state: &AppState, now: Millis, out: &mut String) {
    if let Some(held) = query(
        "reservations",
        shop::inventory::holds::held_stats(&state.db, now),
    )
    .await
    {
        family(
            out,
            "emporium_reservations",
            "gauge",
            "Stock holds in place, by state: held (within its time) or overdue (past its expiry; released by the sweeper unless its checkout's payment is in progress).",
        );
        let _ = write!(
            out,
            "emporium_reservations{{state=\"held\"}} {}\nemporium_reservations{{state=\"overdue\"}} {}\n",
            held.live, held.overdue
        );
        single(
            out,
            "emporium_reserved_units",
            "gauge",
            "Units of stock held for checkouts in progress.",
            held.units,
        );
        single(
            out,
            "emporium_reservations_oldest_seconds",
            "gauge",
            "Age of the oldest hold in place, in seconds (0 when there is none).",
            age(now, held.oldest_at),
        );
    }
    if let Some(unfinished) = query("checkouts", state.services.checkouts.unfinished()).await {
        // Every state, 0 included, so that an alert has a series to watch.
        use shop::checkout::CheckoutState::*;
        let by_state = [
            Claimed,
            Reserved,
            Paying,
            PaymentUnknown,
            Paid,
            Compensating,
        ]
        .map(|s| {
            let found = unfinished.iter().find(|(state, _, _)| *state == s);
            (
                s.as_str(),
                found.map_or((0, None), |(_, n, at)| (*n, Some(*at))),
            )
        });
        family(
            out,
            "emporium_checkouts_unfinished",
            "gauge",
            "Checkout attempts not yet confirmed or failed, by state.",
        );
        for (state, (n, _)) in &by_state {
            let _ = writeln!(
                out,
                "emporium_checkouts_unfinished{{state=\"{state}\"}} {n}"
            );
        }
        family(
            out,
            "emporium_checkouts_unfinished_oldest_seconds",
            "gauge",
            "Seconds since the least recently moved unfinished checkout attempt moved, by state (0 when there is none).",
        );
        for (state, (_, oldest)) in &by_state {
            let _ = writeln!(
                out,
                "emporium_checkouts_unfinished_oldest_seconds{{state=\"{state}\"}} {}",
                age(now, *oldest)
            );
        }
    }
}

async fn outboxes(state: &AppState, now: Millis, out: &mut String) {
    if let Some(backlog) = query(
        "outbox",
        shop::events::backlog(&state.db, DISPATCHED_TOPICS),
    )
    .await
    {
        single(
            out,
            "emporium_outbox_waiting",
            "gauge",
            "Events waiting for the dispatcher (order confirmations for fulfillment), retries included.",
            backlog.waiting,
        );
        single(
            out,
            "emporium_outbox_oldest_waiting_seconds",
            "gauge",
            "Age of the oldest event waiting for the dispatcher, in seconds (0 when none waits).",
            age(now, backlog.oldest_waiting_at),
        );
        single(
            out,
            "emporium_outbox_dead",
            "gauge",
            "Events the dispatcher gave up on after repeated failures, waiting for an operator to replay them.",
            backlog.dead,
        );
    }
    // This node's index: lag means its searches miss recent changes. Only while the index
    // is ready: before that the database answers (and `emporium_search_index_ready` says so).
    let search = state.services.search.health();
    if search.ready
        && let Some((behind, oldest)) = query(
            "search index lag",
            shop::events::written_after(&state.db, search.position),
        )
        .await
    {
        single(
            out,
            "emporium_search_index_lag_events",
            "gauge",
            "Outbox events written after this node's search index checkpoint (not yet applied, or applied past a gap still being waited for).",
            behind,
        );
        single(
            out,
            "emporium_search_index_lag_seconds",
            "gauge",
            "Age of the oldest outbox event past this node's search index checkpoint, in seconds (0 when the index is up to date).",
            age(now, oldest),
        );
    }
    if let Some(mail) = query("mail", state.services.outbox.stats()).await {
        single(
            out,
            "emporium_mail_waiting",
            "gauge",
            "Messages in the mail outbox not sent yet.",
            mail.waiting,
        );
        single(
            out,
            "emporium_mail_failing",
            "gauge",
            "Unsent messages whose last delivery attempt failed.",
            mail.failing,
        );
        single(
            out,
            "emporium_mail_oldest_waiting_seconds",
            "gauge",
            "Age of the oldest unsent message, in seconds (0 when none waits).",
            age(now, mail.oldest_waiting_at),
        );
    }
}
