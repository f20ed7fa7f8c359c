//! Readiness, component by component: what `/readyz` answers and what the admin's overview
//! shows (one computation for both).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A component's state. `Degraded` components are reported but do not make the node unready
/// (the shop still sells without them); `Down` ones do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Up,
    Degraded,
    Down,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Up => "up",
            Status::Degraded => "degraded",
            Status::Down => "down",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Component {
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Readiness {
    pub status: Status,
    /// Each component's state and detail: left out of what a stranger is told.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub components: BTreeMap<String, Component>,
}

impl Readiness {
    /// The overall status alone, for whoever may not see how each component is (database
    /// errors, where pictures are kept).
    pub fn status_only(&self) -> Self {
        Self {
            status: self.status,
            components: BTreeMap::new(),
        }
    }
}

/// How long a readiness probe waits for the database before calling it down.
#[cfg(feature = "ssr")]
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Asks every component how it is.
#[cfg(feature = "ssr")]
pub async fn readiness(services: &crate::services::Services) -> Readiness {
    use shop::resilience::BreakerState;
    let mut components = BTreeMap::new();
    let database = match tokio::time::timeout(PROBE_TIMEOUT, services.db.ping()).await {
        Ok(Ok(latency)) => Component {
            status: Status::Up,
            latency_ms: Some(latency.as_secs_f64() * 1000.0),
            detail: Some(format!("{:?}", services.db.backend()).to_lowercase()),
        },
        Ok(Err(e)) => Component {
            status: Status::Down,
            latency_ms: None,
            detail: Some(e.to_string()),
        },
        Err(_) => Component {
            status: Status::Down,
            latency_ms: None,
            detail: Some(format!("no answer within {PROBE_TIMEOUT:?}")),
        },
    };
    components.insert("database".to_owned(), database);
    let search = services.search.health();
    components.insert(
        "search".to_owned(),
        Component {
            // Without the index, searches still answer from the database: degraded, not down.
            status: if search.ready {
                Status::Up
            } else {
                Status::Degraded
            },
            latency_ms: None,
            detail: Some(if search.ready {
                format!("index of {} products", search.documents)
            } else {
                search.detail
            }),
        },
    );
    let store = services.assets.store();
    let breaker = store.state();
    components.insert(
        "assets".to_owned(),
        Component {
            // Without the image store, pages go text-only: degraded, never down.
            // Pictures are shown only while the breaker is closed (see `AssetStore::serving`).
            status: if breaker == BreakerState::Closed {
                Status::Up
            } else {
                Status::Degraded
            },
            latency_ms: Some(store.timeout().as_secs_f64() * 1000.0),
            detail: Some(format!(
                "{} (circuit {})",
                store.describe(),
                match breaker {
                    BreakerState::Closed => "closed",
                    BreakerState::Open => "open: pages are text-only",
                    BreakerState::HalfOpen => "half-open: probing",
                }
            )),
        },
    );
    components.insert("mail".to_owned(), mail(services).await);
    let status = if components.values().any(|c| c.status == Status::Down) {
        Status::Down
    } else if components.values().any(|c| c.status == Status::Degraded) {
        Status::Degraded
    } else {
        Status::Up
    };
    Readiness { status, components }
}

/// How long a message may wait before the mail relay counts as failing.
#[cfg(feature = "ssr")]
const MAIL_STALE_MS: i64 = 5 * 60 * 1000;

/// The mail outbox: degraded (never down: the shop sells without mail) while messages fail
/// or wait too long. Sign-ups and password resets wait for it.
#[cfg(feature = "ssr")]
async fn mail(services: &crate::services::Services) -> Component {
    let stats = tokio::time::timeout(PROBE_TIMEOUT, services.outbox.stats()).await;
    match stats {
        Ok(Ok(stats)) => {
            let now = services.clock.now();
            let stale = stats
                .oldest_waiting_at
                .is_some_and(|t| now - t > MAIL_STALE_MS);
            Component {
                status: if stats.failing > 0 || stale {
                    Status::Degraded
                } else {
                    Status::Up
                },
                latency_ms: None,
                detail: Some(format!(
                    "{} waiting, {} failing{}",
                    stats.waiting,
                    stats.failing,
                    if stale {
                        ", the oldest for over 5 minutes"
                    } else {
                        ""
                    }
                )),
            }
        }
        Ok(Err(e)) => Component {
            status: Status::Degraded,
            latency_ms: None,
            detail: Some(e.to_string()),
        },
        Err(_) => Component {
            status: Status::Degraded,
            latency_ms: None,
            detail: Some(format!("no answer within {PROBE_TIMEOUT:?}")),
        },
    }
}
