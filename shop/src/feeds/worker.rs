//! The picture workers of one node: a bounded pool, at most `per_host` fetches at once from
//! any one host and a pause between two requests to it, so that a seller's slow server only
//! ever slows that seller's pictures, and the shop never hammers anyone's server.

use super::fetch::Fetcher;
use super::store::Feeds;
use crate::assets::Assets;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

#[derive(Clone, Copy, Debug)]
pub struct PoolConfig {
    /// Fetches in flight on this node.
    pub workers: usize,
    /// Fetches in flight to one host.
    pub per_host: usize,
    /// The least time between two requests started to one host.
    pub host_interval: Duration,
    /// How often the queue is looked at.
    pub poll: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            workers: 8,
            per_host: 2,
            host_interval: Duration::from_millis(250),
            poll: Duration::from_millis(250),
        }
    }
}

#[derive(Default)]
struct Host {
    in_flight: usize,
    last_start: Option<Instant>,
}

/// Runs the pool until the task is dropped.
pub async fn run_pictures(feeds: Feeds, fetcher: Fetcher, assets: Assets, config: PoolConfig) {
    let pool = Arc::new(Semaphore::new(config.workers));
    let hosts: Arc<Mutex<HashMap<String, Host>>> = Arc::default();
    let mut ticker = tokio::time::interval(config.poll);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let free = pool.available_permits();
        if free == 0 {
            continue;
        }
        let busy: Vec<String> = {
            let Ok(hosts) = hosts.lock() else { return };
            hosts
                .iter()
                .filter(|(_, h)| {
                    h.in_flight >= config.per_host
                        || h.last_start
                            .is_some_and(|t| t.elapsed() < config.host_interval)
                })
                .map(|(name, _)| name.clone())
                .collect()
        };
        let jobs = match feeds.take(free as i64, &busy).await {
            Ok(jobs) => jobs,
            Err(e) => {
                tracing::warn!(error = %e, "picture queue unavailable");
                continue;
            }
        };
        for job in jobs {
            let Ok(permit) = pool.clone().acquire_owned().await else {
                return;
            };
            if let Ok(mut hosts) = hosts.lock() {
                let host = hosts.entry(job.host.clone()).or_default();
                host.in_flight += 1;
                host.last_start = Some(Instant::now());
            }
            let (feeds, fetcher, assets, hosts) = (
                feeds.clone(),
                fetcher.clone(),
                assets.clone(),
                hosts.clone(),
            );
            tokio::spawn(async move {
                let _permit = permit;
                if let Err(e) = feeds.run(&job, &fetcher, &assets).await {
                    tracing::warn!(error = %e, fetch = job.id, "picture fetch not recorded");
                }
                if let Ok(mut hosts) = hosts.lock()
                    && let Some(host) = hosts.get_mut(&job.host)
                {
                    host.in_flight = host.in_flight.saturating_sub(1);
                }
            });
        }
    }
}

/// Processes waiting feeds until the task is dropped.
pub async fn run_feeds(feeds: Feeds, poll: Duration) {
    let mut ticker = tokio::time::interval(poll);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        loop {
            match feeds.process_next().await {
                Ok(true) => continue,
                Ok(false) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "feed processing failed; will try again");
                    break;
                }
            }
        }
    }
}
