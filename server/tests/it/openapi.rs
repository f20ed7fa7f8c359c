//! The API's OpenAPI document (`GET /api/v1/openapi.json`): it describes every route of the
//! API's router and nothing else, it is a well-formed OpenAPI 3.1 document, and the checker
//! the API tests run every answer through (`common::openapi`) refuses what the document does
//! not describe.

use crate::common::openapi::Document;
use crate::common::spawn_app;
use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use tower::ServiceExt;

/// A concrete path for a route's template: each `{param}` a plain value, a `{*rest}` too.
fn probe_path(template: &str) -> String {
    template
        .split('/')
        .map(|part| if part.starts_with('{') { "1" } else { part })
        .collect::<Vec<_>>()
        .join("/")
}

/// The router is asked, not a list kept beside it: each route of `api::router()` (the
/// `Classified` table every route must be added through) is sent a method no route takes,
/// and axum answers 405 with the methods the route does take in `Allow`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_route_is_described_with_its_methods_and_nothing_else() {
    let app = spawn_app().await;
    let document = Document::fetch(&app).await;
    let (router, classes) = server::api::router().into_parts();
    let router = router.with_state(app.state.clone());

    let mut routed = BTreeSet::new();
    let mut catch_alls = Vec::new();
    for (template, _class) in classes {
        let probe = Request::builder()
            .method(Method::from_bytes(b"PROBE").unwrap())
            .uri(probe_path(&template))
            .body(Body::empty())
            .unwrap();
        let answer = router.clone().oneshot(probe).await.unwrap();
        match answer.headers().get(header::ALLOW) {
            Some(allow) => {
                assert_eq!(
                    answer.status(),
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{template}"
                );
                for method in allow.to_str().unwrap().split(',').map(str::trim) {
                    // axum answers HEAD wherever it answers GET.
                    if method != "HEAD" {
                        routed.insert((method.to_ascii_lowercase(), template.clone()));
                    }
                }
            }
            // Only the API's catch-all takes every method: it is the JSON 404 for paths no
            // route knows, not an operation.
            None => {
                assert_eq!(
                    answer.status(),
                    StatusCode::NOT_FOUND,
                    "{template} takes any method, as only the catch-all may"
                );
                catch_alls.push(template);
            }
        }
    }
    assert_eq!(catch_alls, ["/", "/{*path}"], "the catch-alls");
    assert!(routed.len() > 30, "the router was read: {routed:?}");

    let described = document.operations();
    let undescribed: Vec<_> = routed.difference(&described).collect();
    assert!(
        undescribed.is_empty(),
        "routes the OpenAPI document lacks (give the handler a #[utoipa::path] and list it in \
         server::api::openapi::ApiDoc): {undescribed:?}"
    );
    let unrouted: Vec<_> = described.difference(&routed).collect();
    assert!(
        unrouted.is_empty(),
        "operations the OpenAPI document describes but the router lacks: {unrouted:?}"
    );
}

/// Every string value of a `$ref` key, anywhere in `value`.
fn references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("$ref", Value::String(reference)) => found.push(reference.clone()),
                    _ => references(inner, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|inner| references(inner, found)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_is_openapi_3_1_and_every_reference_resolves() {
    let app = spawn_app().await;
    let answer = app.get("/api/v1/openapi.json").await;
    assert_eq!(answer.status(), 200);
    let headers = answer.headers().clone();
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert!(
        headers[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("max-age="),
        "cacheable: {headers:?}"
    );
    let tag = headers[header::ETAG].to_str().unwrap().to_owned();
    let text = answer.text().await.unwrap();
    println!("openapi.json: {} bytes", text.len());
    let json: Value = serde_json::from_str(&text).unwrap();

    // It reads as OpenAPI, in the version it claims.
    assert_eq!(json["openapi"], "3.1.0");
    let parsed: Result<utoipa::openapi::OpenApi, _> = serde_json::from_value(json.clone());
    assert!(
        parsed.is_ok(),
        "not an OpenAPI document: {:?}",
        parsed.err()
    );

    // Every reference points at something, and every schema is valid JSON Schema 2020-12.
    let document = Document { json };
    let mut found = Vec::new();
    references(&document.json, &mut found);
    assert!(
        found.len() > 50,
        "the operations refer to shared schemas: {found:?}"
    );
    for reference in &found {
        assert!(
            document.pointer(reference).is_ok(),
            "{reference} resolves to nothing"
        );
    }
    let schemas = document.json["components"]["schemas"].as_object().unwrap();
    for name in schemas.keys() {
        let schema = json!({ "$ref": format!("#/components/schemas/{name}") });
        let compiled = document.validator(&schema).map(|_| ());
        assert_eq!(compiled, Ok(()), "{name}");
    }
    // Every security requirement names a scheme the document defines.
    let schemes = document.json["components"]["securitySchemes"]
        .as_object()
        .unwrap();
    for name in ["seller_key", "session", "csrf_token"] {
        assert!(schemes.contains_key(name), "{name}");
    }
    let mut required = Vec::new();
    for item in document.json["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            for requirement in operation["security"].as_array().into_iter().flatten() {
                required.extend(requirement.as_object().unwrap().keys().cloned());
            }
        }
    }
    assert!(!required.is_empty());
    for name in required {
        assert!(
            schemes.contains_key(&name),
            "an operation requires an unknown scheme {name}"
        );
    }

    // The shared answers reach the operations they apply to, and only those: who may ask
    // where a key or session is needed, the cross-site refusal on anonymous writes.
    let statuses = |method: &str, path: &str| -> Vec<String> {
        let responses = document.json["paths"][path][method]["responses"].as_object();
        responses.unwrap().keys().cloned().collect()
    };
    let seller = statuses("put", "/seller/stock/{sku}");
    assert!(
        seller.contains(&"401".into()) && seller.contains(&"403".into()),
        "a seller route lists who may ask (401, 403): {seller:?}"
    );
    let public = statuses("get", "/products");
    assert!(
        !public.contains(&"401".into()) && !public.contains(&"403".into()),
        "a public route does not: {public:?}"
    );
    assert!(
        statuses("post", "/carts").contains(&"403".into()),
        "cross-site"
    );

    // Cacheable: asked again with its tag, it is not sent again.
    let again = app.get_if_none_match("/api/v1/openapi.json", &tag).await;
    assert_eq!(again.status(), 304);
}

/// The checker the API tests rely on finds what does not match: a field of the wrong type, a
/// status the operation does not list, a route the document does not know.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checker_refuses_answers_the_document_does_not_describe() {
    let app = spawn_app().await;
    let document = Document::fetch(&app).await;
    let (_, list) = app.get_json("/api/v1/products?per_page=1").await;
    let json = |value: &Value| serde_json::to_vec(value).unwrap();
    let check = |path: &str, status: u16, body: &Value| {
        document.check("get", path, status, "application/json", &json(body))
    };
    assert_eq!(check("/api/v1/products?per_page=1", 200, &list), Ok(()));

    let mut wrong = list.clone();
    wrong["products"][0]["available"] = json!("plenty");
    let complaint = check("/api/v1/products", 200, &wrong).unwrap_err();
    assert!(complaint.contains("/products/0/available"), "{complaint}");

    let mut missing = list.clone();
    missing.as_object_mut().unwrap().remove("total");
    assert!(check("/api/v1/products", 200, &missing).is_err());

    let complaint = check("/api/v1/products", 418, &list).unwrap_err();
    assert!(
        complaint.contains("does not list status 418"),
        "{complaint}"
    );

    let error = json!({ "error": "not_found", "message": "no such API route" });
    assert_eq!(check("/api/v1/no-such-route", 404, &error), Ok(()));
    assert!(check("/api/v1/no-such-route", 200, &list).is_err());
    assert!(check("/api/v1/no-such-route", 404, &json!({ "oops": 1 })).is_err());
}
