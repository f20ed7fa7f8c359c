//! Fetching one picture from a seller's server: checked against the SSRF policy before every
//! request and at connection time, at most three redirects, connect and total timeouts, and a
//! size cap enforced while the body streams in (a `Content-Length` is not trusted).

use super::guard::{Policy, Refusal};
use reqwest::Url;
use std::net::SocketAddr;
use std::sync::Arc;
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

/// The client's resolver: resolves and checks, so that a connection only ever goes to an
/// address the policy allows (the check and the connection use the same answer).
struct CheckedResolver(Policy);

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = policy
                .resolve(&host, 0)
                .await
                .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { Box::new(e) })?;
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// A fetcher shares one HTTP client (connection pool, TLS roots) across fetches.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    policy: Policy,
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
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(limits.connect_timeout)
            .dns_resolver(Arc::new(CheckedResolver(policy.clone())))
            .user_agent(concat!(
                "Emporium/",
                env!("CARGO_PKG_VERSION"),
                " (picture fetcher)"
            ))
            .build()?;
        Ok(Self {
            client,
            policy,
            limits,
        })
    }

    pub fn policy(&self) -> Policy {
        self.policy.clone()
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

    /// Resolves and checks the host now, for a clear reason in the report (the resolver
    /// checks again when it connects).
    async fn check_host(&self, url: &Url) -> Result<Vec<SocketAddr>, FetchError> {
        let host = url.host_str().ok_or(Refusal::BadUrl)?;
        let port = url.port_or_known_default().unwrap_or(80);
        Ok(self.policy.resolve(host, port).await?)
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
