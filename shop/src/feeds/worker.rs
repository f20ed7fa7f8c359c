//! The picture workers of one node: a bounded pool, at most `per_host` fetches at once from
//! any one server and a pause between two requests to it, so that a seller's slow server only
//! ever slows that seller's pictures, and the shop never hammers anyone's server.
//!
//! A server is the address a fetch connects to, not the host name in the URL: `a.example`
//! and `b.example` on one address are one server to be polite to, and a seller cannot dodge
//! the pacing by spreading pictures over many names. Each taken job's host is resolved (and
//! pinned, [`Fetcher::address`]) before it starts; one whose server is busy goes back to the
//! queue at once, due as before, and its name is left out of the next looks at the queue
//! while its server stays busy.

use super::fetch::Fetcher;
use super::store::{Feeds, Job};
use crate::assets::Assets;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

#[derive(Clone, Copy, Debug)]
pub struct PoolConfig {
    /// Fetches in flight on this node.
    pub workers: usize,
    /// Fetches in flight to one server (one address).
    pub per_host: usize,
    /// The least time between two requests started to one server (one address).
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

/// One server's fetches on this node.
#[derive(Default)]
struct Server {
    in_flight: usize,
    last_start: Option<Instant>,
}

impl Server {
    /// Whether the pause after the last request started to it still runs.
    fn resting(&self, config: &PoolConfig) -> bool {
        self.last_start
            .is_some_and(|t| t.elapsed() < config.host_interval)
    }
}

/// What the pool knows of the servers it fetches from.
#[derive(Default)]
struct Pacing {
    servers: HashMap<IpAddr, Server>,
    /// The address each host name was last found at, so that the queue can be asked to leave
    /// out the names whose server is busy.
    names: HashMap<String, IpAddr>,
}

impl Pacing {
    fn busy(&self, config: &PoolConfig, address: &IpAddr) -> bool {
        self.servers
            .get(address)
            .is_some_and(|s| s.in_flight >= config.per_host || s.resting(config))
    }

    /// The host names whose server is busy now. Servers that are idle and rested are
    /// forgotten here, with their names, so the maps hold only what is recent.
    fn busy_names(&mut self, config: &PoolConfig) -> Vec<String> {
        self.servers
            .retain(|_, server| server.in_flight > 0 || server.resting(config));
        let servers = &self.servers;
        self.names
            .retain(|_, address| servers.contains_key(address));
        self.names
            .iter()
            .filter(|(_, address)| self.busy(config, address))
            .map(|(name, _)| name.clone())
            .collect()
    }
}

/// A job that may start now. It holds its server's place until it is dropped.
pub struct Started {
    pub job: Job,
    address: Option<IpAddr>,
    pacing: Arc<Mutex<Pacing>>,
}

impl Drop for Started {
    fn drop(&mut self) {
        if let (Some(address), Ok(mut pacing)) = (self.address, self.pacing.lock())
            && let Some(server) = pacing.servers.get_mut(&address)
        {
            server.in_flight = server.in_flight.saturating_sub(1);
        }
    }
}

/// The node's picture pool: takes fairly from the queue ([`Feeds::take`]) and starts what
/// each server's pacing allows.
#[derive(Clone)]
pub struct Pool {
    feeds: Feeds,
    fetcher: Fetcher,
    config: PoolConfig,
    pacing: Arc<Mutex<Pacing>>,
}

impl Pool {
    pub fn new(feeds: Feeds, fetcher: Fetcher, config: PoolConfig) -> Self {
        Self {
            feeds,
            fetcher,
            config,
            pacing: Arc::default(),
        }
    }

    /// One look at the queue for up to `free` jobs: the ones whose server may be asked now,
    /// each holding its server's place. The others go back to the queue, due as before.
    pub async fn next(&self, free: usize) -> Result<Vec<Started>, sqlx::Error> {
        let busy = match self.pacing.lock() {
            Ok(mut pacing) => pacing.busy_names(&self.config),
            Err(_) => return Ok(Vec::new()),
        };
        let jobs = self.feeds.take(free as i64, &busy).await?;
        let addresses = self.resolve(&jobs).await;
        let mut started = Vec::new();
        for (job, address) in jobs.into_iter().zip(addresses) {
            let admitted = match self.pacing.lock() {
                Ok(mut pacing) => match address {
                    Some(address) => {
                        pacing.names.insert(job.host.clone(), address);
                        let free = !pacing.busy(&self.config, &address);
                        if free {
                            let server = pacing.servers.entry(address).or_default();
                            server.in_flight += 1;
                            server.last_start = Some(Instant::now());
                        }
                        free
                    }
                    None => true,
                },
                Err(_) => false,
            };
            if admitted {
                started.push(Started {
                    job,
                    address,
                    pacing: self.pacing.clone(),
                });
            } else {
                self.feeds.release(&job).await?;
            }
        }
        Ok(started)
    }

    /// Each job's server, looked up side by side, so that one seller's slow name server
    /// holds up one look by at most the connect timeout. `None` for a URL that cannot be
    /// resolved or is refused: it never reaches a server (`run` records why without
    /// connecting), so there is nothing to pace.
    async fn resolve(&self, jobs: &[Job]) -> Vec<Option<IpAddr>> {
        let mut lookups = tokio::task::JoinSet::new();
        for (i, job) in jobs.iter().enumerate() {
            let (fetcher, url) = (self.fetcher.clone(), job.url.clone());
            lookups.spawn(async move { (i, fetcher.address(&url).await.ok()) });
        }
        let mut addresses = vec![None; jobs.len()];
        while let Some(done) = lookups.join_next().await {
            if let Ok((i, address)) = done {
                addresses[i] = address;
            }
        }
        addresses
    }
}

/// Runs the pool until the task is dropped.
pub async fn run_pictures(feeds: Feeds, fetcher: Fetcher, assets: Assets, config: PoolConfig) {
    let pool = Pool::new(feeds.clone(), fetcher.clone(), config);
    let workers = Arc::new(Semaphore::new(config.workers));
    let mut ticker = tokio::time::interval(config.poll);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let free = workers.available_permits();
        if free == 0 {
            continue;
        }
        let started = match pool.next(free).await {
            Ok(started) => started,
            Err(e) => {
                tracing::warn!(error = %e, "picture queue unavailable");
                continue;
            }
        };
        for started in started {
            let Ok(permit) = workers.clone().acquire_owned().await else {
                return;
            };
            let (feeds, fetcher, assets) = (feeds.clone(), fetcher.clone(), assets.clone());
            tokio::spawn(async move {
                let _permit = permit;
                let job = &started.job;
                if let Err(e) = feeds.run(job, &fetcher, &assets).await {
                    tracing::warn!(error = %e, fetch = job.id, "picture fetch not recorded");
                }
                // Dropping `started` here frees its server's place.
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
