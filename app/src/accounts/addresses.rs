//! `/account/addresses`: a signed-in shopper's address book. Add, edit (`?edit=ID`), delete,
//! choose the default the checkout starts from. Every form is a plain post ending in a
//! redirect; one that comes back with mistakes shows the fields as typed (kept on the
//! server for the page the redirect lands on, so it holds without JavaScript too).

// A form's fields are its server function's arguments.
#![allow(clippy::too_many_arguments)]

use super::CsrfField;
use crate::error::ErrorPage;
use crate::fields::{AddressFields, focus_first_error};
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};
use shop::address::{Address, FieldErrors, SavedAddress};

/// The book and its form.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AddressesPage {
    pub addresses: Vec<SavedAddress>,
    pub form: AddressForm,
}

/// The add or edit form: which address (`None`: a new one), its fields, what was wrong.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AddressForm {
    pub id: Option<i64>,
    pub address: Address,
    pub errors: FieldErrors,
    pub make_default: bool,
}

/// The form's key for a kept draft.
#[cfg(feature = "ssr")]
fn draft_key(id: Option<i64>) -> String {
    id.map_or_else(|| "new".to_owned(), |id| id.to_string())
}

#[server(prefix = "/rpc", endpoint = "account/addresses")]
pub async fn load_addresses(edit: Option<String>) -> Result<AddressesPage, crate::error::AppError> {
    use shop::accounts::Viewer;
    let services = crate::services::services()?;
    let viewer = Viewer::require(crate::session::viewer().as_ref())?.clone();
    let book = &services.addresses;
    let addresses = book.list(viewer.user_id).await?;
    // An id that is not a number, or not this account's, is the add form.
    let id = edit
        .as_deref()
        .and_then(|e| e.parse::<i64>().ok())
        .filter(|id| addresses.iter().any(|a| a.id == *id));
    let form = match book.draft(viewer.user_id, &draft_key(id)).await? {
        Some((address, errors)) => AddressForm {
            id,
            address,
            errors,
            make_default: false,
        },
        None => {
            let saved = id.and_then(|id| addresses.iter().find(|a| a.id == id));
            AddressForm {
                id,
                address: saved.map(|a| a.address.clone()).unwrap_or_else(|| Address {
                    country: "US".into(),
                    ..Address::default()
                }),
                errors: FieldErrors::default(),
                make_default: saved.is_some_and(|a| a.is_default),
            }
        }
    };
    Ok(AddressesPage { addresses, form })
}

/// Adds or replaces an address; a form with mistakes is kept as typed for the page it
/// returns to.
#[server(prefix = "/rpc", endpoint = "account/addresses/save")]
pub async fn save_address(
    id: Option<i64>,
    name: String,
    line1: String,
    line2: Option<String>,
    city: String,
    region: Option<String>,
    postal_code: String,
    country: String,
    phone: Option<String>,
    make_default: Option<String>,
) -> Result<(), crate::error::AppError> {
    use crate::session::redirect;
    use shop::accounts::Viewer;
    use shop::accounts::addresses::AddressBookError;
    let services = crate::services::services()?;
    let viewer = Viewer::require(crate::session::viewer().as_ref())?.clone();
    let book = &services.addresses;
    // Kept as typed (bounded: a draft is not a place to store a novel).
    let typed = |t: &str| t.chars().take(300).collect::<String>();
    let address = Address {
        name: typed(&name),
        line1: typed(&line1),
        line2: typed(line2.as_deref().unwrap_or("")),
        city: typed(&city),
        region: typed(region.as_deref().unwrap_or("")),
        postal_code: typed(&postal_code),
        country: typed(&country),
        phone: typed(phone.as_deref().unwrap_or("")),
    };
    let make_default = make_default.is_some();
    let now = services.clock.now();
    let key = draft_key(id);
    let back = id.map_or_else(
        || "/account/addresses".to_owned(),
        |id| format!("/account/addresses?edit={id}"),
    );
    let saved = match id {
        Some(id) => {
            book.update(viewer.user_id, id, &address, make_default, now)
                .await
        }
        None => book
            .add(viewer.user_id, &address, make_default, now)
            .await
            .map(|_| ()),
    };
    match saved {
        Ok(()) => {
            book.forget_draft(viewer.user_id, &key).await?;
            redirect("/account/addresses?saved=1");
        }
        Err(AddressBookError::Invalid(errors)) => {
            book.keep_draft(viewer.user_id, &key, &address, &errors, now)
                .await?;
            redirect(&back);
        }
        Err(AddressBookError::Full) => {
            let mut errors = FieldErrors::default();
            errors.add("form", AddressBookError::Full.to_string());
            book.keep_draft(viewer.user_id, &key, &address, &errors, now)
                .await?;
            redirect(&back);
        }
        Err(AddressBookError::NotFound) => redirect("/account/addresses?gone=1"),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// Deletes an address, or makes it the default (`action`: `delete` or `default`).
#[server(prefix = "/rpc", endpoint = "account/addresses/change")]
pub async fn change_address(id: i64, action: String) -> Result<(), crate::error::AppError> {
    use crate::session::redirect;
    use shop::accounts::Viewer;
    use shop::accounts::addresses::AddressBookError;
    let services = crate::services::services()?;
    let viewer = Viewer::require(crate::session::viewer().as_ref())?.clone();
    let book = &services.addresses;
    let done = match action.as_str() {
        "delete" => book.delete(viewer.user_id, id).await.map(|()| "deleted"),
        "default" => book
            .make_default(viewer.user_id, id)
            .await
            .map(|()| "default"),
        _ => Ok("nothing"),
    };
    match done {
        Ok(what) => redirect(&format!("/account/addresses?{what}=1")),
        Err(AddressBookError::NotFound) => redirect("/account/addresses?gone=1"),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

#[component]
pub fn AddressesRoute() -> impl IntoView {
    let query = crate::route::query_map();
    let search = crate::route::search();
    let save = ServerAction::<SaveAddress>::new();
    let change = ServerAction::<ChangeAddress>::new();
    // Every form ends in a redirect, perhaps to the address it came from: follow the
    // actions too.
    let (saved, changed) = (save.version(), change.version());
    let page = Resource::new(
        move || (search.get(), saved.get(), changed.get()),
        move |_| load_addresses(query.read_untracked().get("edit")),
    );
    let notice = move || {
        let q = query.read();
        [
            ("saved", "notice success", "Address saved."),
            ("deleted", "notice success", "Address deleted."),
            ("default", "notice success", "Default address changed."),
            (
                "gone",
                "notice error",
                "That address is no longer in your address book.",
            ),
        ]
        .into_iter()
        .find(|(key, _, _)| q.get(key).is_some())
        .map(|(_, class, text)| (class, text))
    };
    view! {
        <Title text="Your addresses"/>
        <Transition fallback=|| view! { <p class="loading">"Loading your addresses…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) => view! { <AddressesView page notice=notice() save change/> }.into_any(),
                    Err(crate::error::AppError { kind: shop::FailureKind::SignInRequired, .. }) => {
                        crate::error::set_status(401);
                        view! {
                            <section class="account-form">
                                <h1>"Your addresses"</h1>
                                <p>"Please " <a href="/account/sign-in?next=/account/addresses">"sign in"</a> " to see your address book."</p>
                            </section>
                        }
                        .into_any()
                    }
                    Err(error) => view! { <ErrorPage error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn AddressesView(
    page: AddressesPage,
    notice: Option<(&'static str, &'static str)>,
    save: ServerAction<SaveAddress>,
    change: ServerAction<ChangeAddress>,
) -> impl IntoView {
    let form = page.form;
    let first = form
        .errors
        .first(&shop::address::FIELDS)
        .filter(|f| *f != "form")
        .map(str::to_owned);
    focus_first_error("address", first.clone());
    let general = form.errors.get("form").map(str::to_owned);
    let heading = if form.id.is_some() {
        "Edit the address"
    } else {
        "Add an address"
    };
    let entries = page
        .addresses
        .into_iter()
        .map(|saved| view! { <Entry saved change/> })
        .collect_view();
    view! {
        <section class="account addresses">
            <h1>"Your addresses"</h1>
            <p><a href="/account">"Back to your account"</a></p>
            {notice.map(|(class, text)| view! { <p class=class role="status">{text}</p> })}
            <ul class="address-list">{entries}</ul>
            <h2 id="address-form-heading">{heading}</h2>
            <ActionForm action=save attr:class="stacked-form address-form" attr:aria-labelledby="address-form-heading">
                <CsrfField/>
                {form.id.map(|id| view! { <input type="hidden" name="id" value=id.to_string()/> })}
                {(!form.errors.is_empty()).then(|| view! {
                    <p class="notice error" role="alert">
                        {general.unwrap_or_else(|| "Please check the fields marked below.".to_owned())}
                    </p>
                })}
                <AddressFields form="address" address=form.address errors=form.errors first/>
                <label class="check">
                    <input type="checkbox" name="make_default" value="1" checked=form.make_default/>
                    " Make this my default address"
                </label>
                <button type="submit">"Save address"</button>
                {form.id.is_some().then(|| view! { " " <a href="/account/addresses">"Cancel"</a> })}
            </ActionForm>
        </section>
    }
}

#[component]
fn Entry(saved: SavedAddress, change: ServerAction<ChangeAddress>) -> impl IntoView {
    let a = saved.address;
    let id = saved.id.to_string();
    let (default_id, delete_id) = (id.clone(), id.clone());
    let place = [a.city.as_str(), a.region.as_str(), a.postal_code.as_str()]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    view! {
        <li class="saved-address" data-testid="saved-address" data-default=saved.is_default.then_some("true")>
            <address>
                {a.name} <br/> {a.line1}
                {(!a.line2.is_empty()).then(|| view! { <br/> {a.line2.clone()} })}
                <br/> {place} <br/> {a.country}
                {(!a.phone.is_empty()).then(|| view! { <br/> {a.phone.clone()} })}
            </address>
            <p class="row">
                {if saved.is_default {
                    view! { <strong class="badge">"Default"</strong> }.into_any()
                } else {
                    view! {
                        <ActionForm action=change>
                            <CsrfField/>
                            <input type="hidden" name="id" value=default_id/>
                            <input type="hidden" name="action" value="default"/>
                            <button type="submit" class="link">"Make default"</button>
                        </ActionForm>
                    }
                    .into_any()
                }}
                <a href=format!("/account/addresses?edit={id}")>"Edit"</a>
                <ActionForm action=change>
                    <CsrfField/>
                    <input type="hidden" name="id" value=delete_id/>
                    <input type="hidden" name="action" value="delete"/>
                    <button type="submit" class="link">"Delete"</button>
                </ActionForm>
            </p>
        </li>
    }
}
