//! `/api/v1/strategies` (activated strategies) and `/api/v1/kill-switch`.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use atomik_storage::execution::{self, NewStrategy, Strategy};

use crate::AppState;
use crate::auth::Authed;
use crate::error::{ApiError, ErrorBody};

#[derive(Serialize, utoipa::ToSchema)]
pub struct StrategyView {
    pub id: String,
    pub name: String,
    pub webhook_id: Option<String>,
    pub broker_account_id: String,
    /// What to trade: a futures root (`MNQ`), a TradingView continuous symbol (`MNQ1!`)…
    pub instrument: String,
    pub quantity: String,
    /// `fixed` or `alert` (the alert's quantity, capped by `max_per_signal`).
    pub quantity_source: String,
    pub max_per_signal: String,
    pub max_position: Option<String>,
    /// `HH:MM-HH:MM` UTC; signals outside are skipped.
    pub trading_hours: Option<String>,
    /// Largest single order; larger orders are refused.
    pub max_order_quantity: Option<String>,
    /// Orders per UTC day on the account.
    pub daily_order_cap: Option<i64>,
    pub active: bool,
}

impl From<Strategy> for StrategyView {
    fn from(s: Strategy) -> Self {
        StrategyView {
            quantity_source: if s.quantity_from_alert {
                "alert"
            } else {
                "fixed"
            }
            .into(),
            id: s.id,
            name: s.name,
            webhook_id: s.webhook_id,
            broker_account_id: s.broker_account_id,
            instrument: s.instrument,
            quantity: s.quantity,
            max_per_signal: s.max_per_signal,
            max_position: s.max_position,
            trading_hours: s.trading_hours,
            max_order_quantity: s.max_order_quantity,
            daily_order_cap: s.daily_order_cap,
            active: s.active,
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateStrategy {
    pub webhook_id: String,
    pub broker_account_id: String,
    pub name: String,
    pub instrument: String,
    pub quantity: String,
    /// `fixed` (default) or `alert`.
    #[serde(default)]
    pub quantity_source: Option<String>,
    pub max_per_signal: Option<String>,
    pub max_position: Option<String>,
    /// Optional `HH:MM-HH:MM` in UTC (may wrap midnight).
    #[serde(default)]
    pub trading_hours: Option<String>,
    #[serde(default)]
    pub max_order_quantity: Option<String>,
    #[serde(default)]
    pub daily_order_cap: Option<i64>,
}

fn positive(field: &str, value: &str) -> Result<String, ApiError> {
    match value.trim().parse::<Decimal>() {
        Ok(d) if d > Decimal::ZERO => Ok(d.normalize().to_string()),
        _ => Err(ApiError::unprocessable(format!(
            "{field} must be a positive number, got {value:?}"
        ))),
    }
}

/// Validate and store a strategy (shared with the dashboard form).
pub async fn create_strategy(
    state: &AppState,
    user_id: &str,
    b: CreateStrategy,
) -> Result<Strategy, ApiError> {
    let name = b.name.trim();
    let instrument = b.instrument.trim().to_uppercase();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::unprocessable(
            "Strategy name must be 1–100 characters.",
        ));
    }
    if instrument.is_empty() || instrument.len() > 64 {
        return Err(ApiError::unprocessable(
            "Instrument must be 1–64 characters, e.g. MNQ or MNQ1!.",
        ));
    }
    let quantity = positive("quantity", &b.quantity)?;
    let from_alert = match b.quantity_source.as_deref().unwrap_or("fixed") {
        "fixed" => false,
        "alert" => true,
        other => {
            return Err(ApiError::unprocessable(format!(
                "quantity_source must be fixed or alert, got {other:?}"
            )));
        }
    };
    let cap = positive(
        "max_per_signal",
        b.max_per_signal.as_deref().unwrap_or("50"),
    )?;
    let max_position = match b.max_position.as_deref().filter(|m| !m.trim().is_empty()) {
        Some(m) => Some(positive("max_position", m)?),
        None => None,
    };
    let trading_hours = match b
        .trading_hours
        .as_deref()
        .map(str::trim)
        .filter(|h| !h.is_empty())
    {
        Some(h) => Some(
            atomik_domain::hours::TradingHours::parse(h)
                .map_err(ApiError::unprocessable)?
                .to_string()
                .trim_end_matches(" UTC")
                .to_string(),
        ),
        None => None,
    };
    let max_order_quantity = match b
        .max_order_quantity
        .as_deref()
        .filter(|m| !m.trim().is_empty())
    {
        Some(m) => Some(positive("max_order_quantity", m)?),
        None => None,
    };
    if b.daily_order_cap.is_some_and(|c| c < 1) {
        return Err(ApiError::unprocessable(
            "daily_order_cap must be at least 1.",
        ));
    }
    Ok(execution::create_strategy(
        state.db(),
        NewStrategy {
            user_id,
            webhook_id: &b.webhook_id,
            broker_account_id: &b.broker_account_id,
            name,
            instrument: &instrument,
            quantity: &quantity,
            quantity_from_alert: from_alert,
            max_per_signal: &cap,
            max_position: max_position.as_deref(),
            trading_hours: trading_hours.as_deref(),
            max_order_quantity: max_order_quantity.as_deref(),
            daily_order_cap: b.daily_order_cap,
        },
        state.now_ms(),
    )
    .await?)
}

/// The caller's strategies.
#[utoipa::path(get, path = "/api/v1/strategies", tag = "strategies",
    responses((status = 200, body = Vec<StrategyView>)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    user: Authed,
) -> Result<Json<Vec<StrategyView>>, ApiError> {
    Ok(Json(
        execution::strategies(state.db(), &user.user.id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// Activate a strategy: a webhook's signals trade on a broker account.
#[utoipa::path(post, path = "/api/v1/strategies", tag = "strategies", request_body = CreateStrategy,
    responses((status = 201, body = StrategyView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    user: Authed,
    b: Result<Json<CreateStrategy>, JsonRejection>,
) -> Result<(StatusCode, Json<StrategyView>), ApiError> {
    let Json(b) =
        b.map_err(|e| ApiError::bad_request(format!("Invalid JSON body: {}", e.body_text())))?;
    let s = create_strategy(&state, &user.user.id, b).await?;
    Ok((StatusCode::CREATED, Json(s.into())))
}

/// Turn a strategy on (plan limit) or off.
#[utoipa::path(post, path = "/api/v1/strategies/{id}/{state}", tag = "strategies",
    params(("id" = String, Path), ("state" = String, Path, description = "activate or deactivate")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn set_active(
    State(state): State<AppState>,
    user: Authed,
    Path((id, action)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let active = match action.as_str() {
        "activate" => true,
        "deactivate" => false,
        _ => return Err(ApiError::not_found("API endpoint")),
    };
    execution::set_strategy_active(state.db(), &user.user.id, &id, active).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct KillSwitch {
    pub engaged: bool,
    /// Only this account; without it, every account of the caller.
    pub account_id: Option<String>,
}

/// Engage or release a kill switch: while engaged no new order leaves.
#[utoipa::path(post, path = "/api/v1/kill-switch", tag = "strategies", request_body = KillSwitch,
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn kill_switch(
    State(state): State<AppState>,
    user: Authed,
    b: Result<Json<KillSwitch>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let Json(b) =
        b.map_err(|e| ApiError::bad_request(format!("Invalid JSON body: {}", e.body_text())))?;
    let scope = match &b.account_id {
        Some(id) => {
            atomik_storage::broker_accounts::find(state.db(), &user.user.id, id)
                .await?
                .ok_or_else(|| ApiError::not_found("broker account"))?;
            format!("account:{id}")
        }
        None => format!("user:{}", user.user.id),
    };
    execution::set_kill_switch(state.db(), &scope, b.engaged, state.now_ms()).await?;
    tracing::warn!(scope = %scope, engaged = b.engaged, "kill switch changed");
    Ok(StatusCode::NO_CONTENT)
}
