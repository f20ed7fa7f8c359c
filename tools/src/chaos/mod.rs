//! `tools loadgen chaos`: the chaos run's driver. `cargo xtask chaos` starts a cluster (nodes
//! over one PostgreSQL database, the gateway, an S3-compatible store, a proxy) and runs this
//! against it with the pids it may kill or stop.
//!
//! While shoppers browse, search and buy across many SKUs ([`traffic`]):
//!
//! 1. a flash sale — many buyers, a few units of one SKU — with gateway faults (charged and
//!    never answered, 502 before charging, 500 after charging) and declined cards;
//! 2. one node SIGKILLed mid-sale while it drives checkouts (the cluster restarts it; its
//!    buyers resend with their keys; recovery finishes what it left) ([`disrupt`]);
//! 3. the object store black-holed (SIGSTOP) until every node has switched to the pictures it
//!    holds and served pages that way, then thawed until every node shows every picture
//!    again; then killed (SIGKILL) for the rest of the run ([`disrupt`]); every picture the
//!    pages served meanwhile point at must load;
//! 4. single-packet bursts ([`burst`]): many buyers for the last unit, one request sent many
//!    times with the same key, and many buyers for a coupon that may be used once.
//!
//! Then, once every attempt has ended, every invariant is checked against the database and
//! the gateway's ledger ([`invariants`]); the caller exits non-zero if any is broken.

pub mod burst;
pub mod disrupt;
pub mod invariants;
pub mod traffic;

use crate::loadgen::{self, FlashSale, GatewayFaults, Target, resend, set_stock};
use anyhow::Context;
use invariants::Check;
use serde_json::{Value, json};
use shop::catalog::VariantId;
use shop::db::{Db, DbOptions};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What to run, and against what: `tools loadgen chaos`'s arguments (`cargo xtask chaos`
/// starts the cluster and passes them).
#[derive(Clone, Debug, clap::Args)]
pub struct Chaos {
    #[command(flatten)]
    pub target: Target,
    /// A node's own address (repeat for each; bursts are spread over them).
    #[arg(long = "node", required = true)]
    pub nodes: Vec<SocketAddr>,
    #[arg(long, default_value_t = 10_000)]
    pub buyers: usize,
    #[arg(long, default_value_t = 100)]
    pub units: i64,
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Shoppers browsing, searching and buying other SKUs in the background.
    #[arg(long, default_value_t = 8)]
    pub shoppers: usize,
    /// Share of charges the gateway makes and never answers (0–1).
    #[arg(long, default_value_t = 0.03)]
    pub timeout_rate: f64,
    /// Share of gateway calls answered 502 before charging (0–1).
    #[arg(long, default_value_t = 0.03)]
    pub error_before_rate: f64,
    /// Share of charges the gateway makes and answers 500 (0–1).
    #[arg(long, default_value_t = 0.03)]
    pub error_after_rate: f64,
    /// How long the gateway faults last from the start of the sale, in seconds.
    #[arg(long = "faults-secs", value_parser = loadgen::seconds, default_value = "10")]
    pub faults_for: Duration,
    /// Every n-th buyer pays with a card that is declined (0: nobody).
    #[arg(long, default_value_t = 20)]
    pub decline_every: usize,
    /// The pid of a node to SIGKILL one second into the sale…
    #[arg(long, requires = "kill_node")]
    pub kill_pid: Option<u32>,
    /// …and its address, to see it come back.
    #[arg(long, requires = "kill_pid")]
    pub kill_node: Option<SocketAddr>,
    /// The object store's pid, frozen (SIGSTOP) after the kill for at least
    /// `--store-outage-secs` (and until every node has noticed and served pages text-only).
    #[arg(long)]
    pub store_pid: Option<u32>,
    #[arg(long = "store-outage-secs", value_parser = loadgen::seconds, default_value = "8")]
    pub store_outage: Duration,
    /// Requests in each single-packet burst.
    #[arg(long, default_value_t = 32)]
    pub burst: usize,
}

impl Chaos {
    /// The node to SIGKILL mid-sale: its pid and its address.
    pub fn kill(&self) -> Option<(u32, SocketAddr)> {
        self.kill_pid.zip(self.kill_node)
    }

    fn faults(&self) -> GatewayFaults {
        GatewayFaults {
            timeout_rate: self.timeout_rate,
            error_before_rate: self.error_before_rate,
            error_after_rate: self.error_after_rate,
        }
    }

    /// Runs the chaos and prints the story and every check; fails if any check does.
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        let outcome = run(&self).await?;
        println!("chaos run:");
        for line in &outcome.story {
            println!("  {line}");
        }
        println!("invariants:");
        for check in &outcome.checks {
            let mark = if check.ok { "ok  " } else { "FAIL" };
            println!("  {mark} {:<72} {}", check.name, check.found);
        }
        let broken = outcome.checks.iter().filter(|c| !c.ok).count();
        if broken == 0 {
            println!("chaos: all {} checks hold", outcome.checks.len());
            Ok(ExitCode::SUCCESS)
        } else {
            println!("chaos: {broken} of {} checks FAILED", outcome.checks.len());
            Ok(ExitCode::FAILURE)
        }
    }
}

/// What happened, in lines for people, and the checks.
#[derive(Debug, Default)]
pub struct Outcome {
    pub story: Vec<String>,
    pub checks: Vec<Check>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }
}

/// How long the run waits, after the last request, for every attempt to end (recovery takes
/// over a dead node's attempts once their lease runs out).
const SETTLE_LIMIT: Duration = Duration::from_secs(150);

pub async fn run(c: &Chaos) -> anyhow::Result<Outcome> {
    let mut out = Outcome::default();
    let db = Db::connect(&c.target.database_url, &DbOptions::default()).await?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;

    // The shelf: the first SKU is the flash sale's, the second the last-unit burst's, the
    // rest are bought in the background and by the other bursts, with plenty of stock.
    let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
        "SELECT v.id, v.sku, p.slug, p.title FROM variants v JOIN products p ON p.id = v.product_id \
         ORDER BY v.id LIMIT 60",
    )
    .fetch_all(db.pool())
    .await?;
    anyhow::ensure!(
        rows.len() >= 10,
        "the catalog has too few SKUs for a chaos run"
    );
    let flash = &rows[0];
    let last_unit = &rows[1];
    let shelf = traffic::Shelf {
        slugs: rows.iter().map(|r| r.2.clone()).collect(),
        skus: rows[2..].iter().map(|r| r.1.clone()).collect(),
        words: rows
            .iter()
            .filter_map(|r| r.3.split_whitespace().find(|w| w.len() > 3))
            .map(str::to_lowercase)
            .collect(),
    };
    for row in &rows[2..] {
        set_stock(&db, VariantId::new(row.0), 100_000).await?;
    }

    let shoppers = Arc::new(traffic::Traffic::default());
    let mut background = traffic::start(
        c.target.shop.clone(),
        shelf.clone(),
        c.shoppers,
        shoppers.clone(),
    );

    // The disruptions, on their own clock from the moment the sale opens.
    let progress = Arc::new(loadgen::Progress::default());
    let disruptions = tokio::spawn(disrupt::disrupt(
        c.clone(),
        db.clone(),
        shelf.skus[shelf.skus.len() - 1].clone(),
        progress.clone(),
        shoppers.clone(),
        http.clone(),
    ));
    let sale = FlashSale {
        target: c.target.clone(),
        sku: flash.1.clone(),
        buyers: c.buyers,
        units: c.units,
        concurrency: c.concurrency,
        gateway_latency_ms: 20,
        faults: c.faults(),
        faults_for: c.faults_for,
        decline_every: c.decline_every,
        skus: 1,
        progress: Some(progress),
    };
    let report = loadgen::flash_sale(&sale).await?;
    out.story.push(format!(
        "flash sale: {} buyers for {} units of {}: {} confirmed, {} sold out, {} other \
         (declined, interrupted, payment failed), {} requests resent, {:.1} s",
        c.buyers,
        c.units,
        flash.1,
        report.confirmed,
        report.sold_out,
        report.other.len(),
        report.resent,
        report.seconds
    ));
    out.checks.push(Check::holds(
        "flash sale: units sold ≤ units in stock",
        format!("{} of {}", report.confirmed, c.units),
        report.confirmed as i64 <= c.units,
    ));
    let disrupted = disruptions.await??;
    out.story.extend(disrupted.story);
    out.checks.extend(disrupted.checks);

    // The bursts, with the shop whole again and shoppers still about: every node's gateway
    // breaker closed (the sale's faults may have opened it; the background shoppers'
    // checkouts are its trial calls), else a burst only measures the breaker.
    let closed = gateway_closed_everywhere(&http, &c.nodes).await?;
    out.checks.push(Check::holds(
        "gateway: every node's breaker closed again before the bursts",
        closed.map_or("not within 60 s".into(), |t| {
            format!("after {:.1} s", t.as_secs_f64())
        }),
        closed.is_some(),
    ));
    last_unit_burst(c, &db, &http, last_unit, &mut out).await?;
    same_key_burst(c, &http, &shelf.skus[0], &mut out).await?;
    coupon_burst(c, &db, &http, &shelf.skus[1], &mut out).await?;

    shoppers.stop();
    while background.join_next().await.is_some() {}
    let seen = shoppers.tally();
    blast_radius(c, &seen, &mut out);

    // Every attempt ends (recovery finishes what the killed node left), then the invariants.
    let started = Instant::now();
    loop {
        let open: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM checkouts WHERE state NOT IN ('confirmed', 'failed')",
        )
        .fetch_one(db.pool())
        .await?;
        if open == 0 || started.elapsed() > SETTLE_LIMIT {
            out.story.push(format!(
                "settled: {open} attempts unfinished after {:.1} s",
                started.elapsed().as_secs_f64()
            ));
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    if !disrupted.in_flight_at_kill.is_empty() {
        out.checks
            .push(disrupt::taken_over(&db, &disrupted.in_flight_at_kill).await?);
    }
    out.checks
        .extend(invariants::check(&db, &http, &c.target.gateway).await?);
    db.close().await;
    Ok(out)
}

/// Waits until every node's `/metrics` shows its payment gateway available (breaker closed);
/// how long that took, or `None` after a minute.
async fn gateway_closed_everywhere(
    http: &reqwest::Client,
    nodes: &[SocketAddr],
) -> anyhow::Result<Option<Duration>> {
    const LIMIT: Duration = Duration::from_secs(60);
    let started = Instant::now();
    loop {
        let mut closed = 0;
        for node in nodes {
            let metrics = match http.get(format!("http://{node}/metrics")).send().await {
                Ok(response) => response.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            closed += usize::from(metrics.lines().any(|l| l == "emporium_gateway_available 1"));
        }
        if closed == nodes.len() {
            return Ok(Some(started.elapsed()));
        }
        if started.elapsed() > LIMIT {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A checkout request body for `cart`.
fn checkout_body(cart: &str, email: &str) -> Value {
    json!({
        "cart_id": cart,
        "email": email,
        "shipping_address": { "name": "Racer", "line1": "3 Burst St", "city": "Springfield",
                              "region": "IL", "postal_code": "62701", "country": "US" },
        "payment": { "card_number": "4242424242424242" },
    })
}

/// A new cart holding one unit of `sku`, with `coupon` applied if given.
async fn cart_with(
    http: &reqwest::Client,
    shop: &str,
    sku: &str,
    coupon: Option<&str>,
) -> anyhow::Result<String> {
    let cart = loadgen::new_cart(http, shop, sku).await?;
    if let Some(code) = coupon {
        resend(|| {
            http.put(format!("{shop}/api/v1/carts/{cart}/coupon"))
                .json(&json!({ "code": code }))
                .send()
        })
        .await?
        .error_for_status()
        .context("the coupon was refused before any was redeemed")?;
    }
    Ok(cart)
}

/// Sends the checkouts for `carts` (with `keys`) in one burst, then asks again with the same
/// key about any that had not ended, until each has. Returns (status, body) per request.
async fn burst_checkouts(
    c: &Chaos,
    http: &reqwest::Client,
    carts: &[String],
    keys: &[String],
) -> anyhow::Result<Vec<(u16, String)>> {
    // The same key must come with the same request (else it is refused as reused).
    let bodies: Vec<Value> = carts
        .iter()
        .zip(keys)
        .map(|(cart, key)| checkout_body(cart, &format!("{key}@example.com")))
        .collect();
    let requests: Vec<burst::Request> = bodies
        .iter()
        .zip(keys)
        .map(|(body, key)| burst::Request {
            method: "POST",
            path: "/api/v1/checkouts".into(),
            headers: vec![("Idempotency-Key".into(), key.clone())],
            body: body.to_string(),
        })
        .collect();
    let nodes = c.nodes.clone();
    let answers = tokio::task::spawn_blocking(move || burst::send(&nodes, &requests)).await??;
    let mut settled = Vec::with_capacity(answers.len());
    for ((answer, body), key) in answers.into_iter().zip(&bodies).zip(keys) {
        let (mut status, mut text) = (answer.status, answer.body);
        let deadline = Instant::now() + SETTLE_LIMIT;
        while loadgen::unsettled(status, &text) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let response = resend(|| {
                http.post(format!("{}/api/v1/checkouts", c.target.shop))
                    .header("Idempotency-Key", key)
                    .json(body)
                    .send()
            })
            .await?;
            status = response.status().as_u16();
            text = response.text().await?;
        }
        settled.push((status, text));
    }
    Ok(settled)
}

/// `n` buyers, each with a different key, for the last unit of a SKU: exactly one gets it.
async fn last_unit_burst(
    c: &Chaos,
    db: &Db,
    http: &reqwest::Client,
    (variant, sku, ..): &(i64, String, String, String),
    out: &mut Outcome,
) -> anyhow::Result<()> {
    set_stock(db, VariantId::new(*variant), c.burst as i64).await?;
    let mut carts = Vec::new();
    for _ in 0..c.burst {
        carts.push(cart_with(http, &c.target.shop, sku, None).await?);
    }
    set_stock(db, VariantId::new(*variant), 1).await?;
    let keys: Vec<String> = (0..c.burst)
        .map(|i| format!("last-{}-{i}", std::process::id()))
        .collect();
    let answers = burst_checkouts(c, http, &carts, &keys).await?;
    let won = answers.iter().filter(|(s, _)| *s == 201).count();
    let sold_out = answers
        .iter()
        .filter(|(s, b)| *s == 409 && b.contains("out_of_stock"))
        .count();
    out.story.push(format!(
        "single-packet burst: {} buyers for the last unit of {sku}: {won} bought it, {sold_out} told sold out, {} other",
        c.burst,
        c.burst - won - sold_out
    ));
    out.checks.push(Check::holds(
        "last unit: exactly one buyer gets it",
        format!("{won} of {}", c.burst),
        won == 1,
    ));
    Ok(())
}

/// One checkout sent `n` times at once with the same key: one order, one charge, and every
/// answer that names an order names the same one.
async fn same_key_burst(
    c: &Chaos,
    http: &reqwest::Client,
    sku: &str,
    out: &mut Outcome,
) -> anyhow::Result<()> {
    let cart = cart_with(http, &c.target.shop, sku, None).await?;
    let key = format!("same-{}", std::process::id());
    let carts = vec![cart; c.burst];
    let keys = vec![key; c.burst];
    let answers = burst_checkouts(c, http, &carts, &keys).await?;
    let mut orders: Vec<String> = answers
        .iter()
        .filter(|(s, _)| *s == 201)
        .filter_map(|(_, b)| serde_json::from_str::<Value>(b).ok())
        .filter_map(|v| v["order_id"].as_str().map(str::to_string))
        .collect();
    let confirmed = orders.len();
    orders.sort();
    orders.dedup();
    out.story.push(format!(
        "single-packet burst: one checkout sent {} times with one key: {confirmed} answers name an order, {} distinct",
        c.burst,
        orders.len()
    ));
    out.checks.push(Check::holds(
        "same key: one order, named by every answer",
        format!("{} distinct orders in {confirmed} answers", orders.len()),
        orders.len() == 1 && confirmed == c.burst,
    ));
    Ok(())
}

/// `n` buyers with a coupon that may be used once, in one burst: exactly one gets the discount.
async fn coupon_burst(
    c: &Chaos,
    db: &Db,
    http: &reqwest::Client,
    sku: &str,
    out: &mut Outcome,
) -> anyhow::Result<()> {
    use shop::coupons::{CouponCode, Coupons, Discount, NewCoupon};
    let code = CouponCode::parse(&format!("CHAOS-{}", std::process::id()))?;
    let clock = Arc::new(shop::clock::SystemClock);
    Coupons::new(db.clone(), clock)
        .create(&NewCoupon {
            code: code.clone(),
            discount: Discount::Percent(10),
            per_customer_limit: None,
            total_limit: Some(1),
            expires_at: None,
        })
        .await?;
    let mut carts = Vec::new();
    for _ in 0..c.burst {
        carts.push(cart_with(http, &c.target.shop, sku, Some(code.as_str())).await?);
    }
    let keys: Vec<String> = (0..c.burst)
        .map(|i| format!("coupon-{}-{i}", std::process::id()))
        .collect();
    let answers = burst_checkouts(c, http, &carts, &keys).await?;
    let won = answers.iter().filter(|(s, _)| *s == 201).count();
    let used_up = answers
        .iter()
        .filter(|(_, b)| b.contains("coupon_used_up"))
        .count();
    let redeemed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM coupon_redemptions r JOIN coupons c ON c.id = r.coupon_id \
         WHERE c.code = $1",
    )
    .bind(code.as_str())
    .fetch_one(db.pool())
    .await?;
    out.story.push(format!(
        "single-packet burst: {} buyers with single-use coupon {code}: {won} checked out, {used_up} told it was used up, {redeemed} redemption(s) recorded",
        c.burst
    ));
    out.checks.push(Check::holds(
        "single-use coupon: redeemed exactly once",
        format!("{redeemed} redemptions, {won} orders"),
        redeemed == 1 && won == 1 && used_up == c.burst - 1,
    ));
    Ok(())
}

/// What shoppers saw while things broke: pages never fail, and a dead store costs only the
/// pictures no node holds, never a broken picture on a page.
fn blast_radius(c: &Chaos, seen: &traffic::Tally, out: &mut Outcome) {
    let p99 = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v.get(((v.len() as f64 - 1.0) * 0.99).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    let outages = || traffic::Outage::ALL.map(|o| &seen.outages[o as usize]);
    out.story.push(format!(
        "background shoppers: {} page views (p99 {:.0} ms), {} pictures, {} searches, {} checkouts \
         ({} confirmed), {} requests unanswered after resending",
        seen.pages.total() + outages().iter().map(|o| o.pages.total()).sum::<usize>(),
        p99(&seen.page_ms),
        seen.images.total()
            + outages()
                .iter()
                .map(|o| o.pictures.total() + o.earlier_pictures.total())
                .sum::<usize>(),
        seen.searches.total(),
        seen.checkouts.total(),
        seen.checkouts.ok,
        seen.unanswered
    ));
    let failed = |a: &traffic::Answers| a.unavailable + a.internal + a.errors;
    out.checks.push(Check::zero(
        "blast radius: product pages that failed (5xx)",
        (failed(&seen.pages) + outages().iter().map(|o| failed(&o.pages)).sum::<usize>()) as i64,
    ));
    out.checks.push(Check::zero(
        "blast radius: internal errors (500) on any request",
        (seen.pages.internal
            + seen.images.internal
            + seen.searches.internal
            + seen.checkouts.internal
            + outages()
                .iter()
                .map(|o| o.pages.internal + o.pictures.internal + o.earlier_pictures.internal)
                .sum::<usize>()) as i64,
    ));
    if c.store_pid.is_none() || c.store_outage.is_zero() {
        return;
    }
    let healthy_rate = seen.pages_per_second();
    for outage in traffic::Outage::ALL {
        let o = &seen.outages[outage as usize];
        let name = outage.name();
        out.story.push(format!(
            "while the store was {name}: {} page views ({:.0}/s; {healthy_rate:.0}/s with it up, \
             beside the same sale and bursts), p99 {:.0} ms; their {} pictures: {} loaded, {} of \
             them placeholders; pictures of earlier pages: {} loaded, {} placeholders, {} not",
            o.pages.total(),
            o.pages_per_second(),
            p99(&o.page_ms),
            o.pictures.total(),
            o.pictures.ok,
            o.placeholders,
            o.earlier_pictures.ok,
            o.earlier_placeholders,
            o.earlier_pictures.total() - o.earlier_pictures.ok,
        ));
        out.checks.push(Check::holds(
            format!("blast radius: pages served whole while the store was {name}"),
            format!(
                "{} of {} with their text",
                o.pages.ok - o.pages_without_text,
                o.pages.total()
            ),
            o.pages.ok > 0 && o.pages.ok == o.pages.total() && o.pages_without_text == 0,
        ));
        out.checks.push(Check::zero(
            format!("blast radius: broken pictures while the store was {name}"),
            (o.pictures.total() - o.pictures.ok + o.earlier_pictures.total()
                - o.earlier_pictures.ok) as i64,
        ));
    }
    out.checks.push(Check::holds(
        "blast radius: pictures served again once the store is back",
        seen.images_after_outage.to_string(),
        seen.images_after_outage > 0,
    ));
}
