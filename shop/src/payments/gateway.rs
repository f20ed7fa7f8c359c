//! The shop's adapter for the payment gateway's HTTP API (the `paysim` crate simulates one).
//!
//! Every call has a timeout; transient failures (timeouts, 5xx, connection errors) are
//! retried with the same idempotency key, with jittered exponential backoff, a bounded number
//! of times; a circuit breaker stops the shop hammering a gateway that is down. What could
//! not be settled comes back as `Unknown` — the caller records that and resolves it later with
//! `lookup`, never with a second charge under a new key.

use super::CardNumber;
use crate::Money;
use crate::resilience::{Backoff, Breaker, BreakerMetrics, BreakerState};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Where the gateway is and how patient to be with it.
#[derive(Clone, Debug)]
pub struct GatewayConfig {
    /// e.g. `http://127.0.0.1:3099`
    pub base_url: String,
    /// Per attempt.
    pub timeout: Duration,
    /// Attempts per call, the first included.
    pub attempts: u32,
    pub backoff: Backoff,
    /// Consecutive failures that open the breaker, and how long it stays open.
    pub breaker_threshold: u32,
    pub breaker_cool_down: Duration,
}

impl GatewayConfig {
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            timeout: Duration::from_secs(3),
            attempts: 3,
            backoff: Backoff {
                base: Duration::from_millis(100),
                max: Duration::from_secs(2),
            },
            breaker_threshold: 5,
            breaker_cool_down: Duration::from_secs(10),
        }
    }
}

/// What became of a charge request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChargeOutcome {
    /// The money was captured.
    Succeeded { charge_id: String },
    /// The card was refused (`card_declined`, `insufficient_funds`, …); nothing was charged.
    Declined { code: String },
    /// The gateway could not be asked at all (breaker open, connection refused on every
    /// attempt): certainly nothing was charged by this call.
    NotSent { reason: String },
    /// The request may have reached the gateway but no answer came back: look the key up.
    Unknown { reason: String },
}

/// A charge as the gateway's ledger holds it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ChargeRecord {
    pub id: String,
    pub status: String,
    pub amount: i64,
    pub currency: String,
    #[serde(default)]
    pub refunded_amount: i64,
    #[serde(default)]
    pub decline_code: Option<String>,
}

impl ChargeRecord {
    pub fn succeeded(&self) -> bool {
        self.status == "succeeded"
    }
}

/// What became of a refund request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefundOutcome {
    Refunded { refund_id: String },
    Unknown { reason: String },
}

/// Why no attempt of a request got an answer under 500: the last failure, and whether any
/// attempt may have reached the gateway (a 5xx, a timeout after sending).
struct NoAnswer {
    reason: String,
    maybe_sent: bool,
}

/// Failures that retrying will not fix.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The gateway refused the request as malformed (a bug on our side, or a key reused for a
    /// different request).
    #[error("the gateway refused the request ({status}): {body}")]
    Rejected { status: u16, body: String },
    /// The gateway could not be reached in the bounded time.
    #[error("the gateway is unavailable: {0}")]
    Unavailable(String),
}

/// The gateway client. Cheap to clone; clones share the breaker.
#[derive(Clone, Debug)]
pub struct Gateway {
    config: GatewayConfig,
    client: reqwest::Client,
    breaker: Arc<Breaker>,
    metrics: Arc<BreakerMetrics>,
    /// Where requests go instead of HTTP (the deterministic simulation's in-process gateway).
    transport: Option<Arc<dyn Transport>>,
}

/// One request to the gateway's HTTP API, as the client would send it.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// `GET` or `POST`.
    pub method: &'a str,
    /// The path and query, e.g. `/v1/charges?idempotency_key=…`.
    pub path: &'a str,
    /// The `Idempotency-Key` header, on charges and refunds.
    pub idempotency_key: Option<&'a str>,
    /// The JSON body, on charges and refunds.
    pub body: Option<&'a serde_json::Value>,
}

/// A way to reach the gateway other than HTTP. Everything above it — retries, the breaker,
/// reading the answers — is the same code, so a transport that speaks the gateway's API
/// (same paths, statuses and bodies) tests the real client.
pub trait Transport: Send + Sync + std::fmt::Debug {
    fn send<'a>(&'a self, request: Request<'a>) -> futures_core::future::BoxFuture<'a, Reply>;
}

/// One exchange's result, before interpretation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// An answer with this status and body.
    Answer(u16, String),
    /// Failed before anything was sent (connection refused, breaker open).
    NotSent(String),
    /// Failed after the request may have been sent (timeout, reset, 5xx).
    Lost(String),
}

impl Gateway {
    pub fn new(config: GatewayConfig) -> Self {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(2)))
            .build()
            .unwrap_or_default();
        Self {
            breaker: Arc::new(Breaker::new(
                config.breaker_threshold,
                config.breaker_cool_down,
            )),
            config,
            client,
            metrics: Arc::default(),
            transport: None,
        }
    }

    /// A client that sends its requests through `transport` instead of HTTP.
    pub fn with_transport(config: GatewayConfig, transport: Arc<dyn Transport>) -> Self {
        Self {
            transport: Some(transport),
            ..Self::new(config)
        }
    }

    pub fn breaker_state(&self) -> BreakerState {
        self.breaker.state()
    }

    /// Calls, failures, refusals and breaker state changes since start (shared by clones).
    pub fn metrics(&self) -> &BreakerMetrics {
        &self.metrics
    }

    /// Charges `amount` to `card` under `key`. Safe to call again with the same key.
    pub async fn charge(
        &self,
        key: &str,
        amount: Money,
        card: &CardNumber,
    ) -> Result<ChargeOutcome, GatewayError> {
        let body = json!({
            "amount": amount.amount,
            "currency": amount.currency.code(),
            "card_number": card.digits(),
        });
        match self
            .send_retrying(reqwest::Method::POST, "/v1/charges", Some(key), Some(&body))
            .await
        {
            Ok((201 | 200, text)) => {
                let record: ChargeRecord = parse(&text)?;
                Ok(ChargeOutcome::Succeeded {
                    charge_id: record.id,
                })
            }
            Ok((402, text)) => {
                let record: ChargeRecord = parse(&text)?;
                Ok(ChargeOutcome::Declined {
                    code: record
                        .decline_code
                        .unwrap_or_else(|| "card_declined".to_string()),
                })
            }
            Ok((status, text)) => Err(GatewayError::Rejected { status, body: text }),
            Err(NoAnswer {
                reason,
                maybe_sent: true,
            }) => Ok(ChargeOutcome::Unknown { reason }),
            Err(NoAnswer { reason, .. }) => Ok(ChargeOutcome::NotSent { reason }),
        }
    }

    /// The charge made under `key`, if the gateway has one.
    pub async fn lookup(&self, key: &str) -> Result<Option<ChargeRecord>, GatewayError> {
        let path = format!("/v1/charges?idempotency_key={key}");
        match self
            .send_retrying(reqwest::Method::GET, &path, None, None)
            .await
        {
            Ok((200, text)) => parse(&text).map(Some),
            Ok((404, _)) => Ok(None),
            Ok((status, text)) => Err(GatewayError::Rejected { status, body: text }),
            Err(NoAnswer { reason, .. }) => Err(GatewayError::Unavailable(reason)),
        }
    }

    /// Refunds `amount` of `charge_id` under `key`. Safe to call again with the same key.
    pub async fn refund(
        &self,
        key: &str,
        charge_id: &str,
        amount: Money,
    ) -> Result<RefundOutcome, GatewayError> {
        let body = json!({ "charge_id": charge_id, "amount": amount.amount });
        match self
            .send_retrying(reqwest::Method::POST, "/v1/refunds", Some(key), Some(&body))
            .await
        {
            Ok((201 | 200, text)) => {
                #[derive(Deserialize)]
                struct Refund {
                    id: String,
                }
                let refund: Refund = parse(&text)?;
                Ok(RefundOutcome::Refunded {
                    refund_id: refund.id,
                })
            }
            Ok((status, text)) => Err(GatewayError::Rejected { status, body: text }),
            Err(NoAnswer { reason, .. }) => Ok(RefundOutcome::Unknown { reason }),
        }
    }

    /// Sends the request up to `attempts` times, backing off between tries, until the gateway
    /// answers with a status under 500: that answer's status and body. Every call is made
    /// under an idempotency key or is a read, so sending again is safe.
    async fn send_retrying(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        body: Option<&serde_json::Value>,
    ) -> Result<(u16, String), NoAnswer> {
        let mut maybe_sent = false;
        let mut last = String::new();
        for attempt in 0..self.config.attempts {
            if attempt > 0 {
                tokio::time::sleep(self.config.backoff.delay(attempt - 1)).await;
            }
            match self.send(method.clone(), path, key, body).await {
                Reply::Answer(status, text) if status < 500 => return Ok((status, text)),
                Reply::Answer(status, text) => {
                    maybe_sent = true;
                    last = format!("gateway answered {status}: {text}");
                }
                Reply::NotSent(reason) => last = reason,
                Reply::Lost(reason) => {
                    maybe_sent = true;
                    last = reason;
                }
            }
        }
        Err(NoAnswer {
            reason: last,
            maybe_sent,
        })
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        body: Option<&serde_json::Value>,
    ) -> Reply {
        let before = self.breaker.state();
        if !self.breaker.allow() {
            self.metrics.rejected.fetch_add(1, Ordering::Relaxed);
            return Reply::NotSent("the gateway's circuit breaker is open".into());
        }
        self.metrics.calls.fetch_add(1, Ordering::Relaxed);
        let reply = match &self.transport {
            Some(transport) => {
                transport
                    .send(Request {
                        method: method.as_str(),
                        path,
                        idempotency_key: key,
                        body,
                    })
                    .await
            }
            None => self.http(method, path, key, body).await,
        };
        let healthy = matches!(reply, Reply::Answer(status, _) if status < 500);
        if !healthy {
            self.metrics.failures.fetch_add(1, Ordering::Relaxed);
        }
        self.breaker.record(healthy);
        self.metrics.transition(before, self.breaker.state());
        reply
    }

    async fn http(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        body: Option<&serde_json::Value>,
    ) -> Reply {
        let url = format!("{}{path}", self.config.base_url.trim_end_matches('/'));
        let mut request = self.client.request(method, url);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                match response.text().await {
                    Ok(text) => Reply::Answer(status, text),
                    Err(e) => Reply::Lost(format!("reading the answer failed: {e}")),
                }
            }
            Err(e) if e.is_connect() => Reply::NotSent(format!("cannot connect: {e}")),
            Err(e) => Reply::Lost(format!("request failed: {e}")),
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, GatewayError> {
    serde_json::from_str(text).map_err(|e| GatewayError::Rejected {
        status: 200,
        body: format!("unreadable answer ({e}): {text}"),
    })
}
