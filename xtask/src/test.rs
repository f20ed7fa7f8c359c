//! `cargo xtask test`: everything a change must pass, in order, with one summary line.

use crate::build::{self, PROFILE};
use crate::chaos;
use crate::setup;
use crate::util::{self, run, step};
use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
    parts: Vec<String>,
}

impl Tally {
    fn add(&mut self, name: &str, passed: usize, failed: usize) {
        self.passed += passed;
        self.failed += failed;
        self.parts
            .push(format!("{name} {passed} passed/{failed} failed"));
    }
}

pub fn test(_args: &[String]) -> Result<ExitCode> {
    let started = Instant::now();
    let mut tally = Tally::default();

    step("Checking formatting (cargo fmt --check)");
    setup::rust_tools(true)?;
    let fmt_ok = util::cargo()
        .args(["fmt", "--all", "--", "--check"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    tally.add("fmt", usize::from(fmt_ok), usize::from(!fmt_ok));

    // One build of everything: server, test targets and the wasm bundle, linted by clippy
    // (-D warnings: any warning in the workspace's crates fails the run).
    let built = build::build_all(true)?;
    let warnings = built.diagnostics.warnings;
    tally.add(
        "clippy (ssr + hydrate)",
        usize::from(warnings == 0),
        usize::from(warnings > 0),
    );
    if warnings > 0 {
        eprintln!("    clippy: {warnings} warning(s) in the workspace, printed above");
    }

    let moto = setup::moto()?;
    let moto = moto.to_string_lossy();
    step("Rust tests on SQLite");
    let (p, f) = cargo_test(&[
        ("EMPORIUM_TEST_BACKEND", "sqlite"),
        ("EMPORIUM_TEST_MOTO_SERVER", &moto),
    ])?;
    tally.add("rust/sqlite", p, f);
    match std::env::var("EMPORIUM_TEST_POSTGRES_URL") {
        Ok(_) => {
            step("Rust tests on PostgreSQL");
            let (p, f) = cargo_test(&[
                ("EMPORIUM_TEST_BACKEND", "postgres"),
                ("EMPORIUM_TEST_MOTO_SERVER", &moto),
            ])?;
            tally.add("rust/postgres", p, f);
        }
        Err(_) => eprintln!("\n(EMPORIUM_TEST_POSTGRES_URL is not set: PostgreSQL pass skipped)"),
    }

    step("Browser tests (Playwright in Chromium, against the release build)");
    setup::npm_packages()?;
    let chromium = setup::chromium()?;
    let (p, f, stopped) = playwright(&built.server, &built.site, &chromium)?;
    tally.add("playwright", p, f);
    // A server that does not stop cleanly on SIGTERM is a failure of its own.
    if let Err(e) = &stopped {
        eprintln!("    graceful shutdown: {e:#}");
    }
    tally.add(
        "sigterm",
        usize::from(stopped.is_ok()),
        usize::from(stopped.is_err()),
    );

    // The chaos run, small: a cluster on PostgreSQL (a schema of its own in the test
    // database), a sale under gateway faults, a node killed, the store frozen, single-packet
    // bursts; every invariant checked (see chaos.rs).
    match std::env::var("EMPORIUM_TEST_POSTGRES_URL") {
        Ok(url) => {
            step("Chaos run (small): 2 nodes on PostgreSQL, faults, a kill, bursts");
            let passed =
                chaos::run(&built, &url, CHAOS_PORT, &chaos::Size::SMALL).unwrap_or_else(|e| {
                    eprintln!("    chaos: {e:#}");
                    false
                });
            tally.add("chaos", usize::from(passed), usize::from(!passed));
        }
        Err(_) => eprintln!(
            "\n(EMPORIUM_TEST_POSTGRES_URL is not set: the chaos run needs PostgreSQL; skipped)"
        ),
    }

    let ok = tally.failed == 0;
    println!(
        "\nxtask test: {} passed, {} failed ({}) in {:.0?}",
        tally.passed,
        tally.failed,
        tally.parts.join("; "),
        Duration::from_secs(started.elapsed().as_secs()),
    );
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The chaos run's proxy port (its nodes, gateway and store take the ports above it).
const CHAOS_PORT: u16 = 3700;

/// A test pass that runs longer than this has hung: it is killed and counted as a failure,
/// so that CI reports it instead of running into its own time limit.
const TEST_PASS_LIMIT: Duration = Duration::from_secs(20 * 60);

/// Runs the workspace's Rust tests with `env`; returns (passed, failed).
fn cargo_test(env: &[(&str, &str)]) -> Result<(usize, usize)> {
    let mut cmd = build::cargo_linted();
    cmd.args([
        "test",
        "--workspace",
        "--exclude",
        "frontend",
        "--no-fail-fast",
        "--profile",
        PROFILE,
    ])
    .envs(env.iter().copied())
    .stdout(Stdio::piped());
    // Its own process group, so the watchdog can stop cargo and the test binaries together.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().context("cannot start cargo test")?;
    let finished = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watchdog = {
        let finished = finished.clone();
        let group = child.id();
        std::thread::spawn(move || {
            let started = Instant::now();
            while started.elapsed() < TEST_PASS_LIMIT {
                if finished.load(std::sync::atomic::Ordering::SeqCst) {
                    return false;
                }
                std::thread::sleep(Duration::from_millis(500));
            }
            eprintln!("\nxtask: the test pass ran past {TEST_PASS_LIMIT:?}; stopping it");
            let _ = Command::new("kill")
                .args(["-KILL", &format!("-{group}")])
                .status();
            true
        })
    };
    let stdout = child.stdout.take().context("no stdout")?;
    let (mut passed, mut failed) = (0, 0);
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        println!("{line}");
        // libtest: "test result: ok. 12 passed; 0 failed; 0 ignored; ..."
        if let Some(rest) = line.strip_prefix("test result: ") {
            for part in rest.split(';') {
                let mut words = part.split_whitespace().rev();
                let (Some(label), Some(n)) = (words.next(), words.next()) else {
                    continue;
                };
                let n: usize = n.parse().unwrap_or(0);
                match label {
                    "passed" => passed += n,
                    "failed" => failed += n,
                    _ => {}
                }
            }
        }
    }
    let status = child.wait()?;
    finished.store(true, std::sync::atomic::Ordering::SeqCst);
    let timed_out = watchdog.join().unwrap_or(false);
    if (!status.success() && failed == 0) || timed_out {
        // A test binary that crashed or hung, or a build failure, with no failed test counted.
        failed += 1;
    }
    Ok((passed, failed))
}

/// Starts the release server on a free port with its own data folder, runs Playwright
/// against it, and stops it with SIGTERM (which it must survive gracefully).
fn playwright(server: &Path, site: &Path, chromium: &Path) -> Result<(usize, usize, Result<()>)> {
    let root = util::root();
    let port = free_port()?;
    let gateway_port = free_port()?;
    let data = std::env::temp_dir().join(format!("emporium-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    // The payment gateway simulator: its own process and ledger, as in production.
    let mut gateway = Command::new(server)
        .arg("gateway")
        .env("EMPORIUM_GATEWAY_ADDR", format!("127.0.0.1:{gateway_port}"))
        .env("EMPORIUM_DATA_DIR", &data)
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
    let result = (|| -> Result<(usize, usize)> {
        wait_ready(gateway_port, "/healthz", &mut gateway)?;
        wait_ready(port, "/readyz", &mut child)?;
        let results = root.join("end2end/test-results/results.json");
        let _ = std::fs::remove_file(&results);
        let status = Command::new("npx")
            .args(["playwright", "test"])
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
        let count = |key: &str| report["stats"][key].as_u64().unwrap_or(0) as usize;
        let passed = count("expected");
        let mut failed = count("unexpected") + count("flaky");
        if !status.success() && failed == 0 {
            failed = 1;
        }
        Ok((passed, failed))
    })();
    let stopped = stop_gracefully(&mut child);
    let _ = stop_gracefully(&mut gateway);
    let _ = std::fs::remove_dir_all(&data);
    let (passed, failed) = result?;
    Ok((passed, failed, stopped))
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
