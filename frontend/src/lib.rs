//! The wasm entry point: hydrates the server-rendered page so that it becomes interactive.
//! Everything it renders lives in the `app` crate; this crate only exists so that the
//! native server build never links a wasm `cdylib`.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    app::configure_from_page();
    leptos::mount::hydrate_body(app::App);
}
