//! Server-side sessions. The table holds the SHA-256 of the session id, never
//! the id itself; the caller hashes.

use sqlx::Row;

use crate::{Db, Result};

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub user_id: String,
    pub csrf_token: String,
    /// Password accepted, second factor still owed.
    pub mfa_pending: bool,
    pub expires_at: i64,
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
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, csrf_token, mfa_pending, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id_hash)
    .bind(user_id)
    .bind(csrf_token)
    .bind(mfa_pending as i64)
    .bind(now)
    .bind(expires_at)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// The live session with this id hash, if any.
pub async fn find(db: &Db, id_hash: &str, now: i64) -> Result<Option<SessionRow>> {
    let row = sqlx::query(
        "SELECT user_id, csrf_token, mfa_pending, expires_at FROM sessions WHERE id_hash = $1 AND expires_at > $2",
    )
    .bind(id_hash)
    .bind(now)
    .fetch_optional(db.pool())
    .await?;
    row.map(|row| {
        Ok(SessionRow {
            user_id: row.try_get("user_id")?,
            csrf_token: row.try_get("csrf_token")?,
            mfa_pending: row.try_get::<i64, _>("mfa_pending")? != 0,
            expires_at: row.try_get("expires_at")?,
        })
    })
    .transpose()
}

pub async fn delete(db: &Db, id_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// End every session of a user (password change, 2FA change, operator action).
pub async fn delete_for_user(db: &Db, user_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(db.pool())
        .await?;
    Ok(())
}

pub async fn purge_expired(db: &Db, now: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(db.pool())
        .await?
        .rows_affected())
}
