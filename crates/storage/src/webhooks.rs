//! Webhooks: create (under the plan's active-webhook limit), list, pause and
//! resume, delete, rotate the secret with an overlap, and the IP allow-list.
//! Secrets arrive here as keyed digests only.

use atomik_domain::Resource;

use std::sync::LazyLock;

use crate::sql::{Cols, FromRow, Scalar, Tx, args};
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
    /// Its own rate limit (within the plan's ceiling); `None`: the default.
    pub rate: Option<atomik_domain::WebhookRate>,
}

const COLUMNS: &str = "id, user_id, name, description, token, active, allowed_ips, created_at, rate_per_second, rate_burst";

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
        rate: match (
            row.try_get::<Option<i64>>("rate_per_second")?,
            row.try_get::<Option<i64>>("rate_burst")?,
        ) {
            (Some(per_second), Some(burst)) => Some(atomik_domain::WebhookRate {
                per_second: per_second.clamp(1, u32::MAX.into()) as u32,
                burst: burst.clamp(1, u32::MAX.into()) as u32,
            }),
            _ => None,
        },
    })
}

pub struct NewWebhook<'a> {
    pub user_id: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub token: &'a str,
    pub secret_digest: &'a str,
}

impl FromRow for Webhook {
    fn from_row(row: &impl Cols) -> Result<Self> {
        from_row(row)
    }
}

/// Create an active webhook: the plan slot, the webhook and its secret digest
/// in one transaction.
pub async fn create(db: &Db, new: NewWebhook<'_>, now: i64) -> Result<Webhook> {
    let id = new_id();
    let user_id = new.user_id.to_string();
    let row = args![&id, new.user_id, new.name, new.description, new.token, now];
    let secret = args![new.secret_digest, &id, now];
    db.batched(move |tx| {
        Box::pin(async move {
            plans::reserve_slot(tx, &user_id, Resource::ActiveWebhooks).await?;
            tx.execute(
                "INSERT INTO webhooks (id, user_id, name, description, token, active, created_at) \
                 VALUES ($1, $2, $3, $4, $5, 1, $6)",
                row,
            )
            .await?;
            tx.execute(
                "INSERT INTO webhook_secrets (digest, webhook_id, created_at) VALUES ($1, $2, $3)",
                secret,
            )
            .await?;
            Ok(())
        })
    })
    .await?;
    find(db, new.user_id, &id)
        .await?
        .ok_or(StorageError::NotFound("webhook"))
}

pub async fn list(db: &Db, user_id: &str) -> Result<Vec<Webhook>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!("SELECT {COLUMNS} FROM webhooks WHERE user_id = $1 ORDER BY created_at, id")
    });
    db.fetch_all(SQL.as_str(), args![user_id]).await
}

pub async fn find(db: &Db, user_id: &str, id: &str) -> Result<Option<Webhook>> {
    static SQL: LazyLock<String> =
        LazyLock::new(|| format!("SELECT {COLUMNS} FROM webhooks WHERE id = $1 AND user_id = $2"));
    db.fetch_optional(SQL.as_str(), args![id, user_id]).await
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
        "SELECT w.id, w.user_id, w.name, w.description, w.token, w.active, w.allowed_ips, w.created_at, w.rate_per_second, w.rate_burst, \
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

/// Whether the user's webhook `id` is active (`NotFound` if not theirs).
async fn is_active(tx: &mut Tx<'_>, user_id: &str, id: &str) -> Result<bool> {
    let active = tx
        .fetch_optional::<Scalar<i64>>(
            "SELECT active FROM webhooks WHERE id = $1 AND user_id = $2",
            args![id, user_id],
        )
        .await?
        .ok_or(StorageError::NotFound("webhook"))?;
    Ok(active.0 != 0)
}

/// Pause (frees the active-webhook slot) or resume (takes one).
pub async fn set_active(db: &Db, user_id: &str, id: &str, active: bool) -> Result<Webhook> {
    let (owner, webhook) = (user_id.to_string(), id.to_string());
    db.batched(move |tx| {
        Box::pin(async move {
            if is_active(tx, &owner, &webhook).await? != active {
                if active {
                    plans::reserve_slot(tx, &owner, Resource::ActiveWebhooks).await?;
                } else {
                    plans::release_slot(tx, &owner, Resource::ActiveWebhooks).await?;
                }
                tx.execute(
                    "UPDATE webhooks SET active = $3 WHERE id = $1 AND user_id = $2",
                    args![&webhook, &owner, active],
                )
                .await?;
            }
            Ok(())
        })
    })
    .await?;
    find(db, user_id, id)
        .await?
        .ok_or(StorageError::NotFound("webhook"))
}

/// Delete a webhook (its secrets and strategies go with it; its slot and
/// its active strategies' slots are freed).
pub async fn delete(db: &Db, user_id: &str, id: &str) -> Result<()> {
    let (owner, webhook) = (user_id.to_string(), id.to_string());
    db.batched(move |tx| {
        Box::pin(async move {
            let active = is_active(tx, &owner, &webhook).await?;
            // Its signals' intents go with it: never while an order may be
            // in flight (its outcome would be lost).
            static IN_FLIGHT: LazyLock<String> = LazyLock::new(|| {
                format!(
                    "SELECT COUNT(*) FROM order_intents i JOIN signals g ON g.id = i.signal_id \
                     WHERE g.webhook_id = $1 AND i.status IN ({})",
                    atomik_domain::lifecycle::IntentStatus::OPEN_SQL
                )
            });
            let open = tx
                .fetch_optional::<Scalar<i64>>(IN_FLIGHT.as_str(), args![&webhook])
                .await?
                .map_or(0, |s| s.0);
            if open > 0 {
                return Err(StorageError::Invalid(format!(
                    "this webhook's signals still have {open} order(s) in flight; pause the webhook, \
                     and delete it once they have settled (the Logs tab shows them)"
                )));
            }
            // Its strategies go with it (ON DELETE CASCADE): free their slots.
            let strategies = tx
                .fetch_optional::<Scalar<i64>>(
                    "SELECT COUNT(*) FROM strategies WHERE webhook_id = $1 AND active = 1",
                    args![&webhook],
                )
                .await?
                .map_or(0, |s| s.0);
            plans::release_slots(tx, &owner, Resource::ActiveStrategies, strategies).await?;
            tx.execute(
                "DELETE FROM webhook_secrets WHERE webhook_id = $1",
                args![&webhook],
            )
            .await?;
            tx.execute(
                "DELETE FROM webhooks WHERE id = $1 AND user_id = $2",
                args![&webhook, &owner],
            )
            .await?;
            if active {
                plans::release_slot(tx, &owner, Resource::ActiveWebhooks).await?;
            }
            Ok(())
        })
    })
    .await
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
    let (owner, webhook, digest) = (user_id.to_string(), id.to_string(), new_digest.to_string());
    db.batched(move |tx| {
        Box::pin(async move {
            is_active(tx, &owner, &webhook).await?;
            tx.execute(
                "UPDATE webhook_secrets SET expires_at = $2 WHERE webhook_id = $1 \
                 AND (expires_at IS NULL OR expires_at > $2)",
                args![&webhook, old_until],
            )
            .await?;
            tx.execute(
                "DELETE FROM webhook_secrets WHERE webhook_id = $1 AND expires_at IS NOT NULL \
                 AND expires_at <= $2",
                args![&webhook, now],
            )
            .await?;
            tx.execute(
                "INSERT INTO webhook_secrets (digest, webhook_id, created_at) VALUES ($1, $2, $3)",
                args![digest, &webhook, now],
            )
            .await?;
            Ok(())
        })
    })
    .await
}

pub async fn set_allowed_ips(
    db: &Db,
    user_id: &str,
    id: &str,
    allowed_ips: &str,
) -> Result<Webhook> {
    let n = db
        .write(
            "UPDATE webhooks SET allowed_ips = $3 WHERE id = $1 AND user_id = $2",
            args![id, user_id, allowed_ips],
        )
        .await?;
    if n == 0 {
        return Err(StorageError::NotFound("webhook"));
    }
    find(db, user_id, id)
        .await?
        .ok_or(StorageError::NotFound("webhook"))
}

/// Set the webhook's own rate limit (`None`: back to the default). The
/// caller checks it against the plan's ceiling.
pub async fn set_rate(
    db: &Db,
    user_id: &str,
    id: &str,
    rate: Option<atomik_domain::WebhookRate>,
) -> Result<Webhook> {
    let (per_second, burst) = match rate {
        Some(r) => (Some(i64::from(r.per_second)), Some(i64::from(r.burst))),
        None => (None, None),
    };
    let n = db
        .write(
            "UPDATE webhooks SET rate_per_second = $3, rate_burst = $4 WHERE id = $1 AND user_id = $2",
            args![id, user_id, per_second, burst],
        )
        .await?;
    if n == 0 {
        return Err(StorageError::NotFound("webhook"));
    }
    find(db, user_id, id)
        .await?
        .ok_or(StorageError::NotFound("webhook"))
}

/// Names of the strategies deleted with webhook `id` (for the confirmation).
pub async fn strategies_of(db: &Db, user_id: &str, id: &str) -> Result<Vec<String>> {
    let rows: Vec<Scalar<String>> = db
        .fetch_all(
            "SELECT name FROM strategies WHERE webhook_id = $1 AND user_id = $2 ORDER BY name",
            args![id, user_id],
        )
        .await?;
    Ok(rows.into_iter().map(|s| s.0).collect())
}
