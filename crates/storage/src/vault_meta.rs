//! Values sealed by the vault and stored by name: the key check (a known
//! value that proves at start-up the key is the right one) and server-wide
//! secrets such as the webhook HMAC key.

use crate::sql::{Scalar, args};
use crate::{Db, Result, StorageError};

pub const KEY_CHECK: &str = "key_check";

/// A sealed value by name: its key id and sealed bytes.
pub async fn get(db: &Db, id: &str) -> Result<Option<(String, Vec<u8>)>> {
    db.fetch_optional(
        "SELECT kek_id, sealed FROM vault_meta WHERE id = $1",
        args![id],
    )
    .await
}

pub async fn put(db: &Db, id: &str, kek_id: &str, sealed: &[u8]) -> Result<()> {
    db.write(
        "INSERT INTO vault_meta (id, kek_id, sealed) VALUES ($1, $2, $3) \
         ON CONFLICT (id) DO UPDATE SET kek_id = $2, sealed = $3",
        args![id, kek_id, sealed],
    )
    .await?;
    Ok(())
}

/// Store `id` only if absent; returns what is stored afterwards (the first
/// writer wins when several instances start together).
pub async fn put_if_absent(
    db: &Db,
    id: &str,
    kek_id: &str,
    sealed: &[u8],
) -> Result<(String, Vec<u8>)> {
    db.write(
        "INSERT INTO vault_meta (id, kek_id, sealed) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
        args![id, kek_id, sealed],
    )
    .await?;
    get(db, id)
        .await?
        .ok_or(StorageError::NotFound("vault value"))
}

/// Every sealed value's name (for key rotation).
pub async fn names(db: &Db) -> Result<Vec<String>> {
    let rows: Vec<Scalar<String>> = db
        .fetch_all("SELECT id FROM vault_meta ORDER BY id", args![])
        .await?;
    Ok(rows.into_iter().map(|s| s.0).collect())
}

pub async fn key_check(db: &Db) -> Result<Option<(String, Vec<u8>)>> {
    get(db, KEY_CHECK).await
}

pub async fn set_key_check(db: &Db, kek_id: &str, sealed: &[u8]) -> Result<()> {
    put(db, KEY_CHECK, kek_id, sealed).await
}

/// Whether any sealed data exists (a missing key is then fatal, not fresh).
pub async fn has_sealed_data(db: &Db) -> Result<bool> {
    let n = db
        .fetch_optional::<Scalar<i64>>(
            "SELECT (SELECT COUNT(*) FROM vault_meta) + (SELECT COUNT(*) FROM broker_credentials)",
            args![],
        )
        .await?
        .map_or(0, |s| s.0);
    Ok(n > 0)
}
