//! What giving back some of an order's lines refunds: the goods, less their share of the
//! discount, plus their tax and a proportional share of their seller's shipping and its tax.
//!
//! Each share is computed on what has been refunded so far in total, then the earlier refunds
//! are subtracted: a share `round(whole × refunded / all)` never falls as more is refunded and
//! reaches `whole` exactly when everything is, so refunds in any order and any number never
//! add up to more than was paid, and refunding everything gives back exactly what was paid.

use super::{Breakdown, PricedLine, PricingError, div_round_half_up};
use serde::{Deserialize, Serialize};

/// One refund, by component (minor units).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub goods: i64,
    pub discount: i64,
    pub shipping: i64,
    pub tax: i64,
    /// What goes back to the shopper's card.
    pub total: i64,
}

/// The refund for returning `now[i]` more units of line `i`, when `before[i]` units of it
/// were refunded already. `lines` and `breakdown` are the order's, as confirmed.
pub fn refund(
    breakdown: &Breakdown,
    lines: &[PricedLine],
    before: &[i64],
    now: &[i64],
) -> Result<Refund, PricingError> {
    if before.len() != lines.len() || now.len() != lines.len() {
        return Err(PricingError::Negative);
    }
    let after: Vec<i64> = before.iter().zip(now).map(|(b, n)| b + n).collect();
    for ((line, b), a) in lines.iter().zip(before).zip(&after) {
        if *b < 0 || a < b || *a > line.quantity {
            return Err(PricingError::Negative);
        }
    }
    // A share of `whole` for `done` out of `of`, rounded half up; `of` = 0 means nothing.
    let share = |whole: i64, done: i64, of: i64| -> i64 {
        if of == 0 {
            return 0;
        }
        div_round_half_up(i128::from(whole) * i128::from(done), i128::from(of)) as i64
    };
    let mut out = Refund::default();
    for (i, line) in lines.iter().enumerate() {
        let taxes = breakdown.lines.get(i).copied().unwrap_or_default();
        let step = |whole: i64| {
            share(whole, after[i], line.quantity) - share(whole, before[i], line.quantity)
        };
        out.goods += step(line.amount);
        out.discount += step(taxes.discount);
        out.tax += step(taxes.tax);
    }
    // Shipping: each part's, in proportion to the part's goods given back.
    for part in &breakdown.parts {
        let of_part = |qty: &[i64]| -> i64 {
            lines
                .iter()
                .zip(qty)
                .filter(|(l, _)| l.seller == part.seller)
                .map(|(l, q)| share(l.amount, *q, l.quantity))
                .sum()
        };
        let all: i64 = lines
            .iter()
            .filter(|l| l.seller == part.seller)
            .map(|l| l.amount)
            .sum();
        let (was, is) = (of_part(before), of_part(&after));
        out.shipping += share(part.amount, is, all) - share(part.amount, was, all);
        out.tax += share(part.tax, is, all) - share(part.tax, was, all);
    }
    out.total = out.goods - out.discount + out.shipping;
    // Tax inside the prices is already in the goods and shipping given back.
    if !breakdown.totals.tax_included {
        out.total += out.tax;
    }
    Ok(out)
}
