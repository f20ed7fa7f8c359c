//! Coupons: codes an admin creates (a percentage or an amount off, optional limits per
//! customer and in total, optional expiry), applied in the cart and redeemed by the checkout
//! saga in the transaction that claims the checkout.
//!
//! Redemption is one conditional `UPDATE … SET redeemed = redeemed + 1 WHERE redeemed <
//! total_limit`: on SQLite the write lock serialises claims, on PostgreSQL the row lock does
//! (and the per-customer count is read after taking it), so a burst of simultaneous checkouts
//! with a single-use code redeems it exactly once. A checkout that fails or is refunded
//! before it becomes an order gives its redemption back.
//!
//! A per-customer limit counts the signed-in account, or for a guest the mailbox (the address
//! without case or `+tag`), never the address as typed: `A+1@x.com` is not a new customer.

#[cfg(feature = "server")]
mod store;
#[cfg(feature = "server")]
pub use store::{
    CouponError, CouponRow, Coupons, NewCoupon, Redeemed, Refusal, customer, redeem, release,
};

use crate::{Currency, InvalidInput, Money};
use serde::{Deserialize, Serialize};

/// A coupon code: 3–32 letters, digits, `-` or `_`, compared without regard to case
/// (stored upper-case).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CouponCode(String);

impl CouponCode {
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        let text = text.trim();
        let ok = (3..=32).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(InvalidInput::new(
                "coupon",
                "must be 3–32 letters, digits, dashes or underscores",
            ));
        }
        Ok(Self(text.to_ascii_uppercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CouponCode {
    type Error = InvalidInput;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CouponCode> for String {
    fn from(value: CouponCode) -> Self {
        value.0
    }
}

impl std::fmt::Display for CouponCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a coupon takes off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase", tag = "kind", content = "value")]
pub enum Discount {
    /// 1–100 percent of the subtotal.
    Percent(i64),
    /// A fixed amount in the coupon's currency, at most the subtotal.
    Amount(Money),
}

impl Discount {
    /// The one way a discount is read, from the parts every way in gives it (the admin's
    /// form, the API, a stored coupon): `kind` `percent` with `value` 1–100, or `amount` with
    /// `value` in minor units of `currency`, above zero. A percentage has no currency of its
    /// own, so `currency` is read only for an amount.
    pub fn parse(kind: &str, value: i64, currency: &str) -> Result<Self, InvalidInput> {
        match kind {
            "percent" if (1..=100).contains(&value) => Ok(Discount::Percent(value)),
            "percent" => Err(InvalidInput::new("value", "a percentage must be 1–100")),
            "amount" if value > 0 => Ok(Discount::Amount(Money::new(
                value,
                Currency::parse(currency)?,
            ))),
            "amount" => Err(InvalidInput::new("value", "an amount must be above zero")),
            _ => Err(InvalidInput::new("kind", "must be percent or amount")),
        }
    }

    /// The parts `parse` reads, as a coupon is stored: kind, value and currency (the shop's for a
    /// percentage, which has none of its own).
    pub fn parts(&self) -> (&'static str, i64, Currency) {
        match *self {
            Discount::Percent(p) => ("percent", p, Currency::shop()),
            Discount::Amount(m) => ("amount", m.amount, m.currency),
        }
    }

    /// The discount on `subtotal`, never more than the subtotal, rounded down (in the
    /// shopper's favour would be up; down keeps percent coupons from exceeding their rate).
    /// `None` when the currencies differ.
    pub fn on(&self, subtotal: Money) -> Option<Money> {
        match *self {
            Discount::Percent(p) => {
                let off = i128::from(subtotal.amount) * i128::from(p.clamp(0, 100)) / 100;
                Some(Money::new(i64::try_from(off).ok()?, subtotal.currency))
            }
            Discount::Amount(m) if m.currency == subtotal.currency => Some(Money::new(
                m.amount.clamp(0, subtotal.amount),
                subtotal.currency,
            )),
            Discount::Amount(_) => None,
        }
    }

    pub fn label(&self) -> String {
        match self {
            Discount::Percent(p) => format!("{p}% off"),
            Discount::Amount(m) => format!("{m} off"),
        }
    }
}

/// A coupon as the cart shows it once applied.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppliedCoupon {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub code: CouponCode,
    pub label: String,
    /// The discount on the cart as it is now; `None` with `problem` when it would not apply.
    pub discount: Option<Money>,
    pub problem: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_short_plain_and_case_free() {
        assert_eq!(
            CouponCode::parse(" save10 ").map(|c| c.0),
            Ok("SAVE10".into())
        );
        for bad in ["", "ab", "a b c", "x'; DROP", &"A".repeat(33), "ÅÅÅ"] {
            assert!(CouponCode::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn discounts_never_exceed_the_subtotal_or_cross_currencies() {
        let usd = |a| Money::new(a, Currency::USD);
        assert_eq!(Discount::Percent(10).on(usd(1999)), Some(usd(199)));
        assert_eq!(Discount::Percent(100).on(usd(1999)), Some(usd(1999)));
        assert_eq!(Discount::Amount(usd(500)).on(usd(300)), Some(usd(300)));
        assert_eq!(Discount::Amount(usd(500)).on(usd(3000)), Some(usd(500)));
        let eur = Currency::parse("EUR").expect("EUR");
        assert_eq!(Discount::Amount(Money::new(5, eur)).on(usd(3000)), None);
        assert_eq!(
            Discount::Percent(50).on(usd(i64::MAX)).map(|m| m.amount),
            Some(i64::MAX / 2)
        );
    }

    #[test]
    fn a_discount_is_read_from_its_parts_one_way_whoever_gives_them() {
        let usd = |a| Money::new(a, Currency::USD);
        assert_eq!(
            Discount::parse("percent", 10, ""),
            Ok(Discount::Percent(10))
        );
        assert_eq!(
            Discount::parse("percent", 100, "USD"),
            Ok(Discount::Percent(100))
        );
        assert_eq!(
            Discount::parse("amount", 500, "USD"),
            Ok(Discount::Amount(usd(500)))
        );
        for (kind, value, currency, field) in [
            ("percent", 0, "USD", "value"),
            ("percent", 101, "USD", "value"),
            ("amount", 0, "USD", "value"),
            ("amount", -5, "USD", "value"),
            ("amount", 500, "usd", "currency"),
            ("fraction", 5, "USD", "kind"),
        ] {
            let refused = Discount::parse(kind, value, currency)
                .expect_err(&format!("{kind} {value} {currency} should be refused"));
            assert_eq!(
                refused.field, field,
                "{kind} {value} {currency}: {refused:?}"
            );
        }
        // What is stored is read back as it was.
        for discount in [Discount::Percent(15), Discount::Amount(usd(250))] {
            let (kind, value, currency) = discount.parts();
            assert_eq!(Discount::parse(kind, value, currency.code()), Ok(discount));
        }
    }
}
