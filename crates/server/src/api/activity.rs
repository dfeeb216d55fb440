//! What the dashboard shows, over REST: a webhook's deliveries with each
//! account's outcome (the Logs tab), an account's tracked positions, and
//! the kill switches in force.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};

use atomik_storage::broker_accounts as accounts;
use atomik_storage::execution::{self, IntentView};
use atomik_storage::{signals, webhooks};

use crate::AppState;
use crate::auth::Authed;
use crate::error::{ApiError, ErrorBody};
use crate::summary;

/// One account's outcome of a signal.
#[derive(Serialize, utoipa::ToSchema)]
pub struct OutcomeView {
    pub account_id: String,
    /// The strategy's name (`null` once it was deleted).
    pub strategy: Option<String>,
    /// pending, sending, ambiguous, accepted, rejected, skipped or failed.
    pub status: String,
    pub instrument: Option<String>,
    pub side: Option<String>,
    pub quantity: Option<String>,
    /// `collateral` when `quantity` is the collateral a buy spends.
    pub quantity_unit: Option<String>,
    pub broker_order_id: Option<String>,
    pub client_order_id: String,
    /// Why it ended as it did (or what it waits for).
    pub reason: Option<String>,
    pub fill_quantity: Option<String>,
    pub fill_price: Option<String>,
    /// From the signal's arrival to the order leaving.
    pub sent_after_ms: Option<i64>,
    /// The broker's answer to the order, round trip.
    pub broker_latency_ms: Option<f64>,
}

impl From<IntentView> for OutcomeView {
    fn from(i: IntentView) -> Self {
        OutcomeView {
            account_id: i.account_id,
            strategy: i.strategy,
            status: i.status.to_string(),
            instrument: i.instrument,
            side: i.side.map(|s| s.as_str().to_string()),
            quantity: i.quantity,
            quantity_unit: i.quantity_unit,
            broker_order_id: i.broker_order_id,
            client_order_id: i.client_order_id,
            reason: i.reason,
            fill_quantity: i.fill_quantity,
            fill_price: i.fill_price,
            sent_after_ms: i.delay_ms,
            broker_latency_ms: i.latency_us.map(|l| l as f64 / 1000.0),
        }
    }
}

/// One delivery to a webhook, as the Logs tab shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    /// RFC 3339.
    pub received_at: String,
    pub source_ip: Option<String>,
    /// The HTTP status answered.
    pub status: i64,
    pub reason: String,
    /// Size-capped, secrets redacted.
    pub payload: String,
    pub signal_id: Option<String>,
    pub duplicate: bool,
    pub processing_ms: f64,
    /// Per account (accepted signals only).
    pub outcomes: Vec<OutcomeView>,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct DeliveriesQuery {
    /// Newest first; default 50, at most 200.
    pub limit: Option<u32>,
}

/// A webhook's deliveries, newest first, each with its outcome per account.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = String, Path), DeliveriesQuery),
    responses((status = 200, body = Vec<DeliveryView>), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn deliveries(
    State(state): State<AppState>,
    user: Authed,
    Path(id): Path<String>,
    Query(q): Query<DeliveriesQuery>,
) -> Result<Json<Vec<DeliveryView>>, ApiError> {
    let hook = webhooks::find(state.db(), &user.user.id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook"))?;
    let limit = q.limit.unwrap_or(50).clamp(1, 200) as i64;
    let rows = signals::deliveries(state.db(), &hook.id, limit).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let outcomes = match (&r.signal_id, r.duplicate) {
            (Some(signal), false) => execution::intents_of_signal(state.db(), signal)
                .await?
                .into_iter()
                .map(Into::into)
                .collect(),
            _ => Vec::new(),
        };
        out.push(DeliveryView {
            received_at: summary::format_rfc3339(r.received_at),
            source_ip: r.source_ip,
            status: r.status,
            reason: r.reason,
            payload: r.payload,
            signal_id: r.signal_id,
            duplicate: r.duplicate,
            processing_ms: r.processing_us as f64 / 1000.0,
            outcomes,
        });
    }
    Ok(Json(out))
}

/// A position atomik tracks (the broker's wins at every order).
#[derive(Serialize, utoipa::ToSchema)]
pub struct PositionView {
    pub instrument: String,
    /// Positive long, negative short.
    pub quantity: String,
}

/// An account's tracked positions (non-zero).
#[utoipa::path(get, path = "/api/v1/broker-accounts/{id}/positions", tag = "broker-accounts",
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<PositionView>), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn positions(
    State(state): State<AppState>,
    user: Authed,
    Path(id): Path<String>,
) -> Result<Json<Vec<PositionView>>, ApiError> {
    accounts::find(state.db(), &user.user.id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("broker account"))?;
    Ok(Json(
        execution::positions_of(state.db(), &id)
            .await?
            .into_iter()
            .map(|(instrument, quantity)| PositionView {
                instrument,
                quantity,
            })
            .collect(),
    ))
}

/// The kill switches that stop the caller's orders now.
#[derive(Serialize, utoipa::ToSchema)]
pub struct KillSwitchesView {
    /// The operator's, for everyone.
    pub global: bool,
    /// The caller's own, for all their accounts.
    pub user: bool,
    /// Accounts stopped by their own switch.
    pub accounts: Vec<String>,
}

/// Which kill switches are engaged for the caller.
#[utoipa::path(get, path = "/api/v1/kill-switch", tag = "strategies",
    responses((status = 200, body = KillSwitchesView)), security(("bearer" = [])))]
pub async fn kill_switches(
    State(state): State<AppState>,
    user: Authed,
) -> Result<Json<KillSwitchesView>, ApiError> {
    let h = execution::halts(state.db(), &user.user.id).await?;
    Ok(Json(KillSwitchesView {
        global: h.global,
        user: h.user,
        accounts: h.accounts,
    }))
}
