//! The "single-packet" race: many requests whose last bytes reach the shop together.
//!
//! Each request gets its own connection (spread over the nodes, so the race is between
//! processes too). Everything but each request's final byte is written first and given time
//! to be read, so every handler is parked waiting for one byte; then the final bytes are
//! flushed back to back, a few microseconds apart. The handlers start within the scheduling
//! jitter of each other, which is the tightest race a client can cause — the technique that
//! found limit-overrun bugs in coupon and stock code in many shops.

use anyhow::Context;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// One answer: status and body (headers dropped).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// A JSON request to send in the burst.
pub struct Request {
    pub method: &'static str,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Request {
    fn bytes(&self, host: &SocketAddr) -> Vec<u8> {
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n",
            self.method,
            self.path,
            self.body.len()
        );
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(self.body.as_bytes());
        bytes
    }
}

/// Sends `requests` in one burst over `targets` (round robin) and returns the answers in
/// the same order. Blocking: run it on a blocking thread.
pub fn send(targets: &[SocketAddr], requests: &[Request]) -> anyhow::Result<Vec<Answer>> {
    anyhow::ensure!(!targets.is_empty(), "no node to send the burst to");
    let mut streams = Vec::with_capacity(requests.len());
    for (i, request) in requests.iter().enumerate() {
        let target = targets[i % targets.len()];
        let mut stream = TcpStream::connect_timeout(&target, Duration::from_secs(5))
            .with_context(|| format!("cannot connect to {target}"))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(90)))?;
        let bytes = request.bytes(&target);
        let (head, last) = bytes.split_at(bytes.len() - 1);
        stream.write_all(head)?;
        streams.push((stream, last[0]));
    }
    // Let every node read what it has been sent, so only the last byte is missing.
    std::thread::sleep(Duration::from_millis(200));
    for (stream, last) in &mut streams {
        stream.write_all(&[*last])?;
    }
    streams
        .into_iter()
        .map(|(mut stream, _)| {
            let mut raw = Vec::new();
            stream.read_to_end(&mut raw)?;
            parse(&raw)
        })
        .collect()
}

fn parse(raw: &[u8]) -> anyhow::Result<Answer> {
    let text = String::from_utf8_lossy(raw);
    let status = text
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .context("not an HTTP answer")?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok(Answer { status, body })
}
