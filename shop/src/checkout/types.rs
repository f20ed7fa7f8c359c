//! The checkout's values: what a shopper submits, and what an attempt looks like.

use crate::cart::CartId;
use crate::catalog::{Sku, VariantId};
use crate::input::parse_token;
use crate::payments::CardNumber;
use crate::{InvalidInput, Money};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The `Idempotency-Key` of a checkout: 8–64 letters, digits, `-` or `_`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        parse_token("Idempotency-Key", text).map(IdempotencyKey)
    }

    /// A fresh random key (the checkout page renders one into its form).
    #[cfg(feature = "server")]
    pub fn generate() -> Self {
        use rand::Rng;
        let bytes: [u8; 16] = rand::rng().random();
        IdempotencyKey(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for IdempotencyKey {
    type Error = InvalidInput;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        IdempotencyKey::parse(&s)
    }
}

impl From<IdempotencyKey> for String {
    fn from(k: IdempotencyKey) -> String {
        k.0
    }
}

/// An e-mail address, checked for shape (one `@`, a dotted domain, no spaces, ≤ 254 chars).
/// The domain is lower-cased; the local part is kept as typed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        let text = text.trim();
        let refuse =
            || InvalidInput::new("email", "must be an e-mail address such as ana@example.com");
        if text.len() > 254 || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(refuse());
        }
        let (local, domain) = text.rsplit_once('@').ok_or_else(refuse)?;
        let labels_ok = domain
            .split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-'));
        if local.is_empty()
            || local.len() > 64
            || local.contains('@')
            || !domain.contains('.')
            || !labels_ok
        {
            return Err(refuse());
        }
        Ok(Email(format!("{local}@{}", domain.to_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = InvalidInput;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Email::parse(&s)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub use crate::address::Address;

/// Everything a checkout needs from the shopper.
#[derive(Clone, Debug)]
pub struct CheckoutRequest {
    pub cart: CartId,
    pub email: Email,
    pub address: Address,
    pub card: CardNumber,
    /// The total the shopper saw. If the server's total differs, the checkout stops and asks
    /// the shopper to confirm the new one. `None` (API clients) accepts the server's total.
    pub expected_total: Option<i64>,
    /// The signed-in account placing the order (it then appears in their order history).
    pub user: Option<crate::accounts::UserId>,
    /// The delivery method chosen per seller's part; a part left out ships by its cheapest.
    pub shipping: Vec<crate::shipping::Choice>,
}

/// Where a checkout attempt is. Each state is a recovery point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CheckoutState {
    /// The key is claimed and the cart priced; nothing held yet.
    Claimed,
    /// Stock is held.
    Reserved,
    /// The charge request is going to the gateway.
    Paying,
    /// The gateway did not say whether it charged; resolved by looking the key up.
    PaymentUnknown,
    /// Charged; the order is being written.
    Paid,
    /// Charged but the order cannot be written (the stock is gone): refunding.
    Compensating,
    /// Done: the order exists.
    Confirmed,
    /// Done: no order (and no money kept).
    Failed,
}

impl CheckoutState {
    pub const ALL: [CheckoutState; 8] = [
        CheckoutState::Claimed,
        CheckoutState::Reserved,
        CheckoutState::Paying,
        CheckoutState::PaymentUnknown,
        CheckoutState::Paid,
        CheckoutState::Compensating,
        CheckoutState::Confirmed,
        CheckoutState::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CheckoutState::Claimed => "claimed",
            CheckoutState::Reserved => "reserved",
            CheckoutState::Paying => "paying",
            CheckoutState::PaymentUnknown => "payment_unknown",
            CheckoutState::Paid => "paid",
            CheckoutState::Compensating => "compensating",
            CheckoutState::Confirmed => "confirmed",
            CheckoutState::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, CheckoutState::Confirmed | CheckoutState::Failed)
    }

    /// While the money may be moving, holds must not expire under the attempt.
    pub fn payment_in_progress(self) -> bool {
        matches!(
            self,
            CheckoutState::Paying
                | CheckoutState::PaymentUnknown
                | CheckoutState::Paid
                | CheckoutState::Compensating
        )
    }

    /// What the shopper reads while waiting.
    pub fn label(self) -> &'static str {
        match self {
            CheckoutState::Claimed | CheckoutState::Reserved => "Reserving your items",
            CheckoutState::Paying => "Taking payment",
            CheckoutState::PaymentUnknown => "Confirming your payment with the bank",
            CheckoutState::Paid => "Payment received, placing your order",
            CheckoutState::Compensating => "Refunding your payment",
            CheckoutState::Confirmed => "Order confirmed",
            CheckoutState::Failed => "Checkout did not complete",
        }
    }
}

/// One line as the checkout priced it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutLine {
    pub variant_id: VariantId,
    pub sku: Sku,
    pub title: String,
    pub options: String,
    pub quantity: i64,
    pub unit_price: i64,
    /// The seller whose part of the order the line ships in (0 in attempts stored before
    /// orders were split by seller).
    #[serde(default)]
    pub seller_id: i64,
}

/// A checkout attempt as its status page and the API show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckoutView {
    pub id: String,
    pub state: CheckoutState,
    pub total: Money,
    pub lines: Vec<CheckoutLine>,
    pub email: String,
    pub order_id: Option<String>,
    /// The token of the order's secret link, once there is an order: the confirmation page
    /// links to the order with it.
    #[serde(default)]
    pub order_token: Option<String>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_have_a_shape() {
        assert_eq!(
            Email::parse(" Ana@Example.COM ").unwrap().as_str(),
            "Ana@example.com"
        );
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.com",
            "ana@example",
            "a b@example.com",
            "ana@exa mple.com",
            "ana@@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn states_round_trip_and_know_what_is_final() {
        for s in CheckoutState::ALL {
            assert_eq!(CheckoutState::parse(s.as_str()), Some(s));
        }
        assert!(CheckoutState::Confirmed.is_terminal());
        assert!(!CheckoutState::PaymentUnknown.is_terminal());
        assert!(CheckoutState::Paid.payment_in_progress());
        assert!(!CheckoutState::Reserved.payment_in_progress());
    }

    #[test]
    fn keys_are_plain_tokens() {
        assert!(IdempotencyKey::parse("b4f1c2d3-aaaa-bbbb").is_ok());
        assert!(IdempotencyKey::parse("short").is_err());
        assert!(IdempotencyKey::parse("has spaces in it").is_err());
    }
}
