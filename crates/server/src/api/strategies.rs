//! `/api/v1/strategies` (activated strategies) and `/api/v1/kill-switch`.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use atomik_broker::{BrokerError, BrokerKind, Instrument};
use atomik_domain::risk::{RawRules, StrategyRules};
use atomik_domain::sizing::QuantitySource;
use atomik_storage::broker_accounts::{self, AccountStatus};
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
    /// `units` (contracts, shares, coins) or `collateral` (Polymarket: a buy
    /// that opens or adds spends `quantity` pUSD; exits sell shares held).
    /// The per-signal cap and the max order count the same unit.
    pub quantity_unit: String,
    pub max_position: Option<String>,
    /// `HH:MM-HH:MM` UTC; signals outside are skipped.
    pub trading_hours: Option<String>,
    /// Largest single order that opens or adds; larger ones are refused.
    /// Unset: the market's default (100 contracts or shares; the venue's
    /// own maximum on crypto).
    pub max_order_quantity: Option<String>,
    /// Orders per UTC day on the account.
    pub daily_order_cap: Option<i64>,
    /// A signal not sent within this many seconds is skipped, not sent late.
    pub max_signal_age_secs: i64,
    pub active: bool,
}

impl From<Strategy> for StrategyView {
    fn from(s: Strategy) -> Self {
        let r = &s.rules;
        let text = |d: Option<Decimal>| d.map(|d| d.to_string());
        StrategyView {
            quantity_source: match r.quantity_source {
                QuantitySource::FromAlert { .. } => "alert",
                QuantitySource::Fixed => "fixed",
            }
            .into(),
            quantity: r.quantity.to_string(),
            max_per_signal: r
                .max_per_signal()
                .unwrap_or(Decimal::from(atomik_domain::sizing::DEFAULT_MAX_PER_SIGNAL))
                .to_string(),
            quantity_unit: r.quantity_unit.as_str().into(),
            max_position: text(r.max_position),
            trading_hours: r.trading_hours.map(|h| h.stored()),
            max_order_quantity: text(r.max_order_quantity),
            daily_order_cap: r.daily_order_cap,
            max_signal_age_secs: r.max_signal_age_ms() / 1000,
            id: s.id,
            name: s.name,
            webhook_id: s.webhook_id,
            broker_account_id: s.broker_account_id,
            instrument: s.instrument,
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
    /// `units` (default) or `collateral` (Polymarket only: buys spend
    /// `quantity` pUSD; not combinable with `max_position`).
    #[serde(default)]
    pub quantity_unit: Option<String>,
    pub max_position: Option<String>,
    /// Optional `HH:MM-HH:MM` in UTC (may wrap midnight).
    #[serde(default)]
    pub trading_hours: Option<String>,
    #[serde(default)]
    pub max_order_quantity: Option<String>,
    #[serde(default)]
    pub daily_order_cap: Option<i64>,
    /// Seconds; default 60.
    #[serde(default)]
    pub max_signal_age_secs: Option<i64>,
}

/// Validate and store a strategy (shared with the dashboard form): the
/// rules are parsed once, here, and the instrument is resolved with the
/// account's broker — an unknown instrument or an order size beyond the
/// market's max is refused now, not when a signal comes.
pub async fn create_strategy(
    state: &AppState,
    user_id: &str,
    b: CreateStrategy,
) -> Result<Strategy, ApiError> {
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
        &b.broker_account_id,
        &b.name,
        &b.instrument,
        &raw,
    )
    .await?;
    let (name, instrument) = (name.as_str(), instrument.as_str());
    Ok(execution::create_strategy(
        state.db(),
        NewStrategy {
            user_id,
            webhook_id: &b.webhook_id,
            broker_account_id: &b.broker_account_id,
            name,
            instrument,
            rules: &rules,
        },
        state.now_ms(),
    )
    .await?)
}

/// A strategy's name, instrument and rules, validated the one way (create
/// and edit): the rules parsed, the instrument resolved with the account's
/// broker, the quantity checked against the market.
pub(crate) async fn validated(
    state: &AppState,
    user_id: &str,
    account_id: &str,
    name: &str,
    instrument: &str,
    raw: &RawRules<'_>,
) -> Result<(String, String, StrategyRules), ApiError> {
    let name = name.trim();
    let instrument = instrument.trim().to_uppercase();
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
    let rules = StrategyRules::parse(raw).map_err(|e| ApiError::unprocessable(e.0))?;
    let market = check_instrument(state, user_id, account_id, &instrument).await?;
    rules
        .check_market(&market.market_rules(), &market.symbol)
        .map_err(|e| ApiError::unprocessable(e.0))?;
    Ok((name.to_string(), instrument, rules))
}

/// Resolve `instrument` with the broker of the user's account `account_id`.
pub(crate) async fn check_instrument(
    state: &AppState,
    user_id: &str,
    account_id: &str,
    instrument: &str,
) -> Result<Instrument, ApiError> {
    let choose =
        || ApiError::unprocessable("choose one of your webhooks and one of your broker accounts");
    let account = broker_accounts::find(state.db(), user_id, account_id)
        .await?
        .ok_or_else(choose)?;
    if account.status != AccountStatus::Connected {
        return Err(ApiError::unprocessable(format!(
            "{} is disconnected: reconnect it before adding a strategy to it.",
            account.display_name
        )));
    }
    let label = BrokerKind::parse(&account.broker).map_or("the broker", |k| k.label());
    let Some(broker) = state
        .brokers()
        .for_keys(&account.broker, &account.environment)
    else {
        return Err(ApiError::unprocessable(format!(
            "{label} {} is not configured on this server, so the instrument cannot be checked: ask the operator.",
            account.environment
        )));
    };
    let unavailable = |e: String| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "broker_unavailable",
            format!(
                "Could not check {instrument} with {label} ({e}); nothing was saved: try again."
            ),
        )
    };
    let session = state
        .tokens()
        .session_for(&account.id)
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    match broker.resolve_instrument(&session, instrument).await {
        Ok(found) => Ok(found),
        Err(BrokerError::Rejected { reason, .. }) => Err(ApiError::unprocessable(format!(
            "{label} does not know the instrument {instrument}: {reason}. Check the symbol (e.g. MNQ or MNQ1! on Tradovate, BTCUSDT or BTCUSDT.P on Binance)."
        ))),
        Err(e) => Err(unavailable(e.to_string())),
    }
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
    state.halt_hint().changed();
    tracing::warn!(scope = %scope, engaged = b.engaged, "kill switch changed");
    Ok(StatusCode::NO_CONTENT)
}
