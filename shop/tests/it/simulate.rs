//! The deterministic simulation of the checkout core (see `sim/mod.rs` for how it works).
//!
//! `EMPORIUM_SIM_SEEDS=N` runs N seeds (default 100) from `EMPORIUM_SIM_FIRST_SEED` (default 1);
//! `EMPORIUM_SIM_SEED=S` runs seed S alone and prints its whole schedule. `cargo xtask simulate
//! --seeds N [--from S] [--seed S]` sets them, and `cargo xtask test` runs a slice of 100 chosen
//! from the commit. A failing seed is printed with the tail of its schedule and the command
//! that replays it.

use crate::sim::{self, Run, Stats, Template};
use std::time::{Duration, Instant};

const DEFAULT_SEEDS: u64 = 100;
/// A seed that runs longer than this has hung (a deadlock in the code, or in the harness).
const SEED_LIMIT: Duration = Duration::from_secs(60);

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value} is not a number")),
    )
}

async fn run(template: &Template, seed: u64) -> Run {
    match tokio::time::timeout(SEED_LIMIT, sim::run_seed(template, seed)).await {
        Ok(run) => run,
        Err(_) => Run {
            seed,
            stats: Stats::default(),
            trace: vec![],
            violations: vec![format!("seed {seed} did not finish within {SEED_LIMIT:?}")],
        },
    }
}

fn report(stats: &Stats, violations: usize, took: Duration) {
    let failed: Vec<String> = stats
        .failed
        .iter()
        .map(|(code, n)| format!("{code} {n}"))
        .collect();
    let faults: u64 = stats.gateway_faults.values().sum();
    println!(
        "simulation: {} seeds in {:.1?}, {} scheduling steps, {} clock jumps, {} resends",
        stats.seeds, took, stats.steps, stats.clock_jumps, stats.resends
    );
    println!(
        "  crashes injected: {} between steps, {} inside transactions; busy errors: {}",
        stats.crashes_between, stats.crashes_inside, stats.busy
    );
    println!("  gateway faults: {faults}");
    for (kind, n) in &stats.gateway_faults {
        println!("    {kind}: {n}");
    }
    println!(
        "  checkouts: {} confirmed, {} failed ({})",
        stats.confirmed,
        stats.failed.values().sum::<u64>(),
        failed.join(", ")
    );
    println!(
        "  money: {} charges captured, {} of them refunded",
        stats.charges, stats.refunds
    );
    println!("  invariant violations: {violations}");
}

#[tokio::test]
async fn every_seed_keeps_every_checkout_invariant() {
    let template = Template::new().await;
    let started = Instant::now();
    let seeds: Vec<u64> = match env_u64("EMPORIUM_SIM_SEED") {
        Some(seed) => vec![seed],
        None => {
            let first = env_u64("EMPORIUM_SIM_FIRST_SEED").unwrap_or(1);
            let count = env_u64("EMPORIUM_SIM_SEEDS").unwrap_or(DEFAULT_SEEDS);
            println!(
                "simulation: seeds {first}..={} (replay one with `cargo xtask simulate --seed S`)",
                first + count.saturating_sub(1)
            );
            (first..first + count).collect()
        }
    };
    let single = seeds.len() == 1;
    let mut total = Stats::default();
    let mut failures = Vec::new();
    for seed in seeds {
        let run = run(&template, seed).await;
        assert_eq!(run.seed, seed);
        total.add(&run.stats);
        if single {
            for line in &run.trace {
                println!("  {line}");
            }
        }
        if !run.violations.is_empty() {
            eprintln!("\nseed {seed} FAILED:");
            for v in &run.violations {
                eprintln!("  violation: {v}");
            }
            eprintln!("  last steps of its schedule:");
            let tail = run.trace.len().saturating_sub(40);
            for line in &run.trace[tail..] {
                eprintln!("    {line}");
            }
            eprintln!("  replay with: cargo xtask simulate --seed {seed}");
            failures.push((seed, run.violations.len()));
        }
    }
    let violations = failures.iter().map(|(_, n)| n).sum();
    report(&total, violations, started.elapsed());
    assert!(
        failures.is_empty(),
        "seeds that broke an invariant: {:?} (replay one with `cargo xtask simulate --seed S`)",
        failures.iter().map(|(s, _)| s).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_seed_replays_the_same_schedule_and_outcome() {
    let template = Template::new().await;
    for seed in [3, 17] {
        let first = run(&template, seed).await;
        let second = run(&template, seed).await;
        assert!(
            first.trace.len() > 10,
            "seed {seed} did something: {:?}",
            first.trace
        );
        if first.digest() != second.digest() {
            let at = first
                .trace
                .iter()
                .zip(&second.trace)
                .position(|(a, b)| a != b)
                .unwrap_or(first.trace.len().min(second.trace.len()));
            panic!(
                "seed {seed} ran differently the second time, from step {at}:\n  first:  {:?}\n  second: {:?}",
                first.trace.get(at),
                second.trace.get(at)
            );
        }
    }
}
