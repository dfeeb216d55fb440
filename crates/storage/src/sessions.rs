//! Server-side sessions. The table holds the SHA-256 of the session id, never
//! the id itself; the caller hashes.

use crate::sql::{Cols, FromRow, args};
use crate::{Db, Result};

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub user_id: String,
    pub csrf_token: String,
    /// Password accepted, second factor still owed.
    pub mfa_pending: bool,
    pub expires_at: i64,
}

impl FromRow for SessionRow {
    fn from_row(row: &impl Cols) -> Result<Self> {
        Ok(SessionRow {
            user_id: row.try_get("user_id")?,
            csrf_token: row.try_get("csrf_token")?,
            mfa_pending: row.try_get::<i64>("mfa_pending")? != 0,
            expires_at: row.try_get("expires_at")?,
        })
    }
}

pub async fn create(
    db: &Db,
    id_hash: &str,
    user_id: &str,
    csrf_token: &str,
    mfa_pending: bool,
    now: i64,
    expires_at: i64,
) -> Result<()> {
    db.write(
        "INSERT INTO sessions (id_hash, user_id, csrf_token, mfa_pending, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        args![id_hash, user_id, csrf_token, mfa_pending, now, expires_at],
    )
    .await?;
    Ok(())
}

/// The live session with this id hash, if any.
pub async fn find(db: &Db, id_hash: &str, now: i64) -> Result<Option<SessionRow>> {
    db.fetch_optional(
        "SELECT user_id, csrf_token, mfa_pending, expires_at FROM sessions \
         WHERE id_hash = $1 AND expires_at > $2",
        args![id_hash, now],
    )
    .await
}

pub async fn delete(db: &Db, id_hash: &str) -> Result<()> {
    db.write("DELETE FROM sessions WHERE id_hash = $1", args![id_hash])
        .await?;
    Ok(())
}

/// End every session of a user (password change, 2FA change, operator action).
pub async fn delete_for_user(db: &Db, user_id: &str) -> Result<()> {
    db.write("DELETE FROM sessions WHERE user_id = $1", args![user_id])
        .await?;
    Ok(())
}

pub async fn purge_expired(db: &Db, now: i64) -> Result<u64> {
    db.write("DELETE FROM sessions WHERE expires_at <= $1", args![now])
        .await
}
