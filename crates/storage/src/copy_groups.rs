//! Copy-trading groups: create (plan limit on groups), add followers (plan
//! limit on followers per group, atomic), list.

use atomik_domain::{Limit, Resource};

use crate::sql::{Scalar, Tx, args};
use crate::{Backend, Db, Result, StorageError, new_id, plans};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyGroup {
    pub id: String,
    pub name: String,
    pub leader_account_id: String,
    /// (account id, multiplier, active)
    pub followers: Vec<(String, String, bool)>,
}

async fn owns_account(tx: &mut Tx<'_>, user_id: &str, account_id: &str) -> Result<bool> {
    let n = tx
        .fetch_optional::<Scalar<i64>>(
            "SELECT COUNT(*) FROM broker_accounts WHERE id = $1 AND user_id = $2",
            args![account_id, user_id],
        )
        .await?
        .map_or(0, |s| s.0);
    Ok(n == 1)
}

pub async fn create(
    db: &Db,
    user_id: &str,
    name: &str,
    leader_account_id: &str,
    now: i64,
) -> Result<String> {
    let id = new_id();
    let (owner, leader) = (user_id.to_string(), leader_account_id.to_string());
    let row = args![&id, user_id, name, leader_account_id, now];
    db.batched(move |tx| {
        Box::pin(async move {
            if !owns_account(tx, &owner, &leader).await? {
                return Err(StorageError::Invalid(
                    "the leader must be one of your broker accounts".into(),
                ));
            }
            plans::reserve_slot(tx, &owner, Resource::CopyGroups).await?;
            tx.execute(
                "INSERT INTO copy_groups (id, user_id, name, leader_account_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
                row,
            )
            .await?;
            Ok(())
        })
    })
    .await?;
    Ok(id)
}

/// Add a follower under the plan's followers-per-group limit (atomic: the
/// group row is locked on PostgreSQL; on SQLite every write runs on the one
/// writer thread).
pub async fn add_follower(
    db: &Db,
    user_id: &str,
    group_id: &str,
    account_id: &str,
    multiplier: &str,
) -> Result<()> {
    let lock = if db.backend() == Backend::Postgres {
        "SELECT leader_account_id FROM copy_groups WHERE id = $1 AND user_id = $2 FOR UPDATE"
    } else {
        "SELECT leader_account_id FROM copy_groups WHERE id = $1 AND user_id = $2"
    };
    let (owner, group, account, multiplier) = (
        user_id.to_string(),
        group_id.to_string(),
        account_id.to_string(),
        multiplier.to_string(),
    );
    db.batched(move |tx| {
        Box::pin(async move {
            let leader = tx
                .fetch_optional::<Scalar<String>>(lock, args![&group, &owner])
                .await?
                .ok_or(StorageError::NotFound("copy group"))?
                .0;
            if leader == account || !owns_account(tx, &owner, &account).await? {
                return Err(StorageError::Invalid(
                    "a follower must be another of your broker accounts".into(),
                ));
            }
            let (plan_id, limit): (String, Option<i64>) = tx
                .fetch_optional(
                    "SELECT p.id, p.followers_per_group FROM users u JOIN plans p ON p.id = u.plan_id \
                     WHERE u.id = $1",
                    args![&owner],
                )
                .await?
                .ok_or(StorageError::NotFound("user"))?;
            let count = tx
                .fetch_optional::<Scalar<i64>>(
                    "SELECT COUNT(*) FROM copy_group_members WHERE group_id = $1 AND active = 1",
                    args![&group],
                )
                .await?
                .map_or(0, |s| s.0);
            if !Limit::from_db(limit).allows(count.max(0) as u32) {
                return Err(StorageError::Invalid(format!(
                    "Followers per group limit reached: the {plan_id} plan allows {} followers per copy-trading group.",
                    Limit::from_db(limit)
                )));
            }
            tx.execute(
                "INSERT INTO copy_group_members (group_id, account_id, multiplier, active) \
                 VALUES ($1, $2, $3, 1) \
                 ON CONFLICT (group_id, account_id) DO UPDATE SET multiplier = $3, active = 1",
                args![&group, &account, multiplier],
            )
            .await?;
            Ok(())
        })
    })
    .await
}

pub async fn list(db: &Db, user_id: &str) -> Result<Vec<CopyGroup>> {
    let groups: Vec<(String, String, String)> = db
        .fetch_all(
            "SELECT id, name, leader_account_id FROM copy_groups WHERE user_id = $1 \
             ORDER BY created_at, id",
            args![user_id],
        )
        .await?;
    let mut out = Vec::with_capacity(groups.len());
    for (id, name, leader_account_id) in groups {
        let followers: Vec<(String, String, i64)> = db
            .fetch_all(
                "SELECT account_id, multiplier, active FROM copy_group_members WHERE group_id = $1 \
                 ORDER BY account_id",
                args![&id],
            )
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

/// Remove `account_id` from the user's group (it no longer copies the
/// leader; its strategies stay as they are).
pub async fn remove_follower(
    db: &Db,
    user_id: &str,
    group_id: &str,
    account_id: &str,
) -> Result<()> {
    let removed = db
        .write(
            "DELETE FROM copy_group_members WHERE group_id = $1 AND account_id = $2 \
             AND group_id IN (SELECT id FROM copy_groups WHERE user_id = $3)",
            args![group_id, account_id, user_id],
        )
        .await?;
    if removed == 0 {
        return Err(StorageError::NotFound("follower in this copy group"));
    }
    Ok(())
}

/// Delete the user's group and its memberships, freeing its plan slot.
/// Intents already planned for followers stay and finish as they would.
pub async fn delete(db: &Db, user_id: &str, group_id: &str) -> Result<()> {
    let (owner, group) = (user_id.to_string(), group_id.to_string());
    db.batched(move |tx| {
        Box::pin(async move {
            let deleted = tx
                .execute(
                    "DELETE FROM copy_groups WHERE id = $1 AND user_id = $2",
                    args![&group, &owner],
                )
                .await?;
            if deleted == 0 {
                return Err(StorageError::NotFound("copy group"));
            }
            tx.execute(
                "DELETE FROM copy_group_members WHERE group_id = $1",
                args![&group],
            )
            .await?;
            plans::release_slot(tx, &owner, Resource::CopyGroups).await?;
            Ok(())
        })
    })
    .await
}

/// What the last signal copied to `account_id` did: (status, reason).
pub async fn last_copied(db: &Db, account_id: &str) -> Result<Option<(String, Option<String>)>> {
    db.fetch_optional(
        "SELECT status, reason FROM order_intents WHERE account_id = $1 \
         AND leader_intent_id IS NOT NULL ORDER BY created_at DESC LIMIT 1",
        args![account_id],
    )
    .await
}
