//! Running a Rust test pass with cargo-nextest and reading what happened from its JUnit report.
//!
//! nextest runs every test in a process of its own, several at once across both test binaries,
//! kills a test that hangs (`.config/nextest.toml`), and writes a JUnit report. From that report
//! xtask counts each test as passed, failed, or skipped: a test that could not reach a real
//! component printed `shop::testing::SKIP_MARKER` and returned, and is counted as skipped by
//! name, never as passed.

use crate::build::{self, Profile};
use crate::util;
use anyhow::{Context, Result};
use quick_xml::events::Event;
use std::process::Command;
use std::time::Instant;

/// Keep in step with `shop::testing::SKIP_MARKER`.
const SKIP_MARKER: &str = "EMPORIUM-TEST-SKIPPED:";

/// What one pass did.
#[derive(Default, Debug)]
pub struct Outcome {
    pub passed: usize,
    /// Failed tests by name (a pass that failed without a failing test has one entry for it).
    pub failed: Vec<String>,
    /// (test, what it could not reach).
    pub skipped: Vec<(String, String)>,
}

/// One pass: the tests nextest's `profile` selects (intersected with `filters`, test-name
/// substrings), with `env` set.
pub fn run(profile: &str, filters: &[String], env: &[(&str, String)]) -> Result<Outcome> {
    let report = util::root()
        .join("target/nextest")
        .join(profile)
        .join("junit.xml");
    let _ = std::fs::remove_file(&report);
    let started = Instant::now();
    let mut cmd = nextest_command();
    cmd.args(["run", "--workspace", "--exclude", "frontend"])
        .args([
            "--cargo-profile",
            Profile::Quick.native(),
            "--profile",
            profile,
        ])
        .args(["--no-fail-fast", "--cargo-quiet", "--hide-progress-bar"])
        .args(filters)
        .envs(env.iter().map(|(k, v)| (k, v)));
    let status = cmd.status().context("cannot start cargo nextest")?;
    let mut outcome = match std::fs::read_to_string(&report) {
        Ok(xml) => read_junit(&xml).with_context(|| format!("reading {}", report.display()))?,
        Err(_) => Outcome::default(),
    };
    // A build error, a binary that would not list its tests, or no tests at all: the pass
    // failed even though no test did.
    if !status.success() && outcome.failed.is_empty() {
        outcome
            .failed
            .push(format!("the {profile} pass itself ({status})"));
    }
    eprintln!(
        "    {profile} pass: {} passed, {} failed, {} skipped in {:.0?}",
        outcome.passed,
        outcome.failed.len(),
        outcome.skipped.len(),
        started.elapsed()
    );
    Ok(outcome)
}

/// `cargo nextest`, with the workspace's build settings (clippy as the wrapper), so that it
/// reuses the build `cargo xtask test` just made.
fn nextest_command() -> Command {
    let mut cmd = build::cargo_linted();
    cmd.arg("nextest");
    cmd
}

/// Whether cargo-nextest is installed.
pub fn installed() -> bool {
    util::output(util::cargo().args(["nextest", "--version"])).is_some()
}

/// Installs cargo-nextest from its crate (a newcomer's machine; CI's machines have it).
pub fn install() -> Result<()> {
    util::step("Installing cargo-nextest from crates.io (a few minutes, once)");
    util::run(
        util::cargo().args(["install", "cargo-nextest", "--locked"]),
        "cargo install cargo-nextest",
    )
}

/// Reads nextest's JUnit report: one `<testcase>` per test, with a `<failure>` or `<error>`
/// child when it failed, and its output in `<system-out>`.
fn read_junit(xml: &str) -> Result<Outcome> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut outcome = Outcome::default();
    // The test being read: its name, whether it failed, and its output so far.
    let mut case: Option<(String, bool, String)> = None;
    let mut in_output = false;
    loop {
        match reader.read_event()? {
            Event::Start(e) if e.name().as_ref() == b"testcase" => {
                case = Some((test_name(&e)?, false, String::new()));
            }
            Event::Empty(e) if e.name().as_ref() == b"testcase" => {
                let _ = test_name(&e)?;
                outcome.passed += 1;
            }
            Event::Start(e) | Event::Empty(e)
                if matches!(e.name().as_ref(), b"failure" | b"error") =>
            {
                if let Some(case) = &mut case {
                    case.1 = true;
                }
            }
            Event::Start(e) if e.name().as_ref() == b"system-out" => in_output = true,
            Event::End(e) if e.name().as_ref() == b"system-out" => in_output = false,
            Event::Text(text) if in_output => {
                if let Some(case) = &mut case {
                    case.2.push_str(&text.xml_content()?);
                }
            }
            // Entities arrive as events of their own between pieces of text.
            Event::GeneralRef(name) if in_output => {
                if let Some(case) = &mut case {
                    case.2.push_str(match name.as_ref() {
                        b"lt" => "<",
                        b"gt" => ">",
                        b"amp" => "&",
                        b"quot" => "\"",
                        b"apos" => "'",
                        _ => "?",
                    });
                }
            }
            Event::CData(text) if in_output => {
                if let Some(case) = &mut case {
                    case.2.push_str(&String::from_utf8_lossy(&text));
                }
            }
            Event::End(e) if e.name().as_ref() == b"testcase" => {
                let Some((name, failed, output)) = case.take() else {
                    continue;
                };
                let skip = output
                    .lines()
                    .find_map(|l| l.split_once(SKIP_MARKER).map(|(_, why)| why.trim()));
                match (failed, skip) {
                    (true, _) => outcome.failed.push(name),
                    (false, Some(why)) => outcome.skipped.push((name, why.to_string())),
                    (false, None) => outcome.passed += 1,
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(outcome)
}

/// `binary test`, e.g. `server::it checkout::a_paid_checkout_…`.
fn test_name(e: &quick_xml::events::BytesStart) -> Result<String> {
    let attr = |key: &[u8]| -> Result<String> {
        Ok(match e.try_get_attribute(key)? {
            Some(a) => a.unescape_value()?.into_owned(),
            None => String::new(),
        })
    };
    Ok(format!("{} {}", attr(b"classname")?, attr(b"name")?))
}

/// Drops the scratch schemas earlier runs left in the test database (a test killed before
/// its own clean-up ran); nothing else may be using them while a pass starts.
pub fn sweep_scratch_schemas(url: &str) -> Result<()> {
    let sql = "DO $$ DECLARE s text; BEGIN \
               FOR s IN SELECT nspname FROM pg_namespace WHERE nspname LIKE 'scratch\\_%' LOOP \
               EXECUTE format('DROP SCHEMA %I CASCADE', s); END LOOP; END $$;";
    util::run(
        Command::new("psql")
            .args([url, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .env("PGOPTIONS", "--client-min-messages=warning"),
        "dropping leftover scratch schemas",
    )
}
