//! The Strategies page: activate a webhook → account link, turn it on/off.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use atomik_domain::Resource;
use atomik_domain::sizing::QuantityUnit;
use atomik_storage::broker_accounts as accounts;
use atomik_storage::{execution, webhooks};

use super::{Nav, render};
use crate::AppState;
use crate::api::strategies::{CreateStrategy, create_strategy};
use crate::auth::Authed;
use crate::auth::session::WebUser;
use crate::error::ApiError;
use crate::summary;

pub struct Row {
    id: String,
    name: String,
    webhook: String,
    account: String,
    instrument: String,
    quantity: String,
    max_position: String,
    active: bool,
    /// The linked account's state (only active accounts trade).
    account_status: String,
}

#[derive(Template)]
#[template(path = "strategies.html")]
struct Page {
    nav: Option<Nav>,
    csrf: String,
    notice: Option<String>,
    error: Option<String>,
    used: u32,
    allowed: String,
    rows: Vec<Row>,
    webhooks: Vec<(String, String)>,
    accounts: Vec<(String, String)>,
    /// The create form's values.
    d: Draft,
}

/// The create form's values: the defaults, or what was typed when it was
/// refused (shown back, never lost).
pub struct Draft {
    name: String,
    webhook_id: String,
    broker_account_id: String,
    instrument: String,
    quantity: String,
    quantity_source: String,
    quantity_unit: String,
    max_per_signal: String,
    max_position: String,
    trading_hours: String,
    max_order_quantity: String,
    daily_order_cap: String,
}

impl Default for Draft {
    fn default() -> Self {
        Draft {
            name: String::new(),
            webhook_id: String::new(),
            broker_account_id: String::new(),
            instrument: "MNQ1!".into(),
            quantity: "1".into(),
            quantity_source: "fixed".into(),
            quantity_unit: "units".into(),
            max_per_signal: "50".into(),
            max_position: String::new(),
            trading_hours: String::new(),
            max_order_quantity: String::new(),
            daily_order_cap: String::new(),
        }
    }
}

impl Draft {
    fn of(f: &CreateForm) -> Draft {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        Draft {
            name: f.name.clone(),
            webhook_id: f.webhook_id.clone(),
            broker_account_id: f.broker_account_id.clone(),
            instrument: f.instrument.clone(),
            quantity: f.quantity.clone(),
            quantity_source: text(&f.quantity_source),
            quantity_unit: text(&f.quantity_unit),
            max_per_signal: text(&f.max_per_signal),
            max_position: text(&f.max_position),
            trading_hours: text(&f.trading_hours),
            max_order_quantity: text(&f.max_order_quantity),
            daily_order_cap: text(&f.daily_order_cap),
        }
    }
}

pub(super) async fn page(
    state: &AppState,
    user: &Authed,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    page_with(state, user, status, notice, error, Draft::default()).await
}

async fn page_with(
    state: &AppState,
    user: &Authed,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
    draft: Draft,
) -> Response {
    let loaded = async {
        Ok::<_, atomik_storage::StorageError>((
            execution::strategies(state.db(), &user.user.id).await?,
            webhooks::list(state.db(), &user.user.id).await?,
            accounts::list(state.db(), &user.user.id).await?,
            summary::load(state, &user.user).await?,
        ))
    }
    .await;
    let (strategies, hooks, accts, summary) = match loaded {
        Ok(v) => v,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let name_of = |list: &[(String, String)], id: &str| {
        list.iter()
            .find(|(i, _)| i == id)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| "—".into())
    };
    let hook_names: Vec<(String, String)> = hooks
        .iter()
        .map(|w| (w.id.clone(), w.name.clone()))
        .collect();
    let account_names: Vec<(String, String)> = accts
        .iter()
        .map(|a| (a.id.clone(), a.display_name.clone()))
        .collect();
    render(
        status,
        &Page {
            nav: Nav::load(state, user, "strategies").await,
            csrf: user.csrf_token().to_string(),
            notice,
            error,
            used: summary.used(Resource::ActiveStrategies),
            allowed: summary.plan.limit(Resource::ActiveStrategies).to_string(),
            rows: strategies
                .into_iter()
                .map(|s| Row {
                    webhook: s
                        .webhook_id
                        .as_deref()
                        .map(|w| name_of(&hook_names, w))
                        .unwrap_or_else(|| "—".into()),
                    account: name_of(&account_names, &s.broker_account_id),
                    account_status: match accts.iter().find(|a| a.id == s.broker_account_id) {
                        None => "gone".into(),
                        Some(a) if a.is_active() => "active".into(),
                        Some(a) if a.paused => "paused: no orders".into(),
                        Some(a) => format!("{}: no orders", a.status.as_str()),
                    },
                    quantity: {
                        let unit = match s.rules.quantity_unit {
                            QuantityUnit::Units => "",
                            QuantityUnit::Collateral => " pUSD per buy",
                        };
                        match s.rules.max_per_signal() {
                            Some(cap) => format!("from alert (≤ {cap}{unit})"),
                            None => format!("{}{unit}", s.rules.quantity),
                        }
                    },
                    max_position: s
                        .rules
                        .max_position
                        .map_or_else(|| "—".into(), |m| m.to_string()),
                    id: s.id,
                    name: s.name,
                    instrument: s.instrument,
                    active: s.active,
                })
                .collect(),
            webhooks: hooks
                .into_iter()
                .filter(|w| w.active)
                .map(|w| (w.id, w.name))
                .collect(),
            accounts: accts
                .into_iter()
                .filter(|a| a.is_active())
                .map(|a| (a.id, a.display_name))
                .collect(),
            d: draft,
        },
    )
}

pub async fn list(State(state): State<AppState>, WebUser(user): WebUser) -> Response {
    page(&state, &user, StatusCode::OK, None, None).await
}

#[derive(Deserialize, Clone)]
pub struct CreateForm {
    name: String,
    webhook_id: String,
    broker_account_id: String,
    instrument: String,
    quantity: String,
    quantity_source: Option<String>,
    max_per_signal: Option<String>,
    quantity_unit: Option<String>,
    max_position: Option<String>,
    trading_hours: Option<String>,
    max_order_quantity: Option<String>,
    daily_order_cap: Option<String>,
}

pub async fn create(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    Form(f): Form<CreateForm>,
) -> Response {
    let typed = Draft::of(&f);
    let daily_order_cap = match f
        .daily_order_cap
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        Some(c) => match c.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                let msg = format!("daily order cap must be a whole number, got {c:?}");
                return page_with(
                    &state,
                    &user,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    None,
                    Some(msg),
                    typed,
                )
                .await;
            }
        },
        None => None,
    };
    let body = CreateStrategy {
        webhook_id: f.webhook_id,
        broker_account_id: f.broker_account_id,
        name: f.name,
        instrument: f.instrument,
        quantity: f.quantity,
        quantity_source: f.quantity_source,
        max_per_signal: f.max_per_signal,
        quantity_unit: f.quantity_unit,
        max_position: f.max_position,
        trading_hours: f.trading_hours,
        max_order_quantity: f.max_order_quantity,
        daily_order_cap,
        max_signal_age_secs: None,
    };
    match create_strategy(&state, &user.user.id, body).await {
        Ok(s) => {
            page(
                &state,
                &user,
                StatusCode::OK,
                Some(format!("Strategy {} is active.", s.name)),
                None,
            )
            .await
        }
        Err(e) => page_with(&state, &user, e.status, None, Some(e.message), typed).await,
    }
}

pub async fn set_active(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    let active = action == "activate";
    match execution::set_strategy_active(state.db(), &user.user.id, &id, active).await {
        Ok(()) => {
            page(
                &state,
                &user,
                StatusCode::OK,
                Some(
                    if active {
                        "Strategy turned on."
                    } else {
                        "Strategy turned off."
                    }
                    .into(),
                ),
                None,
            )
            .await
        }
        Err(e) => {
            let e = ApiError::from(e);
            page(&state, &user, e.status, None, Some(e.message)).await
        }
    }
}
