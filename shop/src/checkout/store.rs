//! Checkout attempts in the database: one row per attempt, every change conditional on the
//! state it leaves.

use super::{Address, CheckoutLine, CheckoutState};
use crate::clock::Millis;
use crate::db::AnyConnection;
use crate::{Currency, Money};
use sqlx::Row;
use sqlx::any::AnyRow;

/// An attempt as stored.
#[derive(Clone, Debug)]
pub(super) struct Attempt {
    pub id: String,
    pub fingerprint: String,
    pub cart_id: String,
    pub state: CheckoutState,
    pub email: String,
    pub address: Address,
    pub lines: Vec<CheckoutLine>,
    pub total: Money,
    /// None for attempts stored before shipping and tax were priced, and for carts that
    /// could not be priced.
    pub pricing: Option<crate::pricing::Breakdown>,
    pub charge_id: Option<String>,
    pub order_id: Option<String>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub response: Option<(u16, String)>,
}

const COLUMNS: &str = "id, fingerprint, cart_id, state, email, shipping_address, lines, \
    total_amount, currency, charge_id, order_id, failure_code, failure_message, \
    response_status, response_body, pricing";

fn corrupt(what: impl std::fmt::Display) -> sqlx::Error {
    sqlx::Error::Decode(format!("corrupt checkout row: {what}").into())
}

fn attempt(r: &AnyRow) -> Result<Attempt, sqlx::Error> {
    let state: String = r.try_get("state")?;
    let currency: String = r.try_get("currency")?;
    let status: Option<i64> = r.try_get("response_status")?;
    let body: Option<String> = r.try_get("response_body")?;
    Ok(Attempt {
        id: r.try_get("id")?,
        fingerprint: r.try_get("fingerprint")?,
        cart_id: r.try_get("cart_id")?,
        state: CheckoutState::parse(&state).ok_or_else(|| corrupt(&state))?,
        email: r.try_get("email")?,
        address: serde_json::from_str(&r.try_get::<String, _>("shipping_address")?)
            .map_err(corrupt)?,
        lines: serde_json::from_str(&r.try_get::<String, _>("lines")?).map_err(corrupt)?,
        total: Money::new(
            r.try_get("total_amount")?,
            Currency::parse(&currency).map_err(corrupt)?,
        ),
        pricing: r
            .try_get::<Option<String>, _>("pricing")?
            .map(|p| serde_json::from_str(&p))
            .transpose()
            .map_err(corrupt)?,
        charge_id: r.try_get("charge_id")?,
        order_id: r.try_get("order_id")?,
        failure_code: r.try_get("failure_code")?,
        failure_message: r.try_get("failure_message")?,
        response: status
            .zip(body)
            .map(|(s, b)| (u16::try_from(s).unwrap_or(500), b)),
    })
}

pub(super) async fn find(
    conn: &mut AnyConnection,
    owner: &str,
    key: &str,
) -> Result<Option<Attempt>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM checkouts WHERE owner = $1 AND idempotency_key = $2"
    ))
    .bind(owner)
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?
    .as_ref()
    .map(attempt)
    .transpose()
}

pub(super) async fn load(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<Attempt>, sqlx::Error> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM checkouts WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(attempt)
        .transpose()
}

/// A new attempt's row.
pub(super) struct NewAttempt<'a> {
    pub id: &'a str,
    pub owner: &'a str,
    pub key: &'a str,
    pub fingerprint: &'a str,
    pub cart_id: &'a str,
    pub email: &'a str,
    pub address: &'a Address,
    pub lines: &'a [CheckoutLine],
    pub total: Money,
    pub card_last4: &'a str,
    pub lease_until: Millis,
    pub user_id: Option<i64>,
    /// The coupon redeemed for it, and what it took off `total`.
    pub coupon: Option<&'a str>,
    pub discount: i64,
    /// The totals and their breakdown (none when the cart could not be priced).
    pub pricing: Option<&'a crate::pricing::Breakdown>,
}

pub(super) async fn insert(
    conn: &mut AnyConnection,
    a: &NewAttempt<'_>,
    now: Millis,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO checkouts (id, owner, idempotency_key, fingerprint, cart_id, state, email, \
         shipping_address, lines, total_amount, currency, card_last4, lease_until, \
         recovery_attempts, created_at, updated_at, user_id, coupon_code, discount_amount, \
         pricing) \
         VALUES ($1, $2, $3, $4, $5, 'claimed', $6, $7, $8, $9, $10, $11, $12, 0, $13, $13, \
         $14, $15, $16, $17)",
    )
    .bind(a.id)
    .bind(a.owner)
    .bind(a.key)
    .bind(a.fingerprint)
    .bind(a.cart_id)
    .bind(a.email)
    .bind(serde_json::to_string(a.address).map_err(corrupt)?)
    .bind(serde_json::to_string(a.lines).map_err(corrupt)?)
    .bind(a.total.amount)
    .bind(a.total.currency.code())
    .bind(a.card_last4)
    .bind(a.lease_until)
    .bind(now)
    .bind(a.user_id)
    .bind(a.coupon)
    .bind(a.discount)
    .bind(
        a.pricing
            .map(serde_json::to_string)
            .transpose()
            .map_err(corrupt)?,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn states_sql(states: &[CheckoutState]) -> String {
    // The states are the enum's own constants, never input, so they can be inlined.
    states
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Moves the attempt from one of `from` to `to`, renewing its lease. False if it was not in
/// any of `from` (someone else moved it first).
pub(super) async fn advance(
    conn: &mut AnyConnection,
    id: &str,
    from: &[CheckoutState],
    to: CheckoutState,
    lease_until: Millis,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(&format!(
        "UPDATE checkouts SET state = $2, lease_until = $3, updated_at = $4 \
         WHERE id = $1 AND state IN ({})",
        states_sql(from)
    ))
    .bind(id)
    .bind(to.as_str())
    .bind(lease_until)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
}

/// Records that the charge request is about to go out (for `reconcile`).
pub(super) async fn mark_payment_started(
    conn: &mut AnyConnection,
    id: &str,
    now: Millis,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE checkouts SET payment_started_at = COALESCE(payment_started_at, $2) WHERE id = $1",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn set_charge(
    conn: &mut AnyConnection,
    id: &str,
    charge_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE checkouts SET charge_id = $2 WHERE id = $1")
        .bind(id)
        .bind(charge_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// How an attempt ended.
pub(super) struct Ending<'a> {
    pub state: CheckoutState,
    pub order_id: Option<&'a str>,
    pub failure_code: Option<&'a str>,
    pub failure_message: Option<&'a str>,
    pub status: u16,
    pub body: &'a str,
}

/// Moves the attempt from one of `from` to its terminal state with the answer every later
/// request with its key will get. False if it was not in any of `from`.
pub(super) async fn finish(
    conn: &mut AnyConnection,
    id: &str,
    from: &[CheckoutState],
    ending: &Ending<'_>,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(&format!(
        "UPDATE checkouts SET state = $2, order_id = $3, failure_code = $4, \
         failure_message = $5, response_status = $6, response_body = $7, updated_at = $8 \
         WHERE id = $1 AND state IN ({})",
        states_sql(from)
    ))
    .bind(id)
    .bind(ending.state.as_str())
    .bind(ending.order_id)
    .bind(ending.failure_code)
    .bind(ending.failure_message)
    .bind(i64::from(ending.status))
    .bind(ending.body)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
}

/// Takes over an attempt whose lease ran out (compare-and-set on the lease). False if
/// another worker took it, or its owner renewed it.
pub(super) async fn take_over(
    conn: &mut AnyConnection,
    id: &str,
    seen_lease: Millis,
    lease_until: Millis,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE checkouts SET lease_until = $3, recovery_attempts = recovery_attempts + 1 \
         WHERE id = $1 AND lease_until = $2",
    )
    .bind(id)
    .bind(seen_lease)
    .bind(lease_until)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
}
