//! `spawn_app()`: the real server on port 0 with a scratch database of its own (SQLite or
//! PostgreSQL, as `EMPORIUM_TEST_BACKEND` says), holding the demo catalog.
//!
//! Tests that use it run on a multi-threaded runtime, as the server does in production: the
//! server shares the test's runtime, and a single thread would let one blocking wait inside
//! a render stall the test. Every request has a timeout, so a stall fails instead of hanging.

#![allow(dead_code)]

use server::config::Settings;
use server::state::AppState;
use shop::db::scratch::ScratchDb;
use std::time::Duration;
use tokio::sync::oneshot;

pub struct TestApp {
    pub base: String,
    /// The payment gateway simulator this shop talks to.
    pub gateway: String,
    pub client: reqwest::Client,
    pub scratch: ScratchDb,
    /// The services the server runs with (for tests that reach behind the HTTP surface).
    pub state: AppState,
    /// The settings it was started with.
    pub settings: Settings,
    /// The folder the image store keeps pictures in (unless the test chose S3).
    pub assets_dir: std::path::PathBuf,
    /// The image store's temporary folder, removed with the app at the end of the test.
    _assets: tempfile::TempDir,
    /// The authenticator app of each account that set up a second factor here: its secret
    /// and the last time step whose code it gave (`enrol`, `sign_in`).
    pub authenticators: std::sync::Mutex<std::collections::HashMap<String, (String, u64)>>,
    stop: Option<oneshot::Sender<()>>,
    pub server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request reaches the server")
    }

    /// A conditional GET: `If-None-Match: tags`.
    pub async fn get_if_none_match(&self, path: &str, tags: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .header("If-None-Match", tags)
            .send()
            .await
            .expect("request reaches the server")
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        let body = response.json().await.expect("a JSON body");
        (status, body)
    }

    pub async fn ledger(&self) -> serde_json::Value {
        json_of(self.client.get(format!("{}/v1/ledger", self.gateway))).await
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let response = self.get(path).await;
        (
            response.status().as_u16(),
            response.text().await.unwrap_or_default(),
        )
    }

    /// Sends the shutdown signal, as SIGTERM would.
    pub fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// What a test needs of an app to drive its JSON API: the plain `TestApp`, or the
/// `CheckedApp` that also checks every answer against the OpenAPI document. They differ only
/// in how a built request is answered, so the calls written here serve both.
// Only this test binary implements and awaits it, so the `Send`-bound caveat of `async fn`
// in a public trait does not apply.
#[allow(async_fn_in_trait)]
pub trait JsonApi {
    /// The app under test (its client and address).
    fn app(&self) -> &TestApp;

    /// Sends `request`, a `method` call of `path`, and returns the answer.
    async fn answer(
        &self,
        request: reqwest::RequestBuilder,
        method: &str,
        path: &str,
    ) -> reqwest::Response;

    /// The status and body of `method path` with the JSON `body` (and `Idempotency-Key`).
    async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        body: &serde_json::Value,
    ) -> (u16, String) {
        let name = method.as_str().to_ascii_lowercase();
        let app = self.app();
        let mut request = app.client.request(method, app.url(path)).json(body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let response = self.answer(request, &name, path).await;
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }
}

impl JsonApi for TestApp {
    fn app(&self) -> &TestApp {
        self
    }

    async fn answer(
        &self,
        request: reqwest::RequestBuilder,
        _: &str,
        _: &str,
    ) -> reqwest::Response {
        request.send().await.expect("request reaches the server")
    }
}

/// Creates an empty cart through the API; its id.
pub async fn new_cart(app: &impl JsonApi) -> String {
    let (status, body) = app
        .send_json(
            reqwest::Method::POST,
            "/api/v1/carts",
            None,
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    serde_json::from_str::<serde_json::Value>(&body).expect("a cart")["cart_id"]
        .as_str()
        .expect("a cart id")
        .to_string()
}

/// A new cart holding these lines through the API: its id, and the cart as the API shows it.
pub async fn cart_of(app: &impl JsonApi, lines: &[(&str, i64)]) -> (String, serde_json::Value) {
    let cart = new_cart(app).await;
    let mut body = serde_json::Value::Null;
    for (sku, quantity) in lines {
        let (status, text) = app
            .send_json(
                reqwest::Method::PUT,
                &format!("/api/v1/carts/{cart}/lines/{sku}"),
                None,
                &serde_json::json!({ "quantity": quantity }),
            )
            .await;
        assert_eq!(status, 200, "{text}");
        body = serde_json::from_str(&text).expect("the cart");
    }
    (cart, body)
}

/// Places an order through the API: a new cart holding `lines`, checked out as `email` to
/// `name` in Springfield, Illinois with the test card. The checkout's `201` answer.
pub async fn place_order_as(
    app: &impl JsonApi,
    lines: &[(&str, i64)],
    email: &str,
    name: &str,
) -> serde_json::Value {
    use reqwest::Method;
    use serde_json::json;
    let (cart, _) = cart_of(app, lines).await;
    let (status, body) = app
        .send_json(
            Method::POST,
            "/api/v1/checkouts",
            Some(&format!("order-{cart}")),
            &json!({
                "cart_id": cart, "email": email,
                "shipping_address": {
                    "name": name, "line1": "1 Main St", "city": "Springfield",
                    "region": "IL", "postal_code": "62701", "country": "US"
                },
                "payment": { "card_number": "4242424242424242" }
            }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    serde_json::from_str(&body).expect("the checkout's answer")
}

/// The password every test account is created with.
pub const PASSWORD: &str = "correct horse battery";

/// Creates an account of `role` (of `seller`, for a seller's staff) with `PASSWORD`. An admin
/// also sets up its second factor, as it must before doing anything admin (`sign_in` then
/// answers its code).
pub async fn account(app: &TestApp, email: &str, role: shop::accounts::Role, seller: Option<&str>) {
    app.state
        .services
        .users
        .create(email, PASSWORD, role, seller)
        .await
        .unwrap();
    if role == shop::accounts::Role::Admin {
        enrol(app, email).await;
    }
}

/// What an authenticator app set up with `secret` shows in time step `step`.
pub fn app_code(secret: &str, step: u64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .expect("a base32 secret");
    totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        0,
        30,
        bytes,
        None,
        String::new(),
    )
    .expect("a generator")
    .generate(step * 30)
}

/// The authenticators' time step now, on the wall clock the server reads too.
pub fn current_step() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
        / 30
}

/// Sets up `email`'s second factor as a person would (the secret put in an app, a code from
/// it typed back); its recovery codes. The app is remembered for `next_code`.
pub async fn enrol(app: &TestApp, email: &str) -> Vec<String> {
    let users = &app.state.services.users;
    let viewer = users.by_email(email).await.unwrap().expect("the account");
    let enrolment = users
        .second_factors()
        .begin(viewer.user_id, email)
        .await
        .unwrap()
        .expect("a set-up to begin");
    let step = current_step();
    let codes = users
        .second_factors()
        .enable(viewer.user_id, &app_code(&enrolment.secret, step))
        .await
        .unwrap()
        .expect("the app's code turns the factor on");
    app.authenticators
        .lock()
        .unwrap()
        .insert(email.to_owned(), (enrolment.secret, step));
    codes
}

/// The code `email`'s app shows next that the server has not taken yet: each step's code is
/// taken once, so a step already used waits for the next (the server takes one step ahead,
/// for drifting phones). `None` if the account set up no factor here.
pub async fn next_code(app: &TestApp, email: &str) -> Option<String> {
    let (secret, last) = app.authenticators.lock().unwrap().get(email).cloned()?;
    let step = current_step().max(last + 1);
    // At most one step (30 s) away: `wait_for`'s deadline is shorter than that.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while current_step() + 1 < step {
        assert!(
            std::time::Instant::now() < deadline,
            "the clock stands still"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    app.authenticators
        .lock()
        .unwrap()
        .insert(email.to_owned(), (secret.clone(), step));
    Some(app_code(&secret, step))
}

/// Signs in over the API (for an account with a second factor set up by `enrol`, the
/// password and then the app's code); returns the status, the session cookie's value and
/// the body.
pub async fn sign_in(
    app: &TestApp,
    email: &str,
    password: &str,
) -> (u16, Option<String>, serde_json::Value) {
    let response = app
        .client
        .post(app.url("/api/v1/session"))
        .json(&serde_json::json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    if status == 202
        && let Some(code) = next_code(app, email).await
    {
        let body: serde_json::Value = response.json().await.unwrap();
        return second_step(app, &body["pending_token"], &code).await;
    }
    let cookie = session_cookie(&response);
    (
        status,
        cookie,
        response.json().await.unwrap_or(serde_json::Value::Null),
    )
}

/// Sends a second factor's `code` with the token a right password got; as `sign_in` answers.
pub async fn second_step(
    app: &TestApp,
    pending_token: &serde_json::Value,
    code: &str,
) -> (u16, Option<String>, serde_json::Value) {
    let response = app
        .client
        .post(app.url("/api/v1/session/code"))
        .json(&serde_json::json!({ "pending_token": pending_token, "code": code }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let cookie = session_cookie(&response);
    (
        status,
        cookie,
        response.json().await.unwrap_or(serde_json::Value::Null),
    )
}

/// The session cookie a response sets (`name=value`), if it sets one.
pub fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("emporium_session=") && !c.starts_with("emporium_session=;"))
        .map(|c| c.split(';').next().unwrap().to_owned())
}

/// The HTML of `path` as the holder of `cookie` (`name=value`) sees it.
pub async fn page_as(app: &TestApp, path: &str, cookie: &str) -> String {
    app.client
        .get(app.url(path))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Whether `/account` greets the holder of session `cookie` (`name=value`) as signed in.
pub async fn signed_in_page(app: &TestApp, cookie: &str) -> bool {
    page_as(app, "/account", cookie)
        .await
        .contains("Signed in as")
}

/// Sends `request` and reads the JSON it answers: the tests' one way to fetch a document they
/// go on to assert about (a request that does not arrive, or a body that is not JSON, fails
/// the test here, with the reason).
pub async fn json_of(request: reqwest::RequestBuilder) -> serde_json::Value {
    request
        .send()
        .await
        .expect("request reaches the server")
        .json()
        .await
        .expect("a JSON body")
}

/// Calls the API as a browser on our own pages would: with the session `cookie` (if any) and
/// the same-origin header that goes with it; the status and the JSON body (`Null` if none).
pub async fn browser_call(
    app: &TestApp,
    cookie: Option<&str>,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut request = app.client.request(method, app.url(path));
    if let Some(cookie) = cookie {
        // Same-origin, as a browser on our own pages says.
        request = request
            .header("Cookie", cookie)
            .header("Sec-Fetch-Site", "same-origin");
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (
        status,
        response.json().await.unwrap_or(serde_json::Value::Null),
    )
}

pub use shop::testing::set_available;

/// The payment gateway simulator (`paysim`) on port 0 with a fresh ledger; its base URL. It
/// runs on a thread and runtime of its own, as the separate process it is in production
/// would: a test that blocks its own thread (waiting for a killed shop to exit) never stalls
/// the gateway the shop is talking to. It lives as long as the test's process.
pub fn spawn_gateway() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    listener
        .set_nonblocking(true)
        .expect("a non-blocking socket");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("the gateway's runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("a listener");
            let api = paysim::http::router(std::sync::Arc::new(paysim::Simulator::new()));
            axum::serve(listener, api).await
        })
    });
    base
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// `spawn_app` with the settings adjusted first (an S3 store, faster breakers, …).
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let scratch = shop::testing::demo_shop()
        .await
        .expect("a scratch database with the demo catalog");
    let gateway = spawn_gateway();
    let assets = tempfile::tempdir().expect("a temp dir");
    let assets_dir = assets.path().to_owned();
    let mut settings = Settings::default();
    settings.http.addr = "127.0.0.1:0".parse().expect("an address");
    // Tests send bursts from one address; the rate-limit test turns limits back on.
    settings.http.rate_limits = false;
    settings.payments.gateway_url = gateway.clone();
    settings.payments.gateway_timeout_ms = 500;
    settings.search.index = Some("ram".into());
    settings.assets.store = Some(assets_dir.display().to_string());
    // Tests watch readiness change (a store killed, a database closed) and read each check;
    // the tests of the kept check turn it back on.
    settings.http.readiness_cache_ms = 0;
    adjust(&mut settings);
    let state = AppState::new(
        scratch.db.clone(),
        &settings,
        server::leptos_options(&settings),
    )
    .expect("the app state builds");
    // Tests start from a built index (the building phase has tests of its own).
    assert!(
        state
            .services
            .search
            .wait_ready(Duration::from_secs(30))
            .await,
        "the search index builds"
    );
    let listener = tokio::net::TcpListener::bind(settings.http.addr)
        .await
        .expect("a port");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(server::serve(
        listener,
        state.clone(),
        async move {
            let _ = stopped.await;
        },
        Duration::from_secs(5),
    ));
    TestApp {
        base,
        gateway,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("a client"),
        scratch,
        state,
        settings,
        assets_dir,
        _assets: assets,
        authenticators: Default::default(),
        stop: Some(stop),
        server,
    }
}
pub mod openapi;
pub mod s3;
pub mod smtp;

/// Polls `check` until it holds, failing the test after a generous deadline (a state is
/// waited for, never slept for).
pub async fn wait_for(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `html` without the empty comments (`<!>`) Leptos leaves after dynamic text for hydration to
/// find it (with `erase_components`, after every piece of text a view computes), so a test can
/// look for the markup a shopper sees.
pub fn without_hydration_markers(html: &str) -> String {
    html.replace("<!>", "")
}
