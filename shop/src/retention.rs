//! Retention: how long the shop keeps what it no longer needs, and the sweep that forgets it.
//!
//! Everything here is data a finished process leaves behind. Nothing that is still in use is
//! touched, whatever its age:
//! - **guest carts** untouched for `carts` (an account's cart is the shopper's own list and
//!   stays; a cart that an unfinished checkout still points at stays);
//! - **checkout attempts** that ended (`confirmed` or `failed`) more than `checkouts` ago,
//!   never sooner than a day ([`MIN_CHECKOUTS`]: a retried request must find its idempotency
//!   key for at least 24 hours), and never a failed attempt whose payment reconciliation is
//!   still owed (its charge may yet have to be found and refunded). The order keeps
//!   everything a shopper or an operator needs; the stock holds stay as the inventory's
//!   audit trail;
//! - **outbox events** delivered more than `events` ago (dead letters stay until an operator
//!   replays or reads them);
//! - **feeds**: a processed feed's file (up to 8 MB) at once, since its report holds what the
//!   seller reads; the feed's row and report after `feeds`;
//! - **sent mail** after `sent_mail` (its body is already cleared when it is sent).
//!
//! Each kind is deleted in batches of `batch` rows, so no pass holds a long transaction.

use crate::clock::Millis;
use crate::db::Db;

/// A day in milliseconds.
pub const DAY: Millis = 24 * 60 * 60 * 1000;
/// The shortest time a finished checkout attempt is kept: its idempotency key must answer a
/// retried request for at least 24 hours.
pub const MIN_CHECKOUTS: Millis = DAY;

/// How long each kind of leftover is kept (milliseconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetentionConfig {
    pub carts: Millis,
    pub checkouts: Millis,
    pub events: Millis,
    pub feeds: Millis,
    pub sent_mail: Millis,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            carts: 30 * DAY,
            checkouts: 30 * DAY,
            events: 7 * DAY,
            feeds: 90 * DAY,
            sent_mail: 30 * DAY,
        }
    }
}

/// What one sweep forgot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub carts: u64,
    pub checkouts: u64,
    pub events: u64,
    pub feed_files: u64,
    pub feeds: u64,
    pub mail: u64,
}

impl Swept {
    pub fn total(&self) -> u64 {
        self.carts + self.checkouts + self.events + self.feed_files + self.feeds + self.mail
    }
}

/// Abandoned guest carts: no account, untouched since the cutoff, and no unfinished checkout
/// pointing at them. Their lines and operations go with them (`ON DELETE CASCADE`).
const CARTS: &str = "DELETE FROM carts WHERE id IN (SELECT id FROM carts c \
     WHERE c.user_id IS NULL AND c.updated_at < $1 \
     AND NOT EXISTS (SELECT 1 FROM checkouts k WHERE k.cart_id = c.id \
                     AND k.state NOT IN ('confirmed', 'failed')) \
     LIMIT $2)";

/// Finished attempts, except a failed one whose charge reconciliation still has to run (the
/// condition `Checkouts::reconcile` selects on).
const CHECKOUTS: &str = "DELETE FROM checkouts WHERE id IN (SELECT id FROM checkouts \
     WHERE state IN ('confirmed', 'failed') AND updated_at < $1 \
     AND NOT (state = 'failed' AND payment_started_at IS NOT NULL AND charge_id IS NULL \
              AND reconciled_at IS NULL) \
     LIMIT $2)";

const EVENTS: &str = "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox \
     WHERE delivered_at IS NOT NULL AND delivered_at < $1 LIMIT $2)";

/// The file of a feed processed by the cutoff (`now`: files go as soon as they are processed).
const FEED_FILES: &str = "UPDATE feeds SET body = '' WHERE id IN (SELECT id FROM feeds \
     WHERE status IN ('done', 'failed') AND finished_at <= $1 AND body <> '' LIMIT $2)";

const FEEDS: &str = "DELETE FROM feeds WHERE id IN (SELECT id FROM feeds \
     WHERE status IN ('done', 'failed') AND finished_at < $1 LIMIT $2)";

const MAIL: &str = "DELETE FROM mail_outbox WHERE id IN (SELECT id FROM mail_outbox \
     WHERE sent_at IS NOT NULL AND sent_at < $1 LIMIT $2)";

/// Forgets, as of `now`, everything older than `config` keeps; see the module's list.
#[tracing::instrument(name = "retention.sweep", skip_all)]
pub async fn sweep(
    db: &Db,
    config: &RetentionConfig,
    now: Millis,
    batch: i64,
) -> Result<Swept, sqlx::Error> {
    let batch = batch.max(1);
    Ok(Swept {
        carts: in_batches(db, CARTS, now - config.carts, batch).await?,
        checkouts: in_batches(
            db,
            CHECKOUTS,
            now - config.checkouts.max(MIN_CHECKOUTS),
            batch,
        )
        .await?,
        events: in_batches(db, EVENTS, now - config.events, batch).await?,
        feed_files: in_batches(db, FEED_FILES, now, batch).await?,
        feeds: in_batches(db, FEEDS, now - config.feeds, batch).await?,
        mail: in_batches(db, MAIL, now - config.sent_mail, batch).await?,
    })
}

/// Runs `statement` (cutoff `$1`, batch size `$2`) until a pass changes fewer rows than a
/// batch; returns the rows changed.
async fn in_batches(
    db: &Db,
    statement: &str,
    cutoff: Millis,
    batch: i64,
) -> Result<u64, sqlx::Error> {
    let mut total = 0;
    loop {
        let changed = sqlx::query(statement)
            .bind(cutoff)
            .bind(batch)
            .execute(db.pool())
            .await?
            .rows_affected();
        total += changed;
        if changed < batch as u64 {
            return Ok(total);
        }
    }
}
