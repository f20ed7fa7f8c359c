//! Coupons in the admin's pages: the list (with uses left) and the form that creates one,
//! shown on the admin overview. Creating one is for admins only, checked by
//! `Viewer::require_admin` like every admin server function.

use crate::accounts::CsrfField;
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A coupon as the admin's list shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CouponView {
    pub code: String,
    pub label: String,
    pub redeemed: i64,
    pub total_limit: Option<i64>,
    pub per_customer_limit: Option<i64>,
}

#[server(prefix = "/rpc", endpoint = "admin/coupon")]
pub async fn create_coupon(
    code: String,
    percent: Option<String>,
    amount: Option<String>,
    total_limit: Option<String>,
    per_customer_limit: Option<String>,
) -> Result<(), AppError> {
    use shop::coupons::{CouponCode, CouponError, Discount, NewCoupon};
    crate::admin::admin()?;
    let services = crate::services::services()?;
    let number = |v: &Option<String>| -> Result<Option<i64>, AppError> {
        match v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| AppError::bad_request("Limits and values are whole numbers.")),
        }
    };
    let discount = match (
        number(&percent)?,
        amount.as_deref().map(str::trim).filter(|a| !a.is_empty()),
    ) {
        (Some(p), None) => Discount::parse("percent", p, shop::Currency::shop().code())?,
        // The form takes a price as people write it ("5.00"); the discount counts cents.
        (None, Some(a)) => {
            let amount = shop::Money::parse_price(a, shop::Currency::shop())?;
            Discount::parse("amount", amount.amount, amount.currency.code())?
        }
        _ => {
            crate::session::redirect("/admin?coupon=choose");
            return Ok(());
        }
    };
    let created = services
        .coupons
        .create(&NewCoupon {
            code: CouponCode::parse(&code)?,
            discount,
            per_customer_limit: number(&per_customer_limit)?,
            total_limit: number(&total_limit)?,
            expires_at: None,
        })
        .await;
    match created {
        Ok(()) => crate::session::redirect("/admin?coupon=created"),
        Err(CouponError::Exists(_)) => crate::session::redirect("/admin?coupon=exists"),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

#[cfg(feature = "ssr")]
impl From<shop::coupons::CouponRow> for CouponView {
    fn from(c: shop::coupons::CouponRow) -> Self {
        Self {
            label: c.discount.label(),
            code: c.code,
            redeemed: c.redeemed,
            total_limit: c.total_limit,
            per_customer_limit: c.per_customer_limit,
        }
    }
}

/// What the admin overview says after the coupon form, from its `?coupon=` outcome.
pub fn notice(outcome: &str) -> &'static str {
    match outcome {
        "created" => "Coupon created.",
        "exists" => "A coupon with that code already exists.",
        _ => "Give either a percentage or an amount.",
    }
}

/// The coupons, with their uses, and the form that creates one.
#[component]
pub fn CouponsSection(coupons: Vec<CouponView>) -> impl IntoView {
    let coupon = ServerAction::<CreateCoupon>::new();
    let coupons: Vec<AnyView> = coupons
        .iter()
        .map(|c| {
            view! {
                <tr>
                    <td>{c.code.clone()}</td>
                    <td>{c.label.clone()}</td>
                    <td>{format!("{} of {}", c.redeemed, c.total_limit.map_or("∞".to_string(), |l| l.to_string()))}</td>
                    <td>{c.per_customer_limit.map_or("—".to_string(), |l| l.to_string())}</td>
                </tr>
            }
            .into_any()
        })
        .collect();
    view! {
        <h2>"Coupons"</h2>
        <table class="orders-table">
            <thead><tr><th>"Code"</th><th>"Discount"</th><th>"Redeemed"</th><th>"Per customer"</th></tr></thead>
            <tbody>{coupons}</tbody>
        </table>
        <ActionForm action=coupon attr:class="stacked-form">
            <CsrfField/>
            <label>"Code" <input name="code" required maxlength="32"/></label>
            <label>"Percent off" <input name="percent" inputmode="numeric"/></label>
            <label>{format!("…or amount off ({})", shop::Currency::shop())} <input name="amount" inputmode="decimal"/></label>
            <label>"Uses in total" <input name="total_limit" inputmode="numeric"/></label>
            <label>"Uses per customer" <input name="per_customer_limit" inputmode="numeric"/></label>
            <button type="submit">"Create coupon"</button>
        </ActionForm>
    }
}
