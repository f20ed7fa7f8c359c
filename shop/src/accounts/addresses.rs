//! A signed-in shopper's address book: the addresses they keep (checked like a checkout's),
//! and the default one the checkout form starts from.
//!
//! Every read and write names the account, so one shopper's address ids reach nothing of
//! another's. The default is one row per account replaced by an upsert, so concurrent
//! changes leave exactly one default (or none once it is deleted), never two.

use super::types::UserId;
pub use crate::address::SavedAddress;
use crate::address::{Address, FieldErrors};
use crate::clock::Millis;
use crate::db::Db;
use crate::failure::{Failure, FailureKind};
use serde::Serialize;
use sqlx::Row;

/// How many addresses one account may keep.
pub const MAX_ADDRESSES: i64 = 20;

#[derive(Debug, thiserror::Error)]
pub enum AddressBookError {
    /// What was typed, field by field.
    #[error(transparent)]
    Invalid(#[from] FieldErrors),
    /// No such address in this account's book.
    #[error("no such address")]
    NotFound,
    #[error("the address book is full")]
    Full,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl Failure for AddressBookError {
    fn kind(&self) -> FailureKind {
        match self {
            AddressBookError::Invalid(e) => e.kind(),
            AddressBookError::NotFound => FailureKind::NotFound,
            AddressBookError::Full => FailureKind::Refused,
            AddressBookError::Db(e) => e.kind(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            AddressBookError::Invalid(e) => e.code(),
            AddressBookError::Full => "address_book_full",
            _ => self.kind().code(),
        }
    }

    fn public_message(&self) -> String {
        match self {
            AddressBookError::Invalid(e) => e.public_message(),
            AddressBookError::NotFound => "That address is not in your address book.".into(),
            AddressBookError::Full => format!(
                "Your address book holds {MAX_ADDRESSES} addresses: delete one to add another."
            ),
            AddressBookError::Db(e) => e.public_message(),
        }
    }

    fn fields(&self) -> Option<&FieldErrors> {
        match self {
            AddressBookError::Invalid(e) => Some(e),
            _ => None,
        }
    }
}

/// The address books of every account.
#[derive(Clone, Debug)]
pub struct AddressBook {
    db: Db,
}

const COLUMNS: &str = "a.id, a.name, a.line1, a.line2, a.city, a.region, a.postal_code, a.country, \
                       a.phone, d.address_id IS NOT NULL AS is_default";

impl AddressBook {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// The account's addresses, the default first, then the oldest first.
    pub async fn list(&self, user: UserId) -> Result<Vec<SavedAddress>, AddressBookError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM saved_addresses a \
             LEFT JOIN default_addresses d ON d.address_id = a.id AND d.user_id = a.user_id \
             WHERE a.user_id = $1 ORDER BY is_default DESC, a.id"
        ))
        .bind(user.get())
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(saved).collect()
    }

    /// One of the account's addresses.
    pub async fn get(&self, user: UserId, id: i64) -> Result<SavedAddress, AddressBookError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM saved_addresses a \
             LEFT JOIN default_addresses d ON d.address_id = a.id AND d.user_id = a.user_id \
             WHERE a.user_id = $1 AND a.id = $2"
        ))
        .bind(user.get())
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?;
        row.as_ref()
            .map(saved)
            .transpose()?
            .ok_or(AddressBookError::NotFound)
    }

    /// The account's default address, if it has one.
    pub async fn default_address(&self, user: UserId) -> Result<Option<Address>, AddressBookError> {
        Ok(self
            .list(user)
            .await?
            .into_iter()
            .find(|a| a.is_default)
            .map(|a| a.address))
    }

    /// Checks and adds an address; the account's first becomes its default, as does any
    /// added with `make_default`.
    pub async fn add(
        &self,
        user: UserId,
        typed: &Address,
        make_default: bool,
        now: Millis,
    ) -> Result<i64, AddressBookError> {
        let address = Address::parse(typed)?;
        let mut tx = self.db.begin_write().await?;
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM saved_addresses WHERE user_id = $1")
                .bind(user.get())
                .fetch_one(&mut *tx)
                .await?;
        if count >= MAX_ADDRESSES {
            return Err(AddressBookError::Full);
        }
        let insert = sqlx::query(
            "INSERT INTO saved_addresses \
             (user_id, name, line1, line2, city, region, postal_code, country, phone, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
        )
        .bind(user.get());
        let id: i64 = bind_fields(insert, &address)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?
            .try_get("id")?;
        let choose = if make_default {
            "INSERT INTO default_addresses (user_id, address_id) VALUES ($1, $2) \
             ON CONFLICT (user_id) DO UPDATE SET address_id = $2"
        } else {
            "INSERT INTO default_addresses (user_id, address_id) VALUES ($1, $2) \
             ON CONFLICT (user_id) DO NOTHING"
        };
        sqlx::query(choose)
            .bind(user.get())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Checks and replaces one of the account's addresses (and makes it the default if asked).
    pub async fn update(
        &self,
        user: UserId,
        id: i64,
        typed: &Address,
        make_default: bool,
        now: Millis,
    ) -> Result<(), AddressBookError> {
        let address = Address::parse(typed)?;
        let mut tx = self.db.begin_write().await?;
        let update = sqlx::query(
            "UPDATE saved_addresses SET name = $3, line1 = $4, line2 = $5, city = $6, region = $7, \
             postal_code = $8, country = $9, phone = $10, updated_at = $11 \
             WHERE user_id = $1 AND id = $2",
        )
        .bind(user.get())
        .bind(id);
        let changed = bind_fields(update, &address)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed == 0 {
            return Err(AddressBookError::NotFound);
        }
        if make_default {
            set_default(&mut tx, user, id).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Makes one of the account's addresses its default.
    pub async fn make_default(&self, user: UserId, id: i64) -> Result<(), AddressBookError> {
        let mut tx = self.db.begin_write().await?;
        let owned: Option<i64> =
            sqlx::query_scalar("SELECT id FROM saved_addresses WHERE user_id = $1 AND id = $2")
                .bind(user.get())
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        if owned.is_none() {
            return Err(AddressBookError::NotFound);
        }
        set_default(&mut tx, user, id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes one of the account's addresses (the default with it: the account then has
    /// none until another is chosen).
    pub async fn delete(&self, user: UserId, id: i64) -> Result<(), AddressBookError> {
        let mut tx = self.db.begin_write().await?;
        sqlx::query("DELETE FROM default_addresses WHERE user_id = $1 AND address_id = $2")
            .bind(user.get())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let gone = sqlx::query("DELETE FROM saved_addresses WHERE user_id = $1 AND id = $2")
            .bind(user.get())
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if gone == 0 {
            return Err(AddressBookError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }
}

impl AddressBook {
    /// Keeps an address form as typed, with what was wrong with it, for the page the form's
    /// redirect lands on (`key`: `new`, or the address's id).
    pub async fn keep_draft(
        &self,
        user: UserId,
        key: &str,
        typed: &Address,
        errors: &FieldErrors,
        now: Millis,
    ) -> Result<(), AddressBookError> {
        sqlx::query(
            "INSERT INTO address_drafts (user_id, address_key, fields, errors, updated_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (user_id, address_key) DO UPDATE SET fields = $3, errors = $4, updated_at = $5",
        )
        .bind(user.get())
        .bind(key)
        .bind(json(typed))
        .bind(json(errors))
        .bind(now)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// The form kept for `key`, if any: what was typed and what was wrong.
    pub async fn draft(
        &self,
        user: UserId,
        key: &str,
    ) -> Result<Option<(Address, FieldErrors)>, AddressBookError> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT fields, errors FROM address_drafts WHERE user_id = $1 AND address_key = $2",
        )
        .bind(user.get())
        .bind(key)
        .fetch_optional(self.db.pool())
        .await?;
        // A draft that no longer reads is as good as none.
        Ok(row.and_then(|(fields, errors)| {
            Some((
                serde_json::from_str(&fields).ok()?,
                serde_json::from_str(&errors).unwrap_or_default(),
            ))
        }))
    }

    /// Forgets the form kept for `key` (it was saved, or the shopper started again).
    pub async fn forget_draft(&self, user: UserId, key: &str) -> Result<(), AddressBookError> {
        sqlx::query("DELETE FROM address_drafts WHERE user_id = $1 AND address_key = $2")
            .bind(user.get())
            .bind(key)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }
}

/// JSON text of what a draft keeps (these types cannot fail to encode).
fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Binds an address's fields in the order both the insert and the update name them.
fn bind_fields<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    a: &'q Address,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    query
        .bind(&a.name)
        .bind(&a.line1)
        .bind(&a.line2)
        .bind(&a.city)
        .bind(&a.region)
        .bind(&a.postal_code)
        .bind(&a.country)
        .bind(&a.phone)
}

async fn set_default(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    user: UserId,
    id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO default_addresses (user_id, address_id) VALUES ($1, $2) \
         ON CONFLICT (user_id) DO UPDATE SET address_id = $2",
    )
    .bind(user.get())
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn saved(r: &sqlx::any::AnyRow) -> Result<SavedAddress, AddressBookError> {
    let text = |c: &str| r.try_get::<String, _>(c);
    Ok(SavedAddress {
        id: r.try_get("id")?,
        address: Address {
            name: text("name")?,
            line1: text("line1")?,
            line2: text("line2")?,
            city: text("city")?,
            region: text("region")?,
            postal_code: text("postal_code")?,
            country: text("country")?,
            phone: text("phone")?,
        },
        // `IS NOT NULL` reads as an integer on SQLite and a boolean on PostgreSQL.
        is_default: r
            .try_get::<bool, _>("is_default")
            .or_else(|_| r.try_get::<i64, _>("is_default").map(|n| n != 0))?,
    })
}
