//! `cargo xtask …`: the README's commands.
//!
//! - `cargo xtask run`  — install what is missing, build the release server and the hydrate
//!   bundle, then run the shop (data in `data/`, on http://127.0.0.1:3000 by default).
//! - `cargo xtask test` — install what is missing, then fmt, clippy (native and wasm), every
//!   Rust test on SQLite (and PostgreSQL when `EMPORIUM_TEST_POSTGRES_URL` is set), and the
//!   Playwright suite against a release build, then the small chaos run when PostgreSQL is
//!   there. Ends with one summary line.
//! - `cargo xtask build` — just build the server and the site.
//! - `cargo xtask eval-search [--verbose]` — mean NDCG@10 of search on the WANDS judgments.
//! - `cargo xtask cluster [--nodes N] [--port P]` — N nodes over one PostgreSQL database, with
//!   the gateway, an S3-compatible store and a round-robin proxy on P (see `cluster.rs`).
//! - `cargo xtask chaos [--small]` — a fresh cluster, a flash sale under faults, a node killed,
//!   the store frozen, single-packet bursts; then every invariant (see `chaos.rs`).
//! - `cargo xtask bench [--quick] [--only page,checkout,search,vitals,restart]` — the
//!   benchmark suite with same-run baselines and SVG charts (see `bench.rs`).
//!
//! The build is the one cargo-leptos would do (server with `ssr`, `frontend` for wasm32 with
//! the `wasm-release` profile, wasm-bindgen, CSS and `public/` into `target/site`), driven
//! with plain cargo so that nobody has to install cargo-leptos or wasm-opt first.

mod bench;
mod build;
mod chaos;
mod cluster;
mod setup;
mod simulate;
mod test;
mod util;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => build::run(&args[1..]),
        Some("build") => build::build_all(false).map(|_| ExitCode::SUCCESS),
        Some("test") => test::test(&args[1..]),
        Some("eval-search") => build::server_command(&["eval-search"], &args[1..]),
        Some("cluster") => cluster::cluster(&args[1..]),
        Some("chaos") => chaos::chaos(&args[1..]),
        Some("bench") => bench::bench(&args[1..]),
        Some("simulate") => simulate::simulate(&args[1..]),
        Some("help" | "--help" | "-h") | None => {
            eprintln!(
                "usage: cargo xtask <run|test|build|eval-search|cluster|chaos|bench|simulate> [-- server args]"
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(other) => {
            eprintln!("unknown xtask command `{other}`; try `cargo xtask help`");
            Ok(ExitCode::FAILURE)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
