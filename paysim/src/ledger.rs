//! The ledger: every charge and refund, found by idempotency key, each with the first answer
//! it was given, so that a replay is that answer byte for byte.

use crate::cards::Card;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;

/// An answer: its HTTP status and JSON body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    /// An error in the API's shape: `{ "error": { "type", "message" } }`.
    pub fn error(status: u16, kind: &str, message: &str) -> Self {
        Self {
            status,
            body: json!({ "error": { "type": kind, "message": message } }).to_string(),
        }
    }

    /// A 400 for a malformed request.
    pub fn invalid(message: &str) -> Self {
        Self::error(400, "invalid_request_error", message)
    }
}

/// The idempotency key a charge or refund must carry: up to 255 visible ASCII characters.
pub(crate) fn key(key: Option<&str>) -> Result<&str, Answer> {
    match key {
        Some(k) if (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()) => Ok(k),
        Some(_) => Err(Answer::invalid(
            "the Idempotency-Key must be 1 to 255 visible ASCII characters",
        )),
        None => Err(Answer::invalid("the Idempotency-Key header is required")),
    }
}

/// A charge request, checked: `{ amount, currency, card_number }`.
#[derive(Debug)]
pub(crate) struct ChargeRequest {
    amount: i64,
    currency: String,
    card: Card,
}

impl ChargeRequest {
    pub fn read(body: &Value) -> Result<Self, Answer> {
        #[derive(Deserialize)]
        struct Raw {
            amount: i64,
            currency: String,
            card_number: String,
        }
        let raw = Raw::deserialize(body).map_err(|e| Answer::invalid(&e.to_string()))?;
        if !(1..=1_000_000_000_000).contains(&raw.amount) {
            return Err(Answer::invalid("amount must be positive"));
        }
        if !(raw.currency.len() == 3 && raw.currency.bytes().all(|b| b.is_ascii_uppercase())) {
            return Err(Answer::invalid("unknown currency"));
        }
        let card = Card::parse(&raw.card_number)
            .ok_or_else(|| Answer::error(400, "card_error", "invalid card number"))?;
        Ok(Self {
            amount: raw.amount,
            currency: raw.currency,
            card,
        })
    }

    /// What makes two requests under one key the same request.
    fn fingerprint(&self) -> String {
        format!("{}|{}|{}", self.amount, self.currency, self.card.digits())
    }
}

/// A refund request: `{ charge_id, amount? }` (the whole remainder without an amount).
#[derive(Debug, Deserialize)]
pub(crate) struct RefundRequest {
    charge_id: String,
    amount: Option<i64>,
}

impl RefundRequest {
    pub fn read(body: &Value) -> Result<Self, Answer> {
        Self::deserialize(body).map_err(|e| Answer::invalid(&e.to_string()))
    }
}

/// A charge in the ledger.
#[derive(Clone, Debug)]
pub struct Charge {
    pub id: String,
    /// The caller's idempotency key (the shop's checkout attempt).
    pub key: String,
    pub amount: i64,
    pub currency: String,
    pub card_brand: &'static str,
    pub card_last4: String,
    /// Why the card was declined; `None` for a charge that succeeded.
    pub decline_code: Option<&'static str>,
    /// How much of it has been refunded.
    pub refunded: i64,
    pub created: i64,
    fingerprint: String,
    answer: Answer,
}

impl Charge {
    pub fn succeeded(&self) -> bool {
        self.decline_code.is_none()
    }

    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "charge",
            "idempotency_key": self.key,
            "amount": self.amount,
            "currency": self.currency,
            "status": if self.succeeded() { "succeeded" } else { "declined" },
            "decline_code": self.decline_code,
            "refunded_amount": self.refunded,
            "card": { "brand": self.card_brand, "last4": self.card_last4 },
            "created": self.created,
        })
    }
}

/// A refund in the ledger.
#[derive(Clone, Debug)]
pub struct Refund {
    pub id: String,
    pub key: String,
    pub charge_id: String,
    pub amount: i64,
    pub created: i64,
    answer: Answer,
}

#[derive(Debug, Default)]
pub(crate) struct Ledger {
    charges: Vec<Charge>,
    refunds: Vec<Refund>,
    /// Positions in `charges` by key and by id, and in `refunds` by key.
    charge_by_key: HashMap<String, usize>,
    charge_by_id: HashMap<String, usize>,
    refund_by_key: HashMap<String, usize>,
}

impl Ledger {
    /// Makes the charge under `key` (its id from `new_id`), or replays it; `Err` with the 409
    /// when the key was used for a different request.
    pub fn charge(
        &mut self,
        key: &str,
        request: &ChargeRequest,
        now: i64,
        new_id: impl FnOnce() -> String,
    ) -> Result<Answer, Answer> {
        let fingerprint = request.fingerprint();
        if let Some(&at) = self.charge_by_key.get(key) {
            let charge = &self.charges[at];
            return if charge.fingerprint == fingerprint {
                Ok(charge.answer.clone())
            } else {
                Err(Answer::error(
                    409,
                    "idempotency_error",
                    "this Idempotency-Key was used for a different request",
                ))
            };
        }
        let decline_code = request.card.decline_code();
        let mut charge = Charge {
            id: new_id(),
            key: key.to_string(),
            amount: request.amount,
            currency: request.currency.clone(),
            card_brand: request.card.brand(),
            card_last4: request.card.last4().to_string(),
            decline_code,
            refunded: 0,
            created: now,
            fingerprint,
            answer: Answer {
                status: 0,
                body: String::new(),
            },
        };
        charge.answer = Answer {
            status: if decline_code.is_some() { 402 } else { 201 },
            body: charge.to_json().to_string(),
        };
        let answer = charge.answer.clone();
        self.charge_by_key
            .insert(charge.key.clone(), self.charges.len());
        self.charge_by_id
            .insert(charge.id.clone(), self.charges.len());
        self.charges.push(charge);
        Ok(answer)
    }

    /// Refunds under `key` (its id from `new_id`), or replays the refund made under it; `Err`
    /// with the 400 for a refund that cannot be made.
    pub fn refund(
        &mut self,
        key: &str,
        request: &RefundRequest,
        now: i64,
        new_id: impl FnOnce() -> String,
    ) -> Result<Answer, Answer> {
        if let Some(&at) = self.refund_by_key.get(key) {
            return Ok(self.refunds[at].answer.clone());
        }
        let Some(&at) = self.charge_by_id.get(&request.charge_id) else {
            return Err(Answer::invalid(&format!("no charge {}", request.charge_id)));
        };
        let charge = &mut self.charges[at];
        if !charge.succeeded() {
            return Err(Answer::invalid("only a succeeded charge can be refunded"));
        }
        let remaining = charge.amount - charge.refunded;
        let amount = request.amount.unwrap_or(remaining);
        if amount <= 0 || amount > remaining {
            return Err(Answer::invalid(&format!(
                "refund amount must be between 1 and the {remaining} not yet refunded"
            )));
        }
        charge.refunded += amount;
        let id = new_id();
        let answer = Answer {
            status: 201,
            body: json!({
                "id": id,
                "object": "refund",
                "idempotency_key": key,
                "charge_id": request.charge_id,
                "amount": amount,
                "status": "succeeded",
                "created": now,
            })
            .to_string(),
        };
        self.refund_by_key
            .insert(key.to_string(), self.refunds.len());
        self.refunds.push(Refund {
            id,
            key: key.to_string(),
            charge_id: request.charge_id.clone(),
            amount,
            created: now,
            answer: answer.clone(),
        });
        Ok(answer)
    }

    /// The charge under `key` as it stands now (refunds included), or a 404.
    pub fn lookup(&self, key: &str) -> Answer {
        match self.charge_by_key.get(key) {
            Some(&at) => Answer {
                status: 200,
                body: self.charges[at].to_json().to_string(),
            },
            None => Answer::error(404, "invalid_request_error", "no charge with that key"),
        }
    }

    pub fn charges(&self) -> &[Charge] {
        &self.charges
    }

    pub fn refunds(&self) -> &[Refund] {
        &self.refunds
    }

    pub fn to_json(&self) -> Value {
        let refunds: Vec<Value> = self
            .refunds
            .iter()
            .map(|r| {
                json!({
                    "id": r.id,
                    "idempotency_key": r.key,
                    "charge_id": r.charge_id,
                    "amount": r.amount,
                    "created": r.created,
                })
            })
            .collect();
        json!({
            "charges": self.charges.iter().map(Charge::to_json).collect::<Vec<_>>(),
            "refunds": refunds,
        })
    }
}
