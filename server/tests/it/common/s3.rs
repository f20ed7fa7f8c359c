//! A real S3-compatible server for the tests: moto's server mode (from PyPI; `cargo xtask
//! test` installs it and names it in `EMPORIUM_TEST_MOTO_SERVER`), behind a TCP proxy of our
//! own that can black-hole every connection (accept, then never answer) — the failure a
//! timeout must catch — and that notes the first request line of every connection, so a
//! test can tell which requests reached the store. The server can also be killed outright
//! and started again.
//!
//! moto keeps objects in memory, so a restarted server is empty; `restart` puts back what
//! `kill` saw in the bucket, standing in for the disks a real store would come back with.

#![allow(dead_code)]

use object_store::ObjectStore;
use object_store::path::Path as StorePath;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const BUCKET: &str = "emporium-test";
pub const KEY_ID: &str = "testing";
pub const SECRET: &str = "testing";

pub struct S3Server {
    program: String,
    moto_port: u16,
    moto: Option<Child>,
    /// The address the shop is given: the proxy's.
    pub endpoint: String,
    black_hole: Arc<AtomicBool>,
    cut: Arc<tokio::sync::Notify>,
    /// The first request line of every connection the proxy accepted, in order.
    requests: Arc<Mutex<Vec<String>>>,
    saved: Vec<(StorePath, bytes::Bytes)>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl S3Server {
    /// Starts moto and the proxy and makes the bucket; `None` when moto is not installed, as
    /// when the tests run outside `cargo xtask test`: the test is then marked skipped (a
    /// failure on CI) and returns.
    pub async fn start() -> Option<Self> {
        let Ok(program) = std::env::var("EMPORIUM_TEST_MOTO_SERVER") else {
            shop::testing::skip(
                "the S3-compatible server (moto)",
                "EMPORIUM_TEST_MOTO_SERVER is not set (cargo xtask test installs moto and sets it)",
            );
            return None;
        };
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a proxy port");
        let endpoint = format!("http://{}", listener.local_addr().expect("an address"));
        let mut server = Self {
            program,
            moto_port: free_port(),
            moto: None,
            endpoint,
            black_hole: Arc::new(AtomicBool::new(false)),
            cut: Arc::new(tokio::sync::Notify::new()),
            requests: Arc::default(),
            saved: Vec::new(),
        };
        server.spawn_proxy(listener);
        server.launch().await;
        Some(server)
    }

    fn moto_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.moto_port)
    }

    async fn launch(&mut self) {
        let child = Command::new(&self.program)
            .args(["-H", "127.0.0.1", "-p", &self.moto_port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        self.moto = Some(child);
        let client = reqwest::Client::new();
        // A guard against a hang, not a promise of speed: moto is a large Python program, and
        // with every core busy its first start has taken over 30 s.
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let made = client
                .put(format!("{}/{BUCKET}", self.moto_url()))
                .send()
                .await;
            if made.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            assert!(Instant::now() < deadline, "moto did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A client straight to moto (not through the proxy), for checking what is stored.
    pub fn direct(&self) -> Arc<dyn ObjectStore> {
        Arc::new(
            object_store::aws::AmazonS3Builder::new()
                .with_bucket_name(BUCKET)
                .with_endpoint(self.moto_url())
                .with_allow_http(true)
                .with_access_key_id(KEY_ID)
                .with_secret_access_key(SECRET)
                .with_region("us-east-1")
                .build()
                .expect("a client"),
        )
    }

    /// Every key in the bucket.
    pub async fn keys(&self) -> Vec<String> {
        use futures_util::TryStreamExt;
        let mut keys: Vec<String> = self
            .direct()
            .list(None)
            .map_ok(|m| m.location.to_string())
            .try_collect()
            .await
            .expect("the bucket lists");
        keys.sort();
        keys
    }

    /// Kills the server process (SIGKILL), remembering what it held.
    pub async fn kill(&mut self) {
        let store = self.direct();
        self.saved.clear();
        for key in self.keys().await {
            let path = StorePath::from(key.as_str());
            let bytes = store
                .get(&path)
                .await
                .expect("get")
                .bytes()
                .await
                .expect("bytes");
            self.saved.push((path, bytes));
        }
        if let Some(mut child) = self.moto.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again with what it held when killed.
    pub async fn restart(&mut self) {
        self.launch().await;
        let store = self.direct();
        for (path, bytes) in &self.saved {
            store
                .put(path, bytes.clone().into())
                .await
                .expect("restored");
        }
    }

    /// From now on every connection is accepted and never answered (existing ones are cut).
    pub fn black_hole(&self, on: bool) {
        self.black_hole.store(on, Ordering::SeqCst);
        self.cut.notify_waiters();
    }

    /// How many connections have reached the store so far (a mark for `requests_since`).
    pub fn requests_seen(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    /// The first request line (`HEAD /bucket/key HTTP/1.1`) of each connection that reached
    /// the store since `mark`. While the store is down or black-holed no connection carries a
    /// second request, so these are all its requests; while it is healthy, the client may
    /// send more over a kept-alive connection.
    pub fn requests_since(&self, mark: usize) -> Vec<String> {
        self.requests.lock().unwrap()[mark..].to_vec()
    }

    fn spawn_proxy(&self, listener: TcpListener) {
        let black_hole = self.black_hole.clone();
        let cut = self.cut.clone();
        let requests = self.requests.clone();
        let upstream = format!("127.0.0.1:{}", self.moto_port);
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let black_hole = black_hole.clone();
                let cut = cut.clone();
                let requests = requests.clone();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let cutting = cut.notified();
                    tokio::pin!(cutting);
                    let head = tokio::select! {
                        head = read_request_line(&mut client) => head,
                        () = &mut cutting => return,
                    };
                    let Some(head) = head else { return };
                    let line = String::from_utf8_lossy(&head);
                    let line = line.split("\r\n").next().unwrap_or_default().to_owned();
                    requests.lock().unwrap().push(line);
                    if black_hole.load(Ordering::SeqCst) {
                        // Hold the connection open, say nothing, until the mode changes.
                        cutting.await;
                        return;
                    }
                    let Ok(mut server) = TcpStream::connect(&upstream).await else {
                        return; // moto is down: the client sees the connection drop.
                    };
                    if server.write_all(&head).await.is_err() {
                        return;
                    }
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        () = cutting => {}
                    }
                });
            }
        });
    }
}

/// Reads from `client` until the first request line is complete; returns all the bytes read
/// (to be passed on), or `None` if the client hung up first.
async fn read_request_line(client: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let mut chunk = [0u8; 4096];
    while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 64 * 1024 {
        let n = client.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        head.extend_from_slice(&chunk[..n]);
    }
    Some(head)
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.moto.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
