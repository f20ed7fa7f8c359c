//! The listener's bounds (`server::listener`): a connection over the limit is refused at
//! once, and clients too slow with their headers or their body lose the connection instead
//! of holding it.

use crate::common::{TestApp, spawn_app_with};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn connect(app: &TestApp) -> TcpStream {
    let addr = app.base.trim_start_matches("http://");
    TcpStream::connect(addr).await.unwrap()
}

/// Sends one `GET /healthz` on `stream` and reads the answer's status line.
async fn status_line(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let text = String::from_utf8_lossy(&answer);
    text.lines().next().unwrap_or_default().to_owned()
}

/// Reads until the server closes `stream` (whatever it sends first); panics if it is still
/// open after a minute, which only a server that never gives up on the client allows.
async fn closed_by_server(stream: &mut TcpStream, what: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return String::from_utf8_lossy(&answer).into_owned(),
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the server still holds the connection of {what}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_over_the_limit_is_refused_at_once_and_a_freed_slot_serves_again() {
    let app = spawn_app_with(|s| {
        s.http.max_connections = 2;
        // The idle connections below must keep their slots for the whole test.
        s.http.header_timeout_secs = 3600;
    })
    .await;
    let first = connect(&app).await;
    let _second = connect(&app).await;

    let mut third = connect(&app).await;
    let refused = status_line(&mut third).await;
    assert!(
        refused.starts_with("HTTP/1.1 503"),
        "two connections are open, the limit is two: {refused:?}"
    );

    // The first client leaves: its slot serves the next one.
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut next = connect(&app).await;
        let answer = status_line(&mut next).await;
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a freed slot never served again: {answer:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_head_that_never_ends_loses_its_connection() {
    let app = spawn_app_with(|s| s.http.header_timeout_secs = 1).await;
    let mut slow = connect(&app).await;
    // Slowloris: a request line and one header, and then nothing more, ever.
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: shop\r\nX-Slow: 1\r\n")
        .await
        .unwrap();
    closed_by_server(&mut slow, "a client that never finished its headers").await;
    // Others are served all along.
    let mut quick = connect(&app).await;
    assert!(status_line(&mut quick).await.starts_with("HTTP/1.1 200"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_never_arrives_is_given_up() {
    let app = spawn_app_with(|s| s.http.body_timeout_secs = 1).await;
    let mut slow = connect(&app).await;
    // A sign-in that promises 100 bytes and sends 10.
    slow.write_all(
        b"POST /api/v1/session HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"email\":",
    )
    .await
    .unwrap();
    let answer = closed_by_server(&mut slow, "a client that never finished its body").await;
    let status = answer.lines().next().unwrap_or_default();
    assert!(
        status.is_empty() || status.starts_with("HTTP/1.1 4"),
        "the unreadable request is the client's: {status:?}"
    );
}
