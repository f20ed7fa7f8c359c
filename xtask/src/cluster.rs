//! `cargo xtask cluster [--nodes N] [--port P]`: several shop nodes over one PostgreSQL
//! database, with the payment gateway, an S3-compatible store (moto) and a round-robin proxy
//! in front, the way a shop runs once it outgrows one machine (docs/OPERATIONS.md).
//!
//! - The proxy listens on `P` (default 3000) and hands each new connection to the next node
//!   that accepts one, so a dead node is skipped.
//! - Node `i` listens on `P + i`. Each has its own data folder and search index under
//!   `target/cluster/node-i`, and all of them share the database, the store and the gateway.
//! - A supervisor restarts a node that dies (try `kill -9` on one mid-checkout), as systemd
//!   or an orchestrator would.
//!
//! The database is `EMPORIUM_DATABASE_URL` when that names a PostgreSQL database. Otherwise
//! the machine's own PostgreSQL cluster is started and given a role and an `emporium_cluster`
//! database, the way `.ci/run` does it (as root, through `su postgres`). Ctrl-C stops it all.

use crate::build;
use crate::setup;
use crate::util::{self, step};
use anyhow::{Context, Result, bail};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The bucket the nodes keep pictures in.
const BUCKET: &str = "emporium";

/// `cargo xtask cluster`'s arguments.
#[derive(clap::Args)]
pub struct ClusterArgs {
    /// How many shop nodes.
    #[arg(long, default_value_t = 2)]
    nodes: u16,
    /// The proxy's port; node `i` gets `port + i`.
    #[arg(long, default_value_t = 3000)]
    port: u16,
    /// Build and run the nodes with the release profile (default: the tests' quick profile).
    #[arg(long)]
    release: bool,
}

pub fn cluster(args: &ClusterArgs) -> Result<ExitCode> {
    let (nodes, port) = (args.nodes, args.port);
    let database = match std::env::var("EMPORIUM_DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => url,
        _ => local_postgres()?,
    };
    let built = build::build_all(false, build::Profile::release_if(args.release))?;
    let cluster = Cluster::start(
        &built,
        &Plan {
            nodes,
            port,
            database,
            dir: util::root().join("target/cluster"),
            checkout_lease_secs: None,
        },
    )?;
    println!(
        "\nEmporium cluster: {nodes} node(s) behind http://127.0.0.1:{port}\n  \
         nodes: {} (pids {})\n  gateway: http://127.0.0.1:{}  store: http://127.0.0.1:{}\n  \
         data: {}\nKill a node with `kill -9 <pid>`: the proxy skips it and it is restarted. Ctrl-C stops everything.",
        cluster
            .nodes
            .iter()
            .map(|p| format!("http://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(", "),
        (0..cluster.nodes.len())
            .filter_map(|i| cluster.pid(i))
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        cluster.gateway,
        cluster.store,
        cluster.dir.display(),
    );
    cluster.proxy()?.join().ok();
    Ok(ExitCode::SUCCESS)
}

/// What to start.
pub struct Plan {
    pub nodes: u16,
    /// The proxy's port; node `i` gets `port + i`, the gateway `port + 50`, the store `port + 60`.
    pub port: u16,
    pub database: String,
    /// Every process's data under here.
    pub dir: PathBuf,
    /// How long a checkout request owns its attempt before recovery may take over (the nodes'
    /// `EMPORIUM_CHECKOUT_LEASE_SECS`); `None` keeps the shop's default.
    pub checkout_lease_secs: Option<u64>,
}

/// A running cluster; dropping it stops every process in it.
pub struct Cluster {
    pub port: u16,
    pub nodes: Vec<u16>,
    pub gateway: u16,
    pub store: u16,
    pub dir: PathBuf,
    children: Arc<Mutex<Vec<Guard>>>,
    stopping: Arc<AtomicBool>,
    store_process: Guard,
    _gateway: Guard,
}

impl Cluster {
    pub fn start(built: &build::Built, plan: &Plan) -> Result<Self> {
        let (nodes, port, dir) = (plan.nodes, plan.port, plan.dir.clone());
        if !(1..=16).contains(&nodes) {
            bail!("--nodes must be between 1 and 16");
        }
        let moto = setup::moto(None)?;
        std::fs::create_dir_all(&dir)?;

        let store_port = port + 60;
        let gateway_port = port + 50;
        step(&format!(
            "Starting the S3-compatible store on :{store_port}"
        ));
        let store = Guard(
            Command::new(&moto)
                .args(["-H", "127.0.0.1", "-p", &store_port.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("cannot start moto")?,
        );
        wait_until(Duration::from_secs(30), || {
            http(store_port, "PUT", &format!("/{BUCKET}")).is_ok_and(|s| s == 200)
        })
        .context("the store never created its bucket")?;

        step(&format!("Starting the payment gateway on :{gateway_port}"));
        let gateway = start_gateway(&built.paysim, gateway_port)?;
        wait_until(Duration::from_secs(30), || {
            http(gateway_port, "GET", "/healthz").is_ok_and(|s| s == 200)
        })
        .context("the gateway never came up")?;

        let node = Node {
            server: built.server.clone(),
            site: built.site.clone(),
            dir: dir.clone(),
            database: plan.database.clone(),
            front: port,
            gateway: gateway_port,
            store: store_port,
            checkout_lease_secs: plan.checkout_lease_secs,
        };
        // The first node alone first: it migrates and imports the demo catalog, so the others
        // start on a ready database (they would also wait their turn, through the import claim).
        let mut children = Vec::new();
        for i in 1..=nodes {
            step(&format!("Starting node {i} on :{}", port + i));
            let mut child = Guard(node.spawn(i)?);
            let mut exited = false;
            wait_until(Duration::from_secs(180), || {
                exited = !matches!(child.0.try_wait(), Ok(None));
                exited || http(port + i, "GET", "/readyz").is_ok_and(|s| s == 200)
            })
            .with_context(|| format!("node {i} never became ready"))?;
            if exited {
                bail!(
                    "node {i} stopped at start; see {}",
                    dir.join(format!("node-{i}/server.log")).display()
                );
            }
            children.push(child);
        }
        let children = Arc::new(Mutex::new(children));
        let stopping = Arc::new(AtomicBool::new(false));
        supervise(node, Arc::clone(&children), Arc::clone(&stopping));
        Ok(Self {
            port,
            nodes: (1..=nodes).map(|i| port + i).collect(),
            gateway: gateway_port,
            store: store_port,
            dir,
            children,
            stopping,
            store_process: store,
            _gateway: gateway,
        })
    }

    /// Node `i`'s current process (0-based; it changes when the node is restarted).
    pub fn pid(&self, i: usize) -> Option<u32> {
        self.children.lock().ok()?.get(i).map(|c| c.0.id())
    }

    pub fn store_pid(&self) -> u32 {
        self.store_process.0.id()
    }

    /// Starts the round-robin proxy on the cluster's port, on its own thread.
    pub fn proxy(&self) -> Result<std::thread::JoinHandle<()>> {
        let listener = TcpListener::bind(("127.0.0.1", self.port))
            .with_context(|| format!("port {} is taken (try --port)", self.port))?;
        let upstreams = self.nodes.clone();
        Ok(std::thread::spawn(move || proxy(listener, upstreams)))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // The supervisor must not restart what is being stopped.
        self.stopping.store(true, Ordering::SeqCst);
        if let Ok(mut children) = self.children.lock() {
            children.clear();
        }
    }
}

/// The payment gateway simulator (`paysim`, a fresh ledger in its memory) on `port`.
pub fn start_gateway(paysim: &std::path::Path, port: u16) -> Result<Guard> {
    Ok(Guard(
        Command::new(paysim)
            .args(["--addr", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "warn")
            .current_dir(util::root())
            .spawn()
            .context("cannot start the gateway")?,
    ))
}

/// How to start node `i`.
struct Node {
    server: PathBuf,
    site: PathBuf,
    dir: PathBuf,
    database: String,
    front: u16,
    gateway: u16,
    store: u16,
    checkout_lease_secs: Option<u64>,
}

impl Node {
    fn spawn(&self, i: u16) -> Result<Child> {
        let own = self.dir.join(format!("node-{i}"));
        std::fs::create_dir_all(&own)?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(own.join("server.log"))?;
        let mut command = Command::new(&self.server);
        if let Some(lease) = self.checkout_lease_secs {
            // Recovery looks for interrupted checkouts as often as their lease runs out.
            command
                .env("EMPORIUM_CHECKOUT_LEASE_SECS", lease.to_string())
                .env("EMPORIUM_RECOVERY_INTERVAL_SECS", "2");
        }
        command
            .env("EMPORIUM_ADDR", format!("127.0.0.1:{}", self.front + i))
            .env("EMPORIUM_DATABASE_URL", &self.database)
            .env("EMPORIUM_DATA_DIR", &own)
            .env("EMPORIUM_SEARCH_INDEX", own.join("search"))
            .env("EMPORIUM_SITE_ROOT", &self.site)
            .env(
                "EMPORIUM_PUBLIC_URL",
                format!("http://127.0.0.1:{}", self.front),
            )
            .env(
                "EMPORIUM_GATEWAY_URL",
                format!("http://127.0.0.1:{}", self.gateway),
            )
            .env("EMPORIUM_ASSET_STORE", format!("s3://{BUCKET}/shop"))
            .env(
                "EMPORIUM_S3_ENDPOINT",
                format!("http://127.0.0.1:{}", self.store),
            )
            .env("EMPORIUM_S3_ACCESS_KEY_ID", "cluster")
            .env("EMPORIUM_S3_SECRET_ACCESS_KEY", "cluster")
            .env("EMPORIUM_S3_REGION", "us-east-1")
            // Every request reaches a node from the proxy's address.
            .env("EMPORIUM_RATE_LIMITS", "false")
            .stdout(log.try_clone()?)
            .stderr(log)
            .current_dir(util::root())
            .spawn()
            .with_context(|| format!("cannot start node {i}"))
    }
}

/// Restarts any node that exits, after a second, until the cluster is stopping.
fn supervise(node: Node, children: Arc<Mutex<Vec<Guard>>>, stopping: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(500));
            let Ok(mut children) = children.lock() else {
                return;
            };
            if stopping.load(Ordering::SeqCst) {
                return;
            }
            for (i, child) in children.iter_mut().enumerate() {
                let n = u16::try_from(i + 1).unwrap_or(u16::MAX);
                if let Ok(Some(status)) = child.0.try_wait() {
                    eprintln!("node {n} exited ({status}); restarting it");
                    std::thread::sleep(Duration::from_secs(1));
                    match node.spawn(n) {
                        Ok(new) => child.0 = new,
                        Err(e) => eprintln!("node {n} could not be restarted: {e:#}"),
                    }
                }
            }
        }
    });
}

/// Hands each connection to the next upstream that accepts it, then copies both ways.
fn proxy(listener: TcpListener, upstreams: Vec<u16>) {
    let next = AtomicUsize::new(0);
    for client in listener.incoming().flatten() {
        let start = next.fetch_add(1, Ordering::Relaxed);
        let upstream = (0..upstreams.len()).find_map(|k| {
            let port = upstreams[(start + k) % upstreams.len()];
            TcpStream::connect_timeout(
                &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
                Duration::from_millis(200),
            )
            .ok()
        });
        let Some(upstream) = upstream else {
            // Every node is down: the client sees its connection close.
            continue;
        };
        std::thread::spawn(move || pipe(client, upstream));
    }
}

fn pipe(client: TcpStream, upstream: TcpStream) {
    let (Ok(mut client_read), Ok(mut upstream_write)) = (client.try_clone(), upstream.try_clone())
    else {
        return;
    };
    let forward = std::thread::spawn(move || {
        let _ = std::io::copy(&mut client_read, &mut upstream_write);
        let _ = upstream_write.shutdown(Shutdown::Write);
    });
    let (mut upstream_read, mut client_write) = (upstream, client);
    let _ = std::io::copy(&mut upstream_read, &mut client_write);
    let _ = client_write.shutdown(Shutdown::Write);
    let _ = forward.join();
}

/// The machine's PostgreSQL, started, with the `emporium` role and an `emporium_cluster`
/// database (as `.ci/run` does for the tests).
pub fn local_postgres() -> Result<String> {
    step("Starting the machine's PostgreSQL (set EMPORIUM_DATABASE_URL to use another)");
    let script = r#"
        set -e
        version=$(pg_lsclusters -h | awk '$2 == "main" { print $1; exit }')
        port=$(pg_lsclusters -h | awk '$2 == "main" { print $3; exit }')
        [ -n "$version" ] || { echo "no PostgreSQL cluster named main" >&2; exit 1; }
        pg_ctlcluster "$version" main start >/dev/null 2>&1 || true
        for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p "$port" && break; sleep 1; done
        q() { su postgres -c "psql -p $port -v ON_ERROR_STOP=1 -tAc \"$1\""; }
        [ "$(q "SELECT 1 FROM pg_roles WHERE rolname = 'emporium'")" = 1 ] || q "CREATE ROLE emporium LOGIN PASSWORD 'emporium'" >/dev/null
        [ "$(q "SELECT 1 FROM pg_database WHERE datname = 'emporium_cluster'")" = 1 ] || q "CREATE DATABASE emporium_cluster OWNER emporium" >/dev/null
        echo "$port"
    "#;
    let out = Command::new("bash")
        .args(["-c", script])
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run bash")?;
    if !out.status.success() {
        bail!(
            "could not prepare a local PostgreSQL database; set EMPORIUM_DATABASE_URL=postgres://…"
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let port = stdout.lines().last().unwrap_or("5432").trim().to_string();
    Ok(format!(
        "postgres://emporium:emporium@127.0.0.1:{port}/emporium_cluster"
    ))
}

/// A child process killed when this one lets go of it.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `ready` every 100 ms until it holds or `limit` passes.
fn wait_until(limit: Duration, mut ready: impl FnMut() -> bool) -> Result<()> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if ready() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("timed out after {limit:?}")
}

/// The status code of a bodyless request to 127.0.0.1:`port`.
fn http(port: u16, method: &str, path: &str) -> Result<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head)?;
    let text = String::from_utf8_lossy(&head);
    text.get(9..12)
        .and_then(|code| code.parse().ok())
        .context("not an HTTP answer")
}
