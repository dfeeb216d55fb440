//! A webhook's Logs tab: every delivery (accepted, duplicate or refused)
//! and, per account, what became of the signal — the strategy, the order,
//! the fill, the reason, and the latency trace (received → sent → the
//! broker's answer). When nothing executed it says why.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use atomik_storage::broker_accounts::{self as accounts, BrokerAccount};
use atomik_storage::execution::{self, IntentView, Strategy};
use atomik_storage::webhooks;

use super::{Nav, render};
use crate::AppState;
use crate::auth::session::WebUser;
use crate::error::ApiError;
use crate::summary;

pub struct LogRow {
    time: String,
    ip: String,
    status: i64,
    reason: String,
    duplicate: bool,
    payload: String,
    signal: String,
    processing: String,
    /// Per account: what happened to the signal's order.
    outcomes: Vec<String>,
}

#[derive(Template)]
#[template(path = "webhook_logs.html")]
struct LogsPage {
    nav: Option<Nav>,
    name: String,
    rows: Vec<LogRow>,
}

/// One account's outcome, in words.
fn outcome(i: IntentView, names: &HashMap<String, String>) -> String {
    let account = names
        .get(&i.account_id)
        .cloned()
        .unwrap_or_else(|| i.account_id.clone());
    let strategy = i
        .strategy
        .as_deref()
        .map(|s| format!(" · {s}"))
        .unwrap_or_default();
    let order = match (&i.side, &i.quantity, &i.instrument) {
        (Some(side), Some(q), Some(sym)) => match i.quantity_unit.as_deref() {
            Some("collateral") => format!(" {} {q} pUSD of {sym}", side.as_str()),
            _ => format!(" {} {q} {sym}", side.as_str()),
        },
        _ => String::new(),
    };
    let fill = match (&i.fill_quantity, &i.fill_price) {
        (Some(q), Some(p)) => format!(" · filled {q} @ {p}"),
        _ => String::new(),
    };
    let trace = match (i.delay_ms, i.latency_us) {
        (Some(d), Some(l)) => format!(
            " · received → sent +{d} ms → broker answered in {:.1} ms",
            l as f64 / 1000.0
        ),
        (Some(d), None) => format!(" · received → sent +{d} ms"),
        (None, _) => String::new(),
    };
    format!(
        "{account}{strategy}: {}{order}{}{fill}{}{trace} · client order id {}",
        i.status,
        i.broker_order_id
            .map(|b| format!(" · broker order {b}"))
            .unwrap_or_default(),
        i.reason.map(|r| format!(" · {r}")).unwrap_or_default(),
        i.client_order_id
    )
}

/// Why an accepted signal made no order anywhere: what the webhook's
/// strategies and their accounts look like now.
fn why_nothing(strategies: &[Strategy], accounts: &[BrokerAccount]) -> String {
    let head = "Nothing executed: no active strategy on an active account used this webhook";
    if strategies.is_empty() {
        return format!("{head} (no strategy uses it: create one on Strategies).");
    }
    let now: Vec<String> = strategies
        .iter()
        .map(|s| {
            let account = accounts.iter().find(|a| a.id == s.broker_account_id);
            let state = match (s.active, account) {
                (false, _) => "turned off".to_string(),
                (true, None) => "its account is gone".to_string(),
                (true, Some(a)) if a.is_active() => format!("active on {}", a.display_name),
                (true, Some(a)) if a.paused => format!("{} is paused", a.display_name),
                (true, Some(a)) => format!("{} is {}", a.display_name, a.status.as_str()),
            };
            format!("{}: {state}", s.name)
        })
        .collect();
    format!("{head} when it arrived (now: {}).", now.join("; "))
}

pub async fn logs(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    Path(id): Path<String>,
) -> Response {
    let hook = match webhooks::find(state.db(), &user.user.id, &id).await {
        Ok(Some(h)) => h,
        Ok(None) => return ApiError::not_found("webhook").into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let rows = match atomik_storage::signals::deliveries(state.db(), &hook.id, 200).await {
        Ok(r) => r,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let all_accounts = accounts::list(state.db(), &user.user.id)
        .await
        .unwrap_or_default();
    let names: HashMap<String, String> = all_accounts
        .iter()
        .map(|a| (a.id.clone(), a.display_name.clone()))
        .collect();
    let mut idle = None;
    let mut outcomes = Vec::with_capacity(rows.len());
    for r in &rows {
        let list = match (&r.signal_id, r.duplicate) {
            (Some(id), false) => execution::intents_of_signal(state.db(), id)
                .await
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        if list.is_empty() && r.signal_id.is_some() && !r.duplicate {
            if idle.is_none() {
                let strategies: Vec<Strategy> = execution::strategies(state.db(), &user.user.id)
                    .await
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|s| s.webhook_id.as_deref() == Some(hook.id.as_str()))
                    .collect();
                idle = Some(why_nothing(&strategies, &all_accounts));
            }
            outcomes.push(idle.clone().into_iter().collect());
            continue;
        }
        outcomes.push(list.into_iter().map(|i| outcome(i, &names)).collect());
    }
    render(
        StatusCode::OK,
        &LogsPage {
            nav: Nav::load(&state, &user, "webhooks").await,
            name: hook.name,
            rows: rows
                .into_iter()
                .zip(outcomes)
                .map(|(r, outcomes)| LogRow {
                    outcomes,
                    time: summary::format_rfc3339(r.received_at),
                    ip: r.source_ip.unwrap_or_default(),
                    status: r.status,
                    reason: r.reason,
                    duplicate: r.duplicate,
                    payload: r.payload,
                    signal: r.signal_id.unwrap_or_default(),
                    processing: format!("{:.2} ms", r.processing_us as f64 / 1000.0),
                })
                .collect(),
        },
    )
}
