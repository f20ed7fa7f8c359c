//! Orders: their ids, the status state machine, and the views of them.

use crate::checkout::{Address, CheckoutLine};
use crate::{InvalidInput, Money};
use serde::{Deserialize, Serialize};

/// An order's id: `ord_` and 24 hex digits (unguessable, since a guest's order page is found
/// by id and e-mail).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrderId(String);

impl OrderId {
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        let ok = text.len() == 28
            && text.starts_with("ord_")
            && text[4..]
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if ok {
            Ok(OrderId(text.to_string()))
        } else {
            Err(InvalidInput::new("order_id", "is not an order number"))
        }
    }

    #[cfg(feature = "server")]
    pub fn generate() -> Self {
        use rand::Rng;
        let bytes: [u8; 12] = rand::rng().random();
        OrderId(format!(
            "ord_{}",
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for OrderId {
    type Error = InvalidInput;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        OrderId::parse(&s)
    }
}

impl From<OrderId> for String {
    fn from(o: OrderId) -> String {
        o.0
    }
}

impl std::fmt::Display for OrderId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An order's status. See docs/ORDER_STATES.md for the diagram.
///
/// ```text
/// confirmed ──► fulfilling ──► shipped ──► delivered
///     │              │            │            │
///     ├──────────────┴──► cancelled            │
///     └──────────────┴────────────┴────────────┴──► refunded
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Paid and recorded; stock committed.
    Confirmed,
    /// A shipment exists and is being prepared.
    Fulfilling,
    Shipped,
    Delivered,
    /// Stopped before shipping (and refunded).
    Cancelled,
    /// Money returned after shipping.
    Refunded,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 6] = [
        OrderStatus::Confirmed,
        OrderStatus::Fulfilling,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
        OrderStatus::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Confirmed => "confirmed",
            OrderStatus::Fulfilling => "fulfilling",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Refunded => "refunded",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The statuses an order may move to from this one.
    pub fn next(self) -> &'static [OrderStatus] {
        use OrderStatus::*;
        match self {
            Confirmed => &[Fulfilling, Cancelled, Refunded],
            Fulfilling => &[Shipped, Cancelled, Refunded],
            Shipped => &[Delivered, Refunded],
            Delivered => &[Refunded],
            Cancelled | Refunded => &[],
        }
    }

    pub fn can_become(self, next: OrderStatus) -> bool {
        self.next().contains(&next)
    }

    /// How often a page showing an order in this status reloads itself without JavaScript:
    /// soon while fulfillment is about to pick it up, slowly while it waits on a seller or a
    /// carrier, never once it has settled.
    pub fn refresh_secs(self) -> Option<u32> {
        match self {
            OrderStatus::Confirmed => Some(5),
            OrderStatus::Fulfilling | OrderStatus::Shipped => Some(60),
            OrderStatus::Delivered | OrderStatus::Cancelled | OrderStatus::Refunded => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            OrderStatus::Confirmed => "Confirmed",
            OrderStatus::Fulfilling => "Being prepared",
            OrderStatus::Shipped => "Shipped",
            OrderStatus::Delivered => "Delivered",
            OrderStatus::Cancelled => "Cancelled",
            OrderStatus::Refunded => "Refunded",
        }
    }
}

/// One step of an order's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusChange {
    pub status: OrderStatus,
    /// Milliseconds since the epoch.
    pub at: i64,
}

/// An order as its page and the API show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub id: OrderId,
    pub status: OrderStatus,
    pub email: String,
    pub total: Money,
    pub shipping_address: Address,
    pub lines: Vec<CheckoutLine>,
    pub history: Vec<StatusChange>,
    pub created_at: i64,
    /// What a coupon took off the lines' sum (`total` is what was charged).
    #[serde(default)]
    pub discount: i64,
    /// Subtotal, discount, shipping, tax and total, as computed at checkout.
    pub totals: crate::pricing::Totals,
    /// Each seller's part's delivery method and its price (empty for orders placed before
    /// shipping was priced).
    #[serde(default)]
    pub shipping: Vec<crate::pricing::PartShipping>,
}

/// An order in a list (a customer's history, the admin's orders).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderSummary {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub id: OrderId,
    pub status: OrderStatus,
    pub email: String,
    pub total: Money,
    pub items: i64,
    pub created_at: i64,
}

/// Where a refund ended up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefundView {
    pub id: String,
    pub amount: Money,
    pub status: String,
    pub reason: String,
    pub failure: Option<String>,
    pub created_at: i64,
}

/// A returned unit waiting for (or past) inspection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnedItem {
    pub id: i64,
    pub refund_id: String,
    pub order_id: String,
    pub sku: String,
    pub title: String,
    pub quantity: i64,
    pub status: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_machine_only_moves_forward() {
        use OrderStatus::*;
        assert!(Confirmed.can_become(Fulfilling));
        assert!(Shipped.can_become(Delivered));
        assert!(!Delivered.can_become(Shipped));
        assert!(!Cancelled.can_become(Confirmed));
        assert!(Refunded.next().is_empty());
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
            assert!(!s.can_become(s), "{s:?} is not a move");
        }
    }

    #[test]
    fn order_ids_are_unguessable_shapes() {
        assert!(OrderId::parse("ord_0123456789abcdef01234567").is_ok());
        assert!(OrderId::parse("ord_1").is_err());
        assert!(OrderId::parse("0123456789abcdef0123456789ab").is_err());
    }
}
