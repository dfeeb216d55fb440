use atomik_domain::LimitReached;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    LimitReached(LimitReached),
    #[error("{0} already exists")]
    Conflict(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Invalid(String),
}

impl StorageError {
    /// True for a unique-constraint violation, on either backend and driver.
    pub(crate) fn is_unique(&self) -> bool {
        match self {
            StorageError::Database(sqlx::Error::Database(db)) => {
                db.is_unique_violation()
                    || db.message().contains("UNIQUE constraint failed")
                    || db.code().as_deref() == Some("23505")
            }
            StorageError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.extended_code,
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            ),
            _ => false,
        }
    }

    /// True for a foreign-key violation, on either backend and driver.
    pub(crate) fn is_foreign_key(&self) -> bool {
        match self {
            StorageError::Database(sqlx::Error::Database(db)) => {
                db.is_foreign_key_violation()
                    || db.message().contains("FOREIGN KEY")
                    || db.code().as_deref() == Some("23503")
            }
            StorageError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY
            }
            _ => false,
        }
    }
}
