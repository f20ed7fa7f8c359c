//! Scratch databases: a fresh, migrated database of its own for each test, benchmark or
//! simulation run, on whichever backend the run asks for.
//!
//! `EMPORIUM_TEST_BACKEND=postgres` (with `EMPORIUM_TEST_POSTGRES_URL`) gives each scratch
//! database its own schema in that PostgreSQL database; otherwise each gets a SQLite file in
//! a temporary folder. `cargo xtask test` runs the whole suite once per backend, so one test
//! body covers both.

use super::{Backend, Db, DbError, DbOptions};
use rand::Rng;
use std::time::{SystemTime, UNIX_EPOCH};

/// Scratch schemas older than this are dropped by the next run (a test that panicked or was
/// killed cannot drop its own).
const STALE_AFTER_SECS: u64 = 3600;

/// A migrated database that lives as long as this value (SQLite) or until a later run
/// sweeps it (PostgreSQL schema).
#[derive(Debug)]
pub struct ScratchDb {
    pub db: Db,
    /// The SQLite file's folder, or `None` on PostgreSQL.
    pub dir: Option<tempfile::TempDir>,
    /// The database URL other processes (a spawned server) can use to reach the same data.
    pub url: String,
}

impl ScratchDb {
    /// The backend chosen by `EMPORIUM_TEST_BACKEND` (`sqlite`, the default, or `postgres`).
    pub fn backend_from_env() -> Backend {
        match std::env::var("EMPORIUM_TEST_BACKEND").as_deref() {
            Ok("postgres") => Backend::Postgres,
            _ => Backend::Sqlite,
        }
    }

    /// A fresh, migrated database on the backend the environment chooses.
    ///
    /// # Panics
    /// When `EMPORIUM_TEST_BACKEND=postgres` but `EMPORIUM_TEST_POSTGRES_URL` is unset: a
    /// run that asked for PostgreSQL must not quietly test SQLite instead.
    pub async fn new() -> Result<Self, DbError> {
        match Self::backend_from_env() {
            Backend::Sqlite => Self::sqlite().await,
            Backend::Postgres => {
                #[allow(clippy::expect_used)]
                let url = std::env::var("EMPORIUM_TEST_POSTGRES_URL")
                    .expect("EMPORIUM_TEST_BACKEND=postgres needs EMPORIUM_TEST_POSTGRES_URL");
                Self::postgres(&url).await
            }
        }
    }

    /// A fresh SQLite database in a temporary folder.
    pub async fn sqlite() -> Result<Self, DbError> {
        let dir = tempfile::tempdir().map_err(|source| DbError::Folder {
            path: std::env::temp_dir().display().to_string(),
            source,
        })?;
        let url = format!("sqlite://{}", dir.path().join("emporium.db").display());
        let db = Db::connect(&url, &DbOptions::default()).await?;
        db.migrate().await?;
        Ok(Self {
            db,
            dir: Some(dir),
            url,
        })
    }

    /// A fresh schema in the PostgreSQL database at `base_url`.
    pub async fn postgres(base_url: &str) -> Result<Self, DbError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let schema = format!("scratch_{now}_{:08x}", rand::rng().random::<u32>());
        let admin = Db::connect(
            base_url,
            &DbOptions {
                max_connections: 1,
                ..DbOptions::default()
            },
        )
        .await?;
        drop_stale_schemas(&admin, now).await?;
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(admin.pool())
            .await?;
        admin.close().await;

        let separator = if base_url.contains('?') { '&' } else { '?' };
        let url = format!("{base_url}{separator}options[search_path]={schema}");
        let db = Db::connect(
            &url,
            &DbOptions {
                max_connections: 8,
                ..DbOptions::default()
            },
        )
        .await?;
        db.migrate().await?;
        Ok(Self { db, dir: None, url })
    }
}

async fn drop_stale_schemas(admin: &Db, now: u64) -> Result<(), DbError> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT nspname::text FROM pg_catalog.pg_namespace WHERE nspname LIKE 'scratch\\_%'",
    )
    .fetch_all(admin.pool())
    .await?;
    for name in names {
        let born = name
            .split('_')
            .nth(1)
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0);
        if born + STALE_AFTER_SECS < now {
            // Another run may be dropping the same schema; losing that race is fine.
            let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                .execute(admin.pool())
                .await;
        }
    }
    Ok(())
}
