//! Webhooks: create (under the plan's active-webhook limit), list, pause and
//! resume, delete, rotate the secret with an overlap, and the IP allow-list.
//! Secrets arrive here as keyed digests only.

use atomik_domain::Resource;

use crate::sql::{Cols, FromRow, args};
use crate::{Db, Result, StorageError, new_id, plans};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub description: String,
    /// The URL path component: `/api/v1/webhooks/{token}`.
    pub token: String,
    pub active: bool,
    /// Comma-separated IPs or CIDR ranges; empty = any source.
    pub allowed_ips: String,
    pub created_at: i64,
}

const COLUMNS: &str = "id, user_id, name, description, token, active, allowed_ips, created_at";

fn from_row(row: &impl crate::sql::Cols) -> Result<Webhook> {
    Ok(Webhook {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        token: row.try_get("token")?,
        active: row.try_get::<i64>("active")? != 0,
        allowed_ips: row.try_get("allowed_ips")?,
        created_at: row.try_get("created_at")?,
    })
}

pub struct NewWebhook<'a> {
    pub user_id: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub token: &'a str,
    pub secret_digest: &'a str,
}

/// Create an active webhook: the plan slot, the webhook and its secret digest
/// in one transaction.
pub async fn create(db: &Db, new: NewWebhook<'_>, now: i64) -> Result<Webhook> {
    let id = new_id();
    let mut tx = db.begin_write().await?;
    plans::reserve_slot(&mut tx, new.user_id, Resource::ActiveWebhooks).await?;
    sqlx::query(
        "INSERT INTO webhooks (id, user_id, name, description, token, active, created_at) VALUES ($1, $2, $3, $4, $5, 1, $6)",
    )
    .bind(&id)
    .bind(new.user_id)
    .bind(new.name)
    .bind(new.description)
    .bind(new.token)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO webhook_secrets (digest, webhook_id, created_at) VALUES ($1, $2, $3)")
        .bind(new.secret_digest)
        .bind(&id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    find(db, new.user_id, &id)
        .await?
        .ok_or(StorageError::NotFound("webhook"))
}

pub async fn list(db: &Db, user_id: &str) -> Result<Vec<Webhook>> {
    let sql = format!("SELECT {COLUMNS} FROM webhooks WHERE user_id = $1 ORDER BY created_at, id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(user_id)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

pub async fn find(db: &Db, user_id: &str, id: &str) -> Result<Option<Webhook>> {
    let sql = format!("SELECT {COLUMNS} FROM webhooks WHERE id = $1 AND user_id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(user_id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// What ingress needs to judge a delivery, in one round trip: the webhook,
/// whether `digest` is one of its live secrets, and its owner's
/// subscription and plan.
pub struct IngressView {
    pub webhook: Webhook,
    pub secret_ok: bool,
    /// The owner's subscription status, trial end and plan (`None` if the
    /// owner or the plan is gone).
    pub owner: Option<(
        atomik_domain::SubscriptionStatus,
        Option<i64>,
        atomik_domain::Plan,
    )>,
}

/// Built once: ingress runs it on every delivery.
static INGRESS_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let plan_columns = crate::sql::prefixed_columns("p", crate::plans::PLAN_COLUMNS, "p_");
    format!(
        "SELECT w.id, w.user_id, w.name, w.description, w.token, w.active, w.allowed_ips, w.created_at, \
         (SELECT COUNT(*) FROM webhook_secrets s WHERE s.digest = $2 AND s.webhook_id = w.id \
          AND (s.expires_at IS NULL OR s.expires_at > $3)) AS secret_ok, \
         u.subscription_status AS u_status, u.trial_ends_at AS u_trial_ends_at, {plan_columns} \
         FROM webhooks w LEFT JOIN users u ON u.id = w.user_id LEFT JOIN plans p ON p.id = u.plan_id \
         WHERE w.token = $1"
    )
});

pub async fn for_ingress(
    db: &Db,
    token: &str,
    digest: Option<&str>,
    now: i64,
) -> Result<Option<IngressView>> {
    let view: Option<IngressView> = db
        .fetch_optional(
            INGRESS_SQL.as_str(),
            args![token, digest.unwrap_or(""), now],
        )
        .await?;
    // No digest given: `secret_ok` compared against "" and must not count.
    Ok(view.map(|v| IngressView {
        secret_ok: v.secret_ok && digest.is_some(),
        ..v
    }))
}

impl FromRow for IngressView {
    fn from_row(row: &impl Cols) -> Result<Self> {
        let status: Option<String> = row.try_get("u_status")?;
        let plan: Option<String> = row.try_get("p_id")?;
        let owner = match (status, plan) {
            (Some(status), Some(_)) => Some((
                status.parse().map_err(StorageError::Invalid)?,
                row.try_get("u_trial_ends_at")?,
                crate::plans::plan_from_prefixed(row, "p_")?,
            )),
            _ => None,
        };
        Ok(IngressView {
            webhook: from_row(row)?,
            secret_ok: row.try_get::<i64>("secret_ok")? != 0,
            owner,
        })
    }
}

/// Pause (frees the active-webhook slot) or resume (takes one).
pub async fn set_active(db: &Db, user_id: &str, id: &str, active: bool) -> Result<Webhook> {
    let mut tx = db.begin_write().await?;
    let current: Option<i64> =
        sqlx::query_scalar("SELECT active FROM webhooks WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
    let current = current.ok_or(StorageError::NotFound("webhook"))? != 0;
    if current != active {
        if active {
            plans::reserve_slot(&mut tx, user_id, Resource::ActiveWebhooks).await?;
        } else {
            plans::release_slot(&mut tx, user_id, Resource::ActiveWebhooks).await?;
        }
        sqlx::query("UPDATE webhooks SET active = $3 WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .bind(active as i64)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    find(db, user_id, id)
        .await?
        .ok_or(StorageError::NotFound("webhook"))
}

/// Delete a webhook (its secrets go with it; its slot is freed if active).
pub async fn delete(db: &Db, user_id: &str, id: &str) -> Result<()> {
    let mut tx = db.begin_write().await?;
    let active: Option<i64> =
        sqlx::query_scalar("SELECT active FROM webhooks WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
    let active = active.ok_or(StorageError::NotFound("webhook"))? != 0;
    sqlx::query("DELETE FROM webhook_secrets WHERE webhook_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM webhooks WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    if active {
        plans::release_slot(&mut tx, user_id, Resource::ActiveWebhooks).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Rotate: the new secret is live at once; the current ones stay live until
/// `old_until` (the overlap), then stop working.
pub async fn rotate_secret(
    db: &Db,
    user_id: &str,
    id: &str,
    new_digest: &str,
    old_until: i64,
    now: i64,
) -> Result<()> {
    let mut tx = db.begin_write().await?;
    let owned: Option<String> =
        sqlx::query_scalar("SELECT id FROM webhooks WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
    owned.ok_or(StorageError::NotFound("webhook"))?;
    sqlx::query(
        "UPDATE webhook_secrets SET expires_at = $2 WHERE webhook_id = $1 AND (expires_at IS NULL OR expires_at > $2)",
    )
    .bind(id)
    .bind(old_until)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM webhook_secrets WHERE webhook_id = $1 AND expires_at IS NOT NULL AND expires_at <= $2")
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO webhook_secrets (digest, webhook_id, created_at) VALUES ($1, $2, $3)")
        .bind(new_digest)
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn set_allowed_ips(
    db: &Db,
    user_id: &str,
    id: &str,
    allowed_ips: &str,
) -> Result<Webhook> {
    let n = sqlx::query("UPDATE webhooks SET allowed_ips = $3 WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .bind(allowed_ips)
        .execute(db.pool())
        .await?
        .rows_affected();
    if n == 0 {
        return Err(StorageError::NotFound("webhook"));
    }
    find(db, user_id, id)
        .await?
        .ok_or(StorageError::NotFound("webhook"))
}
