//! One product (`/seller/products/{id}`, or `new`): the form with its variants, stock per
//! warehouse with the audit trail, and pictures.

use super::{SellerNav, sign_in_first};
use crate::accounts::CsrfField;
use crate::error::AppError;
use crate::format::utc;
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};
use shop::assets::{ImageId, ProductImage};
use shop::catalog::{ProductId, Sku};
use shop::sellers::{CategoryChoice, FieldErrors, Movement, ProductDraft, StockRow};

/// Everything the product page of the portal shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProductEditor {
    /// `None` for a new product.
    pub id: Option<i64>,
    pub slug: Option<String>,
    pub draft: ProductDraft,
    /// What was wrong with the draft, when it is a refused save kept as typed.
    pub errors: FieldErrors,
    pub categories: Vec<CategoryChoice>,
    pub stock: Vec<StockRow>,
    pub movements: Vec<Movement>,
    pub images: Vec<ProductImage>,
}

#[server(prefix = "/rpc", endpoint = "seller/product")]
pub async fn load_product(
    id: Option<String>,
    unsaved: Option<bool>,
) -> Result<ProductEditor, AppError> {
    let seller = super::seller()?;
    let services = crate::services::services()?;
    let categories = services.sellers.categories().await?;
    // A refused save, as typed (`?unsaved=1` after it): see `save_product`.
    let kept = match (&id, unsaved.unwrap_or(false)) {
        (Some(key), true) => services.sellers.kept_draft(seller, key).await?,
        _ => None,
    };
    let Some(id) = id.filter(|i| i != "new") else {
        let (draft, errors) = kept.unwrap_or_default();
        return Ok(ProductEditor {
            id: None,
            slug: None,
            draft,
            errors,
            categories,
            stock: vec![],
            movements: vec![],
            images: vec![],
        });
    };
    let product = shop::catalog::ProductId::parse(&id)
        .map_err(|_| shop::catalog::CatalogError::ProductNotFound)?;
    let (draft, errors) = match kept {
        Some(kept) => kept,
        None => (
            services.sellers.draft(seller, product.get()).await?,
            FieldErrors::default(),
        ),
    };
    let slug = services
        .catalog
        .product_by_id(product)
        .await
        .ok()
        .map(|p| p.slug.to_string());
    let images = services
        .assets
        .list(seller, product)
        .await
        .unwrap_or_default();
    Ok(ProductEditor {
        id: Some(product.get()),
        slug,
        stock: services.sellers.stock(seller, product.get()).await?,
        movements: services
            .sellers
            .movements(seller, product.get(), 50)
            .await?,
        draft,
        errors,
        categories,
        images,
    })
}

/// What the product form sends back after a failed save: the text as typed, and the errors.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SaveOutcome {
    pub saved: Option<i64>,
    pub draft: ProductDraft,
    pub errors: FieldErrors,
}

#[server(prefix = "/rpc", endpoint = "seller/save")]
pub async fn save_product(
    id: Option<String>,
    title: String,
    description: String,
    brand: Option<String>,
    category: String,
    variants: String,
) -> Result<SaveOutcome, AppError> {
    use shop::sellers::{SellerError, parse_variant_lines};
    let seller = super::seller()?;
    let services = crate::services::services()?;
    let id = match id.as_deref().map(str::trim).filter(|i| !i.is_empty()) {
        Some(raw) => Some(
            shop::catalog::ProductId::parse(raw)
                .map_err(|_| shop::catalog::CatalogError::ProductNotFound)?
                .get(),
        ),
        None => None,
    };
    let draft = ProductDraft {
        title,
        description,
        brand: brand.unwrap_or_default(),
        category,
        variants: parse_variant_lines(&variants),
    };
    let key = id.map_or_else(|| "new".to_owned(), |id| id.to_string());
    match services.sellers.save(seller, id, &draft).await {
        Ok(saved) => {
            services.sellers.forget_draft(seller, &key).await?;
            crate::session::redirect(&format!("/seller/products/{saved}?saved=1"));
            Ok(SaveOutcome {
                saved: Some(saved),
                ..SaveOutcome::default()
            })
        }
        // Kept as typed for the page the form lands on: a form posted without JavaScript
        // is answered by a redirect, not by this value.
        Err(SellerError::Invalid(errors)) => {
            services
                .sellers
                .keep_draft(seller, &key, &draft, &errors)
                .await?;
            crate::session::redirect(&format!("/seller/products/{key}?unsaved=1"));
            Ok(SaveOutcome {
                saved: None,
                draft,
                errors,
            })
        }
        Err(e) => Err(e.into()),
    }
}

#[server(prefix = "/rpc", endpoint = "seller/stock")]
pub async fn set_stock(
    product: ProductId,
    sku: Sku,
    warehouse: String,
    available: String,
    reason: String,
) -> Result<(), AppError> {
    use shop::sellers::SellerError;
    let seller = super::seller()?;
    let services = crate::services::services()?;
    let back = format!("/seller/products/{product}");
    let Ok(available) = available.trim().parse::<i64>() else {
        crate::session::redirect(&format!("{back}?stock=number"));
        return Ok(());
    };
    match services
        .sellers
        .set_stock(seller, sku.as_str(), warehouse.trim(), available, &reason)
        .await
    {
        Ok(()) => crate::session::redirect(&format!("{back}?stock=saved")),
        Err(SellerError::Invalid(errors)) => crate::session::redirect(&format!(
            "{back}?stock={}",
            errors.0.first().map_or("invalid", |(f, _)| f.as_str())
        )),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// What a seller can do to one picture from its row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageChange {
    /// Show a picture the quality gate held, or one that was removed.
    Approve,
    /// Make it the product's main picture.
    First,
    Remove,
}

impl ImageChange {
    pub fn as_str(self) -> &'static str {
        match self {
            ImageChange::Approve => "approve",
            ImageChange::First => "first",
            ImageChange::Remove => "remove",
        }
    }
}

#[server(prefix = "/rpc", endpoint = "seller/image")]
pub async fn change_image(
    product: ProductId,
    image: ImageId,
    change: ImageChange,
) -> Result<(), AppError> {
    let seller = super::seller()?;
    let services = crate::services::services()?;
    let (assets, image) = (&services.assets, image.get());
    let outcome = match change {
        ImageChange::Approve => {
            assets.approve(seller, product, image).await?;
            "approved"
        }
        ImageChange::Remove => {
            assets.remove(seller, product, image).await?;
            "removed"
        }
        ImageChange::First => {
            assets.move_first(seller, product, image).await?;
            "first"
        }
    };
    crate::session::redirect(&format!("/seller/products/{product}?image={outcome}"));
    Ok(())
}

/// One picture's button for one change (a form of its own, so it works without JavaScript).
#[component]
fn ImageChangeButton(
    product: String,
    image: String,
    change: ImageChange,
    label: &'static str,
    class: &'static str,
) -> impl IntoView {
    let action = ServerAction::<ChangeImage>::new();
    view! {
        <ActionForm action>
            <CsrfField/>
            <input type="hidden" name="product" value=product/>
            <input type="hidden" name="image" value=image/>
            <input type="hidden" name="change" value=change.as_str()/>
            <button type="submit" class=class>{label}</button>
        </ActionForm>
    }
}

#[component]
pub fn SellerProductRoute() -> impl IntoView {
    let params = crate::route::params_map();
    let query = crate::route::query_map();
    let editor = Resource::new(
        move || {
            (
                params.read().get("id"),
                query.read().get("saved"),
                query.read().get("stock"),
                query.read().get("image"),
                query.read().get("unsaved"),
            )
        },
        |(id, _, _, _, unsaved)| load_product(id, Some(unsaved.is_some())),
    );
    let notice = move || {
        let q = query.read();
        if q.get("saved").is_some() {
            Some("Saved. Shoppers see the change within a second.".to_string())
        } else if let Some(s) = q.get("stock") {
            Some(match s.as_str() {
                "saved" => "Stock updated.".to_string(),
                "reason" => "Say why the stock changes.".to_string(),
                _ => "Stock is a whole number from 0 to 1,000,000.".to_string(),
            })
        } else {
            q.get("image").map(|i| match i.as_str() {
                "live" => "Picture added.".to_string(),
                "needs_review" => {
                    "Picture uploaded; its quality needs your review before shoppers see it."
                        .to_string()
                }
                "approved" => "Picture approved.".to_string(),
                "first" => "That picture is now the main one.".to_string(),
                "removed" => "Picture removed.".to_string(),
                _ => format!("Picture refused: {}", q.get("reason").unwrap_or_default()),
            })
        }
    };
    view! {
        <Title text="Product"/>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match editor.await {
                    Ok(e) => view! { <EditorView e notice=notice()/> }.into_any(),
                    Err(e) => sign_in_first(e),
                }
            })}
        </Transition>
    }
}

#[component]
fn FieldError(errors: ReadSignal<FieldErrors>, field: &'static str) -> impl IntoView {
    move || {
        errors.with(|e| {
            e.get(field).map(|m| {
                view! { <span class="field-error" role="alert" data-field=field>{m.to_owned()}</span> }
            })
        })
    }
}

#[component]
fn EditorView(e: ProductEditor, notice: Option<String>) -> impl IntoView {
    use shop::sellers::format_variant_lines;
    let save = ServerAction::<SaveProduct>::new();
    let (errors, set_errors) = signal(e.errors.clone());
    // Without JavaScript the page comes back from a refused save: the cursor goes to the
    // first field that was wrong (`variants.2.price` is the variants' box).
    let first_wrong = ["title", "description", "brand", "category", "variants"]
        .into_iter()
        .find(|f| {
            e.errors
                .0
                .iter()
                .any(|(field, _)| field == f || field.starts_with(&format!("{f}.")))
        });
    let focus = move |field: &str| first_wrong == Some(field);
    let draft = RwSignal::new(e.draft.clone());
    Effect::new(move |_| {
        if let Some(Ok(outcome)) = save.value().get()
            && outcome.saved.is_none()
        {
            set_errors.set(outcome.errors.clone());
            draft.set(outcome.draft.clone());
        }
    });
    let variant_errors = move || {
        errors.with(|e| {
            e.0.iter()
                .filter(|(f, _)| f.starts_with("variants"))
                .map(|(f, m)| {
                    let line = f
                        .split('.')
                        .nth(1)
                        .and_then(|n| n.parse::<usize>().ok())
                        .map(|n| format!("Line {}: ", n + 1))
                        .unwrap_or_default();
                    view! { <li class="field-error" role="alert">{format!("{line}{m}")}</li> }
                })
                .collect_view()
        })
    };
    let id = e.id.map(|i| i.to_string()).unwrap_or_default();
    let heading = if e.id.is_some() {
        "Edit product"
    } else {
        "New product"
    };
    let categories = e.categories.clone();
    let stock_rows: Vec<AnyView> = e
        .stock
        .iter()
        .map(|s| {
            let action = ServerAction::<SetStock>::new();
            let (product, sku, warehouse) = (id.clone(), s.sku.clone(), s.warehouse.clone());
            let available = s.available;
            view! {
                <tr data-testid="stock-row" data-sku=s.sku.clone()>
                    <td>{s.sku.clone()}</td>
                    <td>{s.warehouse.clone()}</td>
                    <td>{format!("{} held, {} sold", s.held, s.committed)}</td>
                    <td>
                        <ActionForm action attr:class="row">
                            <CsrfField/>
                            <input type="hidden" name="product" value=product/>
                            <input type="hidden" name="sku" value=sku/>
                            <input type="hidden" name="warehouse" value=warehouse/>
                            <label>"Available" <input type="number" name="available" min="0" max="1000000" value=available required/></label>
                            <label>"Reason" <input name="reason" required maxlength="200" placeholder="delivery received"/></label>
                            <button type="submit" class="secondary">"Set stock"</button>
                        </ActionForm>
                    </td>
                </tr>
            }
            .into_any()
        })
        .collect();
    let movements: Vec<AnyView> = e
        .movements
        .iter()
        .map(|m| {
            view! {
                <tr data-testid="movement">
                    <td>{utc(m.at)}</td>
                    <td>{m.sku.clone()}</td>
                    <td>{m.warehouse.clone()}</td>
                    <td>{m.reason.clone()}</td>
                    <td>{format!("{:+}", m.available)}</td>
                    <td>{m.reference.clone()}</td>
                </tr>
            }
            .into_any()
        })
        .collect();
    let first_live = e.images.iter().position(|i| i.status.as_str() == "live");
    let images: Vec<AnyView> = e
        .images
        .iter()
        .enumerate()
        .map(|(position, img)| {
            // Only a live picture behind the first live one can become the main picture.
            let position = usize::from(first_live.is_some_and(|f| position > f));
            let status = img.status.as_str();
            let button = |change, label, class| {
                let (product, image) = (id.clone(), img.id.to_string());
                move || view! { <ImageChangeButton product image change label class/> }
            };
            let reasons = img.quality.reasons.join("; ");
            let replace_action = format!(
                "/api/v1/seller/products/{id}/images?return_to=/seller/products/{id}&replaces={}",
                img.id
            );
            view! {
                <li class="portal-image" data-testid="portal-image" data-status=status>
                    <img src=img.picture.src(shop::assets::ImageVariant::Thumb) width="80" height="80" alt=img.alt.clone()/>
                    <span>{status.replace('_', " ")}</span>
                    <span class="muted">{reasons}</span>
                    {(status == "needs_review" || status == "removed")
                        .then(button(ImageChange::Approve, "Show it", "secondary"))}
                    <form method="post" enctype="multipart/form-data" action=replace_action class="row">
                        <label>"Replace with" <input type="file" name="image" accept="image/jpeg,image/png,image/webp" required/></label>
                        <button type="submit" class="link">"Upload replacement"</button>
                    </form>
                    {(status == "live" && position > 0)
                        .then(button(ImageChange::First, "Make main picture", "link"))}
                    {(status == "live" || status == "needs_review")
                        .then(button(ImageChange::Remove, "Remove", "link"))}
                </li>
            }
            .into_any()
        })
        .collect();
    let upload_action =
        e.id.map(|i| format!("/api/v1/seller/products/{i}/images?return_to=/seller/products/{i}"));
    view! {
        <section class="portal">
            <h1>{heading}</h1>
            <SellerNav/>
            {notice.map(|n| view! { <p class="notice" role="status" data-testid="portal-notice">{n}</p> })}
            {e.slug.clone().map(move |slug| view! { <p><a href=format!("/p/{slug}")>"View in the shop"</a></p> })}
            <FieldError errors field="product"/>
            <ActionForm action=save attr:class="stacked-form product-form">
                <CsrfField/>
                <input type="hidden" name="id" value=id.clone()/>
                <label>"Title" <input name="title" required maxlength="200" value=e.draft.title.clone() autofocus=focus("title") prop:value=move || draft.with(|d| d.title.clone())/></label>
                <FieldError errors field="title"/>
                <label>"Description" <textarea name="description" required maxlength="5000" rows="5" autofocus=focus("description") prop:value=move || draft.with(|d| d.description.clone())>{e.draft.description.clone()}</textarea></label>
                <FieldError errors field="description"/>
                <label>"Brand" <input name="brand" maxlength="80" value=e.draft.brand.clone() autofocus=focus("brand") prop:value=move || draft.with(|d| d.brand.clone())/></label>
                <FieldError errors field="brand"/>
                <label>"Category"
                    <select name="category" required autofocus=focus("category")>
                        <option value="">"Choose…"</option>
                        {categories.into_iter().map(|c| {
                            let value = c.id.to_string();
                            let selected = value == e.draft.category;
                            view! { <option value=value selected=selected>{c.label}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <FieldError errors field="category"/>
                <label>
                    "Variants, one per line: SKU | price | options"
                    <textarea name="variants" rows="4" placeholder="LAMP-01 | 49.00 | Color: Brass" autofocus=focus("variants")
                        prop:value=move || draft.with(|d| format_variant_lines(&d.variants))>
                        {format_variant_lines(&e.draft.variants)}
                    </textarea>
                </label>
                <FieldError errors field="variants"/>
                <ul class="field-errors">{variant_errors}</ul>
                <button type="submit">"Save product"</button>
            </ActionForm>
            {e.id.map(move |_| view! {
                <h2>"Stock"</h2>
                <table class="orders-table"><tbody>{stock_rows}</tbody></table>
                <h2>"Pictures"</h2>
                <ul class="portal-images">{images}</ul>
                <form method="post" enctype="multipart/form-data" action=upload_action.clone() class="stacked-form">
                    <label>"Picture (JPEG, PNG or WebP, up to 10 MB)" <input type="file" name="image" accept="image/jpeg,image/png,image/webp" required/></label>
                    <label>"Description for screen readers" <input name="alt" maxlength="200"/></label>
                    <button type="submit" class="secondary">"Upload picture"</button>
                </form>
                <h2>"Stock history"</h2>
                <table class="orders-table">
                    <thead><tr><th>"When"</th><th>"SKU"</th><th>"Warehouse"</th><th>"Why"</th><th>"Change"</th><th>"Note"</th></tr></thead>
                    <tbody>{movements}</tbody>
                </table>
            })}
        </section>
    }
}
