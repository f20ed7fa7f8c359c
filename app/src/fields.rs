//! Form fields that keep what was typed and say what is wrong beside it: the checkout's and
//! the address book's address, one component each, so both forms read and behave alike.

use leptos::prelude::*;
use shop::address::{Address, FieldErrors};

/// A labelled input showing what was typed, and, if it was wrong, why, tied to it for screen
/// readers (`aria-describedby`); the form's first wrong field takes the focus. Its id is
/// `{form}-{name}` (the error's `{form}-{name}-error`).
#[component]
pub fn Field(
    form: &'static str,
    label: &'static str,
    name: &'static str,
    value: String,
    #[prop(default = None)] error: Option<String>,
    #[prop(optional)] focus: bool,
    #[prop(default = "text")] kind: &'static str,
    #[prop(default = "")] autocomplete: &'static str,
    #[prop(default = 200)] maxlength: u32,
    #[prop(optional)] required: bool,
    #[prop(optional)] numeric: bool,
) -> impl IntoView {
    let id = format!("{form}-{name}");
    let error_id = format!("{id}-error");
    let invalid = error.is_some();
    view! {
        <div class="field" class:invalid=invalid>
            <label for=id.clone()>{label}</label>
            <input
                id=id
                name=name
                type=kind
                value=value
                autocomplete=autocomplete
                maxlength=maxlength.to_string()
                required=required
                inputmode=numeric.then_some("numeric")
                autofocus=focus
                aria-invalid=invalid.then_some("true")
                aria-describedby=invalid.then(|| error_id.clone())
            />
            {error.map(|e| view! { <p class="field-error" id=error_id>{e}</p> })}
        </div>
    }
}

/// An address's fields, as typed, with their messages; `first` is the wrong field that
/// takes the focus.
#[component]
pub fn AddressFields(
    form: &'static str,
    address: Address,
    errors: FieldErrors,
    first: Option<String>,
) -> impl IntoView {
    let err = move |field: &str| errors.get(field).map(str::to_owned);
    let focus = move |field: &str| first.as_deref() == Some(field);
    let a = address;
    view! {
        <Field form label="Full name" name="name" value=a.name autocomplete="name" maxlength=100 required=true error=err("name") focus=focus("name")/>
        <Field form label="Address" name="line1" value=a.line1 autocomplete="address-line1" required=true error=err("line1") focus=focus("line1")/>
        <Field form label="Apartment, suite (optional)" name="line2" value=a.line2 autocomplete="address-line2" error=err("line2") focus=focus("line2")/>
        <div class="row">
            <Field form label="City" name="city" value=a.city autocomplete="address-level2" maxlength=100 required=true error=err("city") focus=focus("city")/>
            <Field form label="State / province" name="region" value=a.region autocomplete="address-level1" maxlength=100 error=err("region") focus=focus("region")/>
        </div>
        <div class="row">
            <Field form label="Postal code" name="postal_code" value=a.postal_code autocomplete="postal-code" maxlength=20 required=true error=err("postal_code") focus=focus("postal_code")/>
            <Field form label="Country" name="country" value=a.country autocomplete="country" maxlength=2 required=true error=err("country") focus=focus("country")/>
        </div>
        <Field form label="Phone (optional, for the carrier)" name="phone" kind="tel" value=a.phone autocomplete="tel" maxlength=30 error=err("phone") focus=focus("phone")/>
    }
}

/// With JavaScript the form is redrawn in place (no page load, so no `autofocus`): moves the
/// focus to the first wrong field, `{form}-{first}`.
pub fn focus_first_error(form: &'static str, first: Option<String>) {
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        use leptos::wasm_bindgen::JsCast;
        if let Some(field) = first.as_deref()
            && let Some(input) = document()
                .get_element_by_id(&format!("{form}-{field}"))
                .and_then(|e| e.dyn_into::<leptos::web_sys::HtmlElement>().ok())
        {
            let _ = input.focus();
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (form, first);
}
