//! Running commands and finding the workspace.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The workspace root (xtask's manifest is one folder down).
pub fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(Path::to_path_buf).unwrap_or(manifest)
}

/// `cargo`, as the one that started us (so toolchain overrides carry over).
///
/// Without the variables `cargo run` gave this process about the xtask package itself: build
/// scripts that watch them (ring's watches `CARGO_PKG_NAME` and `CARGO_MANIFEST_DIR`) would
/// otherwise see a different value than under a plain `cargo build`, and every crate above
/// them (rustls, reqwest, the object store, the server) would compile again each time one
/// switched between the two.
pub fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    for (name, _) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        if name.starts_with("CARGO_PKG_")
            || matches!(
                name,
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_MANIFEST_LINKS"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_BIN_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "CARGO_RUSTC_CURRENT_DIR"
            )
        {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// Prints a step heading.
pub fn step(text: &str) {
    eprintln!("\n\x1b[1m==> {text}\x1b[0m");
}

/// Runs `cmd`, failing with its description if it does not succeed.
pub fn run(cmd: &mut Command, what: &str) -> Result<()> {
    let started = Instant::now();
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    eprintln!("    {what}: done in {:.1?}", started.elapsed());
    Ok(())
}

/// The trimmed stdout of a command that succeeded, or `None`.
pub fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Whether a program answers `--version`.
pub fn has(program: &str) -> bool {
    output(Command::new(program).arg("--version")).is_some()
}

/// Runs `cmd` with its output appended to `log` (or shown here when `None`), failing with its
/// description, and the log's last lines, if it does not succeed. For installs that run in the
/// background while cargo prints.
pub fn run_logged(cmd: &mut Command, what: &str, log: Option<&Path>) -> Result<()> {
    let Some(log) = log else {
        return run(cmd, what);
    };
    let started = Instant::now();
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("cannot open {}", log.display()))?;
    let status = cmd
        .stdout(file.try_clone()?)
        .stderr(file)
        .status()
        .with_context(|| format!("cannot start {what}"))?;
    if !status.success() {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        bail!(
            "{what} failed ({status}); the end of {}:\n{tail}",
            log.display()
        );
    }
    eprintln!("    {what}: done in {:.1?}", started.elapsed());
    Ok(())
}

/// Whether the environment says this is CI (`CI=true`, as CI services set it): then nothing
/// may be skipped.
pub fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}
