//! `/api/v1/copy-groups`: a leader account and followers with multipliers.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use atomik_storage::copy_groups;

use crate::AppState;
use crate::auth::Authed;
use crate::error::{ApiError, ErrorBody};

#[derive(Serialize, utoipa::ToSchema)]
pub struct FollowerView {
    pub account_id: String,
    /// The strategy quantity is multiplied by this for the follower.
    pub multiplier: String,
    pub active: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CopyGroupView {
    pub id: String,
    pub name: String,
    pub leader_account_id: String,
    pub followers: Vec<FollowerView>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateCopyGroup {
    pub name: String,
    pub leader_account_id: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AddFollower {
    pub account_id: String,
    /// Default 1.
    pub multiplier: Option<String>,
}

fn json<T>(b: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    b.map(|Json(v)| v)
        .map_err(|e| ApiError::bad_request(format!("Invalid JSON body: {}", e.body_text())))
}

/// The caller's copy-trading groups.
#[utoipa::path(get, path = "/api/v1/copy-groups", tag = "copy trading",
    responses((status = 200, body = Vec<CopyGroupView>)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    user: Authed,
) -> Result<Json<Vec<CopyGroupView>>, ApiError> {
    let groups = copy_groups::list(state.db(), &user.user.id).await?;
    Ok(Json(
        groups
            .into_iter()
            .map(|g| CopyGroupView {
                id: g.id,
                name: g.name,
                leader_account_id: g.leader_account_id,
                followers: g
                    .followers
                    .into_iter()
                    .map(|(account_id, multiplier, active)| FollowerView {
                        account_id,
                        multiplier,
                        active,
                    })
                    .collect(),
            })
            .collect(),
    ))
}

/// Create a group led by one of the caller's accounts (plan limit on groups).
#[utoipa::path(post, path = "/api/v1/copy-groups", tag = "copy trading", request_body = CreateCopyGroup,
    responses((status = 201), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    user: Authed,
    b: Result<Json<CreateCopyGroup>, JsonRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let b = json(b)?;
    let id = create_group(&state, &user.user.id, &b.name, &b.leader_account_id).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({"id": id}))))
}

/// Validate and create a group (shared with the dashboard).
pub async fn create_group(
    state: &AppState,
    user_id: &str,
    name: &str,
    leader_account_id: &str,
) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::unprocessable(
            "Group name must be 1–100 characters.",
        ));
    }
    Ok(copy_groups::create(state.db(), user_id, name, leader_account_id, state.now_ms()).await?)
}

/// Add (or re-activate) a follower (plan limit on followers per group).
#[utoipa::path(post, path = "/api/v1/copy-groups/{id}/followers", tag = "copy trading", request_body = AddFollower,
    params(("id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn add_follower(
    State(state): State<AppState>,
    user: Authed,
    Path(id): Path<String>,
    b: Result<Json<AddFollower>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let b = json(b)?;
    add_checked(
        &state,
        &user.user.id,
        &id,
        &b.account_id,
        b.multiplier.as_deref(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Validate and add a follower (shared with the dashboard): the multiplier
/// in range, the follower's broker able to trade what the leader trades.
pub async fn add_checked(
    state: &AppState,
    user_id: &str,
    group_id: &str,
    account_id: &str,
    multiplier: Option<&str>,
) -> Result<(), ApiError> {
    let multiplier = multiplier
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .unwrap_or("1");
    match multiplier.parse::<Decimal>() {
        Ok(m) if m > Decimal::ZERO && m <= Decimal::from(100) => {}
        _ => {
            return Err(ApiError::unprocessable(format!(
                "multiplier must be a number in (0, 100], got {multiplier:?}"
            )));
        }
    }
    follower_can_trade(state, user_id, group_id, account_id).await?;
    copy_groups::add_follower(state.db(), user_id, group_id, account_id, multiplier).await?;
    Ok(())
}

/// Delete a group: its followers stop copying its leader (their own
/// strategies stay); the plan slot is freed.
#[utoipa::path(delete, path = "/api/v1/copy-groups/{id}", tag = "copy trading",
    params(("id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    user: Authed,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    copy_groups::delete(state.db(), &user.user.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a follower from a group.
#[utoipa::path(delete, path = "/api/v1/copy-groups/{id}/followers/{account_id}", tag = "copy trading",
    params(("id" = String, Path), ("account_id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn remove_follower(
    State(state): State<AppState>,
    user: Authed,
    Path((id, account_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    copy_groups::remove_follower(state.db(), &user.user.id, &id, &account_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A follower's broker must be able to trade what the leader's active
/// strategies trade: checked with the follower's broker now, not when the
/// first signal fails on it.
async fn follower_can_trade(
    state: &AppState,
    user_id: &str,
    group_id: &str,
    follower: &str,
) -> Result<(), ApiError> {
    let groups = copy_groups::list(state.db(), user_id).await?;
    let group = groups
        .iter()
        .find(|g| g.id == group_id)
        .ok_or_else(|| ApiError::not_found("copy group"))?;
    let strategies = atomik_storage::execution::strategies(state.db(), user_id).await?;
    let leader_trades = strategies
        .iter()
        .filter(|s| s.active && s.broker_account_id == group.leader_account_id);
    for strategy in leader_trades {
        if let Err(e) =
            crate::api::strategies::check_instrument(state, user_id, follower, &strategy.instrument)
                .await
        {
            let mut e = e;
            e.message = format!(
                "This follower cannot copy the leader's strategy {} ({}): {}",
                strategy.name, strategy.instrument, e.message
            );
            return Err(e);
        }
    }
    Ok(())
}
