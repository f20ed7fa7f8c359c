//! The simulation's side of `shop::checkout::FaultPoints`: every fault point an actor reaches
//! becomes a message to the scheduler, and the actor waits for its decision.

use futures_core::future::BoxFuture;
use shop::checkout::FaultPoints;
use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use tokio::sync::{mpsc, oneshot};

tokio::task_local! {
    /// The actor whose task this is (absent in the reservation writer's task).
    pub static ACTOR: usize;
}

/// What the scheduler tells an actor at a fault point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Go,
    /// Fail as a busy database would (inside a transaction only).
    Busy,
}

/// An actor (or the reservation writer) at a fault point. A dropped `reply` is a crash: the
/// scheduler aborts the actor's task, so the future never resumes.
#[derive(Debug)]
pub struct AtPoint {
    pub actor: Option<usize>,
    pub name: &'static str,
    /// Inside a write transaction: decided at once, never a switch to another actor.
    pub inside: bool,
    pub reply: oneshot::Sender<Decision>,
}

#[derive(Debug)]
pub struct Hooks {
    events: mpsc::UnboundedSender<AtPoint>,
    /// After the run: every point is a plain `Go`, without asking the scheduler.
    healed: AtomicBool,
    next_id: AtomicU64,
}

impl Hooks {
    pub fn new(events: mpsc::UnboundedSender<AtPoint>) -> Self {
        Self {
            events,
            healed: AtomicBool::new(false),
            next_id: AtomicU64::new(1),
        }
    }

    pub fn heal(&self) {
        self.healed.store(true, Ordering::SeqCst);
    }

    async fn ask(&self, name: &'static str, inside: bool) -> Decision {
        if self.healed.load(Ordering::SeqCst) {
            return Decision::Go;
        }
        let actor = ACTOR.try_with(|a| *a).ok();
        if actor.is_none() && !inside {
            return Decision::Go;
        }
        let (reply, decision) = oneshot::channel();
        let point = AtPoint {
            actor,
            name,
            inside,
            reply,
        };
        if self.events.send(point).is_err() {
            return Decision::Go;
        }
        match decision.await {
            Ok(d) => d,
            // Crashed: the scheduler is aborting this task; never go on.
            Err(_) => std::future::pending().await,
        }
    }
}

impl FaultPoints for Hooks {
    fn pause(&self, point: &'static str) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.ask(point, false).await;
        })
    }

    fn check(&self, point: &'static str) -> BoxFuture<'_, Result<(), sqlx::Error>> {
        Box::pin(async move {
            match self.ask(point, true).await {
                Decision::Go => Ok(()),
                Decision::Busy => Err(sqlx::Error::Database(Box::new(InjectedBusy))),
            }
        })
    }

    fn checkout_id(&self) -> Option<String> {
        Some(format!(
            "co_sim_{:05}",
            self.next_id.fetch_add(1, Ordering::SeqCst)
        ))
    }
}

/// `SQLITE_BUSY` as the driver reports it (code 5), so `shop::db::is_retryable` and every
/// caller treat it exactly as the real thing.
#[derive(Debug)]
pub struct InjectedBusy;

impl std::fmt::Display for InjectedBusy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("database is locked (injected by the simulation)")
    }
}

impl std::error::Error for InjectedBusy {}

impl sqlx::error::DatabaseError for InjectedBusy {
    fn message(&self) -> &str {
        "database is locked (injected by the simulation)"
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed("5"))
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> sqlx::error::ErrorKind {
        sqlx::error::ErrorKind::Other
    }
}
