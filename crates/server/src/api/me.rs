use axum::Json;
use axum::extract::State;
use serde::Serialize;

use atomik_domain::Limit;
use atomik_storage::plans;

use crate::AppState;
use crate::auth::Authed;
use crate::error::{ApiError, ErrorBody};
use crate::summary::{self, LimitUsage};

#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    pub id: String,
    pub email: String,
    pub plan: String,
    /// Status in force now: `trialing`, `active`, `past_due`, `suspended` or `canceled`.
    pub subscription_status: String,
    pub trial_ends_at_ms: Option<i64>,
    pub may_execute_trades: bool,
    /// Why trades may not execute, when they may not.
    pub execution_denied_reason: Option<String>,
    pub limits: Vec<LimitUsage>,
    pub two_factor_enabled: bool,
}

/// The calling user, their plan, limits and current usage.
#[utoipa::path(get, path = "/api/v1/me", tag = "account",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn me(State(state): State<AppState>, user: Authed) -> Result<Json<Me>, ApiError> {
    let summary = summary::load(&state, &user.user).await?;
    Ok(Json(Me {
        id: user.user.id.clone(),
        email: user.user.email.clone(),
        plan: summary.plan.id.0.clone(),
        subscription_status: summary.status.as_str().into(),
        trial_ends_at_ms: user.user.trial_ends_at,
        may_execute_trades: summary.execution.is_ok(),
        execution_denied_reason: summary.execution.as_ref().err().map(|e| e.to_string()),
        limits: summary.limit_usage(),
        two_factor_enabled: user.user.totp_enabled,
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PlanView {
    pub id: String,
    pub name: String,
    pub price_cents_per_month: u32,
    /// `null` = unlimited.
    pub broker_accounts: Option<u32>,
    pub active_webhooks: Option<u32>,
    pub active_strategies: Option<u32>,
    pub copy_groups: Option<u32>,
    pub followers_per_group: Option<u32>,
    pub trade_execution: bool,
}

fn finite(limit: Limit) -> Option<u32> {
    match limit {
        Limit::Finite(n) => Some(n),
        Limit::Unlimited => None,
    }
}

/// The plan catalog.
#[utoipa::path(get, path = "/api/v1/plans", tag = "account",
    responses((status = 200, body = Vec<PlanView>), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn plans(
    State(state): State<AppState>,
    _user: Authed,
) -> Result<Json<Vec<PlanView>>, ApiError> {
    let catalog = plans::catalog(state.db()).await?;
    Ok(Json(
        catalog
            .into_iter()
            .map(|p| PlanView {
                id: p.id.0,
                name: p.name,
                price_cents_per_month: p.price_cents_per_month,
                broker_accounts: finite(p.broker_accounts),
                active_webhooks: finite(p.active_webhooks),
                active_strategies: finite(p.active_strategies),
                copy_groups: finite(p.copy_groups),
                followers_per_group: finite(p.followers_per_group),
                trade_execution: p.trade_execution,
            })
            .collect(),
    ))
}
