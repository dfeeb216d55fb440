//! Copy-trading groups: create (plan limit on groups), add followers (plan
//! limit on followers per group, atomic), list.

use atomik_domain::{Limit, Resource};

use crate::{Backend, Db, Result, StorageError, new_id, plans};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyGroup {
    pub id: String,
    pub name: String,
    pub leader_account_id: String,
    /// (account id, multiplier, active)
    pub followers: Vec<(String, String, bool)>,
}

async fn owns_account(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    user_id: &str,
    account_id: &str,
) -> Result<bool> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM broker_accounts WHERE id = $1 AND user_id = $2")
            .bind(account_id)
            .bind(user_id)
            .fetch_one(&mut **tx)
            .await?;
    Ok(n == 1)
}

pub async fn create(
    db: &Db,
    user_id: &str,
    name: &str,
    leader_account_id: &str,
    now: i64,
) -> Result<String> {
    let mut tx = db.begin_write().await?;
    if !owns_account(&mut tx, user_id, leader_account_id).await? {
        return Err(StorageError::Invalid(
            "the leader must be one of your broker accounts".into(),
        ));
    }
    plans::reserve_slot(&mut tx, user_id, Resource::CopyGroups).await?;
    let id = new_id();
    sqlx::query("INSERT INTO copy_groups (id, user_id, name, leader_account_id, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&id)
        .bind(user_id)
        .bind(name)
        .bind(leader_account_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(id)
}

/// Add a follower under the plan's followers-per-group limit (atomic: the
/// group row is locked on PostgreSQL; SQLite serializes writers).
pub async fn add_follower(
    db: &Db,
    user_id: &str,
    group_id: &str,
    account_id: &str,
    multiplier: &str,
) -> Result<()> {
    let mut tx = db.begin_write().await?;
    let lock = if db.backend() == Backend::Postgres {
        "SELECT leader_account_id FROM copy_groups WHERE id = $1 AND user_id = $2 FOR UPDATE"
    } else {
        "SELECT leader_account_id FROM copy_groups WHERE id = $1 AND user_id = $2"
    };
    let leader: Option<String> = sqlx::query_scalar(lock)
        .bind(group_id)
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
    let leader = leader.ok_or(StorageError::NotFound("copy group"))?;
    if leader == account_id || !owns_account(&mut tx, user_id, account_id).await? {
        return Err(StorageError::Invalid(
            "a follower must be another of your broker accounts".into(),
        ));
    }
    let limit: Option<i64> = sqlx::query_scalar(
        "SELECT p.followers_per_group FROM users u JOIN plans p ON p.id = u.plan_id WHERE u.id = $1",
    )
    .bind(user_id)
    .fetch_one(&mut *tx)
    .await?;
    let count: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM copy_group_members WHERE group_id = $1 AND active = 1",
    )
    .bind(group_id)
    .fetch_one(&mut *tx)
    .await?;
    if !Limit::from_db(limit).allows(count.max(0) as u32) {
        let plan_id: String = sqlx::query_scalar("SELECT plan_id FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
        return Err(StorageError::Invalid(format!(
            "Followers per group limit reached: the {plan_id} plan allows {} followers per copy-trading group.",
            Limit::from_db(limit)
        )));
    }
    sqlx::query(
        "INSERT INTO copy_group_members (group_id, account_id, multiplier, active) VALUES ($1, $2, $3, 1) \
         ON CONFLICT (group_id, account_id) DO UPDATE SET multiplier = $3, active = 1",
    )
    .bind(group_id)
    .bind(account_id)
    .bind(multiplier)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn list(db: &Db, user_id: &str) -> Result<Vec<CopyGroup>> {
    let groups: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT id, name, leader_account_id FROM copy_groups WHERE user_id = $1 ORDER BY created_at, id",
    )
    .bind(user_id)
    .fetch_all(db.pool())
    .await?;
    let mut out = Vec::with_capacity(groups.len());
    for (id, name, leader_account_id) in groups {
        let followers: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT account_id, multiplier, active FROM copy_group_members WHERE group_id = $1 ORDER BY account_id",
        )
        .bind(&id)
        .fetch_all(db.pool())
        .await?;
        out.push(CopyGroup {
            id,
            name,
            leader_account_id,
            followers: followers
                .into_iter()
                .map(|(a, m, act)| (a, m, act != 0))
                .collect(),
        });
    }
    Ok(out)
}
