//! Typed settings, layered: built-in defaults, then an optional `emporium.toml` (or the file
//! named by `EMPORIUM_CONFIG`), then `EMPORIUM_*` environment variables.

use figment::providers::{Env, Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use secrecy::{ExposeSecret, SecretString};
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

/// Everything the server can be configured with, one struct per concern. See the README's
/// Configuration section; docs/OPERATIONS.md lists the variables by concern.
///
/// Every setting keeps its one flat name (`EMPORIUM_DATABASE_URL`, `database_url` in
/// `emporium.toml`); [`FLAT_KEYS`] says where each lives. A file may also use the nested
/// form (`[database] url = …`).
///
/// Secrets (the database URL, which carries its password, and the S3 keys) are
/// [`SecretString`]s: `Debug` prints `[REDACTED]`, and only the code that connects reads them.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The folder for the database file and other local state (`EMPORIUM_DATA_DIR`).
    pub data_dir: PathBuf,
    /// `pretty` or `json` (`EMPORIUM_LOG_FORMAT`). Levels come from `RUST_LOG`.
    pub log_format: LogFormat,
    pub http: Http,
    pub database: Database,
    pub catalog: CatalogSettings,
    pub search: SearchSettings,
    pub assets: AssetSettings,
    pub feeds: Feeds,
    pub payments: Payments,
    pub checkout: CheckoutSettings,
    pub money: MoneySettings,
    pub accounts: Accounts,
    pub mail: Mail,
    pub retention: Retention,
    pub test: TestHooks,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            log_format: LogFormat::Pretty,
            http: Http::default(),
            database: Database::default(),
            catalog: CatalogSettings::default(),
            search: SearchSettings::default(),
            assets: AssetSettings::default(),
            feeds: Feeds::default(),
            payments: Payments::default(),
            checkout: CheckoutSettings::default(),
            money: MoneySettings::default(),
            accounts: Accounts::default(),
            mail: Mail::default(),
            retention: Retention::default(),
            test: TestHooks::default(),
        }
    }
}

/// How the node faces the network.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct Http {
    /// Where to listen (`EMPORIUM_ADDR`).
    pub addr: SocketAddr,
    /// The built site: `pkg/` with the wasm, JS and CSS, plus `public/`'s files
    /// (`EMPORIUM_SITE_ROOT`; cargo-leptos's `LEPTOS_SITE_ROOT` is honoured too).
    pub site_root: PathBuf,
    /// The shop's address as shoppers reach it, for links in mail (`EMPORIUM_PUBLIC_URL`);
    /// defaults to `http://<addr>`.
    pub public_url: Option<String>,
    /// How long in-flight requests get to finish after SIGTERM (`EMPORIUM_SHUTDOWN_GRACE_SECS`).
    pub shutdown_grace_secs: u64,
    /// Marks cookies `Secure`, names the session cookie `__Host-emporium_session` and sends
    /// HSTS (`EMPORIUM_SECURE_COOKIES`). On by itself when `public_url` is `https://`; set it
    /// for TLS served under another address. See [`Settings::secure_cookies`].
    pub secure_cookies: bool,
    /// Per-address request rate limits by route class (`EMPORIUM_RATE_LIMITS`; on by default,
    /// off for load tests).
    pub rate_limits: bool,
    /// Take the client's address from the last `X-Forwarded-For` entry (only behind a proxy
    /// you run: `EMPORIUM_TRUST_FORWARDED_FOR`).
    pub trust_forwarded_for: bool,
    /// Connections served at once; one more is answered 503 and closed
    /// (`EMPORIUM_MAX_CONNECTIONS`).
    pub max_connections: usize,
    /// How long a request's head may take to arrive (`EMPORIUM_HEADER_TIMEOUT_SECS`).
    pub header_timeout_secs: u64,
    /// How long a request's body may take to arrive (`EMPORIUM_BODY_TIMEOUT_SECS`).
    pub body_timeout_secs: u64,
    /// The bearer token a scraper elsewhere than on the node itself shows to read `/metrics`
    /// (`EMPORIUM_METRICS_TOKEN`); without one, only loopback may scrape. A secret.
    pub metrics_token: Option<SecretString>,
    /// How long `/metrics` reuses what it read from the database, in milliseconds
    /// (`EMPORIUM_METRICS_CACHE_MS`): a flood of scrapes costs one set of queries per interval.
    pub metrics_cache_ms: u64,
    /// How long `/readyz` reuses its last check (a ping and a count), in milliseconds
    /// (`EMPORIUM_READINESS_CACHE_MS`): short, since a load balancer acts on it, but a flood
    /// of probes costs one check per interval.
    pub readiness_cache_ms: u64,
}

impl Default for Http {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            site_root: PathBuf::from("target/site"),
            public_url: None,
            shutdown_grace_secs: 10,
            secure_cookies: false,
            rate_limits: true,
            trust_forwarded_for: false,
            max_connections: 2048,
            header_timeout_secs: 10,
            body_timeout_secs: 30,
            metrics_token: None,
            metrics_cache_ms: 5_000,
            readiness_cache_ms: 1_000,
        }
    }
}

/// The database.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct Database {
    /// `sqlite://…` or `postgres://…` (with its password: a secret); defaults to
    /// `sqlite://<data_dir>/emporium.db` (`EMPORIUM_DATABASE_URL`).
    pub url: Option<SecretString>,
    /// Upper bound on pooled database connections (`EMPORIUM_DB_MAX_CONNECTIONS`).
    pub max_connections: u32,
}

impl Default for Database {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 16,
        }
    }
}

/// The catalog's start-up and derived data.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct CatalogSettings {
    /// Import the demo catalog into an empty shop on first start (`EMPORIUM_DEMO_CATALOG`).
    pub demo: bool,
    /// Draw pictures for the demo catalog's products in the background after start
    /// (`EMPORIUM_DEMO_PICTURES`).
    pub demo_pictures: bool,
    /// How often "customers also bought" is recomputed from confirmed orders
    /// (`EMPORIUM_RECOMMEND_INTERVAL_SECS`).
    pub recommend_interval_secs: u64,
}

impl Default for CatalogSettings {
    fn default() -> Self {
        Self {
            demo: true,
            demo_pictures: true,
            recommend_interval_secs: 300,
        }
    }
}

/// The node's search index.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct SearchSettings {
    /// The search index folder, or `ram` for an in-memory index rebuilt at every start;
    /// defaults to `<data_dir>/search` (`EMPORIUM_SEARCH_INDEX`). Each node keeps its own.
    pub index: Option<String>,
}

/// Where product pictures are kept, and how the store is watched.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct AssetSettings {
    /// A folder, or `s3://bucket/prefix` with the standard `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY` and `AWS_REGION` variables; defaults to `<data_dir>/assets`
    /// (`EMPORIUM_ASSET_STORE`).
    pub store: Option<String>,
    /// An S3-compatible service's address, when it is not AWS (`EMPORIUM_S3_ENDPOINT`).
    pub s3_endpoint: Option<String>,
    /// S3 credentials in the shop's own settings (`EMPORIUM_S3_ACCESS_KEY_ID`,
    /// `EMPORIUM_S3_SECRET_ACCESS_KEY`, `EMPORIUM_S3_REGION`), for when the standard
    /// `AWS_*` variables cannot be used; all three or none. The keys are secrets.
    pub s3_access_key_id: Option<SecretString>,
    pub s3_secret_access_key: Option<SecretString>,
    pub s3_region: Option<String>,
    /// How often the image store is probed, so that its breaker opens (and closes again)
    /// without waiting for a shopper to ask for a picture (`EMPORIUM_ASSET_PROBE_MS`).
    pub probe_ms: u64,
    /// How long the image store's breaker stays open before probing again
    /// (`EMPORIUM_ASSET_COOL_DOWN_MS`).
    pub cool_down_ms: u64,
    /// How many megabytes of pictures a node keeps a copy of, to serve without the store
    /// and to keep showing while the store is down (`EMPORIUM_ASSET_KEPT_MB`).
    pub kept_mb: u64,
}

impl Default for AssetSettings {
    fn default() -> Self {
        Self {
            store: None,
            s3_endpoint: None,
            s3_access_key_id: None,
            s3_secret_access_key: None,
            s3_region: None,
            probe_ms: 2000,
            cool_down_ms: 5000,
            kept_mb: 128,
        }
    }
}

/// Sellers' feeds.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct Feeds {
    /// Pictures fetched at once by this node from sellers' feeds (`EMPORIUM_FETCH_WORKERS`).
    pub fetch_workers: usize,
    /// Ports pictures may be fetched from besides 80 and 443 (`EMPORIUM_FETCH_PORTS`, a list:
    /// `[8080, 8443]`).
    pub fetch_ports: Vec<u16>,
    /// Pictures one seller may have waiting to be fetched: a feed sent while they are at it
    /// is refused, and a feed's pictures past it are reported on their rows
    /// (`EMPORIUM_SELLER_QUEUED_PICTURES`).
    pub seller_queued_pictures: u32,
    /// Feeds one seller may have waiting or being applied; one more is refused
    /// (`EMPORIUM_SELLER_WAITING_FEEDS`).
    pub seller_waiting_feeds: u32,
}

impl Default for Feeds {
    fn default() -> Self {
        Self {
            fetch_workers: 8,
            fetch_ports: Vec::new(),
            seller_queued_pictures: 20_000,
            seller_waiting_feeds: 5,
        }
    }
}

/// The payment gateway.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct Payments {
    /// Where the shop finds the payment gateway (`EMPORIUM_GATEWAY_URL`).
    pub gateway_url: String,
    /// How long one gateway call may take before it counts as lost
    /// (`EMPORIUM_GATEWAY_TIMEOUT_MS`).
    pub gateway_timeout_ms: u64,
}

impl Default for Payments {
    fn default() -> Self {
        Self {
            gateway_url: "http://127.0.0.1:3099".into(),
            gateway_timeout_ms: 3000,
        }
    }
}

/// Checkout: stock holds and the recovery of interrupted checkouts.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct CheckoutSettings {
    /// How long stock is held for a checkout before payment (`EMPORIUM_RESERVATION_TTL_SECS`).
    pub reservation_ttl_secs: u64,
    /// How often expired holds are swept (`EMPORIUM_SWEEP_INTERVAL_SECS`).
    pub sweep_interval_secs: u64,
    /// How often interrupted checkouts are looked for (`EMPORIUM_RECOVERY_INTERVAL_SECS`).
    pub recovery_interval_secs: u64,
    /// How long a checkout request owns its attempt before recovery may take over
    /// (`EMPORIUM_CHECKOUT_LEASE_SECS`); must exceed a gateway call with its retries.
    pub lease_secs: u64,
    /// Whether catalog prices include tax, EU-style (`EMPORIUM_PRICES_INCLUDE_TAX`; default
    /// false: US-style, tax added at checkout).
    pub prices_include_tax: bool,
}

impl Default for CheckoutSettings {
    fn default() -> Self {
        Self {
            reservation_ttl_secs: 15 * 60,
            sweep_interval_secs: 60,
            recovery_interval_secs: 30,
            lease_secs: 60,
            prices_include_tax: false,
        }
    }
}

impl CheckoutSettings {
    pub fn tax_mode(&self) -> shop::pricing::TaxMode {
        if self.prices_include_tax {
            shop::pricing::TaxMode::Inclusive
        } else {
            shop::pricing::TaxMode::Exclusive
        }
    }
}

/// What the shop sells in and how it writes amounts.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct MoneySettings {
    /// The ISO 4217 code of the one currency the shop sells in (`EMPORIUM_CURRENCY`, default
    /// `USD`). Prices are never converted: a catalog in another currency stops the start.
    pub currency: shop::Currency,
    /// How amounts are written on pages and in mail (`EMPORIUM_LOCALE`, default `en-US`;
    /// also `en-GB`, `en-CA`, `de-DE`, `fr-FR`).
    pub locale: shop::money::Locale,
}

impl Default for MoneySettings {
    fn default() -> Self {
        Self {
            currency: shop::Currency::USD,
            locale: shop::money::Locale::EnUs,
        }
    }
}

/// Sign-in and sessions.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct Accounts {
    /// A signed-in session ends after this long unused (`EMPORIUM_SESSION_IDLE_MINUTES`).
    pub session_idle_minutes: u64,
    /// …and this long after sign-in whatever happens (`EMPORIUM_SESSION_ABSOLUTE_HOURS`).
    pub session_absolute_hours: u64,
    /// …or this long, if shorter, for an admin (`EMPORIUM_ADMIN_SESSION_ABSOLUTE_HOURS`).
    pub admin_session_absolute_hours: u64,
    /// Failed password checks an account may have before each further try waits
    /// (`EMPORIUM_SIGN_IN_FAILURES`).
    pub sign_in_failures: i64,
    /// The wait after the first failure past those; each further one doubles it
    /// (`EMPORIUM_SIGN_IN_DELAY_SECS`).
    pub sign_in_delay_secs: u64,
    /// The longest wait, however many failures (`EMPORIUM_SIGN_IN_MAX_DELAY_SECS`).
    pub sign_in_max_delay_secs: u64,
    /// Password hashes computed at once by this node (`EMPORIUM_PASSWORD_HASHES`).
    pub password_hashes: usize,
    /// Callers that may wait for a hash; past that they are answered 503 with
    /// `Retry-After` (`EMPORIUM_PASSWORD_HASH_QUEUE`).
    pub password_hash_queue: usize,
}

impl Default for Accounts {
    fn default() -> Self {
        Self {
            session_idle_minutes: 120,
            session_absolute_hours: 7 * 24,
            admin_session_absolute_hours: 12,
            sign_in_failures: 5,
            sign_in_delay_secs: 1,
            sign_in_max_delay_secs: 300,
            password_hashes: 4,
            password_hash_queue: 32,
        }
    }
}

/// The shop's mail.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct Mail {
    /// Where mail goes: `folder:PATH` (one `.eml` file per message), `sendmail:PROGRAM`
    /// (a local relay such as Postfix or msmtp) or an SMTP relay,
    /// `smtp://user:password@host:587` (STARTTLS required; `smtps://` for TLS on connect;
    /// `?tls=none` for a relay on the same machine, without credentials); defaults to the
    /// folder `<data_dir>/mail` (`EMPORIUM_MAIL`). A secret, since the URL may hold a password.
    pub transport: Option<SecretString>,
    /// The `From:` of the shop's mail (`EMPORIUM_MAIL_FROM`).
    pub from: String,
    /// A PEM file with the certificate authority of a private SMTP relay, trusted besides the
    /// system's roots (`EMPORIUM_MAIL_CA_FILE`).
    pub ca_file: Option<PathBuf>,
}

impl Default for Mail {
    fn default() -> Self {
        Self {
            transport: None,
            from: "Emporium <shop@localhost>".into(),
            ca_file: None,
        }
    }
}

/// How long leftovers are kept before the sweep forgets them (see `shop::retention` and
/// docs/OPERATIONS.md), in days.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct Retention {
    /// Guest carts untouched this long (`EMPORIUM_RETENTION_CARTS_DAYS`).
    pub carts_days: u32,
    /// Finished checkout attempts, with their idempotency keys; at least 1
    /// (`EMPORIUM_RETENTION_CHECKOUTS_DAYS`).
    pub checkouts_days: u32,
    /// Delivered outbox events (`EMPORIUM_RETENTION_EVENTS_DAYS`).
    pub events_days: u32,
    /// Processed feeds' reports (their files go at once) (`EMPORIUM_RETENTION_FEEDS_DAYS`).
    pub feeds_days: u32,
    /// Sent mail (its body goes at once) (`EMPORIUM_RETENTION_SENT_MAIL_DAYS`).
    pub sent_mail_days: u32,
}

impl Default for Retention {
    fn default() -> Self {
        let days = |ms: i64| (ms / shop::retention::DAY) as u32;
        let keep = shop::retention::RetentionConfig::default();
        Self {
            carts_days: days(keep.carts),
            checkouts_days: days(keep.checkouts),
            events_days: days(keep.events),
            feeds_days: days(keep.feeds),
            sent_mail_days: days(keep.sent_mail),
        }
    }
}

impl Retention {
    pub fn config(&self) -> shop::retention::RetentionConfig {
        let ms = |days: u32| i64::from(days) * shop::retention::DAY;
        shop::retention::RetentionConfig {
            carts: ms(self.carts_days),
            checkouts: ms(self.checkouts_days),
            events: ms(self.events_days),
            feeds: ms(self.feeds_days),
            sent_mail: ms(self.sent_mail_days),
        }
    }
}

/// Test-only hooks. Never set them in production.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct TestHooks {
    /// Abort right after a checkout commits this state (`EMPORIUM_TEST_CRASH_AFTER`, one of
    /// claimed, reserved, paying, paid, confirmed).
    pub crash_after: Option<String>,
    /// Let feed pictures come from 127.0.0.1 (`EMPORIUM_TEST_FETCH_LOOPBACK`). Every other
    /// private or special address stays refused.
    pub fetch_loopback: bool,
}

/// Where each flat setting name (an `EMPORIUM_` variable without its prefix, or a top-level
/// key of `emporium.toml`) lives in [`Settings`]. Names not listed (`data_dir`, `log_format`)
/// are at the top.
pub const FLAT_KEYS: &[(&str, &str)] = &[
    ("addr", "http.addr"),
    ("site_root", "http.site_root"),
    ("public_url", "http.public_url"),
    ("shutdown_grace_secs", "http.shutdown_grace_secs"),
    ("secure_cookies", "http.secure_cookies"),
    ("rate_limits", "http.rate_limits"),
    ("trust_forwarded_for", "http.trust_forwarded_for"),
    ("max_connections", "http.max_connections"),
    ("header_timeout_secs", "http.header_timeout_secs"),
    ("body_timeout_secs", "http.body_timeout_secs"),
    ("metrics_token", "http.metrics_token"),
    ("metrics_cache_ms", "http.metrics_cache_ms"),
    ("readiness_cache_ms", "http.readiness_cache_ms"),
    ("database_url", "database.url"),
    ("db_max_connections", "database.max_connections"),
    ("demo_catalog", "catalog.demo"),
    ("demo_pictures", "catalog.demo_pictures"),
    ("recommend_interval_secs", "catalog.recommend_interval_secs"),
    ("search_index", "search.index"),
    ("asset_store", "assets.store"),
    ("s3_endpoint", "assets.s3_endpoint"),
    ("s3_access_key_id", "assets.s3_access_key_id"),
    ("s3_secret_access_key", "assets.s3_secret_access_key"),
    ("s3_region", "assets.s3_region"),
    ("asset_probe_ms", "assets.probe_ms"),
    ("asset_cool_down_ms", "assets.cool_down_ms"),
    ("asset_kept_mb", "assets.kept_mb"),
    ("fetch_workers", "feeds.fetch_workers"),
    ("fetch_ports", "feeds.fetch_ports"),
    ("seller_queued_pictures", "feeds.seller_queued_pictures"),
    ("seller_waiting_feeds", "feeds.seller_waiting_feeds"),
    ("gateway_url", "payments.gateway_url"),
    ("gateway_timeout_ms", "payments.gateway_timeout_ms"),
    ("reservation_ttl_secs", "checkout.reservation_ttl_secs"),
    ("sweep_interval_secs", "checkout.sweep_interval_secs"),
    ("recovery_interval_secs", "checkout.recovery_interval_secs"),
    ("checkout_lease_secs", "checkout.lease_secs"),
    ("prices_include_tax", "checkout.prices_include_tax"),
    ("currency", "money.currency"),
    ("locale", "money.locale"),
    ("session_idle_minutes", "accounts.session_idle_minutes"),
    ("session_absolute_hours", "accounts.session_absolute_hours"),
    (
        "admin_session_absolute_hours",
        "accounts.admin_session_absolute_hours",
    ),
    ("sign_in_failures", "accounts.sign_in_failures"),
    ("sign_in_delay_secs", "accounts.sign_in_delay_secs"),
    ("sign_in_max_delay_secs", "accounts.sign_in_max_delay_secs"),
    ("password_hashes", "accounts.password_hashes"),
    ("password_hash_queue", "accounts.password_hash_queue"),
    ("mail", "mail.transport"),
    ("mail_from", "mail.from"),
    ("mail_ca_file", "mail.ca_file"),
    ("retention_carts_days", "retention.carts_days"),
    ("retention_checkouts_days", "retention.checkouts_days"),
    ("retention_events_days", "retention.events_days"),
    ("retention_feeds_days", "retention.feeds_days"),
    ("retention_sent_mail_days", "retention.sent_mail_days"),
    ("test_crash_after", "test.crash_after"),
    ("test_fetch_loopback", "test.fetch_loopback"),
];

/// A provider whose flat keys are moved to where [`FLAT_KEYS`] says they live, so that the
/// environment and a flat `emporium.toml` fill the nested settings. Values keep their tags,
/// so an error still says which variable or file a bad value came from.
struct Flat<P>(P);

impl<P: Provider> Provider for Flat<P> {
    fn metadata(&self) -> Metadata {
        self.0.metadata()
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut data = self.0.data()?;
        for dict in data.values_mut() {
            *dict = nest(std::mem::take(dict));
        }
        Ok(data)
    }
}

fn nest(flat: Dict) -> Dict {
    let mut nested = Dict::new();
    for (key, value) in flat {
        let Some((_, path)) = FLAT_KEYS.iter().find(|(name, _)| *name == key) else {
            // A top-level setting, a nested section written as such, or a variable that is
            // no setting (`EMPORIUM_TEST_BACKEND`): serde ignores the last.
            merge(&mut nested, key, value);
            continue;
        };
        let (section, field) = path.split_once('.').unwrap_or(("", path));
        let mut inner = Dict::new();
        inner.insert(field.to_owned(), value);
        merge(&mut nested, section.to_owned(), Value::from(inner));
    }
    nested
}

/// Inserts `key`, joining two sections of the same name (`[http]` beside a flat `addr`).
fn merge(into: &mut Dict, key: String, value: Value) {
    match (into.get_mut(&key), value) {
        (Some(Value::Dict(_, existing)), Value::Dict(_, more)) => existing.extend(more),
        (_, value) => {
            into.insert(key, value);
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
        // The defaults are serde's (`#[serde(default)]` on every struct): a secret has no
        // `Serialize`, so the settings cannot be a provider of their own.
        Figment::new()
            .merge(Flat(Toml::file(file)))
            // cargo-leptos tells the server where to listen and where the site is this way.
            .merge(Flat(
                Env::raw()
                    .only(&["LEPTOS_SITE_ADDR", "LEPTOS_SITE_ROOT"])
                    .map(|key| match key.as_str() {
                        "LEPTOS_SITE_ADDR" => "addr".into(),
                        _ => "site_root".into(),
                    }),
            ))
            .merge(Flat(Env::prefixed("EMPORIUM_").ignore(&["CONFIG"])))
            .extract()
            .map_err(Box::new)
    }

    /// Whether the shop is served over TLS, so that its cookies are `Secure` (the session's
    /// `__Host-` prefixed) and its answers carry HSTS: set, or implied by an `https://`
    /// public address. A plain `http://` address (development, tests) changes nothing.
    pub fn secure_cookies(&self) -> bool {
        let https = |url: &str| {
            url.get(..8)
                .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
        };
        self.http.secure_cookies || self.http.public_url.as_deref().is_some_and(https)
    }

    /// The base of links in mail.
    pub fn public_url(&self) -> String {
        self.http
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.http.addr))
    }

    /// Where mail is delivered.
    pub fn mail_transport(&self) -> Result<shop::mail::Transport, shop::InvalidInput> {
        let ca = match &self.mail.ca_file {
            Some(path) => Some(std::fs::read(path).map_err(|e| {
                shop::InvalidInput::new(
                    "mail_ca_file",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?),
            None => None,
        };
        match &self.mail.transport {
            Some(text) => {
                shop::mail::Transport::parse_trusting(text.expose_secret(), ca.as_deref())
            }
            None => Ok(shop::mail::Transport::Folder(self.data_dir.join("mail"))),
        }
    }

    /// Where pictures are kept, derived from the data folder unless set.
    pub fn asset_location(&self) -> Result<shop::assets::StoreLocation, shop::assets::StoreError> {
        use shop::assets::{S3Credentials, StoreLocation};
        let assets = &self.assets;
        let mut location = match assets.store.as_deref() {
            Some(value) => StoreLocation::parse(value, assets.s3_endpoint.clone())?,
            None => StoreLocation::Folder(self.data_dir.join("assets")),
        };
        if let StoreLocation::S3 { credentials, .. } = &mut location
            && let (Some(id), Some(secret)) =
                (&assets.s3_access_key_id, &assets.s3_secret_access_key)
        {
            // Exposed here only: the object store's client is where the keys are used.
            *credentials = Some(S3Credentials {
                access_key_id: id.expose_secret().to_owned(),
                secret_access_key: secret.expose_secret().to_owned(),
                region: assets
                    .s3_region
                    .clone()
                    .unwrap_or_else(|| "us-east-1".into()),
            });
        }
        Ok(location)
    }

    /// The image store's client with this node's breaker settings.
    pub fn asset_store(&self) -> Result<shop::assets::AssetStore, shop::assets::StoreError> {
        shop::assets::AssetStore::open(
            &self.asset_location()?,
            shop::assets::StoreOptions {
                cool_down: std::time::Duration::from_millis(self.assets.cool_down_ms),
                ..shop::assets::StoreOptions::default()
            },
        )
    }

    /// Where the search index lives, derived from the data folder unless set.
    pub fn search_location(&self) -> shop::search::Location {
        match self.search.index.as_deref() {
            Some("ram") => shop::search::Location::Ram,
            Some(dir) => shop::search::Location::Dir(PathBuf::from(dir)),
            None => shop::search::Location::Dir(self.data_dir.join("search")),
        }
    }

    /// The database URL, derived from the data folder unless set. A secret: it may carry
    /// the database's password.
    pub fn database_url(&self) -> SecretString {
        self.database.url.clone().unwrap_or_else(|| {
            format!("sqlite://{}", self.data_dir.join("emporium.db").display()).into()
        })
    }
}
