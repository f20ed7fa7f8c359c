//! A real SMTP server for the mail tests: aiosmtpd run by `smtp_server.py` beside this file,
//! with STARTTLS and AUTH required, as a provider's submission port is. `cargo xtask test`
//! installs aiosmtpd and names its Python in `EMPORIUM_TEST_PYTHON`.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const USER: &str = "shop";
/// A password with characters a URL must percent-encode.
pub const PASSWORD: &str = "p@ss word/1";

pub struct SmtpServer {
    child: Child,
    pub port: u16,
    spool: tempfile::TempDir,
}

/// A message as the server received it.
#[derive(Debug)]
pub struct Received {
    /// The envelope's recipients.
    pub to: Vec<String>,
    /// The message exactly as it came over the wire.
    pub raw: String,
}

impl SmtpServer {
    /// Starts the server; `None` (a visible skip, a failure on CI) when its Python is not
    /// installed, as outside `cargo xtask test`.
    pub async fn start() -> Option<Self> {
        let Ok(python) = std::env::var("EMPORIUM_TEST_PYTHON") else {
            shop::testing::skip(
                "the SMTP server (aiosmtpd)",
                "EMPORIUM_TEST_PYTHON is not set (cargo xtask test installs aiosmtpd and sets it)",
            );
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let spool = tempfile::tempdir().expect("a spool folder");
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/it/common/smtp_server.py"
        );
        let child = Command::new(python)
            .arg(script)
            .args([
                "--port",
                &port.to_string(),
                "--user",
                USER,
                "--password",
                PASSWORD,
            ])
            .arg("--spool")
            .arg(spool.path())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the SMTP server starts");
        let server = Self { child, port, spool };
        // A guard against a hang, not a promise of speed.
        let deadline = Instant::now() + Duration::from_secs(60);
        while !server.spool.path().join("ready").exists() {
            assert!(Instant::now() < deadline, "the SMTP server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Some(server)
    }

    /// The shop's `EMPORIUM_MAIL` for this server, credentials percent-encoded.
    pub fn url(&self, password: &str) -> String {
        let encoded: String = password
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        format!("smtp://{USER}:{encoded}@127.0.0.1:{}", self.port)
    }

    /// The certificate authority its certificate is signed by (PEM).
    pub fn ca(&self) -> Vec<u8> {
        std::fs::read(self.ca_file()).expect("the server's CA certificate")
    }

    pub fn ca_file(&self) -> PathBuf {
        self.spool.path().join("ca.pem")
    }

    /// What it received, in order.
    pub fn received(&self) -> Vec<Received> {
        let mut out = Vec::new();
        for n in 1.. {
            let base = self.spool.path().join(n.to_string());
            let Ok(raw) = std::fs::read_to_string(base.with_extension("eml")) else {
                break;
            };
            let to = std::fs::read_to_string(base.with_extension("rcpt"))
                .unwrap_or_default()
                .lines()
                .map(str::to_string)
                .collect();
            out.push(Received { to, raw });
        }
        out
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
