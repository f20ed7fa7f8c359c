//! The simulator's ledger: every charge and refund, keyed by idempotency key, with the first
//! answer stored for replay.

use rand::Rng;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use shop::Currency;
use shop::db::{Db, is_unique_violation};
use shop::payments::CardNumber;
use sqlx::Row;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("idempotency key reused for a different request")]
    KeyReused,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// An answer to replay byte for byte.
pub struct Answer {
    pub status: u16,
    pub body: String,
}

#[derive(Clone, Debug)]
pub struct Ledger {
    db: Db,
}

#[derive(Serialize)]
pub struct Dump {
    charges: Vec<serde_json::Value>,
    refunds: Vec<serde_json::Value>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn new_id(prefix: &str) -> String {
    let bytes: [u8; 12] = rand::rng().random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}_{hex}")
}

impl Ledger {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// The simulator owns its schema; it is small enough to create in place.
    pub async fn create_tables(&self) -> Result<(), sqlx::Error> {
        for ddl in [
            "CREATE TABLE IF NOT EXISTS charges (
                id TEXT PRIMARY KEY,
                idempotency_key TEXT NOT NULL UNIQUE,
                fingerprint TEXT NOT NULL,
                amount BIGINT NOT NULL,
                currency TEXT NOT NULL,
                card_last4 TEXT NOT NULL,
                card_brand TEXT NOT NULL,
                status TEXT NOT NULL,
                decline_code TEXT,
                refunded_amount BIGINT NOT NULL,
                response_status BIGINT NOT NULL,
                response TEXT NOT NULL,
                created_at BIGINT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS refunds (
                id TEXT PRIMARY KEY,
                idempotency_key TEXT NOT NULL UNIQUE,
                charge_id TEXT NOT NULL,
                amount BIGINT NOT NULL,
                response TEXT NOT NULL,
                created_at BIGINT NOT NULL)",
        ] {
            sqlx::query(ddl).execute(self.db.pool()).await?;
        }
        Ok(())
    }

    /// Makes (or replays) the charge under `key`.
    pub async fn charge(
        &self,
        key: &str,
        amount: i64,
        currency: Currency,
        card: &CardNumber,
    ) -> Result<Answer, LedgerError> {
        let fingerprint = hex(Sha256::digest(format!(
            "{amount}|{currency}|{}",
            card.digits()
        )));
        // Two requests with one key racing on PostgreSQL: the loser of the insert replays.
        for _ in 0..2 {
            let mut tx = self.db.begin_write().await?;
            let existing = sqlx::query(
                "SELECT fingerprint, response_status, response FROM charges \
                 WHERE idempotency_key = $1",
            )
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = existing {
                if row.try_get::<String, _>("fingerprint")? != fingerprint {
                    return Err(LedgerError::KeyReused);
                }
                return Ok(Answer {
                    status: u16::try_from(row.try_get::<i64, _>("response_status")?).unwrap_or(200),
                    body: row.try_get("response")?,
                });
            }
            let decline = match card.digits() {
                "4000000000000002" => Some("card_declined"),
                "4000000000009995" => Some("insufficient_funds"),
                "4000000000000069" => Some("expired_card"),
                _ => None,
            };
            let id = new_id("ch");
            let status = if decline.is_some() {
                "declined"
            } else {
                "succeeded"
            };
            let created = now_ms();
            let body = json!({
                "id": id,
                "object": "charge",
                "idempotency_key": key,
                "amount": amount,
                "currency": currency.code(),
                "status": status,
                "decline_code": decline,
                "refunded_amount": 0,
                "card": { "brand": card.brand(), "last4": card.last4() },
                "created": created,
            })
            .to_string();
            let http_status: i64 = if decline.is_some() { 402 } else { 201 };
            let inserted = sqlx::query(
                "INSERT INTO charges (id, idempotency_key, fingerprint, amount, currency, \
                 card_last4, card_brand, status, decline_code, refunded_amount, response_status, \
                 response, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, $11, $12)",
            )
            .bind(&id)
            .bind(key)
            .bind(&fingerprint)
            .bind(amount)
            .bind(currency.code())
            .bind(card.last4())
            .bind(card.brand())
            .bind(status)
            .bind(decline)
            .bind(http_status)
            .bind(&body)
            .bind(created)
            .execute(&mut *tx)
            .await;
            match inserted {
                Ok(_) => {
                    tx.commit().await?;
                    return Ok(Answer {
                        status: u16::try_from(http_status).unwrap_or(201),
                        body,
                    });
                }
                Err(e) if is_unique_violation(&e) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(LedgerError::Database(sqlx::Error::Protocol(
            "charge insert lost a race twice".into(),
        )))
    }

    /// The charge under `key`, as it stands now (refunds included).
    pub async fn find_charge(&self, key: &str) -> Result<Option<serde_json::Value>, sqlx::Error> {
        let row = sqlx::query(&format!("{CHARGE_COLUMNS} WHERE idempotency_key = $1"))
            .bind(key)
            .fetch_optional(self.db.pool())
            .await?;
        row.map(|r| charge_json(&r)).transpose()
    }

    /// Refunds (or replays the refund under `key`). `Ok(Err(message))` for a refund that
    /// cannot be made.
    pub async fn refund(
        &self,
        key: &str,
        charge_id: &str,
        amount: Option<i64>,
    ) -> Result<Result<String, String>, sqlx::Error> {
        let mut tx = self.db.begin_write().await?;
        let existing: Option<String> =
            sqlx::query_scalar("SELECT response FROM refunds WHERE idempotency_key = $1")
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(body) = existing {
            return Ok(Ok(body));
        }
        let charge =
            sqlx::query("SELECT amount, refunded_amount, status FROM charges WHERE id = $1")
                .bind(charge_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(charge) = charge else {
            return Ok(Err(format!("no charge {charge_id}")));
        };
        if charge.try_get::<String, _>("status")? != "succeeded" {
            return Ok(Err("only a succeeded charge can be refunded".into()));
        }
        let remaining =
            charge.try_get::<i64, _>("amount")? - charge.try_get::<i64, _>("refunded_amount")?;
        let amount = amount.unwrap_or(remaining);
        if amount <= 0 || amount > remaining {
            return Ok(Err(format!(
                "refund amount must be between 1 and the {remaining} not yet refunded"
            )));
        }
        let id = new_id("re");
        let created = now_ms();
        let body = json!({
            "id": id,
            "object": "refund",
            "idempotency_key": key,
            "charge_id": charge_id,
            "amount": amount,
            "status": "succeeded",
            "created": created,
        })
        .to_string();
        sqlx::query(
            "INSERT INTO refunds (id, idempotency_key, charge_id, amount, response, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(key)
        .bind(charge_id)
        .bind(amount)
        .bind(&body)
        .bind(created)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE charges SET refunded_amount = refunded_amount + $2 WHERE id = $1")
            .bind(charge_id)
            .bind(amount)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Ok(body))
    }

    pub async fn dump(&self) -> Result<Dump, sqlx::Error> {
        let charges = sqlx::query(&format!("{CHARGE_COLUMNS} ORDER BY created_at, id"))
            .fetch_all(self.db.pool())
            .await?
            .iter()
            .map(charge_json)
            .collect::<Result<Vec<_>, _>>()?;
        let refunds = sqlx::query(
            "SELECT id, idempotency_key, charge_id, amount, created_at FROM refunds \
             ORDER BY created_at, id",
        )
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(json!({
                "id": r.try_get::<String, _>("id")?,
                "idempotency_key": r.try_get::<String, _>("idempotency_key")?,
                "charge_id": r.try_get::<String, _>("charge_id")?,
                "amount": r.try_get::<i64, _>("amount")?,
                "created": r.try_get::<i64, _>("created_at")?,
            }))
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(Dump { charges, refunds })
    }
}

const CHARGE_COLUMNS: &str = "SELECT id, idempotency_key, amount, currency, status, decline_code, \
    refunded_amount, card_brand, card_last4, created_at FROM charges";

fn charge_json(r: &sqlx::any::AnyRow) -> Result<serde_json::Value, sqlx::Error> {
    Ok(json!({
        "id": r.try_get::<String, _>("id")?,
        "object": "charge",
        "idempotency_key": r.try_get::<String, _>("idempotency_key")?,
        "amount": r.try_get::<i64, _>("amount")?,
        "currency": r.try_get::<String, _>("currency")?,
        "status": r.try_get::<String, _>("status")?,
        "decline_code": r.try_get::<Option<String>, _>("decline_code")?,
        "refunded_amount": r.try_get::<i64, _>("refunded_amount")?,
        "card": {
            "brand": r.try_get::<String, _>("card_brand")?,
            "last4": r.try_get::<String, _>("card_last4")?,
        },
        "created": r.try_get::<i64, _>("created_at")?,
    }))
}

fn hex(bytes: impl AsRef<[u8]>) -> String {
    bytes.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}
