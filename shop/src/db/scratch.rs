//! Scratch databases: a fresh, migrated database of its own for each test, benchmark or
//! simulation run, on whichever backend the run asks for.
//!
//! `EMPORIUM_TEST_BACKEND=postgres` (with `EMPORIUM_TEST_POSTGRES_URL`) gives each scratch
//! database its own schema in that PostgreSQL database; otherwise each gets a SQLite file in
//! a temporary folder. `cargo xtask test` runs the whole suite once per backend, so one test
//! body covers both.
//!
//! A scratch database is gone when its `ScratchDb` is dropped: the SQLite folder is removed,
//! the PostgreSQL schema dropped. A test that was killed cannot clean up after itself, so each
//! new scratch database also sweeps the leftovers of runs older than [`STALE_AFTER_SECS`].

use super::{Backend, Db, DbError, DbOptions};
use rand::Rng;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Scratch schemas and folders older than this are dropped by the next run (a test that was
/// killed cannot drop its own; a younger one may belong to a test still running).
const STALE_AFTER_SECS: u64 = 3600;

/// How SQLite scratch folders are named, so that a sweep finds only ours.
const FOLDER_PREFIX: &str = "emporium-scratch-";

/// How long dropping a schema may wait for a table lock (a connection of the test's own
/// still in a transaction): past it the schema is left to the next run's sweep rather than
/// hold the test up.
const DROP_LOCK_TIMEOUT: &str = "3s";

/// The whole drop (connect, lock, drop), bounded for the same reason.
const DROP_LIMIT: Duration = Duration::from_secs(15);

/// A migrated database that lives as long as this value.
#[derive(Debug)]
pub struct ScratchDb {
    pub db: Db,
    /// The SQLite file's folder (removed on drop), or `None` on PostgreSQL.
    pub dir: Option<tempfile::TempDir>,
    /// The database URL other processes (a spawned server) can use to reach the same data.
    pub url: String,
    /// The PostgreSQL schema to drop on drop.
    schema: Option<Schema>,
}

/// A scratch schema and the URL of the database that holds it (without the search path).
#[derive(Debug)]
struct Schema {
    base_url: String,
    name: String,
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
        let temp = std::env::temp_dir();
        sweep_stale_folders(&temp, now_secs());
        let dir = tempfile::Builder::new()
            .prefix(FOLDER_PREFIX)
            .tempdir_in(&temp)
            .map_err(|source| DbError::Folder {
                path: temp.display().to_string(),
                source,
            })?;
        let url = format!("sqlite://{}", dir.path().join("emporium.db").display());
        let db = Db::connect(&url, &DbOptions::default()).await?;
        db.migrate().await?;
        Ok(Self {
            db,
            dir: Some(dir),
            url,
            schema: None,
        })
    }

    /// A fresh schema in the PostgreSQL database at `base_url`.
    pub async fn postgres(base_url: &str) -> Result<Self, DbError> {
        let now = now_secs();
        let name = format!("scratch_{now}_{:08x}", rand::rng().random::<u32>());
        let admin = Db::connect(
            base_url,
            &DbOptions {
                max_connections: 1,
                ..DbOptions::default()
            },
        )
        .await?;
        drop_stale_schemas(&admin, now).await?;
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(admin.pool())
            .await?;
        admin.close().await;
        // From here on the schema exists: a failure below still drops it (on drop of `this`).
        let schema = Schema {
            base_url: base_url.to_string(),
            name,
        };

        let separator = if base_url.contains('?') { '&' } else { '?' };
        let url = format!("{base_url}{separator}options[search_path]={}", schema.name);
        let db = match Db::connect(
            &url,
            &DbOptions {
                max_connections: 8,
                ..DbOptions::default()
            },
        )
        .await
        {
            Ok(db) => db,
            Err(e) => {
                schema.drop_now();
                return Err(e);
            }
        };
        let this = Self {
            db,
            dir: None,
            url,
            schema: Some(schema),
        };
        this.db.migrate().await?;
        Ok(this)
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        // The SQLite folder goes with `dir` (`TempDir` removes it when dropped).
        if let Some(schema) = self.schema.take() {
            schema.drop_now();
        }
    }
}

impl Schema {
    /// Drops the schema before returning, on a fresh connection made on a thread of its own
    /// with its own small runtime: this runs inside `Drop`, perhaps on a runtime that is
    /// shutting down (or a single-threaded one, blocked here), so nothing of the test's may
    /// be used. Never panics: a schema that cannot be dropped is left to the next sweep.
    fn drop_now(self) {
        let Schema { base_url, name } = self;
        let worker = std::thread::Builder::new()
            .name("scratch-drop".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?;
                runtime.block_on(async {
                    match tokio::time::timeout(DROP_LIMIT, drop_schema(&base_url, &name)).await {
                        Ok(dropped) => dropped.map_err(|e| format!("{name}: {e}")),
                        Err(_) => Err(format!("{name}: not dropped within {DROP_LIMIT:?}")),
                    }
                })
            });
        let outcome = match worker {
            Ok(worker) => worker
                .join()
                .unwrap_or_else(|_| Err("the drop thread panicked".into())),
            Err(e) => Err(format!("cannot start the drop thread: {e}")),
        };
        if let Err(why) = outcome {
            eprintln!("scratch schema left for the next run's sweep: {why}");
        }
    }
}

/// `DROP SCHEMA … CASCADE` on a connection of its own, waiting at most
/// [`DROP_LOCK_TIMEOUT`] for the locks.
async fn drop_schema(base_url: &str, name: &str) -> Result<(), sqlx::Error> {
    use sqlx::Connection;
    let mut conn = sqlx::postgres::PgConnection::connect(base_url).await?;
    sqlx::query(&format!("SET lock_timeout = '{DROP_LOCK_TIMEOUT}'"))
        .execute(&mut conn)
        .await?;
    let dropped = sqlx::query(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
        .execute(&mut conn)
        .await;
    let _ = conn.close().await;
    dropped.map(|_| ())
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
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

/// Removes the SQLite scratch folders under `temp` last changed over [`STALE_AFTER_SECS`]
/// ago: those of killed tests. Best effort: another run may be removing the same folder.
fn sweep_stale_folders(temp: &Path, now: u64) {
    let Ok(entries) = std::fs::read_dir(temp) else {
        return;
    };
    for entry in entries.flatten() {
        let ours = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(FOLDER_PREFIX));
        let changed = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_secs());
        if ours && changed.is_some_and(|t| t + STALE_AFTER_SECS < now) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the database a `ScratchDb` made still exists, asked from outside it.
    async fn still_there(folder: Option<&Path>, schema: Option<&Schema>) -> bool {
        if let Some(folder) = folder {
            return folder.exists();
        }
        let Some(schema) = schema else {
            panic!("a scratch database is a folder or a schema");
        };
        let admin = Db::connect(&schema.base_url, &DbOptions::default())
            .await
            .unwrap();
        let found: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM pg_catalog.pg_namespace WHERE nspname = $1")
                .bind(&schema.name)
                .fetch_one(admin.pool())
                .await
                .unwrap();
        admin.close().await;
        found > 0
    }

    // On whichever backend the run tests (`cargo xtask test` runs this on both).
    #[tokio::test]
    async fn a_scratch_database_is_gone_once_dropped() {
        let scratch = ScratchDb::new().await.unwrap();
        let products: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM products")
            .fetch_one(scratch.db.pool())
            .await
            .unwrap();
        assert_eq!(products, 0);
        let folder = scratch.dir.as_ref().map(|d| d.path().to_path_buf());
        let schema = scratch.schema.as_ref().map(|s| Schema {
            base_url: s.base_url.clone(),
            name: s.name.clone(),
        });
        assert!(still_there(folder.as_deref(), schema.as_ref()).await);

        drop(scratch);

        assert!(
            !still_there(folder.as_deref(), schema.as_ref()).await,
            "the scratch database outlived its ScratchDb: {folder:?} {schema:?}"
        );
    }

    #[test]
    fn the_sweep_removes_stale_scratch_folders_and_nothing_else() {
        let temp = tempfile::tempdir().unwrap();
        let ours = temp
            .path()
            .join(format!("{FOLDER_PREFIX}left-by-a-killed-test"));
        let other = temp.path().join("someone-elses");
        for dir in [&ours, &other] {
            std::fs::create_dir(dir).unwrap();
        }

        // Just made: it may belong to a test still running.
        sweep_stale_folders(temp.path(), now_secs());
        assert!(ours.exists(), "a young scratch folder was removed");

        // An hour and a minute on (the clock is the argument), it is stale.
        sweep_stale_folders(temp.path(), now_secs() + STALE_AFTER_SECS + 60);
        assert!(!ours.exists(), "a stale scratch folder was kept");
        assert!(
            other.exists(),
            "a folder that is not a scratch folder was removed"
        );
    }
}
