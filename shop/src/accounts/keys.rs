//! Sellers' API keys, which the seller routes of the JSON API accept as
//! `Authorization: Bearer …` beside a seller's signed-in session.
//!
//! A key is 32 random bytes shown once; only its SHA-256 is stored, so a leaked database does
//! not leak working keys.

use crate::catalog::SellerId;
use crate::db::Db;
use crate::failure::{Failure, FailureKind};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The prefix of every key, so that a key pasted somewhere it should not be is recognisable.
const PREFIX: &str = "emp_sk_";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no seller {0:?}")]
    NoSuchSeller(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl Failure for KeyError {
    fn kind(&self) -> FailureKind {
        match self {
            KeyError::NoSuchSeller(_) => FailureKind::NotFound,
            KeyError::Db(e) => e.kind(),
        }
    }

    fn public_message(&self) -> String {
        match self {
            KeyError::NoSuchSeller(slug) => format!("There is no seller {slug:?}."),
            KeyError::Db(e) => e.public_message(),
        }
    }
}

fn digest(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Sellers' API keys.
#[derive(Clone, Debug)]
pub struct ApiKeys {
    db: Db,
}

impl ApiKeys {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Makes a new key for the seller with this slug; returns the seller and the key (the
    /// only time it is ever shown).
    pub async fn issue(
        &self,
        seller_slug: &str,
        label: &str,
    ) -> Result<(SellerId, String), KeyError> {
        let seller: Option<i64> = sqlx::query_scalar("SELECT id FROM sellers WHERE slug = $1")
            .bind(seller_slug)
            .fetch_optional(self.db.pool())
            .await?;
        let seller = seller.ok_or_else(|| KeyError::NoSuchSeller(seller_slug.to_owned()))?;
        let mut secret = [0_u8; 32];
        rand::rng().fill_bytes(&mut secret);
        let key = format!(
            "{PREFIX}{}",
            secret
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        let now = {
            use crate::clock::{Clock, SystemClock};
            SystemClock.now()
        };
        sqlx::query(
            "INSERT INTO seller_api_keys (key_hash, seller_id, label, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(digest(&key))
        .bind(seller)
        .bind(label)
        .bind(now)
        .execute(self.db.pool())
        .await?;
        Ok((SellerId::new(seller), key))
    }

    /// The seller a presented key belongs to, if it is a live key.
    pub async fn seller_for(&self, key: &str) -> Result<Option<SellerId>, sqlx::Error> {
        if !key.starts_with(PREFIX) || key.len() != PREFIX.len() + 64 {
            return Ok(None);
        }
        let seller: Option<i64> = sqlx::query_scalar(
            "SELECT seller_id FROM seller_api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
        )
        .bind(digest(key))
        .fetch_optional(self.db.pool())
        .await?;
        Ok(seller.map(SellerId::new))
    }
}
