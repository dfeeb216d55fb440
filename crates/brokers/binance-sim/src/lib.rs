//! A Binance simulator speaking Binance's signed REST protocol: spot under
//! `/api` (+ `/sapi/v1/account/apiRestrictions`) and USDⓈ-M futures under
//! `/fapi`, on one port, with Binance's paths, parameter rules, JSON field
//! names, error codes and rate-limit headers; an authoritative order ledger
//! with spot balances and futures positions; and fault injection on order
//! placement and cancel. Time comes from a [`Clock`] (plus a settable skew:
//! server time = clock + skew), so `-1021` handling can be tested.
//!
//! Decisions where Binance documents nothing precise:
//! - The signature payload is the raw query string followed by the raw body,
//!   each with its `signature=` pair removed (bytes as received, not
//!   re-encoded). A parameter in both query and body takes the query's value.
//! - An API key that is empty, over 128 bytes or has spaces/control
//!   characters is malformed (`-2014`); a missing or unknown key is `-2015`.
//! - Only LIMIT and MARKET orders exist (exchangeInfo lists only those). Market
//!   orders fill at once at the symbol price; a marketable LIMIT fills at once
//!   at the symbol price; a resting LIMIT fills at its own price when
//!   [`SimHandle::set_price`] crosses it. No partial fills, no commission.
//! - Spot funds of open orders are locked (BUY: quantity × limit price of the
//!   quote asset; SELL: the base quantity). Futures: one-way mode, leverage 20,
//!   margin = notional / 20; realized PnL goes to the USDT wallet.
//! - `newClientOrderId` is unique among the account's open orders of that
//!   market (spot `-2010 Duplicate order sent.`, futures `-4116 ClientOrderId
//!   is duplicated.`); once the order is filled or canceled the id may be
//!   reused and creates a new order. Lookups by id return the newest order.
//! - Futures answers `newOrderRespType=ACK` (its default) with status NEW and
//!   nothing executed even when the order filled at once, as Binance does.
//! - Request weight is counted per market and client IP in fixed windows
//!   aligned to multiples of the window on the server clock. The first call
//!   over the limit gets 429 (`Retry-After` = seconds to the window's end);
//!   the third further call in that same window is banned: 418 for twice the
//!   window, doubling at each later ban (at most 3 days). Banned calls are not
//!   counted. Order counts (10 s per config, plus spot 160,000/day and futures
//!   1,200/minute) are per account and market; over them: 429 `-1015`.
//! - Faults (see `atomik-simkit`) hit order placement and cancel only.
//!   `ServerErrorAfter` answers Binance's unknown outcome, HTTP 503
//!   `-1007`, after executing; `ServerErrorBefore` answers 500 `-1001`.

mod auth;
mod filters;
mod futures;
mod futures_account;
mod history;
mod limits;
mod reply;
mod routes;
mod sign;
mod spot;
mod state;

/// The request parsing (parameters, signatures, timing, order terms),
/// public for the fuzz targets (`atomik-fuzzing`); not an API.
#[doc(hidden)]
pub mod parsing {
    pub use crate::auth::{Params, check_timing, payload, recv_window_us, timestamp_us};
    pub use crate::filters::{
        decimal, futures as futures_filters, spot as spot_filters, spot_precision,
    };
    pub use crate::reply::ApiError;
    pub use crate::routes::{market_of, weight};
    pub use crate::sign::{ed25519_public_key, verify_ed25519, verify_hmac};
    pub use axum::http::Method;
    pub mod spot {
        pub use crate::spot::{RespType, client_id, order_terms, resp_type, side};
    }
    pub mod futures {
        pub use crate::futures::{ack, client_id, flag, order_terms, position_side};
    }
}

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use atomik_broker::Clock;
use rust_decimal::Decimal;

/// Binance's own faults (beside simkit's venue-neutral ones).
#[derive(Debug, Clone, PartialEq)]
pub enum BinanceFault {
    /// HTTP 418 (IP banned, `-1003`) with this `Retry-After`, without executing.
    Banned { retry_after_secs: u64 },
}

impl atomik_simkit::VenueFault for BinanceFault {
    fn kind(&self) -> &'static str {
        match self {
            BinanceFault::Banned { .. } => "banned",
        }
    }
}

/// A fault the Binance simulator can inject.
pub type Fault = atomik_simkit::Fault<BinanceFault>;
/// The simulator's fault queue and the count of faults that fired.
pub type Faults = atomik_simkit::Faults<BinanceFault>;

#[derive(Clone)]
pub enum SimSecret {
    /// The HMAC secret key.
    Hmac(String),
    /// An Ed25519 public key, PEM or base64 DER.
    Ed25519 { public_key: String },
}

#[derive(Clone)]
pub struct SimKey {
    /// Visible ASCII, at most 128 bytes (Binance issues 64 letters and digits).
    pub api_key: String,
    pub secret: SimSecret,
    pub uid: u64,
    /// Spot `canTrade` and `enableSpotAndMarginTrading`.
    pub can_trade: bool,
    /// Futures trading (every `/fapi` signed call needs it).
    pub enable_futures: bool,
    /// Reported by `/sapi/v1/account/apiRestrictions`.
    pub ip_restricted: bool,
    /// Spot balances: asset, free.
    pub spot_balances: Vec<(String, Decimal)>,
    pub futures_wallet_usdt: Decimal,
}

#[derive(Debug, Clone)]
pub struct SimSymbol {
    pub symbol: String,
    pub base: String,
    pub quote: String,
    /// Market orders fill here; ticker/price returns it.
    pub price: Decimal,
    pub tick_size: Decimal,
    pub min_qty: Decimal,
    pub max_qty: Decimal,
    pub step_size: Decimal,
    /// MARKET_LOT_SIZE stepSize (0 = use LOT_SIZE).
    pub market_step_size: Decimal,
    /// Spot NOTIONAL.minNotional (applyMinToMarket true); futures MIN_NOTIONAL.notional.
    pub min_notional: Decimal,
    /// Listed on `/api` (spot).
    pub spot: bool,
    /// Listed on `/fapi` (USDⓈ-M).
    pub futures: bool,
}

#[derive(Clone)]
pub struct SimConfig {
    pub clock: Arc<dyn Clock>,
    pub keys: Vec<SimKey>,
    pub symbols: Vec<SimSymbol>,
    /// REQUEST_WEIGHT limit per window, per client IP (spot default 6000 per
    /// 1 minute; futures 2400 per 1 minute).
    pub spot_weight_limit: u32,
    pub futures_weight_limit: u32,
    /// The weight window (default 60 s; whole seconds). Headers and
    /// exchangeInfo `rateLimits` name it, e.g. `X-MBX-USED-WEIGHT-2S`.
    pub weight_window: Duration,
    /// ORDERS limit per 10 s per account and market (`X-MBX-ORDER-COUNT-10S`;
    /// `-1015` over it). Binance: spot 50, futures 300.
    pub order_limit_10s: u32,
}

impl SimConfig {
    pub const DEMO_API_KEY: &'static str = "AtomikDemoApiKey7001";
    pub const DEMO_SECRET_KEY: &'static str = "AtomikDemoSecretKey7001";

    /// The demo key (uid 7001, HMAC, can trade, futures enabled, not
    /// IP-restricted) with 10,000
    /// USDT + 0.5 BTC spot and a 10,000 USDT futures wallet; BTCUSDT (60,000)
    /// and ETHUSDT (3,000), both spot and futures.
    pub fn demo(clock: Arc<dyn Clock>) -> Self {
        let d = |s: &str| s.parse::<Decimal>().expect("demo decimal");
        SimConfig {
            clock,
            keys: vec![SimKey {
                api_key: Self::DEMO_API_KEY.into(),
                secret: SimSecret::Hmac(Self::DEMO_SECRET_KEY.into()),
                uid: 7001,
                can_trade: true,
                enable_futures: true,
                ip_restricted: false,
                spot_balances: vec![("USDT".into(), d("10000")), ("BTC".into(), d("0.5"))],
                futures_wallet_usdt: d("10000"),
            }],
            symbols: vec![
                SimSymbol {
                    symbol: "BTCUSDT".into(),
                    base: "BTC".into(),
                    quote: "USDT".into(),
                    price: d("60000"),
                    tick_size: d("0.01"),
                    min_qty: d("0.00001"),
                    max_qty: d("9000"),
                    step_size: d("0.00001"),
                    market_step_size: Decimal::ZERO,
                    min_notional: d("5"),
                    spot: true,
                    futures: true,
                },
                SimSymbol {
                    symbol: "ETHUSDT".into(),
                    base: "ETH".into(),
                    quote: "USDT".into(),
                    price: d("3000"),
                    tick_size: d("0.01"),
                    min_qty: d("0.0001"),
                    max_qty: d("100000"),
                    step_size: d("0.0001"),
                    market_step_size: Decimal::ZERO,
                    min_notional: d("5"),
                    spot: true,
                    futures: true,
                },
            ],
            spot_weight_limit: 6000,
            futures_weight_limit: 2400,
            weight_window: Duration::from_secs(60),
            order_limit_10s: 50,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Market {
    Spot,
    Futures,
}

/// An order as the simulator recorded it.
#[derive(Debug, Clone)]
pub struct SimOrder {
    pub market: Market,
    pub api_key: String,
    pub symbol: String,
    pub order_id: i64,
    pub client_order_id: String,
    pub side: String,
    pub order_type: String,
    pub quantity: Decimal,
    pub price: Option<Decimal>,
    /// NEW, FILLED, CANCELED or EXPIRED.
    pub status: String,
    pub executed_qty: Decimal,
    pub reduce_only: bool,
    /// Server clock when the order reached the matching engine (after any
    /// injected latency).
    pub received_at_ms: i64,
    /// Monotonic time of the same moment (benchmarks measure signal → venue).
    pub received_at: Instant,
}

pub(crate) struct Shared {
    pub config: SimConfig,
    pub state: Mutex<state::State>,
    pub faults: Faults,
    pub skew_ms: AtomicI64,
}

impl Shared {
    /// Server time: the clock plus the configured skew.
    pub fn now(&self) -> i64 {
        self.config.clock.now_ms() + self.skew_ms.load(Ordering::SeqCst)
    }

    pub fn state(&self) -> std::sync::MutexGuard<'_, state::State> {
        self.state.lock().expect("sim state")
    }

    pub fn window_ms(&self) -> i64 {
        self.config.weight_window.as_millis() as i64
    }
}

/// A running simulator.
pub struct SimHandle {
    served: atomik_simkit::Served,
    shared: Arc<Shared>,
}

fn invalid(msg: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, msg)
}

pub async fn start(config: SimConfig, bind: SocketAddr) -> std::io::Result<SimHandle> {
    let window = config.weight_window;
    if window.is_zero() || window.subsec_nanos() != 0 {
        return Err(invalid(format!(
            "weight_window must be whole seconds, got {window:?}"
        )));
    }
    let now = config.clock.now_ms();
    let state = state::State::new(&config, now).map_err(|e| invalid(e.0))?;
    let shared = Arc::new(Shared {
        state: Mutex::new(state),
        config,
        faults: Faults::default(),
        skew_ms: AtomicI64::new(0),
    });
    let served = atomik_simkit::Served::start(bind, routes::service(shared.clone())).await?;
    Ok(SimHandle { served, shared })
}

impl SimHandle {
    /// Spot under `{base}/api`, futures under `{base}/fapi`.
    pub fn base_url(&self) -> String {
        self.served.base_url()
    }

    /// Applied to order placement and cancel (spot and futures); counts
    /// what fired.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// The ledger, in arrival order.
    pub fn orders(&self) -> Vec<SimOrder> {
        self.shared.state().ledger()
    }

    /// Server time = clock + `skew`.
    pub fn set_clock_skew_ms(&self, skew: i64) {
        self.shared.skew_ms.store(skew, Ordering::SeqCst);
    }

    /// Register another key. Panics on a duplicate API key or an Ed25519
    /// public key that does not parse.
    pub fn add_key(&self, key: SimKey) {
        let now = self.shared.now();
        if let Err(e) = self.shared.state().add_account(key, now) {
            panic!("add_key: {}", e.0);
        }
    }

    /// Change a key's trading permissions, as its owner does in Binance API
    /// Management (e.g. untick "Enable Spot & Margin Trading").
    pub fn set_permissions(&self, api_key: &str, can_trade: bool, enable_futures: bool) {
        let mut state = self.shared.state();
        let account = state
            .accounts
            .iter_mut()
            .find(|a| a.key.api_key == api_key)
            .expect("set_permissions: unknown API key");
        account.key.can_trade = can_trade;
        account.key.enable_futures = enable_futures;
    }

    pub fn spot_free(&self, api_key: &str, asset: &str) -> Decimal {
        self.shared.state().spot_balance(api_key, asset).free
    }

    pub fn spot_locked(&self, api_key: &str, asset: &str) -> Decimal {
        self.shared.state().spot_balance(api_key, asset).locked
    }

    /// Signed `positionAmt`.
    pub fn futures_position(&self, api_key: &str, symbol: &str) -> Decimal {
        self.shared.state().position(api_key, symbol).amt
    }

    /// Move a symbol's price; resting LIMIT orders it crosses fill at their price.
    pub fn set_price(&self, symbol: &str, price: Decimal) {
        let now = self.shared.now();
        self.shared.state().set_price(symbol, price, now);
    }

    /// Request weight used in the current window, over every IP and both markets.
    pub fn request_weight_used(&self) -> u32 {
        let (now, window) = (self.shared.now(), self.shared.window_ms());
        self.shared.state().limits.total_used(now, window)
    }

    /// Every error answer sent (HTTP status, Binance code or 0), in order.
    pub fn rejections(&self) -> Vec<(u16, i64)> {
        self.shared.state().rejections.clone()
    }

    pub async fn shutdown(self) {
        self.served.shutdown().await;
    }
}
