//! `/_sim/faults` over HTTP, the same on every simulator (each merges
//! [`faults_router`]), so a process outside the simulator — the chaos
//! checker, a person with curl — can inject and count faults:
//!
//! - `GET /_sim/faults` → `{"queue": [fault…], "random": {"rate", "kinds"} | null,
//!   "fired": {kind: count}, "fired_total": n}`
//! - `POST /_sim/faults` with `{"queue": [fault…]}` (appended) and/or
//!   `{"random": {"rate": 0.2, "kind": "drop_after"}}` (or `"kinds": […]`,
//!   one picked at random per faulted call; rate 0 turns it off)
//! - `DELETE /_sim/faults` → clears the queue and the random rate (counts stay)
//!
//! A fault is `{"kind": …}` with `ms` for `latency`, `timeout_before`,
//! `timeout_after` and `retry_after_secs` for `too_many_requests`. Venue
//! faults are not available over HTTP. A malformed body answers 400 with
//! `{"error": "<what is wrong>"}`.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};

use crate::{Fault, Faults, VenueFault};

/// A simulator's shared state exposes its fault harness.
pub trait HasFaults<V: VenueFault>: Send + Sync + 'static {
    fn faults(&self) -> &Faults<V>;
}

/// `/_sim/faults` (GET, POST, DELETE) for a simulator whose state is `Arc<S>`.
pub fn faults_router<S, V>() -> Router<Arc<S>>
where
    S: HasFaults<V>,
    V: VenueFault,
{
    Router::new().route(
        "/_sim/faults",
        get(show::<S, V>).post(change::<S, V>).delete(clear::<S, V>),
    )
}

const KINDS: &str = "latency (ms), server_error_before, server_error_after, timeout_before (ms), \
                     timeout_after (ms), drop_after, too_many_requests (retry_after_secs)";

fn fault_json<V: VenueFault>(f: &Fault<V>) -> Value {
    let mut v = json!({"kind": f.kind()});
    match f {
        Fault::Latency(d) | Fault::TimeoutBefore(d) | Fault::TimeoutAfter(d) => {
            v["ms"] = json!(d.as_millis() as u64);
        }
        Fault::TooManyRequests { retry_after_secs } => {
            v["retry_after_secs"] = json!(retry_after_secs);
        }
        _ => {}
    }
    v
}

/// A fault from its JSON; the error says which field is wrong.
pub fn parse_fault<V: VenueFault>(v: &Value) -> Result<Fault<V>, String> {
    let obj = v.as_object().ok_or_else(|| {
        format!("a fault must be an object like {{\"kind\": \"drop_after\"}}, got {v}")
    })?;
    let kind = obj
        .get("kind")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("a fault needs a string \"kind\" (one of: {KINDS}), got {v}"))?;
    let number = |field: &str| -> Result<u64, String> {
        obj.get(field).and_then(Value::as_u64).ok_or_else(|| {
            format!("fault kind `{kind}` needs \"{field}\" as a non-negative integer, got {v}")
        })
    };
    let ms = |field| number(field).map(Duration::from_millis);
    Ok(match kind {
        "latency" => Fault::Latency(ms("ms")?),
        "server_error_before" => Fault::ServerErrorBefore,
        "server_error_after" => Fault::ServerErrorAfter,
        "timeout_before" => Fault::TimeoutBefore(ms("ms")?),
        "timeout_after" => Fault::TimeoutAfter(ms("ms")?),
        "drop_after" => Fault::DropAfter,
        "too_many_requests" => Fault::TooManyRequests {
            retry_after_secs: number("retry_after_secs")?,
        },
        other => return Err(format!("unknown fault kind `{other}`; one of: {KINDS}")),
    })
}

async fn show<S: HasFaults<V>, V: VenueFault>(State(s): State<Arc<S>>) -> Response {
    let faults = s.faults();
    let random = faults.random().map(|(rate, kinds)| {
        json!({"rate": rate, "kinds": kinds.iter().map(fault_json).collect::<Vec<_>>()})
    });
    let fired: Map<String, Value> = faults
        .fired_by_kind()
        .into_iter()
        .map(|(k, n)| (k.to_string(), json!(n)))
        .collect();
    axum::Json(json!({
        "queue": faults.queued().iter().map(fault_json).collect::<Vec<_>>(),
        "random": random,
        "fired": fired,
        "fired_total": faults.fired_total(),
    }))
    .into_response()
}

fn bad(why: String) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(json!({"error": why}))).into_response()
}

type Change<V> = (Vec<Fault<V>>, Option<(f64, Vec<Fault<V>>)>);

fn parse_change<V: VenueFault>(body: &[u8]) -> Result<Change<V>, String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let obj = v
        .as_object()
        .ok_or("the body must be an object with \"queue\" and/or \"random\"")?;
    if let Some(field) = obj.keys().find(|k| *k != "queue" && *k != "random") {
        return Err(format!(
            "unknown field \"{field}\"; expected \"queue\" and/or \"random\""
        ));
    }
    if obj.is_empty() {
        return Err("expected \"queue\" and/or \"random\"".into());
    }
    let queue = match obj.get("queue") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, f)| parse_fault(f).map_err(|e| format!("queue[{i}]: {e}")))
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(format!("\"queue\" must be an array of faults, got {other}")),
    };
    let random = match obj.get("random") {
        None => None,
        Some(r) => {
            let rate = r
                .get("rate")
                .and_then(Value::as_f64)
                .filter(|p| (0.0..=1.0).contains(p))
                .ok_or_else(|| format!("\"random.rate\" must be a number from 0 to 1, got {r}"))?;
            let kinds: Vec<Value> = match (r.get("kind"), r.get("kinds")) {
                (Some(k), None) => vec![k.clone()],
                (None, Some(Value::Array(ks))) if !ks.is_empty() => ks.clone(),
                _ => {
                    return Err(format!(
                        "\"random\" needs \"kind\" (a fault kind or fault) or a non-empty \"kinds\" array, got {r}"
                    ));
                }
            };
            let kinds = kinds
                .iter()
                .map(|k| match k {
                    Value::String(_) => parse_fault(&json!({"kind": k})),
                    other => parse_fault(other),
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("random: {e}"))?;
            Some((rate, kinds))
        }
    };
    Ok((queue, random))
}

async fn change<S: HasFaults<V>, V: VenueFault>(State(s): State<Arc<S>>, body: Bytes) -> Response {
    let (queue, random) = match parse_change::<V>(&body) {
        Ok(c) => c,
        Err(why) => return bad(why),
    };
    let faults = s.faults();
    for f in queue {
        faults.fail_next(1, f);
    }
    if let Some((rate, kinds)) = random {
        faults.fail_randomly_among(rate, kinds);
    }
    show(State(s)).await
}

async fn clear<S: HasFaults<V>, V: VenueFault>(State(s): State<Arc<S>>) -> Response {
    s.faults().clear();
    show(State(s)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NoVenueFault;

    #[test]
    fn bad_bodies_name_what_is_wrong() {
        for (body, says) in [
            ("nope", "not JSON"),
            ("[]", "must be an object"),
            ("{}", "expected \"queue\""),
            (r#"{"qeue":[]}"#, "unknown field \"qeue\""),
            (r#"{"queue":{}}"#, "must be an array"),
            (
                r#"{"queue":[{"kind":"boom"}]}"#,
                "queue[0]: unknown fault kind `boom`",
            ),
            (r#"{"queue":[{"kind":"latency"}]}"#, "needs \"ms\""),
            (
                r#"{"random":{"rate":2,"kind":"drop_after"}}"#,
                "random.rate",
            ),
            (r#"{"random":{"rate":0.5}}"#, "needs \"kind\""),
        ] {
            let err = parse_change::<NoVenueFault>(body.as_bytes()).err().unwrap();
            assert!(err.contains(says), "{body}: {err}");
        }
    }

    #[test]
    fn a_change_parses_queue_and_random() {
        let (queue, random) = parse_change::<NoVenueFault>(
            br#"{"queue":[{"kind":"server_error_after"},{"kind":"latency","ms":200}],
                "random":{"rate":0.2,"kinds":["drop_after",{"kind":"timeout_after","ms":50}]}}"#,
        )
        .unwrap();
        assert_eq!(
            queue,
            vec![
                Fault::ServerErrorAfter,
                Fault::Latency(Duration::from_millis(200))
            ]
        );
        let (rate, kinds) = random.unwrap();
        assert_eq!(rate, 0.2);
        assert_eq!(
            kinds,
            vec![
                Fault::DropAfter,
                Fault::TimeoutAfter(Duration::from_millis(50))
            ]
        );
    }
}
