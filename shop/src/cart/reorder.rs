//! Buying an earlier order again: its lines go back into a cart, as many of each as can be
//! bought now. Each line is an ordinary `add`, so it obeys the cart's invariants (stock when
//! added, at most 99 a line, one currency a cart); what does not fit is cut down to what
//! does, and what cannot be bought at all is left out, each reported so the page can say so.

use super::{Cart, CartError, CartId, Carts, Quantity};
use crate::catalog::Sku;
use crate::checkout::CheckoutLine;
use crate::clock::Millis;

/// What became of one line of the earlier order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reordered {
    /// All of it is in the cart again.
    Added { quantity: i64 },
    /// Only `quantity` of the `wanted` units: all the stock there is now, or all the line
    /// still holds next to what the cart already had.
    Reduced { wanted: i64, quantity: i64 },
    /// None of it: sold out, no longer in the catalog, or priced in another currency than
    /// the cart.
    Skipped { wanted: i64 },
}

/// One line of the earlier order and what became of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReorderedLine {
    pub sku: Sku,
    pub outcome: Reordered,
}

impl ReorderedLine {
    /// Whether the line is back in the cart as it was ordered.
    pub fn is_whole(&self) -> bool {
        matches!(self.outcome, Reordered::Added { .. })
    }
}

impl Carts {
    /// Puts an earlier order's `lines` back in `cart`, as many of each as can be bought now.
    /// A refusal that concerns one line (its stock, its SKU, its currency) shapes that line's
    /// outcome; anything else (the cart is gone, the database failed) stops and is returned.
    pub async fn reorder(
        &self,
        cart: &CartId,
        lines: &[CheckoutLine],
        now: Millis,
    ) -> Result<Vec<ReorderedLine>, CartError> {
        let mut current = self.get(cart).await?;
        let mut report = Vec::with_capacity(lines.len());
        for line in lines {
            let (outcome, after) = self.add_up_to(cart, &current, line, now).await?;
            if let Some(after) = after {
                current = after;
            }
            report.push(ReorderedLine {
                sku: line.sku.clone(),
                outcome,
            });
        }
        Ok(report)
    }

    /// Adds as much of `line` as fits: first what was ordered (within the 99 a line holds),
    /// then, if the stock says less, once more with what the stock allows. Two tries, not a
    /// loop: a second refusal means the stock moved meanwhile, and the line is left out.
    async fn add_up_to(
        &self,
        id: &CartId,
        cart: &Cart,
        line: &CheckoutLine,
        now: Millis,
    ) -> Result<(Reordered, Option<Cart>), CartError> {
        let wanted = line.quantity;
        let in_cart = cart
            .lines
            .iter()
            .find(|l| l.sku == line.sku)
            .map_or(0, |l| l.quantity.get());
        let mut quantity = wanted.min(Quantity::MAX - in_cart);
        for _ in 0..2 {
            let Ok(units) = Quantity::new(quantity) else {
                break;
            };
            match self.add(id, &line.sku, units, None, now).await {
                Ok(after) => {
                    let outcome = if quantity == wanted {
                        Reordered::Added { quantity }
                    } else {
                        Reordered::Reduced { wanted, quantity }
                    };
                    return Ok((outcome, Some(after)));
                }
                // `available` counts the whole line, what the cart holds included.
                Err(CartError::InsufficientStock { available, .. }) => {
                    quantity = quantity.min(available - in_cart);
                }
                Err(CartError::TooMany { in_cart, .. }) => {
                    quantity = quantity.min(Quantity::MAX - in_cart);
                }
                Err(CartError::UnknownSku(_) | CartError::MixedCurrency { .. }) => break,
                Err(e) => return Err(e),
            }
        }
        Ok((Reordered::Skipped { wanted }, None))
    }
}
