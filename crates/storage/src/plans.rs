//! The plan catalog, usage counters and the one atomic primitive that
//! reserves a slot under a plan limit.

use atomik_domain::{Limit, Plan, PlanId, Resource};
use sqlx::{Any, Row, Transaction};

use crate::{Db, Result, StorageError};

pub(crate) const PLAN_COLUMNS: &str = "id, name, price_cents_per_month, broker_accounts, active_webhooks, \
     active_strategies, copy_groups, followers_per_group, trade_execution";

pub(crate) fn plan_from_row(row: &sqlx::any::AnyRow) -> Result<Plan> {
    plan_from_prefixed(row, "")
}

/// A plan from columns named `{prefix}{column}` (joined queries).
pub(crate) fn plan_from_prefixed(row: &impl crate::sql::Cols, prefix: &str) -> Result<Plan> {
    let col = |c: &str| format!("{prefix}{c}");
    Ok(Plan {
        id: PlanId(row.try_get(&col("id"))?),
        name: row.try_get(&col("name"))?,
        price_cents_per_month: row.try_get::<i64>(&col("price_cents_per_month"))?.max(0) as u32,
        broker_accounts: Limit::from_db(row.try_get(&col("broker_accounts"))?),
        active_webhooks: Limit::from_db(row.try_get(&col("active_webhooks"))?),
        active_strategies: Limit::from_db(row.try_get(&col("active_strategies"))?),
        copy_groups: Limit::from_db(row.try_get(&col("copy_groups"))?),
        followers_per_group: Limit::from_db(row.try_get(&col("followers_per_group"))?),
        trade_execution: row.try_get::<i64>(&col("trade_execution"))? != 0,
    })
}

/// Every plan, cheapest first.
pub async fn catalog(db: &Db) -> Result<Vec<Plan>> {
    let sql = format!("SELECT {PLAN_COLUMNS} FROM plans ORDER BY price_cents_per_month, id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(plan_from_row).collect()
}

pub async fn find(db: &Db, id: &str) -> Result<Option<Plan>> {
    let sql = format!("SELECT {PLAN_COLUMNS} FROM plans WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(plan_from_row).transpose()
}

/// Trial length in days for a plan (0 = no trial).
pub async fn trial_days(db: &Db, id: &str) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT trial_days FROM plans WHERE id = $1")
            .bind(id)
            .fetch_optional(db.pool())
            .await?
            .unwrap_or(0),
    )
}

/// Current usage of every limited resource for a user.
pub async fn usage(db: &Db, user_id: &str) -> Result<Vec<(Resource, u32)>> {
    let rows = sqlx::query("SELECT resource, used FROM usage_counters WHERE user_id = $1")
        .bind(user_id)
        .fetch_all(db.pool())
        .await?;
    let mut out: Vec<(Resource, u32)> = Resource::ALL.iter().map(|r| (*r, 0)).collect();
    for row in rows {
        let key: String = row.try_get("resource")?;
        let used: i64 = row.try_get("used")?;
        if let Some(slot) = out.iter_mut().find(|(r, _)| r.key() == key) {
            slot.1 = used.max(0) as u32;
        }
    }
    Ok(out)
}

/// The plan column that holds the limit for `resource`.
fn limit_column(resource: Resource) -> &'static str {
    match resource {
        Resource::BrokerAccounts => "broker_accounts",
        Resource::ActiveWebhooks => "active_webhooks",
        Resource::ActiveStrategies => "active_strategies",
        Resource::CopyGroups => "copy_groups",
    }
}

/// Take one slot of `resource` for `user_id` inside `tx`, or fail with
/// [`StorageError::LimitReached`] when the user's plan is at its limit.
///
/// Atomic on both backends: the check and the increment are one conditional
/// `UPDATE`. PostgreSQL row-locks the counter and re-evaluates the condition
/// after any concurrent writer commits; SQLite serializes writers. The slot is
/// taken in the caller's transaction, so it commits or rolls back together
/// with the resource it pays for.
pub async fn reserve_slot(
    tx: &mut Transaction<'static, Any>,
    user_id: &str,
    resource: Resource,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO usage_counters (user_id, resource, used) VALUES ($1, $2, 0) \
         ON CONFLICT (user_id, resource) DO NOTHING",
    )
    .bind(user_id)
    .bind(resource.key())
    .execute(&mut **tx)
    .await?;
    let column = limit_column(resource);
    let sql = format!(
        "UPDATE usage_counters SET used = used + 1 \
         WHERE user_id = $1 AND resource = $2 AND EXISTS ( \
             SELECT 1 FROM users u JOIN plans p ON p.id = u.plan_id \
             WHERE u.id = $1 AND (p.{column} IS NULL OR usage_counters.used < p.{column}))"
    );
    let updated = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(user_id)
        .bind(resource.key())
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if updated == 1 {
        return Ok(());
    }
    Err(StorageError::LimitReached(
        limit_reached(tx, user_id, resource).await?,
    ))
}

/// Give back one slot of `resource` (never below zero).
pub async fn release_slot(
    tx: &mut Transaction<'static, Any>,
    user_id: &str,
    resource: Resource,
) -> Result<()> {
    sqlx::query("UPDATE usage_counters SET used = used - 1 WHERE user_id = $1 AND resource = $2 AND used > 0")
        .bind(user_id)
        .bind(resource.key())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn limit_reached(
    tx: &mut Transaction<'static, Any>,
    user_id: &str,
    resource: Resource,
) -> Result<atomik_domain::LimitReached> {
    let sql = format!("SELECT {PLAN_COLUMNS} FROM plans ORDER BY price_cents_per_month, id");
    let catalog = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(plan_from_row)
        .collect::<Result<Vec<_>>>()?;
    let plan_id: String = sqlx::query_scalar("SELECT plan_id FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StorageError::NotFound("user"))?;
    let plan = catalog
        .iter()
        .find(|p| p.id.0 == plan_id)
        .ok_or(StorageError::NotFound("plan"))?;
    Ok(plan.limit_reached(resource, &catalog))
}
