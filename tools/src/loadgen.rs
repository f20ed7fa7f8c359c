//! `tools loadgen flash-sale`: a flash sale against a running shop, through its JSON API.
//!
//! Sets the gateway's latency, gives one SKU exactly `units` in stock, fills one cart per
//! buyer, then sends every buyer's checkout at once (at most `concurrency` in flight) and
//! reports checkouts per second and latency. Afterwards it checks the invariants against the
//! shop's database and the gateway's ledger and fails if any is broken.

use anyhow::{Context, bail};
use serde_json::{Value, json};
use shop::catalog::Sku;
use shop::db::{Db, DbOptions};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// What to run: `tools loadgen flash-sale`'s arguments.
#[derive(Clone, Debug, clap::Args)]
pub struct FlashSale {
    #[command(flatten)]
    pub target: Target,
    #[arg(long, default_value = "WANDS-13-KING")]
    pub sku: String,
    #[arg(long, default_value_t = 1000)]
    pub buyers: usize,
    #[arg(long, default_value_t = 100)]
    pub units: i64,
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    #[arg(long, default_value_t = 20)]
    pub gateway_latency_ms: u64,
    /// Gateway faults during the first `faults_for` of the sale (then healed, so recovery
    /// can settle what they left unknown).
    #[command(flatten)]
    pub faults: GatewayFaults,
    /// How long the gateway faults last from the start of the sale, in seconds.
    #[arg(long = "faults-secs", value_parser = seconds, default_value = "5")]
    pub faults_for: Duration,
    /// Every n-th buyer pays with a card that is declined (0: nobody).
    #[arg(long, default_value_t = 0)]
    pub decline_every: usize,
    /// SKUs on sale: 1 for one hot SKU; more spreads the buyers over `sku` and the SKUs
    /// after it, `--units` each.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub skus: u16,
    /// Where the sale is, for whoever disrupts it (the chaos run).
    #[arg(skip)]
    pub progress: Option<Arc<Progress>>,
}

/// The shop under load: where it answers, its gateway, its database.
#[derive(Clone, Debug, clap::Args)]
pub struct Target {
    /// The shop's base URL (for a cluster, the proxy in front of the nodes).
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    pub shop: String,
    /// The gateway simulator's base URL (for faults and the ledger).
    #[arg(long, default_value = "http://127.0.0.1:3099")]
    pub gateway: String,
    /// The shop's database, for setting stock and checking the invariants.
    #[arg(
        long = "database",
        env = "EMPORIUM_DATABASE_URL",
        default_value = "sqlite://data/emporium.db",
        hide_env_values = true
    )]
    pub database_url: String,
}

/// A whole number of seconds, as a command-line argument.
pub fn seconds(text: &str) -> Result<Duration, String> {
    text.parse()
        .map(Duration::from_secs)
        .map_err(|e| format!("{text}: {e}"))
}

/// How far a sale has gone.
#[derive(Debug, Default)]
pub struct Progress {
    /// Told when the carts are full and the checkouts start.
    pub opened: tokio::sync::Notify,
    /// Buyers whose checkout has ended.
    pub answered: std::sync::atomic::AtomicUsize,
}

/// Shares of gateway calls that go wrong (the simulator's `/v1/faults`).
#[derive(Clone, Copy, Debug, Default, PartialEq, clap::Args)]
pub struct GatewayFaults {
    /// Share of charges the gateway makes and never answers (0–1).
    #[arg(long, default_value_t = 0.0)]
    pub timeout_rate: f64,
    /// Share of gateway calls answered 502 before charging (0–1).
    #[arg(long, default_value_t = 0.0)]
    pub error_before_rate: f64,
    /// Share of charges the gateway makes and answers 500 (0–1).
    #[arg(long, default_value_t = 0.0)]
    pub error_after_rate: f64,
}

impl GatewayFaults {
    fn any(&self) -> bool {
        self.timeout_rate > 0.0 || self.error_before_rate > 0.0 || self.error_after_rate > 0.0
    }

    /// These faults, with every call slowed by `latency_ms`.
    fn with_latency(self, latency_ms: u64) -> paysim::Faults {
        paysim::Faults {
            latency_ms,
            timeout_rate: self.timeout_rate,
            error_before_rate: self.error_before_rate,
            error_after_rate: self.error_after_rate,
            ..paysim::Faults::default()
        }
    }
}

/// Only slow: what the gateway is outside the fault window.
fn healed(latency_ms: u64) -> paysim::Faults {
    GatewayFaults::default().with_latency(latency_ms)
}

/// What happened.
#[derive(Debug, Default)]
pub struct Report {
    pub confirmed: usize,
    pub sold_out: usize,
    pub other: Vec<(u16, String)>,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub violations: Vec<String>,
    /// Requests sent again after a lost connection (a node died or restarted).
    pub resent: usize,
}

impl Report {
    pub fn checkouts_per_second(&self) -> f64 {
        (self.confirmed + self.sold_out + self.other.len()) as f64 / self.seconds.max(1e-9)
    }
}

impl FlashSale {
    /// Runs the sale and prints what happened; fails if an invariant broke.
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        let report = flash_sale(&self).await?;
        println!(
            "flash sale: {} buyers, {} units of {} (and of {} SKUs after it), {} in flight, gateway +{} ms",
            self.buyers,
            self.units,
            self.sku,
            self.skus - 1,
            self.concurrency,
            self.gateway_latency_ms
        );
        println!(
            "  {:.0} checkouts/s over {:.2} s; p50 {:.1} ms, p99 {:.1} ms",
            report.checkouts_per_second(),
            report.seconds,
            report.p50_ms,
            report.p99_ms
        );
        println!(
            "  {} confirmed, {} sold out, {} other; {} requests resent after a lost connection",
            report.confirmed,
            report.sold_out,
            report.other.len(),
            report.resent
        );
        for (status, body) in report.other.iter().take(5) {
            println!("    {status}: {body}");
        }
        if report.violations.is_empty() {
            println!("  invariants: all hold");
            Ok(ExitCode::SUCCESS)
        } else {
            for v in &report.violations {
                println!("  VIOLATION: {v}");
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

pub async fn flash_sale(run: &FlashSale) -> anyhow::Result<Report> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(run.concurrency)
        .build()?;
    http.post(format!("{}/v1/faults", run.target.gateway))
        .json(&healed(run.gateway_latency_ms))
        .send()
        .await
        .context("cannot reach the gateway")?
        .error_for_status()?;

    let db = Db::connect(&run.target.database_url, &DbOptions::default()).await?;
    let sku = Sku::parse(&run.sku)?;
    let variant: i64 = sqlx::query_scalar("SELECT id FROM variants WHERE sku = $1")
        .bind(sku.as_str())
        .fetch_optional(db.pool())
        .await?
        .with_context(|| format!("no SKU {sku} in the shop"))?;
    // A spread sale adds the SKUs that follow the first, each with its own `units`.
    let mut skus: Vec<(shop::catalog::VariantId, String)> = vec![(
        shop::catalog::VariantId::new(variant),
        sku.as_str().to_string(),
    )];
    if run.skus > 1 {
        let more: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, sku FROM variants WHERE id <> $1 ORDER BY id LIMIT $2")
                .bind(variant)
                .bind(i64::from(run.skus - 1))
                .fetch_all(db.pool())
                .await?;
        skus.extend(
            more.into_iter()
                .map(|(id, sku)| (shop::catalog::VariantId::new(id), sku)),
        );
    }
    let ledger_before = ledger_size(&http, &run.target.gateway).await?;
    let orders_before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
        .fetch_one(db.pool())
        .await?;

    // Enough stock for every cart to be filled, then exactly `units` per SKU for the sale.
    for (variant, _) in &skus {
        set_stock(&db, *variant, run.buyers as i64).await?;
    }
    let limit = Arc::new(Semaphore::new(run.concurrency));
    let mut carts = Vec::with_capacity(run.buyers);
    let mut fills = tokio::task::JoinSet::new();
    for i in 0..run.buyers {
        let (http, shop, sku, limit) = (
            http.clone(),
            run.target.shop.clone(),
            skus[i % skus.len()].1.clone(),
            limit.clone(),
        );
        fills.spawn(async move {
            let _permit = limit.acquire().await?;
            new_cart(&http, &shop, &sku).await
        });
    }
    while let Some(cart) = fills.join_next().await {
        carts.push(cart??);
    }
    for (variant, _) in &skus {
        set_stock(&db, *variant, run.units).await?;
    }

    // The sale, with the gateway misbehaving for a while.
    http.post(format!("{}/v1/faults", run.target.gateway))
        .json(&run.faults.with_latency(run.gateway_latency_ms))
        .send()
        .await
        .context("cannot reach the gateway")?
        .error_for_status()?;
    let heal = tokio::spawn({
        let (http, gateway, latency, after) = (
            http.clone(),
            run.target.gateway.clone(),
            run.gateway_latency_ms,
            run.faults_for,
        );
        async move {
            tokio::time::sleep(after).await;
            http.post(format!("{gateway}/v1/faults"))
                .json(&healed(latency))
                .send()
                .await
        }
    });
    let started = Instant::now();
    if let Some(progress) = &run.progress {
        progress.opened.notify_one();
    }
    let mut sale = tokio::task::JoinSet::new();
    for (i, cart) in carts.into_iter().enumerate() {
        let (http, shop, limit, progress) = (
            http.clone(),
            run.target.shop.clone(),
            limit.clone(),
            run.progress.clone(),
        );
        let card = if run.decline_every > 0 && i % run.decline_every == 0 {
            paysim::cards::DECLINED
        } else {
            paysim::cards::SUCCEEDS
        };
        sale.spawn(async move {
            let _permit = limit.acquire().await?;
            let sent = Instant::now();
            let key = format!("flash-{}-{i}", std::process::id());
            let body = json!({
                "cart_id": cart,
                "email": format!("buyer{i}@example.com"),
                "shipping_address": { "name": "Buyer", "line1": "1 Sale St", "city": "Springfield",
                                      "region": "IL", "postal_code": "62701", "country": "US" },
                "payment": { "card_number": card },
            });
            // A buyer whose node died mid-request sends the same request again (same key),
            // and while another node's recovery finishes the attempt, asks again until it
            // has ended, as a client polling its checkout would.
            let deadline = Instant::now() + SETTLE_LIMIT;
            loop {
                let response = resend(|| {
                    http.post(format!("{shop}/api/v1/checkouts"))
                        .header("Idempotency-Key", &key)
                        .json(&body)
                        .send()
                })
                .await?;
                let status = response.status().as_u16();
                let text = response.text().await?;
                if !unsettled(status, &text) || Instant::now() > deadline {
                    if let Some(p) = progress {
                        p.answered
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    return anyhow::Ok((status, text, sent.elapsed()));
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        });
    }
    let mut report = Report::default();
    let mut latencies = Vec::with_capacity(run.buyers);
    while let Some(result) = sale.join_next().await {
        let (status, body, latency) = result??;
        latencies.push(latency.as_secs_f64() * 1000.0);
        match status {
            201 => report.confirmed += 1,
            409 if body.contains("out_of_stock") => report.sold_out += 1,
            _ => report.other.push((status, body)),
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    // However the sale went, the gateway is healthy again before the checks.
    heal.abort();
    http.post(format!("{}/v1/faults", run.target.gateway))
        .json(&healed(run.gateway_latency_ms))
        .send()
        .await?
        .error_for_status()?;
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    report.p50_ms = at(0.50);
    report.p99_ms = at(0.99);

    // The invariants, against the database and the ledger.
    // Each SKU sells at most its units to the buyers who wanted it.
    let expected: i64 = (0..skus.len())
        .map(|k| {
            let wanting = (run.buyers + skus.len() - 1 - k) / skus.len();
            run.units.min(wanting as i64)
        })
        .sum();
    let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
        .fetch_one(db.pool())
        .await?;
    // Fewer orders than units is a lost sale, not an oversell, when nodes died: a unit held
    // by a dead node's checkout comes back once recovery ends it, possibly after the last
    // buyer was told "sold out". Without a lost connection it is a bug.
    report.resent = RESENT.load(std::sync::atomic::Ordering::Relaxed);
    // Declines and gateway faults lose sales the same way.
    let disrupted = report.resent > 0 || run.faults.any() || run.decline_every > 0;
    let sold = orders - orders_before;
    if sold > expected || (sold < expected && !disrupted) {
        report
            .violations
            .push(format!("{sold} orders for {expected} units"));
    }
    let broken: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM stock_levels WHERE available < 0 OR held < 0 OR committed < 0 \
         OR available + held + committed <> received",
    )
    .fetch_one(db.pool())
    .await?;
    if broken > 0 {
        report
            .violations
            .push(format!("{broken} stock rows oversold or not conserved"));
    }
    let leaked: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM reservations r JOIN checkouts c ON c.id = r.checkout_id \
         WHERE r.status = 'held' AND c.state IN ('confirmed', 'failed')",
    )
    .fetch_one(db.pool())
    .await?;
    if leaked > 0 {
        report
            .violations
            .push(format!("{leaked} holds of finished checkouts"));
    }
    let ledger: Value = http
        .get(format!("{}/v1/ledger", run.target.gateway))
        .send()
        .await?
        .json()
        .await?;
    let charges = ledger["charges"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let new_charges = &charges[ledger_before.min(charges.len())..];
    for charge in new_charges.iter().filter(|c| c["status"] == "succeeded") {
        let key = charge["idempotency_key"].as_str().unwrap_or_default();
        let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE checkout_id = $1")
            .bind(key)
            .fetch_one(db.pool())
            .await?;
        let refunded = ledger["refunds"]
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r["charge_id"] == charge["id"]));
        if (orders == 1) == refunded {
            report.violations.push(format!(
                "charge {key}: {orders} orders, refunded {refunded}"
            ));
        }
    }
    // Undisturbed, one charge per unit; otherwise the per-charge check above is the rule (a
    // charge the shop could not confirm is refunded, so there can be more charges than units).
    let charged = new_charges.len() as i64;
    if !disrupted && charged != expected {
        report.violations.push(format!(
            "{} charges for {expected} units",
            new_charges.len()
        ));
    }
    db.close().await;
    Ok(report)
}

/// Whether a checkout answer says the attempt has not ended yet (accepted, or another
/// request with its key still in flight): the client asks again with the same key.
pub fn unsettled(status: u16, body: &str) -> bool {
    status == 202 || (status == 409 && body.contains("in_flight"))
}

/// A new cart holding one unit of `sku`, through the API (resent if a node dies).
pub async fn new_cart(http: &reqwest::Client, shop: &str, sku: &str) -> anyhow::Result<String> {
    let created: Value = resend(|| http.post(format!("{shop}/api/v1/carts")).send())
        .await?
        .json()
        .await?;
    let cart = created["cart_id"]
        .as_str()
        .context("no cart id")?
        .to_string();
    resend(|| {
        http.put(format!("{shop}/api/v1/carts/{cart}/lines/{sku}"))
            .json(&json!({ "quantity": 1 }))
            .send()
    })
    .await?
    .error_for_status()?;
    Ok(cart)
}

/// Requests sent again after a transport error, in this process.
static RESENT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// How long a buyer keeps asking about a checkout that has not ended (a node died with it:
/// recovery takes it over once its lease runs out).
const SETTLE_LIMIT: Duration = Duration::from_secs(90);

/// Sends a request again after a transport error — a node that died or restarted mid-request;
/// the next connection reaches a live node — up to 8 times, backing off.
pub async fn resend<F, Fut>(mut send: F) -> reqwest::Result<reqwest::Response>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = reqwest::Result<reqwest::Response>>,
{
    let mut tries = 0;
    loop {
        match send().await {
            Err(e) if tries < 8 && (e.is_connect() || e.is_request() || e.is_timeout()) => {
                tries += 1;
                RESENT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100 * tries)).await;
            }
            result => return result,
        }
    }
}

async fn ledger_size(http: &reqwest::Client, gateway: &str) -> anyhow::Result<usize> {
    let ledger: Value = http
        .get(format!("{gateway}/v1/ledger"))
        .send()
        .await?
        .json()
        .await?;
    Ok(ledger["charges"].as_array().map(Vec::len).unwrap_or(0))
}

/// Sets `variant`'s available stock to `units` (refused while any of it is held).
pub async fn set_stock(
    db: &Db,
    variant: shop::catalog::VariantId,
    units: i64,
) -> anyhow::Result<()> {
    let mut tx = db.begin_write().await?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    shop::inventory::adjust::set_available(&mut tx, variant, units, "loadgen", now).await?;
    tx.commit().await?;
    let available: i64 = sqlx::query_scalar(
        "SELECT CAST(SUM(available) AS BIGINT) FROM stock_levels WHERE variant_id = $1",
    )
    .bind(variant.get())
    .fetch_one(db.pool())
    .await?;
    if available != units {
        bail!("could not set the stock to {units} (it is {available}: some is held)");
    }
    Ok(())
}
