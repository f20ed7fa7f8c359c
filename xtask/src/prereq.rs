//! What `cargo xtask test` needs from the machine, checked in its first seconds, before
//! anything compiles: a run that cannot finish says so at once, with every missing piece and
//! the command that installs it, instead of failing twenty minutes in.
//!
//! What xtask can install itself (the wasm target, cargo-nextest, the npm
//! packages, moto, and Chromium as root on Debian) is not a failure here: it is installed,
//! the slow parts in the background while Rust compiles.

use crate::util::{has, output};
use anyhow::{Result, bail};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// What the run is going to use.
pub struct Needs {
    /// The PostgreSQL test database, when the run uses one.
    pub postgres: Option<String>,
    /// The browser suite: Node.js, npm and a Chromium.
    pub browser: bool,
    /// The S3-compatible test server, from PyPI: python3 with venv.
    pub s3: bool,
}

/// Where the browser comes from.
pub enum Browser {
    Found(PathBuf),
    /// Not on the machine; Debian's package will be installed (as root).
    Install,
}

/// Checks every prerequisite and fails with the whole list of what is missing.
pub fn check(needs: &Needs) -> Result<Option<Browser>> {
    let mut missing: Vec<String> = Vec::new();
    if let Some(url) = &needs.postgres
        && let Err(why) = postgres(url)
    {
        missing.push(why);
    }
    if needs.browser {
        match node_version() {
            None => missing.push(
                "Node.js is missing (the browser tests run Playwright on it): install Node.js 18 \
                 or newer with npm (Debian: apt-get install nodejs npm)"
                    .into(),
            ),
            Some(v) if v < 18 => missing.push(format!(
                "Node.js {v} is too old for Playwright: install Node.js 18 or newer"
            )),
            Some(_) => {}
        }
        if !has("npm") {
            missing.push(
                "npm is missing: install it with Node.js (Debian: apt-get install npm)".into(),
            );
        }
    }
    if needs.s3 && !moto_ready() && !python_venv() {
        missing.push(
            "python3 with venv is missing (the S3 tests run moto from PyPI in a virtual \
             environment): Debian: apt-get install python3-venv"
                .into(),
        );
    }
    let browser = if needs.browser {
        match chromium() {
            Some(b) => Some(b),
            None => {
                missing.push(
                    "no Chromium found: install one (Debian/Ubuntu: sudo apt-get install \
                     chromium; macOS: Google Chrome) or set CHROMIUM_PATH to its executable"
                        .into(),
                );
                None
            }
        }
    } else {
        None
    };
    if !missing.is_empty() {
        bail!(
            "this run cannot finish; missing:\n  - {}",
            missing.join("\n  - ")
        );
    }
    Ok(browser)
}

/// The PostgreSQL server answers at the URL's address, and (with psql, which the chaos run and
/// the schema sweep need) lets the URL's role in.
fn postgres(url: &str) -> Result<(), String> {
    let (host, port) = host_port(url).ok_or_else(|| {
        format!(
            "EMPORIUM_TEST_POSTGRES_URL is not a postgres://user:password@host:port/db URL: {url}"
        )
    })?;
    let start_it = "start it (as root: pg_ctlcluster 15 main start; .ci/run does this) or \
                    unset EMPORIUM_TEST_POSTGRES_URL (outside CI)";
    let reachable = (host.as_str(), port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .is_some_and(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(3)).is_ok());
    if !reachable {
        return Err(format!(
            "PostgreSQL does not answer at {host}:{port} (EMPORIUM_TEST_POSTGRES_URL): {start_it}"
        ));
    }
    if !has("psql") {
        return Err(
            "psql (the PostgreSQL client) is missing: Debian: apt-get install postgresql-client"
                .into(),
        );
    }
    let answer = Command::new("psql")
        .args([url, "-tAc", "SELECT 1"])
        .output()
        .map_err(|e| format!("cannot run psql: {e}"))?;
    if !answer.status.success() {
        return Err(format!(
            "PostgreSQL at {host}:{port} refuses the test database's URL: {} \
             (create the role and the database as .ci/run does)",
            String::from_utf8_lossy(&answer.stderr).trim()
        ));
    }
    Ok(())
}

/// Host and port of `postgres://[user[:password]@]host[:port][/db][?…]`.
fn host_port(url: &str) -> Option<(String, u16)> {
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))?;
    let authority = rest.split(['/', '?']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    match host_port.rsplit_once(':') {
        Some((host, port)) => Some((host.to_string(), port.parse().ok()?)),
        None if !host_port.is_empty() => Some((host_port.to_string(), 5432)),
        None => None,
    }
}

fn node_version() -> Option<u32> {
    let v = output(Command::new("node").arg("--version"))?;
    v.trim_start_matches('v').split('.').next()?.parse().ok()
}

fn moto_ready() -> bool {
    crate::setup::moto_installed().is_some()
}

/// python3 can make a virtual environment with pip in it (Debian splits that into
/// python3-venv).
fn python_venv() -> bool {
    Command::new("python3")
        .args(["-c", "import venv, ensurepip"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A Chromium on the machine, or one xtask can install.
fn chromium() -> Option<Browser> {
    if let Some(path) = std::env::var_os("CHROMIUM_PATH") {
        return Some(Browser::Found(PathBuf::from(path)));
    }
    const KNOWN: [&str; 4] = [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
        "/usr/bin/google-chrome-stable",
    ];
    if let Some(found) = KNOWN.iter().map(PathBuf::from).find(|p| p.exists()) {
        return Some(Browser::Found(found));
    }
    let root = output(Command::new("id").arg("-u")).as_deref() == Some("0");
    (root && Path::new("/etc/debian_version").exists() && has("apt-get"))
        .then_some(Browser::Install)
}
