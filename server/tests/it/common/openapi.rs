//! The API's answers checked against its own OpenAPI document as they arrive.
//!
//! `spawn_checked_app()` is `spawn_app()` whose request helpers (`get`, `get_json`,
//! `send_json`, …) check every answer under `/api/v1` before the test sees it: the document
//! must describe its operation and its status, and a JSON body must validate against that
//! status's schema. An answer the document does not describe fails the test that received it,
//! naming the operation and the schema's complaint. Everything else (`TestApp`'s fields and
//! other helpers) is reached through `Deref`.

use super::TestApp;
use serde_json::{Value, json};
use std::ops::Deref;

/// Where the API is served; the document's paths are relative to it (its `servers`).
const PREFIX: &str = "/api/v1";

/// `TestApp`, with every API answer checked against the document.
pub struct CheckedApp {
    app: TestApp,
    pub document: Document,
}

impl Deref for CheckedApp {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.app
    }
}

/// `spawn_app()`, with the document the server itself serves.
pub async fn spawn_checked_app() -> CheckedApp {
    spawn_checked_app_with(|_| {}).await
}

/// `spawn_checked_app` with the settings adjusted first.
pub async fn spawn_checked_app_with(
    adjust: impl FnOnce(&mut server::config::Settings),
) -> CheckedApp {
    let app = super::spawn_app_with(adjust).await;
    let document = Document::fetch(&app).await;
    CheckedApp { app, document }
}

impl super::JsonApi for CheckedApp {
    fn app(&self) -> &TestApp {
        &self.app
    }

    async fn answer(
        &self,
        request: reqwest::RequestBuilder,
        method: &str,
        path: &str,
    ) -> reqwest::Response {
        self.checked(request, method, path).await
    }
}

impl CheckedApp {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.checked(self.client.get(self.url(path)), "get", path)
            .await
    }

    pub async fn get_if_none_match(&self, path: &str, tags: &str) -> reqwest::Response {
        let request = self
            .client
            .get(self.url(path))
            .header("If-None-Match", tags);
        self.checked(request, "get", path).await
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }

    /// Sends `request`, checks its answer, and hands the answer back whole.
    async fn checked(
        &self,
        request: reqwest::RequestBuilder,
        method: &str,
        path: &str,
    ) -> reqwest::Response {
        let response = request.send().await.expect("request reaches the server");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("the answer's body");
        let content_type = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if let Err(complaint) =
            self.document
                .check(method, path, status.as_u16(), content_type, &body)
        {
            panic!(
                "{} {path} → {status}: not as the OpenAPI document says: {complaint}\nbody: {}",
                method.to_uppercase(),
                String::from_utf8_lossy(&body)
            );
        }
        let mut rebuilt = http::Response::new(body);
        *rebuilt.status_mut() = status;
        *rebuilt.headers_mut() = headers;
        rebuilt.into()
    }
}

/// The OpenAPI document, as JSON, and what the tests ask of it.
pub struct Document {
    pub json: Value,
}

impl Document {
    /// The document the server serves.
    pub async fn fetch(app: &TestApp) -> Self {
        let (status, json) = app.get_json(&format!("{PREFIX}/openapi.json")).await;
        assert_eq!(status, 200, "the API serves its description: {json}");
        Self { json }
    }

    /// Every operation the document describes, as `(method, path)` (`("get", "/products")`).
    pub fn operations(&self) -> std::collections::BTreeSet<(String, String)> {
        let paths = self.json["paths"]
            .as_object()
            .expect("the document has paths");
        paths
            .iter()
            .flat_map(|(path, item)| {
                let methods = item.as_object().expect("a path item is an object");
                methods
                    .keys()
                    .filter(|m| ["get", "put", "post", "delete", "patch"].contains(&m.as_str()))
                    .map(move |m| (m.clone(), path.clone()))
            })
            .collect()
    }

    /// The path template (`/products/{id}`) that describes `method` on the concrete `path`
    /// (`/api/v1/products/196?x=1`): among those that match, the one with the most literal
    /// segments, as a router would choose.
    fn template(&self, method: &str, path: &str) -> Option<&str> {
        let path = path.split('?').next()?.strip_prefix(PREFIX)?;
        let asked: Vec<&str> = path.split('/').collect();
        let matches = |template: &str| {
            let parts: Vec<&str> = template.split('/').collect();
            parts.len() == asked.len()
                && parts
                    .iter()
                    .zip(&asked)
                    .all(|(part, seg)| part.starts_with('{') || part == seg)
        };
        let literals = |template: &str| template.split('/').filter(|p| !p.starts_with('{')).count();
        self.json["paths"]
            .as_object()?
            .iter()
            .filter(|(template, item)| item.get(method).is_some() && matches(template))
            .map(|(template, _)| template.as_str())
            .max_by_key(|template| literals(template))
    }

    /// Whether an answer to `method path` is one the document describes: its operation, its
    /// status, and a JSON body that validates against that status's schema. Paths outside
    /// the API are not the document's business. A path no operation describes can only be
    /// the API's catch-all 404, in the error shape.
    pub fn check(
        &self,
        method: &str,
        path: &str,
        status: u16,
        content_type: &str,
        body: &[u8],
    ) -> Result<(), String> {
        if !path.starts_with(PREFIX) {
            return Ok(());
        }
        let json = || -> Result<Value, String> {
            serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))
        };
        let Some(template) = self.template(method, path) else {
            if status != 404 {
                return Err("no operation of the document describes this route".into());
            }
            return self.validate(
                &json!({ "$ref": "#/components/schemas/ApiError" }),
                &json()?,
            );
        };
        let responses = &self.json["paths"][template][method]["responses"];
        let answer = responses
            .get(status.to_string())
            .or_else(|| responses.get("default"))
            .ok_or_else(|| {
                format!(
                    "{method} {template} does not list status {status} (it lists {:?})",
                    responses.as_object().map(|r| r.keys().collect::<Vec<_>>())
                )
            })?;
        let answer = self.resolve(answer)?;
        let described = answer.get("content").and_then(|c| {
            c.as_object()?
                .iter()
                .find(|(media, _)| content_type.starts_with(media.as_str()))
        });
        match (body.is_empty(), described) {
            (true, _) => Ok(()),
            (false, None) => Err(format!(
                "{method} {template} {status} describes no body of type {content_type:?}"
            )),
            (false, Some((_, media))) => match media.get("schema") {
                Some(schema) => self.validate(schema, &json()?),
                None => Ok(()),
            },
        }
    }

    /// `answer`, or what its `$ref` points to.
    fn resolve<'a>(&'a self, answer: &'a Value) -> Result<&'a Value, String> {
        match answer.get("$ref").and_then(Value::as_str) {
            Some(reference) => self.pointer(reference),
            None => Ok(answer),
        }
    }

    /// What a local `$ref` (`#/components/…`) points to.
    pub fn pointer(&self, reference: &str) -> Result<&Value, String> {
        reference
            .strip_prefix('#')
            .and_then(|pointer| self.json.pointer(pointer))
            .ok_or_else(|| format!("{reference} resolves to nothing in the document"))
    }

    /// A validator for `schema`; compiling it checks the schema against the 2020-12
    /// meta-schema.
    pub fn validator(&self, schema: &Value) -> Result<jsonschema::Validator, String> {
        // The document itself is the root, so `#/components/schemas/…` resolves; its own keys
        // (`openapi`, `paths`, …) are no JSON Schema keywords and are ignored.
        let mut root = self.json.clone();
        root["allOf"] = json!([schema]);
        jsonschema::draft202012::new(&root)
            .map_err(|e| format!("the schema {schema} does not compile: {e}"))
    }

    /// Validates `instance` against `schema` (a schema of this document, whose `$ref`s point
    /// into it), as JSON Schema 2020-12, the dialect of OpenAPI 3.1.
    pub fn validate(&self, schema: &Value, instance: &Value) -> Result<(), String> {
        let validator = self.validator(schema)?;
        let complaints: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("at `{}`: {e}", e.instance_path))
            .collect();
        match complaints.is_empty() {
            true => Ok(()),
            false => Err(format!("against {schema}: {}", complaints.join("; "))),
        }
    }
}
