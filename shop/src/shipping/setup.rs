//! Editing the tables: zones and their areas, methods (the shop's, or a seller's own in a
//! zone, which replace the shop's for that seller's parts there), and the tax rules.
//!
//! A seller's edits name the seller in every statement, so a seller reaches only their own
//! methods; zones and tax rules are the admin's.

use super::store::{Rates, method, tax_rule};
use super::{Area, MethodForm, MethodRow, ZoneView};
use crate::Currency;
use crate::address::FieldErrors;
use crate::catalog::SellerId;
use crate::clock::Millis;
use crate::failure::{Failure, FailureKind};
use crate::pricing::{MethodKind, Rate, TaxRule};
use sqlx::Row;

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Invalid(#[from] FieldErrors),
    #[error("no such zone, method or rule")]
    NotFound,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Read(#[from] super::ShippingError),
}

impl Failure for SetupError {
    fn kind(&self) -> FailureKind {
        match self {
            SetupError::Invalid(e) => e.kind(),
            SetupError::NotFound => FailureKind::NotFound,
            SetupError::Db(e) => e.kind(),
            SetupError::Read(e) => e.kind(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            SetupError::Invalid(e) => e.code(),
            _ => self.kind().code(),
        }
    }

    fn public_message(&self) -> String {
        match self {
            SetupError::Invalid(e) => e.public_message(),
            SetupError::NotFound => "That zone, method or rule no longer exists.".into(),
            SetupError::Db(e) => e.public_message(),
            SetupError::Read(e) => e.public_message(),
        }
    }

    fn fields(&self) -> Option<&FieldErrors> {
        match self {
            SetupError::Invalid(e) => Some(e),
            _ => None,
        }
    }
}

fn invalid(field: &str, message: impl Into<String>) -> SetupError {
    let mut errors = FieldErrors::default();
    errors.add(field, message);
    SetupError::Invalid(errors)
}

/// A delete that touched no row found nothing to delete.
fn found(rows: u64) -> Result<(), SetupError> {
    if rows == 0 {
        Err(SetupError::NotFound)
    } else {
        Ok(())
    }
}

/// `0` for the shop's methods, else the seller's id: the key the methods' unique index uses.
fn owner(seller: Option<SellerId>) -> i64 {
    seller.map_or(0, SellerId::get)
}

impl Rates {
    /// Every zone with its areas, and the methods of `seller` (their own) or of the shop.
    pub async fn zones(&self, seller: Option<SellerId>) -> Result<Vec<ZoneView>, SetupError> {
        let pool = self.db.pool();
        let zones = sqlx::query("SELECT id, name FROM shipping_zones ORDER BY id")
            .fetch_all(pool)
            .await?;
        let areas = sqlx::query(
            "SELECT zone_id, country, region FROM shipping_zone_areas ORDER BY country, region",
        )
        .fetch_all(pool)
        .await?;
        let methods = sqlx::query(
            "SELECT id, zone_id, code, name, kind, amount, threshold, per_kg, currency, min_days, max_days \
             FROM shipping_methods WHERE COALESCE(seller_id, 0) = $1 ORDER BY zone_id, code",
        )
        .bind(owner(seller))
        .fetch_all(pool)
        .await?;
        let mut views = Vec::with_capacity(zones.len());
        for z in &zones {
            let id: i64 = z.try_get("id")?;
            let mut view = ZoneView {
                id,
                name: z.try_get("name")?,
                areas: Vec::new(),
                methods: Vec::new(),
            };
            for a in areas
                .iter()
                .filter(|a| a.try_get::<i64, _>("zone_id").ok() == Some(id))
            {
                view.areas.push(Area {
                    country: a.try_get("country")?,
                    region: a.try_get("region")?,
                });
            }
            for m in methods
                .iter()
                .filter(|m| m.try_get::<i64, _>("zone_id").ok() == Some(id))
            {
                view.methods.push(MethodRow {
                    id: m.try_get("id")?,
                    method: method(m)?.0,
                });
            }
            views.push(view);
        }
        Ok(views)
    }

    /// Adds a zone (`id` none) or renames it and replaces its areas. An area already in
    /// another zone is refused (an address must belong to one zone).
    pub async fn save_zone(
        &self,
        id: Option<i64>,
        name: &str,
        areas: &str,
        now: Millis,
    ) -> Result<i64, SetupError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 60 || name.chars().any(char::is_control) {
            return Err(invalid("name", "A zone's name is 1–60 characters."));
        }
        let areas = Area::parse_list(areas).map_err(|m| invalid("areas", m))?;
        let mut tx = self.db.begin_write().await?;
        let id =
            match id {
                Some(id) => {
                    let renamed = sqlx::query("UPDATE shipping_zones SET name = $2 WHERE id = $1")
                        .bind(id)
                        .bind(name)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if renamed == 0 {
                        return Err(SetupError::NotFound);
                    }
                    sqlx::query("DELETE FROM shipping_zone_areas WHERE zone_id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    id
                }
                None => sqlx::query_scalar(
                    "INSERT INTO shipping_zones (name, created_at) VALUES ($1, $2) RETURNING id",
                )
                .bind(name)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?,
            };
        for area in &areas {
            let placed = sqlx::query(
                "INSERT INTO shipping_zone_areas (zone_id, country, region) VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(&area.country)
            .bind(&area.region)
            .execute(&mut *tx)
            .await;
            match placed {
                Ok(_) => {}
                Err(e) if crate::db::is_unique_violation(&e) => {
                    return Err(invalid(
                        "areas",
                        format!(
                            "{} is already in another zone: take it out there first.",
                            area.label()
                        ),
                    ));
                }
                Err(e) => return Err(e.into()),
            }
        }
        tx.commit().await?;
        Ok(id)
    }

    /// Deletes a zone with its areas and every method in it (the shop's and sellers').
    pub async fn delete_zone(&self, id: i64) -> Result<(), SetupError> {
        let gone = sqlx::query("DELETE FROM shipping_zones WHERE id = $1")
            .bind(id)
            .execute(self.db.pool())
            .await?
            .rows_affected();
        found(gone)
    }

    /// Adds a method to a zone (`id` none) or replaces one, for the shop or for `seller`
    /// alone; amounts in the shop's currency. A code already used in the zone is refused.
    pub async fn save_method(
        &self,
        seller: Option<SellerId>,
        zone: i64,
        id: Option<i64>,
        form: &MethodForm,
        now: Millis,
    ) -> Result<(), SetupError> {
        let currency = Currency::shop();
        let m = form.parse(currency)?;
        let (amount, threshold, per_kg, kind) = match m.kind {
            MethodKind::Flat { amount } => (amount, 0, 0, "flat"),
            MethodKind::FreeOver { amount, threshold } => (amount, threshold, 0, "free_over"),
            MethodKind::ByWeight { base, per_kg } => (base, 0, per_kg, "by_weight"),
        };
        let query = match id {
            Some(_) => {
                "UPDATE shipping_methods SET code = $3, name = $4, kind = $5, amount = $6, threshold = $7, \
                 per_kg = $8, currency = $9, min_days = $10, max_days = $11, updated_at = $12 \
                 WHERE id = $1 AND COALESCE(seller_id, 0) = $2 AND zone_id = $13"
            }
            // The zone must exist (a deleted one's id adds nothing); `$1` is no row yet.
            None => {
                "INSERT INTO shipping_methods (zone_id, seller_id, code, name, kind, amount, threshold, \
                 per_kg, currency, min_days, max_days, created_at, updated_at) \
                 SELECT id, NULLIF($2, 0), $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12 \
                 FROM shipping_zones WHERE id = $13 AND $1 = 0"
            }
        };
        let written = sqlx::query(query)
            .bind(id.unwrap_or(0))
            .bind(owner(seller))
            .bind(&m.code)
            .bind(&m.name)
            .bind(kind)
            .bind(amount)
            .bind(threshold)
            .bind(per_kg)
            .bind(currency.code())
            .bind(i64::from(m.days[0]))
            .bind(i64::from(m.days[1]))
            .bind(now)
            .bind(zone)
            .execute(self.db.pool())
            .await;
        match written {
            Ok(done) if done.rows_affected() == 0 => Err(SetupError::NotFound),
            Ok(_) => Ok(()),
            Err(e) if crate::db::is_unique_violation(&e) => Err(invalid(
                "code",
                format!("This zone already has a method with the code {}.", m.code),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes a method of the shop's or of `seller`'s own.
    pub async fn delete_method(&self, seller: Option<SellerId>, id: i64) -> Result<(), SetupError> {
        let gone = sqlx::query(
            "DELETE FROM shipping_methods WHERE id = $1 AND COALESCE(seller_id, 0) = $2",
        )
        .bind(id)
        .bind(owner(seller))
        .execute(self.db.pool())
        .await?
        .rows_affected();
        found(gone)
    }

    /// Sets the rule for a country (`region` empty) or one of its regions: a percentage as
    /// people write it (`7.25`), and whether shipping is taxed.
    pub async fn save_tax_rule(
        &self,
        country: &str,
        region: &str,
        rate: &str,
        shipping_taxed: bool,
        now: Millis,
    ) -> Result<TaxRule, SetupError> {
        let mut errors = FieldErrors::default();
        let country = country.trim().to_ascii_uppercase();
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
            errors.add("country", "A country is its two-letter code, such as US.");
        }
        let region = region.trim().to_ascii_uppercase();
        if region.len() > 3 || !region.bytes().all(|b| b.is_ascii_alphanumeric()) {
            errors.add("region", "A region is its code of up to three letters, such as CA, or empty for the whole country.");
        }
        let rate = Rate::parse_percent(rate)
            .map_err(|e| errors.add("rate", format!("The rate {}.", e.message)));
        let Ok(rate) = rate else {
            return Err(errors.into());
        };
        if !errors.is_empty() {
            return Err(errors.into());
        }
        sqlx::query(
            "INSERT INTO tax_rules (country, region, rate_ppm, shipping_taxed, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (country, region) DO UPDATE SET rate_ppm = $3, shipping_taxed = $4, updated_at = $5",
        )
        .bind(&country)
        .bind(&region)
        .bind(i64::from(rate.ppm()))
        .bind(i64::from(shipping_taxed))
        .bind(now)
        .execute(self.db.pool())
        .await?;
        let row = sqlx::query("SELECT country, region, rate_ppm, shipping_taxed FROM tax_rules WHERE country = $1 AND region = $2")
            .bind(&country)
            .bind(&region)
            .fetch_one(self.db.pool())
            .await?;
        Ok(tax_rule(&row)?)
    }

    /// Deletes a rule (addresses it covered fall back to their country's rule, or none).
    pub async fn delete_tax_rule(&self, country: &str, region: &str) -> Result<(), SetupError> {
        let gone = sqlx::query("DELETE FROM tax_rules WHERE country = $1 AND region = $2")
            .bind(country.trim().to_ascii_uppercase())
            .bind(region.trim().to_ascii_uppercase())
            .execute(self.db.pool())
            .await?
            .rows_affected();
        found(gone)
    }
}
