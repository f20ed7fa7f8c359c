//! The Emporium server: configuration, the HTTP router (pages, server functions, the JSON
//! API, health), start-up (migrations, the demo catalog) and graceful shutdown.
//! `main.rs` is the command line around it; tests drive it directly.

pub mod api;
pub mod assets;
pub mod cli;
pub mod conditional;
pub mod config;
pub mod health;
pub mod http_metrics;
pub mod listener;
pub mod metrics;
pub mod state;
pub mod telemetry;
pub mod web;
pub mod workers;

use app::{App, shell};
use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{any, get};
use config::Settings;
use leptos::config::{Env, LeptosOptions};
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use secrecy::ExposeSecret;
use shop::db::{Db, DbOptions};
use state::AppState;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;

/// Leptos's view of the settings: where the built site is, and the bundle's name.
pub fn leptos_options(settings: &Settings) -> LeptosOptions {
    // cargo-leptos's `watch` sets LEPTOS_ENV=DEV to get its reload script; default to PROD.
    let env = match std::env::var("LEPTOS_ENV").as_deref() {
        Ok("DEV" | "dev" | "development") => Env::DEV,
        _ => Env::PROD,
    };
    LeptosOptions::builder()
        .output_name("emporium")
        .site_root(settings.http.site_root.display().to_string())
        .site_pkg_dir(match bundle_version(&settings.http.site_root) {
            Some(version) => format!("pkg/{version}"),
            None => "pkg".to_string(),
        })
        .site_addr(settings.http.addr)
        .env(env)
        .build()
}

/// The files every page loads from `pkg/`.
const BUNDLE: [&str; 3] = ["emporium.js", "emporium_bg.wasm", "emporium.css"];

/// The bundle's version: a hash of its files' contents, made once at start-up. Pages name the
/// bundle under `/pkg/<version>/`, which is cached as immutable, so a browser downloads it
/// once per build and never asks again; a new build is a new version and a new address.
/// `None` when the site has not been built (the pages then load `/pkg/` directly).
pub fn bundle_version(site_root: &std::path::Path) -> Option<String> {
    use sha2::Digest;
    let mut hash = sha2::Sha256::new();
    for name in BUNDLE {
        let bytes = std::fs::read(site_root.join("pkg").join(name)).ok()?;
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(&bytes);
    }
    let digest = hash.finalize();
    Some(digest[..8].iter().map(|b| format!("{b:02x}")).collect())
}

/// Connects to the database, applies migrations, and imports the demo catalog into a new
/// shop if the settings ask for it.
pub async fn prepare(settings: &Settings) -> anyhow::Result<AppState> {
    // The URL carries the database's password: exposed to the pool that connects, and
    // logged only redacted.
    let url = settings.database_url();
    let url = url.expose_secret();
    let db = Db::connect(
        url,
        &DbOptions {
            max_connections: settings.database.max_connections,
            ..DbOptions::default()
        },
    )
    .await?;
    db.migrate().await?;
    shop::shipping::settle_currency(&db, settings.money.currency).await?;
    tracing::info!(database = %shop::db::redact(url), "database ready");
    let state = AppState::new(db, settings, leptos_options(settings))?;
    if settings.catalog.demo {
        use shop::catalog::import::demo;
        match demo::ensure_imported(&state.db, state.clock.now()).await? {
            demo::Outcome::Imported(reports) => {
                for (file, r) in reports {
                    tracing::info!(
                        file,
                        created = r.created,
                        skipped = r.skipped.len(),
                        "imported demo catalog"
                    );
                }
            }
            demo::Outcome::AlreadyImported => {}
            demo::Outcome::InProgressElsewhere => {
                tracing::info!("another node is importing the demo catalog");
            }
        }
    }
    if settings.catalog.demo && settings.catalog.demo_pictures {
        let assets = state.services.assets.clone();
        tokio::spawn(async move {
            let sources = shop::catalog::import::demo::SOURCES;
            match shop::assets::art::draw_missing(&assets, &sources).await {
                Ok(0) => {}
                Ok(drawn) => tracing::info!(drawn, "drew the demo catalog's pictures"),
                Err(e) => tracing::warn!(error = %e, "demo pictures not drawn"),
            }
        });
    }
    Ok(state)
}

/// The app's routes, listed once per process. Listing them runs the whole app with resource
/// loading suppressed through a process-global flag, and a resource first polled while any
/// thread is listing never loads (leptos issue #4773): a page being served at that moment
/// would hang. Listing once, before the first router exists, means no request is ever in
/// flight while it happens (tests build many routers in one process).
fn routes() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let routes = routes();
    let (api, api_classes) = api::router().into_parts();
    let web_state = web::WebState::of(&state, web::RouteClasses::new(api::PREFIX, api_classes));
    // Shared, not copied, into every request's context (a `Services` clone is dozens of
    // reference counts and cache handles).
    let services = state.services.clone();
    let provide = move || provide_context(services.clone());
    let options = state.leptos_options.clone();
    // The bundle (wasm, JS, CSS) straight from disk: brotli or gzip files when the browser
    // takes them. Under its version (what pages load) it is immutable; under plain `/pkg/`
    // (tools, and a site built without a version) it is revalidated on every use.
    let pkg_dir = std::path::Path::new(&*state.leptos_options.site_root).join("pkg");
    let bundle = |cache: &'static str| {
        tower::ServiceBuilder::new()
            .layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
                http::header::CACHE_CONTROL,
                http::HeaderValue::from_static(cache),
            ))
            .service(
                tower_http::services::ServeDir::new(&pkg_dir)
                    .precompressed_br()
                    .precompressed_gzip(),
            )
    };
    // Static files from the site root, else the app's own 404 page.
    let files =
        leptos_axum::file_and_error_handler_with_context::<AppState, _>(provide.clone(), shell);
    // Who is asking and whether a write comes from our own pages (innermost first), for
    // every route.
    let visit = |router: Router<AppState>| {
        router
            .layer(from_fn_with_state(web_state.clone(), web::csrf))
            .layer(from_fn(web::limit_rpc_body))
            .layer(from_fn_with_state(web_state.clone(), web::session))
    };
    // What browsers and monitors fetch on their own, cheap and cacheable: never limited.
    let mut free = Router::new()
        .nest_service("/pkg", bundle("no-cache"))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/assets/s/{seller}/{hash}/{file}", get(assets::serve))
        .route("/favicon.ico", any(files.clone()));
    let versioned = &*state.leptos_options.site_pkg_dir;
    if versioned != "pkg" {
        free = free.nest_service(
            &format!("/{versioned}"),
            bundle("public, max-age=31536000, immutable"),
        );
    }
    // Everything else counts against a limit per address: its route's class, decided where
    // the route is declared (`web::limits`).
    let limited = Router::new()
        .nest(api::PREFIX, api)
        .leptos_routes_with_context(&state, routes, provide, move || shell(options.clone()))
        .fallback(files);
    visit(limited)
        .layer(from_fn_with_state(web_state.clone(), web::rate_limit))
        .merge(visit(free))
        // Security headers on every answer, refusals included; inside compression, because
        // it reads each page's nonce from the rendered HTML.
        .layer(from_fn_with_state(web_state, web::security_headers))
        // Pages and JSON are compressed per response; the site's large files are served
        // precompressed (xtask writes .br/.gz beside them), and wasm is never compressed on
        // the fly: a megabyte of brotli per request would cost more than it saves.
        .layer(
            CompressionLayer::new().compress_when(
                SizeAbove::new(1024)
                    .and(NotForContentType::new("application/wasm"))
                    .and(NotForContentType::IMAGES),
            ),
        )
        .layer(TraceLayer::new_for_http())
        // A body that trickles in slower than this fails its read (the handler answers the
        // unreadable request), so a slow sender cannot hold a handler for ever.
        .layer(RequestBodyTimeoutLayer::new(Duration::from_secs(
            state.settings.http.body_timeout_secs.max(1),
        )))
        // Outermost, so every answer is counted as the client got it (refusals, 404s and
        // compressed pages included). `Router::layer` wraps each route after routing, so
        // the route's template is known here.
        .layer(from_fn_with_state(
            state.metrics.clone(),
            http_metrics::measure,
        ))
        .with_state(state)
}

/// The future [`serve`] returns.
pub type Serving = Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>>;

/// Serves until `shutdown` resolves, then lets in-flight requests finish for up to `grace`.
///
/// The future is boxed here on purpose: an `async fn`'s body is compiled in the crate that
/// polls it, so axum's and hyper's serving code was compiled again in each crate that calls
/// this (the binary, the test crate). Boxed in this crate, it is compiled once.
pub fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> Serving {
    serve_until(listener, state, Box::pin(shutdown), grace)
}

fn serve_until(
    listener: TcpListener,
    state: AppState,
    shutdown: Pin<Box<dyn Future<Output = ()> + Send>>,
    grace: Duration,
) -> Serving {
    let http = &state.settings.http;
    let bounds = listener::Bounds {
        max_connections: http.max_connections,
        header_timeout: Duration::from_secs(http.header_timeout_secs.max(1)),
    };
    Box::pin(crate::listener::serve(
        listener,
        router(state),
        bounds,
        shutdown,
        grace,
    ))
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
