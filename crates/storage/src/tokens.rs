//! Personal API tokens. Only a SHA-256 of each token is stored; the caller
//! hashes. (Tokens carry 256 random bits, so a fast hash is sufficient.)

use sqlx::Row;

use crate::{Db, Result, new_id};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    /// The first characters of the token, to tell tokens apart in lists.
    pub prefix: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

pub async fn create(
    db: &Db,
    user_id: &str,
    name: &str,
    token_hash: &str,
    prefix: &str,
    now: i64,
) -> Result<ApiToken> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO api_tokens (id, user_id, name, token_hash, token_prefix, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(user_id)
    .bind(name)
    .bind(token_hash)
    .bind(prefix)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(ApiToken {
        id,
        name: name.to_string(),
        prefix: prefix.to_string(),
        created_at: now,
        last_used_at: None,
    })
}

pub async fn list(db: &Db, user_id: &str) -> Result<Vec<ApiToken>> {
    let rows = sqlx::query(
        "SELECT id, name, token_prefix, created_at, last_used_at FROM api_tokens WHERE user_id = $1 ORDER BY created_at, id",
    )
    .bind(user_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(ApiToken {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                prefix: row.try_get("token_prefix")?,
                created_at: row.try_get("created_at")?,
                last_used_at: row.try_get("last_used_at")?,
            })
        })
        .collect()
}

/// Revoke one of the user's tokens. Returns false if it was not theirs.
pub async fn delete(db: &Db, user_id: &str, token_id: &str) -> Result<bool> {
    Ok(
        sqlx::query("DELETE FROM api_tokens WHERE id = $1 AND user_id = $2")
            .bind(token_id)
            .bind(user_id)
            .execute(db.pool())
            .await?
            .rows_affected()
            == 1,
    )
}

/// The user a token hash belongs to; marks the token used.
pub async fn authenticate(db: &Db, token_hash: &str, now: i64) -> Result<Option<String>> {
    let user: Option<String> =
        sqlx::query_scalar("SELECT user_id FROM api_tokens WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(db.pool())
            .await?;
    if user.is_some() {
        sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE token_hash = $1")
            .bind(token_hash)
            .bind(now)
            .execute(db.pool())
            .await?;
    }
    Ok(user)
}
