//! GET forms that navigate client-side once hydrated and are ordinary forms without
//! JavaScript. (The router's `<Form>` would add the nameless submit button to the query
//! string as `=`.)

use leptos::ev::SubmitEvent;
use leptos::wasm_bindgen::JsCast;
use leptos::web_sys::{FormData, HtmlFormElement, UrlSearchParams};

/// Turns a GET form's submission into a router navigation to `action?fields`. Does nothing
/// (the browser submits the form itself) if anything about the form is unexpected.
pub fn navigate_on_submit(ev: &SubmitEvent, navigate: &crate::route::Navigator) {
    let Some(form) = ev
        .target()
        .and_then(|t| t.dyn_into::<HtmlFormElement>().ok())
    else {
        return;
    };
    let Ok(data) = FormData::new_with_form(&form) else {
        return;
    };
    let Ok(params) = UrlSearchParams::new_with_str_sequence_sequence(&data) else {
        return;
    };
    ev.prevent_default();
    let action = form.get_attribute("action").unwrap_or_default();
    let query: String = params.to_string().into();
    let url = if query.is_empty() {
        action
    } else {
        format!("{action}?{query}")
    };
    navigate.go(&url);
}
