//! Carts and accounts: whose cart it is, the coupon on it, and the merge at sign-in.
//!
//! A guest cart belongs to whoever holds its cookie. At sign-in it is merged into the
//! account's cart (or becomes it), and from then on only that account reaches it: its id
//! alone no longer opens it.

use super::Cart;
use super::store::{CartError, Carts, stored_lines};
use super::{CartId, MergeOutcome, MergedLine, Quantity};
use crate::accounts::UserId;
use crate::clock::Millis;
use crate::coupons::{CouponCode, Coupons};

/// Who may use a cart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CartOwner {
    Guest,
    Account(UserId),
}

impl Carts {
    /// Who may use the cart, or `None` if there is no such cart.
    pub async fn owner(&self, id: &CartId) -> Result<Option<CartOwner>, CartError> {
        let row: Option<Option<i64>> =
            sqlx::query_scalar("SELECT user_id FROM carts WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(self.db.pool())
                .await?;
        Ok(row.map(|u| u.map_or(CartOwner::Guest, |u| CartOwner::Account(UserId::new(u)))))
    }

    /// The account's cart, if it has one (the most recently used).
    pub async fn of_account(&self, user: UserId) -> Result<Option<CartId>, CartError> {
        let id: Option<String> = sqlx::query_scalar(
            "SELECT id FROM carts WHERE user_id = $1 ORDER BY updated_at DESC, id LIMIT 1",
        )
        .bind(user.get())
        .fetch_optional(self.db.pool())
        .await?;
        Ok(id.and_then(|id| CartId::parse(&id).ok()))
    }

    /// The coupon code applied to the cart.
    pub async fn coupon(&self, id: &CartId) -> Result<Option<CouponCode>, CartError> {
        let code: Option<Option<String>> =
            sqlx::query_scalar("SELECT coupon_code FROM carts WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(self.db.pool())
                .await?;
        Ok(code.flatten().and_then(|c| CouponCode::parse(&c).ok()))
    }

    /// The cart as the shopper sees it, on the cart page and from the API alike: its lines at
    /// current prices and stock, and the coupon on it (if any) with what it takes off now, so
    /// that `Cart::total` is what checkout will charge (the saga checks the coupon again).
    pub async fn with_coupon(&self, id: &CartId, coupons: &Coupons) -> Result<Cart, CartError> {
        let mut cart = self.get(id).await?;
        let code = self.coupon(id).await?;
        coupons.attach(&mut cart, code).await?;
        Ok(cart)
    }

    /// Applies (or with `None` removes) a coupon code. Whether it is any good is shown with
    /// the cart and decided at checkout.
    pub async fn set_coupon(
        &self,
        id: &CartId,
        code: Option<&CouponCode>,
        now: Millis,
    ) -> Result<(), CartError> {
        let changed =
            sqlx::query("UPDATE carts SET coupon_code = $1, updated_at = $2 WHERE id = $3")
                .bind(code.map(CouponCode::as_str))
                .bind(now)
                .bind(id.as_str())
                .execute(self.db.pool())
                .await?
                .rows_affected();
        if changed == 0 {
            return Err(CartError::CartNotFound);
        }
        Ok(())
    }

    /// Signs a cart in: the guest cart `guest` (if any) is merged into the account's cart,
    /// or becomes it. Returns the account's cart and what happened to each guest line.
    pub async fn merge_at_sign_in(
        &self,
        guest: Option<&CartId>,
        user: UserId,
        now: Millis,
    ) -> Result<(Option<CartId>, Vec<MergedLine>), CartError> {
        let saved = self.of_account(user).await?;
        let guest = match guest {
            Some(g) if self.owner(g).await? == Some(CartOwner::Guest) => g.clone(),
            _ => return Ok((saved, vec![])),
        };
        let guest_cart = self.get(&guest).await?;
        let target = saved.clone().unwrap_or_else(|| guest.clone());
        let mut conn = self.db.pool().acquire().await?;
        let existing: std::collections::HashMap<_, _> = match &saved {
            Some(s) => stored_lines(&mut conn, s)
                .await?
                .into_iter()
                .map(|l| (l.variant, l.quantity))
                .collect(),
            None => Default::default(),
        };
        drop(conn);
        let mut report = Vec::new();
        let mut tx = self.db.begin_write().await?;
        for line in &guest_cart.lines {
            let mine = existing.get(&line.variant_id).copied().unwrap_or(0);
            let wanted = (mine + line.quantity.get()).min(Quantity::MAX);
            let quantity = wanted.min(line.available.max(0));
            let outcome = if quantity == 0 {
                MergeOutcome::Removed { wanted }
            } else if quantity < wanted {
                MergeOutcome::Reduced { wanted, quantity }
            } else if mine > 0 {
                MergeOutcome::Combined { quantity }
            } else {
                MergeOutcome::Kept { quantity }
            };
            if quantity == 0 {
                sqlx::query("DELETE FROM cart_lines WHERE cart_id = $1 AND variant_id = $2")
                    .bind(target.as_str())
                    .bind(line.variant_id.get())
                    .execute(&mut *tx)
                    .await?;
            } else {
                sqlx::query(
                    "INSERT INTO cart_lines (cart_id, variant_id, quantity, price_seen, currency, \
                     added_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) \
                     ON CONFLICT (cart_id, variant_id) DO UPDATE SET \
                     quantity = excluded.quantity, updated_at = excluded.updated_at",
                )
                .bind(target.as_str())
                .bind(line.variant_id.get())
                .bind(quantity)
                .bind(line.unit_price.amount)
                .bind(line.unit_price.currency.code())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            report.push(MergedLine {
                sku: line.sku.clone(),
                title: line.title.clone(),
                outcome,
            });
        }
        if saved.is_some() {
            // The guest's coupon wins if it had one; the guest cart is spent.
            if let Some(code) = self.coupon(&guest).await? {
                sqlx::query("UPDATE carts SET coupon_code = $1 WHERE id = $2")
                    .bind(code.as_str())
                    .bind(target.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("DELETE FROM carts WHERE id = $1 AND user_id IS NULL")
                .bind(guest.as_str())
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE carts SET user_id = $1, updated_at = $2 WHERE id = $3")
            .bind(user.get())
            .bind(now)
            .bind(target.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok((Some(target), report))
    }
}
