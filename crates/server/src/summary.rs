//! What a user's plan allows and uses: shared by the dashboard and the API.

use atomik_domain::{
    ExecutionDenied, Limit, Plan, Resource, SubscriptionStatus, effective_status, may_execute,
};
use atomik_storage::users::User;
use atomik_storage::{StorageError, plans};
use serde::Serialize;

use crate::AppState;

pub struct AccountSummary {
    pub plan: Plan,
    /// The status in force now (an ended trial counts as suspended).
    pub status: SubscriptionStatus,
    pub usage: Vec<(Resource, u32)>,
    pub execution: Result<(), ExecutionDenied>,
}

pub async fn load(state: &AppState, user: &User) -> Result<AccountSummary, StorageError> {
    let plan = plans::find(state.db(), &user.plan_id)
        .await?
        .ok_or(StorageError::NotFound("plan"))?;
    let status = effective_status(user.subscription_status, user.trial_ends_at, state.now_ms());
    let usage = plans::usage(state.db(), &user.id).await?;
    let execution = may_execute(&plan, status);
    Ok(AccountSummary {
        plan,
        status,
        usage,
        execution,
    })
}

/// One limit as the API reports it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LimitUsage {
    /// `broker_accounts`, `active_webhooks`, `active_strategies` or `copy_groups`.
    pub resource: String,
    pub used: u32,
    /// `null` means unlimited.
    pub limit: Option<u32>,
}

impl AccountSummary {
    /// How many of `resource` the user has now.
    pub fn used(&self, resource: Resource) -> u32 {
        self.usage
            .iter()
            .find(|(r, _)| *r == resource)
            .map_or(0, |(_, n)| *n)
    }

    /// The refusal one more `resource` would get now, if the plan is full.
    pub fn full(
        &self,
        resource: Resource,
        catalog: &[Plan],
    ) -> Option<atomik_domain::LimitReached> {
        let used = self.used(resource);
        (!self.plan.limit(resource).allows(used))
            .then(|| self.plan.limit_reached(resource, catalog))
    }

    pub fn limit_usage(&self) -> Vec<LimitUsage> {
        self.usage
            .iter()
            .map(|(resource, used)| LimitUsage {
                resource: resource.key().to_string(),
                used: *used,
                limit: match self.plan.limit(*resource) {
                    Limit::Finite(n) => Some(n),
                    Limit::Unlimited => None,
                },
            })
            .collect()
    }
}

pub fn format_price(cents: u32) -> String {
    if cents == 0 {
        "free".into()
    } else {
        format!("${}/month", cents / 100)
    }
}

/// Milliseconds since the epoch as `YYYY-MM-DD HH:MM UTC`.
pub fn format_time(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .map(|t| {
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02} UTC",
                t.year(),
                t.month() as u8,
                t.day(),
                t.hour(),
                t.minute()
            )
        })
        .unwrap_or_else(|_| "—".into())
}

/// Milliseconds since the epoch as RFC 3339 (`2026-11-24T03:55:00.123Z`).
pub fn format_rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
