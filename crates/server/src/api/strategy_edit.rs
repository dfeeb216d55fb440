//! `PUT /api/v1/strategies/{id}` (edit) and `DELETE /api/v1/strategies/{id}`:
//! the REST twins of the dashboard's Edit and Delete.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;

use atomik_domain::risk::RawRules;
use atomik_storage::execution::{self, Strategy};

use super::strategies::{StrategyView, validated};
use crate::AppState;
use crate::auth::Authed;
use crate::error::{ApiError, ErrorBody};

/// A strategy's editable fields: everything but its webhook and account
/// (linking others is a new strategy). Absent optional rules are cleared.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateStrategy {
    pub name: String,
    pub instrument: String,
    pub quantity: String,
    #[serde(default)]
    pub quantity_source: Option<String>,
    #[serde(default)]
    pub max_per_signal: Option<String>,
    #[serde(default)]
    pub quantity_unit: Option<String>,
    #[serde(default)]
    pub max_position: Option<String>,
    #[serde(default)]
    pub trading_hours: Option<String>,
    #[serde(default)]
    pub max_order_quantity: Option<String>,
    #[serde(default)]
    pub daily_order_cap: Option<i64>,
    #[serde(default)]
    pub max_signal_age_secs: Option<i64>,
}

/// Validate and store an edit (shared with the dashboard form).
pub async fn update_strategy(
    state: &AppState,
    user_id: &str,
    id: &str,
    b: &UpdateStrategy,
) -> Result<Strategy, ApiError> {
    let current = execution::strategy(state.db(), id)
        .await?
        .filter(|s| s.user_id == user_id)
        .ok_or_else(|| ApiError::not_found("strategy"))?;
    let raw = RawRules {
        quantity: &b.quantity,
        quantity_source: b.quantity_source.as_deref(),
        max_per_signal: b.max_per_signal.as_deref(),
        quantity_unit: b.quantity_unit.as_deref(),
        max_position: b.max_position.as_deref(),
        trading_hours: b.trading_hours.as_deref(),
        max_order_quantity: b.max_order_quantity.as_deref(),
        daily_order_cap: b.daily_order_cap,
        max_signal_age_secs: b.max_signal_age_secs,
    };
    let (name, instrument, rules) = validated(
        state,
        user_id,
        &current.broker_account_id,
        &b.name,
        &b.instrument,
        &raw,
    )
    .await?;
    Ok(execution::update_strategy(state.db(), user_id, id, &name, &instrument, &rules).await?)
}

/// Edit a strategy: the same validation as at creation.
#[utoipa::path(put, path = "/api/v1/strategies/{id}", tag = "strategies", request_body = UpdateStrategy,
    params(("id" = String, Path)),
    responses((status = 200, body = StrategyView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    user: Authed,
    Path(id): Path<String>,
    b: Result<Json<UpdateStrategy>, JsonRejection>,
) -> Result<Json<StrategyView>, ApiError> {
    let Json(b) =
        b.map_err(|e| ApiError::unprocessable(format!("Invalid JSON body: {}", e.body_text())))?;
    Ok(Json(
        update_strategy(&state, &user.user.id, &id, &b)
            .await?
            .into(),
    ))
}

/// Delete a strategy (its slot is freed); refused while it has unfinished
/// orders.
#[utoipa::path(delete, path = "/api/v1/strategies/{id}", tag = "strategies",
    params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    user: Authed,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    execution::delete_strategy(state.db(), &user.user.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
