//! How often one address may ask: a limit per class of route, and the class of every route.
//!
//! A route's class is decided where the route is declared: the API's routes are added through
//! `Classified`, which takes a class with each of them, and every server function has its
//! line in `server_functions`, by the path it declares itself (`ServerFn::PATH`). A request is
//! classed by the route axum matched (`MatchedPath`), never by reading its URL again. Pages,
//! and whatever no route matched (the site's root files, the 404 page), are browsing. Static
//! bundles, pictures and health checks are routed outside the limits altogether (see
//! `crate::router`).

use super::WebState;
use crate::api::ApiError;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, Route};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use http::StatusCode;
use http::header::{self, HeaderValue};
use leptos::server_fn::ServerFn;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tower::{Layer, Service};

/// Which limit a request counts against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteClass {
    Browse,
    Cart,
    Checkout,
    SignIn,
    Api,
}

impl RouteClass {
    const ALL: [RouteClass; 5] = [
        RouteClass::Browse,
        RouteClass::Cart,
        RouteClass::Checkout,
        RouteClass::SignIn,
        RouteClass::Api,
    ];

    fn name(self) -> &'static str {
        match self {
            RouteClass::Browse => "browse",
            RouteClass::Cart => "cart",
            RouteClass::Checkout => "checkout",
            RouteClass::SignIn => "sign_in",
            RouteClass::Api => "api",
        }
    }
}

/// Every server function and the limit it counts against, by the path it declares. A new
/// server function needs a line here: until it has one it counts as browsing, the server logs
/// it as unclassified when it builds its router, and the test
/// `web_layers::every_route_has_the_class_it_should` fails.
pub fn server_functions() -> [(&'static str, RouteClass); 60] {
    use RouteClass::{Browse, Cart, Checkout, SignIn};
    use app::{
        accounts, admin, cart, catalog, checkout, coupons, feeds, layout, orders, sellers,
        shipping_setup,
    };
    [
        // Guessing passwords and tokens, and mailing people: the tightest limit. Changing
        // the password checks the current one, a guess like any sign-in.
        (accounts::SignIn::PATH, SignIn),
        (accounts::ChangePassword::PATH, SignIn),
        (accounts::SignUp::PATH, SignIn),
        (accounts::SignOut::PATH, SignIn),
        (accounts::ConfirmSignUp::PATH, SignIn),
        (accounts::RequestReset::PATH, SignIn),
        (accounts::FinishReset::PATH, SignIn),
        // A second factor's codes are guessed like passwords.
        (accounts::SignInCode::PATH, SignIn),
        (accounts::EnableTwoStep::PATH, SignIn),
        (accounts::ChangeTwoStep::PATH, SignIn),
        // Each order costs a payment authorization.
        (checkout::PlaceOrder::PATH, Checkout),
        (cart::LoadCart::PATH, Cart),
        (cart::AddToCart::PATH, Cart),
        (cart::SetCartLine::PATH, Cart),
        (cart::ApplyCoupon::PATH, Cart),
        (cart::LoadEstimate::PATH, Cart),
        (cart::EstimateFor::PATH, Cart),
        // What pages load, and the forms of people already signed in.
        (accounts::WhoAmI::PATH, Browse),
        (accounts::LinkUsable::PATH, Browse),
        (accounts::LoadAccount::PATH, Browse),
        (accounts::LoadAddresses::PATH, Browse),
        (shipping_setup::LoadSetup::PATH, Browse),
        (shipping_setup::SaveMethod::PATH, Browse),
        (shipping_setup::DeleteMethod::PATH, Browse),
        (shipping_setup::SaveZone::PATH, Browse),
        (shipping_setup::SaveTaxRule::PATH, Browse),
        (accounts::SaveAddress::PATH, Browse),
        (accounts::ChangeAddress::PATH, Browse),
        (accounts::LoadSecurity::PATH, Browse),
        (accounts::Reorder::PATH, Browse),
        (admin::LoadOverview::PATH, Browse),
        (admin::ReplayEvent::PATH, Browse),
        (admin::InspectReturn::PATH, Browse),
        (coupons::CreateCoupon::PATH, Browse),
        (admin::LoadOrders::PATH, Browse),
        (admin::LoadAdminOrder::PATH, Browse),
        (admin::RefundOrder::PATH, Browse),
        (cart::FreshToken::PATH, Browse),
        (catalog::LoadHome::PATH, Browse),
        (catalog::LoadCategory::PATH, Browse),
        (catalog::LoadProduct::PATH, Browse),
        (catalog::LoadRecommendations::PATH, Browse),
        (catalog::SearchProducts::PATH, Browse),
        (catalog::Suggest::PATH, Browse),
        (catalog::PicturesAvailable::PATH, Browse),
        (checkout::LoadCheckout::PATH, Browse),
        (checkout::LoadCheckoutStatus::PATH, Browse),
        (feeds::LoadFeeds::PATH, Browse),
        (feeds::LoadFeed::PATH, Browse),
        (feeds::RetryFetch::PATH, Browse),
        (layout::HeaderInfo::PATH, Browse),
        (orders::LoadOrder::PATH, Browse),
        (orders::LookupOrder::PATH, SignIn),
        (sellers::LoadDashboard::PATH, Browse),
        (sellers::LoadProducts::PATH, Browse),
        (sellers::LoadProduct::PATH, Browse),
        (sellers::SaveProduct::PATH, Browse),
        (sellers::SetStock::PATH, Browse),
        (sellers::ChangeImage::PATH, Browse),
        (sellers::LoadSellerOrders::PATH, Browse),
    ]
}

/// A router whose every route is added with the class it counts against, so that none can be
/// added without deciding one. `into_parts` hands over the axum router and the classes.
pub struct Classified<S> {
    router: Router<S>,
    classes: Vec<(String, RouteClass)>,
}

impl<S: Clone + Send + Sync + 'static> Default for Classified<S> {
    fn default() -> Self {
        Self {
            router: Router::new(),
            classes: Vec::new(),
        }
    }
}

impl<S: Clone + Send + Sync + 'static> Classified<S> {
    pub fn new() -> Self {
        Self::default()
    }

    /// `Router::route`, counted against `class`.
    pub fn route(mut self, path: &str, class: RouteClass, methods: MethodRouter<S>) -> Self {
        self.router = self.router.route(path, methods);
        self.classes.push((path.to_owned(), class));
        self
    }

    /// `Router::merge`, keeping both sides' classes.
    pub fn merge(mut self, other: Classified<S>) -> Self {
        self.router = self.router.merge(other.router);
        self.classes.extend(other.classes);
        self
    }

    /// `Router::layer`: the routes keep their classes.
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<Route> + Clone + Send + Sync + 'static,
        L::Service: Service<Request> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request>>::Response: IntoResponse + 'static,
        <L::Service as Service<Request>>::Error: Into<Infallible> + 'static,
        <L::Service as Service<Request>>::Future: Send + 'static,
    {
        self.router = self.router.layer(layer);
        self
    }

    /// The router, and each route's path with its class.
    pub fn into_parts(self) -> (Router<S>, Vec<(String, RouteClass)>) {
        (self.router, self.classes)
    }
}

/// The class of every route the limits apply to, by the route's path as axum matches it.
#[derive(Clone, Debug, Default)]
pub struct RouteClasses(HashMap<String, RouteClass>);

impl RouteClasses {
    /// The API's routes as nested at `prefix`, and every server function.
    pub fn new(prefix: &str, api: Vec<(String, RouteClass)>) -> Self {
        let mut classes: HashMap<String, RouteClass> = api
            .into_iter()
            // Where axum's `Router::nest` puts a nested route.
            .map(|(path, class)| match path.as_str() {
                "/" => (prefix.to_owned(), class),
                _ => (format!("{prefix}{path}"), class),
            })
            .collect();
        classes.extend(
            server_functions()
                .into_iter()
                .map(|(path, class)| (path.to_owned(), class)),
        );
        for (path, _) in leptos::server_fn::axum::server_fn_paths() {
            if !classes.contains_key(path) {
                tracing::error!(
                    path,
                    "a server function with no rate-limit class counts as browsing: add it to web::limits::server_functions"
                );
            }
        }
        Self(classes)
    }

    /// The class of a request that matched `route` (`None` when no route did).
    pub fn of(&self, route: Option<&str>) -> RouteClass {
        route
            .and_then(|r| self.0.get(r))
            .copied()
            .unwrap_or(RouteClass::Browse)
    }

    /// Whether `route` was given a class where it was declared.
    pub fn classifies(&self, route: &str) -> bool {
        self.0.contains_key(route)
    }

    /// Every route given a class, with its class.
    pub fn routes(&self) -> impl Iterator<Item = (&str, RouteClass)> {
        self.0.iter().map(|(route, class)| (route.as_str(), *class))
    }
}

/// The key a client's address is limited under. An IPv6 host is routinely given a whole /64
/// (SLAAC, privacy addresses), so one client can take a fresh address per request: the
/// network, not the address, is the client. An IPv4 address written as IPv6 (`::ffff:a.b.c.d`,
/// as a dual-stack socket reports it) is that IPv4 address.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(
                u128::from(v6) & !((1u128 << 64) - 1),
            )),
        },
    }
}

/// One keyed limiter per route class, keyed by [`client_key`].
#[derive(Debug)]
pub struct RateLimits {
    browse: DefaultKeyedRateLimiter<IpAddr>,
    cart: DefaultKeyedRateLimiter<IpAddr>,
    checkout: DefaultKeyedRateLimiter<IpAddr>,
    sign_in: DefaultKeyedRateLimiter<IpAddr>,
    api: DefaultKeyedRateLimiter<IpAddr>,
    /// Lookups of pictures that do not exist, per client (see [`RateLimits::picture_missed`]).
    picture_misses: DefaultKeyedRateLimiter<IpAddr>,
    /// Clients past their picture-miss budget, until when.
    probing: std::sync::Mutex<std::collections::HashMap<IpAddr, std::time::Instant>>,
    checks: AtomicU64,
    pub refused: [AtomicU64; 5],
}

fn per_minute(n: u32, burst: u32) -> Quota {
    let n = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(n).allow_burst(burst)
}

impl Default for RateLimits {
    /// Generous for people, tight where guessing or abuse is the risk.
    fn default() -> Self {
        Self {
            browse: DefaultKeyedRateLimiter::keyed(per_minute(1200, 200)),
            cart: DefaultKeyedRateLimiter::keyed(per_minute(240, 60)),
            checkout: DefaultKeyedRateLimiter::keyed(per_minute(30, 10)),
            sign_in: DefaultKeyedRateLimiter::keyed(per_minute(20, 10)),
            api: DefaultKeyedRateLimiter::keyed(per_minute(1200, 200)),
            // A shopper's browser asks for pictures pages name, which exist; only a picture
            // removed a moment ago misses. Probing for hashes is what misses by the dozen.
            picture_misses: DefaultKeyedRateLimiter::keyed(per_minute(60, 30)),
            probing: Default::default(),
            checks: AtomicU64::new(0),
            refused: Default::default(),
        }
    }
}

impl RateLimits {
    fn limiter(&self, class: RouteClass) -> (&DefaultKeyedRateLimiter<IpAddr>, usize) {
        match class {
            RouteClass::Browse => (&self.browse, 0),
            RouteClass::Cart => (&self.cart, 1),
            RouteClass::Checkout => (&self.checkout, 2),
            RouteClass::SignIn => (&self.sign_in, 3),
            RouteClass::Api => (&self.api, 4),
        }
    }

    /// `Err(seconds to wait)` when the address is over its limit for the class.
    pub fn check(&self, class: RouteClass, ip: IpAddr) -> Result<(), u64> {
        let (limiter, index) = self.limiter(class);
        // Forget idle addresses now and then, so the tables stay small.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 10_000 == 9_999 {
            for class in RouteClass::ALL {
                let (l, _) = self.limiter(class);
                l.retain_recent();
                l.shrink_to_fit();
            }
        }
        limiter.check_key(&client_key(ip)).map_err(|not_until| {
            self.refused[index].fetch_add(1, Ordering::Relaxed);
            not_until
                .wait_time_from(DefaultClock::default().now())
                .as_secs()
                .max(1)
        })
    }

    /// Counts a lookup of a picture that does not exist against the client. Past the budget
    /// the client is refused pictures the node does not already know to be shown (see
    /// [`RateLimits::probing`]) until the budget has refilled: each such lookup would cost a
    /// database query, and random hashes are never in a cache.
    pub fn picture_missed(&self, ip: IpAddr) {
        let key = client_key(ip);
        if let Err(not_until) = self.picture_misses.check_key(&key) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let until = std::time::Instant::now() + wait.max(std::time::Duration::from_secs(1));
            if let Ok(mut probing) = self.probing.lock() {
                let now = std::time::Instant::now();
                probing.retain(|_, until| *until > now);
                probing.insert(key, until);
            }
        }
    }

    /// `Some(seconds to wait)` while the client is past its picture-miss budget.
    pub fn probing(&self, ip: IpAddr) -> Option<u64> {
        let until = *self.probing.lock().ok()?.get(&client_key(ip))?;
        let left = until.checked_duration_since(std::time::Instant::now())?;
        Some(left.as_secs().max(1))
    }

    /// Refusals so far, by class name (for `/metrics`).
    pub fn refusals(&self) -> Vec<(&'static str, u64)> {
        RouteClass::ALL
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name(), self.refused[i].load(Ordering::Relaxed)))
            .collect()
    }
}

/// Answers 429 with `Retry-After` when the client's address is over its route's limit. Added
/// with `Router::layer`, so it runs once routing has matched the route.
pub async fn rate_limit(
    State(state): State<Arc<WebState>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(limits) = state.rate_limits.as_deref() else {
        return next.run(request).await;
    };
    let route = request.extensions().get::<MatchedPath>();
    let class = state.classes.of(route.map(MatchedPath::as_str));
    let Some(ip) = super::client_address(&request, state.settings.http.trust_forwarded_for) else {
        return next.run(request).await;
    };
    match limits.check(class, ip) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            let mut response = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("Too many requests; try again in {wait} s."),
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            response
        }
    }
}

/// Keeps the state's rate limiters alive beside the settings.
pub fn rate_limits(settings: &crate::config::Settings) -> Option<Arc<RateLimits>> {
    settings
        .http
        .rate_limits
        .then(|| Arc::new(RateLimits::default()))
}
