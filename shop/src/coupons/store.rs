//! Coupons in the database.

use super::{AppliedCoupon, CouponCode, Discount};
use crate::accounts::UserId;
use crate::checkout::Email;
use crate::clock::{Clock, Millis};
use crate::db::{AnyConnection, Db};
use crate::failure::{Failure, FailureKind};
use crate::{Currency, InvalidInput, Money};
use std::sync::Arc;

/// Why a coupon does not apply, in words for the shopper.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("There is no coupon {0}.")]
    Unknown(String),
    #[error("Coupon {0} has expired.")]
    Expired(String),
    #[error("Coupon {0} has been fully redeemed.")]
    UsedUp(String),
    #[error("You have already used coupon {0}.")]
    UsedByYou(String),
    #[error("Coupon {0} does not apply to prices in this currency.")]
    Currency(String),
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Unknown(_) => "coupon_unknown",
            Refusal::Expired(_) => "coupon_expired",
            Refusal::UsedUp(_) => "coupon_used_up",
            Refusal::UsedByYou(_) => "coupon_used_by_you",
            Refusal::Currency(_) => "coupon_currency",
        }
    }
}

/// A coupon to create.
#[derive(Clone, Debug)]
pub struct NewCoupon {
    pub code: CouponCode,
    pub discount: Discount,
    pub per_customer_limit: Option<i64>,
    pub total_limit: Option<i64>,
    pub expires_at: Option<Millis>,
}

/// A coupon as the admin pages list it.
#[derive(Clone, Debug, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CouponRow {
    pub code: String,
    pub discount: Discount,
    pub per_customer_limit: Option<i64>,
    pub total_limit: Option<i64>,
    pub redeemed: i64,
    pub expires_at: Option<Millis>,
}

type Row = (
    i64,
    String,
    String,
    i64,
    String,
    Option<i64>,
    Option<i64>,
    i64,
    Option<i64>,
    Option<i64>,
);

struct Coupon {
    id: i64,
    code: String,
    discount: Discount,
    per_customer_limit: Option<i64>,
    total_limit: Option<i64>,
    redeemed: i64,
    expires_at: Option<Millis>,
    disabled: bool,
}

const SELECT: &str = "SELECT id, code, kind, value, currency, per_customer_limit, total_limit, \
                      redeemed, expires_at, disabled_at FROM coupons";

fn coupon(row: Row) -> Option<Coupon> {
    let (
        id,
        code,
        kind,
        value,
        currency,
        per_customer_limit,
        total_limit,
        redeemed,
        expires_at,
        disabled_at,
    ) = row;
    let discount = Discount::parse(&kind, value, &currency).ok()?;
    Some(Coupon {
        id,
        code,
        discount,
        per_customer_limit,
        total_limit,
        redeemed,
        expires_at,
        disabled: disabled_at.is_some(),
    })
}

async fn find(conn: &mut AnyConnection, code: &CouponCode) -> Result<Option<Coupon>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(&format!("{SELECT} WHERE code = $1"))
        .bind(code.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.and_then(coupon))
}

async fn used_by(
    conn: &mut AnyConnection,
    coupon: i64,
    customer: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM coupon_redemptions WHERE coupon_id = $1 AND customer = $2",
    )
    .bind(coupon)
    .bind(customer)
    .fetch_one(&mut *conn)
    .await
}

/// The checks that need no lock: exists, live, right currency. Returns the discount.
fn quote(
    c: Option<&Coupon>,
    code: &CouponCode,
    subtotal: Money,
    now: Millis,
) -> Result<Money, Refusal> {
    let name = code.as_str().to_owned();
    let c = c
        .filter(|c| !c.disabled)
        .ok_or(Refusal::Unknown(name.clone()))?;
    if c.expires_at.is_some_and(|at| at <= now) {
        return Err(Refusal::Expired(name));
    }
    if c.total_limit.is_some_and(|limit| c.redeemed >= limit) {
        return Err(Refusal::UsedUp(name));
    }
    c.discount.on(subtotal).ok_or(Refusal::Currency(name))
}

/// A redemption taken for a checkout.
#[derive(Clone, Copy, Debug)]
pub struct Redeemed {
    pub discount: Money,
}

/// Who a per-customer limit counts: the signed-in account, whatever address it types at
/// checkout; else the guest's mailbox, the address in lower case without its `+tag`
/// (`Ana+shop@Example.com` reaches the same person as `ana@example.com`, so it is the same
/// customer). Guests' keys are the plain addresses earlier redemptions were counted under.
pub fn customer(account: Option<UserId>, email: &Email) -> String {
    if let Some(account) = account {
        return format!("account:{}", account.get());
    }
    let email = email.as_str().to_lowercase();
    match email.rsplit_once('@') {
        Some((local, domain)) => {
            let local = local
                .split_once('+')
                .map_or(local, |(untagged, _)| untagged);
            format!("{local}@{domain}")
        }
        None => email,
    }
}

/// Redeems `code` for `checkout` inside the caller's (write) transaction. `customer` is the
/// key the per-customer limit counts (see [`customer`]).
pub async fn redeem(
    conn: &mut AnyConnection,
    code: &CouponCode,
    customer: &str,
    checkout: &str,
    subtotal: Money,
    now: Millis,
) -> Result<Result<Redeemed, Refusal>, sqlx::Error> {
    let found = find(conn, code).await?;
    let discount = match quote(found.as_ref(), code, subtotal, now) {
        Ok(d) => d,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let Some(c) = found else {
        return Ok(Err(Refusal::Unknown(code.to_string())));
    };
    // The count and its limit in one statement: the row lock (PostgreSQL) or the write lock
    // (SQLite) makes concurrent redemptions take turns here.
    let taken = sqlx::query(
        "UPDATE coupons SET redeemed = redeemed + 1 \
         WHERE id = $1 AND disabled_at IS NULL AND (total_limit IS NULL OR redeemed < total_limit)",
    )
    .bind(c.id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if taken == 0 {
        return Ok(Err(Refusal::UsedUp(c.code)));
    }
    // Read after the lock: a concurrent redemption by the same customer has committed (or
    // not) by now.
    if let Some(limit) = c.per_customer_limit
        && used_by(conn, c.id, customer).await? >= limit
    {
        sqlx::query("UPDATE coupons SET redeemed = redeemed - 1 WHERE id = $1")
            .bind(c.id)
            .execute(&mut *conn)
            .await?;
        return Ok(Err(Refusal::UsedByYou(c.code)));
    }
    sqlx::query(
        "INSERT INTO coupon_redemptions (checkout_id, coupon_id, customer, amount, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(checkout)
    .bind(c.id)
    .bind(customer)
    .bind(discount.amount)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(Ok(Redeemed { discount }))
}

/// Gives back the redemption `checkout` holds, if any (the checkout failed or was refunded
/// before it became an order).
pub async fn release(conn: &mut AnyConnection, checkout: &str) -> Result<bool, sqlx::Error> {
    let coupon: Option<i64> = sqlx::query_scalar(
        "DELETE FROM coupon_redemptions WHERE checkout_id = $1 RETURNING coupon_id",
    )
    .bind(checkout)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(coupon) = coupon {
        sqlx::query("UPDATE coupons SET redeemed = redeemed - 1 WHERE id = $1 AND redeemed > 0")
            .bind(coupon)
            .execute(&mut *conn)
            .await?;
    }
    Ok(coupon.is_some())
}

/// Creating, listing and previewing coupons.
#[derive(Clone, Debug)]
pub struct Coupons {
    db: Db,
    clock: Arc<dyn Clock>,
}

#[derive(Debug, thiserror::Error)]
pub enum CouponError {
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error("a coupon {0} already exists")]
    Exists(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl Failure for CouponError {
    fn kind(&self) -> FailureKind {
        match self {
            CouponError::Invalid(e) => e.kind(),
            CouponError::Exists(_) => FailureKind::Conflict,
            CouponError::Db(e) => e.kind(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            CouponError::Exists(_) => "coupon_exists",
            _ => self.kind().code(),
        }
    }

    fn public_message(&self) -> String {
        match self {
            CouponError::Invalid(e) => e.public_message(),
            CouponError::Exists(code) => format!("A coupon {code} already exists."),
            CouponError::Db(e) => e.public_message(),
        }
    }
}

impl Coupons {
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Self {
        Self { db, clock }
    }

    pub async fn create(&self, new: &NewCoupon) -> Result<(), CouponError> {
        // A discount built in code (not parsed) is checked by the same rules on its way in.
        let (kind, value, currency) = new.discount.parts();
        Discount::parse(kind, value, currency.code())?;
        for (field, limit) in [
            ("per_customer_limit", new.per_customer_limit),
            ("total_limit", new.total_limit),
        ] {
            if limit.is_some_and(|l| l < 1) {
                return Err(InvalidInput::new(field, "must be at least 1").into());
            }
        }
        let done = sqlx::query(
            "INSERT INTO coupons (code, kind, value, currency, per_customer_limit, total_limit, \
             redeemed, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8)",
        )
        .bind(new.code.as_str())
        .bind(kind)
        .bind(value)
        .bind(currency.code())
        .bind(new.per_customer_limit)
        .bind(new.total_limit)
        .bind(new.expires_at)
        .bind(self.clock.now())
        .execute(self.db.pool())
        .await;
        match done {
            Ok(_) => Ok(()),
            Err(e) if crate::db::is_unique_violation(&e) => {
                Err(CouponError::Exists(new.code.to_string()))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn list(&self) -> Result<Vec<CouponRow>, sqlx::Error> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "{SELECT} ORDER BY created_at DESC, id DESC LIMIT 200"
        ))
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(coupon)
            .map(|c| CouponRow {
                code: c.code,
                discount: c.discount,
                per_customer_limit: c.per_customer_limit,
                total_limit: c.total_limit,
                redeemed: c.redeemed,
                expires_at: c.expires_at,
            })
            .collect())
    }

    /// Shows the coupon applied to `cart` (if any) with what it would take off now. Only
    /// `Carts::with_coupon` composes the cart as shown.
    pub(crate) async fn attach(
        &self,
        cart: &mut crate::cart::Cart,
        code: Option<CouponCode>,
    ) -> Result<(), sqlx::Error> {
        cart.coupon = match code {
            Some(code) => Some(self.preview(&code, cart.subtotal).await?),
            None => None,
        };
        Ok(())
    }

    /// How `code` would apply to `subtotal` now (for the cart page; the saga checks again).
    pub async fn preview(
        &self,
        code: &CouponCode,
        subtotal: Option<Money>,
    ) -> Result<AppliedCoupon, sqlx::Error> {
        let mut conn = self.db.pool().acquire().await?;
        let found = find(&mut conn, code).await?;
        let label = found
            .as_ref()
            .map(|c| c.discount.label())
            .unwrap_or_default();
        let result = match subtotal {
            Some(subtotal) => quote(found.as_ref(), code, subtotal, self.clock.now()).map(Some),
            None => quote(
                found.as_ref(),
                code,
                Money::new(0, Currency::shop()),
                self.clock.now(),
            )
            .map(|_| None),
        };
        Ok(match result {
            Ok(discount) => AppliedCoupon {
                code: code.clone(),
                label,
                discount,
                problem: None,
            },
            Err(refusal) => AppliedCoupon {
                code: code.clone(),
                label,
                discount: None,
                problem: Some(refusal.to_string()),
            },
        })
    }
}
