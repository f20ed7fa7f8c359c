//! Building the server and the site exactly as cargo-leptos would, with plain cargo.

use crate::setup;
use crate::util::{self, step};
use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

/// Which build (Cargo.toml's profiles).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// The tests, `run`, the chaos run, the cluster and search evaluation: release, but the
    /// UI, the node and the tools not optimised (Cargo.toml says why).
    Quick,
    /// Production and the benchmarks (`cargo xtask build --release`, `cargo xtask bench`).
    Release,
}

impl Profile {
    pub fn release_if(release: bool) -> Self {
        if release { Self::Release } else { Self::Quick }
    }

    /// The native build's Cargo profile, which is also its folder in `target/`.
    pub fn native(self) -> &'static str {
        match self {
            Self::Quick => "quick",
            Self::Release => "release",
        }
    }
}

const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// The hydrate bundle's size-optimised profile: one bundle, production's, for every build.
const WASM_PROFILE: &str = "wasm-release";

/// Compiler diagnostics from the workspace's own crates.
#[derive(Default)]
pub struct Diagnostics {
    pub warnings: usize,
    pub errors: usize,
}

/// A cargo command set up to build the workspace's crates with clippy's lints (clippy-driver
/// as the workspace rustc wrapper): linting then costs no extra compile, and `run` and `test`
/// share every artifact because they build with the same wrapper.
pub fn cargo_linted() -> Command {
    let mut cmd = util::cargo();
    if let Some(driver) = setup::clippy_driver() {
        cmd.env("RUSTC_WORKSPACE_WRAPPER", driver);
    }
    cmd
}

/// Runs a cargo build command, printing diagnostics as they come and counting them.
pub fn cargo_build(mut cmd: Command, what: &str) -> Result<Diagnostics> {
    let started = Instant::now();
    // EMPORIUM_CARGO_TIMINGS=1: cargo's per-crate timing report (target/…/cargo-timings/),
    // to see where a build's minutes go.
    if std::env::var_os("EMPORIUM_CARGO_TIMINGS").is_some() {
        cmd.arg("--timings");
    }
    let mut child = cmd
        .arg("--message-format=json-diagnostic-rendered-ansi")
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {what}"))?;
    let mut diagnostics = Diagnostics::default();
    let stdout = child.stdout.take().context("no stdout")?;
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        let Ok(message) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if message["reason"] != "compiler-message" {
            continue;
        }
        // Only the workspace's own crates (path dependencies) count.
        let local = message["package_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("path+file://"));
        let level = message["message"]["level"].as_str().unwrap_or("");
        if let Some(rendered) = message["message"]["rendered"].as_str() {
            eprint!("{rendered}");
        }
        if local {
            match level {
                "warning" => diagnostics.warnings += 1,
                "error" => diagnostics.errors += 1,
                _ => {}
            }
        }
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    eprintln!("    {what}: done in {:.1?}", started.elapsed());
    Ok(diagnostics)
}

/// Where the built pieces are.
pub struct Built {
    /// The node.
    pub server: PathBuf,
    /// The payment gateway simulator.
    pub paysim: PathBuf,
    /// Benchmarks, the load generator, the chaos driver, search evaluation.
    pub tools: PathBuf,
    pub site: PathBuf,
}

impl Built {
    /// What the native build and the site build left in `target/`.
    pub fn in_target(profile: Profile) -> Self {
        Self {
            server: binary("server", profile),
            paysim: binary("paysim", profile),
            tools: binary("tools", profile),
            site: site_dir(),
        }
    }
}

/// The workspace's binaries: the node, the gateway simulator, the tools.
const BINARIES: [&str; 3] = ["server", "paysim", "tools"];

/// The wasm build's own target folder. Cargo locks a target folder for the length of a build;
/// in its own folder the bundle builds while the native tests run (it shares no artifact with
/// the native build anyway: another target, another profile).
fn wasm_target_dir() -> PathBuf {
    util::root().join("target/wasm")
}

/// Builds the server (in `profile`) and the site. `with_tests` also builds every test target
/// (what `cargo xtask test` needs), in the same cargo invocation so nothing compiles twice.
pub fn build_all(with_tests: bool, profile: Profile) -> Result<Built> {
    setup::rust_tools(with_tests)?;
    build_native(with_tests, profile)?;
    build_site(None)?;
    Ok(Built::in_target(profile))
}

/// A binary of the workspace.
fn binary(name: &str, profile: Profile) -> PathBuf {
    util::root()
        .join("target")
        .join(profile.native())
        .join(name)
}

/// The assembled site (wasm, JS, CSS, public files).
pub fn site_dir() -> PathBuf {
    util::root().join("target/site")
}

/// The native build: the node, the gateway simulator and the tools, and with `with_tests`
/// every test target too, in one cargo invocation so nothing compiles twice. (`cargo test
/// --no-run` would build only the binaries of crates with integration tests; `build --tests`
/// builds the same test targets, with the features `cargo test` and nextest resolve, and the
/// binaries named.)
pub fn build_native(with_tests: bool, profile: Profile) -> Result<Diagnostics> {
    step(&format!(
        "Building the server, the gateway simulator and the tools ({})",
        profile.native()
    ));
    let mut native = cargo_linted();
    if with_tests {
        native.args(["build", "--workspace", "--exclude", "frontend", "--tests"]);
        for name in BINARIES {
            native.args(["--bin", name]);
        }
    } else {
        native.arg("build");
        for name in BINARIES {
            native.args(["-p", name]);
        }
    }
    native.args(["--profile", profile.native()]);
    cargo_build(native, "native build")
}

/// The hydrate bundle, then the site around it. `log`: where cargo's progress goes when this
/// runs in the background (its warnings are still printed here).
pub fn build_site(log: Option<&Path>) -> Result<Diagnostics> {
    step("Building the hydrate bundle (wasm32, wasm-release)");
    let mut wasm = cargo_linted();
    wasm.args([
        "build",
        "-p",
        "frontend",
        "--target",
        WASM_TARGET,
        "--profile",
        WASM_PROFILE,
    ])
    .arg("--target-dir")
    .arg(wasm_target_dir());
    if let Some(log) = log {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)?;
        wasm.stderr(file);
    }
    let d = cargo_build(wasm, "wasm build")?;
    assemble_site(&util::root(), &site_dir())?;
    Ok(d)
}

/// wasm-bindgen the bundle into `site/pkg`, and copy the stylesheet and `public/` in.
fn assemble_site(root: &Path, site: &Path) -> Result<()> {
    step("Assembling the site");
    let pkg = site.join("pkg");
    std::fs::create_dir_all(&pkg)?;
    let wasm = wasm_target_dir()
        .join(WASM_TARGET)
        .join(WASM_PROFILE)
        .join("frontend.wasm");
    // A second run with an unchanged bundle skips wasm-bindgen and the compression.
    let bundle = pkg.join("emporium_bg.wasm.br");
    let fresh = modified(&bundle).is_some_and(|out| modified(&wasm).is_some_and(|w| out > w));
    if !fresh {
        bindgen_and_compress(&wasm, &pkg)?;
    }
    std::fs::copy(root.join("style/main.css"), pkg.join("emporium.css"))
        .context("cannot copy style/main.css")?;
    precompress(&pkg.join("emporium.css"))?;
    for entry in std::fs::read_dir(root.join("public"))? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), site.join(entry.file_name()))?;
        }
    }
    let size = |name: &str| std::fs::metadata(pkg.join(name)).map(|m| m.len() / 1024);
    eprintln!(
        "    site ready in {} (wasm {} KB, {} KB brotli)",
        site.display(),
        size("emporium_bg.wasm")?,
        size("emporium_bg.wasm.br")?
    );
    Ok(())
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Generates the JS glue and the final wasm into `pkg`, then precompresses both.
///
/// wasm-bindgen's own library, linked into xtask at the version Cargo.lock pins beside the
/// `wasm-bindgen` crate (the two must match exactly), does what `wasm-bindgen --target web
/// --no-typescript --out-name emporium --remove-name-section --remove-producers-section`
/// does, byte for byte: no CLI to install. `cargo install wasm-bindgen-cli` cost a fresh
/// machine 364–422 s of CPU (its test runner's HTTP server and TLS stack included), beside
/// the workspace's builds.
fn bindgen_and_compress(wasm: &Path, pkg: &Path) -> Result<()> {
    let started = Instant::now();
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(wasm)
        .web(true)?
        .out_name("emporium")
        .typescript(false)
        // The name section is most of an unstripped bundle's size; see Cargo.toml.
        .remove_name_section(true)
        .remove_producers_section(true)
        // The CLI's defaults where the library's differ.
        .omit_default_module_path(false)
        .generate(pkg)
        .context("wasm-bindgen")?;
    eprintln!("    wasm-bindgen: done in {:.1?}", started.elapsed());
    // The .wasm last: its .br's age is what marks the bundle as up to date.
    for name in ["emporium.js", "emporium_bg.wasm"] {
        precompress(&pkg.join(name))?;
    }
    Ok(())
}

/// Writes `file.br` and `file.gz` beside `file`: the server sends them to browsers that
/// accept them (tower-http's precompressed ServeDir) instead of compressing per request.
fn precompress(file: &Path) -> Result<()> {
    use std::io::Write;
    let data = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut br = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut data.as_slice(), &mut br, &params)?;
    std::fs::write(with_suffix(file, ".br"), br)?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&data)?;
    std::fs::write(with_suffix(file, ".gz"), gz.finish()?)?;
    Ok(())
}

fn with_suffix(file: &Path, suffix: &str) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// `cargo xtask run [-- server args]`: build, start the payment gateway simulator (`paysim`)
/// beside the shop (unless `EMPORIUM_GATEWAY_URL` points elsewhere), then become the server.
pub fn run(args: &[String], profile: Profile) -> Result<ExitCode> {
    let built = build_all(false, profile)?;
    let args: Vec<&String> = args.iter().skip_while(|a| *a == "--").collect();
    let serving = args.is_empty() || args.first().is_some_and(|a| *a == "serve");
    if serving && std::env::var_os("EMPORIUM_GATEWAY_URL").is_none() {
        step("Starting the payment gateway simulator");
        // It shares the shop's process group, so Ctrl-C stops both. If its port is taken (a
        // second shop beside the first), it exits and the shop uses the running one.
        Command::new(&built.paysim)
            .current_dir(util::root())
            .spawn()
            .context("cannot start the gateway simulator")?;
    }
    step("Starting Emporium");
    let mut cmd = Command::new(&built.server);
    cmd.args(args).current_dir(util::root());
    if std::env::var_os("EMPORIUM_SITE_ROOT").is_none() {
        cmd.env("EMPORIUM_SITE_ROOT", &built.site);
    }
    #[cfg(unix)]
    {
        // Replace this process, so Ctrl-C and SIGTERM reach the server directly.
        use std::os::unix::process::CommandExt;
        let err = cmd.exec();
        Err(err).context("cannot start the server")
    }
    #[cfg(not(unix))]
    {
        let status = cmd.status()?;
        Ok(if status.success() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
}

/// Builds, then runs one of the tools' commands (`tools <command> <args>`) from the workspace
/// root, passing its exit status on.
pub fn tools_command(command: &[&str], args: &[String]) -> Result<ExitCode> {
    let built = build_all(false, Profile::Quick)?;
    step(&format!("tools {}", command.join(" ")));
    let status = Command::new(&built.tools)
        .args(command)
        .args(args.iter().skip_while(|a| *a == "--"))
        .current_dir(util::root())
        .status()
        .context("cannot start the tools")?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
