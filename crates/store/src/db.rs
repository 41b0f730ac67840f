//! The two backends behind one type: SQLite (embedded default) and PostgreSQL (production).
//!
//! Queries are written once in the SQL both accept (`$1` placeholders, `ON CONFLICT`) and run
//! through [`on_db!`], which expands the same body once per backend, so each is type-checked
//! against its own driver and nothing is dispatched dynamically per row.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

use crate::StoreError;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// A connection pool on one of the two backends.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool of whichever backend `$db` is.
#[macro_export]
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::Db::Sqlite($pool) => $body,
            $crate::Db::Postgres($pool) => $body,
        }
    };
}

/// Creates a missing database file readable and writable by its owner only (0600): it holds the
/// ledger, personal parts sealed but everything else in clear. SQLite gives its `-wal` and `-shm`
/// files the database file's permissions.
fn create_private(path: &std::path::Path) -> Result<(), StoreError> {
    if path.as_os_str().is_empty() || path.to_str().is_some_and(|name| name.starts_with(':')) || path.exists() {
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        // Another process created it in between: fine, it is opened as it is.
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(StoreError::Config(format!("cannot create the database file: {error}"))),
    }
}

/// Which backend, for the few places where the SQL must differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Db {
    /// Opens `url`: `sqlite://path` (created when missing) or `postgres://…`.
    pub async fn connect(url: &str) -> Result<Db, StoreError> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|error| StoreError::Config(format!("bad SQLite URL: {error}")))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // Durability on: a commit has reached the disk before the caller hears "ok".
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true)
                // 64 MiB of page cache per connection and memory-mapped reads: the stream index
                // takes random inserts, and a small cache turns them into disk reads.
                .pragma("cache_size", "-65536")
                .pragma("mmap_size", "268435456");
            create_private(options.get_filename())?;
            let pool = SqlitePoolOptions::new().max_connections(8).min_connections(1).connect_with(options).await?;
            Ok(Db::Sqlite(pool))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let options = PgConnectOptions::from_str(url)
                .map_err(|error| StoreError::Config(format!("bad PostgreSQL URL: {error}")))?
                .options([("synchronous_commit", "on")]);
            let pool = PgPoolOptions::new()
                .max_connections(24)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(options)
                .await?;
            Ok(Db::Postgres(pool))
        } else {
            Err(StoreError::Config(format!("unsupported database URL {url:?}: use sqlite://FILE or postgres://…")))
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies the durable schema (`migrations/<backend>`), idempotently.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self {
            Db::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await?,
            Db::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    pub async fn close(&self) {
        if let Db::Sqlite(pool) = self {
            // Leave a small database file behind: fold the log in before closing.
            let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(pool).await;
        }
        on_db!(self, pool => pool.close().await)
    }
}
