//! Background workers: checkout recovery and reconciliation, the hold sweeper, the outbox
//! dispatcher, mail delivery, feeds and their pictures, and the "customers also bought" recompute. Each runs once at
//! start and then on its interval; a failed pass is logged and the next one tries again.
//! Dropping `Workers` stops them.

use crate::config::Settings;
use crate::state::AppState;
use shop::events::{Dispatcher, ORDER_CONFIRMED};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;

/// How often the outbox is polled for new events.
const DISPATCH_EVERY: Duration = Duration::from_millis(500);
/// How often waiting feeds are looked for.
const FEEDS_EVERY: Duration = Duration::from_millis(500);
/// How often the mail outbox is polled.
const MAIL_EVERY: Duration = Duration::from_secs(1);
/// How often each node reads the outbox for products its cache must forget.
const CACHE_FOLLOW_EVERY: Duration = Duration::from_millis(250);
/// Rows handled per pass, so that one pass never runs for long.
const BATCH: i64 = 200;

/// The running workers; they stop when this is dropped.
pub struct Workers(JoinSet<()>);

impl Workers {
    pub async fn shutdown(mut self) {
        self.0.abort_all();
        while self.0.join_next().await.is_some() {}
    }
}

/// The outbox events this node handles and who handles them. Its topics are listed in
/// `metrics::DISPATCHED_TOPICS` too, for the backlog gauge.
pub fn dispatcher(state: &AppState) -> Dispatcher {
    let order_mails = state.services.order_mails.clone();
    Dispatcher::new(state.db.clone()).on(
        ORDER_CONFIRMED,
        shop::events::all(vec![
            // Fulfillment first: a mail that fails to queue retries both, and the shipment
            // is created once whatever happens.
            shop::fulfillment::on_order_confirmed(state.db.clone(), state.clock.clone()),
            shop::orders::mail::on_order_confirmed(order_mails),
        ]),
    )
}

pub fn spawn(state: &AppState, settings: &Settings) -> Workers {
    let mut set = JoinSet::new();
    let checkouts = state.services.checkouts.clone();
    every(
        &mut set,
        Duration::from_secs(settings.checkout.recovery_interval_secs),
        "recovery",
        move || {
            let checkouts = checkouts.clone();
            async move {
                let report = checkouts.recover(BATCH).await.map_err(|e| e.to_string())?;
                if report.resumed > 0 {
                    tracing::info!(?report, "recovery pass");
                }
                let refunded = checkouts
                    .reconcile(BATCH)
                    .await
                    .map_err(|e| e.to_string())?;
                if refunded > 0 {
                    tracing::warn!(refunded, "refunded charges of failed checkouts");
                }
                Ok(())
            }
        },
    );
    let checkouts = state.services.checkouts.clone();
    every(
        &mut set,
        Duration::from_secs(settings.checkout.sweep_interval_secs),
        "sweeper",
        move || {
            let checkouts = checkouts.clone();
            async move {
                let released = checkouts.sweep(BATCH).await.map_err(|e| e.to_string())?;
                if released > 0 {
                    tracing::info!(released, "released expired holds");
                }
                Ok(())
            }
        },
    );
    // Jobs the cluster runs once per period, whichever node takes the lease.
    let jobs = shop::jobs::Jobs::new(
        state.db.clone(),
        state.clock.clone(),
        shop::jobs::Jobs::node_name(),
    );
    tracing::info!(node = jobs.holder(), "workers started");
    let (sessions, users, links, db, clock) = (
        state.services.sessions.clone(),
        state.services.users.clone(),
        state.services.links.clone(),
        state.db.clone(),
        state.clock.clone(),
    );
    let retention = settings.retention.config();
    let sweep_period = millis(Duration::from_secs(settings.checkout.sweep_interval_secs));
    let sweep_jobs = jobs.clone();
    every(
        &mut set,
        Duration::from_secs(settings.checkout.sweep_interval_secs),
        "sessions",
        move || {
            let (sessions, users, now) = (sessions.clone(), users.clone(), clock.now());
            let (links, db, jobs) = (links.clone(), db.clone(), sweep_jobs.clone());
            async move {
                if !jobs
                    .take("sweeps", sweep_period)
                    .await
                    .map_err(|e| e.to_string())?
                {
                    return Ok(());
                }
                let ended = sessions.sweep().await.map_err(|e| e.to_string())?;
                links.sweep().await.map_err(|e| e.to_string())?;
                let swept = shop::retention::sweep(&db, &retention, now, BATCH)
                    .await
                    .map_err(|e| e.to_string())?;
                if swept.total() > 0 {
                    tracing::info!(?swept, "forgot what the retention settings no longer keep");
                }
                users
                    .forget_old_failures(now)
                    .await
                    .map_err(|e| e.to_string())?;
                if ended > 0 {
                    tracing::debug!(ended, "dropped expired sessions");
                }
                Ok(())
            }
        },
    );
    if let Ok(transport) = settings.mail_transport() {
        let outbox = state.services.outbox.clone();
        every(&mut set, MAIL_EVERY, "mail", move || {
            let (outbox, transport) = (outbox.clone(), transport.clone());
            async move {
                outbox
                    .deliver_due(&transport, 50)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(())
            }
        });
    }
    let feeds = state.services.feeds.clone();
    set.spawn(shop::feeds::worker::run_feeds(feeds, FEEDS_EVERY));
    match shop::feeds::fetch::Fetcher::new(
        shop::feeds::guard::Policy {
            allow_loopback: settings.test.fetch_loopback,
            extra_ports: settings.feeds.fetch_ports.clone(),
        },
        shop::feeds::fetch::Limits::default(),
    ) {
        Ok(fetcher) => {
            set.spawn(shop::feeds::worker::run_pictures(
                state.services.feeds.clone(),
                fetcher,
                state.services.assets.clone(),
                shop::feeds::worker::PoolConfig {
                    workers: settings.feeds.fetch_workers.max(1),
                    ..shop::feeds::worker::PoolConfig::default()
                },
            ));
        }
        Err(e) => tracing::error!(error = %e, "feed pictures will not be fetched: no HTTP client"),
    }
    let recommender = state.services.recommender.clone();
    let recommend_period = millis(Duration::from_secs(
        settings.catalog.recommend_interval_secs,
    ));
    every(
        &mut set,
        Duration::from_secs(settings.catalog.recommend_interval_secs),
        "recommendations",
        move || {
            let (recommender, jobs) = (recommender.clone(), jobs.clone());
            async move {
                if !jobs
                    .take("recommendations", recommend_period)
                    .await
                    .map_err(|e| e.to_string())?
                {
                    return Ok(());
                }
                let pairs = recommender.recompute().await.map_err(|e| e.to_string())?;
                tracing::debug!(pairs, "recomputed customers-also-bought");
                Ok(())
            }
        },
    );
    let dispatcher = dispatcher(state);
    // This node's product cache forgets what changed, on whichever node it changed.
    let catalog = state.services.catalog.clone();
    let cursor = Arc::new(tokio::sync::Mutex::new(None));
    every(&mut set, CACHE_FOLLOW_EVERY, "catalog cache", move || {
        let (catalog, cursor) = (catalog.clone(), cursor.clone());
        async move {
            let mut cursor = cursor.lock().await;
            if cursor.is_none() {
                *cursor = Some(catalog.change_cursor().await.map_err(|e| e.to_string())?);
            }
            if let Some(cursor) = cursor.as_mut() {
                catalog
                    .follow_changes(cursor)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Ok(())
        }
    });
    let clock = state.clock.clone();
    every(&mut set, DISPATCH_EVERY, "outbox", move || {
        let dispatcher = dispatcher.clone();
        let now = clock.now();
        async move {
            dispatcher
                .dispatch(now, BATCH)
                .await
                .map_err(|e| e.to_string())?;
            Ok(())
        }
    });
    Workers(set)
}

/// A period as the clock's milliseconds, a little short of it, so that the node holding a
/// job's lease can take it again on its next tick.
fn millis(period: Duration) -> i64 {
    (i64::try_from(period.as_millis()).unwrap_or(i64::MAX) * 9 / 10).max(1)
}

/// Runs `pass` now and then every `period` (at least a second apart for long periods,
/// never more often than `period`).
fn every<F, Fut>(set: &mut JoinSet<()>, period: Duration, name: &'static str, pass: F)
where
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    set.spawn(async move {
        let mut ticker = tokio::time::interval(period.max(Duration::from_millis(50)));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(error) = pass().await {
                tracing::warn!(worker = name, %error, "background pass failed");
            }
        }
    });
}
