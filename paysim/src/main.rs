//! `paysim`: the payment gateway simulator on its own port (see the crate's `http` module for
//! its API). The ledger lives as long as the process.

use clap::Parser;
use std::net::SocketAddr;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "paysim",
    version,
    about = "A payment gateway simulator for Emporium"
)]
struct Args {
    /// Where to listen.
    #[arg(long, env = "EMPORIUM_GATEWAY_ADDR", default_value = "127.0.0.1:3099")]
    addr: SocketAddr,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.addr))?;
    tracing::info!(
        "payment gateway simulator on http://{}",
        listener.local_addr()?
    );
    // No graceful shutdown: nothing is kept past the process, so SIGTERM may end it at once.
    axum::serve(
        listener,
        paysim::http::router(Arc::new(paysim::Simulator::new())),
    )
    .await?;
    Ok(())
}
