//! HTTP to Tradovate and the mapping of every failure shape onto
//! [`BrokerError`]:
//!
//! | what happens | error |
//! |---|---|
//! | connection refused / never sent | `NotSent` |
//! | timeout, 5xx, connection dropped — on a call that changes state | `Ambiguous` (look the order up) |
//! | the same on a read or a token renewal (nothing executes) | `NotSent` (safe to retry) |
//! | 200 with `failureReason`/`failureText` or `errorText` | `Rejected`, Tradovate's words kept |
//! | 200 with `p-ticket`: wait `p-time`, resend the identical body plus the ticket | retried (or `RateLimited` if the wait is too long) |
//! | 200 with `p-captcha: true` | `NeedsAttention` |
//! | 429 | `RateLimited`, and no call to this environment until the lock-out ends |
//! | 401 | `AuthExpired` |

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use atomik_broker::{BrokerError, Clock};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::TradovateConfig;

/// Tradovate documents an hour of lock-out after a 429 without Retry-After.
const DEFAULT_LOCKOUT: Duration = Duration::from_secs(3600);
const MAX_PENALTY_ROUNDS: usize = 3;

/// Does a failed call leave the broker's state unknown?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Reads and token renewals: nothing executes, retrying is safe.
    Read,
    /// Order placement/cancel: a lost answer may hide an execution.
    Write,
}

pub struct Client {
    http: reqwest::Client,
    config: TradovateConfig,
    clock: Arc<dyn Clock>,
    /// After a 429: no call before this instant (clock ms).
    locked_until: AtomicI64,
}

impl Client {
    pub fn new(config: TradovateConfig, clock: Arc<dyn Clock>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout.min(Duration::from_secs(5)))
            .build()
            .expect("HTTP client");
        Client {
            http,
            config,
            clock,
            locked_until: AtomicI64::new(0),
        }
    }

    pub fn config(&self) -> &TradovateConfig {
        &self.config
    }

    fn lockout_remaining(&self) -> Option<Duration> {
        let until = self.locked_until.load(Ordering::SeqCst);
        let now = self.clock.now_ms();
        (until > now).then(|| Duration::from_millis((until - now) as u64))
    }

    /// Call `path` under the REST base with the bearer `token`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
        effect: Effect,
    ) -> Result<T, BrokerError> {
        let url = format!("{}{}", self.config.rest_url, path);
        let value = self.send(method, &url, Some(token), body, effect).await?;
        typed(value, path, effect)
    }

    /// One logical request, including penalty-ticket retries.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        token: Option<&str>,
        body: Option<Value>,
        effect: Effect,
    ) -> Result<Value, BrokerError> {
        if let Some(wait) = self.lockout_remaining() {
            return Err(BrokerError::RateLimited {
                retry_after: wait,
                reason: "Tradovate rate limit lock-out in force; not calling until it ends".into(),
            });
        }
        let mut body = body;
        for _ in 0..=MAX_PENALTY_ROUNDS {
            let value = self
                .send_once(method.clone(), url, token, body.as_ref(), effect)
                .await?;
            let Penalty::Wait { wait, ticket } = penalty(&value, self.config.max_penalty_wait)?
            else {
                return Ok(value);
            };
            tracing::info!(
                wait_secs = wait.as_secs(),
                "Tradovate penalty ticket: waiting, then resending"
            );
            tokio::time::sleep(wait).await;
            let mut resend = body
                .clone()
                .unwrap_or_else(|| Value::Object(Default::default()));
            if let Value::Object(map) = &mut resend {
                map.insert("p-ticket".into(), Value::String(ticket));
            }
            body = Some(resend);
        }
        Err(BrokerError::RateLimited {
            retry_after: Duration::from_secs(60),
            reason: "Tradovate kept answering with penalty tickets".into(),
        })
    }

    async fn send_once(
        &self,
        method: Method,
        url: &str,
        token: Option<&str>,
        body: Option<&Value>,
        effect: Effect,
    ) -> Result<Value, BrokerError> {
        let mut request = self
            .http
            .request(method, url)
            .header("accept", "application/json");
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let unknown = |what: String| match effect {
            Effect::Write => BrokerError::Ambiguous(what),
            Effect::Read => BrokerError::NotSent(what),
        };
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) if e.is_connect() => {
                return Err(BrokerError::NotSent(format!(
                    "cannot reach Tradovate: {}",
                    short(&e)
                )));
            }
            Err(e) if e.is_timeout() => {
                return Err(unknown(format!(
                    "Tradovate did not answer in time: {}",
                    short(&e)
                )));
            }
            Err(e) => {
                return Err(unknown(format!(
                    "connection to Tradovate failed: {}",
                    short(&e)
                )));
            }
        };
        let status = response.status();
        let retry_after = retry_after_header(
            response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()),
        );
        let text = match response.text().await {
            Ok(t) => t,
            Err(e) => {
                return Err(unknown(format!(
                    "Tradovate's answer was cut off: {}",
                    short(&e)
                )));
            }
        };
        let answer = read_answer(status.as_u16(), retry_after, &text, effect);
        if status == StatusCode::TOO_MANY_REQUESTS
            && let Err(BrokerError::RateLimited { retry_after, .. }) = &answer
        {
            self.locked_until.store(
                lockout_until(self.clock.now_ms(), *retry_after),
                Ordering::SeqCst,
            );
        }
        answer
    }
}

/// `Retry-After` in seconds.
pub fn retry_after_header(value: Option<&str>) -> Option<Duration> {
    value
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// The clock instant a 429's lock-out ends (any `Retry-After`: a wait too
/// long for the clock locks out for good rather than wrapping into the past).
pub fn lockout_until(now_ms: i64, wait: Duration) -> i64 {
    now_ms.saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX))
}

/// A call's JSON as the type the caller expects; a shape that does not fit
/// is an unknown outcome on a write.
pub fn typed<T: DeserializeOwned>(
    value: Value,
    path: &str,
    effect: Effect,
) -> Result<T, BrokerError> {
    serde_json::from_value(value).map_err(|e| {
        let msg = format!("unexpected answer from Tradovate for {path}: {e}");
        match effect {
            Effect::Write => BrokerError::Ambiguous(msg),
            Effect::Read => BrokerError::NotSent(msg),
        }
    })
}

/// What a 200 answer's penalty fields (`p-ticket`, `p-time`, `p-captcha`) ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Penalty {
    /// No ticket: the answer is the result.
    None,
    /// Wait, then resend the identical body plus the ticket.
    Wait { wait: Duration, ticket: String },
}

pub fn penalty(value: &Value, max_wait: Duration) -> Result<Penalty, BrokerError> {
    let Some(ticket) = value.get("p-ticket").and_then(Value::as_str) else {
        return Ok(Penalty::None);
    };
    if value
        .get("p-captcha")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        return Err(BrokerError::NeedsAttention(
            "Tradovate requires a captcha for this login; atomik cannot solve it. The account is paused: \
             wait an hour, then resume it."
                .into(),
        ));
    }
    let wait = Duration::from_secs(value.get("p-time").and_then(Value::as_u64).unwrap_or(1));
    if wait > max_wait {
        return Err(BrokerError::RateLimited {
            retry_after: wait,
            reason: format!("Tradovate penalty: retry in {}s", wait.as_secs()),
        });
    }
    Ok(Penalty::Wait {
        wait,
        ticket: ticket.to_string(),
    })
}

/// What one HTTP answer (status, `Retry-After`, body) means; the pure part
/// of a call (a 429's lock-out is applied by the caller).
pub fn read_answer(
    status: u16,
    retry_after: Option<Duration>,
    text: &str,
    effect: Effect,
) -> Result<Value, BrokerError> {
    let unknown = |what: String| match effect {
        Effect::Write => BrokerError::Ambiguous(what),
        Effect::Read => BrokerError::NotSent(what),
    };
    let Ok(status) = StatusCode::from_u16(status) else {
        return Err(unknown(format!("Tradovate answered HTTP {status}")));
    };
    match status {
        StatusCode::TOO_MANY_REQUESTS => {
            let wait = retry_after.unwrap_or(DEFAULT_LOCKOUT);
            Err(BrokerError::RateLimited {
                retry_after: wait,
                reason: "Tradovate answered 429 Too Many Requests".into(),
            })
        }
        StatusCode::UNAUTHORIZED => Err(BrokerError::AuthExpired(format!(
            "Tradovate refused the access token (401){}",
            error_text(text)
                .map(|t| format!(": {t}"))
                .unwrap_or_default()
        ))),
        s if s.is_server_error() => Err(unknown(format!("Tradovate answered HTTP {}", s.as_u16()))),
        s if !s.is_success() => Err(BrokerError::Rejected {
            code: Some(s.as_u16().to_string()),
            reason: error_text(text).unwrap_or_else(|| format!("HTTP {}", s.as_u16())),
        }),
        _ => {
            let value: Value = serde_json::from_str(text).map_err(|_| {
                unknown("Tradovate answered with something that is not JSON".into())
            })?;
            check_business_failure(&value)?;
            Ok(value)
        }
    }
}

/// `failureReason`/`failureText` and `errorText` inside HTTP 200 answers.
fn check_business_failure(value: &Value) -> Result<(), BrokerError> {
    if let Some(reason) = value.get("failureReason").and_then(Value::as_str)
        && reason != "Success"
    {
        let text = value
            .get("failureText")
            .and_then(Value::as_str)
            .unwrap_or(reason);
        return Err(BrokerError::Rejected {
            code: Some(reason.to_string()),
            reason: text.to_string(),
        });
    }
    if let Some(text) = value
        .get("errorText")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    {
        return Err(BrokerError::Rejected {
            code: None,
            reason: text.to_string(),
        });
    }
    Ok(())
}

fn error_text(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    ["errorText", "error_description", "failureText", "error"]
        .iter()
        .find_map(|k| v.get(*k).and_then(Value::as_str).map(String::from))
}

/// A transport error without the URL (which could carry query parameters).
fn short(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut s = e
        .source()
        .map(|s| s.to_string())
        .unwrap_or_else(|| "transport error".into());
    s.truncate(200);
    s
}
