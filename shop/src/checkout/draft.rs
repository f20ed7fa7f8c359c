//! What a shopper has typed into the checkout form so far, kept with the cart so that the
//! form comes back as typed after any error (a field, a declined card, a changed total, stock
//! running out), with or without JavaScript. Every field but the card: card numbers are
//! never stored.

use crate::address::{Address, FieldErrors};
use crate::shipping::Choice;
use serde::{Deserialize, Serialize};

/// The checkout form's fields as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    pub email: String,
    /// The address fields, as typed (not yet checked).
    pub address: Address,
    /// The delivery methods chosen, per seller's part.
    #[serde(default)]
    pub choices: Vec<Choice>,
    /// What was wrong with the fields when last submitted, by field.
    #[serde(default)]
    pub errors: FieldErrors,
}

/// Field names in the order the checkout form shows them (for the first error's focus).
pub const FORM_FIELDS: [&str; 10] = [
    "email",
    "name",
    "line1",
    "line2",
    "city",
    "region",
    "postal_code",
    "country",
    "phone",
    "card_number",
];

#[cfg(feature = "server")]
mod store {
    use super::Draft;
    use crate::address::FieldErrors;
    use crate::cart::CartId;
    use crate::clock::Millis;
    use crate::db::Db;

    /// The cart's draft, if the shopper has submitted the form before.
    pub async fn load(db: &Db, cart: &CartId) -> Result<Option<Draft>, sqlx::Error> {
        let row: Option<(String, String, String)> = sqlx::query_as(
            "SELECT fields, errors, choices FROM checkout_drafts WHERE cart_id = $1",
        )
        .bind(cart.as_str())
        .fetch_optional(db.pool())
        .await?;
        // A draft that no longer reads (an older shape) is as good as none: the shopper
        // types again rather than sees an error.
        Ok(row.and_then(|(fields, errors, choices)| {
            let mut draft: Draft = serde_json::from_str(&fields).ok()?;
            draft.errors = serde_json::from_str::<FieldErrors>(&errors).unwrap_or_default();
            draft.choices = serde_json::from_str(&choices).unwrap_or_default();
            Some(draft)
        }))
    }

    /// Keeps what was typed (every field but the card) and what was wrong with it.
    pub async fn save(
        db: &Db,
        cart: &CartId,
        draft: &Draft,
        now: Millis,
    ) -> Result<(), sqlx::Error> {
        let fields = json(&Draft {
            errors: FieldErrors::default(),
            choices: Vec::new(),
            ..draft.clone()
        });
        sqlx::query(
            "INSERT INTO checkout_drafts (cart_id, fields, errors, choices, updated_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (cart_id) DO UPDATE SET fields = $2, errors = $3, choices = $4, \
             updated_at = $5",
        )
        .bind(cart.as_str())
        .bind(fields)
        .bind(json(&draft.errors))
        .bind(json(&draft.choices))
        .bind(now)
        .execute(db.pool())
        .await?;
        Ok(())
    }

    /// Forgets the draft (the order is placed).
    pub async fn forget(
        conn: &mut crate::db::AnyConnection,
        cart: &CartId,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM checkout_drafts WHERE cart_id = $1")
            .bind(cart.as_str())
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// The draft's parts as JSON text (they cannot fail to encode).
    fn json<T: serde::Serialize>(value: &T) -> String {
        serde_json::to_string(value).unwrap_or_default()
    }
}

#[cfg(feature = "server")]
pub use store::{forget, load, save};
