//! `/api/v1/webhooks`: management (ingress is `POST /api/v1/webhooks/{token}`,
//! added with signal execution).

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use atomik_storage::webhooks::{self, Webhook};

use crate::AppState;
use crate::auth::Authed;
use crate::error::{ApiError, ErrorBody};
use crate::hooks;

#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookView {
    pub id: String,
    pub name: String,
    pub description: String,
    /// Path to POST signals to (append `?secret=…` or send `secret` in the body).
    pub url_path: String,
    pub active: bool,
    /// Allowed source IPs / CIDR ranges; empty = any.
    pub allowed_ips: Vec<String>,
    pub created_at_ms: i64,
    /// Its own rate limit; `null`: the default (10/s, burst 50).
    pub rate_per_second: Option<u32>,
    pub rate_burst: Option<u32>,
}

impl From<Webhook> for WebhookView {
    fn from(w: Webhook) -> Self {
        WebhookView {
            url_path: hooks::path(&w),
            allowed_ips: w
                .allowed_ips
                .split(',')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            id: w.id,
            name: w.name,
            description: w.description,
            active: w.active,
            created_at_ms: w.created_at,
            rate_per_second: w.rate.map(|r| r.per_second),
            rate_burst: w.rate.map(|r| r.burst),
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateWebhook {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedWebhook {
    pub webhook: WebhookView,
    /// Shown only here: store it now.
    pub secret: String,
}

fn body<T>(b: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    b.map(|Json(v)| v)
        .map_err(|e| ApiError::bad_request(format!("Invalid JSON body: {}", e.body_text())))
}

/// The caller's webhooks.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks",
    responses((status = 200, body = Vec<WebhookView>), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    user: Authed,
) -> Result<Json<Vec<WebhookView>>, ApiError> {
    Ok(Json(
        webhooks::list(state.db(), &user.user.id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// Create a webhook (counts against the plan's active-webhook limit).
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = CreateWebhook,
    responses((status = 201, body = CreatedWebhook), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    user: Authed,
    b: Result<Json<CreateWebhook>, JsonRejection>,
) -> Result<(StatusCode, Json<CreatedWebhook>), ApiError> {
    let b = body(b)?;
    let (hook, secret) = hooks::create(&state, &user.user.id, &b.name, &b.description).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedWebhook {
            webhook: hook.into(),
            secret,
        }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Rotate {
    /// How long the old secret keeps working (hours, default 24, max 720).
    pub overlap_hours: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Rotated {
    /// The new secret, shown only here.
    pub secret: String,
    pub previous_secret_valid_until_ms: i64,
}

/// Rotate the secret, keeping the old one valid for an overlap.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/rotate", tag = "webhooks", request_body = Rotate,
    params(("id" = String, Path)), responses((status = 200, body = Rotated), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn rotate(
    State(state): State<AppState>,
    user: Authed,
    Path(id): Path<String>,
    b: axum::body::Bytes,
) -> Result<Json<Rotated>, ApiError> {
    // No body: the default overlap. A body is read strictly: `1.5` or `"5"`
    // is refused, never taken as the default.
    let overlap = if b.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        serde_json::from_slice::<Rotate>(&b)
            .map_err(|e| {
                ApiError::unprocessable(format!(
                    "Invalid body: {e}. Send {{\"overlap_hours\": N}} with N a whole number of hours from 0 to 720, or no body for 24."
                ))
            })?
            .overlap_hours
    };
    let (secret, until) = hooks::rotate(&state, &user.user.id, &id, overlap).await?;
    Ok(Json(Rotated {
        secret,
        previous_secret_valid_until_ms: until,
    }))
}

async fn set_active(
    state: &AppState,
    user: &Authed,
    id: &str,
    active: bool,
) -> Result<Json<WebhookView>, ApiError> {
    Ok(Json(
        webhooks::set_active(state.db(), &user.user.id, id, active)
            .await?
            .into(),
    ))
}

/// Pause: signals are refused and the plan slot is freed.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/pause", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = WebhookView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn pause(
    State(state): State<AppState>,
    user: Authed,
    Path(id): Path<String>,
) -> Result<Json<WebhookView>, ApiError> {
    set_active(&state, &user, &id, false).await
}

/// Resume (needs a free active-webhook slot).
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/resume", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = WebhookView), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn resume(
    State(state): State<AppState>,
    user: Authed,
    Path(id): Path<String>,
) -> Result<Json<WebhookView>, ApiError> {
    set_active(&state, &user, &id, true).await
}

/// Delete a webhook: its URL answers 404 from now on.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    user: Authed,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    webhooks::delete(state.db(), &user.user.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AllowList {
    /// IPs or CIDR ranges, or `tradingview` for TradingView's sender addresses; empty = any.
    pub allowed_ips: Vec<String>,
}

/// Set the IP allow-list.
#[utoipa::path(put, path = "/api/v1/webhooks/{id}/allowed-ips", tag = "webhooks", request_body = AllowList,
    params(("id" = String, Path)), responses((status = 200, body = WebhookView), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn set_allowed_ips(
    State(state): State<AppState>,
    user: Authed,
    Path(id): Path<String>,
    b: Result<Json<AllowList>, JsonRejection>,
) -> Result<Json<WebhookView>, ApiError> {
    let list = hooks::parse_allow_list(&body(b)?.allowed_ips.join(","))?;
    Ok(Json(
        webhooks::set_allowed_ips(state.db(), &user.user.id, &id, &list)
            .await?
            .into(),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Sustained requests per second (1 up to the plan's ceiling); omit both
    /// fields (`{}`) to go back to the default (10/s, burst 50).
    pub per_second: Option<u32>,
    /// Requests allowed at once on top of the rate (at least `per_second`).
    pub burst: Option<u32>,
}

/// Set the webhook's rate limit, within the plan's ceiling.
#[utoipa::path(put, path = "/api/v1/webhooks/{id}/rate-limit", tag = "webhooks", request_body = RateLimit,
    params(("id" = String, Path)), responses((status = 200, body = WebhookView), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn set_rate_limit(
    State(state): State<AppState>,
    user: Authed,
    Path(id): Path<String>,
    b: Result<Json<RateLimit>, JsonRejection>,
) -> Result<Json<WebhookView>, ApiError> {
    let b = body(b)?;
    let ceiling = atomik_storage::plans::find(state.db(), &user.user.plan_id)
        .await?
        .map(|p| p.webhook_rate_ceiling)
        .ok_or_else(|| ApiError::unprocessable("Your plan is unknown: ask the operator."))?;
    let rate = hooks::check_rate(b.per_second, b.burst, ceiling)?;
    Ok(Json(
        webhooks::set_rate(state.db(), &user.user.id, &id, rate)
            .await?
            .into(),
    ))
}
