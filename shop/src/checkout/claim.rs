//! Step 1 of the saga: claiming the idempotency key, with the cart priced in the same
//! transaction.

use super::saga::{
    CheckoutError, Checkouts, Failure, Placed, failure_body, ms, replay_or_in_flight,
};
use super::store::{self, NewAttempt};
use super::{CheckoutLine, CheckoutRequest, CheckoutState::*, IdempotencyKey};
use crate::accounts::UserId;
use crate::cart::{self, CartId};
use crate::catalog::variants_in;
use crate::coupons::{self, CouponCode};
use crate::failure::Failure as _;
use crate::shipping::{self, QuoteLine};
use crate::{Currency, Money};
use serde_json::json;
use sha2::{Digest, Sha256};

impl Checkouts {
    /// Step 1: the attempt's id, or (`Err`) the result of a request that needs no new attempt.
    #[tracing::instrument(name = "checkout.claim", skip_all)]
    pub(super) async fn claim(
        &self,
        key: &IdempotencyKey,
        request: &CheckoutRequest,
    ) -> Result<Result<String, Placed>, CheckoutError> {
        let owner = format!("cart:{}", request.cart);
        let fingerprint = fingerprint(request);
        for attempt in 0..3 {
            let now = self.clock.now();
            let mut tx = self.db.begin_write().await?;
            self.check("claim.begin").await?;
            if let Some(existing) = store::find(&mut tx, &owner, key.as_str()).await? {
                tx.rollback().await?;
                if existing.fingerprint != fingerprint {
                    return Err(CheckoutError::KeyReused);
                }
                return Ok(Err(replay_or_in_flight(existing)));
            }
            let cart: Option<(Option<i64>, Option<String>)> =
                sqlx::query_as("SELECT user_id, coupon_code FROM carts WHERE id = $1")
                    .bind(request.cart.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some((cart_owner, coupon)) = cart else {
                return Err(CheckoutError::CartNotFound);
            };
            // An account's cart is checked out only by that account.
            if cart_owner.is_some() && cart_owner != request.user.map(UserId::get) {
                return Err(CheckoutError::CartNotFound);
            }
            let coupon = coupon.and_then(|c| CouponCode::parse(&c).ok());
            let mut priced = price_cart(&mut tx, &request.cart).await?;
            let id = self
                .faults
                .as_ref()
                .and_then(|f| f.checkout_id())
                .unwrap_or_else(new_checkout_id);
            // The coupon is redeemed here, in the claim's transaction: the limit holds however
            // many checkouts race for it, and a failed checkout gives it back (`fail`).
            let mut discount = 0;
            let mut redeemed_code = None;
            if let (Some(code), Ok((_, subtotal, _))) = (&coupon, &priced) {
                let customer = coupons::customer(request.user, &request.email);
                match coupons::redeem(&mut tx, code, &customer, &id, *subtotal, now).await? {
                    Ok(redeemed) => {
                        discount = redeemed.discount.amount;
                        redeemed_code = Some(code.as_str());
                    }
                    Err(refusal) => {
                        priced = Err(Failure::new(
                            refusal.code(),
                            409,
                            format!("{refusal} Remove it from your cart to check out without it."),
                        ));
                    }
                }
            }
            // Shipping and tax for the address and the chosen methods, on the discounted
            // lines: the total the shopper pays, computed in the same transaction.
            let mut pricing = None;
            if let Ok((_, subtotal, quoted)) = &priced {
                match shipping::quote(
                    &mut tx,
                    self.config.tax_mode,
                    subtotal.currency,
                    quoted,
                    discount,
                    &request.address.country,
                    &request.address.region,
                    &request.shipping,
                )
                .await
                {
                    Ok(quote) => pricing = Some(quote.breakdown),
                    Err(e) => match e.field_errors() {
                        Some(fields) => {
                            priced = Err(Failure::new("invalid", 422, e.public_message())
                                .with(json!({ "fields": fields })));
                        }
                        None => {
                            return Err(match e {
                                shipping::ShippingError::Db(e) => e.into(),
                                other => CheckoutError::Corrupt(format!("pricing: {other}")),
                            });
                        }
                    },
                }
            }
            let (lines, total) = match (&priced, &pricing) {
                (Ok((lines, ..)), Some(pricing)) => (lines.clone(), pricing.totals.total),
                _ => (vec![], Money::new(0, Currency::shop())),
            };
            let inserted = store::insert(
                &mut tx,
                &NewAttempt {
                    id: &id,
                    owner: &owner,
                    key: key.as_str(),
                    fingerprint: &fingerprint,
                    cart_id: request.cart.as_str(),
                    email: request.email.as_str(),
                    address: &request.address,
                    lines: &lines,
                    total,
                    card_last4: request.card.last4(),
                    lease_until: now + ms(self.config.lease),
                    user_id: request.user.map(UserId::get),
                    coupon: redeemed_code,
                    discount,
                    pricing: pricing.as_ref(),
                },
                now,
            )
            .await;
            match inserted {
                Ok(()) => {}
                // The same key raced in from another request: go round and find it.
                Err(e) if crate::db::is_unique_violation(&e) && attempt < 2 => continue,
                Err(e) => return Err(e.into()),
            }
            // A cart that cannot be bought as priced ends here, with its answer stored so
            // that the key keeps meaning this outcome.
            let failure = match priced {
                Err(failure) => Some(failure),
                Ok(_) => match request.expected_total {
                    Some(seen) if seen != total.amount => Some(
                        Failure::new(
                            "total_changed",
                            409,
                            format!(
                                "The total changed since you looked: it is now {total}. \
                                 Please review and confirm the new total."
                            ),
                        )
                        .with(
                            json!({ "total": total, "totals": pricing.as_ref().map(|p| p.totals) }),
                        ),
                    ),
                    _ => None,
                },
            };
            if let Some(failure) = failure {
                coupons::release(&mut tx, &id).await?;
                let body = failure_body(&id, &failure);
                store::finish(&mut tx, &id, &[Claimed], &failure.ending(&body), now).await?;
                self.check("claim.commit").await?;
                tx.commit().await?;
                return Ok(Err(Placed::Answer {
                    checkout_id: id,
                    status: failure.status,
                    body,
                }));
            }
            self.check("claim.commit").await?;
            tx.commit().await?;
            self.crash_point(Claimed);
            return Ok(Ok(id));
        }
        Err(CheckoutError::Corrupt("could not claim the key".into()))
    }
}

fn new_checkout_id() -> String {
    use rand::Rng;
    let bytes: [u8; 12] = rand::rng().random();
    format!(
        "co_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// A stable hash of everything that makes two requests "the same request". The card number
/// itself is left out (its last four digits stand in) so that no hash of it is stored.
fn fingerprint(request: &CheckoutRequest) -> String {
    let canonical = json!({
        "cart": request.cart.as_str(),
        "email": request.email.as_str(),
        "address": request.address,
        "card_last4": request.card.last4(),
        "expected_total": request.expected_total,
        "user": request.user,
        "shipping": request.shipping,
    });
    Sha256::digest(canonical.to_string())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A cart priced: its lines, its subtotal, and its lines as the shipping quote needs them.
type Priced = (Vec<CheckoutLine>, Money, Vec<QuoteLine>);

/// The cart's lines priced now, or why the cart cannot be checked out.
async fn price_cart(
    conn: &mut crate::db::AnyConnection,
    cart: &CartId,
) -> Result<Result<Priced, Failure>, CheckoutError> {
    let stored = cart::stored_lines(conn, cart).await?;
    if stored.is_empty() {
        return Ok(Err(Failure::new("cart_empty", 422, "Your cart is empty.")));
    }
    let ids: Vec<_> = stored.iter().map(|l| l.variant).collect();
    let variants = variants_in(conn, &ids).await?;
    let mut lines = Vec::new();
    let mut quoted = Vec::new();
    let mut total: Option<Money> = None;
    for line in stored {
        let Some(v) = variants.get(&line.variant) else {
            continue;
        };
        let Some(line_total) = v.price.checked_mul(line.quantity) else {
            return Ok(Err(Failure::new(
                "invalid_cart",
                422,
                "The cart's total is too large.",
            )));
        };
        total = match total {
            None => Some(line_total),
            Some(t) => match t.checked_add(line_total) {
                Some(sum) => Some(sum),
                None => {
                    return Ok(Err(Failure::new(
                        "invalid_cart",
                        422,
                        "The cart mixes currencies or its total is too large.",
                    )));
                }
            },
        };
        lines.push(CheckoutLine {
            variant_id: v.id,
            sku: v.sku.clone(),
            title: v.title.clone(),
            options: v.options_label(),
            quantity: line.quantity,
            unit_price: v.price.amount,
            seller_id: v.seller_id,
        });
        quoted.push(QuoteLine {
            seller: v.seller_id,
            quantity: line.quantity,
            amount: line_total.amount,
            weight_grams: v.weight_grams.unwrap_or(0).saturating_mul(line.quantity),
        });
    }
    match total {
        Some(total) if total.amount > 0 => Ok(Ok((lines, total, quoted))),
        Some(_) => Ok(Err(Failure::new(
            "invalid_cart",
            422,
            "The cart's total is zero.",
        ))),
        None => Ok(Err(Failure::new("cart_empty", 422, "Your cart is empty."))),
    }
}
