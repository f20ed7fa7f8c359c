//! Shipping zones and methods, the tax table, and the quote that puts them together: what
//! each seller's part of a cart costs to ship to an address, and the order's totals.
//!
//! The arithmetic is `crate::pricing`'s; this module finds what applies. An address belongs
//! to the zone that lists its region, else the one that lists its country, else the `*` zone
//! ("everywhere else"); no zone, no shipping. In a zone a seller with methods of their own
//! ships their parts by those, everyone else by the shop's.

#[cfg(feature = "server")]
mod store;
#[cfg(feature = "server")]
pub use store::{CurrencyConflict, QuoteLine, Rates, ShippingError, quote, settle_currency};
#[cfg(feature = "server")]
mod setup;
#[cfg(feature = "server")]
pub use setup::SetupError;

use crate::pricing::{Breakdown, ShippingOption};
use serde::{Deserialize, Serialize};

/// One seller's part of a cart: its options, cheapest first, and the one chosen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartOptions {
    pub seller: i64,
    /// The seller's shop name, for the page.
    pub seller_name: String,
    pub options: Vec<ShippingOption>,
    /// The chosen method's code (the cheapest unless the shopper chose another).
    pub chosen: String,
}

/// What a cart costs delivered to an address: each part's options, and the totals with the
/// chosen ones.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub parts: Vec<PartOptions>,
    pub breakdown: Breakdown,
}

/// A shopper's choice of method for one seller's part.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Choice {
    pub seller: i64,
    pub method: String,
}

/// One area of a zone: a whole country (`region` empty), one region of it, or, with
/// country `*`, everywhere no other zone covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Area {
    pub country: String,
    pub region: String,
}

/// A method as its editor shows it: its row id and whose it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodRow {
    pub id: i64,
    pub method: crate::pricing::ShippingMethod,
}

/// A zone with its areas and the methods of one scope (the shop's, or one seller's own).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneView {
    pub id: i64,
    pub name: String,
    pub areas: Vec<Area>,
    pub methods: Vec<MethodRow>,
}

/// A method's form as typed: amounts in the shop's currency as people write them
/// (`5.99`), days as whole numbers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodForm {
    pub code: String,
    pub name: String,
    /// `flat`, `free_over` or `by_weight`.
    pub kind: String,
    pub amount: String,
    #[serde(default)]
    pub threshold: String,
    #[serde(default)]
    pub per_kg: String,
    pub min_days: String,
    pub max_days: String,
}

impl Area {
    /// `US`, `US-CA` or `*`, as an editor lists them.
    pub fn label(&self) -> String {
        if self.region.is_empty() {
            self.country.clone()
        } else {
            format!("{}-{}", self.country, self.region)
        }
    }

    /// Reads a zone's areas written as `US, CA-ON, *` (commas, semicolons or spaces between).
    pub fn parse_list(text: &str) -> Result<Vec<Area>, String> {
        let mut areas: Vec<Area> = Vec::new();
        for item in text
            .split([',', ';', ' ', '\n'])
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            let upper = item.to_ascii_uppercase();
            let (country, region) = upper.split_once('-').unwrap_or((&upper, ""));
            let country_ok = country == "*"
                || (country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase()));
            let region_ok = region.len() <= 3
                && region.bytes().all(|b| b.is_ascii_alphanumeric())
                && (country != "*" || region.is_empty());
            if !country_ok || !region_ok {
                return Err(format!(
                    "{item:?} is not an area: write a two-letter country (US), a country and region (US-CA), or * for everywhere else"
                ));
            }
            let area = Area {
                country: country.to_string(),
                region: region.to_string(),
            };
            if !areas.contains(&area) {
                areas.push(area);
            }
        }
        if areas.is_empty() {
            return Err("list at least one area, such as US or US-CA".into());
        }
        Ok(areas)
    }
}

impl MethodForm {
    /// The form of a stored method, amounts written in `currency`.
    pub fn of(method: &crate::pricing::ShippingMethod, currency: crate::Currency) -> Self {
        use crate::pricing::MethodKind;
        let money = |minor: i64| crate::Money::new(minor, currency).decimal();
        let (kind, amount, threshold, per_kg) = match method.kind {
            MethodKind::Flat { amount } => ("flat", money(amount), String::new(), String::new()),
            MethodKind::FreeOver { amount, threshold } => {
                ("free_over", money(amount), money(threshold), String::new())
            }
            MethodKind::ByWeight { base, per_kg } => {
                ("by_weight", money(base), String::new(), money(per_kg))
            }
        };
        MethodForm {
            code: method.code.clone(),
            name: method.name.clone(),
            kind: kind.into(),
            amount,
            threshold,
            per_kg,
            min_days: method.days[0].to_string(),
            max_days: method.days[1].to_string(),
        }
    }

    /// Checks the form: the method, or every field's problem.
    pub fn parse(
        &self,
        currency: crate::Currency,
    ) -> Result<crate::pricing::ShippingMethod, crate::address::FieldErrors> {
        use crate::pricing::MethodKind;
        let mut errors = crate::address::FieldErrors::default();
        let code = self.code.trim().to_ascii_lowercase();
        if code.is_empty()
            || code.len() > 32
            || !code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        {
            errors.add(
                "code",
                "A code is 1–32 letters, digits, dashes or underscores, such as express.",
            );
        }
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 60 || name.chars().any(char::is_control) {
            errors.add("name", "A name is 1–60 characters, such as Express.");
        }
        let mut money = |field: &str, text: &str| -> i64 {
            match crate::Money::parse_price(text.trim(), currency) {
                Ok(m) => m.amount,
                Err(e) => {
                    errors.add(field, format!("The amount {} (in {currency}).", e.message));
                    0
                }
            }
        };
        let amount = money("amount", &self.amount);
        let kind = match self.kind.as_str() {
            "flat" => Some(MethodKind::Flat { amount }),
            "free_over" => Some(MethodKind::FreeOver {
                amount,
                threshold: money("threshold", &self.threshold),
            }),
            "by_weight" => Some(MethodKind::ByWeight {
                base: amount,
                per_kg: money("per_kg", &self.per_kg),
            }),
            _ => None,
        };
        let mut day = |field: &str, text: &str| -> u16 {
            match text.trim().parse::<u16>() {
                Ok(d) if d <= 365 => d,
                _ => {
                    errors.add(field, "Days are a whole number from 0 to 365.");
                    0
                }
            }
        };
        let days = [
            day("min_days", &self.min_days),
            day("max_days", &self.max_days),
        ];
        if days[1] < days[0] {
            errors.add(
                "max_days",
                "The longest delivery cannot be shorter than the shortest.",
            );
        }
        let Some(kind) = kind else {
            errors.add(
                "kind",
                "Choose how the method is priced: flat, free over an amount, or by weight.",
            );
            return Err(errors);
        };
        if errors.is_empty() {
            Ok(crate::pricing::ShippingMethod {
                code,
                name: name.to_string(),
                kind,
                days,
            })
        } else {
            Err(errors)
        }
    }
}
