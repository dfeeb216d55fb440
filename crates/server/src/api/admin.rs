//! Operator API: plans and subscription statuses. Only admin users (created
//! with `atomik user create --admin`) may call it.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};

use atomik_domain::SubscriptionStatus;
use atomik_storage::users;

use crate::AppState;
use crate::auth::Authed;
use crate::error::{ApiError, ErrorBody};

#[derive(Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub plan: String,
    pub subscription_status: String,
    pub trial_ends_at_ms: Option<i64>,
    pub is_admin: bool,
    pub created_at_ms: i64,
}

impl From<users::User> for UserView {
    fn from(u: users::User) -> Self {
        UserView {
            id: u.id,
            email: u.email,
            plan: u.plan_id,
            subscription_status: u.subscription_status.as_str().into(),
            trial_ends_at_ms: u.trial_ends_at,
            is_admin: u.is_admin,
            created_at_ms: u.created_at,
        }
    }
}

fn require_admin(user: &Authed) -> Result<(), ApiError> {
    if user.user.is_admin {
        Ok(())
    } else {
        Err(ApiError::forbidden("Operator access required."))
    }
}

/// Every user (operators only).
#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin",
    responses((status = 200, body = Vec<UserView>), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_users(
    State(state): State<AppState>,
    user: Authed,
) -> Result<Json<Vec<UserView>>, ApiError> {
    require_admin(&user)?;
    Ok(Json(
        users::list(state.db())
            .await?
            .into_iter()
            .map(UserView::from)
            .collect(),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct UpdateUser {
    /// `free`, `starter`, `trader` or `unlimited`.
    pub plan: Option<String>,
    /// `trialing`, `active`, `past_due`, `suspended` or `canceled`.
    pub subscription_status: Option<String>,
    /// End of the trial (Unix ms), for `trialing`.
    pub trial_ends_at_ms: Option<i64>,
}

/// Set a user's plan and/or subscription status (operators only).
#[utoipa::path(patch, path = "/api/v1/admin/users/{id}", tag = "admin", request_body = UpdateUser,
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = UserView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_user(
    State(state): State<AppState>,
    user: Authed,
    Path(id): Path<String>,
    body: Result<Json<UpdateUser>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<UserView>, ApiError> {
    require_admin(&user)?;
    let Json(body) =
        body.map_err(|e| ApiError::bad_request(format!("Invalid JSON body: {}", e.body_text())))?;
    let status = body
        .subscription_status
        .as_deref()
        .map(str::parse::<SubscriptionStatus>)
        .transpose()
        .map_err(ApiError::unprocessable)?;
    users::find(state.db(), &id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    if let Some(plan) = &body.plan {
        users::set_plan(state.db(), &id, plan).await?;
    }
    if let Some(status) = status {
        users::set_subscription_status(state.db(), &id, status, body.trial_ends_at_ms).await?;
        if !status.may_execute() {
            tracing::info!(user = %id, status = %status, "subscription no longer allows execution");
        }
    }
    let updated = users::find(state.db(), &id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    Ok(Json(updated.into()))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct GlobalKillSwitch {
    pub engaged: bool,
}

/// Engage or release the global kill switch: no order leaves for anyone.
#[utoipa::path(post, path = "/api/v1/admin/kill-switch", tag = "admin", request_body = GlobalKillSwitch,
    responses((status = 204), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn kill_switch(
    State(state): State<AppState>,
    user: Authed,
    body: Result<Json<GlobalKillSwitch>, axum::extract::rejection::JsonRejection>,
) -> Result<axum::http::StatusCode, ApiError> {
    require_admin(&user)?;
    let Json(body) =
        body.map_err(|e| ApiError::bad_request(format!("Invalid JSON body: {}", e.body_text())))?;
    atomik_storage::execution::set_kill_switch(state.db(), "global", body.engaged, state.now_ms())
        .await?;
    state.halt_hint().changed();
    tracing::warn!(engaged = body.engaged, operator = %user.user.email, "global kill switch changed");
    Ok(axum::http::StatusCode::NO_CONTENT)
}
