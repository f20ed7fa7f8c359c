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
//!
//! [`ScratchDb::seeded`] gives a test a database already holding common data (the demo
//! catalog): filled once per test binary and run, then copied for each test.

use super::{Backend, Db, DbError, DbOptions};
use rand::Rng;
use std::path::{Path, PathBuf};
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
                let url = postgres_url_from_env();
                Self::postgres(&url).await
            }
        }
    }

    /// A fresh SQLite database in a temporary folder.
    pub async fn sqlite() -> Result<Self, DbError> {
        Self::sqlite_from(None).await
    }

    /// A SQLite database in a new temporary folder: a copy of `seed` if given, else empty;
    /// migrated either way.
    async fn sqlite_from(seed: Option<&Path>) -> Result<Self, DbError> {
        let temp = std::env::temp_dir();
        sweep_stale_folders(&temp, now_secs());
        let folder_error = |path: &Path, source| DbError::Folder {
            path: path.display().to_string(),
            source,
        };
        let dir = tempfile::Builder::new()
            .prefix(FOLDER_PREFIX)
            .tempdir_in(&temp)
            .map_err(|e| folder_error(&temp, e))?;
        let file = dir.path().join("emporium.db");
        if let Some(seed) = seed {
            tokio::fs::copy(seed, &file)
                .await
                .map_err(|e| folder_error(seed, e))?;
        }
        let url = format!("sqlite://{}", file.display());
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
        this.db.migrate_private().await?;
        Ok(this)
    }
}

/// Why a seeded scratch database could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("filling the seed database failed: {0}")]
    Fill(String),
}

impl From<sqlx::Error> for SeedError {
    fn from(e: sqlx::Error) -> Self {
        SeedError::Db(DbError::Sql(e))
    }
}

impl ScratchDb {
    /// A fresh scratch database holding what `fill` writes into an empty one.
    ///
    /// Filling is what most tests pay for (the demo catalog is some 8,000 statements), and
    /// every test wants the same result; so the first call of a test binary fills a seed
    /// database once, and every later call, in any process, copies it: a file copy on
    /// SQLite, one `INSERT … SELECT` per table on PostgreSQL. The seed is named after `name`
    /// and this very build of the test binary, so a rebuilt binary (another importer,
    /// another migration) never copies a seed an older build filled. Seeds are swept like
    /// any scratch database, an hour after they were made; one swept while a run still
    /// needs it is filled again.
    pub async fn seeded<F, Fut, E>(name: &str, fill: F) -> Result<Self, SeedError>
    where
        F: FnOnce(Db) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: std::fmt::Display,
    {
        let key = seed_key(name);
        match Self::backend_from_env() {
            Backend::Sqlite => {
                let seed = sqlite_seed(&key, fill).await?;
                Ok(Self::sqlite_from(Some(&seed)).await?)
            }
            Backend::Postgres => {
                let url = postgres_url_from_env();
                let seed = postgres_seed(&url, &key, fill).await?;
                let this = Self::postgres(&url).await?;
                copy_schema(&this.db, &seed).await?;
                Ok(this)
            }
        }
    }
}

/// `EMPORIUM_TEST_POSTGRES_URL`, for a run that chose PostgreSQL.
///
/// # Panics
/// When it is unset: a run that asked for PostgreSQL must not quietly test SQLite instead.
fn postgres_url_from_env() -> String {
    #[allow(clippy::expect_used)]
    std::env::var("EMPORIUM_TEST_POSTGRES_URL")
        .expect("EMPORIUM_TEST_BACKEND=postgres needs EMPORIUM_TEST_POSTGRES_URL")
}

/// Names a seed: `name` and the identity of the running executable (path, size, time of
/// the last write), hashed. Only this build's code wrote what the seed holds.
fn seed_key(name: &str) -> String {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let exe = std::env::current_exe().ok().and_then(|path| {
        let meta = path.metadata().ok()?;
        Some((path, meta.len(), meta.modified().ok()?))
    });
    let mut hasher = DefaultHasher::new();
    (name, exe).hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// The SQLite seed file for `key`, filled by `fill` unless it exists. Processes filling the
/// same seed at once take turns on a lock file; a seed appears whole or not at all (it is
/// written under another name and renamed).
async fn sqlite_seed<F, Fut, E>(key: &str, fill: F) -> Result<PathBuf, SeedError>
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let folder = std::env::temp_dir().join(format!("{FOLDER_PREFIX}seed-{key}"));
    let seed = folder.join("seed.db");
    let folder_error = |source| {
        SeedError::Db(DbError::Folder {
            path: folder.display().to_string(),
            source,
        })
    };
    std::fs::create_dir_all(&folder).map_err(folder_error)?;
    let lock_path = folder.join("lock");
    // Blocking: wait on a thread of its own, so a test's single-threaded runtime goes on.
    let lock = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::create(lock_path)?;
        file.lock()?;
        Ok::<_, std::io::Error>(file)
    })
    .await
    .map_err(|e| SeedError::Fill(format!("the lock thread failed: {e}")))?
    .map_err(folder_error)?;
    if !seed.exists() {
        let filled = ScratchDb::sqlite().await?;
        fill(filled.db.clone())
            .await
            .map_err(|e| SeedError::Fill(e.to_string()))?;
        // One self-contained file (no write-ahead log beside it).
        let part = folder.join("seed.db.part");
        let _ = std::fs::remove_file(&part);
        sqlx::query("VACUUM INTO $1")
            .bind(part.display().to_string())
            .execute(filled.db.pool())
            .await?;
        filled.db.close().await;
        std::fs::rename(&part, &seed).map_err(folder_error)?;
    }
    drop(lock);
    Ok(seed)
}

/// The PostgreSQL seed schema for `key` (`scratch_<born>_seed_<key>`, so the sweep of
/// stale scratch schemas also takes old seeds), filled by `fill` unless it exists. Processes
/// filling the same seed at once take turns on an advisory lock.
async fn postgres_seed<F, Fut, E>(base_url: &str, key: &str, fill: F) -> Result<String, SeedError>
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    use sqlx::Connection;
    let pattern = format!("scratch\\_%\\_seed\\_{key}");
    let lock_id = i64::from_str_radix(&key[..15], 16).unwrap_or(0);
    // The lock is held by this connection: if the process dies, so does the lock.
    let mut conn = sqlx::postgres::PgConnection::connect(base_url).await?;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(lock_id)
        .execute(&mut conn)
        .await?;
    let found: Option<String> = sqlx::query_scalar(
        "SELECT nspname::text FROM pg_catalog.pg_namespace WHERE nspname LIKE $1 \
         ORDER BY nspname DESC LIMIT 1",
    )
    .bind(&pattern)
    .fetch_optional(&mut conn)
    .await?;
    let seed = match found {
        Some(seed) => seed,
        None => {
            let mut filled = ScratchDb::postgres(base_url).await?;
            fill(filled.db.clone())
                .await
                .map_err(|e| SeedError::Fill(e.to_string()))?;
            filled.db.close().await;
            let seed = format!("scratch_{}_seed_{key}", now_secs());
            let Some(schema) = filled.schema.as_ref() else {
                return Err(SeedError::Fill(
                    "a PostgreSQL scratch database has a schema".into(),
                ));
            };
            sqlx::query(&format!("ALTER SCHEMA {} RENAME TO {seed}", schema.name))
                .execute(&mut conn)
                .await?;
            // Renamed: there is nothing left for the drop to remove.
            filled.schema = None;
            seed
        }
    };
    let _ = conn.close().await;
    Ok(seed)
}

/// Copies every row of every table of schema `seed` into `db`'s schema (migrated, empty):
/// parents before the tables that refer to them, then each sequence set past the highest
/// id copied, so the copy's next insert gets a fresh one, then the tables analyzed: without
/// statistics the planner guessed the search index's load query into 50 ms instead of 3.
async fn copy_schema(db: &Db, seed: &str) -> Result<(), sqlx::Error> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relname <> '_sqlx_migrations'",
    )
    .bind(seed)
    .fetch_all(db.pool())
    .await?;
    let references: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.relname::text, p.relname::text FROM pg_catalog.pg_constraint k \
         JOIN pg_catalog.pg_class c ON c.oid = k.conrelid \
         JOIN pg_catalog.pg_class p ON p.oid = k.confrelid \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE k.contype = 'f' AND n.nspname = $1 AND c.oid <> p.oid",
    )
    .bind(seed)
    .fetch_all(db.pool())
    .await?;
    let ordered = parents_first(tables, &references);
    let mut tx = db.pool().begin().await?;
    // The new schema holds what its migrations insert (default shipping zones, tax rules);
    // the seed holds the same rows, possibly changed by its fill: the seed's copy wins.
    for table in ordered.iter().rev() {
        sqlx::query(&format!("DELETE FROM \"{table}\""))
            .execute(&mut *tx)
            .await?;
    }
    for table in &ordered {
        sqlx::query(&format!(
            "INSERT INTO \"{table}\" SELECT * FROM {seed}.\"{table}\""
        ))
        .execute(&mut *tx)
        .await?;
    }
    let sequenced: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.relname::text, a.attname::text FROM pg_catalog.pg_attribute a \
         JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = current_schema() AND c.relkind = 'r' AND a.attnum > 0 \
         AND NOT a.attisdropped \
         AND pg_get_serial_sequence(format('%I.%I', n.nspname, c.relname), a.attname) \
             IS NOT NULL",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (table, column) in sequenced {
        sqlx::query(&format!(
            "SELECT setval(pg_get_serial_sequence('\"{table}\"', '{column}'), \
             COALESCE((SELECT MAX(\"{column}\") FROM \"{table}\"), 0) + 1, false)"
        ))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    let analyze = ordered
        .iter()
        .map(|t| format!("\"{t}\""))
        .collect::<Vec<_>>()
        .join(", ");
    sqlx::query(&format!("ANALYZE {analyze}"))
        .execute(db.pool())
        .await?;
    Ok(())
}

/// `tables` ordered so that each comes after every table it refers to (`references` holds
/// `(table, referred table)` pairs). Tables in a cycle, which the schema does not have, keep
/// their place at the end.
fn parents_first(mut tables: Vec<String>, references: &[(String, String)]) -> Vec<String> {
    tables.sort();
    let mut ordered: Vec<String> = Vec::with_capacity(tables.len());
    while !tables.is_empty() {
        let ready = tables.iter().position(|t| {
            references
                .iter()
                .filter(|(child, _)| child == t)
                .all(|(_, parent)| ordered.contains(parent) || !tables.contains(parent))
        });
        match ready {
            Some(i) => ordered.push(tables.remove(i)),
            None => ordered.append(&mut tables),
        }
    }
    ordered
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
