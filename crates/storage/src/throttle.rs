//! Failure counters for login throttling, kept in the database so that every
//! instance sees the same counts.

use crate::sql::args;
use crate::{Db, Result};

/// If `key` has `max_failures` or more failures in the window that started
/// within `window_ms` of `now`, the milliseconds until that window ends.
pub async fn blocked_for(
    db: &Db,
    key: &str,
    now: i64,
    max_failures: i64,
    window_ms: i64,
) -> Result<Option<i64>> {
    let row: Option<(i64, i64)> = db
        .fetch_optional(
            "SELECT failures, window_start FROM login_failures WHERE throttle_key = $1",
            args![key],
        )
        .await?;
    Ok(match row {
        Some((failures, start)) if failures >= max_failures && start + window_ms > now => {
            Some(start + window_ms - now)
        }
        _ => None,
    })
}

/// Count one failure for `key`; a window older than `window_ms` starts afresh.
pub async fn record_failure(db: &Db, key: &str, now: i64, window_ms: i64) -> Result<()> {
    db.write(
        "INSERT INTO login_failures (throttle_key, failures, window_start) VALUES ($1, 1, $2) \
         ON CONFLICT (throttle_key) DO UPDATE SET \
           failures = CASE WHEN login_failures.window_start <= $3 THEN 1 ELSE login_failures.failures + 1 END, \
           window_start = CASE WHEN login_failures.window_start <= $3 THEN $2 ELSE login_failures.window_start END",
        args![key, now, now - window_ms],
    )
    .await?;
    Ok(())
}

pub async fn clear(db: &Db, key: &str) -> Result<()> {
    db.write(
        "DELETE FROM login_failures WHERE throttle_key = $1",
        args![key],
    )
    .await?;
    Ok(())
}
