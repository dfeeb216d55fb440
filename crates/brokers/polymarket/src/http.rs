//! REST calls to the CLOB and the market-data API, and the mapping of every
//! failure onto [`BrokerError`]:
//!
//! | what happens | error |
//! |---|---|
//! | connection refused, never sent | `NotSent` |
//! | timeout, 5xx, dropped connection — on `POST /order` | `Ambiguous` (look the order hash up) |
//! | the same on a read | `NotSent` (safe to retry) |
//! | 503 trading disabled / cancel-only | `NotSent` with Polymarket's words (nothing was taken) |
//! | 429 | `RateLimited` |
//! | 401 | `AuthExpired` (API key unknown or revoked) |
//! | `{"error": …}` otherwise, or `success: false` | `Rejected`, Polymarket's words kept |
//!
//! L2 requests are signed over the path without its query and the exact
//! body bytes sent (BROKERS.md §4.3).

use std::time::Duration;

use atomik_broker::BrokerError;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::sign::{l1::L1Headers, l2::ApiCredentials};
use crate::{Address, PolymarketConfig};

/// Does a failed call leave the venue's state unknown?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Read,
    /// Places an order: a lost answer may hide an execution.
    Order,
}

/// How a request authenticates.
pub enum Auth<'a> {
    None,
    L1(&'a L1Headers),
    L2 {
        credentials: &'a ApiCredentials,
        address: Address,
        timestamp: u64,
    },
}

pub struct Http {
    client: reqwest::Client,
    clob: String,
    gamma: String,
    data: String,
}

/// Polymarket's texts for a venue that takes no orders now.
const TRADING_DISABLED: &str = "Trading is currently disabled";
const CANCEL_ONLY: &str = "cancel-only";

impl Http {
    pub fn new(config: &PolymarketConfig) -> Self {
        Http {
            client: reqwest::Client::builder()
                .timeout(config.timeout)
                .connect_timeout(config.timeout.min(Duration::from_secs(5)))
                .build()
                .expect("reqwest client"),
            clob: config.clob_url.trim_end_matches('/').to_string(),
            gamma: config.gamma_url.trim_end_matches('/').to_string(),
            data: config.data_url.trim_end_matches('/').to_string(),
        }
    }

    /// A market-data (Gamma) GET.
    pub async fn gamma<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, BrokerError> {
        let url = format!("{}{path}", self.gamma);
        let request = self.client.get(url).query(query);
        self.send(request, path, Effect::Read).await
    }

    /// A Data API GET.
    pub async fn data<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, BrokerError> {
        let request = self.client.get(format!("{}{path}", self.data)).query(query);
        self.send(request, path, Effect::Read).await
    }

    /// A CLOB call. `body` is sent byte for byte (and signed so under L2).
    pub async fn clob<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&str>,
        auth: Auth<'_>,
        effect: Effect,
    ) -> Result<T, BrokerError> {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.clob))
            .query(query);
        match auth {
            Auth::None => {}
            Auth::L1(h) => {
                for (name, value) in h.pairs() {
                    request = request.header(name, value);
                }
            }
            Auth::L2 {
                credentials,
                address,
                timestamp,
            } => {
                let headers = credentials.headers(
                    address,
                    timestamp,
                    method.as_str(),
                    path,
                    body.unwrap_or(""),
                );
                for (name, value) in headers.expose_pairs() {
                    let mut value =
                        reqwest::header::HeaderValue::from_str(value).map_err(|_| {
                            BrokerError::Misconfigured("an L2 header is not ASCII".into())
                        })?;
                    value.set_sensitive(true);
                    request = request.header(name, value);
                }
            }
        }
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        self.send(request, path, effect).await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        path: &str,
        effect: Effect,
    ) -> Result<T, BrokerError> {
        let unknown = |what: String| match effect {
            Effect::Order => BrokerError::Ambiguous(what),
            Effect::Read => BrokerError::NotSent(what),
        };
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) if e.is_connect() => {
                return Err(BrokerError::NotSent(format!(
                    "cannot reach Polymarket ({path}): {}",
                    root_cause(&e)
                )));
            }
            Err(e) => {
                return Err(unknown(format!(
                    "no answer from Polymarket to {path}: {}",
                    root_cause(&e)
                )));
            }
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let bytes = match response.bytes().await {
            Ok(b) => b,
            Err(e) => {
                return Err(unknown(format!(
                    "Polymarket's answer to {path} was cut off: {}",
                    root_cause(&e)
                )));
            }
        };
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| {
                unknown(format!(
                    "Polymarket answered {path} with something unreadable: {e}"
                ))
            });
        }
        let message = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(&bytes).chars().take(200).collect());
        Err(match status {
            StatusCode::TOO_MANY_REQUESTS => BrokerError::RateLimited {
                retry_after: Duration::from_secs(retry_after.unwrap_or(10)),
                reason: format!("Polymarket: {message}"),
            },
            StatusCode::UNAUTHORIZED => BrokerError::AuthExpired(format!(
                "Polymarket refused the API credentials ({message}): reconnect the account"
            )),
            StatusCode::SERVICE_UNAVAILABLE
                if message.contains(TRADING_DISABLED) || message.contains(CANCEL_ONLY) =>
            {
                BrokerError::NotSent(format!("Polymarket takes no new orders now: {message}"))
            }
            s if s.is_server_error() => {
                unknown(format!("Polymarket answered {s} to {path}: {message}"))
            }
            StatusCode::NOT_FOUND => BrokerError::Rejected {
                code: Some("404".into()),
                reason: message,
            },
            s => BrokerError::Rejected {
                code: Some(s.as_u16().to_string()),
                reason: message,
            },
        })
    }
}

/// The innermost error's text (reqwest's outer ones say only "error sending request").
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = e;
    while let Some(next) = inner.source() {
        inner = next;
    }
    inner.to_string()
}
