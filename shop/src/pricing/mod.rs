//! An order's totals: subtotal, discount, shipping, tax and total, computed from the priced
//! lines, the discount, each seller's chosen shipping and the tax rule of the address.
//!
//! Pure arithmetic on integer minor units, with no storage, so the browser bundle and the
//! server compute the same numbers and the property tests can drive it directly.
//!
//! Invariants (each held by a property test in this module):
//! - `total = subtotal − discount + shipping + tax` when prices exclude tax (the default), and
//!   `total = subtotal − discount + shipping` when they include it (`tax` is then the part of
//!   those amounts that is tax);
//! - the discount is spread over the lines in proportion to their amounts, and the shares add
//!   up to the discount exactly (largest remainder);
//! - tax is computed per line, and per seller's shipping when the rule taxes shipping, each
//!   rounded half away from zero to the minor unit (the documented rounding rule);
//! - refunds of any lines, in any order, never add up to more than was paid, component by
//!   component, and refunding every line gives back exactly what was paid.

mod refund;
mod shipping;
mod tax;

pub use refund::{Refund, refund};
pub use shipping::{MethodKind, ShippingMethod, ShippingOption, quote};
pub use tax::{Rate, TaxMode, TaxRule};

use crate::{Currency, Money};
use serde::{Deserialize, Serialize};

/// One line of an order as the totals see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedLine {
    /// The seller whose part of the order the line is in.
    pub seller: i64,
    pub quantity: i64,
    /// Quantity × unit price, in minor units.
    pub amount: i64,
    /// Quantity × unit weight, in grams.
    pub weight_grams: i64,
}

/// What one seller's part of the order costs to ship, as chosen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartShipping {
    pub seller: i64,
    /// The method's code (`standard`, `express` …).
    pub method: String,
    pub name: String,
    pub amount: i64,
    /// The tax on this shipping (0 when the rule does not tax shipping).
    pub tax: i64,
    /// The delivery estimate, in days: `[min, max]`.
    pub days: [u16; 2],
}

impl PartShipping {
    /// How the order page and the order mail write it: `Standard (free), 3–5 days`.
    pub fn describe(&self, currency: Currency) -> String {
        let price = if self.amount == 0 {
            "free".to_owned()
        } else {
            Money::new(self.amount, currency).to_string()
        };
        format!(
            "{} ({price}), {}–{} days",
            self.name, self.days[0], self.days[1]
        )
    }
}

/// The tax and discount of one line, as computed at checkout and kept with the order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineTax {
    /// The line's share of the discount.
    pub discount: i64,
    pub tax: i64,
}

/// The five amounts every page, mail and API answer shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Totals {
    pub subtotal: Money,
    pub discount: Money,
    pub shipping: Money,
    pub tax: Money,
    pub total: Money,
    /// Whether the shop's prices include tax: then `tax` is already inside the other amounts.
    #[serde(default)]
    pub tax_included: bool,
}

impl Totals {
    /// An order with nothing in it, in `currency`.
    pub fn zero(currency: Currency) -> Self {
        let zero = Money::new(0, currency);
        Self {
            subtotal: zero,
            discount: zero,
            shipping: zero,
            tax: zero,
            total: zero,
            tax_included: false,
        }
    }
}

/// Everything the order keeps of its pricing: never recomputed after confirmation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breakdown {
    pub totals: Totals,
    /// Per line, in the order's line order.
    pub lines: Vec<LineTax>,
    /// Per seller's part, in order of first appearance in the lines.
    pub parts: Vec<PartShipping>,
    /// The tax rule applied: rate in parts per million, and whether shipping was taxed.
    pub rate: Rate,
    pub shipping_taxed: bool,
}

/// Why an order's amounts cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    #[error("the amounts are too large")]
    Overflow,
    #[error("a line's amount is negative")]
    Negative,
    #[error("the discount is larger than the subtotal")]
    DiscountTooLarge,
}

/// Computes an order's totals.
///
/// `shipping` holds one chosen option per seller's part (parts without one ship free: the
/// caller resolves methods first, see [`quote`]); `rule` is the address's tax rule (none:
/// no tax).
pub fn compute(
    currency: Currency,
    lines: &[PricedLine],
    discount: i64,
    shipping: &[PartShipping],
    rule: Option<&TaxRule>,
    mode: TaxMode,
) -> Result<Breakdown, PricingError> {
    if lines.iter().any(|l| l.amount < 0) || discount < 0 || shipping.iter().any(|s| s.amount < 0) {
        return Err(PricingError::Negative);
    }
    let subtotal = checked_sum(lines.iter().map(|l| l.amount))?;
    if discount > subtotal {
        return Err(PricingError::DiscountTooLarge);
    }
    let shares = allocate(
        discount,
        &lines.iter().map(|l| l.amount).collect::<Vec<_>>(),
    )?;
    let rate = rule.map_or(Rate::ZERO, |r| r.rate);
    let shipping_taxed = rule.is_some_and(|r| r.shipping_taxed);
    let mut line_taxes = Vec::with_capacity(lines.len());
    for (line, share) in lines.iter().zip(&shares) {
        let tax = rate.tax_on(line.amount - share, mode)?;
        line_taxes.push(LineTax {
            discount: *share,
            tax,
        });
    }
    let mut parts = Vec::with_capacity(shipping.len());
    for part in shipping {
        let tax = if shipping_taxed {
            rate.tax_on(part.amount, mode)?
        } else {
            0
        };
        parts.push(PartShipping {
            tax,
            ..part.clone()
        });
    }
    let shipping_total = checked_sum(parts.iter().map(|p| p.amount))?;
    let tax = checked_sum(
        line_taxes
            .iter()
            .map(|l| l.tax)
            .chain(parts.iter().map(|p| p.tax)),
    )?;
    let mut total = (subtotal - discount)
        .checked_add(shipping_total)
        .ok_or(PricingError::Overflow)?;
    if mode == TaxMode::Exclusive {
        total = total.checked_add(tax).ok_or(PricingError::Overflow)?;
    }
    let money = |amount| Money::new(amount, currency);
    Ok(Breakdown {
        totals: Totals {
            subtotal: money(subtotal),
            discount: money(discount),
            shipping: money(shipping_total),
            tax: money(tax),
            total: money(total),
            tax_included: mode == TaxMode::Inclusive,
        },
        lines: line_taxes,
        parts,
        rate,
        shipping_taxed,
    })
}

fn checked_sum(mut amounts: impl Iterator<Item = i64>) -> Result<i64, PricingError> {
    amounts
        .try_fold(0_i64, i64::checked_add)
        .ok_or(PricingError::Overflow)
}

/// Splits `amount` over `weights` in proportion, the shares adding up to `amount` exactly:
/// each share is rounded down, and the units left over go to the largest remainders (ties to
/// the earlier line). `amount` must not exceed the weights' sum.
pub fn allocate(amount: i64, weights: &[i64]) -> Result<Vec<i64>, PricingError> {
    let sum = checked_sum(weights.iter().copied())?;
    if amount == 0 || sum == 0 {
        return Ok(vec![0; weights.len()]);
    }
    let mut shares = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    for (i, w) in weights.iter().enumerate() {
        // i128: amount × weight may not fit in i64.
        let exact = i128::from(amount) * i128::from(*w);
        let share = exact / i128::from(sum);
        shares.push(share as i64);
        remainders.push((exact % i128::from(sum), i));
    }
    let left = amount - shares.iter().sum::<i64>();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders.into_iter().take(left as usize) {
        shares[i] += 1;
    }
    Ok(shares)
}

/// `numerator / denominator`, rounded half away from zero (both positive or zero).
pub(crate) fn div_round_half_up(numerator: i128, denominator: i128) -> i128 {
    (numerator * 2 + denominator) / (denominator * 2)
}

#[cfg(test)]
mod tests;
