//! Spacing of rate-limited broker calls across every instance sharing the
//! database. A slot is taken atomically only when it is free (`next_at <=
//! now`), and taking it moves `next_at` to `now + spacing`: two calls under
//! the same key are therefore always at least `spacing` apart, whichever
//! instance makes them.

use crate::{Db, Result};

pub async fn try_take(db: &Db, key: &str, now: i64, spacing_ms: i64) -> Result<bool> {
    sqlx::query("INSERT INTO rate_slots (slot_key, next_at) VALUES ($1, 0) ON CONFLICT (slot_key) DO NOTHING")
        .bind(key)
        .execute(db.pool())
        .await?;
    Ok(
        sqlx::query(
            "UPDATE rate_slots SET next_at = $2 + $3 WHERE slot_key = $1 AND next_at <= $2",
        )
        .bind(key)
        .bind(now)
        .bind(spacing_ms)
        .execute(db.pool())
        .await?
        .rows_affected()
            == 1,
    )
}

/// When the next slot under `key` frees up.
pub async fn next_free_at(db: &Db, key: &str) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT next_at FROM rate_slots WHERE slot_key = $1")
            .bind(key)
            .fetch_optional(db.pool())
            .await?
            .unwrap_or(0),
    )
}
