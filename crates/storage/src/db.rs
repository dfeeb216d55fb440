use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use std::sync::Arc;

use sqlx::{AnyPool, Executor};

use crate::batch::BoxFuture;
use crate::lite::Lite;
use crate::sql::{Arg, FromRow, Tx, pg_query};

use crate::{Result, StorageError};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
pub struct DbConfig {
    /// `sqlite://path/to/file.db` or `postgres://user@host/db`.
    pub url: String,
    pub max_connections: u32,
    /// PostgreSQL only: put every table in this schema (created if missing).
    /// Tests use it to give each test its own namespace in one database.
    pub pg_schema: Option<String>,
}

impl DbConfig {
    pub fn new(url: impl Into<String>) -> Self {
        DbConfig {
            url: url.into(),
            max_connections: 16,
            pg_schema: None,
        }
    }
}

/// The database handle every repository works through.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    batch: crate::batch::Batcher,
    /// SQLite: direct connections for the hot path (see [`crate::lite`]).
    lite: Option<Arc<Lite>>,
}

impl std::fmt::Debug for Lite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Lite({})", self.path().display())
    }
}

/// SQLite durability: `synchronous=FULL` in WAL mode fsyncs the WAL on every
/// commit, so an acknowledged write survives kill -9 *and* power loss.
/// (NORMAL would survive a process kill but may lose the last commits on power
/// loss; money-moving acknowledgements get FULL.)
const SQLITE_SYNCHRONOUS_FULL: i64 = 2;

impl Db {
    pub async fn connect(config: &DbConfig) -> Result<Db> {
        sqlx::any::install_default_drivers();
        let backend = if config.url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if config.url.starts_with("postgres:") || config.url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StorageError::Invalid(format!(
                "unsupported database URL scheme in {:?}: use sqlite://PATH or postgres://USER@HOST/DB",
                redact_url(&config.url)
            )));
        };
        let mut url = config.url.clone();
        if backend == Backend::Sqlite {
            crate::lite::make_private(&crate::lite::path_of(&config.url)?)?;
        }
        if backend == Backend::Sqlite && !url.contains("mode=") {
            url.push_str(if url.contains('?') {
                "&mode=rwc"
            } else {
                "?mode=rwc"
            });
        }
        let options = AnyConnectOptions::from_str(&url)?;
        let schema = config.pg_schema.clone();
        if let (Backend::Postgres, Some(schema)) = (backend, &schema) {
            validate_identifier(schema)?;
            let setup = AnyPoolOptions::new()
                .max_connections(1)
                .connect_with(options.clone())
                .await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "CREATE SCHEMA IF NOT EXISTS \"{schema}\""
            )))
            .execute(&setup)
            .await?;
            setup.close().await;
        }
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite {
                config.max_connections.min(8)
            } else {
                config.max_connections
            })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                let schema = schema.clone();
                Box::pin(async move {
                    match backend {
                        Backend::Sqlite => {
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                                 PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                            )
                            .await?;
                        }
                        Backend::Postgres => {
                            if let Some(schema) = schema {
                                conn.execute(sqlx::AssertSqlSafe(format!(
                                    "SET search_path TO \"{schema}\""
                                )))
                                .await?;
                            }
                        }
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let (batch, lite) = match backend {
            Backend::Sqlite => {
                let path = crate::lite::path_of(&config.url)?;
                (
                    crate::batch::Batcher::start_sqlite(&path)?,
                    Some(Arc::new(Lite::new(path))),
                )
            }
            Backend::Postgres => (crate::batch::Batcher::Direct(pool.clone()), None),
        };
        let db = Db {
            pool,
            backend,
            batch,
            lite,
        };
        db.assert_durability().await?;
        Ok(db)
    }

    /// Refuse to run on a SQLite connection whose durability is not what we chose.
    async fn assert_durability(&self) -> Result<()> {
        if self.backend != Backend::Sqlite {
            return Ok(());
        }
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&self.pool)
            .await?;
        let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&self.pool)
            .await?;
        if !mode.eq_ignore_ascii_case("wal") || sync != SQLITE_SYNCHRONOUS_FULL {
            return Err(StorageError::Invalid(format!(
                "SQLite durability check failed: journal_mode={mode}, synchronous={sync}; \
                 atomik requires WAL with synchronous=FULL (2). Is the data directory on a \
                 filesystem that supports WAL (not a network share)?"
            )));
        }
        Ok(())
    }

    pub async fn migrate(&self) -> Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Run `f` in the next group-commit transaction (see [`crate::batch`]):
    /// its result once the batch is durably committed.
    pub(crate) async fn batched<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c, 't> FnOnce(&'c mut Tx<'t>) -> BoxFuture<'c, Result<T>> + Send + 'static,
    {
        self.batch.run(false, f).await
    }

    /// One write statement, group-committed: rows affected, once durable.
    pub(crate) async fn write(&self, sql: &'static str, args: Vec<Arg>) -> Result<u64> {
        if let crate::batch::Batcher::Direct(pool) = &self.batch {
            return Ok(pg_query(sql, args).execute(pool).await?.rows_affected());
        }
        self.batch
            .run(true, move |tx| Box::pin(tx.execute(sql, args)))
            .await
    }

    /// At most one row of a read.
    pub(crate) async fn fetch_optional<T: FromRow + Send + 'static>(
        &self,
        sql: &'static str,
        args: Vec<Arg>,
    ) -> Result<Option<T>> {
        match &self.lite {
            Some(lite) => {
                lite.read(move |conn| Ok(crate::lite::fetch(conn, sql, &args, 1)?.pop()))
                    .await
            }
            None => pg_query(sql, args)
                .fetch_optional(&self.pool)
                .await?
                .as_ref()
                .map(T::from_row)
                .transpose(),
        }
    }

    /// Every row of a read.
    pub(crate) async fn fetch_all<T: FromRow + Send + 'static>(
        &self,
        sql: &'static str,
        args: Vec<Arg>,
    ) -> Result<Vec<T>> {
        match &self.lite {
            Some(lite) => {
                lite.read(move |conn| crate::lite::fetch(conn, sql, &args, usize::MAX))
                    .await
            }
            None => pg_query(sql, args)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(T::from_row)
                .collect(),
        }
    }

    /// `SELECT 1` — for readiness probes.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn validate_identifier(name: &str) -> Result<()> {
    if !name.is_empty()
        && name.len() < 60
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        Ok(())
    } else {
        Err(StorageError::Invalid(format!(
            "invalid schema name {name:?}: use letters, digits and underscores"
        )))
    }
}

/// The URL with any password replaced, for error messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &creds[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn password_in_url_is_redacted() {
        assert_eq!(
            redact_url("postgres://bob:hunter2@db:5432/x"),
            "postgres://bob:***@db:5432/x"
        );
        assert_eq!(redact_url("postgres://bob@db/x"), "postgres://bob@db/x");
        assert_eq!(redact_url("sqlite://a.db"), "sqlite://a.db");
    }
}
