//! `spawn_app()`: the real server on port 0 with a scratch database of its own (SQLite or
//! PostgreSQL, as `EMPORIUM_TEST_BACKEND` says), holding the demo catalog.

#![allow(dead_code)]

use server::config::Settings;
use server::state::AppState;
use shop::clock::{Clock, SystemClock};
use shop::db::scratch::ScratchDb;
use std::time::Duration;
use tokio::sync::oneshot;

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub scratch: ScratchDb,
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

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        let body = response.json().await.expect("a JSON body");
        (status, body)
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

pub async fn spawn_app() -> TestApp {
    let scratch = ScratchDb::new().await.expect("scratch database");
    server::demo::import_all(&scratch.db, SystemClock.now())
        .await
        .expect("demo catalog imports");
    let settings = Settings {
        addr: "127.0.0.1:0".parse().expect("an address"),
        ..Settings::default()
    };
    let state = AppState::new(scratch.db.clone(), server::leptos_options(&settings));
    let listener = tokio::net::TcpListener::bind(settings.addr)
        .await
        .expect("a port");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(server::serve(
        listener,
        state,
        async move {
            let _ = stopped.await;
        },
        Duration::from_secs(5),
    ));
    TestApp {
        base,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client"),
        scratch,
        stop: Some(stop),
        server,
    }
}
