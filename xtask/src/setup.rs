//! Installing what the build and the tests need, at pinned versions, only when missing.

use crate::util::{self, has, output, run, step};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The wasm-bindgen version in Cargo.lock: the CLI must match the library exactly.
pub fn wasm_bindgen_version() -> Result<String> {
    let lock = std::fs::read_to_string(util::root().join("Cargo.lock"))
        .context("cannot read Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\""
            && let Some(version) = lines
                .next()
                .and_then(|l| l.strip_prefix("version = \""))
                .and_then(|l| l.strip_suffix('"'))
        {
            return Ok(version.to_string());
        }
    }
    bail!("Cargo.lock has no wasm-bindgen entry")
}

/// The Rust pieces: the wasm target, and clippy and rustfmt.
pub fn rust_tools(need_lints: bool) -> Result<()> {
    let installed =
        output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if !installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        step("Installing the wasm32-unknown-unknown target");
        run(
            Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]),
            "rustup target add",
        )?;
    }
    if need_lints && (clippy_driver().is_none() || !has("rustfmt")) {
        step("Installing clippy and rustfmt");
        run(
            Command::new("rustup").args(["component", "add", "clippy", "rustfmt"]),
            "rustup component add",
        )?;
    }
    Ok(())
}

/// The wasm-bindgen CLI, at the version of the library in Cargo.lock. Only the site needs it,
/// so `cargo xtask test` installs it beside the wasm build while the native tests run.
pub fn wasm_bindgen_cli(log: Option<&Path>) -> Result<()> {
    let wanted = wasm_bindgen_version()?;
    let current = output(Command::new(wasm_bindgen()).arg("--version")).unwrap_or_default();
    if current.split_whitespace().nth(1) != Some(wanted.as_str()) {
        step(&format!(
            "Installing wasm-bindgen-cli {wanted} (about 3 minutes of CPU, beside the builds)"
        ));
        // Not --locked: the CLI's own lockfile names a crate version crates.io no longer has.
        // Only the one binary the site needs, unoptimised and without debug info: on a fresh
        // machine (CI's) this install competes with the workspace's builds for the cores, and
        // the release build of all three binaries cost 422 s of CPU. Unoptimised, it turns
        // the bundle into the same bytes in 4 s instead of 2.5.
        util::run_logged(
            util::cargo()
                .args(["install", "wasm-bindgen-cli", "--version", &wanted])
                .args(["--bin", "wasm-bindgen", "--debug"])
                .env("CARGO_PROFILE_DEV_DEBUG", "0"),
            "cargo install wasm-bindgen-cli",
            log,
        )?;
    }
    Ok(())
}

/// The wasm-bindgen CLI: the one cargo installs (`$CARGO_HOME/bin`, which need not be on
/// PATH), else whatever PATH has.
pub fn wasm_bindgen() -> PathBuf {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    cargo_home
        .map(|h| h.join("bin").join("wasm-bindgen"))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("wasm-bindgen"))
}

/// `clippy-driver`, used as the workspace's rustc wrapper so that the normal build also lints
/// (no separate `cargo clippy` compile). `None` when clippy is not installed.
pub fn clippy_driver() -> Option<PathBuf> {
    let sysroot = output(Command::new("rustc").args(["--print", "sysroot"]))?;
    let candidate = Path::new(&sysroot).join("bin").join("clippy-driver");
    if candidate.exists() {
        return Some(candidate);
    }
    has("clippy-driver").then(|| PathBuf::from("clippy-driver"))
}

/// The pinned moto, and where it is installed.
const MOTO: &str = "moto[server]==5.2.5";

fn moto_venv() -> PathBuf {
    util::root().join("target/tools/moto")
}

/// The `moto_server` program, when the pinned moto is installed.
pub fn moto_installed() -> Option<PathBuf> {
    let venv = moto_venv();
    let program = venv.join("bin/moto_server");
    let marker = std::fs::read_to_string(venv.join("installed.txt")).ok();
    (program.exists() && marker.as_deref() == Some(MOTO)).then_some(program)
}

/// The S3-compatible server the asset tests run against: moto's server mode, pinned, in a
/// virtual environment under `target/tools/moto` (PyPI is reachable where crates.io is).
/// Returns the `moto_server` program. `log`: where the installers' output goes (`None`: here).
pub fn moto(log: Option<&Path>) -> Result<PathBuf> {
    if let Some(program) = moto_installed() {
        return Ok(program);
    }
    if !has("python3") {
        bail!("python3 is missing: the S3 tests need it for moto (apt-get install python3-venv)");
    }
    let venv = moto_venv();
    step("Installing the S3-compatible test server (moto, from PyPI)");
    util::run_logged(
        Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&venv),
        "python3 -m venv",
        log,
    )?;
    util::run_logged(
        Command::new(venv.join("bin/pip")).args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            MOTO,
        ]),
        "pip install moto",
        log,
    )?;
    std::fs::write(venv.join("installed.txt"), MOTO)?;
    Ok(venv.join("bin/moto_server"))
}

/// The end-to-end suite's npm packages (`log` as for [`moto`]).
pub fn npm_packages(log: Option<&Path>) -> Result<()> {
    let dir = util::root().join("end2end");
    let marker = dir.join("node_modules/@playwright/test/package.json");
    if marker.exists() {
        return Ok(());
    }
    if !has("npm") {
        bail!(
            "npm is missing: install Node.js 20 or newer (for example `apt-get install nodejs npm`)"
        );
    }
    step("Installing the end-to-end test packages (npm ci)");
    util::run_logged(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
            .current_dir(&dir),
        "npm ci",
        log,
    )
}

/// A Chromium for Playwright: `CHROMIUM_PATH`, one already installed, or Debian's package
/// (`log` as for [`moto`]).
pub fn chromium(log: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM_PATH") {
        return Ok(PathBuf::from(path));
    }
    let known = [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
        "/usr/bin/google-chrome-stable",
    ];
    if let Some(found) = known.iter().map(PathBuf::from).find(|p| p.exists()) {
        return Ok(found);
    }
    let is_root = output(Command::new("id").arg("-u")).as_deref() == Some("0");
    if is_root && Path::new("/etc/debian_version").exists() {
        step("Installing Debian's chromium for the browser tests");
        let install = || {
            util::run_logged(
                Command::new("apt-get")
                    .args(["install", "-y", "--no-install-recommends", "chromium"])
                    .env("DEBIAN_FRONTEND", "noninteractive"),
                "apt-get install chromium",
                log,
            )
        };
        if install().is_err() {
            util::run_logged(Command::new("apt-get").arg("update"), "apt-get update", log)?;
            install()?;
        }
        return Ok(PathBuf::from("/usr/bin/chromium"));
    }
    bail!(
        "no Chromium found. Install one (Debian/Ubuntu: `sudo apt-get install chromium`; \
         macOS: install Google Chrome) or set CHROMIUM_PATH to its executable"
    )
}
