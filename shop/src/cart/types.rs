//! The cart's values.

use crate::catalog::{ProductId, Sku, Slug, VariantId, product_url};
use crate::{InvalidInput, Money};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A cart's id: 32 lower-case hex digits (128 random bits).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CartId(String);

impl CartId {
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        if text.len() == 32
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(CartId(text.to_string()))
        } else {
            Err(InvalidInput::new("cart_id", "is not a cart id"))
        }
    }

    /// A new random id.
    #[cfg(feature = "server")]
    pub fn generate() -> Self {
        use rand::Rng;
        let bytes: [u8; 16] = rand::rng().random();
        CartId(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CartId {
    type Error = InvalidInput;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        CartId::parse(&s)
    }
}

impl From<CartId> for String {
    fn from(c: CartId) -> String {
        c.0
    }
}

impl fmt::Display for CartId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How many of one SKU a line holds: 1–99.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Quantity(u8);

impl Quantity {
    pub const MAX: i64 = 99;

    pub fn new(n: i64) -> Result<Self, InvalidInput> {
        u8::try_from(n)
            .ok()
            .filter(|n| (1..=99).contains(n))
            .map(Quantity)
            .ok_or_else(|| InvalidInput::new("quantity", "must be a whole number from 1 to 99"))
    }

    /// Parses form or query text.
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        let text = text.trim();
        if text.is_empty() || text.len() > 3 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidInput::new(
                "quantity",
                "must be a whole number from 1 to 99",
            ));
        }
        Quantity::new(text.parse().unwrap_or(0))
    }

    pub fn get(self) -> i64 {
        i64::from(self.0)
    }
}

impl TryFrom<i64> for Quantity {
    type Error = InvalidInput;
    fn try_from(n: i64) -> Result<Self, Self::Error> {
        Quantity::new(n)
    }
}

impl From<Quantity> for i64 {
    fn from(q: Quantity) -> i64 {
        q.get()
    }
}

/// A quantity to set a line to: 0 removes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineQuantity {
    Remove,
    Set(Quantity),
}

impl LineQuantity {
    pub fn new(n: i64) -> Result<Self, InvalidInput> {
        if n == 0 {
            Ok(LineQuantity::Remove)
        } else {
            Quantity::new(n).map(LineQuantity::Set).map_err(|_| {
                InvalidInput::new(
                    "quantity",
                    "must be a whole number from 0 to 99 (0 removes)",
                )
            })
        }
    }

    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        match text.trim() {
            "0" => Ok(LineQuantity::Remove),
            other => Quantity::parse(other).map(LineQuantity::Set).map_err(|_| {
                InvalidInput::new(
                    "quantity",
                    "must be a whole number from 0 to 99 (0 removes)",
                )
            }),
        }
    }
}

/// Something the shopper should know about a line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LineNotice {
    /// None left: the line cannot be bought as it is.
    OutOfStock,
    /// Fewer left than the line asks for.
    OnlyLeft { available: i64 },
    /// The unit price moved since the shopper chose the quantity.
    PriceChanged { was: Money, now: Money },
}

/// A cart line as the cart page and the API show it, with current price and stock.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CartLine {
    pub variant_id: VariantId,
    pub product_id: ProductId,
    pub sku: Sku,
    pub title: String,
    pub slug: Slug,
    /// `Size: Queen` and the like, or empty.
    pub options: String,
    pub quantity: Quantity,
    pub unit_price: Money,
    pub line_total: Money,
    pub available: i64,
    pub notices: Vec<LineNotice>,
    /// The product's first live picture, attached by the cart page (none while the image
    /// store fails).
    #[serde(default)]
    pub picture: Option<crate::assets::Picture>,
    /// The product's seller: whose part of the order the line ships in.
    #[serde(default)]
    pub seller_id: i64,
    /// One unit's weight in grams, when known.
    #[serde(default)]
    pub weight_grams: Option<i64>,
}

impl CartLine {
    pub fn url(&self) -> String {
        format!("{}?sku={}", product_url(&self.slug), self.sku)
    }

    /// Whether checkout can take this line as it is.
    pub fn is_buyable(&self) -> bool {
        self.available >= self.quantity.get()
    }
}

/// A whole cart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cart {
    pub id: CartId,
    pub lines: Vec<CartLine>,
    /// `None` for an empty cart.
    pub subtotal: Option<Money>,
    pub item_count: i64,
    /// The coupon applied to the cart, with what it takes off now (or why it would not).
    #[serde(default)]
    pub coupon: Option<crate::coupons::AppliedCoupon>,
}

impl Cart {
    /// What checkout will charge as the cart stands: the subtotal less the coupon's discount.
    pub fn total(&self) -> Option<Money> {
        let subtotal = self.subtotal?;
        Some(Money::new(
            subtotal.amount - self.discount(),
            subtotal.currency,
        ))
    }

    /// What the coupon takes off now, in minor units (0 without one).
    pub fn discount(&self) -> i64 {
        self.coupon
            .as_ref()
            .and_then(|c| c.discount)
            .map_or(0, |d| d.amount)
    }
}

/// What became of a guest cart's line when the shopper signed in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergedLine {
    pub sku: Sku,
    pub title: String,
    pub outcome: MergeOutcome,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MergeOutcome {
    /// Moved over as it was.
    Kept { quantity: i64 },
    /// Added to the same item already in the account's cart.
    Combined { quantity: i64 },
    /// Fewer than wanted: only `quantity` can be bought now.
    Reduced { wanted: i64, quantity: i64 },
    /// None left: dropped.
    Removed { wanted: i64 },
}

impl MergedLine {
    pub fn describe(&self) -> String {
        match self.outcome {
            MergeOutcome::Kept { quantity } => format!("{} × {}: kept", quantity, self.title),
            MergeOutcome::Combined { quantity } => {
                format!(
                    "{}: combined with your saved cart, now {}",
                    self.title, quantity
                )
            }
            MergeOutcome::Reduced { wanted, quantity } => format!(
                "{}: reduced from {} to {}, all that is available",
                self.title, wanted, quantity
            ),
            MergeOutcome::Removed { .. } => format!("{}: removed, none left", self.title),
        }
    }
}

impl Cart {
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Whether every line can be bought as it is.
    pub fn is_buyable(&self) -> bool {
        !self.lines.is_empty() && self.lines.iter().all(CartLine::is_buyable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cart_ids_are_exactly_32_hex_digits() {
        assert!(CartId::parse("0123456789abcdef0123456789abcdef").is_ok());
        for bad in [
            "",
            "xyz",
            "0123456789ABCDEF0123456789ABCDEF",
            "0123456789abcdef0123456789abcde",
        ] {
            assert!(CartId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn quantities_are_one_to_ninety_nine() {
        assert_eq!(Quantity::parse("3").unwrap().get(), 3);
        for bad in ["0", "100", "-1", "1e2", "", "abc", "99999999999"] {
            assert!(Quantity::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(LineQuantity::parse("0").unwrap(), LineQuantity::Remove);
        assert!(LineQuantity::new(-5).is_err());
        assert!(serde_json::from_str::<Quantity>("150").is_err());
    }
}
