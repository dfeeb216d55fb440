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

use crate::sql::{Cols, FromRow, args};
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
     max_signal_age_secs, quantity_unit, active";

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
    let unit: String = row.try_get(&col("quantity_unit"))?;
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
        quantity_unit: Some(&unit),
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
/// account must be the user's, and the account connected.
pub async fn create_strategy(db: &Db, s: NewStrategy<'_>, now: i64) -> Result<Strategy> {
    let id = new_id();
    let (user_id, webhook_id, account_id) = (
        s.user_id.to_string(),
        s.webhook_id.to_string(),
        s.broker_account_id.to_string(),
    );
    let r = s.rules;
    let from_alert = matches!(r.quantity_source, QuantitySource::FromAlert { .. });
    let row = args![
        &id,
        s.user_id,
        s.webhook_id,
        s.broker_account_id,
        s.name,
        s.instrument,
        r.quantity.to_string(),
        from_alert,
        r.max_per_signal()
            .unwrap_or(Decimal::from(DEFAULT_MAX_PER_SIGNAL))
            .to_string(),
        r.max_position.map(|d| d.to_string()),
        r.trading_hours.map(|h| h.stored()),
        r.max_order_quantity.map(|d| d.to_string()),
        r.daily_order_cap,
        r.max_signal_age_secs,
        now,
        r.quantity_unit.as_str()
    ];
    db.batched(move |tx| {
        Box::pin(async move {
            let owned: Option<(i64, Option<String>)> = tx
                .fetch_optional(
                    "SELECT (SELECT COUNT(*) FROM webhooks WHERE id = $1 AND user_id = $3), \
                     (SELECT status FROM broker_accounts WHERE id = $2 AND user_id = $3)",
                    args![&webhook_id, &account_id, &user_id],
                )
                .await?;
            match owned {
                Some((1, Some(status))) if status != "disconnected" => {}
                Some((1, Some(_))) => return Err(account_disconnected()),
                _ => {
                    return Err(StorageError::Invalid(
                        "choose one of your webhooks and one of your broker accounts".into(),
                    ));
                }
            }
            plans::reserve_slot(tx, &user_id, Resource::ActiveStrategies).await?;
            tx.execute(
                "INSERT INTO strategies (id, user_id, webhook_id, broker_account_id, name, instrument, quantity, \
                 quantity_from_alert, max_per_signal, max_position, trading_hours, max_order_quantity, daily_order_cap, \
                 max_signal_age_secs, active, created_at, quantity_unit) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 1, $15, $16)",
                row,
            )
            .await?;
            Ok(())
        })
    })
    .await?;
    strategy(db, &id)
        .await?
        .ok_or(StorageError::NotFound("strategy"))
}

impl FromRow for Strategy {
    fn from_row(row: &impl Cols) -> Result<Self> {
        strategy_from_row(row)
    }
}

pub async fn strategy(db: &Db, id: &str) -> Result<Option<Strategy>> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!("SELECT {STRATEGY_COLUMNS} FROM strategies WHERE id = $1")
    });
    db.fetch_optional(SQL.as_str(), args![id]).await
}

pub async fn strategies(db: &Db, user_id: &str) -> Result<Vec<Strategy>> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT {STRATEGY_COLUMNS} FROM strategies WHERE user_id = $1 ORDER BY created_at, id"
        )
    });
    db.fetch_all(SQL.as_str(), args![user_id]).await
}

/// Turn a strategy on (takes a slot; its account must be connected) or off
/// (frees it).
pub async fn set_strategy_active(db: &Db, user_id: &str, id: &str, active: bool) -> Result<()> {
    let (user_id, id) = (user_id.to_string(), id.to_string());
    db.batched(move |tx| {
        Box::pin(async move {
            let current: (i64, Option<String>) = tx
                .fetch_optional(
                    "SELECT s.active, a.status FROM strategies s \
                     LEFT JOIN broker_accounts a ON a.id = s.broker_account_id \
                     WHERE s.id = $1 AND s.user_id = $2",
                    args![&id, &user_id],
                )
                .await?
                .ok_or(StorageError::NotFound("strategy"))?;
            if (current.0 != 0) == active {
                return Ok(());
            }
            if active {
                if current.1.as_deref().is_none_or(|s| s == "disconnected") {
                    return Err(account_disconnected());
                }
                plans::reserve_slot(tx, &user_id, Resource::ActiveStrategies).await?;
            } else {
                plans::release_slot(tx, &user_id, Resource::ActiveStrategies).await?;
            }
            tx.execute(
                "UPDATE strategies SET active = $3 WHERE id = $1 AND user_id = $2",
                args![&id, &user_id, active],
            )
            .await?;
            Ok(())
        })
    })
    .await
}

/// Delete a strategy (frees its slot if it was active). Refused while it
/// has unfinished orders: they would lose their rules.
pub async fn delete_strategy(db: &Db, user_id: &str, id: &str) -> Result<()> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT s.active, (SELECT COUNT(*) FROM order_intents i WHERE i.strategy_id = s.id \
             AND i.status IN ({})) FROM strategies s WHERE s.id = $1 AND s.user_id = $2",
            atomik_domain::lifecycle::IntentStatus::OPEN_SQL
        )
    });
    let (user_id, id) = (user_id.to_string(), id.to_string());
    db.batched(move |tx| {
        Box::pin(async move {
            let (active, unfinished): (i64, i64) = tx
                .fetch_optional(SQL.as_str(), args![&id, &user_id])
                .await?
                .ok_or(StorageError::NotFound("strategy"))?;
            if unfinished > 0 {
                return Err(StorageError::Invalid(format!(
                    "this strategy has {unfinished} unfinished order(s): turn it off and delete it \
                     once they have settled"
                )));
            }
            tx.execute(
                "DELETE FROM strategies WHERE id = $1 AND user_id = $2",
                args![&id, &user_id],
            )
            .await?;
            if active != 0 {
                plans::release_slot(tx, &user_id, Resource::ActiveStrategies).await?;
            }
            Ok(())
        })
    })
    .await
}

fn account_disconnected() -> StorageError {
    StorageError::Invalid(
        "this strategy's broker account is disconnected: reconnect the account first".into(),
    )
}

/// Every tracked position of an account (non-zero).
pub async fn positions_of(db: &Db, account_id: &str) -> Result<Vec<(String, String)>> {
    let rows: Vec<(String, String)> = db
        .fetch_all(
            "SELECT instrument, quantity FROM positions WHERE account_id = $1 ORDER BY instrument",
            args![account_id],
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter(|(_, q)| q.parse::<f64>().map(|v| v != 0.0).unwrap_or(true))
        .collect())
}

/// Kill switch scopes: `global`, `user:<id>`, `account:<id>`.
pub async fn set_kill_switch(db: &Db, scope: &str, engaged: bool, now: i64) -> Result<()> {
    if engaged {
        db.write(
            "INSERT INTO kill_switches (scope, engaged_at) VALUES ($1, $2) ON CONFLICT (scope) DO NOTHING",
            args![scope, now],
        )
        .await?;
    } else {
        db.write("DELETE FROM kill_switches WHERE scope = $1", args![scope])
            .await?;
    }
    Ok(())
}

/// The kill switches that stop a user's orders now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Halts {
    /// The operator's, for everyone.
    pub global: bool,
    /// The user's own, for all their accounts.
    pub user: bool,
    /// Ids of the user's accounts with their own switch engaged.
    pub accounts: Vec<String>,
}

impl Halts {
    /// Nothing of the user's can trade.
    pub fn all_stopped(&self) -> bool {
        self.global || self.user
    }
}

/// Which kill switches stop `user_id`'s orders.
pub async fn halts(db: &Db, user_id: &str) -> Result<Halts> {
    let rows: Vec<crate::sql::Scalar<String>> = db
        .fetch_all(
            "SELECT scope FROM kill_switches WHERE scope IN ('global', 'user:' || $1) \
             OR scope IN (SELECT 'account:' || id FROM broker_accounts WHERE user_id = $1) \
             ORDER BY scope",
            args![user_id],
        )
        .await?;
    let mut h = Halts::default();
    for crate::sql::Scalar(scope) in rows {
        match scope.split_once(':') {
            None if scope == "global" => h.global = true,
            Some(("user", _)) => h.user = true,
            Some(("account", id)) => h.accounts.push(id.to_string()),
            _ => {}
        }
    }
    Ok(h)
}

/// The switch that stops every order of `user_id` (the global one first),
/// if one does: one indexed read, for the webhook's answer.
pub async fn user_halt(
    db: &Db,
    user_id: &str,
) -> Result<Option<atomik_domain::execution::KillScope>> {
    let rows: Vec<crate::sql::Scalar<String>> = db
        .fetch_all(
            "SELECT scope FROM kill_switches WHERE scope IN ('global', 'user:' || $1)",
            args![user_id],
        )
        .await?;
    use atomik_domain::execution::KillScope;
    Ok(if rows.iter().any(|s| s.0 == "global") {
        Some(KillScope::Global)
    } else if rows.is_empty() {
        None
    } else {
        Some(KillScope::User)
    })
}

/// Change a strategy's name, instrument and rules (validated by the caller
/// with [`StrategyRules::parse`] and against the market). Its webhook and
/// account stay: linking others is a new strategy. Intents not yet sent use
/// the new rules.
pub async fn update_strategy(
    db: &Db,
    user_id: &str,
    id: &str,
    name: &str,
    instrument: &str,
    r: &StrategyRules,
) -> Result<Strategy> {
    let from_alert = matches!(r.quantity_source, QuantitySource::FromAlert { .. });
    let changed = db
        .write(
            "UPDATE strategies SET name = $3, instrument = $4, quantity = $5, quantity_from_alert = $6, \
             max_per_signal = $7, max_position = $8, trading_hours = $9, max_order_quantity = $10, \
             daily_order_cap = $11, max_signal_age_secs = $12, quantity_unit = $13 \
             WHERE id = $1 AND user_id = $2",
            args![
                id,
                user_id,
                name,
                instrument,
                r.quantity.to_string(),
                from_alert,
                r.max_per_signal()
                    .unwrap_or(Decimal::from(DEFAULT_MAX_PER_SIGNAL))
                    .to_string(),
                r.max_position.map(|d| d.to_string()),
                r.trading_hours.map(|h| h.stored()),
                r.max_order_quantity.map(|d| d.to_string()),
                r.daily_order_cap,
                r.max_signal_age_secs,
                r.quantity_unit.as_str()
            ],
        )
        .await?;
    if changed == 0 {
        return Err(StorageError::NotFound("strategy"));
    }
    strategy(db, id)
        .await?
        .ok_or(StorageError::NotFound("strategy"))
}

/// Whether any kill switch is engaged anywhere (one tiny read).
pub async fn any_kill_switch(db: &Db) -> Result<bool> {
    let n: Option<crate::sql::Scalar<i64>> = db
        .fetch_optional("SELECT COUNT(*) FROM kill_switches", args![])
        .await?;
    Ok(n.is_some_and(|s| s.0 > 0))
}
