//! Typed settings, layered: built-in defaults, then an optional `emporium.toml` (or the file
//! named by `EMPORIUM_CONFIG`), then `EMPORIUM_*` environment variables.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable, for a terminal.
    #[default]
    Pretty,
    /// One JSON object per line, for a log collector.
    Json,
}

/// Everything the server can be configured with. See the README's Configuration section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Where to listen (`EMPORIUM_ADDR`).
    pub addr: SocketAddr,
    /// The folder for the database file and other local state (`EMPORIUM_DATA_DIR`).
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; defaults to `sqlite://<data_dir>/emporium.db`
    /// (`EMPORIUM_DATABASE_URL`).
    pub database_url: Option<String>,
    /// Upper bound on pooled database connections (`EMPORIUM_DB_MAX_CONNECTIONS`).
    pub db_max_connections: u32,
    /// The built site: `pkg/` with the wasm, JS and CSS, plus `public/`'s files
    /// (`EMPORIUM_SITE_ROOT`; cargo-leptos's `LEPTOS_SITE_ROOT` is honoured too).
    pub site_root: PathBuf,
    /// `pretty` or `json` (`EMPORIUM_LOG_FORMAT`). Levels come from `RUST_LOG`.
    pub log_format: LogFormat,
    /// Import the demo catalog into an empty shop on first start (`EMPORIUM_DEMO_CATALOG`).
    pub demo_catalog: bool,
    /// Draw pictures for the demo catalog's products in the background after start
    /// (`EMPORIUM_DEMO_PICTURES`).
    pub demo_pictures: bool,
    /// How long in-flight requests get to finish after SIGTERM (`EMPORIUM_SHUTDOWN_GRACE_SECS`).
    pub shutdown_grace_secs: u64,
    /// Where the shop finds the payment gateway (`EMPORIUM_GATEWAY_URL`).
    pub gateway_url: String,
    /// How long one gateway call may take before it counts as lost
    /// (`EMPORIUM_GATEWAY_TIMEOUT_MS`).
    pub gateway_timeout_ms: u64,
    /// How long stock is held for a checkout before payment (`EMPORIUM_RESERVATION_TTL_SECS`).
    pub reservation_ttl_secs: u64,
    /// How often expired holds are swept (`EMPORIUM_SWEEP_INTERVAL_SECS`).
    pub sweep_interval_secs: u64,
    /// How often interrupted checkouts are looked for (`EMPORIUM_RECOVERY_INTERVAL_SECS`).
    pub recovery_interval_secs: u64,
    /// How long a checkout request owns its attempt before recovery may take over
    /// (`EMPORIUM_CHECKOUT_LEASE_SECS`); must exceed a gateway call with its retries.
    pub checkout_lease_secs: u64,
    /// The search index folder, or `ram` for an in-memory index rebuilt at every start;
    /// defaults to `<data_dir>/search` (`EMPORIUM_SEARCH_INDEX`). Each node keeps its own.
    pub search_index: Option<String>,
    /// How often "customers also bought" is recomputed from confirmed orders
    /// (`EMPORIUM_RECOMMEND_INTERVAL_SECS`).
    pub recommend_interval_secs: u64,
    /// Where product pictures are kept: a folder, or `s3://bucket/prefix` with the standard
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_REGION` variables; defaults to
    /// `<data_dir>/assets` (`EMPORIUM_ASSET_STORE`).
    pub asset_store: Option<String>,
    /// An S3-compatible service's address, when it is not AWS (`EMPORIUM_S3_ENDPOINT`).
    pub s3_endpoint: Option<String>,
    /// S3 credentials in the shop's own settings (`EMPORIUM_S3_ACCESS_KEY_ID`,
    /// `EMPORIUM_S3_SECRET_ACCESS_KEY`, `EMPORIUM_S3_REGION`), for when the standard
    /// `AWS_*` variables cannot be used; all three or none.
    pub s3_access_key_id: Option<String>,
    pub s3_secret_access_key: Option<String>,
    pub s3_region: Option<String>,
    /// How often the image store is probed, so that its breaker opens (and closes again)
    /// without waiting for a shopper to ask for a picture (`EMPORIUM_ASSET_PROBE_MS`).
    pub asset_probe_ms: u64,
    /// How long the image store's breaker stays open before probing again
    /// (`EMPORIUM_ASSET_COOL_DOWN_MS`).
    pub asset_cool_down_ms: u64,
    /// Test-only: abort right after a checkout commits this state (`EMPORIUM_TEST_CRASH_AFTER`,
    /// one of claimed, reserved, paying, paid, confirmed). Never set it in production.
    pub test_crash_after: Option<String>,
    /// A signed-in session ends after this long unused (`EMPORIUM_SESSION_IDLE_MINUTES`).
    pub session_idle_minutes: u64,
    /// …and this long after sign-in whatever happens (`EMPORIUM_SESSION_ABSOLUTE_HOURS`).
    pub session_absolute_hours: u64,
    /// Marks cookies `Secure` and sends HSTS: set it when the shop is served over TLS
    /// (`EMPORIUM_SECURE_COOKIES`).
    pub secure_cookies: bool,
    /// Per-address request rate limits by route class (`EMPORIUM_RATE_LIMITS`; on by default,
    /// off for load tests).
    pub rate_limits: bool,
    /// Take the client's address from the last `X-Forwarded-For` entry (only behind a proxy
    /// you run: `EMPORIUM_TRUST_FORWARDED_FOR`).
    pub trust_forwarded_for: bool,
    /// Failed sign-ins allowed per account per 15 minutes (`EMPORIUM_SIGN_IN_FAILURES`).
    pub sign_in_failures: i64,
    /// The shop's address as shoppers reach it, for links in mail (`EMPORIUM_PUBLIC_URL`);
    /// defaults to `http://<addr>`.
    pub public_url: Option<String>,
    /// Where mail goes: `folder:PATH` (one `.eml` file per message) or `sendmail:PROGRAM`
    /// (a local relay such as Postfix or msmtp); defaults to the folder `<data_dir>/mail`
    /// (`EMPORIUM_MAIL`).
    pub mail: Option<String>,
    /// The `From:` of the shop's mail (`EMPORIUM_MAIL_FROM`).
    pub mail_from: String,
    /// Pictures fetched at once by this node from sellers' feeds (`EMPORIUM_FETCH_WORKERS`).
    pub fetch_workers: usize,
    /// Test-only: let feed pictures come from 127.0.0.1 (`EMPORIUM_TEST_FETCH_LOOPBACK`).
    /// Every other private or special address stays refused. Never set it in production.
    pub test_fetch_loopback: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            data_dir: PathBuf::from("data"),
            database_url: None,
            db_max_connections: 16,
            site_root: PathBuf::from("target/site"),
            log_format: LogFormat::Pretty,
            demo_catalog: true,
            demo_pictures: true,
            shutdown_grace_secs: 10,
            gateway_url: "http://127.0.0.1:3099".into(),
            gateway_timeout_ms: 3000,
            reservation_ttl_secs: 15 * 60,
            sweep_interval_secs: 60,
            recovery_interval_secs: 30,
            checkout_lease_secs: 60,
            search_index: None,
            recommend_interval_secs: 300,
            asset_store: None,
            s3_endpoint: None,
            s3_access_key_id: None,
            s3_secret_access_key: None,
            s3_region: None,
            asset_probe_ms: 2000,
            asset_cool_down_ms: 5000,
            test_crash_after: None,
            session_idle_minutes: 120,
            session_absolute_hours: 7 * 24,
            secure_cookies: false,
            rate_limits: true,
            trust_forwarded_for: false,
            sign_in_failures: 5,
            public_url: None,
            mail: None,
            mail_from: "Emporium <shop@localhost>".into(),
            fetch_workers: 8,
            test_fetch_loopback: false,
        }
    }
}

impl Settings {
    /// Loads settings from the default layers.
    pub fn load() -> Result<Self, Box<figment::Error>> {
        let file = std::env::var_os("EMPORIUM_CONFIG")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("emporium.toml"));
        Self::from_layers(&file)
    }

    /// The settings from the defaults, then `file`, then the environment (what [`load`]
    /// reads, with the file named).
    ///
    /// [`load`]: Settings::load
    pub fn from_layers(file: &Path) -> Result<Self, Box<figment::Error>> {
        Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::file(file))
            // cargo-leptos tells the server where to listen and where the site is this way.
            .merge(
                Env::raw()
                    .only(&["LEPTOS_SITE_ADDR", "LEPTOS_SITE_ROOT"])
                    .map(|key| match key.as_str() {
                        "LEPTOS_SITE_ADDR" => "addr".into(),
                        _ => "site_root".into(),
                    }),
            )
            .merge(Env::prefixed("EMPORIUM_").ignore(&["CONFIG"]))
            .extract()
            .map_err(Box::new)
    }

    /// The base of links in mail.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.addr))
    }

    /// Where mail is delivered.
    pub fn mail_transport(&self) -> Result<shop::mail::Transport, shop::InvalidInput> {
        match &self.mail {
            Some(text) => shop::mail::Transport::parse(text),
            None => Ok(shop::mail::Transport::Folder(self.data_dir.join("mail"))),
        }
    }

    /// Where pictures are kept, derived from the data folder unless set.
    pub fn asset_location(&self) -> Result<shop::assets::StoreLocation, shop::assets::StoreError> {
        use shop::assets::{S3Credentials, StoreLocation};
        let mut location = match self.asset_store.as_deref() {
            Some(value) => StoreLocation::parse(value, self.s3_endpoint.clone())?,
            None => StoreLocation::Folder(self.data_dir.join("assets")),
        };
        if let StoreLocation::S3 { credentials, .. } = &mut location
            && let (Some(id), Some(secret)) = (&self.s3_access_key_id, &self.s3_secret_access_key)
        {
            *credentials = Some(S3Credentials {
                access_key_id: id.clone(),
                secret_access_key: secret.clone(),
                region: self.s3_region.clone().unwrap_or_else(|| "us-east-1".into()),
            });
        }
        Ok(location)
    }

    /// The image store's client with this node's breaker settings.
    pub fn asset_store(&self) -> Result<shop::assets::AssetStore, shop::assets::StoreError> {
        shop::assets::AssetStore::open(
            &self.asset_location()?,
            shop::assets::StoreOptions {
                cool_down: std::time::Duration::from_millis(self.asset_cool_down_ms),
                ..shop::assets::StoreOptions::default()
            },
        )
    }

    /// Where the search index lives, derived from the data folder unless set.
    pub fn search_location(&self) -> shop::search::Location {
        match self.search_index.as_deref() {
            Some("ram") => shop::search::Location::Ram,
            Some(dir) => shop::search::Location::Dir(PathBuf::from(dir)),
            None => shop::search::Location::Dir(self.data_dir.join("search")),
        }
    }

    /// The database URL, derived from the data folder unless set.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("emporium.db").display()))
    }
}
