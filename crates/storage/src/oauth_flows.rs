//! OAuth authorization flows in progress: `state` (stored hashed) bound to the
//! dashboard session that started it, with the sealed PKCE verifier. A flow
//! is consumed exactly once.

use crate::sql::args;
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
    db.write(
        "INSERT INTO oauth_flows (state_hash, session_hash, user_id, broker, environment, kek_id, \
         sealed_verifier, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        args![
            flow.state_hash,
            flow.session_hash,
            flow.user_id,
            flow.broker,
            flow.environment,
            flow.kek_id,
            flow.sealed_verifier,
            flow.expires_at
        ],
    )
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
    let args = args![state_hash, session_hash, now];
    let row: Option<(String, String, String, String, Vec<u8>)> = db
        .batched(move |tx| {
            Box::pin(async move {
                tx.fetch_optional(
                    "DELETE FROM oauth_flows WHERE state_hash = $1 AND session_hash = $2 \
                     AND expires_at > $3 RETURNING user_id, broker, environment, kek_id, sealed_verifier",
                    args,
                )
                .await
            })
        })
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
    db.write("DELETE FROM oauth_flows WHERE expires_at <= $1", args![now])
        .await
}
