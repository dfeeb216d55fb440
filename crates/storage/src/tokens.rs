//! Personal API tokens. Only a SHA-256 of each token is stored; the caller
//! hashes. (Tokens carry 256 random bits, so a fast hash is sufficient.)

use crate::sql::{Cols, FromRow, Scalar, args};
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

impl FromRow for ApiToken {
    fn from_row(row: &impl Cols) -> Result<Self> {
        Ok(ApiToken {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            prefix: row.try_get("token_prefix")?,
            created_at: row.try_get("created_at")?,
            last_used_at: row.try_get("last_used_at")?,
        })
    }
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
    db.write(
        "INSERT INTO api_tokens (id, user_id, name, token_hash, token_prefix, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        args![&id, user_id, name, token_hash, prefix, now],
    )
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
    db.fetch_all(
        "SELECT id, name, token_prefix, created_at, last_used_at FROM api_tokens \
         WHERE user_id = $1 ORDER BY created_at, id",
        args![user_id],
    )
    .await
}

/// Revoke one of the user's tokens. Returns false if it was not theirs.
pub async fn delete(db: &Db, user_id: &str, token_id: &str) -> Result<bool> {
    Ok(db
        .write(
            "DELETE FROM api_tokens WHERE id = $1 AND user_id = $2",
            args![token_id, user_id],
        )
        .await?
        == 1)
}

/// The user a token hash belongs to; marks the token used. (An unknown
/// token costs one read, never a write.)
pub async fn authenticate(db: &Db, token_hash: &str, now: i64) -> Result<Option<String>> {
    let user: Option<Scalar<String>> = db
        .fetch_optional(
            "SELECT user_id FROM api_tokens WHERE token_hash = $1",
            args![token_hash],
        )
        .await?;
    if user.is_some() {
        db.write(
            "UPDATE api_tokens SET last_used_at = $2 WHERE token_hash = $1",
            args![token_hash, now],
        )
        .await?;
    }
    Ok(user.map(|s| s.0))
}
