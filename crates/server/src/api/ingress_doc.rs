//! The webhook ingress endpoint in the OpenAPI document. The handler is
//! `crate::ingress::receive` (it reads the raw body itself: JSON, or JSON
//! sent as `text/plain`, as TradingView does); this module only describes it.

use serde::{Deserialize, Serialize};

/// A signal, as TradingView (or any client) sends it.
#[derive(Deserialize, Serialize, utoipa::ToSchema)]
pub struct SignalPayload {
    /// `BUY`, `SELL` or `EXIT` (any case).
    pub action: String,
    /// `ENTRY`, `EXIT_FINAL` / `EXIT_ALL` / `EXIT_100`, `EXIT_HALF` / `EXIT_50`,
    /// `EXIT_25`, `EXIT_75` or `EXIT_<n>` (1–100).
    pub comment: Option<String>,
    /// A number or a numeric string; used when the strategy takes its
    /// quantity from the alert (capped by its max per signal).
    pub quantity: Option<String>,
    pub ticker: Option<String>,
    /// Polymarket: the order's limit.
    pub price: Option<String>,
    /// Idempotency key: a repeat within 24 h executes nothing.
    pub id: Option<String>,
    /// The webhook's secret, when not in the `secret` query parameter.
    pub secret: Option<String>,
}

/// The answer to an accepted (or duplicate) signal.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SignalAccepted {
    /// `accepted`.
    pub status: String,
    /// What will happen: how many orders are queued, or why none is.
    pub message: String,
    pub signal_id: String,
    /// RFC 3339.
    pub timestamp: String,
    /// Present and true for a duplicate (nothing executes).
    pub duplicate: Option<bool>,
}

/// Send a signal to a webhook. Acknowledged (202) only once the signal and
/// its order intents are durably recorded; orders are placed after the
/// answer.
#[utoipa::path(post, path = "/api/v1/webhooks/{token}", tag = "webhooks",
    request_body(content = SignalPayload, description = "JSON; `text/plain` bodies holding JSON are accepted too"),
    params(("token" = String, Path, description = "The webhook's token (its URL path)"),
        ("secret" = Option<String>, Query, description = "The webhook's secret (or `secret` in the body)")),
    responses(
        (status = 202, body = SignalAccepted),
        (status = 400, body = crate::error::ErrorBody, description = "not JSON"),
        (status = 401, body = crate::error::ErrorBody, description = "missing or wrong secret"),
        (status = 403, body = crate::error::ErrorBody, description = "source IP not allowed, or the plan cannot trade"),
        (status = 404, body = crate::error::ErrorBody, description = "unknown or deleted webhook"),
        (status = 413, body = crate::error::ErrorBody, description = "body over 64 KiB"),
        (status = 422, body = crate::error::ErrorBody, description = "a field is wrong; the message names it"),
        (status = 429, body = crate::error::ErrorBody, description = "over the webhook's rate limit; see Retry-After"),
        (status = 503, body = crate::error::ErrorBody, description = "not recorded: send it again"),
    ))]
pub fn receive_signal() {}
