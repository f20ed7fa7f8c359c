//! `cargo xtask simulate [--seeds N] [--seed S]`: the deterministic simulation of the checkout
//! core (shop/tests/simulate.rs) over seeds 1..=N, or seed S alone with its whole schedule.
//!
//! It runs that one test target with the settings `cargo xtask test` builds with (the same
//! profile, the whole workspace's features, clippy-driver as the wrapper), so after a test run
//! nothing is rebuilt. A failing seed is printed with the command that replays it.

use crate::build::{self, PROFILE};
use crate::util::step;
use anyhow::{Context, Result, bail};
use std::process::ExitCode;

pub fn simulate(args: &[String]) -> Result<ExitCode> {
    let mut seeds: Option<u64> = None;
    let mut seed: Option<u64> = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| -> Result<u64> {
            let v = args
                .next()
                .with_context(|| format!("{name} needs a number"))?;
            v.parse()
                .with_context(|| format!("{name} needs a number, not `{v}`"))
        };
        match arg.as_str() {
            "--seeds" => seeds = Some(value("--seeds")?),
            "--seed" => seed = Some(value("--seed")?),
            other => bail!(
                "unknown argument `{other}`; usage: cargo xtask simulate [--seeds N] [--seed S]"
            ),
        }
    }
    match (seed, seeds) {
        (Some(s), _) => step(&format!("Simulating the checkout with seed {s}")),
        (None, Some(n)) => step(&format!("Simulating the checkout with seeds 1..={n}")),
        (None, None) => step("Simulating the checkout with the default seeds"),
    }
    let mut cmd = build::cargo_linted();
    // `--workspace` so that features unify as in `cargo xtask test` (whose build this reuses);
    // `--test simulate` still builds only the simulation and what it needs.
    cmd.args([
        "test",
        "--workspace",
        "--exclude",
        "frontend",
        "--profile",
        PROFILE,
        "--test",
        "simulate",
        "--",
        "--nocapture",
        "every_seed_keeps_every_checkout_invariant",
    ]);
    if let Some(n) = seeds {
        cmd.env("EMPORIUM_SIM_SEEDS", n.to_string());
    }
    if let Some(s) = seed {
        cmd.env("EMPORIUM_SIM_SEED", s.to_string());
    }
    let status = cmd.status().context("cannot start cargo test")?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
