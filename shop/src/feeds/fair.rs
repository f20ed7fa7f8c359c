//! Sharing the queues fairly between sellers: the picture queue is taken a seller at a time,
//! in turns, and each seller may fill only so much of either queue.
//!
//! Invariants:
//! - Every seller with due pictures is served within a few calls to [`Feeds::take`],
//!   whatever another seller's backlog: the queue is walked seller by seller from where the
//!   last call stopped (a cursor per node), not oldest row first.
//! - Finding the sellers and their due pictures reads one index entry per seller plus each
//!   served seller's few oldest rows (`image_fetches_fair`), never a seller's whole line.
//! - A seller has at most `seller_feeds` feeds waiting and `seller_pictures` pictures queued;
//!   past that a feed is refused at the door, a feed's pictures past it are reported on
//!   their rows (the feed sent again later queues them), never dropped without a word, and a
//!   failed picture's retry is refused with the limit.

use super::store::{FeedError, Feeds, Job};
use crate::catalog::{ProductId, SellerId};
use crate::clock::Millis;
use std::sync::atomic::Ordering;

/// A due picture fetch as the queue holds it.
type Row = (i64, i64, i64, String, String, i64, i64, i64);

impl Feeds {
    /// Takes up to `limit` due fetches, seller by seller in turns from where the last call
    /// stopped: each seller gets an equal share of the call (one each when more sellers than
    /// places wait), oldest first within a seller, at most one per host per call and none
    /// from the hosts in `busy`. Each is leased to this worker by a conditional update, so
    /// two nodes never fetch the same row at once.
    pub async fn take(&self, limit: i64, busy: &[String]) -> Result<Vec<Job>, sqlx::Error> {
        let now = self.clock.now();
        // A call looks at no more sellers than the old oldest-first scan read rows.
        let sellers = self.waiting_sellers(limit * 4).await?;
        let share = (limit + sellers.len() as i64 - 1) / (sellers.len() as i64).max(1);
        let mut jobs: Vec<Job> = Vec::new();
        for seller in sellers {
            if jobs.len() as i64 >= limit {
                break;
            }
            self.cursor.store(seller, Ordering::Relaxed);
            let mut theirs = 0;
            for job in self.due_of(seller, now, share.max(1) * 4).await? {
                if theirs >= share || jobs.len() as i64 >= limit {
                    break;
                }
                // At most one new fetch per host per call: the caller's per-server limits
                // count what is in flight, and see this one before the next call.
                if busy.contains(&job.host) || jobs.iter().any(|j| j.host == job.host) {
                    continue;
                }
                if self.lease(&job, now).await? {
                    theirs += 1;
                    jobs.push(job);
                }
            }
        }
        Ok(jobs)
    }

    /// Up to `max` sellers with queued pictures, in turn order: those after the cursor, then
    /// from the start again up to it.
    async fn waiting_sellers(&self, max: i64) -> Result<Vec<i64>, sqlx::Error> {
        let after = self.cursor.load(Ordering::Relaxed);
        let mut sellers = self.sellers_after(after, max).await?;
        let left = max - sellers.len() as i64;
        if left > 0 {
            let wrapped = self.sellers_after(i64::MIN, left).await?;
            sellers.extend(wrapped.into_iter().take_while(|s| *s <= after));
        }
        Ok(sellers)
    }

    /// Up to `max` sellers with queued pictures after `after`, by id: a walk from one
    /// seller's first index entry to the next one's (a loose index scan, written as a
    /// recursive query because neither database skips along an index by itself), so a long
    /// line costs one step like a short one.
    async fn sellers_after(&self, after: i64, max: i64) -> Result<Vec<i64>, sqlx::Error> {
        sqlx::query_scalar(
            "WITH RECURSIVE waiting (seller_id, n) AS ( \
                 SELECT (SELECT seller_id FROM image_fetches \
                         WHERE status = 'queued' AND seller_id > $1 \
                         ORDER BY seller_id LIMIT 1), 1 \
                 UNION ALL \
                 SELECT (SELECT f.seller_id FROM image_fetches f \
                         WHERE f.status = 'queued' AND f.seller_id > w.seller_id \
                         ORDER BY f.seller_id LIMIT 1), w.n + 1 \
                 FROM waiting w WHERE w.seller_id IS NOT NULL AND w.n < $2) \
             SELECT seller_id FROM waiting WHERE seller_id IS NOT NULL ORDER BY seller_id",
        )
        .bind(after)
        .bind(max)
        .fetch_all(self.db.pool())
        .await
    }

    /// The seller's `n` oldest due fetches, oldest first.
    async fn due_of(&self, seller: i64, now: Millis, n: i64) -> Result<Vec<Job>, sqlx::Error> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, seller_id, product_id, url, host, attempts, created_at, next_attempt_at \
             FROM image_fetches \
             WHERE status = 'queued' AND seller_id = $1 AND next_attempt_at <= $2 \
             ORDER BY next_attempt_at, id LIMIT $3",
        )
        .bind(seller)
        .bind(now)
        .bind(n)
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, seller, product, url, host, attempts, created_at, due)| Job {
                    id,
                    seller: SellerId::new(seller),
                    product: ProductId::new(product),
                    url,
                    host,
                    attempts,
                    created_at,
                    due,
                },
            )
            .collect())
    }

    /// Leases `job` to this worker, unless another took it first.
    async fn lease(&self, job: &Job, now: Millis) -> Result<bool, sqlx::Error> {
        let taken = sqlx::query(
            "UPDATE image_fetches SET next_attempt_at = $1 \
             WHERE id = $2 AND status = 'queued' AND next_attempt_at <= $3",
        )
        .bind(now + self.config.lease.as_millis() as i64)
        .bind(job.id)
        .bind(now)
        .execute(self.db.pool())
        .await?
        .rows_affected();
        Ok(taken == 1)
    }

    /// Gives back a job this worker took but did not start (its server was busy): due again
    /// at once, where it was in its seller's line.
    pub async fn release(&self, job: &Job) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE image_fetches SET next_attempt_at = $1 WHERE id = $2 AND status = 'queued'",
        )
        .bind(job.due)
        .bind(job.id)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Refuses a new feed from `seller` while their feeds or pictures waiting are at the
    /// quota, saying which limit.
    pub(super) async fn admit_feed(&self, seller: SellerId) -> Result<(), FeedError> {
        let (feeds, pictures): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM feeds \
                     WHERE seller_id = $1 AND status IN ('queued', 'processing')), \
                    (SELECT COUNT(*) FROM image_fetches \
                     WHERE seller_id = $1 AND status = 'queued')",
        )
        .bind(seller.get())
        .fetch_one(self.db.pool())
        .await?;
        if feeds >= self.config.seller_feeds {
            return Err(FeedError::QueueFull(format!(
                "At most {} feeds may wait to be applied per seller: send this one when one \
                 of yours is done.",
                self.config.seller_feeds
            )));
        }
        if pictures >= self.config.seller_pictures {
            return Err(FeedError::QueueFull(format!(
                "{} Send feeds again once some of them are fetched.",
                self.pictures_full()
            )));
        }
        Ok(())
    }

    /// How many more pictures `seller` may queue now.
    pub(super) async fn picture_room(&self, seller: SellerId) -> Result<i64, sqlx::Error> {
        let queued: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM image_fetches WHERE seller_id = $1 AND status = 'queued'",
        )
        .bind(seller.get())
        .fetch_one(self.db.pool())
        .await?;
        Ok(self.config.seller_pictures - queued)
    }

    /// The picture quota, in words.
    pub(super) fn pictures_full(&self) -> String {
        format!(
            "At most {} pictures may wait to be fetched per seller, and yours are at that limit.",
            self.config.seller_pictures
        )
    }
}
