//! Strategies, tracked positions and kill switches: what turns signals into
//! orders. Order intents and their lifecycle are in [`crate::intents`]
//! (re-exported here).
//!
//! A strategy's rules are validated when it is saved
//! ([`atomik_domain::risk::StrategyRules::parse`]) and stored as canonical
//! text (decimals exactly, trading hours as `HH:MM-HH:MM`); every read
//! parses them through that same function, so a value that cannot be read
//! fails closed.

use atomik_domain::Resource;
use atomik_domain::risk::{RawRules, StrategyRules};
use atomik_domain::sizing::{DEFAULT_MAX_PER_SIGNAL, QuantitySource};
use rust_decimal::Decimal;

use crate::sql::Cols;
use crate::{Db, Result, StorageError, new_id, plans};

pub use crate::intents::*;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Strategy {
    pub id: String,
    pub user_id: String,
    pub webhook_id: Option<String>,
    pub broker_account_id: String,
    pub name: String,
    pub instrument: String,
    pub rules: StrategyRules,
    pub active: bool,
}

pub(crate) const STRATEGY_COLUMNS: &str = "id, user_id, webhook_id, broker_account_id, name, instrument, quantity, \
     quantity_from_alert, max_per_signal, max_position, trading_hours, max_order_quantity, daily_order_cap, \
     max_signal_age_secs, active";

fn strategy_from_row(row: &impl Cols) -> Result<Strategy> {
    Ok(Strategy {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        webhook_id: row.try_get("webhook_id")?,
        broker_account_id: row.try_get("broker_account_id")?,
        name: row.try_get("name")?,
        instrument: row.try_get("instrument")?,
        rules: rules_from_prefixed(row, "")?.map_err(|e| {
            StorageError::Invalid(format!("a stored strategy rule cannot be read: {e}"))
        })?,
        active: row.try_get::<i64>("active")? != 0,
    })
}

/// A strategy's rules from columns named `{prefix}{column}`, through the
/// same validation as at save: `Err` says what cannot be read.
pub(crate) fn rules_from_prefixed(
    row: &impl Cols,
    prefix: &str,
) -> Result<std::result::Result<StrategyRules, String>> {
    let col = |c: &str| format!("{prefix}{c}");
    let text = |c: &str| row.try_get::<Option<String>>(&col(c));
    let quantity: String = row.try_get(&col("quantity"))?;
    let from_alert = row.try_get::<i64>(&col("quantity_from_alert"))? != 0;
    let (max_per_signal, max_position, hours, max_order) = (
        text("max_per_signal")?,
        text("max_position")?,
        text("trading_hours")?,
        text("max_order_quantity")?,
    );
    Ok(StrategyRules::parse(&RawRules {
        quantity: &quantity,
        quantity_source: Some(if from_alert { "alert" } else { "fixed" }),
        max_per_signal: max_per_signal.as_deref(),
        max_position: max_position.as_deref(),
        trading_hours: hours.as_deref(),
        max_order_quantity: max_order.as_deref(),
        daily_order_cap: row.try_get(&col("daily_order_cap"))?,
        max_signal_age_secs: row.try_get(&col("max_signal_age_secs"))?,
    })
    .map_err(|e| e.0))
}

pub struct NewStrategy<'a> {
    pub user_id: &'a str,
    pub webhook_id: &'a str,
    pub broker_account_id: &'a str,
    pub name: &'a str,
    pub instrument: &'a str,
    /// Validated by the caller with [`StrategyRules::parse`].
    pub rules: &'a StrategyRules,
}

/// Activate a strategy (plan limit on active strategies); the webhook and the
/// account must be the user's.
pub async fn create_strategy(db: &Db, s: NewStrategy<'_>, now: i64) -> Result<Strategy> {
    let mut tx = db.begin_write().await?;
    let owns: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM webhooks WHERE id = $1 AND user_id = $3) \
              + (SELECT COUNT(*) FROM broker_accounts WHERE id = $2 AND user_id = $3)",
    )
    .bind(s.webhook_id)
    .bind(s.broker_account_id)
    .bind(s.user_id)
    .fetch_one(&mut *tx)
    .await?;
    if owns != 2 {
        return Err(StorageError::Invalid(
            "choose one of your webhooks and one of your broker accounts".into(),
        ));
    }
    plans::reserve_slot(&mut tx, s.user_id, Resource::ActiveStrategies).await?;
    let id = new_id();
    let r = s.rules;
    let from_alert = matches!(r.quantity_source, QuantitySource::FromAlert { .. });
    sqlx::query(
        "INSERT INTO strategies (id, user_id, webhook_id, broker_account_id, name, instrument, quantity, \
         quantity_from_alert, max_per_signal, max_position, trading_hours, max_order_quantity, daily_order_cap, \
         max_signal_age_secs, active, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 1, $15)",
    )
    .bind(&id)
    .bind(s.user_id)
    .bind(s.webhook_id)
    .bind(s.broker_account_id)
    .bind(s.name)
    .bind(s.instrument)
    .bind(r.quantity.to_string())
    .bind(from_alert as i64)
    .bind(r.max_per_signal().unwrap_or(Decimal::from(DEFAULT_MAX_PER_SIGNAL)).to_string())
    .bind(r.max_position.map(|d| d.to_string()))
    .bind(r.trading_hours.map(|h| h.stored()))
    .bind(r.max_order_quantity.map(|d| d.to_string()))
    .bind(r.daily_order_cap)
    .bind(r.max_signal_age_secs)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    strategy(db, &id)
        .await?
        .ok_or(StorageError::NotFound("strategy"))
}

pub async fn strategy(db: &Db, id: &str) -> Result<Option<Strategy>> {
    let sql = format!("SELECT {STRATEGY_COLUMNS} FROM strategies WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(strategy_from_row).transpose()
}

pub async fn strategies(db: &Db, user_id: &str) -> Result<Vec<Strategy>> {
    let sql = format!(
        "SELECT {STRATEGY_COLUMNS} FROM strategies WHERE user_id = $1 ORDER BY created_at, id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(user_id)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(strategy_from_row).collect()
}

/// Turn a strategy on (takes a slot) or off (frees it).
pub async fn set_strategy_active(db: &Db, user_id: &str, id: &str, active: bool) -> Result<()> {
    let mut tx = db.begin_write().await?;
    let current: Option<i64> =
        sqlx::query_scalar("SELECT active FROM strategies WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
    let current = current.ok_or(StorageError::NotFound("strategy"))? != 0;
    if current != active {
        if active {
            plans::reserve_slot(&mut tx, user_id, Resource::ActiveStrategies).await?;
        } else {
            plans::release_slot(&mut tx, user_id, Resource::ActiveStrategies).await?;
        }
        sqlx::query("UPDATE strategies SET active = $3 WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .bind(active as i64)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Every tracked position of an account (non-zero).
pub async fn positions_of(db: &Db, account_id: &str) -> Result<Vec<(String, String)>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT instrument, quantity FROM positions WHERE account_id = $1 ORDER BY instrument",
    )
    .bind(account_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .filter(|(_, q)| q.parse::<f64>().map(|v| v != 0.0).unwrap_or(true))
        .collect())
}

/// Kill switch scopes: `global`, `user:<id>`, `account:<id>`.
pub async fn set_kill_switch(db: &Db, scope: &str, engaged: bool, now: i64) -> Result<()> {
    if engaged {
        sqlx::query("INSERT INTO kill_switches (scope, engaged_at) VALUES ($1, $2) ON CONFLICT (scope) DO NOTHING")
            .bind(scope)
            .bind(now)
            .execute(db.pool())
            .await?;
    } else {
        sqlx::query("DELETE FROM kill_switches WHERE scope = $1")
            .bind(scope)
            .execute(db.pool())
            .await?;
    }
    Ok(())
}
