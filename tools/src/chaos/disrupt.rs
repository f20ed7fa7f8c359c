//! The chaos run's disruptions. Each starts when the state it is meant to hit is reached (polled
//! for, never hoped for after a sleep), and the run checks that it was:
//!
//! - **a node killed mid-sale with attempts in flight.** A few buyers send their checkouts
//!   straight to the node that will die, so the run knows which attempts are that node's. Once
//!   the sale is under way and one of those attempts is claimed and unfinished, the node gets
//!   SIGKILL. The attempts whose requests died with it and that the database still shows
//!   unfinished were in flight there; at the end of the run each must have been taken over by
//!   recovery and ended.
//! - **the store black-holed, then killed, while pages were served.** The object store gets
//!   SIGSTOP (it accepts connections and never answers) and stays frozen until every node has
//!   noticed (its breaker open: pages show only the pictures the node holds) and shoppers have
//!   been served pages that way, and at least for the outage asked for; once thawed, every
//!   node must show every picture again. Then it gets SIGKILL (connections refused), until the
//!   same has been seen again; it stays dead for the rest of the run.

use super::invariants::Check;
use super::{Chaos, checkout_body, traffic};
use crate::loadgen::{self, Progress};
use anyhow::Context;
use shop::db::Db;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long the run waits for a state a disruption needs before it says the state never came.
const STATE_LIMIT: Duration = Duration::from_secs(120);

/// How often a wanted state is looked for.
const POLL: Duration = Duration::from_millis(50);

/// How often the moment to kill is looked for: an attempt is in flight for milliseconds.
const POLL_KILL: Duration = Duration::from_millis(5);

/// Buyers sending their checkouts straight to the node that will be killed.
const BUYERS_ON_VICTIM: usize = 6;

/// Product pages shoppers must be served while every node has noticed the outage before it
/// ends.
const PAGES_IN_OUTAGE: usize = 20;

/// What the disruptions did.
#[derive(Debug, Default)]
pub struct Disrupted {
    pub story: Vec<String>,
    pub checks: Vec<Check>,
    /// The checkouts the killed node was driving when it died (by idempotency key), to be
    /// checked once the run has settled ([`taken_over`]).
    pub in_flight_at_kill: Vec<String>,
}

/// Kills a node once the sale is under way and the node is driving checkouts, and watches it
/// come back; then freezes the store while shoppers browse, thaws it, and kills it.
pub async fn disrupt(
    c: Chaos,
    db: Db,
    shelf_sku: String,
    progress: Arc<Progress>,
    shoppers: Arc<traffic::Traffic>,
    http: reqwest::Client,
) -> anyhow::Result<Disrupted> {
    let mut out = Disrupted::default();
    progress.opened.notified().await;
    if let Some((pid, addr)) = c.kill() {
        kill_mid_sale(&c, &db, &shelf_sku, &progress, &http, pid, addr, &mut out).await?;
    }
    if let Some(pid) = c.store_pid
        && !c.store_outage.is_zero()
    {
        for outage in traffic::Outage::ALL {
            store_outage(&c, pid, outage, &shoppers, &http, &mut out).await?;
        }
    }
    Ok(out)
}

/// The checkouts of the buyers aimed at the node that will be killed.
#[derive(Debug, Default)]
struct OnVictim {
    /// Keys of checkouts sent to the node and not answered yet.
    waiting: Mutex<HashSet<String>>,
    /// Keys whose request ended without an answer (the node died under it).
    cut_off: Mutex<HashSet<String>>,
    stop: AtomicBool,
}

impl OnVictim {
    fn waiting(&self) -> HashSet<String> {
        self.waiting.lock().map(|w| w.clone()).unwrap_or_default()
    }

    fn cut_off(&self) -> HashSet<String> {
        self.cut_off.lock().map(|w| w.clone()).unwrap_or_default()
    }
}

/// The prefix of the keys of the buyers aimed at the victim.
fn victim_prefix() -> String {
    format!("victim-{}-", std::process::id())
}

/// Buyers that fill a cart through the proxy and send its checkout straight to `node`, one
/// after another, until told to stop or the node dies under one of them.
fn buy_on(
    node: SocketAddr,
    c: &Chaos,
    sku: &str,
    http: &reqwest::Client,
    on: &Arc<OnVictim>,
) -> tokio::task::JoinSet<()> {
    let mut buyers = tokio::task::JoinSet::new();
    for b in 0..BUYERS_ON_VICTIM {
        let (shop, sku, http, on) = (
            c.target.shop.clone(),
            sku.to_string(),
            http.clone(),
            on.clone(),
        );
        buyers.spawn(async move {
            for n in 0_u64.. {
                if on.stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(cart) = loadgen::new_cart(&http, &shop, &sku).await else {
                    return;
                };
                let key = format!("{}{b}-{n}", victim_prefix());
                let body = checkout_body(&cart, &format!("{key}@example.com"));
                if let Ok(mut waiting) = on.waiting.lock() {
                    waiting.insert(key.clone());
                }
                let answer = http
                    .post(format!("http://{node}/api/v1/checkouts"))
                    .header("Idempotency-Key", &key)
                    .json(&body)
                    .send()
                    .await;
                if let Ok(mut waiting) = on.waiting.lock() {
                    waiting.remove(&key);
                }
                if answer.is_err() {
                    // Not resent: the attempt is left to recovery, which is what is checked.
                    if let Ok(mut cut_off) = on.cut_off.lock() {
                        cut_off.insert(key);
                    }
                    return;
                }
            }
        });
    }
    buyers
}

/// Of the checkouts with these keys, those the database shows claimed and not ended.
async fn unfinished(db: &Db, keys: &HashSet<String>) -> anyhow::Result<HashSet<String>> {
    let open: Vec<String> = sqlx::query_scalar(
        "SELECT idempotency_key FROM checkouts \
         WHERE idempotency_key LIKE $1 AND state NOT IN ('confirmed', 'failed')",
    )
    .bind(format!("{}%", victim_prefix()))
    .fetch_all(db.pool())
    .await?;
    Ok(open.into_iter().filter(|k| keys.contains(k)).collect())
}

#[allow(clippy::too_many_arguments)]
async fn kill_mid_sale(
    c: &Chaos,
    db: &Db,
    sku: &str,
    progress: &Progress,
    http: &reqwest::Client,
    pid: u32,
    addr: SocketAddr,
    out: &mut Disrupted,
) -> anyhow::Result<()> {
    let on = Arc::new(OnVictim::default());
    let mut buyers = buy_on(addr, c, sku, http, &on);

    // The moment: a tenth of the sale's buyers answered (the sale is under way, whatever its
    // pace) and one of the node's own checkouts claimed and unfinished.
    let answered = || progress.answered.load(Ordering::Relaxed);
    let looking = Instant::now();
    let moment = loop {
        if answered() >= c.buyers {
            break Err(format!("the sale ended first ({} answered)", answered()));
        }
        if looking.elapsed() > STATE_LIMIT {
            break Err(format!(
                "not within {STATE_LIMIT:?} ({} of {} buyers answered)",
                answered(),
                c.buyers
            ));
        }
        if answered() >= c.buyers / 10 {
            let waiting = on.waiting();
            if !unfinished(db, &waiting).await?.is_empty() {
                break Ok(waiting);
            }
        }
        tokio::time::sleep(POLL_KILL).await;
    };
    let waiting = match moment {
        Ok(waiting) => waiting,
        Err(why) => {
            on.stop.store(true, Ordering::SeqCst);
            while buyers.join_next().await.is_some() {}
            out.checks.push(Check::holds(
                "kill: the node was killed mid-sale with checkouts in flight",
                format!("no kill: {why}"),
                false,
            ));
            return Ok(());
        }
    };
    let sale_answered = answered();
    signal("KILL", pid).await?;
    let killed = Instant::now();
    on.stop.store(true, Ordering::SeqCst);

    // The node is dead once every request it had has ended; from then on nothing moves its
    // attempts until their lease runs out, so the database shows what it left in flight.
    let ended = poll(STATE_LIMIT, || {
        let still = on.waiting();
        let all_ended = waiting.iter().all(|k| !still.contains(k));
        async move { Ok(all_ended) }
    })
    .await?;
    let cut_off = on.cut_off();
    let in_flight = unfinished(db, &cut_off).await?;
    while buyers.join_next().await.is_some() {}
    out.story.push(format!(
        "node {addr} (pid {pid}) SIGKILLed when {sale_answered} of {} buyers had their answer, \
         driving {} checkout(s) of its own buyers ({} cut off)",
        c.buyers,
        in_flight.len(),
        cut_off.len()
    ));
    out.checks.push(Check::holds(
        "kill: the node was killed mid-sale with checkouts in flight",
        format!(
            "{sale_answered} of {} buyers answered; {} attempt(s) left in flight{}",
            c.buyers,
            in_flight.len(),
            if ended.is_some() {
                ""
            } else {
                "; its requests never ended"
            }
        ),
        sale_answered < c.buyers && !in_flight.is_empty() && ended.is_some(),
    ));
    out.in_flight_at_kill = in_flight.into_iter().collect();

    let back = poll(Duration::from_secs(60), || async move {
        Ok(http
            .get(format!("http://{addr}/readyz"))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success()))
    })
    .await?;
    out.checks.push(Check::holds(
        "kill: the killed node is restarted and ready within 60 s",
        match back {
            Some(_) => format!("after {:.1} s", killed.elapsed().as_secs_f64()),
            None => "not back".into(),
        },
        back.is_some(),
    ));
    Ok(())
}

/// Whether every attempt the killed node was driving was taken over by recovery (the node
/// could not finish it, and nobody else may before its lease runs out) and has ended. Run
/// once the run has settled.
pub async fn taken_over(db: &Db, keys: &[String]) -> anyhow::Result<Check> {
    let mut taken = 0;
    let mut ended = 0;
    for key in keys {
        let (state, recoveries): (String, i64) = sqlx::query_as(
            "SELECT state, recovery_attempts FROM checkouts WHERE idempotency_key = $1",
        )
        .bind(key)
        .fetch_one(db.pool())
        .await
        .with_context(|| format!("the killed node's checkout {key} is gone"))?;
        taken += usize::from(recoveries > 0);
        ended += usize::from(state == "confirmed" || state == "failed");
    }
    Ok(Check::holds(
        "kill: recovery took over and ended every checkout the killed node left in flight",
        format!("{taken} taken over, {ended} ended, of {}", keys.len()),
        !keys.is_empty() && taken == keys.len() && ended == keys.len(),
    ))
}

/// Each node's image store breaker, from its `/readyz`: `true` while it shows pictures.
async fn pictures_shown(http: &reqwest::Client, nodes: &[SocketAddr]) -> Vec<Option<bool>> {
    let mut shown = Vec::with_capacity(nodes.len());
    for node in nodes {
        let status = async {
            let ready: serde_json::Value = http
                .get(format!("http://{node}/readyz"))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            ready["components"]["assets"]["status"]
                .as_str()
                .map(|s| s == "up")
        };
        shown.push(status.await);
    }
    shown
}

async fn store_outage(
    c: &Chaos,
    pid: u32,
    outage: traffic::Outage,
    shoppers: &traffic::Traffic,
    http: &reqwest::Client,
    out: &mut Disrupted,
) -> anyhow::Result<()> {
    let name = outage.name();
    signal(
        match outage {
            traffic::Outage::BlackHoled => "STOP",
            traffic::Outage::Killed => "KILL",
        },
        pid,
    )
    .await?;
    shoppers.store_out(outage);
    let started = Instant::now();
    // Every node notices on its own (its probe or a shopper's picture request fails).
    let noticed = poll(STATE_LIMIT, || async move {
        Ok(pictures_shown(http, &c.nodes)
            .await
            .iter()
            .all(|s| *s == Some(false)))
    })
    .await?;
    let pages = || shoppers.tally().outages[outage as usize].pages.ok;
    let before = pages();
    let served = match noticed {
        Some(_) => {
            poll(STATE_LIMIT, || async move {
                Ok(pages() >= before + PAGES_IN_OUTAGE && started.elapsed() >= c.store_outage)
            })
            .await?
        }
        None => None,
    };
    let after_noticed = pages() - before;
    out.story.push(format!(
        "object store (pid {pid}) {name} ({}) for {:.1} s: every node switched to the pictures \
         it holds {}, {after_noticed} pages served after that{}",
        match outage {
            traffic::Outage::BlackHoled => "SIGSTOP",
            traffic::Outage::Killed => "SIGKILL",
        },
        started.elapsed().as_secs_f64(),
        match noticed {
            Some(after) => format!("after {:.1} s", after.as_secs_f64()),
            None => "NEVER".into(),
        },
        match outage {
            traffic::Outage::BlackHoled => ", then thawed",
            traffic::Outage::Killed => "; it stays dead for the rest of the run",
        }
    ));
    out.checks.push(Check::holds(
        format!("store {name}: every node noticed and kept serving pages"),
        format!(
            "{}; {after_noticed} pages served after",
            if noticed.is_some() {
                "every node noticed"
            } else {
                "not every node noticed"
            }
        ),
        noticed.is_some() && served.is_some(),
    ));
    if outage == traffic::Outage::Killed {
        return Ok(());
    }

    signal("CONT", pid).await?;
    shoppers.store_back();
    // Thawed: each node's probe (or a shopper's request) closes its breaker again.
    let thawed = Instant::now();
    let back = poll(STATE_LIMIT, || async move {
        Ok(pictures_shown(http, &c.nodes)
            .await
            .iter()
            .all(|s| *s == Some(true)))
    })
    .await?;
    out.checks.push(Check::holds(
        format!("store {name}: every node shows every picture again once it answers"),
        match back {
            Some(_) => format!("after {:.1} s", thawed.elapsed().as_secs_f64()),
            None => format!("not within {STATE_LIMIT:?}"),
        },
        back.is_some(),
    ));
    Ok(())
}

/// Polls `reached` until it says yes (how long that took) or `limit` passes (`None`).
async fn poll<F, Fut>(limit: Duration, mut reached: F) -> anyhow::Result<Option<Duration>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let started = Instant::now();
    loop {
        if reached().await? {
            return Ok(Some(started.elapsed()));
        }
        if started.elapsed() > limit {
            return Ok(None);
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn signal(name: &str, pid: u32) -> anyhow::Result<()> {
    let status = tokio::process::Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .await
        .context("cannot run kill")?;
    anyhow::ensure!(status.success(), "kill -{name} {pid} failed");
    Ok(())
}
