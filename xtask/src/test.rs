//! `cargo xtask test`: everything a change must pass, with one summary line of passed, failed
//! and skipped.
//!
//! In order: the prerequisites (seconds; see `prereq.rs`), then the npm packages, Chromium and
//! the S3 test server installing in the background while `cargo fmt --check` and the native
//! build (clippy as the compiler wrapper) run; then the Rust tests under cargo-nextest on
//! SQLite and on PostgreSQL (only the tests that touch the database, `.config/nextest.toml`);
//! the wasm bundle builds from the start beside all of that; then the Playwright suite against the server
//! (the `quick` build), its SIGTERM, and the small chaos run.
//!
//! Arguments narrow a run: test-name filters (`cargo xtask test checkout::coupons`) run only the
//! matching Rust tests and leave out the browser suite and the chaos run; `--no-browser`,
//! `--no-chaos`, `--sqlite-only`, `--postgres-only` and `--seeds N` do what they say. Parts left
//! out on request are listed as such; parts that could not run for want of a component are
//! skipped, and with `CI=true` a skip is a failure.

use crate::build::{self, Built};
use crate::chaos;
use crate::nextest;
use crate::prereq::{self, Browser};
use crate::setup;
use crate::simulate;
use crate::util::{self, run, step};
use anyhow::{Context, Result, bail};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// `cargo xtask test`'s arguments.
#[derive(clap::Args)]
pub struct TestArgs {
    /// Run only the Rust tests whose names contain one of these (e.g. `checkout::coupons`);
    /// the browser suite and the chaos run are then left out.
    filters: Vec<String>,
    /// Leave out the browser suite (and the server's SIGTERM check).
    #[arg(long)]
    no_browser: bool,
    /// Leave out the chaos run.
    #[arg(long)]
    no_chaos: bool,
    /// Leave out the Rust tests (to run the browser suite or the chaos run alone).
    #[arg(long)]
    no_rust: bool,
    /// Run only the browser tests whose titles match this pattern (Playwright's `--grep`).
    #[arg(long)]
    grep: Option<String>,
    /// Run the Rust tests on SQLite only.
    #[arg(long, conflicts_with = "postgres_only")]
    sqlite_only: bool,
    /// Run the Rust tests on PostgreSQL only.
    #[arg(long)]
    postgres_only: bool,
    /// How many seeds of the checkout simulation to run (default: 100, a slice chosen from
    /// the commit).
    #[arg(long)]
    seeds: Option<u64>,
}

/// The counts behind the closing line.
#[derive(Default)]
struct Tally {
    passed: usize,
    failed: Vec<String>,
    skipped: Vec<(String, String)>,
    left_out: Vec<&'static str>,
    parts: Vec<String>,
}

impl Tally {
    fn add(
        &mut self,
        part: &str,
        passed: usize,
        failed: Vec<String>,
        skipped: Vec<(String, String)>,
    ) {
        self.parts.push(format!(
            "{part} {passed}/{}/{}",
            failed.len(),
            skipped.len()
        ));
        self.passed += passed;
        self.failed.extend(failed);
        self.skipped.extend(skipped);
    }

    /// One check that passed or failed as a whole (fmt, clippy, SIGTERM, chaos).
    fn check(&mut self, part: &str, result: Result<()>) {
        match result {
            Ok(()) => self.add(part, 1, vec![], vec![]),
            Err(e) => {
                eprintln!("    {part}: {e:#}");
                self.add(part, 0, vec![format!("{part}: {e:#}")], vec![]);
            }
        }
    }

    /// A part that could not run at all for want of a component.
    fn skip(&mut self, part: &str, why: &str) {
        eprintln!("\n({part} skipped: {why})");
        self.add(part, 0, vec![], vec![(part.to_string(), why.to_string())]);
    }
}

/// An install running in the background, with its output in a log file.
struct Background<T> {
    what: &'static str,
    handle: JoinHandle<Result<T>>,
}

impl<T: Send + 'static> Background<T> {
    fn start(what: &'static str, job: impl FnOnce(&Path) -> Result<T> + Send + 'static) -> Self {
        let log = util::root().join(format!("target/xtask-{}.log", what.replace(' ', "-")));
        let _ = std::fs::remove_file(&log);
        Self {
            what,
            handle: std::thread::spawn(move || job(&log)),
        }
    }

    fn wait(self) -> Result<T> {
        self.handle
            .join()
            .map_err(|_| anyhow::anyhow!("{} panicked", self.what))?
            .with_context(|| format!("installing {}", self.what))
    }
}

pub fn test(args: &TestArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let mut tally = Tally::default();
    let strict = util::on_ci();
    let filtered = !args.filters.is_empty();
    let postgres = std::env::var("EMPORIUM_TEST_POSTGRES_URL").ok();
    let sqlite_pass = !args.postgres_only && !args.no_rust;
    let postgres_pass = !args.sqlite_only && !args.no_rust;
    let browser = !args.no_browser && !filtered;
    let chaos = !args.no_chaos && !filtered && !args.sqlite_only;
    for (left_out, part) in [
        (!sqlite_pass, "rust/sqlite"),
        (!postgres_pass, "rust/postgres"),
        (!browser, "playwright"),
        (!chaos, "chaos"),
    ] {
        if left_out {
            tally.left_out.push(part);
        }
    }

    step("Checking prerequisites");
    if strict && postgres.is_none() && (postgres_pass || chaos) {
        bail!(
            "CI=true needs PostgreSQL: set EMPORIUM_TEST_POSTGRES_URL to a database the tests may \
             create schemas in (.ci/run starts the machine's PostgreSQL and sets it)"
        );
    }
    let found = prereq::check(&prereq::Needs {
        postgres: postgres.clone().filter(|_| postgres_pass || chaos),
        browser,
        s3: true,
    })?;
    eprintln!("    everything this run needs is here or installable");

    // Network-bound installs go on while Rust compiles.
    let moto = Background::start("moto", |log| setup::moto(Some(log)));
    let npm =
        browser.then(|| Background::start("npm packages", |log| setup::npm_packages(Some(log))));
    let chromium = match found {
        Some(Browser::Found(path)) => Some(Ok(path)),
        Some(Browser::Install) => Some(Err(Background::start("chromium", |log| {
            setup::chromium(Some(log))
        }))),
        None => None,
    };

    setup::rust_tools(true)?;
    if !nextest::installed() {
        nextest::install()?;
    }

    step("Checking formatting (cargo fmt --check)");
    let fmt_ok = util::cargo()
        .args(["fmt", "--all", "--", "--check"])
        .status()
        .is_ok_and(|s| s.success());
    tally.check(
        "fmt",
        if fmt_ok {
            Ok(())
        } else {
            Err(anyhow::anyhow!("cargo fmt --check found differences"))
        },
    );

    // The wasm bundle builds in its own target folder from the start, beside the native
    // build: that build spends long stretches compiling one large crate at a time (app, then
    // server), each mostly on one core, and the wasm build fills the other.
    let wasm = browser.then(|| {
        let log = util::root().join("target/xtask-wasm.log");
        std::thread::spawn(move || build::build_site(Some(&log)))
    });

    // One build of the server and every test target, linted by clippy (-D warnings: any
    // warning in the workspace's crates fails the run).
    let native = build::build_native(true, build::Profile::Quick)?;

    let moto = moto.wait()?;
    let mut env = vec![
        (
            "EMPORIUM_TEST_MOTO_SERVER",
            moto.to_string_lossy().into_owned(),
        ),
        (
            "EMPORIUM_TEST_PYTHON",
            setup::test_python(&moto).to_string_lossy().into_owned(),
        ),
    ];
    let seeds = args.seeds.unwrap_or(simulate::SLICE);
    env.extend(simulate::seed_env(simulate::slice_start(), seeds));
    if sqlite_pass {
        step("Rust tests on SQLite (cargo nextest)");
        let mut env = env.clone();
        env.push(("EMPORIUM_TEST_BACKEND", "sqlite".into()));
        let o = nextest::run("sqlite", &args.filters, &env)?;
        tally.add("rust/sqlite", o.passed, o.failed, o.skipped);
    }
    if postgres_pass {
        match &postgres {
            Some(url) => {
                step(
                    "Rust tests on PostgreSQL (cargo nextest; only those that touch the database)",
                );
                nextest::sweep_scratch_schemas(url)?;
                let mut env = env.clone();
                env.push(("EMPORIUM_TEST_BACKEND", "postgres".into()));
                let o = nextest::run("postgres", &args.filters, &env)?;
                tally.add("rust/postgres", o.passed, o.failed, o.skipped);
            }
            None => tally.skip(
                "rust/postgres",
                "EMPORIUM_TEST_POSTGRES_URL is not set (see the README to run it locally)",
            ),
        }
    }

    let mut warnings = native.warnings;
    if let Some(wasm) = wasm {
        let built = wasm
            .join()
            .map_err(|_| anyhow::anyhow!("the wasm build panicked"))??;
        warnings += built.warnings;
    }
    tally.check(
        "clippy (ssr + hydrate)",
        if warnings == 0 {
            Ok(())
        } else {
            Err(anyhow::anyhow!(
                "{warnings} warning(s) in the workspace, printed above"
            ))
        },
    );

    if browser {
        step("Browser tests (Playwright in Chromium, against the quick build)");
        if let Some(npm) = npm {
            npm.wait()?;
        }
        let chromium = match chromium {
            Some(Ok(path)) => path,
            Some(Err(install)) => install.wait()?,
            None => bail!("no Chromium (the prerequisites should have said so)"),
        };
        let built = Built::in_target(build::Profile::Quick);
        let (report, stopped) = playwright(&built, &chromium, args.grep.as_deref())?;
        tally.add("playwright", report.passed, report.failed, report.skipped);
        // A server that does not stop cleanly on SIGTERM is a failure of its own.
        tally.check("sigterm", stopped);
    }

    // The chaos run, small: a cluster on PostgreSQL (a schema of its own in the test
    // database), a sale under gateway faults, a node killed, the store frozen, single-packet
    // bursts; every invariant checked (see chaos.rs).
    if chaos {
        match &postgres {
            Some(url) => {
                step("Chaos run (small): 2 nodes on PostgreSQL, faults, a kill, bursts");
                let built = Built::in_target(build::Profile::Quick);
                let result =
                    chaos::run(&built, url, CHAOS_PORT, &chaos::Size::SMALL).and_then(|passed| {
                        if passed {
                            Ok(())
                        } else {
                            Err(anyhow::anyhow!("an invariant broke (printed above)"))
                        }
                    });
                tally.check("chaos", result);
            }
            None => tally.skip(
                "chaos",
                "it needs PostgreSQL: EMPORIUM_TEST_POSTGRES_URL is not set",
            ),
        }
    }

    Ok(finish(tally, strict, started))
}

/// Prints what failed and what was skipped, by name, then the closing line.
fn finish(tally: Tally, strict: bool, started: Instant) -> ExitCode {
    if !tally.failed.is_empty() {
        eprintln!("\nfailed:");
        for name in &tally.failed {
            eprintln!("  {name}");
        }
    }
    if !tally.skipped.is_empty() {
        eprintln!(
            "\nskipped{}:",
            if strict {
                " (failures under CI=true)"
            } else {
                ""
            }
        );
        for (name, why) in &tally.skipped {
            eprintln!("  {name}: {why}");
        }
    }
    if !tally.left_out.is_empty() {
        eprintln!("\nleft out on request: {}", tally.left_out.join(", "));
    }
    let failed = tally.failed.len() + if strict { tally.skipped.len() } else { 0 };
    println!(
        "\nxtask test: {} passed, {} failed, {} skipped ({}; passed/failed/skipped) in {:.0?}",
        tally.passed,
        failed,
        tally.skipped.len(),
        tally.parts.join(", "),
        Duration::from_secs(started.elapsed().as_secs()),
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The chaos run's proxy port (its nodes, gateway and store take the ports above it).
const CHAOS_PORT: u16 = 3700;

/// Playwright's verdict.
struct Report {
    passed: usize,
    failed: Vec<String>,
    skipped: Vec<(String, String)>,
}

/// Starts the quick-profile server on a free port with its own data folder, runs Playwright
/// against it, and stops it with SIGTERM (which it must survive gracefully).
fn playwright(built: &Built, chromium: &Path, grep: Option<&str>) -> Result<(Report, Result<()>)> {
    let (server, site) = (&built.server, &built.site);
    let root = util::root();
    let port = free_port()?;
    let gateway_port = free_port()?;
    let data = tempdir("emporium-e2e")?;
    // The payment gateway simulator: its own process and ledger, as in production.
    let mut gateway = Command::new(&built.paysim)
        .args(["--addr", &format!("127.0.0.1:{gateway_port}")])
        .env("RUST_LOG", "warn")
        .current_dir(&root)
        .spawn()
        .context("cannot start the gateway simulator")?;
    let mut child = Command::new(server)
        .env("EMPORIUM_ADDR", format!("127.0.0.1:{port}"))
        .env("EMPORIUM_DATA_DIR", &data)
        .env("EMPORIUM_SITE_ROOT", site)
        // Probe the image store often, so the store-down test sees the breaker move.
        .env("EMPORIUM_ASSET_PROBE_MS", "250")
        .env("EMPORIUM_ASSET_COOL_DOWN_MS", "1000")
        // Many browser contexts share one address here; the limits have tests of their own.
        .env("EMPORIUM_RATE_LIMITS", "false")
        // The feed test serves its sellers' pictures from 127.0.0.1 (test-only setting).
        .env("EMPORIUM_TEST_FETCH_LOOPBACK", "true")
        .env(
            "EMPORIUM_GATEWAY_URL",
            format!("http://127.0.0.1:{gateway_port}"),
        )
        .env("RUST_LOG", "warn")
        .current_dir(&root)
        .spawn()
        .context("cannot start the server")?;
    let result = (|| -> Result<Report> {
        wait_ready(gateway_port, "/healthz", &mut gateway)?;
        wait_ready(port, "/readyz", &mut child)?;
        let results = root.join("end2end/test-results/results.json");
        let _ = std::fs::remove_file(&results);
        let mut npx = Command::new("npx");
        npx.args(["playwright", "test"]);
        if let Some(pattern) = grep {
            npx.args(["--grep", pattern]);
        }
        let status = npx
            .env("EMPORIUM_BASE_URL", format!("http://127.0.0.1:{port}"))
            .env("EMPORIUM_DATA_DIR", &data)
            .env("EMPORIUM_SERVER_BIN", server)
            .env(
                "EMPORIUM_GATEWAY_URL",
                format!("http://127.0.0.1:{gateway_port}"),
            )
            .env("CHROMIUM_PATH", chromium)
            .current_dir(root.join("end2end"))
            .status()
            .context("cannot start npx playwright")?;
        let report: serde_json::Value = std::fs::read_to_string(&results)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        let mut verdict = read_playwright(&report);
        if !status.success() && verdict.failed.is_empty() {
            verdict.failed.push(format!("playwright itself ({status})"));
        }
        Ok(verdict)
    })();
    let stopped = stop_gracefully(&mut child);
    let _ = stop_gracefully(&mut gateway);
    let _ = std::fs::remove_dir_all(&data);
    Ok((result?, stopped))
}

/// Each spec's tests from Playwright's JSON report, by outcome.
fn read_playwright(report: &serde_json::Value) -> Report {
    let mut verdict = Report {
        passed: 0,
        failed: vec![],
        skipped: vec![],
    };
    fn walk(suite: &serde_json::Value, verdict: &mut Report) {
        for spec in suite["specs"].as_array().into_iter().flatten() {
            let name = format!(
                "{} {}",
                spec["file"].as_str().unwrap_or("?"),
                spec["title"].as_str().unwrap_or("?")
            );
            for test in spec["tests"].as_array().into_iter().flatten() {
                match test["status"].as_str() {
                    Some("expected") => verdict.passed += 1,
                    Some("skipped") => {
                        let why = test["annotations"]
                            .as_array()
                            .and_then(|a| a.iter().find(|n| n["type"] == "skip"))
                            .and_then(|n| n["description"].as_str())
                            .unwrap_or("test.skip");
                        verdict.skipped.push((name.clone(), why.to_string()));
                    }
                    // "unexpected", and "flaky" (passed only on a retry; there are none).
                    _ => verdict.failed.push(name.clone()),
                }
            }
        }
        for child in suite["suites"].as_array().into_iter().flatten() {
            walk(child, verdict);
        }
    }
    for suite in report["suites"].as_array().into_iter().flatten() {
        walk(suite, &mut verdict);
    }
    verdict
}

/// A fresh, empty folder under the system's temporary folder.
fn tempdir(prefix: &str) -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("{prefix}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Polls `path` until it answers 200, the process exits, or a minute passes.
fn wait_ready(port: u16, path: &str, child: &mut Child) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait()? {
            bail!("the server exited before it was ready ({status})");
        }
        if http_status(port, path).ok() == Some(200) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!("the server was not ready within a minute")
}

/// The status code of a plain GET on localhost.
fn http_status(port: u16, path: &str) -> Result<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = [0_u8; 12];
    stream.read_exact(&mut head)?;
    let text = String::from_utf8_lossy(&head);
    text.get(9..12)
        .and_then(|s| s.parse().ok())
        .context("not an HTTP response")
}

/// SIGTERM, then wait for a clean exit (the server finishes requests and closes the pool).
fn stop_gracefully(child: &mut Child) -> Result<()> {
    run(
        Command::new("kill").args(["-TERM", &child.id().to_string()]),
        "kill -TERM server",
    )?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait()? {
            if status.success() {
                return Ok(());
            }
            bail!("the server exited with {status} after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    bail!("the server did not stop within 20 s of SIGTERM")
}
