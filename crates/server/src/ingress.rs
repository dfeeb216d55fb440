//! Webhook ingress: `POST /api/v1/webhooks/{token}` (SPEC §3).
//!
//! Answers, in this order: 404 unknown token; 401 missing or wrong secret
//! (one answer for both); 403 source IP not allowed; 403 webhook paused; 403
//! plan or subscription without execution; 429 over 10 requests/second per
//! webhook (`Retry-After`); 400 not JSON; 422 invalid signal; 202 accepted
//! (or duplicate). Only a failure to record the signal durably answers 5xx.
//! The secret never reaches a log: the query string is not logged anywhere
//! and the stored payload has its `secret` field removed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use atomik_domain::signal::{self, SignalError};
use atomik_domain::{Plan, SubscriptionStatus, effective_status, may_execute};
use atomik_storage::signals::{self, Delivery, NewSignal, Recorded};
use atomik_storage::webhooks::{self, Webhook};

use crate::AppState;
use crate::auth::session::ClientIp;
use crate::error::ApiError;
use crate::hooks;

/// Requests per second allowed per webhook.
pub const RATE_PER_SECOND: u32 = 10;
/// Identical payloads on one webhook within this window are duplicates.
pub const DEFAULT_DUPLICATE_WINDOW_MS: i64 = 1_000;
/// How much of a payload the Logs tab keeps.
const LOGGED_PAYLOAD_CAP: usize = 4_096;

/// Fixed one-second windows per webhook, in this instance's memory.
#[derive(Default)]
pub struct RateLimiter(Mutex<HashMap<String, (i64, u32)>>);

impl RateLimiter {
    /// True if one more request from `key` fits in the current second.
    pub fn admit(&self, key: &str, now_ms: i64, per_second: u32) -> bool {
        let second = now_ms / 1000;
        let mut map = self.0.lock().expect("rate limiter");
        if map.len() > 10_000 {
            map.retain(|_, (s, _)| *s == second);
        }
        let entry = map.entry(key.to_string()).or_insert((second, 0));
        if entry.0 != second {
            *entry = (second, 0);
        }
        entry.1 += 1;
        entry.1 <= per_second
    }
}

fn secret_from(uri: &Uri, body: Option<&Value>) -> Option<String> {
    let from_query = uri.query().and_then(|q| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(q)
            .ok()?
            .into_iter()
            .find(|(k, _)| k == "secret")
            .map(|(_, v)| v)
    });
    from_query.or_else(|| body?.get("secret")?.as_str().map(String::from))
}

/// The payload as logged: `secret` removed, size-capped.
fn redacted(body: &[u8], json: Option<&Value>) -> String {
    let mut text = match json {
        Some(Value::Object(map)) => {
            let mut map = map.clone();
            map.remove("secret");
            Value::Object(map).to_string()
        }
        _ => String::from_utf8_lossy(body).to_string(),
    };
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
    hook: &'a Webhook,
    ip: Option<String>,
    payload: String,
    started: Instant,
}

impl Ctx<'_> {
    fn delivery<'b>(&'b self, status: StatusCode, reason: &'b str) -> Delivery<'b> {
        Delivery {
            webhook_id: &self.hook.id,
            source_ip: self.ip.as_deref(),
            status: status.as_u16(),
            payload: &self.payload,
            reason,
            processing_us: self.started.elapsed().as_micros() as i64,
        }
    }

    /// Log a refusal and answer it.
    async fn refuse(&self, error: ApiError) -> Response {
        let delivery = self.delivery(error.status, &error.message);
        if let Err(e) = signals::log_refused(self.state.db(), delivery, self.state.now_ms()).await {
            tracing::warn!(error = %e, "could not log a refused webhook delivery");
        }
        error.into_response()
    }
}

pub async fn receive(
    State(state): State<AppState>,
    Path(token): Path<String>,
    ClientIp(ip): ClientIp,
    uri: Uri,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    // Parsed once: the secret, the redacted log copy and the signal all
    // come from this value.
    let parsed_body = serde_json::from_slice::<Value>(&body);
    let json = parsed_body.as_ref().ok();
    let now = state.now_ms();
    // One round trip: the webhook, the secret check and the owner's plan.
    let digest = secret_from(&uri, json).map(|s| state.webhook_key().digest(&s));
    let view = match webhooks::for_ingress(state.db(), &token, digest.as_deref(), now).await {
        Ok(Some(v)) => v,
        Ok(None) => return ApiError::not_found("webhook").into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let hook = &view.webhook;
    let ctx = Ctx {
        state: &state,
        hook,
        ip: ip.map(|i| i.to_string()),
        payload: redacted(&body, json),
        started,
    };
    if !view.secret_ok {
        let e = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_secret",
            "Missing or wrong webhook secret: send it as ?secret=… or as \"secret\" in the JSON body.",
        );
        return ctx.refuse(e).await;
    }
    if let Some(ip) = ip
        && !hooks::ip_allowed(&hook.allowed_ips, ip)
    {
        let e = ApiError::forbidden(format!(
            "Source address {ip} is not in this webhook's allow-list."
        ));
        return ctx.refuse(e).await;
    }
    if !hook.active {
        let e = ApiError::new(
            StatusCode::FORBIDDEN,
            "webhook_paused",
            "This webhook is paused: resume it to accept signals.",
        );
        return ctx.refuse(e).await;
    }
    if let Err(reason) = entitled(view.owner.as_ref(), now) {
        return ctx
            .refuse(ApiError::new(
                StatusCode::FORBIDDEN,
                "execution_not_allowed",
                reason,
            ))
            .await;
    }
    let per_second = state.config().webhook_rate_per_second;
    if !state.ingress_limiter().admit(&hook.id, now, per_second) {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "Over {per_second} requests per second for this webhook: retry after a second."
            ),
        );
        e.retry_after_secs = Some(1);
        return ctx.refuse(e).await;
    }
    // The body was parsed once, above; the signal is read from that value.
    let json = match &parsed_body {
        Ok(json) => json,
        Err(e) => {
            let err = SignalError::NotJson(e.to_string());
            return ctx.refuse(ApiError::bad_request(err.to_string())).await;
        }
    };
    let parsed = match signal::from_json(json) {
        Ok(s) => s,
        Err(err @ (SignalError::NotJson(_) | SignalError::NotObject)) => {
            return ctx.refuse(ApiError::bad_request(err.to_string())).await;
        }
        Err(err) => return ctx.refuse(ApiError::unprocessable(err.to_string())).await,
    };
    let hash = payload_hash(json);
    let action = parsed.action.as_str();
    let new = NewSignal {
        webhook_id: &hook.id,
        user_id: &hook.user_id,
        payload_hash: &hash,
        signal: &parsed,
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
            let message = match intents {
                0 => format!("{action} signal recorded; no active strategy on an active account uses this webhook"),
                1 => format!("{action} signal recorded; 1 order queued"),
                n => format!("{action} signal recorded; {n} orders queued"),
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
        assert!(!redacted(b"", Some(&a)).contains("s1"));
        assert!(redacted(&[b'x'; 5000], None).len() < 4_200);
    }

    #[test]
    fn the_limiter_allows_ten_per_second() {
        let l = RateLimiter::default();
        assert!((0..10).all(|_| l.admit("w", 5_000, 10)));
        assert!(!l.admit("w", 5_999, 10));
        assert!(l.admit("w", 6_000, 10));
        assert!(l.admit("other", 5_999, 10));
    }
}
