//! Installing what the build and the tests need, at pinned versions, only when missing.

use crate::util::{self, has, output, run, step};
use anyhow::{Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

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

/// The tests' Python servers, pinned, and where they are installed: moto (S3) and aiosmtpd
/// (SMTP). One virtual environment holds both.
const TEST_SERVERS: &[&str] = &["moto[server]==5.2.5", "aiosmtpd==1.4.6"];

fn moto_venv() -> PathBuf {
    util::root().join("target/tools/moto")
}

/// The `moto_server` program, when the pinned moto is installed.
pub fn moto_installed() -> Option<PathBuf> {
    let venv = moto_venv();
    let program = venv.join("bin/moto_server");
    let marker = std::fs::read_to_string(venv.join("installed.txt")).ok();
    (program.exists() && marker.as_deref() == Some(TEST_SERVERS.join(" ").as_str()))
        .then_some(program)
}

/// The S3-compatible server the asset tests run against (moto's server mode) and the SMTP
/// server the mail tests run against (aiosmtpd), pinned, in a virtual environment under
/// `target/tools/moto` (PyPI is reachable where crates.io is). Returns the `moto_server`
/// program; the environment's `python` beside it runs aiosmtpd ([`test_python`]). `log`:
/// where the installers' output goes (`None`: here).
pub fn moto(log: Option<&Path>) -> Result<PathBuf> {
    if let Some(program) = moto_installed() {
        return Ok(program);
    }
    if !has("python3") {
        bail!("python3 is missing: the S3 tests need it for moto (apt-get install python3-venv)");
    }
    let venv = moto_venv();
    step("Installing the S3 and SMTP test servers (moto and aiosmtpd, from PyPI)");
    util::run_logged(
        Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&venv),
        "python3 -m venv",
        log,
    )?;
    util::run_logged(
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .args(TEST_SERVERS),
        "pip install moto aiosmtpd",
        log,
    )?;
    std::fs::write(venv.join("installed.txt"), TEST_SERVERS.join(" "))?;
    Ok(venv.join("bin/moto_server"))
}

/// The Python of the test servers' environment (given `moto_server` from [`moto`]).
pub fn test_python(moto_server: &Path) -> PathBuf {
    moto_server.with_file_name("python")
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
