//! The store: one sqlx-based implementation over SQLite and PostgreSQL.
//!
//! Both backends run the same SQL text (positional `$1` parameters work in both); the
//! migrations differ only in column types and live in `server/migrations/{sqlite,postgres}`.
//! They run at start. No SQL is ever built from input: sort orders map through
//! [`page::ProfileOrder`] and [`page::ResultOrder`] to fixed fragments, searches are bound
//! `LIKE` patterns with `%` and `_` escaped ([`page::like_pattern`]). This matters because
//! sqlx's SQLite driver runs stacked statements (`a; ATTACH DATABASE ...`), the vector behind
//! Meshery's SQL-injection CVEs.
//!
//! # Layout
//! - [`page`]: paging, the order allow-lists and the search escaping.
//! - [`profiles`], [`runs`], [`results`]: the queries of each table and their row types.

pub mod page;
pub mod profiles;
pub mod results;
pub mod runs;

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

use crate::config::{DatabaseUrl, Synchronous};

pub use page::{Page, PageRequest, ProfileOrder, ResultOrder};
pub use profiles::ProfileRow;
pub use results::ResultRow;
pub use runs::{RunRow, RunState};

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or created.
    #[error("cannot open the database {what}: {source}; check DATABASE_URL and that the server runs")]
    Open {
        /// Which database (path or host, never the password).
        what: String,
        /// Why.
        #[source]
        source: sqlx::Error,
    },
    /// The database server did not answer.
    #[error("the database {what} did not answer within {after:?}; check DATABASE_URL and that the server runs")]
    NoAnswer {
        /// Which database (host, never the password).
        what: String,
        /// How long it was given.
        after: Duration,
    },
    /// A migration failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("database query failed: {0}")]
    Query(#[from] sqlx::Error),
    /// A stored JSON column could not be read back.
    #[error("stored data in {column} is corrupt: {reason}")]
    Corrupt {
        /// The column.
        column: &'static str,
        /// The parse error.
        reason: String,
    },
    /// The directory for a SQLite file could not be created.
    #[error("cannot create {path}: {source}")]
    Dir {
        /// The directory.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// The store, on one of its backends. Cheap to clone (pools are shared).
#[derive(Debug, Clone)]
pub enum Store {
    /// SQLite in WAL mode.
    Sqlite(SqlitePool),
    /// PostgreSQL.
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the backend's pool; the body is compiled once per backend.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match $store {
            $crate::store::Store::Sqlite($pool) => $body,
            $crate::store::Store::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

impl Store {
    /// Opens (creating if needed) the database and runs the migrations.
    pub async fn open(url: &DatabaseUrl, synchronous: Synchronous) -> Result<Store, StoreError> {
        match url {
            DatabaseUrl::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .map_err(|source| StoreError::Dir { path: dir.display().to_string(), source })?;
                }
                // The database holds profiles' headers and cookies (credentials for targets):
                // owner-only. SQLite gives its -wal and -shm files the database file's mode.
                private_file(path).map_err(|source| StoreError::Dir { path: path.display().to_string(), source })?;
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(match synchronous {
                        Synchronous::Normal => SqliteSynchronous::Normal,
                        Synchronous::Full => SqliteSynchronous::Full,
                    })
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(5));
                let pool = SqlitePoolOptions::new()
                    .max_connections(4)
                    .connect_with(options)
                    .await
                    .map_err(|source| StoreError::Open { what: path.display().to_string(), source })?;
                sqlx::migrate!("migrations/sqlite").run(&pool).await?;
                Ok(Store::Sqlite(pool))
            }
            DatabaseUrl::Postgres(url) => {
                let what = redact(url);
                let options = PgConnectOptions::from_str(url)
                    .map_err(|source| StoreError::Open { what: what.clone(), source })?;
                // One direct connection first: a closed port or a wrong password is reported as
                // itself, at once, rather than as the pool's timeout ten seconds later.
                use sqlx::Connection;
                match tokio::time::timeout(Duration::from_secs(5), sqlx::PgConnection::connect_with(&options)).await {
                    Err(_) => return Err(StoreError::NoAnswer { what, after: Duration::from_secs(5) }),
                    Ok(Err(source)) => return Err(StoreError::Open { what, source }),
                    Ok(Ok(conn)) => {
                        let _ = conn.close().await;
                    }
                }
                let pool = PgPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await
                    .map_err(|source| StoreError::Open { what, source })?;
                sqlx::migrate!("migrations/postgres").run(&pool).await?;
                Ok(Store::Postgres(pool))
            }
        }
    }

    /// The backend's name, for logs and metrics.
    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// Checks that the database answers (readiness).
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, |pool| sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Closes the pools (at shutdown, after the last request).
    pub async fn close(&self) {
        on_pool!(self, |pool| pool.close().await);
    }
}

/// Creates `path` empty if missing, and makes it and its SQLite companions (`-wal`, `-shm`)
/// readable and writable by their owner only.
fn private_file(path: &std::path::Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    drop(options.open(path)?);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for suffix in ["", "-wal", "-shm"] {
            let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
            if file.exists() {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
            }
        }
    }
    Ok(())
}

/// Now, at the microsecond precision both backends keep.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// `postgres://user:secret@host/db` without its password, for messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => "(unparsable URL)".into(),
    }
}

#[cfg(test)]
pub(crate) mod testing;
