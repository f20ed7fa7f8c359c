//! The deterministic simulation of the checkout core: one seed → one shop, one set of
//! buyers, one schedule, one set of faults, one outcome.
//!
//! How it stays deterministic: actors (buyers placing orders, the same buyer resending its key
//! after a crash or a double click, recovery workers running `recover`, `sweep` or
//! `reconcile`) are Tokio tasks, but only one runs at a time. An actor runs until it reaches a
//! fault point (`shop::checkout::FaultPoints`), where it hands control back and waits; the
//! seeded scheduler then picks who runs next, advances the virtual clock, starts new actors,
//! or crashes the one at the point (its task is aborted: its future, and any transaction it
//! holds, is dropped as a dying process's would be). Inside a write transaction the scheduler
//! only decides crash, busy or go for the actor at hand — switching there would leave SQLite's
//! write lock with a paused actor. The gateway is the payment simulator (`paysim`) in
//! process, with its own seeded faults, its backoff is zero and its breaker (wall-clock
//! cool-down) never opens, and the attempts' ids come from a counter: nothing else in the run
//! depends on wall time or on thread timing, so the database after each step is a function of
//! the seed.
//!
//! After the schedule, faults are healed, the clock is moved past every lease and hold,
//! recovery runs until nothing is left, every buyer resends its key, and the invariants of
//! docs/ARCHITECTURE.md are checked against the database and the ledger (`invariants`).

pub mod gateway;
pub mod hooks;
pub mod invariants;

use gateway::{DECLINED_CARD, SimGateway};
use hooks::{ACTOR, AtPoint, Decision, Hooks};
use indicatif::ProgressBar;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shop::cart::{CartId, Carts, Quantity};
use shop::catalog::{Catalog, Sku};
use shop::checkout::{
    CheckoutConfig, CheckoutError, CheckoutRequest, Checkouts, Email, IdempotencyKey, Placed,
};
use shop::clock::{Clock, ManualClock, Millis};
use shop::db::scratch::ScratchDb;
use shop::db::{Db, DbOptions};
use shop::payments::{CardNumber, Gateway, GatewayConfig};
use shop::resilience::Backoff;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

const GOOD_CARD: &str = "4242424242424242";
const START: Millis = 1_780_000_000_000;
/// Most sends of one key by one buyer (the first included).
const MAX_SENDS: usize = 4;
/// Most scheduling steps before the run is healed.
const MAX_STEPS: usize = 500;
/// Most recovery workers at once (two nodes' worth).
const MAX_WORKERS: usize = 2;

/// Short timings, so that the clock's jumps cross them often.
fn checkout_config() -> CheckoutConfig {
    CheckoutConfig {
        hold_ttl: Duration::from_secs(30),
        payment_hold_ttl: Duration::from_secs(120),
        lease: Duration::from_secs(10),
        settle: Duration::from_secs(20),
        crash_after: None,
        tax_mode: shop::pricing::TaxMode::Exclusive,
    }
}

/// A migrated database holding a small catalog, copied for each seed (migrating and importing
/// once instead of per seed keeps a few hundred seeds within a minute).
pub struct Template {
    scratch: ScratchDb,
    path: PathBuf,
    skus: Vec<Sku>,
}

impl Template {
    pub async fn new() -> Self {
        let scratch = ScratchDb::sqlite()
            .await
            .expect("a scratch SQLite database");
        let rows = shop::catalog::import::synthetic(4);
        shop::catalog::import::apply(&scratch.db, rows, START, &ProgressBar::hidden())
            .await
            .expect("the synthetic catalog imports");
        let skus: Vec<String> = sqlx::query_scalar("SELECT sku FROM variants ORDER BY id LIMIT 3")
            .fetch_all(scratch.db.pool())
            .await
            .expect("variants");
        // Plenty of stock while the carts are filled; each seed then sets its own.
        sqlx::query("UPDATE stock_levels SET available = 100, received = 100 + held + committed")
            .execute(scratch.db.pool())
            .await
            .expect("stock");
        // Everything into the main file, so that copying that file copies the database.
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(scratch.db.pool())
            .await
            .expect("checkpoint");
        scratch.db.close().await;
        let path = scratch
            .dir
            .as_ref()
            .expect("SQLite scratch databases live in a folder")
            .path()
            .join("emporium.db");
        Self {
            skus: skus.iter().map(|s| Sku::parse(s).expect("a SKU")).collect(),
            scratch,
            path,
        }
    }

    fn copy(&self) -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let to = dir.path().join("emporium.db");
        std::fs::copy(&self.path, &to).expect("the template copies");
        let wal = self.path.with_extension("db-wal");
        if wal.exists() {
            std::fs::copy(&wal, dir.path().join("emporium.db-wal")).expect("the WAL copies");
        }
        let _ = &self.scratch;
        (dir, format!("sqlite://{}", to.display()))
    }
}

/// How hard one seed hits the shop, drawn from the seed.
#[derive(Clone, Copy, Debug)]
struct Knobs {
    buyers: usize,
    crash_between: f64,
    crash_inside: f64,
    busy: f64,
    gateway_faults: f64,
    max_crashes: usize,
}

/// What one seed did, summed over seeds by the test.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub seeds: u64,
    pub steps: u64,
    pub crashes_between: u64,
    pub crashes_inside: u64,
    pub busy: u64,
    pub gateway_faults: BTreeMap<String, u64>,
    pub confirmed: u64,
    pub failed: BTreeMap<String, u64>,
    pub clock_jumps: u64,
    pub resends: u64,
    /// Captured charges in the ledger, and how many of them were refunded.
    pub charges: u64,
    pub refunds: u64,
}

impl Stats {
    pub fn add(&mut self, other: &Stats) {
        self.seeds += other.seeds;
        self.steps += other.steps;
        self.crashes_between += other.crashes_between;
        self.crashes_inside += other.crashes_inside;
        self.busy += other.busy;
        self.confirmed += other.confirmed;
        self.clock_jumps += other.clock_jumps;
        self.resends += other.resends;
        self.charges += other.charges;
        self.refunds += other.refunds;
        for (k, v) in &other.gateway_faults {
            *self.gateway_faults.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.failed {
            *self.failed.entry(k.clone()).or_default() += v;
        }
    }
}

/// One seed's result.
pub struct Run {
    pub seed: u64,
    pub stats: Stats,
    pub trace: Vec<String>,
    pub violations: Vec<String>,
}

impl Run {
    /// A stable digest of the schedule and the outcome, to compare two runs of one seed.
    pub fn digest(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::hash::DefaultHasher::new();
        self.trace.hash(&mut h);
        self.violations.hash(&mut h);
        h.finish()
    }
}

/// A shopper with a cart and one idempotency key.
struct Buyer {
    key: IdempotencyKey,
    request: CheckoutRequest,
    /// Every finished answer a send of the key got: they must all be the same.
    answers: Vec<(u16, String)>,
    sends: usize,
    /// Tasks sending the key now.
    live: usize,
    /// A double click waiting to happen.
    twin: bool,
}

enum Job {
    Recover,
    Sweep,
    Reconcile,
}

enum Role {
    Buyer(usize),
    Worker,
}

struct Actor {
    name: String,
    role: Role,
    task: Option<JoinHandle<String>>,
    /// Where it waits, and how to tell it to go on.
    parked: Option<(&'static str, oneshot::Sender<Decision>)>,
}

/// What the scheduler may do next.
#[derive(Clone, Copy, Debug)]
enum Choice {
    Resume(usize),
    Start(usize),
    Resend(usize),
    Worker,
    Clock,
}

struct Sim {
    rng: StdRng,
    knobs: Knobs,
    events: mpsc::UnboundedReceiver<AtPoint>,
    hooks: Arc<Hooks>,
    gateway: Arc<SimGateway>,
    checkouts: Checkouts,
    clock: ManualClock,
    db: Db,
    buyers: Vec<Buyer>,
    actors: Vec<Actor>,
    /// Each buyer's outcome as it was reported back to its task.
    outcomes: mpsc::UnboundedReceiver<(usize, Result<Placed, CheckoutError>)>,
    outcome_tx: mpsc::UnboundedSender<(usize, Result<Placed, CheckoutError>)>,
    trace: Vec<String>,
    stats: Stats,
    crashes: usize,
    violations: Vec<String>,
}

/// Runs one seed from a fresh copy of the template.
pub async fn run_seed(template: &Template, seed: u64) -> Run {
    let mut rng = StdRng::seed_from_u64(seed);
    let knobs = Knobs {
        buyers: rng.random_range(3..=8),
        crash_between: [0.0, 0.02, 0.06][rng.random_range(0..3)],
        crash_inside: [0.0, 0.02, 0.05][rng.random_range(0..3)],
        busy: [0.0, 0.05, 0.2][rng.random_range(0..3)],
        gateway_faults: [0.0, 0.1, 0.3, 0.6][rng.random_range(0..4)],
        max_crashes: 6,
    };
    let (_dir, url) = template.copy();
    let db = Db::connect(
        &url,
        &DbOptions {
            max_connections: 8,
            ..DbOptions::default()
        },
    )
    .await
    .expect("the copy opens");
    let clock = ManualClock::starting_at(START);
    let catalog = Catalog::new(db.clone());
    let carts = Carts::new(db.clone(), catalog);

    // Carts first (while stock is plentiful), then the seed's scarce stock.
    let mut buyers = Vec::new();
    for b in 0..knobs.buyers {
        // A fixed id rather than `Carts::create`'s random one: ids order some queries.
        let cart = CartId::parse(&format!("{:032x}", 0x00c0_ffee_0000_u64 + b as u64)).expect("id");
        sqlx::query("INSERT INTO carts (id, created_at, updated_at) VALUES ($1, $2, $2)")
            .bind(cart.as_str())
            .bind(clock.now())
            .execute(db.pool())
            .await
            .expect("a cart");
        let first = rng.random_range(0..template.skus.len());
        let mut lines = vec![first];
        if rng.random_bool(0.3) {
            lines.push((first + 1) % template.skus.len());
        }
        for sku in lines {
            let q = Quantity::new(rng.random_range(1..=2)).expect("quantity");
            carts
                .add(&cart, &template.skus[sku], q, None, clock.now())
                .await
                .expect("the cart fills");
        }
        let card = if rng.random_bool(0.15) {
            DECLINED_CARD
        } else {
            GOOD_CARD
        };
        buyers.push(Buyer {
            key: IdempotencyKey::parse(&format!("sim-key-{b:04}")).expect("key"),
            request: CheckoutRequest {
                cart,
                email: Email::parse(&format!("buyer{b}@example.com")).expect("email"),
                address: shop::testing::us_address(),
                card: CardNumber::parse(card).expect("card"),
                expected_total: None,
                user: None,
                shipping: Vec::new(),
            },
            answers: Vec::new(),
            sends: 0,
            live: 0,
            twin: rng.random_bool(0.25),
        });
    }
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT s.variant_id, s.warehouse_id FROM stock_levels s JOIN variants v \
         ON v.id = s.variant_id ORDER BY s.variant_id, s.warehouse_id",
    )
    .fetch_all(db.pool())
    .await
    .expect("stock rows");
    for (variant, warehouse) in rows {
        let units: i64 = rng.random_range(0..=3);
        sqlx::query(
            "UPDATE stock_levels SET available = $3, received = $3 + held + committed \
             WHERE variant_id = $1 AND warehouse_id = $2",
        )
        .bind(variant)
        .bind(warehouse)
        .bind(units)
        .execute(db.pool())
        .await
        .expect("stock");
    }
    let initial = invariants::received(&db).await;

    let (event_tx, events) = mpsc::unbounded_channel();
    let hooks = Arc::new(Hooks::new(event_tx));
    let gateway = Arc::new(SimGateway::new(seed, knobs.gateway_faults, clock.clone()));
    let client = Gateway::with_transport(
        GatewayConfig {
            attempts: 3,
            // No sleeping: the simulation's time is the virtual clock.
            backoff: Backoff {
                base: Duration::ZERO,
                max: Duration::ZERO,
            },
            // The breaker's cool-down runs on the wall clock, which would make runs differ;
            // it is tested on its own (resilience) and by the gateway tests.
            breaker_threshold: u32::MAX,
            ..GatewayConfig::new("http://gateway.sim.invalid")
        },
        gateway.clone(),
    );
    let checkouts = Checkouts::simulated(
        db.clone(),
        client,
        Arc::new(clock.clone()),
        checkout_config(),
        hooks.clone(),
    );
    let (outcome_tx, outcomes) = mpsc::unbounded_channel();
    let mut sim = Sim {
        rng,
        knobs,
        events,
        hooks,
        gateway,
        checkouts,
        clock,
        db,
        buyers,
        actors: Vec::new(),
        outcomes,
        outcome_tx,
        trace: Vec::new(),
        stats: Stats {
            seeds: 1,
            ..Stats::default()
        },
        crashes: 0,
        violations: Vec::new(),
    };
    sim.note(format!("knobs {knobs:?}"));
    sim.schedule().await;
    sim.quiesce().await;
    let mut violations = std::mem::take(&mut sim.violations);
    let answers = sim.answers();
    violations
        .extend(invariants::check(&sim.db, &sim.gateway, &initial, &mut sim.stats, &answers).await);
    let outcome = format!(
        "outcome: {} confirmed, failed {:?}",
        sim.stats.confirmed, sim.stats.failed
    );
    sim.note(outcome);
    sim.stats.gateway_faults = sim
        .gateway
        .faults()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let charges = sim.gateway.charges();
    sim.stats.charges = charges.iter().filter(|c| c.succeeded()).count() as u64;
    sim.stats.refunds = charges.iter().filter(|c| c.refunded > 0).count() as u64;
    sim.db.close().await;
    Run {
        seed,
        stats: sim.stats,
        trace: sim.trace,
        violations,
    }
}

impl Sim {
    fn note(&mut self, what: String) {
        let t = (self.clock.now() - START) / 1000;
        self.trace.push(format!("t+{t}s {what}"));
    }

    fn answers(&self) -> Vec<(String, Vec<(u16, String)>)> {
        self.buyers
            .iter()
            .map(|b| (b.key.as_str().to_string(), b.answers.clone()))
            .collect()
    }

    /// The seeded schedule: until every buyer has its answer (or gave up) and nobody waits.
    async fn schedule(&mut self) {
        for _ in 0..MAX_STEPS {
            let choices = self.choices();
            if choices.is_empty() {
                return;
            }
            let total: u32 = choices.iter().map(|(_, w)| w).sum();
            let mut pick = self.rng.random_range(0..total);
            let mut chosen = choices[0].0;
            for (c, w) in &choices {
                if pick < *w {
                    chosen = *c;
                    break;
                }
                pick -= w;
            }
            self.stats.steps += 1;
            match chosen {
                Choice::Resume(i) => self.resume(i).await,
                Choice::Start(b) | Choice::Resend(b) => self.send(b).await,
                Choice::Worker => self.worker().await,
                Choice::Clock => self.tick(),
            }
        }
        self.note(format!("step limit {MAX_STEPS} reached"));
    }

    /// What may happen now, with weights. Workers and the clock only while buyers are busy.
    fn choices(&self) -> Vec<(Choice, u32)> {
        let mut choices = Vec::new();
        for (i, a) in self.actors.iter().enumerate() {
            if a.parked.is_some() {
                choices.push((Choice::Resume(i), 3));
            }
        }
        for (b, buyer) in self.buyers.iter().enumerate() {
            if buyer.sends == 0 {
                choices.push((Choice::Start(b), 2));
            } else if buyer.answers.is_empty() && buyer.live == 0 && buyer.sends < MAX_SENDS {
                choices.push((Choice::Resend(b), 1));
            } else if buyer.twin && buyer.live > 0 {
                choices.push((Choice::Resend(b), 2));
            }
        }
        if choices.is_empty() {
            return choices;
        }
        let workers = self
            .actors
            .iter()
            .filter(|a| matches!(a.role, Role::Worker) && a.task.is_some())
            .count();
        // Often enough that a paused request regularly finds its lease run out and a worker
        // driving its attempt: the races recovery exists for.
        if workers < MAX_WORKERS {
            choices.push((Choice::Worker, 2));
        }
        choices.push((Choice::Clock, 2));
        choices
    }

    fn tick(&mut self) {
        let c = checkout_config();
        let jumps = [
            Duration::from_millis(200),
            Duration::from_secs(3),
            c.lease + Duration::from_secs(1),
            c.settle + Duration::from_secs(1),
            c.hold_ttl + Duration::from_secs(1),
            c.payment_hold_ttl + Duration::from_secs(1),
        ];
        let by = jumps[self.rng.random_range(0..jumps.len())];
        self.clock.advance(ms(by));
        self.stats.clock_jumps += 1;
        self.note(format!("clock +{by:?}"));
    }

    /// A buyer sends its key (first time, after a crash or an error, a poll, or a double
    /// click while the first request still runs).
    async fn send(&mut self, b: usize) {
        let buyer = &mut self.buyers[b];
        buyer.sends += 1;
        buyer.live += 1;
        if buyer.sends > 1 {
            self.stats.resends += 1;
        }
        if buyer.live > 1 {
            buyer.twin = false;
        }
        let (key, request) = (buyer.key.clone(), buyer.request.clone());
        let checkouts = self.checkouts.clone();
        let outcomes = self.outcome_tx.clone();
        let i = self.actors.len();
        let name = format!("buyer{b}#{}", self.buyers[b].sends);
        let task = tokio::spawn(ACTOR.scope(i, async move {
            let placed = checkouts.place_order(&key, &request).await;
            let said = describe(&placed);
            let _ = outcomes.send((b, placed));
            said
        }));
        self.actors.push(Actor {
            name,
            role: Role::Buyer(b),
            task: Some(task),
            parked: None,
        });
        self.note(format!(
            "{} sends {}",
            self.actors[i].name,
            self.buyers[b].key.as_str()
        ));
        self.run(i).await;
    }

    /// A recovery worker runs one pass of one of its jobs.
    async fn worker(&mut self) {
        let job = match self.rng.random_range(0..3) {
            0 => Job::Recover,
            1 => Job::Sweep,
            _ => Job::Reconcile,
        };
        let checkouts = self.checkouts.clone();
        let i = self.actors.len();
        let name = match job {
            Job::Recover => "recover",
            Job::Sweep => "sweep",
            Job::Reconcile => "reconcile",
        };
        let task = tokio::spawn(ACTOR.scope(i, async move {
            match job {
                Job::Recover => format!("{:?}", checkouts.recover(100).await),
                Job::Sweep => format!("{:?}", checkouts.sweep(100).await),
                Job::Reconcile => format!("{:?}", checkouts.reconcile(100).await),
            }
        }));
        self.actors.push(Actor {
            name: format!("{name}#{i}"),
            role: Role::Worker,
            task: Some(task),
            parked: None,
        });
        self.note(format!("{name}#{i} starts"));
        self.run(i).await;
    }

    /// Lets a parked actor go on, or crashes it where it stands.
    async fn resume(&mut self, i: usize) {
        let Some((point, reply)) = self.actors[i].parked.take() else {
            return;
        };
        if self.crashes < self.knobs.max_crashes && self.rng.random_bool(self.knobs.crash_between) {
            self.stats.crashes_between += 1;
            drop(reply);
            self.crash(i, point).await;
            return;
        }
        self.note(format!("{} resumes at {point}", self.actors[i].name));
        let _ = reply.send(Decision::Go);
        self.run(i).await;
    }

    /// Runs actor `i` (alone) until it parks at a pause point, finishes, or is crashed inside
    /// a transaction. Points inside transactions (its own, or the reservation writer's on its
    /// behalf) are decided here and now.
    async fn run(&mut self, i: usize) {
        let Some(mut task) = self.actors[i].task.take() else {
            return;
        };
        loop {
            tokio::select! {
                biased;
                point = self.events.recv() => {
                    let Some(point) = point else { return };
                    if !point.inside {
                        self.actors[i].parked = Some((point.name, point.reply));
                        self.actors[i].task = Some(task);
                        return;
                    }
                    let own = point.actor == Some(i);
                    if own
                        && self.crashes < self.knobs.max_crashes
                        && self.rng.random_bool(self.knobs.crash_inside)
                    {
                        self.stats.crashes_inside += 1;
                        drop(point.reply);
                        self.actors[i].task = Some(task);
                        self.crash(i, point.name).await;
                        return;
                    }
                    if self.rng.random_bool(self.knobs.busy) {
                        self.stats.busy += 1;
                        self.note(format!("{}: busy at {}", self.actors[i].name, point.name));
                        let _ = point.reply.send(Decision::Busy);
                    } else {
                        let _ = point.reply.send(Decision::Go);
                    }
                }
                done = &mut task => {
                    self.finished(i, done);
                    return;
                }
            }
        }
    }

    /// The actor dies here: its task is aborted and waited for, so whatever it held (an open
    /// transaction, a pooled connection) is dropped before anyone else runs.
    async fn crash(&mut self, i: usize, point: &'static str) {
        self.crashes += 1;
        self.note(format!("{} CRASHES at {point}", self.actors[i].name));
        if let Some(task) = self.actors[i].task.take() {
            task.abort();
            let _ = task.await;
        }
        if let Role::Buyer(b) = self.actors[i].role {
            self.buyers[b].live -= 1;
        }
    }

    fn finished(&mut self, i: usize, done: Result<String, tokio::task::JoinError>) {
        match done {
            Ok(said) => self.note(format!("{}: {said}", self.actors[i].name)),
            Err(e) => {
                let what = format!("{} panicked: {e}", self.actors[i].name);
                self.violations.push(what.clone());
                self.note(what);
            }
        }
        while let Ok((b, placed)) = self.outcomes.try_recv() {
            if let Ok(Placed::Answer { status, body, .. }) = placed {
                self.buyers[b].answers.push((status, body));
            }
        }
        if let Role::Buyer(b) = self.actors[i].role {
            self.buyers[b].live -= 1;
        }
    }

    /// Heals every fault, lets parked actors finish, runs recovery past every lease and hold,
    /// and has every buyer send its key again: each must now get a finished answer.
    async fn quiesce(&mut self) {
        self.hooks.heal();
        self.gateway.heal();
        self.note("healed".into());
        for i in 0..self.actors.len() {
            if let Some((_, reply)) = self.actors[i].parked.take() {
                let _ = reply.send(Decision::Go);
                if let Some(task) = self.actors[i].task.take() {
                    let done = task.await;
                    self.finished(i, done);
                }
            }
        }
        self.recover_all().await;
        for round in 0..2 {
            for b in 0..self.buyers.len() {
                let buyer = &self.buyers[b];
                let placed = self.checkouts.place_order(&buyer.key, &buyer.request).await;
                let said = describe(&placed);
                self.note(format!("final send {round} of buyer{b}: {said}"));
                match placed {
                    Ok(Placed::Answer { status, body, .. }) => {
                        self.buyers[b].answers.push((status, body));
                    }
                    other => self.violations.push(format!(
                        "buyer{b}'s key has no finished answer after quiescence: {}",
                        describe(&other)
                    )),
                }
            }
            self.recover_all().await;
        }
    }

    /// Recovery, the sweeper and reconciliation, with the clock past every lease, hold and
    /// settle window, until a pass finds nothing to do.
    async fn recover_all(&mut self) {
        let c = checkout_config();
        for _ in 0..6 {
            self.clock
                .advance(ms(c.payment_hold_ttl + c.hold_ttl + c.lease + c.settle));
            let recovered = self.checkouts.recover(1000).await;
            let swept = self.checkouts.sweep(1000).await;
            let reconciled = self.checkouts.reconcile(1000).await;
            self.note(format!(
                "quiescence: recover {recovered:?}, sweep {swept:?}, reconcile {reconciled:?}"
            ));
            match (recovered, swept, reconciled) {
                (Ok(r), Ok(0), Ok(0)) if r.resumed == 0 => return,
                (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                    self.violations
                        .push(format!("recovery failed on a healthy system: {e}"));
                }
                _ => {}
            }
        }
    }
}

fn describe(placed: &Result<Placed, CheckoutError>) -> String {
    match placed {
        Ok(Placed::Answer { status, body, .. }) => {
            let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
            let what = v["error"].as_str().or(v["status"].as_str()).unwrap_or("?");
            format!("answer {status} {what}")
        }
        Ok(Placed::Pending { state, .. }) => format!("pending ({})", state.as_str()),
        Ok(Placed::InFlight { state, .. }) => format!("in flight ({})", state.as_str()),
        Err(e) => format!("error: {e}"),
    }
}

fn ms(d: Duration) -> Millis {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
