//! Retention: the sweep forgets old leftovers of finished work, and nothing still in use,
//! however old.

use crate::common::{NOW, count};
use shop::db::Db;
use shop::db::scratch::ScratchDb;
use shop::retention::{DAY, RetentionConfig, sweep};

/// Older than every default retention.
const OLD: i64 = NOW - 100 * DAY;
const RECENT: i64 = NOW - DAY / 2;

async fn run(db: &Db, sql: &str) {
    sqlx::query(sql).execute(db.pool()).await.unwrap();
}

async fn ids(db: &Db, sql: &str) -> Vec<String> {
    let mut ids: Vec<String> = sqlx::query_scalar(sql).fetch_all(db.pool()).await.unwrap();
    ids.sort();
    ids
}

async fn cart(db: &Db, id: &str, user: Option<i64>, updated_at: i64) {
    sqlx::query("INSERT INTO carts (id, created_at, updated_at, user_id) VALUES ($1, $2, $2, $3)")
        .bind(id)
        .bind(updated_at)
        .bind(user)
        .execute(db.pool())
        .await
        .unwrap();
}

/// A checkout attempt in `state`, last changed at `updated_at`; `started` and `charge` say
/// whether its payment began and what charge it knows.
async fn attempt(db: &Db, id: &str, cart: &str, state: &str, updated_at: i64, paid: Paid) {
    let (started, charge, reconciled) = match paid {
        Paid::NotStarted => (None, None, None),
        Paid::Charged => (Some(updated_at), Some("ch_1"), None),
        Paid::Unknown => (Some(updated_at), None, None),
        Paid::UnknownReconciled => (Some(updated_at), None, Some(updated_at)),
    };
    sqlx::query(
        "INSERT INTO checkouts (id, owner, idempotency_key, fingerprint, cart_id, state, email, \
         shipping_address, lines, total_amount, currency, card_last4, charge_id, \
         payment_started_at, reconciled_at, lease_until, recovery_attempts, created_at, updated_at) \
         VALUES ($1, 'owner', $1, 'f', $2, $3, 'a@example.com', '{}', '[]', 100, 'USD', '4242', \
         $4, $5, $6, 0, 0, $7, $7)",
    )
    .bind(id)
    .bind(cart)
    .bind(state)
    .bind(charge)
    .bind(started)
    .bind(reconciled)
    .bind(updated_at)
    .execute(db.pool())
    .await
    .unwrap();
}

#[derive(Clone, Copy)]
enum Paid {
    NotStarted,
    Charged,
    /// The payment started and no charge is known: reconciliation must ask the gateway.
    Unknown,
    UnknownReconciled,
}

#[tokio::test]
async fn abandoned_guest_carts_go_and_carts_in_use_stay() {
    let scratch = ScratchDb::new().await.unwrap();
    let db = &scratch.db;
    run(
        db,
        "INSERT INTO users (email, password_hash, role, created_at, updated_at) \
             VALUES ('a@example.com', 'x', 'shopper', 0, 0)",
    )
    .await;
    let user: i64 = sqlx::query_scalar("SELECT id FROM users")
        .fetch_one(db.pool())
        .await
        .unwrap();
    cart(db, "old-guest", None, OLD).await;
    cart(db, "recent-guest", None, RECENT).await;
    cart(db, "old-account", Some(user), OLD).await;
    cart(db, "old-guest-paying", None, OLD).await;
    attempt(
        db,
        "co_paying",
        "old-guest-paying",
        "paying",
        RECENT,
        Paid::Unknown,
    )
    .await;
    cart(db, "old-guest-done", None, OLD).await;
    attempt(
        db,
        "co_done",
        "old-guest-done",
        "confirmed",
        RECENT,
        Paid::Charged,
    )
    .await;

    let swept = sweep(db, &RetentionConfig::default(), NOW, 2)
        .await
        .unwrap();

    assert_eq!(
        ids(db, "SELECT id FROM carts").await,
        ["old-account", "old-guest-paying", "recent-guest"],
        "kept: an account's cart, a cart an unfinished checkout uses, a recent one"
    );
    assert_eq!(swept.carts, 2);
}

#[tokio::test]
async fn finished_attempts_go_after_their_keys_have_served_and_owed_reconciliations_stay() {
    let scratch = ScratchDb::new().await.unwrap();
    let db = &scratch.db;
    cart(db, "c", None, NOW).await;
    attempt(db, "co_old_confirmed", "c", "confirmed", OLD, Paid::Charged).await;
    attempt(db, "co_old_failed", "c", "failed", OLD, Paid::NotStarted).await;
    attempt(
        db,
        "co_old_reconciled",
        "c",
        "failed",
        OLD,
        Paid::UnknownReconciled,
    )
    .await;
    attempt(db, "co_old_owed", "c", "failed", OLD, Paid::Unknown).await;
    attempt(
        db,
        "co_old_stuck",
        "c",
        "payment_unknown",
        OLD,
        Paid::Unknown,
    )
    .await;
    attempt(db, "co_recent", "c", "confirmed", RECENT, Paid::Charged).await;

    // Even a retention of zero days keeps an attempt's key for a day.
    let no_wait = RetentionConfig {
        checkouts: 0,
        ..RetentionConfig::default()
    };
    let swept = sweep(db, &no_wait, NOW, 2).await.unwrap();

    assert_eq!(
        ids(db, "SELECT id FROM checkouts").await,
        ["co_old_owed", "co_old_stuck", "co_recent"],
        "kept: a reconciliation still owed, an unfinished attempt, a key younger than a day"
    );
    assert_eq!(swept.checkouts, 3);
}

#[tokio::test]
async fn delivered_events_sent_mail_and_processed_feeds_go_and_pending_ones_stay() {
    let scratch = ScratchDb::new().await.unwrap();
    let db = &scratch.db;
    for (id, delivered, dead) in [
        (1, Some(OLD), None),
        (2, Some(RECENT), None),
        (3, None, None),
        (4, None, Some(OLD)),
    ] {
        sqlx::query(
            "INSERT INTO outbox (id, topic, aggregate_id, payload, created_at, attempts, \
             available_at, locked_until, delivered_at, dead_at) \
             VALUES ($1, 't', 'a', '{}', $2, 0, 0, 0, $3, $4)",
        )
        .bind(id)
        .bind(OLD)
        .bind(delivered)
        .bind(dead)
        .execute(db.pool())
        .await
        .unwrap();
    }
    for (recipient, sent) in [
        ("old@x.example", Some(OLD)),
        ("new@x.example", Some(RECENT)),
        ("wait@x.example", None),
    ] {
        sqlx::query(
            "INSERT INTO mail_outbox (recipient, subject, body, created_at, next_attempt_at, sent_at) \
             VALUES ($1, 's', 'b', $2, $2, $3)",
        )
        .bind(recipient)
        .bind(OLD)
        .bind(sent)
        .execute(db.pool())
        .await
        .unwrap();
    }
    run(
        db,
        "INSERT INTO sellers (slug, name, created_at) VALUES ('s', 'S', 0)",
    )
    .await;
    for (name, status, finished) in [
        ("old.csv", "done", Some(OLD)),
        ("new.csv", "failed", Some(RECENT)),
        ("waiting.csv", "queued", None),
    ] {
        sqlx::query(
            "INSERT INTO feeds (seller_id, file_name, format, body, status, created_at, finished_at) \
             SELECT id, $1, 'csv', 'sku,title', $2, $3, $4 FROM sellers",
        )
        .bind(name)
        .bind(status)
        .bind(OLD)
        .bind(finished)
        .execute(db.pool())
        .await
        .unwrap();
    }

    let swept = sweep(db, &RetentionConfig::default(), NOW, 1)
        .await
        .unwrap();

    let events: Vec<i64> = sqlx::query_scalar("SELECT id FROM outbox ORDER BY id")
        .fetch_all(db.pool())
        .await
        .unwrap();
    assert_eq!(
        events,
        [2, 3, 4],
        "kept: a recent delivery, a pending event, a dead letter"
    );
    assert_eq!(
        ids(db, "SELECT recipient FROM mail_outbox").await,
        ["new@x.example", "wait@x.example"]
    );
    let feeds: Vec<(String, String)> =
        sqlx::query_as("SELECT file_name, body FROM feeds ORDER BY file_name")
            .fetch_all(db.pool())
            .await
            .unwrap();
    assert_eq!(
        feeds,
        [
            ("new.csv".to_owned(), String::new()),
            ("waiting.csv".to_owned(), "sku,title".to_owned())
        ],
        "a processed feed's file goes at once, its report after the retention; a waiting feed keeps its file"
    );
    assert_eq!(
        (swept.events, swept.mail, swept.feeds, swept.feed_files),
        (1, 1, 1, 2)
    );
    assert_eq!(count(db, "outbox").await, 3);
}
