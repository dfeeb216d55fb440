//! Storage behind one interface, on SQLite (embedded, default) and PostgreSQL.
//!
//! Both backends run the same SQL; only the migrations and connection
//! set-up differ. Every repository statement goes through [`sql`], which
//! runs it on direct SQLite connections ([`lite`]: reads on the blocking
//! pool, every write on the one writer thread of [`batch`]) or on sqlx for
//! PostgreSQL. sqlx also runs the migrations. Times are Unix milliseconds.

mod batch;
pub mod broker_accounts;
pub mod copy_groups;
mod db;
mod error;
pub mod execution;
pub mod intents;
mod lite;
pub mod oauth_flows;
pub mod plans;
pub mod rate_slots;
pub mod sessions;
pub mod signals;
mod sql;
pub mod throttle;
pub mod tokens;
pub mod users;
pub mod vault_meta;
pub mod webhooks;

pub use db::{Backend, Db, DbConfig};
pub use error::StorageError;

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// A fresh random UUIDv7 (time-ordered, so inserts stay index-friendly).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
