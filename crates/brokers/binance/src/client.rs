//! Signed REST calls to Binance and the mapping of every failure shape onto
//! [`BrokerError`]:
//!
//! | what happens | error |
//! |---|---|
//! | connection refused / never sent | `NotSent` |
//! | timeout, 5xx, dropped connection, `-1007` — on an order | `Ambiguous` (look it up by client order id) |
//! | the same on a read | `NotSent` (safe to retry) |
//! | `-2010 Duplicate order sent.` | `Ambiguous`: an order with this id is open |
//! | `-1021` timestamp outside recvWindow | clock re-measured, sent once more (Binance rejected it unexecuted) |
//! | 429 | `RateLimited`, no call until `Retry-After` has passed |
//! | 418 | `RateLimited`, no call at all until the ban ends |
//! | `-2014`/`-2015` (key unknown, IP or permission) | `AuthExpired` |
//! | `-1022` (signature invalid) | `Misconfigured` (wrong secret) |
//! | any other `{"code","msg"}` | `Rejected`, Binance's words kept |
//!
//! Signed requests carry `timestamp` (local clock + the measured server-time
//! offset) and `recvWindow`; the signature covers the exact bytes sent.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use atomik_broker::{BrokerError, Clock};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::BinanceConfig;
use crate::limits::{Hold, Limits};
use crate::sign::Signer;
use crate::wire;

/// Spot (`/api`) or USDⓈ-M futures (`/fapi`): separate hosts, clocks and limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Market {
    Spot,
    Futures,
}

impl Market {
    fn time_path(self) -> &'static str {
        match self {
            Market::Spot => "/api/v3/time",
            Market::Futures => "/fapi/v1/time",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Market::Spot => "spot",
            Market::Futures => "USDⓈ-M futures",
        }
    }
}

/// Does a failed call leave the venue's state unknown?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Read,
    /// Places or cancels an order: a lost answer may hide an execution.
    Order,
}

/// An API key and how it signs, for one call.
pub struct Credentials {
    pub api_key: String,
    pub signer: Signer,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(<redacted>)")
    }
}

/// One call: where, what it costs, and whether it is signed.
pub struct Call<'a> {
    pub market: Market,
    pub method: Method,
    pub path: &'a str,
    pub params: Vec<(&'a str, String)>,
    pub weight: u32,
    pub effect: Effect,
    pub credentials: Option<&'a Credentials>,
}

struct Venue {
    base_url: String,
    /// Server time − local time, measured.
    offset_ms: AtomicI64,
    /// Local time of the last measurement (`i64::MIN`: never).
    synced_at: AtomicI64,
    sync: tokio::sync::Mutex<()>,
    limits: std::sync::Mutex<Limits>,
}

pub struct Client {
    http: reqwest::Client,
    config: BinanceConfig,
    clock: Arc<dyn Clock>,
    spot: Venue,
    futures: Venue,
}

/// How a single attempt failed, before mapping to [`BrokerError`].
#[derive(Debug)]
pub enum Failure {
    Broker(BrokerError),
    /// `-1021`: the clock is off; re-measure and send again.
    Timestamp(String),
}

impl From<BrokerError> for Failure {
    fn from(e: BrokerError) -> Self {
        Failure::Broker(e)
    }
}

impl Client {
    pub fn new(config: BinanceConfig, clock: Arc<dyn Clock>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout.min(Duration::from_secs(5)))
            .build()
            .expect("HTTP client");
        let venue = |base_url: &str, weight, orders| Venue {
            base_url: base_url.to_string(),
            offset_ms: AtomicI64::new(0),
            synced_at: AtomicI64::new(i64::MIN),
            sync: tokio::sync::Mutex::new(()),
            limits: std::sync::Mutex::new(Limits::new(weight, orders)),
        };
        Client {
            http,
            spot: venue(&config.spot_url, 6000, 50),
            futures: venue(&config.futures_url, 2400, 300),
            config,
            clock,
        }
    }

    fn venue(&self, market: Market) -> &Venue {
        match market {
            Market::Spot => &self.spot,
            Market::Futures => &self.futures,
        }
    }

    /// The venue's clock as best we know it.
    pub fn server_now(&self, market: Market) -> i64 {
        self.clock.now_ms() + self.venue(market).offset_ms.load(Ordering::Relaxed)
    }

    pub fn configure_limits(&self, market: Market, limits: &[wire::RateLimit]) {
        self.venue(market)
            .limits
            .lock()
            .expect("limits")
            .configure(limits);
    }

    /// Request weight used in the current window, as far as we know.
    pub fn weight_used(&self, market: Market) -> u32 {
        self.venue(market)
            .limits
            .lock()
            .expect("limits")
            .weight
            .used()
    }

    pub async fn call<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<T, BrokerError> {
        let effect = call.effect;
        let path = call.path;
        let value = self.send(call).await?;
        typed(value, path, effect)
    }

    pub async fn send(&self, call: Call<'_>) -> Result<Value, BrokerError> {
        if call.credentials.is_some() {
            self.ensure_synced(call.market, false).await?;
        }
        match self.attempt(&call).await {
            Err(Failure::Timestamp(msg)) => {
                tracing::info!(
                    market = call.market.label(),
                    "Binance refused the timestamp (-1021); re-measuring the server time and sending again"
                );
                self.ensure_synced(call.market, true).await?;
                match self.attempt(&call).await {
                    Err(Failure::Timestamp(_)) => Err(BrokerError::NotSent(format!(
                        "Binance keeps refusing our timestamp even after re-measuring its clock: {msg}"
                    ))),
                    Err(Failure::Broker(e)) => Err(e),
                    Ok(v) => Ok(v),
                }
            }
            Err(Failure::Broker(e)) => Err(e),
            Ok(v) => Ok(v),
        }
    }

    /// Measure the server-time offset if it is stale (or `force`d): the
    /// midpoint of the round trip is taken as the moment the server read its clock.
    async fn ensure_synced(&self, market: Market, force: bool) -> Result<(), BrokerError> {
        let venue = self.venue(market);
        let interval = self.config.time_sync_interval.as_millis() as i64;
        let fresh = |v: &Venue| {
            let at = v.synced_at.load(Ordering::Acquire);
            at != i64::MIN && self.clock.now_ms() - at < interval
        };
        if !force && fresh(venue) {
            return Ok(());
        }
        let before_lock = venue.synced_at.load(Ordering::Acquire);
        let _guard = venue.sync.lock().await;
        if venue.synced_at.load(Ordering::Acquire) != before_lock {
            return Ok(()); // someone measured while we waited
        }
        let sent = self.clock.now_ms();
        let answer = self
            .attempt(&Call {
                market,
                method: Method::GET,
                path: market.time_path(),
                params: Vec::new(),
                weight: 1,
                effect: Effect::Read,
                credentials: None,
            })
            .await;
        let t: wire::ServerTime = match answer {
            Ok(v) => serde_json::from_value(v).map_err(|_| {
                BrokerError::NotSent(
                    "Binance's server time answer is not {\"serverTime\":…}".into(),
                )
            })?,
            Err(Failure::Broker(e)) => return Err(e),
            Err(Failure::Timestamp(m)) => return Err(BrokerError::NotSent(m)),
        };
        let received = self.clock.now_ms();
        let offset = t.server_time - (sent + received) / 2;
        venue.offset_ms.store(offset, Ordering::Release);
        venue.synced_at.store(received, Ordering::Release);
        tracing::debug!(
            market = market.label(),
            offset_ms = offset,
            "Binance server time measured"
        );
        Ok(())
    }

    /// Wait for room under the rate limits (at most `max_throttle_wait`).
    async fn throttle(&self, call: &Call<'_>) -> Result<(), BrokerError> {
        let venue = self.venue(call.market);
        let order_key = match call.effect {
            Effect::Order if call.method == Method::POST => {
                call.credentials.map(|c| c.api_key.as_str())
            }
            _ => None,
        };
        let max_wait = self.config.max_throttle_wait.as_millis() as i64;
        let mut waited = 0;
        loop {
            let now = self.server_now(call.market);
            let hold = venue.limits.lock().expect("limits").reserve(
                call.weight,
                order_key,
                self.config.rate_headroom,
                now,
            );
            match hold {
                Ok(()) => return Ok(()),
                Err(Hold::Banned(ms)) => {
                    return Err(BrokerError::RateLimited {
                        retry_after: Duration::from_millis(ms as u64),
                        reason: format!(
                            "Binance banned this IP (HTTP 418) for {}s more; atomik sends nothing until the ban ends",
                            (ms + 999) / 1000
                        ),
                    });
                }
                Err(Hold::Wait(ms)) if waited + ms > max_wait => {
                    return Err(BrokerError::RateLimited {
                        retry_after: Duration::from_millis(ms as u64),
                        reason: format!(
                            "holding back {}s to stay under Binance's {} rate limit",
                            (ms + 999) / 1000,
                            call.market.label()
                        ),
                    });
                }
                Err(Hold::Wait(ms)) => {
                    tracing::debug!(wait_ms = ms, "slowing down before Binance's rate limit");
                    waited += ms;
                    tokio::time::sleep(Duration::from_millis(ms as u64 + 1)).await;
                }
            }
        }
    }

    /// The request's bytes: params as a percent-encoded query string, plus
    /// `timestamp`, `recvWindow` and `signature` when signed.
    fn encode(&self, call: &Call<'_>) -> String {
        let mut query = serde_urlencoded::to_string(&call.params).expect("strings encode");
        if let Some(creds) = call.credentials {
            let sep = if query.is_empty() { "" } else { "&" };
            query.push_str(&format!(
                "{sep}recvWindow={}&timestamp={}",
                self.config.recv_window_ms,
                self.server_now(call.market)
            ));
            let signature = creds.signer.sign(query.as_bytes());
            let encoded = serde_urlencoded::to_string([("signature", signature)]).expect("encodes");
            query.push('&');
            query.push_str(&encoded);
        }
        query
    }

    async fn attempt(&self, call: &Call<'_>) -> Result<Value, Failure> {
        self.throttle(call).await?;
        let venue = self.venue(call.market);
        let payload = self.encode(call);
        let url = format!("{}{}", venue.base_url, call.path);
        // POST carries its parameters as a form body; the others in the query.
        let mut request = if call.method == Method::POST {
            self.http
                .request(Method::POST, &url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(payload)
        } else if payload.is_empty() {
            self.http.request(call.method.clone(), &url)
        } else {
            self.http
                .request(call.method.clone(), format!("{url}?{payload}"))
        };
        if let Some(creds) = call.credentials {
            request = request.header("X-MBX-APIKEY", &creds.api_key);
        }
        let unknown = |what: String| match call.effect {
            Effect::Order => BrokerError::Ambiguous(what),
            Effect::Read => BrokerError::NotSent(what),
        };
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) if e.is_connect() => {
                return Err(
                    BrokerError::NotSent(format!("cannot reach Binance: {}", short(&e))).into(),
                );
            }
            Err(e) if e.is_timeout() => {
                return Err(
                    unknown(format!("Binance did not answer in time: {}", short(&e))).into(),
                );
            }
            Err(e) => {
                return Err(unknown(format!("connection to Binance failed: {}", short(&e))).into());
            }
        };
        let status = response.status();
        let now = self.server_now(call.market);
        let retry_after = retry_after_header(
            response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()),
        );
        self.observe_limits(call, response.headers(), now);
        let text = match response.text().await {
            Ok(t) => t,
            Err(e) => {
                return Err(unknown(format!("Binance's answer was cut off: {}", short(&e))).into());
            }
        };
        let answer = read_answer(status.as_u16(), retry_after, &text, call.effect, now);
        if let Some(stop) = answer.stop {
            {
                let mut limits = venue.limits.lock().expect("limits");
                if stop.banned {
                    limits.ban(stop.until);
                } else {
                    limits.back_off(stop.until);
                }
            }
            tracing::warn!(
                status = status.as_u16(),
                retry_after_secs = stop.wait.as_secs(),
                "Binance rate limit answer; holding back"
            );
        }
        answer.result
    }

    fn observe_limits(&self, call: &Call<'_>, headers: &reqwest::header::HeaderMap, now: i64) {
        let order_key = call.credentials.map(|c| c.api_key.as_str());
        let mut limits = self.venue(call.market).limits.lock().expect("limits");
        let headers = headers
            .iter()
            .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)));
        observe_headers(&mut limits, headers, order_key, now);
    }
}

/// `Retry-After` in seconds.
pub fn retry_after_header(value: Option<&str>) -> Option<Duration> {
    value
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// Feed an answer's `X-MBX-USED-WEIGHT-*` / `X-MBX-ORDER-COUNT-*` headers
/// (lower-case names) to the limits.
pub fn observe_headers<'a>(
    limits: &mut Limits,
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    order_key: Option<&str>,
    now: i64,
) {
    for (name, value) in headers {
        if (name.starts_with("x-mbx-used-weight-") || name.starts_with("x-mbx-order-count-"))
            && let Ok(v) = value.parse::<u32>()
        {
            limits.observe_header(name, v, order_key, now);
        }
    }
}

/// A call's JSON as the type the caller expects; a shape that does not fit
/// is an unknown outcome on an order.
pub fn typed<T: DeserializeOwned>(
    value: Value,
    path: &str,
    effect: Effect,
) -> Result<T, BrokerError> {
    serde_json::from_value(value).map_err(|e| {
        let msg = format!("unexpected answer from Binance for {path}: {e}");
        match effect {
            Effect::Order => BrokerError::Ambiguous(msg),
            Effect::Read => BrokerError::NotSent(msg),
        }
    })
}

/// A 429/418's hold on every call to the market.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stop {
    /// Server ms.
    pub until: i64,
    pub wait: Duration,
    /// 418: banned, not merely backing off.
    pub banned: bool,
}

/// What one answer means, and the hold it puts on the market.
#[derive(Debug)]
pub struct Answer {
    pub result: Result<Value, Failure>,
    pub stop: Option<Stop>,
}

/// What one HTTP answer (status, `Retry-After`, body) means at server time
/// `now`; the pure part of a call.
pub fn read_answer(
    status: u16,
    retry_after: Option<Duration>,
    text: &str,
    effect: Effect,
    now: i64,
) -> Answer {
    let unknown = |what: String| match effect {
        Effect::Order => BrokerError::Ambiguous(what),
        Effect::Read => BrokerError::NotSent(what),
    };
    let done = |result| Answer { result, stop: None };
    let Ok(status) = StatusCode::from_u16(status) else {
        return done(Err(
            unknown(format!("Binance answered HTTP {status}")).into()
        ));
    };
    let api_error = serde_json::from_str::<wire::ApiError>(text).ok();
    match status {
        StatusCode::TOO_MANY_REQUESTS | StatusCode::IM_A_TEAPOT => {
            let banned = status == StatusCode::IM_A_TEAPOT;
            let wait = retry_after.unwrap_or(Duration::from_secs(if banned { 120 } else { 60 }));
            // Any `Retry-After`: a wait too long for the clock holds for
            // good rather than wrapping into the past.
            let until = now.saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX));
            Answer {
                result: Err(BrokerError::RateLimited {
                    retry_after: wait,
                    reason: format!(
                        "Binance answered {} ({}); no calls for {}s",
                        status.as_u16(),
                        api_error
                            .map(|e| e.msg)
                            .unwrap_or_else(|| "too many requests".into()),
                        wait.as_secs()
                    ),
                }
                .into()),
                stop: Some(Stop {
                    until,
                    wait,
                    banned,
                }),
            }
        }
        s if s.is_server_error() => done(Err(unknown(match api_error {
            Some(e) => format!(
                "Binance answered HTTP {} ({}: {})",
                s.as_u16(),
                e.code,
                e.msg
            ),
            None => format!(
                "Binance answered HTTP {}: execution status unknown",
                s.as_u16()
            ),
        })
        .into())),
        s if !s.is_success() => done(match api_error {
            Some(e) => Err(classify(e, effect)),
            None => Err(BrokerError::Rejected {
                code: Some(s.as_u16().to_string()),
                reason: format!("Binance answered HTTP {}", s.as_u16()),
            }
            .into()),
        }),
        _ => done(serde_json::from_str(text).map_err(|_| {
            unknown("Binance answered with something that is not JSON".into()).into()
        })),
    }
}

/// A Binance `{"code","msg"}` refusal in the engine's terms.
pub fn classify(e: wire::ApiError, effect: Effect) -> Failure {
    let msg = format!("{} ({})", e.msg, e.code);
    match e.code {
        -1021 => Failure::Timestamp(msg),
        // "Send status unknown; execution status unknown."
        -1001 | -1006 | -1007 => Failure::Broker(match effect {
            Effect::Order => BrokerError::Ambiguous(msg),
            Effect::Read => BrokerError::NotSent(msg),
        }),
        // Spot -2010 "Duplicate order sent.", futures -4116 "ClientOrderId is duplicated.".
        -4116 => duplicate(msg),
        -2010 if e.msg.contains("Duplicate order") => duplicate(msg),
        -1003 | -1015 => Failure::Broker(BrokerError::RateLimited {
            retry_after: Duration::from_secs(10),
            reason: msg,
        }),
        -2014 | -2015 => Failure::Broker(BrokerError::AuthExpired(format!(
            "Binance refused the API key: {msg}. Check in Binance API Management that the key still exists, \
             allows this server's IP and has the permission for this action"
        ))),
        -1022 => Failure::Broker(BrokerError::Misconfigured(format!(
            "Binance says the signature is not valid ({}): the secret key or private key does not belong to this API key",
            e.code
        ))),
        _ => Failure::Broker(BrokerError::Rejected {
            code: Some(e.code.to_string()),
            reason: e.msg,
        }),
    }
}

fn duplicate(msg: String) -> Failure {
    Failure::Broker(BrokerError::Ambiguous(format!(
        "Binance says an order with this client order id is already open: {msg}"
    )))
}

/// A transport error without the URL (which carries the signed query).
fn short(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut s = e
        .source()
        .map(|s| s.to_string())
        .unwrap_or_else(|| "transport error".into());
    s.truncate(200);
    s
}
