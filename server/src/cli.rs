//! The node's operator commands (`server import|reindex|users|seller-key|coupon|stock`): their
//! arguments, parsed by clap, and what each does. `main.rs` lists them beside `serve`.

use crate::config::Settings;
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use secrecy::ExposeSecret;
use shop::catalog::import;
use shop::clock::{Clock, SystemClock};
use shop::db::{Db, DbOptions};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// The largest synthetic catalog `import --synthetic` makes.
const MAX_SYNTHETIC: i64 = 1_000_000;

#[derive(Args)]
pub struct ImportArgs {
    /// Files to import, in order.
    files: Vec<PathBuf>,
    /// Generate N synthetic products (deterministic; up to 1,000,000) instead.
    #[arg(long, value_name = "N", conflicts_with = "files",
          value_parser = clap::value_parser!(u32).range(1..=MAX_SYNTHETIC))]
    synthetic: Option<u32>,
    /// Import the built-in demo catalog.
    #[arg(long, conflicts_with_all = ["files", "synthetic"])]
    demo: bool,
}

#[derive(Subcommand)]
pub enum Users {
    /// Create an account. The password is read from EMPORIUM_PASSWORD or, without it, from the
    /// first line of standard input (never from a flag: flags end up in shell history and
    /// `ps`).
    Create(CreateUserArgs),
}

#[derive(Args)]
pub struct CreateUserArgs {
    #[arg(long)]
    email: String,
    /// shopper, seller or admin.
    #[arg(long, default_value = "shopper")]
    role: String,
    /// The seller's slug (required for, and only for, seller accounts).
    #[arg(long)]
    seller: Option<String>,
}

#[derive(Args)]
pub struct SellerKeyArgs {
    /// The seller's slug.
    #[arg(long)]
    seller: String,
    /// What the key is for.
    #[arg(long, default_value = "api")]
    label: String,
}

#[derive(Args)]
pub struct CouponArgs {
    /// The code shoppers type (3–32 letters, digits, - or _).
    #[arg(long)]
    code: String,
    /// Percent off (1–100).
    #[arg(long, conflicts_with = "amount", required_unless_present = "amount")]
    percent: Option<i64>,
    /// Amount off in minor units (cents).
    #[arg(long)]
    amount: Option<i64>,
    #[arg(long, default_value = "USD")]
    currency: String,
    /// Uses per customer (by e-mail).
    #[arg(long)]
    per_customer: Option<i64>,
    /// Uses in total.
    #[arg(long)]
    total: Option<i64>,
    /// Valid for this many hours from now.
    #[arg(long)]
    hours: Option<i64>,
}

#[derive(Args)]
pub struct StockArgs {
    sku: String,
    /// Units available from now on (never negative).
    available: u32,
}

/// Connects to the node's database and applies its migrations.
pub async fn connect(settings: &Settings) -> anyhow::Result<Db> {
    let db = Db::connect(
        settings.database_url().expose_secret(),
        &DbOptions::default(),
    )
    .await?;
    db.migrate().await?;
    Ok(db)
}

/// `server reindex`.
pub async fn reindex(settings: &Settings) -> anyhow::Result<ExitCode> {
    let db = connect(settings).await?;
    let location = settings.search_location();
    // The rebuild sets the bar's length once it has counted the products.
    let bar = progress(0);
    let started = std::time::Instant::now();
    let indexed = shop::search::reindex(&db, &location, &bar)
        .await
        .with_context(|| {
            format!("cannot rebuild the search index at {location:?} (is a node running on it?)")
        })?;
    bar.finish_and_clear();
    let took = started.elapsed().as_secs_f64();
    println!("indexed {indexed} products in {took:.1} s into {location:?}");
    Ok(ExitCode::SUCCESS)
}

impl Users {
    pub async fn run(self, settings: &Settings) -> anyhow::Result<ExitCode> {
        let Users::Create(args) = self;
        let role = shop::accounts::Role::parse(&args.role)?;
        let password = match std::env::var("EMPORIUM_PASSWORD") {
            Ok(p) => p,
            Err(_) => {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                line.trim_end_matches(['\r', '\n']).to_owned()
            }
        };
        let db = connect(settings).await?;
        let throttle =
            shop::accounts::Throttle::new(db.clone(), shop::accounts::ThrottleConfig::default());
        let users = shop::accounts::Users::new(db, Arc::new(SystemClock), throttle);
        let viewer = users
            .create(&args.email, &password, role, args.seller.as_deref())
            .await?;
        let (email, role, id) = (viewer.email, viewer.role, viewer.user_id);
        println!("created {email} ({role}) as user {id}");
        Ok(ExitCode::SUCCESS)
    }
}

impl SellerKeyArgs {
    pub async fn run(self, settings: &Settings) -> anyhow::Result<ExitCode> {
        let keys = shop::accounts::ApiKeys::new(connect(settings).await?);
        let (_, key) = keys.issue(&self.seller, &self.label).await?;
        println!("{key}");
        Ok(ExitCode::SUCCESS)
    }
}

impl CouponArgs {
    pub async fn run(self, settings: &Settings) -> anyhow::Result<ExitCode> {
        use shop::coupons::{CouponCode, Coupons, Discount, NewCoupon};
        let discount = match (self.percent, self.amount) {
            (Some(p), _) => Discount::parse("percent", p, &self.currency)?,
            (None, Some(a)) => Discount::parse("amount", a, &self.currency)?,
            (None, None) => bail!("give --percent or --amount"),
        };
        let code = CouponCode::parse(&self.code)?;
        let now = SystemClock.now();
        let coupon = NewCoupon {
            code: code.clone(),
            discount,
            per_customer_limit: self.per_customer,
            total_limit: self.total,
            expires_at: self.hours.map(|h| now + h * 3_600_000),
        };
        let coupons = Coupons::new(connect(settings).await?, Arc::new(SystemClock));
        coupons.create(&coupon).await?;
        println!("created coupon {code} ({})", discount.label());
        Ok(ExitCode::SUCCESS)
    }
}

impl StockArgs {
    pub async fn run(self, settings: &Settings) -> anyhow::Result<ExitCode> {
        let db = connect(settings).await?;
        let sku = shop::catalog::Sku::parse(&self.sku)?;
        let variant = shop::catalog::Catalog::new(db.clone())
            .variant_by_sku(&sku)
            .await?
            .with_context(|| format!("no SKU {sku}"))?;
        let available = i64::from(self.available);
        let mut tx = db.begin_write().await?;
        shop::inventory::adjust::set_available(
            &mut tx,
            variant.id,
            available,
            "cli",
            SystemClock.now(),
        )
        .await?;
        tx.commit().await?;
        println!("{sku}: {available} available");
        Ok(ExitCode::SUCCESS)
    }
}

impl ImportArgs {
    /// Exits with 2 when rows were skipped.
    pub async fn run(self, settings: &Settings) -> anyhow::Result<ExitCode> {
        let (db, now) = (connect(settings).await?, SystemClock.now());
        let mut reports = Vec::new();
        if self.demo {
            reports = import::demo::import_all(&db, now).await?;
        } else if let Some(n) = self.synthetic {
            let bar = progress(u64::from(n));
            let rows = import::synthetic(n as usize);
            reports.push((
                format!("synthetic({n})"),
                import::apply(&db, rows, now, &bar).await?,
            ));
            bar.finish_and_clear();
        } else if self.files.is_empty() {
            bail!("name files to import, or use --synthetic N or --demo");
        }
        for file in &self.files {
            let name = file.display().to_string();
            let text =
                std::fs::read_to_string(file).with_context(|| format!("cannot read {name}"))?;
            let rows = import::parse(&name, &text)?;
            let bar = progress(rows.len() as u64);
            reports.push((name, import::apply(&db, rows, now, &bar).await?));
            bar.finish_and_clear();
        }
        let mut skipped = 0;
        for (name, r) in &reports {
            let (created, updated, unchanged) = (r.created, r.updated, r.unchanged);
            println!(
                "{name}: {} rows: {created} created, {updated} updated, {unchanged} unchanged, {} skipped",
                r.rows(),
                r.skipped.len()
            );
            for e in &r.skipped {
                println!("  skipped {e}");
            }
            skipped += r.skipped.len();
        }
        Ok(if skipped > 0 {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        })
    }
}

fn progress(len: u64) -> ProgressBar {
    let bar = ProgressBar::new(len);
    let template = "{spinner} {bar:40} {pos}/{len} products ({per_sec}, {eta} left)";
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}
