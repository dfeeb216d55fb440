//! The vault's key check: a known value sealed once, so start-up can tell a
//! missing or wrong key from a right one before touching any credential.

use crate::{Db, Result};

pub async fn key_check(db: &Db) -> Result<Option<(String, Vec<u8>)>> {
    Ok(
        sqlx::query_as("SELECT kek_id, sealed FROM vault_meta WHERE id = 'key_check'")
            .fetch_optional(db.pool())
            .await?,
    )
}

pub async fn set_key_check(db: &Db, kek_id: &str, sealed: &[u8]) -> Result<()> {
    sqlx::query(
        "INSERT INTO vault_meta (id, kek_id, sealed) VALUES ('key_check', $1, $2) \
         ON CONFLICT (id) DO UPDATE SET kek_id = $1, sealed = $2",
    )
    .bind(kek_id)
    .bind(sealed)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Whether any sealed data exists (a missing key is then fatal, not fresh).
pub async fn has_sealed_data(db: &Db) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM vault_meta) + (SELECT COUNT(*) FROM broker_credentials)",
    )
    .fetch_one(db.pool())
    .await?;
    Ok(n > 0)
}
