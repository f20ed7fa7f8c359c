//! Shipping methods and what they cost for one seller's part of an order.

use super::PricingError;
use serde::{Deserialize, Serialize};

/// How a method prices a parcel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum MethodKind {
    /// The same amount for any parcel.
    Flat { amount: i64 },
    /// `amount`, or nothing when the part's goods (after its share of the discount) cost at
    /// least `threshold`.
    FreeOver { amount: i64, threshold: i64 },
    /// `base`, plus `per_kg` for every kilogram or part of one the parcel weighs.
    ByWeight { base: i64, per_kg: i64 },
}

/// A way to ship, as the admin (or a seller, for their own parts) set it up for a zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShippingMethod {
    /// Stable code, unique within a zone (`standard`, `express`).
    pub code: String,
    pub name: String,
    #[serde(flatten)]
    pub kind: MethodKind,
    /// The delivery estimate in days, `[min, max]`.
    pub days: [u16; 2],
}

/// One method offered for a part, priced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShippingOption {
    pub method: String,
    pub name: String,
    pub amount: i64,
    pub days: [u16; 2],
}

impl ShippingMethod {
    /// What this method charges for a part whose goods cost `goods` (after discount) and
    /// weigh `grams`.
    pub fn price(&self, goods: i64, grams: i64) -> Result<i64, PricingError> {
        match self.kind {
            MethodKind::Flat { amount } => Ok(amount),
            MethodKind::FreeOver { amount, threshold } => {
                Ok(if goods >= threshold { 0 } else { amount })
            }
            MethodKind::ByWeight { base, per_kg } => {
                let started_kg = (grams.max(0) + 999) / 1000;
                per_kg
                    .checked_mul(started_kg)
                    .and_then(|w| w.checked_add(base))
                    .ok_or(PricingError::Overflow)
            }
        }
    }
}

/// Every method priced for one part, cheapest first (ties by the faster estimate, then by
/// code, so the preselected option is the same on every page).
pub fn quote(
    methods: &[ShippingMethod],
    goods: i64,
    grams: i64,
) -> Result<Vec<ShippingOption>, PricingError> {
    let mut options = methods
        .iter()
        .map(|m| {
            Ok(ShippingOption {
                method: m.code.clone(),
                name: m.name.clone(),
                amount: m.price(goods, grams)?,
                days: m.days,
            })
        })
        .collect::<Result<Vec<_>, PricingError>>()?;
    options.sort_by(|a, b| (a.amount, a.days, &a.method).cmp(&(b.amount, b.days, &b.method)));
    Ok(options)
}
