//! Tax rules: a rate per country, or per region of a country, and whether shipping is taxed.
//!
//! A configurable table, not a tax service: it knows no local (county, city) rates, no
//! product-specific rates, no thresholds or exemptions. A shop that needs those connects a tax
//! service; docs/OPERATIONS.md says so.

use super::{PricingError, div_round_half_up};
use crate::InvalidInput;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A tax rate in parts per million: 7.25 % is `Rate(72_500)`, 6.875 % is `Rate(68_750)`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Rate(u32);

impl Rate {
    pub const ZERO: Rate = Rate(0);
    /// The highest rate accepted: 100 %.
    const MAX_PPM: u32 = 1_000_000;

    pub fn from_ppm(ppm: u32) -> Result<Self, InvalidInput> {
        if ppm > Self::MAX_PPM {
            return Err(InvalidInput::new("rate", "must be from 0 to 100 percent"));
        }
        Ok(Rate(ppm))
    }

    pub fn ppm(self) -> u32 {
        self.0
    }

    /// Parses a percentage as people write it: `7.25`, `20`, `6.875` (at most four decimals),
    /// optionally followed by `%`.
    pub fn parse_percent(text: &str) -> Result<Self, InvalidInput> {
        let refuse = || {
            InvalidInput::new(
                "rate",
                "must be a percentage from 0 to 100 with at most four decimals, such as 7.25",
            )
        };
        let text = text.trim().trim_end_matches('%').trim_end();
        let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
        if whole.is_empty()
            || whole.len() > 3
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || frac.len() > 4
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || (text.contains('.') && frac.is_empty())
        {
            return Err(refuse());
        }
        let whole: u32 = whole.parse().map_err(|_| refuse())?;
        let mut ppm = whole * 10_000;
        for (i, b) in frac.bytes().enumerate() {
            ppm += u32::from(b - b'0') * 10_u32.pow(3 - i as u32);
        }
        Rate::from_ppm(ppm).map_err(|_| refuse())
    }

    /// The tax in `amount` minor units, rounded half away from zero: on top of it when
    /// prices exclude tax, inside it when they include it.
    pub fn tax_on(self, amount: i64, mode: TaxMode) -> Result<i64, PricingError> {
        if amount < 0 {
            return Err(PricingError::Negative);
        }
        let ppm = i128::from(self.0);
        let amount = i128::from(amount);
        let tax = match mode {
            TaxMode::Exclusive => div_round_half_up(amount * ppm, 1_000_000),
            TaxMode::Inclusive => div_round_half_up(amount * ppm, 1_000_000 + ppm),
        };
        i64::try_from(tax).map_err(|_| PricingError::Overflow)
    }
}

impl fmt::Display for Rate {
    /// `7.25 %` → `7.25`; `20 %` → `20`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / 10_000;
        let frac = self.0 % 10_000;
        if frac == 0 {
            return write!(f, "{whole}");
        }
        let digits = format!("{frac:04}");
        write!(f, "{whole}.{}", digits.trim_end_matches('0'))
    }
}

/// Whether catalog prices include tax: US-style exclusive (the default) or EU-style
/// inclusive (prices shown with VAT).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaxMode {
    #[default]
    Exclusive,
    Inclusive,
}

/// One row of the tax table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaxRule {
    /// ISO 3166-1 alpha-2, upper case.
    pub country: String,
    /// The region's code within the country (`CA` for California), or empty for the whole
    /// country.
    #[serde(default)]
    pub region: String,
    #[cfg_attr(feature = "openapi", schema(value_type = u32))]
    pub rate: Rate,
    pub shipping_taxed: bool,
}

impl TaxRule {
    /// The rule for an address: the region's own rule if there is one, else the country's,
    /// else none (no tax).
    pub fn find<'a>(rules: &'a [TaxRule], country: &str, region: &str) -> Option<&'a TaxRule> {
        let region_rule = (!region.is_empty())
            .then(|| {
                rules
                    .iter()
                    .find(|r| r.country == country && r.region == region)
            })
            .flatten();
        region_rule.or_else(|| {
            rules
                .iter()
                .find(|r| r.country == country && r.region.is_empty())
        })
    }
}
