//! Reading zones, methods and tax rules, and quoting a cart against them.

use super::{Choice, PartOptions, Quote};
use crate::Currency;
use crate::address::FieldErrors;
use crate::db::{AnyConnection, Db};
use crate::failure::{Failure, FailureKind};
use crate::pricing::{
    self, MethodKind, PartShipping, PricedLine, PricingError, Rate, ShippingMethod, TaxMode,
    TaxRule,
};
use sqlx::Row;
use std::collections::HashMap;

/// Why a cart cannot be quoted for an address.
#[derive(Debug, thiserror::Error)]
pub enum ShippingError {
    /// No zone covers the address (or no method in its zone does, for a seller).
    #[error("no shipping to {country}")]
    NoShipping { country: String },
    /// The shopper chose a method the part does not offer.
    #[error("no method {method:?} for seller {seller}")]
    UnknownMethod { seller: i64, method: String },
    /// Nothing to quote.
    #[error("the cart is empty")]
    Empty(FieldErrors),
    /// A method is priced in another currency than the goods.
    #[error("method {0} is not priced in the cart's currency")]
    Currency(String),
    #[error(transparent)]
    Pricing(#[from] PricingError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl Failure for ShippingError {
    fn kind(&self) -> FailureKind {
        match self {
            ShippingError::NoShipping { .. }
            | ShippingError::UnknownMethod { .. }
            | ShippingError::Empty(_) => FailureKind::Refused,
            ShippingError::Pricing(PricingError::Overflow) => FailureKind::Refused,
            ShippingError::Currency(_) | ShippingError::Pricing(_) => FailureKind::Internal,
            ShippingError::Db(e) => e.kind(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ShippingError::NoShipping { .. }
            | ShippingError::UnknownMethod { .. }
            | ShippingError::Empty(_) => "invalid",
            _ => self.kind().code(),
        }
    }

    fn public_message(&self) -> String {
        match self {
            ShippingError::NoShipping { country } => format!(
                "We don't ship to {country} yet. Please choose another country, or contact us."
            ),
            ShippingError::UnknownMethod { .. } => {
                "That delivery option isn't available for this address: please choose one of those shown.".into()
            }
            ShippingError::Pricing(PricingError::Overflow) => "The order's total is too large.".into(),
            ShippingError::Empty(_) => "Your cart is empty.".into(),
            _ => self.kind().plain_message().into(),
        }
    }
}

impl ShippingError {
    /// The form field the problem belongs to, with its message.
    pub fn field_errors(&self) -> Option<FieldErrors> {
        let field = match self {
            ShippingError::Empty(fields) => return Some(fields.clone()),
            ShippingError::NoShipping { .. } => "country",
            ShippingError::UnknownMethod { .. } => "shipping",
            _ => return None,
        };
        let mut errors = FieldErrors::default();
        errors.add(field, self.public_message());
        Some(errors)
    }
}

/// One line of a cart as the quote needs it.
#[derive(Clone, Debug)]
pub struct QuoteLine {
    pub seller: i64,
    pub quantity: i64,
    /// Quantity × unit price.
    pub amount: i64,
    /// Quantity × unit weight (0 when unknown).
    pub weight_grams: i64,
}

impl QuoteLine {
    /// A cart's lines as the quote needs them.
    pub fn of_cart(cart: &crate::cart::Cart) -> Vec<QuoteLine> {
        cart.lines
            .iter()
            .map(|l| QuoteLine {
                seller: l.seller_id,
                quantity: l.quantity.get(),
                amount: l.line_total.amount,
                weight_grams: l.weight_grams.unwrap_or(0).saturating_mul(l.quantity.get()),
            })
            .collect()
    }
}

/// The shop's shipping and tax tables.
#[derive(Clone, Debug)]
pub struct Rates {
    pub(super) db: Db,
    mode: TaxMode,
}

impl Rates {
    pub fn new(db: Db, mode: TaxMode) -> Self {
        Self { db, mode }
    }

    /// Whether catalog prices include tax (a shop-wide setting).
    pub fn mode(&self) -> TaxMode {
        self.mode
    }

    /// Quotes on a connection of the pool (the cart's estimate, the API).
    pub async fn quote(
        &self,
        currency: Currency,
        lines: &[QuoteLine],
        discount: i64,
        country: &str,
        region: &str,
        chosen: &[Choice],
    ) -> Result<Quote, ShippingError> {
        let mut conn = self.db.pool().acquire().await?;
        quote(
            &mut conn, self.mode, currency, lines, discount, country, region, chosen,
        )
        .await
    }

    /// What a cart (with its coupon) costs delivered to (`country`, `region`), with the
    /// methods in `chosen`: the cart page's estimate, the API's, the checkout page's.
    pub async fn quote_cart(
        &self,
        cart: &crate::cart::Cart,
        country: &str,
        region: &str,
        chosen: &[Choice],
    ) -> Result<Quote, ShippingError> {
        let Some(subtotal) = cart.subtotal else {
            let mut empty = FieldErrors::default();
            empty.add("cart", "Your cart is empty.");
            return Err(ShippingError::Empty(empty));
        };
        self.quote(
            subtotal.currency,
            &QuoteLine::of_cart(cart),
            cart.discount(),
            country,
            region,
            chosen,
        )
        .await
    }

    /// The tax table, by country then region.
    pub async fn tax_rules(&self) -> Result<Vec<TaxRule>, ShippingError> {
        let rows = sqlx::query(
            "SELECT country, region, rate_ppm, shipping_taxed FROM tax_rules \
             ORDER BY country, region",
        )
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(tax_rule).collect()
    }
}

/// What each part of a cart costs to ship to (`country`, `region`), and the totals with the
/// methods in `chosen` (the cheapest for a part without a choice). On `conn`, so the checkout
/// quotes inside the transaction that claims it.
#[allow(clippy::too_many_arguments)]
pub async fn quote(
    conn: &mut AnyConnection,
    mode: TaxMode,
    currency: Currency,
    lines: &[QuoteLine],
    discount: i64,
    country: &str,
    region: &str,
    chosen: &[Choice],
) -> Result<Quote, ShippingError> {
    let zone = zone_of(conn, country, region)
        .await?
        .ok_or_else(|| ShippingError::NoShipping {
            country: country.to_string(),
        })?;
    // The discount's share of each line, so "free over" looks at what the part costs.
    let shares = pricing::allocate(
        discount,
        &lines.iter().map(|l| l.amount).collect::<Vec<_>>(),
    )?;
    let mut sellers: Vec<i64> = Vec::new();
    for line in lines {
        if !sellers.contains(&line.seller) {
            sellers.push(line.seller);
        }
    }
    let names = seller_names(conn, &sellers).await?;
    let mut parts = Vec::with_capacity(sellers.len());
    let mut shipping = Vec::with_capacity(sellers.len());
    for seller in sellers {
        let methods = methods_for(conn, zone, seller).await?;
        if let Some(foreign) = methods.iter().find(|(_, c)| *c != currency) {
            return Err(ShippingError::Currency(foreign.0.code.clone()));
        }
        let methods: Vec<ShippingMethod> = methods.into_iter().map(|(m, _)| m).collect();
        if methods.is_empty() {
            return Err(ShippingError::NoShipping {
                country: country.to_string(),
            });
        }
        let (goods, grams) = lines
            .iter()
            .zip(&shares)
            .filter(|(l, _)| l.seller == seller)
            .fold((0_i64, 0_i64), |(g, w), (l, share)| {
                (g + l.amount - share, w + l.weight_grams)
            });
        let options = pricing::quote(&methods, goods, grams)?;
        let pick = match chosen.iter().find(|c| c.seller == seller) {
            Some(choice) => options
                .iter()
                .find(|o| o.method == choice.method)
                .ok_or_else(|| ShippingError::UnknownMethod {
                    seller,
                    method: choice.method.clone(),
                })?,
            None => &options[0],
        };
        shipping.push(PartShipping {
            seller,
            method: pick.method.clone(),
            name: pick.name.clone(),
            amount: pick.amount,
            tax: 0,
            days: pick.days,
        });
        parts.push(PartOptions {
            seller,
            seller_name: names.get(&seller).cloned().unwrap_or_default(),
            chosen: pick.method.clone(),
            options,
        });
    }
    let rules = rules_for(conn, country).await?;
    let rule = TaxRule::find(&rules, country, region);
    let priced: Vec<PricedLine> = lines
        .iter()
        .map(|l| PricedLine {
            seller: l.seller,
            quantity: l.quantity,
            amount: l.amount,
            weight_grams: l.weight_grams,
        })
        .collect();
    let breakdown = pricing::compute(currency, &priced, discount, &shipping, rule, mode)?;
    Ok(Quote { parts, breakdown })
}

/// The zone of an address: its region's, else its country's, else everywhere else's.
async fn zone_of(
    conn: &mut AnyConnection,
    country: &str,
    region: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT zone_id FROM shipping_zone_areas \
         WHERE (country = $1 AND region IN ($2, '')) OR (country = '*' AND region = '') \
         ORDER BY CASE WHEN country = '*' THEN 2 WHEN region = '' THEN 1 ELSE 0 END LIMIT 1",
    )
    .bind(country)
    .bind(region)
    .fetch_optional(&mut *conn)
    .await
}

/// The methods a seller's parts ship by in a zone: their own if they have any there, else
/// the shop's; with each method's currency.
async fn methods_for(
    conn: &mut AnyConnection,
    zone: i64,
    seller: i64,
) -> Result<Vec<(ShippingMethod, Currency)>, ShippingError> {
    let rows = sqlx::query(
        "SELECT code, name, kind, amount, threshold, per_kg, currency, min_days, max_days \
         FROM shipping_methods \
         WHERE zone_id = $1 AND (seller_id = $2 OR (seller_id IS NULL AND NOT EXISTS ( \
             SELECT 1 FROM shipping_methods o WHERE o.zone_id = $1 AND o.seller_id = $2))) \
         ORDER BY code",
    )
    .bind(zone)
    .bind(seller)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(method).collect()
}

pub(super) fn method(r: &sqlx::any::AnyRow) -> Result<(ShippingMethod, Currency), ShippingError> {
    let corrupt =
        |what: &str| ShippingError::Db(sqlx::Error::Protocol(format!("shipping method: {what}")));
    let amount: i64 = r.try_get("amount")?;
    let kind = match r.try_get::<String, _>("kind")?.as_str() {
        "flat" => MethodKind::Flat { amount },
        "free_over" => MethodKind::FreeOver {
            amount,
            threshold: r.try_get("threshold")?,
        },
        "by_weight" => MethodKind::ByWeight {
            base: amount,
            per_kg: r.try_get("per_kg")?,
        },
        other => return Err(corrupt(&format!("kind {other:?}"))),
    };
    let day = |name: &str| -> Result<u16, ShippingError> {
        let days: i64 = r.try_get(name)?;
        u16::try_from(days).map_err(|_| corrupt(name))
    };
    let currency =
        Currency::parse(&r.try_get::<String, _>("currency")?).map_err(|_| corrupt("currency"))?;
    Ok((
        ShippingMethod {
            code: r.try_get("code")?,
            name: r.try_get("name")?,
            kind,
            days: [day("min_days")?, day("max_days")?],
        },
        currency,
    ))
}

async fn rules_for(conn: &mut AnyConnection, country: &str) -> Result<Vec<TaxRule>, ShippingError> {
    let rows = sqlx::query(
        "SELECT country, region, rate_ppm, shipping_taxed FROM tax_rules WHERE country = $1",
    )
    .bind(country)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(tax_rule).collect()
}

pub(super) fn tax_rule(r: &sqlx::any::AnyRow) -> Result<TaxRule, ShippingError> {
    let ppm: i64 = r.try_get("rate_ppm")?;
    let rate = u32::try_from(ppm)
        .ok()
        .and_then(|p| Rate::from_ppm(p).ok())
        .ok_or_else(|| ShippingError::Db(sqlx::Error::Protocol(format!("tax rate {ppm}"))))?;
    Ok(TaxRule {
        country: r.try_get("country")?,
        region: r.try_get("region")?,
        rate,
        shipping_taxed: r.try_get::<i64, _>("shipping_taxed")? == 1,
    })
}

async fn seller_names(
    conn: &mut AnyConnection,
    sellers: &[i64],
) -> Result<HashMap<i64, String>, sqlx::Error> {
    let mut names = HashMap::new();
    for seller in sellers {
        let name: Option<String> = sqlx::query_scalar("SELECT name FROM sellers WHERE id = $1")
            .bind(seller)
            .fetch_optional(&mut *conn)
            .await?;
        names.insert(*seller, name.unwrap_or_default());
    }
    Ok(names)
}

/// The stored prices are in another currency than the one the shop is set to sell in.
#[derive(Debug, thiserror::Error)]
pub enum CurrencyConflict {
    #[error(
        "the catalog's prices are in {found}, but the shop is set to sell in {shop}: prices are \
         never converted, so set EMPORIUM_CURRENCY={found} or start with an empty catalog"
    )]
    Catalog { found: String, shop: Currency },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Makes the stored prices agree with the shop's currency at start-up. A catalog priced in
/// another currency stops the start (nothing is converted); the default shipping methods
/// the migrations wrote, while nobody has edited them, take the shop's currency (their
/// amounts are meant in whatever the shop sells in).
pub async fn settle_currency(db: &Db, shop: Currency) -> Result<(), CurrencyConflict> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT currency FROM variants WHERE currency <> $1 LIMIT 1")
            .bind(shop.code())
            .fetch_optional(db.pool())
            .await?;
    if let Some(found) = found {
        return Err(CurrencyConflict::Catalog { found, shop });
    }
    let relabelled = sqlx::query(
        "UPDATE shipping_methods SET currency = $1 \
         WHERE currency <> $1 AND created_at = 0 AND updated_at = 0",
    )
    .bind(shop.code())
    .execute(db.pool())
    .await?
    .rows_affected();
    if relabelled > 0 {
        tracing::info!(relabelled, currency = %shop, "default shipping methods priced in the shop's currency");
    }
    Ok(())
}
