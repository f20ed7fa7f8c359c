//! Fetching one picture from a seller's server: checked against the SSRF policy before every
//! request and at connection time, at most three redirects, connect and total timeouts, and a
//! size cap enforced while the body streams in (a `Content-Length` is not trusted).
//!
//! A host name is resolved once and pinned for a while ([`Pins`]): the pool paces its fetches
//! by the address a fetch will connect to ([`Fetcher::address`]), and the connection then goes
//! to that same address, so a server is never counted under one address and reached at
//! another.

use super::guard::{Policy, Refusal};
use reqwest::Url;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Limits of one fetch.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub connect_timeout: Duration,
    /// For the whole fetch, redirects and body included.
    pub total_timeout: Duration,
    pub max_bytes: usize,
    pub max_redirects: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(30),
            max_bytes: crate::assets::pipeline::MAX_BYTES,
            max_redirects: 3,
        }
    }
}

/// How a fetch failed. `retryable` ones (timeouts, 5xx, a connection that failed) are tried
/// again later; the others are final.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("{0}")]
    Refused(#[from] Refusal),
    #[error("more than {0} redirects")]
    TooManyRedirects(usize),
    #[error("a redirect without a usable Location")]
    BadRedirect,
    #[error("the server answered {0}")]
    Status(u16),
    #[error("no answer within the time limit")]
    Timeout,
    #[error("could not connect: {0}")]
    Connect(String),
    #[error("larger than {0} bytes")]
    TooLarge(usize),
}

impl FetchError {
    pub fn retryable(&self) -> bool {
        match self {
            FetchError::Timeout | FetchError::Connect(_) => true,
            // A 4xx is the seller's URL, and asking again will not change it.
            FetchError::Status(s) => *s >= 500,
            _ => false,
        }
    }

    /// A stable code for reports and metrics.
    pub fn code(&self) -> String {
        match self {
            FetchError::Refused(r) => r.code().into(),
            FetchError::TooManyRedirects(_) => "too_many_redirects".into(),
            FetchError::BadRedirect => "bad_redirect".into(),
            FetchError::Status(s) => format!("http_{s}"),
            FetchError::Timeout => "timeout".into(),
            FetchError::Connect(_) => "connect_failed".into(),
            FetchError::TooLarge(_) => "too_large".into(),
        }
    }
}

/// How long a host name stays pinned to the address it resolved to: longer than a fetch with
/// its redirects may take, short enough to follow a host that moves.
const PIN_FOR: Duration = Duration::from_secs(60);

/// The address each host name connects to: names fixed by [`Fetcher::resolving`], else the
/// policy-checked answer of a recent lookup, else a fresh lookup that becomes the pin.
struct Pins {
    policy: Policy,
    fixed: RwLock<HashMap<String, IpAddr>>,
    recent: moka::future::Cache<String, IpAddr>,
}

impl Pins {
    fn new(policy: Policy) -> Self {
        Self {
            policy,
            fixed: RwLock::default(),
            recent: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(PIN_FOR)
                .build(),
        }
    }

    /// The one address `host` connects to, allowed by the policy. A name with several
    /// addresses is refused if any of them is not allowed (the policy's rule), and pinned to
    /// the first.
    async fn resolve(&self, host: &str) -> Result<IpAddr, Refusal> {
        let fixed = self.fixed.read().ok().and_then(|f| f.get(host).copied());
        if let Some(ip) = fixed {
            return if self.policy.allows(ip) {
                Ok(ip)
            } else {
                Err(Refusal::Address(ip))
            };
        }
        if let Some(ip) = self.recent.get(host).await {
            return Ok(ip);
        }
        let ip = self
            .policy
            .resolve(host, 0)
            .await?
            .first()
            .map(SocketAddr::ip)
            .ok_or_else(|| Refusal::Unresolved(host.to_owned()))?;
        self.recent.insert(host.to_owned(), ip).await;
        Ok(ip)
    }
}

/// The client's resolver: the pinned, checked address, so that a connection only ever goes
/// to an address the policy allows (the check, the pacing and the connection use the same
/// answer).
struct CheckedResolver(Arc<Pins>);

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let pins = self.0.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let ip = pins
                .resolve(&host)
                .await
                .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { Box::new(e) })?;
            let addrs: reqwest::dns::Addrs = Box::new(std::iter::once(SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

/// A fetcher shares one HTTP client (connection pool, TLS roots) across fetches.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    policy: Policy,
    pins: Arc<Pins>,
    limits: Limits,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("policy", &self.policy)
            .field("limits", &self.limits)
            .finish()
    }
}

impl Fetcher {
    pub fn new(policy: Policy, limits: Limits) -> Result<Self, reqwest::Error> {
        let pins = Arc::new(Pins::new(policy.clone()));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(limits.connect_timeout)
            .dns_resolver(Arc::new(CheckedResolver(pins.clone())))
            .user_agent(concat!(
                "Emporium/",
                env!("CARGO_PKG_VERSION"),
                " (picture fetcher)"
            ))
            .build()?;
        Ok(Self {
            client,
            policy,
            pins,
            limits,
        })
    }

    /// Resolves `host` to `ip` without asking DNS, as `/etc/hosts` would (and as reqwest's
    /// `ClientBuilder::resolve` does): for tests that need several names on one server. The
    /// policy still judges the address.
    pub fn resolving(self, host: &str, ip: IpAddr) -> Self {
        if let Ok(mut fixed) = self.pins.fixed.write() {
            fixed.insert(host.to_owned(), ip);
        }
        self
    }

    pub fn policy(&self) -> Policy {
        self.policy.clone()
    }

    /// The address a fetch of `url` will connect to (its first hop), resolved and pinned now:
    /// what the pool paces by. A URL that will be refused says why; a name that takes longer
    /// than the connect timeout to resolve is a timeout, as its fetch would be.
    pub async fn address(&self, url: &str) -> Result<IpAddr, FetchError> {
        let url = self.policy.parse(url)?;
        let host = url.host_str().ok_or(Refusal::BadUrl)?;
        match tokio::time::timeout(self.limits.connect_timeout, self.pins.resolve(host)).await {
            Ok(resolved) => Ok(resolved?),
            Err(_) => Err(FetchError::Timeout),
        }
    }

    /// Fetches `url`'s body, following up to `max_redirects` redirects, each one checked.
    pub async fn fetch(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        let deadline = Instant::now() + self.limits.total_timeout;
        match tokio::time::timeout(self.limits.total_timeout, self.follow(url, deadline)).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::Timeout),
        }
    }

    async fn follow(&self, url: &str, deadline: Instant) -> Result<Vec<u8>, FetchError> {
        let mut url = self.policy.parse(url)?;
        let mut redirects = 0;
        loop {
            self.check_host(&url).await?;
            self.policy.check_port(&url)?;
            let response = self
                .client
                .get(url.clone())
                .timeout(deadline.saturating_duration_since(Instant::now()))
                .send()
                .await
                .map_err(classify)?;
            let status = response.status();
            if status.is_redirection() {
                redirects += 1;
                if redirects > self.limits.max_redirects {
                    return Err(FetchError::TooManyRedirects(self.limits.max_redirects));
                }
                let location = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or(FetchError::BadRedirect)?;
                let next = url.join(location).map_err(|_| FetchError::BadRedirect)?;
                url = self.policy.parse(next.as_str())?;
                continue;
            }
            if !status.is_success() {
                return Err(FetchError::Status(status.as_u16()));
            }
            return self.body(response).await;
        }
    }

    /// Resolves (or finds pinned) and checks the host now, for a clear reason in the report
    /// (the resolver reads the same pin when it connects).
    async fn check_host(&self, url: &Url) -> Result<IpAddr, FetchError> {
        let host = url.host_str().ok_or(Refusal::BadUrl)?;
        Ok(self.pins.resolve(host).await?)
    }

    async fn body(&self, mut response: reqwest::Response) -> Result<Vec<u8>, FetchError> {
        let max = self.limits.max_bytes;
        if response.content_length().is_some_and(|n| n > max as u64) {
            return Err(FetchError::TooLarge(max));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > max {
                return Err(FetchError::TooLarge(max));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

fn classify(error: reqwest::Error) -> FetchError {
    if error.is_timeout() {
        return FetchError::Timeout;
    }
    // A refusal from the resolver (the address changed between check and connection).
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(e) = source {
        if let Some(refusal) = e.downcast_ref::<Refusal>() {
            return FetchError::Refused(refusal.clone());
        }
        source = e.source();
    }
    FetchError::Connect(error.without_url().to_string())
}
