//! OAuth authorization flows in progress: `state` (stored hashed) bound to the
//! dashboard session that started it, with the sealed PKCE verifier. A flow
//! is consumed exactly once.

use crate::{Db, Result};

pub struct NewFlow<'a> {
    pub state_hash: &'a str,
    pub session_hash: &'a str,
    pub user_id: &'a str,
    pub broker: &'a str,
    pub environment: &'a str,
    pub kek_id: &'a str,
    pub sealed_verifier: &'a [u8],
    pub expires_at: i64,
}

pub async fn create(db: &Db, flow: NewFlow<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO oauth_flows (state_hash, session_hash, user_id, broker, environment, kek_id, sealed_verifier, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(flow.state_hash)
    .bind(flow.session_hash)
    .bind(flow.user_id)
    .bind(flow.broker)
    .bind(flow.environment)
    .bind(flow.kek_id)
    .bind(flow.sealed_verifier)
    .bind(flow.expires_at)
    .execute(db.pool())
    .await?;
    Ok(())
}

pub struct Flow {
    pub user_id: String,
    pub broker: String,
    pub environment: String,
    pub kek_id: String,
    pub sealed_verifier: Vec<u8>,
}

/// Take (delete and return) the live flow for `state_hash` started by this
/// session. A second call with the same state finds nothing (no replay).
pub async fn take(db: &Db, state_hash: &str, session_hash: &str, now: i64) -> Result<Option<Flow>> {
    let row: Option<(String, String, String, String, Vec<u8>)> = sqlx::query_as(
        "DELETE FROM oauth_flows WHERE state_hash = $1 AND session_hash = $2 AND expires_at > $3 \
         RETURNING user_id, broker, environment, kek_id, sealed_verifier",
    )
    .bind(state_hash)
    .bind(session_hash)
    .bind(now)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(
        |(user_id, broker, environment, kek_id, sealed_verifier)| Flow {
            user_id,
            broker,
            environment,
            kek_id,
            sealed_verifier,
        },
    ))
}

pub async fn purge_expired(db: &Db, now: i64) -> Result<u64> {
    Ok(
        sqlx::query("DELETE FROM oauth_flows WHERE expires_at <= $1")
            .bind(now)
            .execute(db.pool())
            .await?
            .rows_affected(),
    )
}
