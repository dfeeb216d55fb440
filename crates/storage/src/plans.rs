//! The plan catalog, usage counters and the one atomic primitive that
//! reserves a slot under a plan limit.

use std::sync::LazyLock;

use atomik_domain::{Limit, Plan, PlanId, Resource};

use crate::sql::{Cols, FromRow, Scalar, Tx, args};
use crate::{Db, Result, StorageError};

pub(crate) const PLAN_COLUMNS: &str = "id, name, price_cents_per_month, broker_accounts, active_webhooks, \
     active_strategies, copy_groups, followers_per_group, trade_execution, webhook_rate_ceiling, \
     webhook_burst_ceiling";

impl FromRow for Plan {
    fn from_row(row: &impl Cols) -> Result<Self> {
        plan_from_prefixed(row, "")
    }
}

static CATALOG_SQL: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {PLAN_COLUMNS} FROM plans ORDER BY price_cents_per_month, id")
});

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
        webhook_rate_ceiling: atomik_domain::WebhookRate {
            per_second: clamp_u32(row.try_get(&col("webhook_rate_ceiling"))?),
            burst: clamp_u32(row.try_get(&col("webhook_burst_ceiling"))?),
        },
    })
}

fn clamp_u32(v: i64) -> u32 {
    v.clamp(0, u32::MAX.into()) as u32
}

/// Every plan, cheapest first.
pub async fn catalog(db: &Db) -> Result<Vec<Plan>> {
    db.fetch_all(CATALOG_SQL.as_str(), args![]).await
}

pub async fn find(db: &Db, id: &str) -> Result<Option<Plan>> {
    static SQL: LazyLock<String> =
        LazyLock::new(|| format!("SELECT {PLAN_COLUMNS} FROM plans WHERE id = $1"));
    db.fetch_optional(SQL.as_str(), args![id]).await
}

/// Trial length in days for a plan (0 = no trial).
pub async fn trial_days(db: &Db, id: &str) -> Result<i64> {
    Ok(db
        .fetch_optional::<Scalar<i64>>("SELECT trial_days FROM plans WHERE id = $1", args![id])
        .await?
        .map_or(0, |s| s.0))
}

/// Current usage of every limited resource for a user.
pub async fn usage(db: &Db, user_id: &str) -> Result<Vec<(Resource, u32)>> {
    let rows: Vec<(String, i64)> = db
        .fetch_all(
            "SELECT resource, used FROM usage_counters WHERE user_id = $1",
            args![user_id],
        )
        .await?;
    let mut out: Vec<(Resource, u32)> = Resource::ALL.iter().map(|r| (*r, 0)).collect();
    for (key, used) in rows {
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
/// after any concurrent writer commits; on SQLite every write runs on the one
/// writer thread. The slot is taken in the caller's transaction, so it
/// commits or rolls back together with the resource it pays for.
pub(crate) async fn reserve_slot(tx: &mut Tx<'_>, user_id: &str, resource: Resource) -> Result<()> {
    tx.execute(
        "INSERT INTO usage_counters (user_id, resource, used) VALUES ($1, $2, 0) \
         ON CONFLICT (user_id, resource) DO NOTHING",
        args![user_id, resource.key()],
    )
    .await?;
    let updated = tx
        .execute(reserve_sql(resource), args![user_id, resource.key()])
        .await?;
    if updated == 1 {
        return Ok(());
    }
    Err(StorageError::LimitReached(
        limit_reached(tx, user_id, resource).await?,
    ))
}

/// The conditional increment for `resource` (built once per resource).
fn reserve_sql(resource: Resource) -> &'static str {
    fn build(resource: Resource) -> String {
        let column = limit_column(resource);
        format!(
            "UPDATE usage_counters SET used = used + 1 \
             WHERE user_id = $1 AND resource = $2 AND EXISTS ( \
                 SELECT 1 FROM users u JOIN plans p ON p.id = u.plan_id \
                 WHERE u.id = $1 AND (p.{column} IS NULL OR usage_counters.used < p.{column}))"
        )
    }
    static SQL: LazyLock<[String; 4]> = LazyLock::new(|| {
        [
            build(Resource::BrokerAccounts),
            build(Resource::ActiveWebhooks),
            build(Resource::ActiveStrategies),
            build(Resource::CopyGroups),
        ]
    });
    let index = match resource {
        Resource::BrokerAccounts => 0,
        Resource::ActiveWebhooks => 1,
        Resource::ActiveStrategies => 2,
        Resource::CopyGroups => 3,
    };
    SQL[index].as_str()
}

/// Give back one slot of `resource` (never below zero).
pub(crate) async fn release_slot(tx: &mut Tx<'_>, user_id: &str, resource: Resource) -> Result<()> {
    release_slots(tx, user_id, resource, 1).await
}

/// Give back `n` slots of `resource` (never below zero).
pub(crate) async fn release_slots(
    tx: &mut Tx<'_>,
    user_id: &str,
    resource: Resource,
    n: i64,
) -> Result<()> {
    if n <= 0 {
        return Ok(());
    }
    tx.execute(
        "UPDATE usage_counters SET used = CASE WHEN used > $3 THEN used - $3 ELSE 0 END \
         WHERE user_id = $1 AND resource = $2",
        args![user_id, resource.key(), n],
    )
    .await?;
    Ok(())
}

/// [`reserve_slot`] in a transaction of its own (operators, tests).
pub async fn reserve(db: &Db, user_id: &str, resource: Resource) -> Result<()> {
    let user_id = user_id.to_string();
    db.batched(move |tx| Box::pin(async move { reserve_slot(tx, &user_id, resource).await }))
        .await
}

/// [`release_slot`] in a transaction of its own (operators, tests).
pub async fn release(db: &Db, user_id: &str, resource: Resource) -> Result<()> {
    let user_id = user_id.to_string();
    db.batched(move |tx| Box::pin(async move { release_slot(tx, &user_id, resource).await }))
        .await
}

async fn limit_reached(
    tx: &mut Tx<'_>,
    user_id: &str,
    resource: Resource,
) -> Result<atomik_domain::LimitReached> {
    let catalog: Vec<Plan> = tx.fetch_all(CATALOG_SQL.as_str(), args![]).await?;
    let plan_id = tx
        .fetch_optional::<Scalar<String>>("SELECT plan_id FROM users WHERE id = $1", args![user_id])
        .await?
        .ok_or(StorageError::NotFound("user"))?
        .0;
    let plan = catalog
        .iter()
        .find(|p| p.id.0 == plan_id)
        .ok_or(StorageError::NotFound("plan"))?;
    Ok(plan.limit_reached(resource, &catalog))
}
