//! Editing shipping and tax: `/admin/shipping` (zones and their areas, the shop's methods,
//! the tax rules) and `/seller/shipping` (a seller's own methods per zone, which replace the
//! shop's for their parts there). One page component for both; every server function
//! checks the role itself, and a seller's edits name the seller in every statement.

// A form's fields are its server function's arguments.
#![allow(clippy::too_many_arguments)]

use crate::accounts::CsrfField;
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};
use shop::pricing::{MethodKind, TaxRule};
use shop::shipping::{MethodForm, ZoneView};

/// What the page edits, for whom.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SetupPage {
    /// The seller's shop name on the seller's page; `None` on the admin's.
    pub seller: Option<String>,
    pub zones: Vec<ZoneView>,
    /// The tax table (the admin's page only).
    pub tax_rules: Vec<TaxRule>,
    pub currency: shop::Currency,
}

/// The seller a seller's page edits for, or the admin (`None`) on the admin's.
#[cfg(feature = "ssr")]
fn scope(seller: bool) -> Result<Option<shop::catalog::SellerId>, crate::error::AppError> {
    use shop::accounts::Viewer;
    let viewer = crate::session::viewer();
    if seller {
        Ok(Some(Viewer::require_seller(viewer.as_ref())?))
    } else {
        Viewer::require_admin(viewer.as_ref())?;
        Ok(None)
    }
}

#[cfg(feature = "ssr")]
fn page_of(seller: bool) -> &'static str {
    if seller {
        "/seller/shipping"
    } else {
        "/admin/shipping"
    }
}

/// Back to the page: `?saved=1`, or `?error=FIELD` naming the first field that was wrong
/// (the page words it: nothing the URL carries is shown as it came).
#[cfg(feature = "ssr")]
fn back(
    seller: bool,
    outcome: Result<(), shop::shipping::SetupError>,
) -> Result<(), crate::error::AppError> {
    use shop::shipping::SetupError;
    let page = page_of(seller);
    match outcome {
        Ok(()) => crate::session::redirect(&format!("{page}?saved=1")),
        Err(SetupError::Invalid(fields)) => {
            // `first` falls back to any field: one the page has no words for is "form".
            let field = fields
                .first(&FIELDS)
                .filter(|f| FIELDS.contains(f))
                .unwrap_or("form");
            crate::session::redirect(&format!("{page}?error={field}"));
        }
        Err(SetupError::NotFound) => crate::session::redirect(&format!("{page}?error=gone")),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// The fields the page's forms have, in the order they show them.
#[cfg(feature = "ssr")]
const FIELDS: [&str; 13] = [
    "code",
    "name",
    "kind",
    "amount",
    "threshold",
    "per_kg",
    "min_days",
    "max_days",
    "areas",
    "country",
    "region",
    "rate",
    "form",
];

/// What a field's problem is, in words (the shop's own: never text from the URL).
fn problem(field: &str) -> &'static str {
    match field {
        "code" => {
            "The code must be 1–32 letters, digits, dashes or underscores, and not used by another method in the zone."
        }
        "name" => "A name is 1–60 characters.",
        "kind" => "Choose how the method is priced.",
        "amount" => {
            "The price must be an amount such as 5.99, with no more decimals than the currency has."
        }
        "threshold" => "\"Free over\" needs the amount above which shipping is free, such as 50.",
        "per_kg" => "The price per kilogram must be an amount such as 2.00.",
        "min_days" | "max_days" => {
            "Days are whole numbers from 0 to 365, the longest no shorter than the shortest."
        }
        "areas" => {
            "Areas are two-letter countries (US), country-region pairs (US-CA) or * for everywhere else, none of them in another zone."
        }
        "country" => "A country is its two-letter code, such as US.",
        "region" => "A region is a code of up to three letters, or empty for the whole country.",
        "rate" => "A rate is a percentage from 0 to 100 with at most four decimals, such as 7.25.",
        "gone" => "That zone, method or rule no longer exists.",
        _ => "That change could not be saved: please check the form.",
    }
}

#[server(prefix = "/rpc", endpoint = "shipping/load")]
pub async fn load_setup(seller: bool) -> Result<SetupPage, crate::error::AppError> {
    let services = crate::services::services()?;
    let scope = scope(seller)?;
    let zones = services.rates.zones(scope).await?;
    let tax_rules = if scope.is_none() {
        services.rates.tax_rules().await?
    } else {
        Vec::new()
    };
    let seller = match scope {
        Some(id) => Some(services.sellers.name(id).await?.unwrap_or_default()),
        None => None,
    };
    Ok(SetupPage {
        seller,
        zones,
        tax_rules,
        currency: shop::Currency::shop(),
    })
}

#[server(prefix = "/rpc", endpoint = "shipping/method")]
pub async fn save_method(
    seller: bool,
    zone: i64,
    id: Option<i64>,
    code: String,
    name: String,
    kind: String,
    amount: String,
    threshold: Option<String>,
    per_kg: Option<String>,
    min_days: String,
    max_days: String,
) -> Result<(), crate::error::AppError> {
    let services = crate::services::services()?;
    let scope = scope(seller)?;
    let form = MethodForm {
        code,
        name,
        kind,
        amount,
        threshold: threshold.unwrap_or_default(),
        per_kg: per_kg.unwrap_or_default(),
        min_days,
        max_days,
    };
    let now = services.clock.now();
    back(
        seller,
        services
            .rates
            .save_method(scope, zone, id, &form, now)
            .await,
    )
}

#[server(prefix = "/rpc", endpoint = "shipping/method/delete")]
pub async fn delete_method(seller: bool, id: i64) -> Result<(), crate::error::AppError> {
    let services = crate::services::services()?;
    let scope = scope(seller)?;
    back(seller, services.rates.delete_method(scope, id).await)
}

#[server(prefix = "/rpc", endpoint = "shipping/zone")]
pub async fn save_zone(
    id: Option<i64>,
    name: String,
    areas: String,
    delete: Option<String>,
) -> Result<(), crate::error::AppError> {
    let services = crate::services::services()?;
    scope(false)?;
    let outcome = match (delete.is_some(), id) {
        (true, Some(id)) => services.rates.delete_zone(id).await,
        _ => services
            .rates
            .save_zone(id, &name, &areas, services.clock.now())
            .await
            .map(|_| ()),
    };
    back(false, outcome)
}

#[server(prefix = "/rpc", endpoint = "shipping/tax")]
pub async fn save_tax_rule(
    country: String,
    region: Option<String>,
    rate: Option<String>,
    shipping_taxed: Option<String>,
    delete: Option<String>,
) -> Result<(), crate::error::AppError> {
    let services = crate::services::services()?;
    scope(false)?;
    let region = region.unwrap_or_default();
    let outcome = if delete.is_some() {
        services.rates.delete_tax_rule(&country, &region).await
    } else {
        let rate = rate.unwrap_or_default();
        let now = services.clock.now();
        services
            .rates
            .save_tax_rule(&country, &region, &rate, shipping_taxed.is_some(), now)
            .await
            .map(|_| ())
    };
    back(false, outcome)
}

#[component]
pub fn AdminShippingRoute() -> impl IntoView {
    view! { <SetupRoute seller=false/> }
}

#[component]
pub fn SellerShippingRoute() -> impl IntoView {
    view! { <SetupRoute seller=true/> }
}

/// The forms' actions, shared by every part of the page.
#[derive(Clone, Copy)]
struct Actions {
    method: ServerAction<SaveMethod>,
    delete: ServerAction<DeleteMethod>,
    zone: ServerAction<SaveZone>,
    tax: ServerAction<SaveTaxRule>,
}

#[component]
fn SetupRoute(seller: bool) -> impl IntoView {
    let query = crate::route::query_map();
    let search = crate::route::search();
    let actions = Actions {
        method: ServerAction::new(),
        delete: ServerAction::new(),
        zone: ServerAction::new(),
        tax: ServerAction::new(),
    };
    let versions = move || {
        (
            actions.method.version().get(),
            actions.delete.version().get(),
            actions.zone.version().get(),
            actions.tax.version().get(),
        )
    };
    let page = Resource::new(
        move || (search.get(), versions()),
        move |_| load_setup(seller),
    );
    let notice = move || {
        let q = query.read();
        if let Some(field) = q.get("error") {
            Some(("notice error", problem(&field)))
        } else {
            q.get("saved").map(|_| ("notice success", "Saved."))
        }
    };
    view! {
        <Title text=if seller { "Your shipping" } else { "Shipping and tax" }/>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) => view! { <SetupView page notice=notice() actions/> }.into_any(),
                    Err(error) if seller => crate::sellers::sign_in_first(error),
                    Err(error) => crate::accounts::sign_in_or_error(error, "Admin", "/admin/shipping", "an admin account"),
                }
            })}
        </Transition>
    }
}

#[component]
fn SetupView(
    page: SetupPage,
    notice: Option<(&'static str, &'static str)>,
    actions: Actions,
) -> impl IntoView {
    let seller = page.seller.is_some();
    let currency = page.currency;
    let heading = match &page.seller {
        Some(name) => format!("Shipping for {name}"),
        None => "Shipping and tax".to_owned(),
    };
    let intro = if seller {
        "Methods of your own in a zone replace the shop's for your items shipped there. With none, your items ship by the shop's methods."
    } else {
        "Each address belongs to the zone that lists its region, else its country, else the * zone. Sellers may set methods of their own per zone."
    };
    let zones = page
        .zones
        .into_iter()
        .map(|zone| view! { <Zone zone seller currency actions/> })
        .collect_view();
    view! {
        <section class="shipping-setup">
            {seller.then(|| view! { <crate::sellers::SellerNav/> })}
            <h1>{heading}</h1>
            <p class="muted">{intro}</p>
            {notice.map(|(class, text)| view! { <p class=class role="status">{text}</p> })}
            {zones}
            {(!seller).then(|| view! {
                <h2>"Add a zone"</h2>
                <ZoneForm id=None name=String::new() areas=String::new() action=actions.zone/>
                <TaxRules rules=page.tax_rules action=actions.tax/>
            })}
        </section>
    }
}

#[component]
fn Zone(zone: ZoneView, seller: bool, currency: shop::Currency, actions: Actions) -> impl IntoView {
    let areas = zone
        .areas
        .iter()
        .map(shop::shipping::Area::label)
        .collect::<Vec<_>>()
        .join(", ");
    let zone_id = zone.id;
    let rows = zone
        .methods
        .into_iter()
        .map(|row| {
            let m = &row.method;
            let money = |minor: i64| shop::Money::new(minor, currency).to_string();
            let price = match m.kind {
                MethodKind::Flat { amount } => money(amount),
                MethodKind::FreeOver { amount, threshold } => format!("{}, free over {}", money(amount), money(threshold)),
                MethodKind::ByWeight { base, per_kg } => format!("{} + {} per kg", money(base), money(per_kg)),
            };
            let days = format!("{}–{} days", m.days[0], m.days[1]);
            let form = MethodForm::of(m, currency);
            view! {
                <tr data-testid="method" data-code=m.code.clone()>
                    <td>{m.code.clone()}</td>
                    <td>{m.name.clone()}</td>
                    <td data-testid="method-price">{price}</td>
                    <td>{days}</td>
                    <td>
                        <details>
                            <summary>"Edit"</summary>
                            <MethodFields seller zone=zone_id id=Some(row.id) form action=actions.method/>
                        </details>
                        <ActionForm action=actions.delete>
                            <CsrfField/>
                            <input type="hidden" name="seller" value=seller.to_string()/>
                            <input type="hidden" name="id" value=row.id.to_string()/>
                            <button type="submit" class="link">"Delete"</button>
                        </ActionForm>
                    </td>
                </tr>
            }
        })
        .collect_view();
    let name = zone.name.clone();
    view! {
        <section class="zone" data-testid="zone" data-areas=areas.clone()>
            <h2>{zone.name} " " <small class="muted">{areas.clone()}</small></h2>
            {(!seller).then(|| view! {
                <details>
                    <summary>"Edit the zone"</summary>
                    <ZoneForm id=Some(zone_id) name areas=areas.clone() action=actions.zone/>
                </details>
            })}
            <table class="orders-table">
                <thead><tr><th>"Code"</th><th>"Name"</th><th>"Price"</th><th>"Delivery"</th><th></th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <details>
                <summary>"Add a method"</summary>
                <MethodFields seller zone=zone_id id=None form=MethodForm { kind: "flat".into(), ..MethodForm::default() } action=actions.method/>
            </details>
        </section>
    }
}

#[component]
fn MethodFields(
    seller: bool,
    zone: i64,
    id: Option<i64>,
    form: MethodForm,
    action: ServerAction<SaveMethod>,
) -> impl IntoView {
    let kinds = [
        ("flat", "Flat rate"),
        ("free_over", "Free over an amount"),
        ("by_weight", "By weight"),
    ]
    .into_iter()
    .map(
        |(value, label)| view! { <option value=value selected=form.kind == value>{label}</option> },
    )
    .collect_view();
    view! {
        <ActionForm action attr:class="stacked-form method-form">
            <CsrfField/>
            <input type="hidden" name="seller" value=seller.to_string()/>
            <input type="hidden" name="zone" value=zone.to_string()/>
            {id.map(|id| view! { <input type="hidden" name="id" value=id.to_string()/> })}
            <label>"Code" <input name="code" value=form.code required maxlength="32"/></label>
            <label>"Name" <input name="name" value=form.name required maxlength="60"/></label>
            <label>"Priced" <select name="kind">{kinds}</select></label>
            <label>"Price (or base price)" <input name="amount" value=form.amount inputmode="decimal" required/></label>
            <label>"Free over (free over an amount)" <input name="threshold" value=form.threshold inputmode="decimal"/></label>
            <label>"Per kilogram (by weight)" <input name="per_kg" value=form.per_kg inputmode="decimal"/></label>
            <label>"Shortest delivery, days" <input name="min_days" value=form.min_days inputmode="numeric" required/></label>
            <label>"Longest delivery, days" <input name="max_days" value=form.max_days inputmode="numeric" required/></label>
            <button type="submit">"Save method"</button>
        </ActionForm>
    }
}

#[component]
fn ZoneForm(
    id: Option<i64>,
    name: String,
    areas: String,
    action: ServerAction<SaveZone>,
) -> impl IntoView {
    view! {
        <ActionForm action attr:class="stacked-form zone-form">
            <CsrfField/>
            {id.map(|id| view! { <input type="hidden" name="id" value=id.to_string()/> })}
            <label>"Zone name" <input name="name" value=name required maxlength="60"/></label>
            <label>"Areas (US, US-CA, or * for everywhere else)" <input name="areas" value=areas required/></label>
            <button type="submit">"Save zone"</button>
            {id.is_some().then(|| view! {
                " " <button type="submit" name="delete" value="1" class="link">"Delete the zone and its methods"</button>
            })}
        </ActionForm>
    }
}

#[component]
fn TaxRules(rules: Vec<TaxRule>, action: ServerAction<SaveTaxRule>) -> impl IntoView {
    let rows = rules
        .into_iter()
        .map(|r| {
            let ppm = r.rate.ppm();
            let percent = format!("{}.{:04}", ppm / 10_000, ppm % 10_000);
            let percent = percent.trim_end_matches('0').trim_end_matches('.').to_owned();
            let area = format!("{}-{}", r.country, r.region);
            view! {
                <tr data-testid="tax-rule" data-area=area>
                    <td>{r.country.clone()}</td>
                    <td>{r.region.clone()}</td>
                    <td>{format!("{percent} %")}</td>
                    <td>{if r.shipping_taxed { "yes" } else { "no" }}</td>
                    <td>
                        <ActionForm action>
                            <CsrfField/>
                            <input type="hidden" name="country" value=r.country/>
                            <input type="hidden" name="region" value=r.region/>
                            <button type="submit" name="delete" value="1" class="link">"Delete"</button>
                        </ActionForm>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <h2>"Tax rules"</h2>
        <p class="muted">"A configurable table, not a tax service: a region's rule wins over its country's; an address with neither pays no tax."</p>
        <table class="orders-table">
            <thead><tr><th>"Country"</th><th>"Region"</th><th>"Rate"</th><th>"Shipping taxed"</th><th></th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
        <h3>"Set a rule"</h3>
        <ActionForm action attr:class="stacked-form tax-form">
            <CsrfField/>
            <label>"Country" <input name="country" required maxlength="2"/></label>
            <label>"Region (empty for the whole country)" <input name="region" maxlength="3"/></label>
            <label>"Rate, %" <input name="rate" inputmode="decimal" required/></label>
            <label class="check"><input type="checkbox" name="shipping_taxed" value="1"/> " Shipping is taxed"</label>
            <button type="submit">"Save rule"</button>
        </ActionForm>
    }
}
