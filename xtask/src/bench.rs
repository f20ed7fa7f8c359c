//! `cargo xtask bench [--quick] [--only NAME,…]`: the benchmark suite, each figure next to a
//! baseline measured in the same run, written to `target/bench/results.json` and drawn as one
//! SVG chart per benchmark in `bench/charts/` (BENCHMARKS.md shows them).
//!
//! - `page`: product page, listing and cart SSR vs `/healthz` (plain text) in the same
//!   binary, `wrk` at 64 connections (target ≥ 0.35×, p99 ≤ 10 ms).
//! - `checkout`: a flash sale end to end on SQLite (and PostgreSQL when
//!   `EMPORIUM_TEST_POSTGRES_URL` is set) next to the raw conditional-UPDATE rate of the same
//!   database (`tools bench hot-sku`).
//! - `search`: `tools bench search` (1,000,000 synthetic products; `--quick`: 100,000).
//! - `vitals`: lab Core Web Vitals and page weight in Chromium (`end2end/vitals/vitals.mjs`).
//! - `restart`: SIGKILL to the first 200, and memory under load (`bench/restart.sh`).
//!
//! `--redraw` draws the charts again from the last `results.json` without measuring.
//!
//! The machine is shared and has two cores: absolute figures move between runs, the ratios
//! to the same-run baselines are what to compare.

use crate::build::{self, Built};
use crate::cluster::{self, Guard};
use crate::setup;
use crate::util::{self, step};
use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

/// One benchmark's figures, as charted.
struct Chart {
    name: String,
    title: String,
    unit: &'static str,
    /// (label, value); the first bar is the baseline.
    bars: Vec<(String, f64)>,
    /// Free-form lines for the summary (targets, extra figures).
    notes: Vec<String>,
}

const ALL: [&str; 5] = ["page", "checkout", "search", "vitals", "restart"];

/// `cargo xtask bench`'s arguments.
#[derive(clap::Args)]
pub struct BenchArgs {
    /// Smaller catalogs and shorter runs (search over 100,000 products, not 1,000,000).
    #[arg(long)]
    quick: bool,
    /// Only these benchmarks (page, checkout, search, vitals, restart).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Redraw the charts from the last run's figures, measuring nothing.
    #[arg(long)]
    redraw: bool,
}

pub fn bench(args: &BenchArgs) -> Result<ExitCode> {
    let quick = args.quick;
    let only: Vec<String> = if args.only.is_empty() {
        ALL.iter().map(|s| s.to_string()).collect()
    } else {
        args.only.clone()
    };
    if let Some(unknown) = only.iter().find(|n| !ALL.contains(&n.as_str())) {
        bail!("no benchmark named {unknown}; there are {}", ALL.join(", "));
    }
    // wrk has no --version that exits 0; ask the shell whether it is there.
    let has_wrk = Command::new("sh")
        .args(["-c", "command -v wrk"])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_wrk {
        bail!("the benchmarks need wrk (Debian: apt-get install -y wrk)");
    }
    let out = util::root().join("target/bench");
    if args.redraw {
        // The charts again from the last run's figures (after a change to the drawing).
        let last: Value = serde_json::from_str(
            &std::fs::read_to_string(out.join("results.json"))
                .context("no target/bench/results.json: run the benchmarks first")?,
        )?;
        let charts = from_results(&last);
        draw(&charts)?;
        println!("redrew {} chart(s) in bench/charts/", charts.len());
        return Ok(ExitCode::SUCCESS);
    }
    let built = build::build_all(false, build::Profile::Release)?;
    std::fs::create_dir_all(&out)?;
    let started = Instant::now();
    let mut charts = Vec::new();
    for name in &only {
        step(&format!("Benchmark: {name}"));
        let result = match name.as_str() {
            "page" => page(&built),
            "checkout" => checkout(&built),
            "search" => search(&built, quick),
            "vitals" => vitals(&built),
            "restart" => restart(),
            other => Err(anyhow::anyhow!("no benchmark named {other}")),
        };
        match result {
            Ok(mut c) => charts.append(&mut c),
            Err(e) => eprintln!("    {name}: failed: {e:#}"),
        }
    }
    draw(&charts)?;
    let mut summary = Vec::new();
    for chart in &charts {
        summary.push(json!({
            "name": chart.name, "title": chart.title, "unit": chart.unit,
            "bars": chart.bars.iter().map(|(l, v)| json!({ "label": l, "value": v })).collect::<Vec<_>>(),
            "notes": chart.notes,
        }));
        println!("\n### {}\n", chart.title);
        let base = chart.bars.first().map(|b| b.1).unwrap_or(1.0);
        println!(
            "| | {} | vs {} |\n|---|---:|---:|",
            chart.unit, chart.bars[0].0
        );
        for (label, value) in &chart.bars {
            println!("| {label} | {value:.2} | {:.3}× |", value / base);
        }
        for note in &chart.notes {
            println!("\n{note}");
        }
    }
    std::fs::write(
        out.join("results.json"),
        serde_json::to_string_pretty(&json!({
            "when": util::output(Command::new("date").arg("-u").arg("+%Y-%m-%dT%H:%M:%SZ")).unwrap_or_default(),
            "quick": quick,
            "benchmarks": summary,
        }))?,
    )?;
    println!(
        "\nxtask bench: {} chart(s) in bench/charts/, figures in target/bench/results.json ({:.0?})",
        charts.len(),
        Duration::from_secs(started.elapsed().as_secs())
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes each chart to `bench/charts/NAME.svg`.
fn draw(charts: &[Chart]) -> Result<()> {
    let dir = util::root().join("bench/charts");
    std::fs::create_dir_all(&dir)?;
    for chart in charts {
        std::fs::write(dir.join(format!("{}.svg", chart.name)), svg(chart))?;
    }
    Ok(())
}

/// The charts recorded in a `results.json`.
fn from_results(results: &Value) -> Vec<Chart> {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    results["benchmarks"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|b| Chart {
            name: text(&b["name"]),
            title: text(&b["title"]),
            unit: match b["unit"].as_str() {
                Some("req/s") => "req/s",
                Some("ms") => "ms",
                Some("KB") => "KB",
                _ => "per second",
            },
            bars: b["bars"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|bar| {
                    (
                        text(&bar["label"]),
                        bar["value"].as_f64().unwrap_or(f64::NAN),
                    )
                })
                .collect(),
            notes: b["notes"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(text)
                .collect(),
        })
        .collect()
}

/// A shop on the demo catalog with its own data folder, on `port`, until dropped.
struct Shop {
    _process: Guard,
    _gateway: Guard,
    port: u16,
    dir: PathBuf,
    /// PostgreSQL's URL; `None` for the SQLite file in `dir`.
    database: Option<String>,
}

impl Shop {
    /// Starts it on SQLite in its folder, or on the PostgreSQL `database`. With `pictures`,
    /// it returns once the demo catalog's pictures are drawn (drawing them takes both cores
    /// for a while and would be measured with whatever runs first); without, none are drawn.
    fn start(built: &Built, port: u16, database: Option<&str>, pictures: bool) -> Result<Self> {
        let dir = util::root().join(format!("target/bench/shop-{port}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let gateway_port = port + 1;
        let gateway = cluster::start_gateway(&built.paysim, gateway_port)?;
        let log = std::fs::File::create(dir.join("server.log"))?;
        let mut server = Command::new(&built.server);
        if let Some(url) = database {
            server.env("EMPORIUM_DATABASE_URL", url);
        }
        let process = Guard(
            server
                .env("EMPORIUM_ADDR", format!("127.0.0.1:{port}"))
                .env("EMPORIUM_DATA_DIR", &dir)
                .env("EMPORIUM_SITE_ROOT", &built.site)
                .env("EMPORIUM_RATE_LIMITS", "false")
                .env(
                    "EMPORIUM_GATEWAY_URL",
                    format!("http://127.0.0.1:{gateway_port}"),
                )
                .env("EMPORIUM_DEMO_PICTURES", pictures.to_string())
                // The line that says the pictures are drawn is at info.
                .env("RUST_LOG", "warn,server=info")
                .stdout(log.try_clone()?)
                .stderr(log)
                .current_dir(util::root())
                .spawn()
                .context("cannot start the shop")?,
        );
        let shop = Self {
            _process: process,
            _gateway: gateway,
            port,
            dir,
            database: database.map(str::to_string),
        };
        let deadline = Instant::now() + Duration::from_secs(180);
        let drawn = || {
            std::fs::read_to_string(shop.dir.join("server.log")).is_ok_and(|log| {
                log.contains("drew the demo catalog's pictures")
                    || log.contains("demo pictures not drawn")
            })
        };
        while Instant::now() < deadline {
            if curl_status(&shop.url("/readyz")) == Some(200) && (!pictures || drawn()) {
                return Ok(shop);
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        bail!("the shop on :{port} never became ready (or never drew its pictures)")
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn database_url(&self) -> String {
        self.database
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}/emporium.db", self.dir.display()))
    }
}

fn curl_status(url: &str) -> Option<u16> {
    util::output(Command::new("curl").args(["-s", "-o", "/dev/null", "-w", "%{http_code}", url]))
        .and_then(|s| s.trim().parse().ok())
}

fn curl_json(url: &str) -> Result<Value> {
    let text = util::output(Command::new("curl").args(["-sf", url]))
        .with_context(|| format!("GET {url} failed"))?;
    Ok(serde_json::from_str(&text)?)
}

/// `wrk` at 64 connections for `secs`: (req/s, p50 ms, p99 ms).
fn wrk(url: &str, secs: u32) -> Result<(f64, f64, f64)> {
    let text = util::output(Command::new("wrk").args([
        "-t1",
        "-c64",
        &format!("-d{secs}s"),
        "--latency",
        url,
    ]))
    .context("wrk failed")?;
    let rate = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .context("no rate in wrk's output")?;
    let at = |q: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(q).map(|v| millis(v.trim())))
            .flatten()
            .unwrap_or(f64::NAN)
    };
    Ok((rate, at("50%"), at("99%")))
}

/// wrk's "1.02ms" / "850.00us" / "1.10s" in milliseconds.
fn millis(text: &str) -> Option<f64> {
    let (number, scale) = if let Some(v) = text.strip_suffix("us") {
        (v, 0.001)
    } else if let Some(v) = text.strip_suffix("ms") {
        (v, 1.0)
    } else if let Some(v) = text.strip_suffix('s') {
        (v, 1000.0)
    } else {
        (text, 1.0)
    };
    number.parse::<f64>().ok().map(|n| n * scale)
}

fn page(built: &Built) -> Result<Vec<Chart>> {
    let shop = Shop::start(built, 3530, None, true)?;
    let product = curl_json(&shop.url("/api/v1/products?per_page=1"))?;
    let product_page = product["products"][0]["url"]
        .as_str()
        .context("no product to view")?
        .to_string();
    let categories = curl_json(&shop.url("/api/v1/categories"))?;
    let listing = categories["categories"]
        .as_array()
        .and_then(|c| c.iter().find_map(|c| c["url"].as_str()))
        .unwrap_or("/")
        .to_string();
    let routes = [
        ("/healthz (plain text)", "/healthz".to_string()),
        ("product page", product_page),
        ("listing", listing),
        ("cart (empty)", "/cart".to_string()),
    ];
    for (_, path) in &routes {
        let _ = curl_status(&shop.url(path));
    }
    let mut bars = Vec::new();
    let mut notes = Vec::new();
    for round in 1..=2 {
        for (label, path) in &routes {
            let (rate, p50, p99) = wrk(&shop.url(path), 8)?;
            if round == 2 {
                bars.push((label.to_string(), rate));
                notes.push(format!(
                    "{label} (`{path}`): {rate:.0} req/s, p50 {p50:.1} ms, p99 {p99:.1} ms"
                ));
            }
        }
    }
    let base = bars.first().map(|b| b.1).unwrap_or(1.0);
    let product_ratio = bars.get(1).map(|b| b.1 / base).unwrap_or(0.0);
    notes.push(format!(
        "Target: product page ≥ 0.35× `/healthz` with p99 ≤ 10 ms at 64 connections; measured {product_ratio:.3}× ({}).",
        if product_ratio >= 0.35 { "met" } else { "not met" }
    ));
    drop(shop);
    Ok(vec![Chart {
        name: "page".into(),
        title: "Pages vs a plaintext route, same binary, wrk -c64 (second of two rounds)".into(),
        unit: "req/s",
        bars,
        notes,
    }])
}

fn checkout(built: &Built) -> Result<Vec<Chart>> {
    let mut charts = Vec::new();
    let mut databases = vec![("SQLite".to_string(), "sqlite".to_string())];
    if let Ok(url) = std::env::var("EMPORIUM_TEST_POSTGRES_URL") {
        databases.push(("PostgreSQL".into(), url));
    }
    for (name, database) in databases {
        let mut bars = hot_sku(built, &database)?;
        let mut notes = Vec::new();
        // The whole checkout, through HTTP with a gateway, on one node (the PostgreSQL
        // cluster's sale under faults is in `cargo xtask chaos`).
        let (sale, note) = flash_sale(built, 1, &database)?;
        bars.push(("flash sale, one hot SKU (checkouts/s)".into(), sale));
        notes.push(note);
        let (sale, note) = flash_sale(built, 50, &database)?;
        bars.push(("checkouts spread over 50 SKUs (checkouts/s)".into(), sale));
        notes.push(note);
        if database == "sqlite" {
            notes.push(
                "Target (spread): ≥ 2,000 checkouts/s on SQLite with a 20 ms gateway.".into(),
            );
        }
        charts.push(Chart {
            name: if database == "sqlite" {
                "checkout-sqlite".into()
            } else {
                "checkout-postgres".into()
            },
            title: format!(
                "Checkout on {name}: the raw conditional UPDATE, the reserve step, whole checkouts"
            ),
            unit: "per second",
            bars,
            notes,
        });
    }
    Ok(charts)
}

/// `tools bench hot-sku`: (name, rate) per path, the raw UPDATE first.
fn hot_sku(built: &Built, database: &str) -> Result<Vec<(String, f64)>> {
    let text = util::output(
        Command::new(&built.tools)
            .args(["bench", "hot-sku", "--database", database, "--seconds", "5"])
            .current_dir(util::root()),
    )
    .context("tools bench hot-sku failed")?;
    let rates: Vec<(String, f64)> = text
        .lines()
        .filter_map(|l| {
            let (name, rest) = l.trim().split_once("  ")?;
            let rate = rest.split_whitespace().next()?.strip_suffix("/s")?;
            Some((name.trim().to_string(), rate.parse().ok()?))
        })
        .collect();
    if rates.is_empty() {
        bail!("no rates in: {text}");
    }
    Ok(rates)
}

/// A sale against a fresh shop with a 20 ms gateway: 1,000 buyers for 100 units of one SKU,
/// or (`skus` > 1) 2,000 buyers spread over `skus` SKUs with stock for all of them. On SQLite
/// (`database` "sqlite") or in a fresh `bench` schema of the PostgreSQL database `database`.
fn flash_sale(built: &Built, skus: usize, database: &str) -> Result<(f64, String)> {
    let url = match database {
        "sqlite" => None,
        postgres => Some(crate::chaos::fresh_schema(postgres, "bench")?),
    };
    let shop = Shop::start(built, 3540, url.as_deref(), false)?;
    let (buyers, units) = if skus > 1 {
        ("2000", "1000")
    } else {
        ("1000", "100")
    };
    let text = util::output(
        Command::new(&built.tools)
            .args(["loadgen", "flash-sale"])
            .args(["--shop", &shop.url("")])
            .args(["--gateway", &format!("http://127.0.0.1:{}", shop.port + 1)])
            .args(["--buyers", buyers, "--units", units, "--concurrency", "64"])
            .args(["--skus", &skus.to_string()])
            .args(["--gateway-latency-ms", "20"])
            .env("EMPORIUM_DATABASE_URL", shop.database_url())
            .current_dir(util::root()),
    )
    .context("the flash sale failed")?;
    let line = text
        .lines()
        .find(|l| l.contains("checkouts/s"))
        .context("no rate in the flash sale's output")?;
    let rate = line
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .context("no rate")?;
    let held = text.contains("invariants: all hold");
    Ok((
        rate,
        format!(
            "{} buyers for {} units of each of {skus} SKU(s), 64 in flight, gateway +20 ms: {}; invariants {}.",
            buyers,
            units,
            line.trim(),
            if held { "all hold" } else { "BROKEN" }
        ),
    ))
}

fn search(built: &Built, quick: bool) -> Result<Vec<Chart>> {
    let products = if quick { "100000" } else { "1000000" };
    let dir = if quick {
        "target/bench-search-100k"
    } else {
        "target/bench-search"
    };
    let text = util::output(
        Command::new(&built.tools)
            .args(["bench", "search", "--products", products, "--dir", dir])
            .current_dir(util::root()),
    )
    .context("tools bench search failed")?;
    // "| path | p50 | p90 | p99 | max |" rows, bare Tantivy first.
    let (mut p50, mut p99) = (Vec::new(), Vec::new());
    let mut notes = Vec::new();
    for line in text.lines() {
        if line.starts_with("search at") {
            notes.push(line.to_string());
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() == 7
            && let (Ok(a), Ok(b)) = (cells[2].parse::<f64>(), cells[4].parse::<f64>())
        {
            p50.push((cells[1].to_string(), a));
            p99.push((cells[1].to_string(), b));
        }
    }
    notes
        .push("Targets: index path p50 ≤ 0.5 ms and p99 ≤ 5 ms (top 20 with facet counts).".into());
    Ok(vec![
        Chart {
            name: "search-p50".into(),
            title: format!("Search latency at {products} products, p50 (ms), 1,000 varied queries"),
            unit: "ms",
            bars: p50,
            notes: notes.clone(),
        },
        Chart {
            name: "search-p99".into(),
            title: format!("Search latency at {products} products, p99 (ms), 1,000 varied queries"),
            unit: "ms",
            bars: p99,
            notes: Vec::new(),
        },
    ])
}

fn vitals(built: &Built) -> Result<Vec<Chart>> {
    let script = util::root().join("end2end/vitals/vitals.mjs");
    setup::npm_packages(None)?;
    let chromium = setup::chromium(None)?;
    let shop = Shop::start(built, 3550, None, true)?;
    let results = util::root().join("target/bench/vitals.json");
    let status = Command::new("node")
        .arg(&script)
        .env("EMPORIUM_BASE_URL", shop.url(""))
        .env("CHROMIUM_PATH", &chromium)
        .env("VITALS_OUT", &results)
        .current_dir(util::root())
        .stdout(Stdio::inherit())
        .status()
        .context("cannot run node")?;
    if !status.success() {
        bail!("end2end/vitals/vitals.mjs failed");
    }
    let results: Value = serde_json::from_str(
        &std::fs::read_to_string(&results).context("end2end/vitals/vitals.mjs wrote no results")?,
    )?;
    Ok(vitals_charts(&results))
}

/// Charts from the vitals script's results: LCP per page, and bytes per page.
fn vitals_charts(results: &Value) -> Vec<Chart> {
    let pages = results["pages"].as_array().cloned().unwrap_or_default();
    let figure = |pointer: &str| -> Vec<(String, f64)> {
        pages
            .iter()
            .map(|p| {
                (
                    p["name"].as_str().unwrap_or("?").to_string(),
                    p.pointer(pointer)
                        .and_then(Value::as_f64)
                        .unwrap_or(f64::NAN),
                )
            })
            .collect()
    };
    let mut weight = figure("/bytes/total_kb");
    for (name, kb) in figure("/bytes/js_wasm_kb") {
        weight.push((format!("{name}: JS + WASM"), kb));
    }
    vec![
        Chart {
            name: "vitals-lcp".into(),
            title: "Largest Contentful Paint, lab, Chromium, cold cache (ms, p75; target ≤ 1,200)"
                .into(),
            unit: "ms",
            bars: figure("/lcp/p75"),
            notes: vec![format!(
                "CLS (max over runs): {}; target ≤ 0.02.",
                pages
                    .iter()
                    .map(|p| format!(
                        "{} {:.3}",
                        p["name"].as_str().unwrap_or("?"),
                        p["cls"].as_f64().unwrap_or(f64::NAN)
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            )],
        },
        Chart {
            name: "vitals-weight".into(),
            title:
                "First view, KB over the wire (compressed); targets: product ≤ 250, JS + WASM ≤ 100"
                    .into(),
            unit: "KB",
            bars: weight,
            notes: vec![],
        },
    ]
}

fn restart() -> Result<Vec<Chart>> {
    let text = util::output(
        Command::new("bash")
            .arg("bench/restart.sh")
            .env("ROUNDS", "3")
            .current_dir(util::root()),
    )
    .context("bench/restart.sh failed")?;
    let mut bars = Vec::new();
    let mut notes = Vec::new();
    for line in text.lines() {
        if line.starts_with("first start") {
            notes.push(line.to_string());
            if let Some(ms) = line
                .split_whitespace()
                .nth(6)
                .and_then(|v| v.parse::<f64>().ok())
            {
                bars.push(("first start, importing the demo catalog".to_string(), ms));
            }
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() == 6
            && let (Ok(round), Ok(rss), Ok(ms)) = (
                cells[1].parse::<u32>(),
                cells[3].parse::<f64>(),
                cells[4].parse::<f64>(),
            )
        {
            bars.push((format!("restart after SIGKILL, round {round}"), ms));
            notes.push(format!(
                "round {round}: {} req/s under load, peak RSS {rss:.0} MB, first 200 after SIGKILL in {ms:.0} ms",
                cells[2]
            ));
        }
    }
    notes.push("Targets: restart after SIGKILL to the first 200 ≤ 2,000 ms; RSS under load ≤ 150 MB on the demo catalog.".into());
    Ok(vec![Chart {
        name: "restart".into(),
        title: "Start to the first 200 (ms): first start vs restarts after SIGKILL under load"
            .into(),
        unit: "ms",
        bars,
        notes,
    }])
}

/// A horizontal bar chart, plain SVG (no dependency): one bar per figure, its value at the
/// end, the first bar (the baseline) in grey.
fn svg(chart: &Chart) -> String {
    let (width, label_w, bar_h, gap, top) = (900.0, 390.0, 22.0, 8.0, 44.0);
    let max = chart
        .bars
        .iter()
        .map(|b| b.1)
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    let height = top + chart.bars.len() as f64 * (bar_h + gap) + 16.0;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         font-family=\"sans-serif\" font-size=\"13\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"10\" y=\"24\" font-size=\"15\" font-weight=\"bold\">{}</text>\n",
        escape(&chart.title)
    );
    let span = width - label_w - 110.0;
    for (i, (label, value)) in chart.bars.iter().enumerate() {
        let y = top + i as f64 * (bar_h + gap);
        let w = if value.is_finite() {
            (value / max * span).max(1.0)
        } else {
            0.0
        };
        let fill = if i == 0 { "#9aa0a6" } else { "#1a73e8" };
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n\
             <rect x=\"{label_w}\" y=\"{y}\" width=\"{w:.1}\" height=\"{bar_h}\" fill=\"{fill}\"/>\n\
             <text x=\"{:.1}\" y=\"{}\">{} {}</text>\n",
            label_w - 8.0,
            y + 16.0,
            escape(label),
            label_w + w + 6.0,
            y + 16.0,
            format_value(*value),
            chart.unit
        ));
    }
    out.push_str("</svg>\n");
    out
}

fn format_value(v: f64) -> String {
    if !v.is_finite() {
        "n/a".into()
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
