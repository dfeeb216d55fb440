//! Webhook ingress: `POST /api/v1/webhooks/{token}` (SPEC §3).
//!
//! Answers, in this order: 429 over the webhook's token bucket (10/s with a
//! burst of 50 unless the webhook sets its own, within its plan's ceiling;
//! `Retry-After`) — checked before anything touches the database; 413 body
//! over 64 KiB; 404 unknown token; 400 body not JSON when the secret is not
//! in the query; 401 missing or wrong secret (one answer for both); 403
//! source IP not allowed; 403 webhook paused; 403 plan or subscription
//! without execution; 400 not a JSON object; 422 invalid signal; 202
//! accepted (or duplicate: duplicate filtering, not the rate limit, is what
//! stops a sender's re-sends). Only a failure to record the signal durably
//! answers 5xx.
//!
//! Refusals are logged for the Logs tab through the batched
//! [`crate::refusals`] queue, never a durable write each. The secret never
//! reaches a log: the query string is not logged anywhere, and the stored
//! payload is redacted ([`crate::redact`]) whether or not it parses.

use std::time::Instant;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use atomik_domain::signal::{self, SignalError};
use atomik_domain::{Plan, SubscriptionStatus, WebhookRate, effective_status, may_execute};
use atomik_storage::execution;
use atomik_storage::signals::{self, Delivery, NewSignal, Recorded, RefusedDelivery};
use atomik_storage::webhooks::{self, IngressView, Webhook};

use crate::AppState;
use crate::auth::session::ClientIp;
use crate::error::ApiError;
use crate::hooks;

/// Identical payloads on one webhook within this window are duplicates.
pub const DEFAULT_DUPLICATE_WINDOW_MS: i64 = 1_000;
/// The largest webhook body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// How much of a payload the Logs tab keeps.
const LOGGED_PAYLOAD_CAP: usize = 4_096;

/// Is this request webhook ingress (`POST /api/v1/webhooks/{token}`)? Only
/// that method and shape: `DELETE` on the same path deletes a webhook.
pub fn is_ingress(method: &axum::http::Method, path: &str) -> bool {
    *method == axum::http::Method::POST
        && path
            .strip_prefix("/api/v1/webhooks/")
            .is_some_and(|token| !token.is_empty() && !token.contains('/'))
}

fn query_secret(uri: &Uri) -> Option<String> {
    uri.query().and_then(|q| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(q)
            .ok()?
            .into_iter()
            .find(|(k, _)| k == "secret")
            .map(|(_, v)| v)
    })
}

fn body_secret(body: Option<&Value>) -> Option<String> {
    body?.get("secret")?.as_str().map(String::from)
}

/// The payload as logged: secrets masked whether or not the body parsed
/// (the `secret` field removed from a JSON object), size-capped.
fn redacted(body: &[u8], json: Option<&Value>, known: &[&str]) -> String {
    let text = match json {
        Some(Value::Object(map)) => {
            let mut map = map.clone();
            map.remove("secret");
            Value::Object(map).to_string()
        }
        _ => String::from_utf8_lossy(body).to_string(),
    };
    let mut text = crate::redact::redact(&text, known);
    if text.len() > LOGGED_PAYLOAD_CAP {
        let mut cut = LOGGED_PAYLOAD_CAP;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// Some senders start the body with a UTF-8 byte-order mark.
fn without_bom(body: &[u8]) -> &[u8] {
    body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body)
}

/// The body, or `None` when it is over [`MAX_BODY_BYTES`] (judged from
/// `Content-Length` first, so an oversized body is not read at all).
async fn read_body(headers: &HeaderMap, body: Body) -> Option<Bytes> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return None;
    }
    http_body_util::Limited::new(body, MAX_BODY_BYTES)
        .collect()
        .await
        .ok()
        .map(|c| c.to_bytes())
}

/// SHA-256 of the normalized payload: keys sorted, `secret` removed.
fn payload_hash(json: &Value) -> String {
    let mut v = json.clone();
    if let Value::Object(map) = &mut v {
        map.remove("secret");
    }
    hex::encode(Sha256::digest(v.to_string().as_bytes()))
}

struct Ctx<'a> {
    state: &'a AppState,
    webhook_id: &'a str,
    ip: Option<String>,
    payload: String,
    started: Instant,
}

impl Ctx<'_> {
    fn delivery<'b>(&'b self, status: StatusCode, reason: &'b str) -> Delivery<'b> {
        Delivery {
            webhook_id: self.webhook_id,
            source_ip: self.ip.as_deref(),
            status: status.as_u16(),
            payload: &self.payload,
            reason,
            processing_us: self.started.elapsed().as_micros() as i64,
        }
    }

    /// Queue the refusal for the Logs tab and answer it.
    fn refuse(&self, error: ApiError) -> Response {
        self.state.refusals().record(RefusedDelivery {
            webhook_id: self.webhook_id.to_string(),
            source_ip: self.ip.clone(),
            status: error.status.as_u16(),
            payload: self.payload.clone(),
            reason: error.message.clone(),
            processing_us: self.started.elapsed().as_micros() as i64,
            received_at: self.state.now_ms(),
        });
        error.into_response()
    }
}

/// The rate a webhook runs at: its own, held within its plan's ceiling (the
/// plan may have been lowered since it was set), else the operator's default.
fn rate_of(state: &AppState, view: &IngressView) -> WebhookRate {
    match (view.webhook.rate, &view.owner) {
        (Some(own), Some((_, _, plan))) => own.within(plan.webhook_rate_ceiling),
        (Some(own), None) => own,
        (None, _) => state.config().webhook_rate,
    }
}

fn rate_limited(retry_after_secs: u64) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!(
            "Over this webhook's rate limit: retry after {retry_after_secs} s, or raise the webhook's limit (within your plan's ceiling)."
        ),
    );
    e.retry_after_secs = Some(retry_after_secs);
    e
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!(
            "The body is over {} KiB: a signal is a small JSON object.",
            MAX_BODY_BYTES / 1024
        ),
    )
}

pub async fn receive(
    State(state): State<AppState>,
    Path(token): Path<String>,
    ClientIp(ip): ClientIp,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let now = state.now_ms();
    let body = read_body(&headers, body).await;
    let ip_text = ip.map(|i| i.to_string());
    // The bucket first: a flood costs no database work.
    if let Err(limited) = state
        .ingress_limiter()
        .admit(&token, now, state.config().webhook_rate)
    {
        let error = rate_limited(limited.retry_after_secs);
        let Some(webhook_id) = limited.webhook_id else {
            return error.into_response();
        };
        let known: Vec<String> = query_secret(&uri).into_iter().collect();
        let payload = body.as_deref().map_or_else(
            || "(body over the size limit, not kept)".to_string(),
            |b| {
                redacted(
                    b,
                    None,
                    &known.iter().map(String::as_str).collect::<Vec<_>>(),
                )
            },
        );
        let ctx = Ctx {
            state: &state,
            webhook_id: &webhook_id,
            ip: ip_text,
            payload,
            started,
        };
        return ctx.refuse(error);
    }
    let query_secret = query_secret(&uri);
    let Some(body) = body else {
        // Too large: logged against the webhook if the token is one.
        return match webhooks::for_ingress(state.db(), &token, None, now).await {
            Ok(Some(view)) => Ctx {
                state: &state,
                webhook_id: &view.webhook.id,
                ip: ip_text,
                payload: "(body over the size limit, not kept)".into(),
                started,
            }
            .refuse(too_large()),
            Ok(None) => ApiError::not_found("webhook").into_response(),
            Err(e) => ApiError::from(e).into_response(),
        };
    };
    // Parsed once: the secret, the redacted log copy and the signal all
    // come from this value.
    let parsed_body = serde_json::from_slice::<Value>(without_bom(&body));
    let json = parsed_body.as_ref().ok();
    let secret = query_secret.clone().or_else(|| body_secret(json));
    let digest = secret.as_deref().map(|s| state.webhook_key().digest(s));
    // One round trip: the webhook, the secret check and the owner's plan.
    let view = match webhooks::for_ingress(state.db(), &token, digest.as_deref(), now).await {
        Ok(Some(v)) => v,
        Ok(None) => return ApiError::not_found("webhook").into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    state
        .ingress_limiter()
        .configure(&token, rate_of(&state, &view), &view.webhook.id);
    let hook = &view.webhook;
    let known: Vec<&str> = secret.as_deref().into_iter().collect();
    let ctx = Ctx {
        state: &state,
        webhook_id: &hook.id,
        ip: ip_text,
        payload: redacted(&body, json, &known),
        started,
    };
    if let (Err(e), None) = (&parsed_body, &query_secret) {
        let err = SignalError::NotJson(e.to_string());
        return ctx.refuse(ApiError::bad_request(format!(
            "{err}; the secret could not be read from it either (or send it as ?secret=…)."
        )));
    }
    if !view.secret_ok {
        let e = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_secret",
            "Missing or wrong webhook secret: send it as ?secret=… or as \"secret\" in the JSON body.",
        );
        return ctx.refuse(e);
    }
    if let Some(ip) = ip
        && !hooks::ip_allowed(&hook.allowed_ips, ip)
    {
        let e = ApiError::forbidden(format!(
            "Source address {ip} is not in this webhook's allow-list."
        ));
        return ctx.refuse(e);
    }
    if !hook.active {
        let e = ApiError::new(
            StatusCode::FORBIDDEN,
            "webhook_paused",
            "This webhook is paused: resume it to accept signals.",
        );
        return ctx.refuse(e);
    }
    if let Err(reason) = entitled(view.owner.as_ref(), now) {
        return ctx.refuse(ApiError::new(
            StatusCode::FORBIDDEN,
            "execution_not_allowed",
            reason,
        ));
    }
    let json = match &parsed_body {
        Ok(json) => json,
        Err(e) => {
            let err = SignalError::NotJson(e.to_string());
            return ctx.refuse(ApiError::bad_request(err.to_string()));
        }
    };
    let parsed = match signal::from_json(json) {
        Ok(s) => s,
        Err(err @ (SignalError::NotJson(_) | SignalError::NotObject)) => {
            return ctx.refuse(ApiError::bad_request(err.to_string()));
        }
        Err(err) => return ctx.refuse(ApiError::unprocessable(err.to_string())),
    };
    record(&ctx, hook, json, &parsed, now).await
}

/// Record the signal durably (the only 5xx is a failure to), then answer.
async fn record(
    ctx: &Ctx<'_>,
    hook: &Webhook,
    json: &Value,
    parsed: &signal::Signal,
    now: i64,
) -> Response {
    let state = ctx.state;
    let hash = payload_hash(json);
    let action = parsed.action.as_str();
    let new = NewSignal {
        webhook_id: &hook.id,
        user_id: &hook.user_id,
        payload_hash: &hash,
        signal: parsed,
    };
    let delivery = ctx.delivery(StatusCode::ACCEPTED, "accepted");
    let timestamp = crate::summary::format_rfc3339(now);
    match signals::record(state.db(), new, delivery, now, state.config().duplicate_window_ms).await {
        Ok(Recorded::Accepted {
            signal_id,
            intents,
            ready_accounts,
        }) => {
            atomik_failpoint::hit("after_signal_commit");
            state.dispatch(ready_accounts);
            // Read after the commit (never delays it); unreadable, the
            // answer just does not mention it (the engine still checks).
            let halted = match intents {
                0 => None,
                _ if !state.halt_hint().maybe_engaged(state.db(), now).await => None,
                _ => execution::user_halt(state.db(), &hook.user_id).await.ok().flatten(),
            };
            let message = match (intents, halted) {
                (0, _) => format!("{action} signal recorded; no active strategy on an active account uses this webhook"),
                (_, Some(scope)) => format!("{action} signal recorded; no order will be sent: {}", scope.words()),
                (1, None) => format!("{action} signal recorded; 1 order queued"),
                (n, None) => format!("{action} signal recorded; {n} orders queued"),
            };
            (
                StatusCode::ACCEPTED,
                Json(json!({"status": "accepted", "message": message, "signal_id": signal_id, "timestamp": timestamp})),
            )
                .into_response()
        }
        Ok(Recorded::Duplicate { original_signal_id }) => (
            StatusCode::ACCEPTED,
            Json(json!({"status": "accepted", "message": "duplicate of an earlier signal; nothing executes", "signal_id": original_signal_id, "timestamp": timestamp, "duplicate": true})),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, webhook = %hook.id, "could not record a signal durably");
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_recorded", "The signal could not be recorded; send it again.")
                .into_response()
        }
    }
}

/// May the webhook's owner execute trades now? `Err` carries the reason.
fn entitled(
    owner: Option<&(SubscriptionStatus, Option<i64>, Plan)>,
    now: i64,
) -> Result<(), String> {
    let (status, trial_ends_at, plan) = owner.ok_or("unknown webhook owner or plan")?;
    may_execute(plan, effective_status(*status, *trial_ends_at, now)).map_err(|e| {
        let mut s = e.to_string();
        if let Some(first) = s.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        s + "."
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_hash_ignores_key_order_and_secret() {
        let a: Value =
            serde_json::from_str(r#"{"action":"BUY","ticker":"NQ","secret":"s1"}"#).unwrap();
        let b: Value =
            serde_json::from_str(r#"{"ticker":"NQ","action":"BUY","secret":"s2"}"#).unwrap();
        assert_eq!(payload_hash(&a), payload_hash(&b));
        let c: Value = serde_json::from_str(r#"{"ticker":"NQ","action":"SELL"}"#).unwrap();
        assert_ne!(payload_hash(&a), payload_hash(&c));
        assert!(!redacted(b"", Some(&a), &[]).contains("s1"));
        assert!(redacted(&[b'x'; 5000], None, &[]).len() < 4_200);
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_json() {
        let body = b"\xEF\xBB\xBF{\"action\":\"buy\"}";
        assert!(serde_json::from_slice::<Value>(without_bom(body)).is_ok());
        assert_eq!(without_bom(b"{}"), b"{}");
    }
}
