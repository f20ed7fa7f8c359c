//! The API described as an OpenAPI 3.1 document, served at `GET /api/v1/openapi.json`.
//!
//! Generated, not written: each handler carries its `#[utoipa::path]` (method, path,
//! parameters, answers) beside its code, and the bodies it reads and answers derive
//! `utoipa::ToSchema` where they are defined (in `shop` too, behind its `openapi` feature).
//! This module lists the operations and adds what every operation shares, once: the error
//! answers any route can give (rate limits, our own failures, malformed input) and the ways a
//! client says who it is.
//!
//! The tests keep the document honest: every route of `super::router()` must be in it (and
//! nothing else), and every answer the API tests receive must validate against the schema of
//! its operation and status (`server/tests/it/openapi.rs`).

use super::sellers::{images, products as seller_products};
use super::{carts, checkouts, coupons, feeds, orders, products, search, session};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use std::sync::OnceLock;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{Content, OpenApi as Document, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Emporium storefront API",
        version = "1",
        description = "JSON over HTTP. Money is integer minor units with an ISO 4217 currency. \
                       Errors have one shape (`ApiError`) with a stable `error` code. The prose \
                       reference is docs/API.md."
    ),
    servers((url = "/api/v1", description = "Every path below is under /api/v1.")),
    paths(
        document,
        products::list,
        products::show,
        products::categories,
        search::search,
        search::suggest,
        carts::create,
        carts::show,
        carts::shipping,
        carts::set_line,
        carts::set_coupon,
        carts::remove_coupon,
        checkouts::create,
        checkouts::show,
        orders::show,
        session::create,
        session::finish,
        session::delete,
        coupons::create_coupon,
        coupons::list_coupons,
        seller_products::list,
        seller_products::create,
        seller_products::show,
        seller_products::update,
        seller_products::set_stock,
        seller_products::orders,
        images::upload,
        images::list,
        images::approve,
        images::restore,
        images::remove,
        feeds::submit,
        feeds::list,
        feeds::show,
        feeds::retry,
    ),
    modifiers(&Shared),
    tags(
        (name = "catalog", description = "The public catalog: answered with an ETag, 304 while unchanged."),
        (name = "carts", description = "A cart's id is a 128-bit random token: knowing it gives access."),
        (name = "checkout", description = "Placing orders (with an Idempotency-Key) and reading them back."),
        (name = "session", description = "Signing in and out with the session cookie."),
        (name = "admin", description = "An admin's session: 401 without one, 403 for any other role."),
        (name = "seller", description = "A seller's API key or a seller account's session."),
    )
)]
pub struct ApiDoc;

/// The answers every operation can give, described once in `components.responses` and
/// referred to from each operation they apply to.
const SHARED: [(&str, &str, &str); 9] = [
    (
        "400",
        "BadRequest",
        "A malformed path, query or body (`bad_request`), naming what is wrong.",
    ),
    (
        "403",
        "CrossSite",
        "A state-changing request with our cookies that did not come from our own pages \
         (`cross_site_request`): send `X-CSRF-Token`, or use an API key instead of cookies.",
    ),
    (
        "401",
        "SignInRequired",
        "No valid session (or, on seller routes, seller key) (`unauthorized`).",
    ),
    (
        "403",
        "Forbidden",
        "Signed in with a role that may not do this (`forbidden`); or, for a state-changing \
         request with cookies, one that did not come from our own pages \
         (`cross_site_request`).",
    ),
    (
        "413",
        "PayloadTooLarge",
        "The body is over the route's limit (`payload_too_large`).",
    ),
    (
        "415",
        "UnsupportedMediaType",
        "The body's content type is not one the route reads (`unsupported_media_type`).",
    ),
    (
        "429",
        "RateLimited",
        "Over the route class's per-address limit (`rate_limited`, with `Retry-After`), or \
         too many failed sign-ins (`throttled`).",
    ),
    (
        "500",
        "Internal",
        "A bug (`internal`); the detail is in the server's log, not in the answer.",
    ),
    (
        "503",
        "Unavailable",
        "Something the shop depends on is down (`unavailable`, `store_unavailable`, \
         `payment_unavailable`); retry later.",
    ),
];

/// Adds the security schemes and the shared error answers.
struct Shared;

impl Modify for Shared {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "seller_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("emp_sk_…")
                    .description(Some(
                        "A seller's API key (`server seller-key --seller SLUG`): \
                     `Authorization: Bearer emp_sk_…`. Requests without cookies are not \
                     subject to the CSRF check.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                shop::accounts::sessions::COOKIE,
                "The session cookie `POST /session` sets (HttpOnly, SameSite=Lax, Secure behind TLS).",
            ))),
        );
        components.add_security_scheme(
            "csrf_token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-CSRF-Token",
                "With cookies, a state-changing request must say it comes from our pages: \
                 `Sec-Fetch-Site: same-origin`, an `Origin` naming this host, or (neither \
                 header) this token, derived from the cookie.",
            ))),
        );
        for (_, name, description) in SHARED {
            let answer = ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    Content::new(Some(Ref::from_schema_name("ApiError"))),
                )
                .build();
            components.responses.insert(name.into(), answer.into());
        }
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                (false, &mut item.get),
                (true, &mut item.post),
                (true, &mut item.put),
                (true, &mut item.delete),
            ];
            for (writes, operation) in operations {
                let Some(operation) = operation else { continue };
                let takes_input = operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let has_body = operation.request_body.is_some();
                // Operations that need a key or a session: a security list without the
                // empty requirement that lets anyone in.
                let anyone = SecurityRequirement::default();
                let guarded = operation
                    .security
                    .as_ref()
                    .is_some_and(|s| !s.is_empty() && !s.contains(&anyone));
                let applies = |name: &str| match name {
                    "BadRequest" => takes_input || has_body,
                    "SignInRequired" | "Forbidden" => guarded,
                    "CrossSite" => writes && !guarded,
                    "PayloadTooLarge" | "UnsupportedMediaType" => has_body,
                    _ => true,
                };
                for (status, name, _) in SHARED {
                    if applies(name) {
                        // An operation that says more about a status keeps its own words.
                        operation
                            .responses
                            .responses
                            .entry(status.into())
                            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
                    }
                }
            }
        }
    }
}

/// The document as JSON, made once: it depends only on the code.
pub fn json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        ApiDoc::openapi()
            .to_json()
            // Serializing plain data to a string has no way to fail; an empty answer would
            // show up in the tests at once.
            .unwrap_or_default()
    })
}

/// What `GET /openapi.json` answers with: an OpenAPI 3.1 document (this one), described by
/// its top-level members only.
#[derive(utoipa::ToSchema)]
#[schema(as = OpenApiDocument)]
#[allow(dead_code)]
struct DocumentShape {
    /// `3.1.0`.
    openapi: String,
    #[schema(value_type = Object)]
    info: (),
    #[schema(value_type = Object)]
    paths: (),
    #[schema(value_type = Object)]
    components: (),
}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "catalog",
    responses(
        (status = 200, description = "This OpenAPI 3.1 document.", body = DocumentShape),
        (status = 304, description = "Unchanged since the `ETag` sent in `If-None-Match`."),
    )
)]
pub async fn document() -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            // It changes only with a deployment: caches may keep it a while, and the
            // catalog's revalidation adds the ETag to ask again cheaply.
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        json(),
    )
        .into_response()
}
