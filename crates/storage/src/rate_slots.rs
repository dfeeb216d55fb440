//! Spacing of rate-limited broker calls across every instance sharing the
//! database. A slot is taken atomically only when it is free (`next_at <=
//! now`), and taking it moves `next_at` to `now + spacing`: two calls under
//! the same key are therefore always at least `spacing` apart, whichever
//! instance makes them.

use crate::sql::{Scalar, args};
use crate::{Db, Result};

pub async fn try_take(db: &Db, key: &str, now: i64, spacing_ms: i64) -> Result<bool> {
    let key = key.to_string();
    db.batched(move |tx| {
        Box::pin(async move {
            tx.execute(
                "INSERT INTO rate_slots (slot_key, next_at) VALUES ($1, 0) \
                 ON CONFLICT (slot_key) DO NOTHING",
                args![&key],
            )
            .await?;
            let taken = tx
                .execute(
                    "UPDATE rate_slots SET next_at = $2 + $3 WHERE slot_key = $1 AND next_at <= $2",
                    args![&key, now, spacing_ms],
                )
                .await?;
            Ok(taken == 1)
        })
    })
    .await
}

/// When the next slot under `key` frees up.
pub async fn next_free_at(db: &Db, key: &str) -> Result<i64> {
    Ok(db
        .fetch_optional::<Scalar<i64>>(
            "SELECT next_at FROM rate_slots WHERE slot_key = $1",
            args![key],
        )
        .await?
        .map_or(0, |s| s.0))
}
