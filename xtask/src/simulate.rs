//! `cargo xtask simulate [--seeds N] [--from S] [--seed S]`: the deterministic simulation of the
//! checkout core (shop/tests/it/simulate.rs) over seeds S..S+N, or seed S alone with its whole
//! schedule.
//!
//! It runs that one test with the settings `cargo xtask test` builds with (the same profile,
//! the whole workspace's features, clippy-driver as the wrapper), so after a test run nothing
//! is rebuilt. A failing seed is printed with the command that replays it.
//!
//! `cargo xtask test` runs a slice of [`SLICE`] seeds chosen from the commit being tested
//! ([`slice_start`]): every commit tries seeds the one before did not, and a failure names
//! seeds anyone can replay.

use crate::build::{self, Profile};
use crate::util::{self, step};
use anyhow::{Context, Result};
use std::process::{Command, ExitCode};

/// How many seeds `cargo xtask test` runs.
pub const SLICE: u64 = 100;
/// Slices are taken from seeds 1..=SPAN.
const SPAN: u64 = 1_000_000;

/// `cargo xtask simulate`'s arguments.
#[derive(clap::Args)]
pub struct SimulateArgs {
    /// How many seeds to run.
    #[arg(long, default_value_t = 500)]
    seeds: u64,
    /// The first seed (default 1).
    #[arg(long, default_value_t = 1)]
    from: u64,
    /// Run this seed alone and print its whole schedule.
    #[arg(long, conflicts_with_all = ["seeds", "from"])]
    seed: Option<u64>,
}

/// The first seed of the slice this commit runs: the commit hash read as a number, so the same
/// commit always runs the same seeds and the next one (almost surely) others. Without git (a
/// source tarball), seed 1.
pub fn slice_start() -> u64 {
    util::output(
        Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(util::root()),
    )
    .and_then(|hash| u64::from_str_radix(hash.get(..12)?, 16).ok())
    .map_or(1, |n| n % (SPAN - SLICE) + 1)
}

/// The environment that selects seeds `from..from + count` for the simulation test.
pub fn seed_env(from: u64, count: u64) -> [(&'static str, String); 2] {
    [
        ("EMPORIUM_SIM_FIRST_SEED", from.to_string()),
        ("EMPORIUM_SIM_SEEDS", count.to_string()),
    ]
}

pub fn simulate(args: &SimulateArgs) -> Result<ExitCode> {
    let mut cmd = build::cargo_linted();
    // `--workspace` so that features unify as in `cargo xtask test` (whose build this reuses);
    // `--test it` still builds only the integration-test binaries.
    cmd.args([
        "test",
        "--workspace",
        "--exclude",
        "frontend",
        "--profile",
        Profile::Quick.native(),
        "--test",
        "it",
        "--",
        "--nocapture",
        "--exact",
        "simulate::every_seed_keeps_every_checkout_invariant",
    ]);
    match args.seed {
        Some(s) => {
            step(&format!("Simulating the checkout with seed {s}"));
            cmd.env("EMPORIUM_SIM_SEED", s.to_string());
        }
        None => {
            let last = args.from + args.seeds.saturating_sub(1);
            step(&format!(
                "Simulating the checkout with seeds {}..={last}",
                args.from
            ));
            cmd.envs(seed_env(args.from, args.seeds));
        }
    }
    let status = cmd.status().context("cannot start cargo test")?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
