use std::time::Duration;

/// One Binance environment (Testnet or Live) as atomik reaches it.
#[derive(Debug, Clone)]
pub struct BinanceConfig {
    /// Spot REST base (paths `/api/v3/…`), e.g. `https://api.binance.com`.
    pub spot_url: String,
    /// USDⓈ-M futures REST base (paths `/fapi/…`), e.g. `https://fapi.binance.com`.
    pub futures_url: String,
    pub request_timeout: Duration,
    /// `recvWindow` on signed requests (Binance's default is 5000 ms).
    pub recv_window_ms: u64,
    /// How long symbol filters from `exchangeInfo` are trusted.
    pub exchange_info_ttl: Duration,
    /// How often the server-time offset is measured again.
    pub time_sync_interval: Duration,
    /// Requests wait inline for the next rate-limit window at most this
    /// long; a longer wait is reported as rate limiting (nothing sent).
    pub max_throttle_wait: Duration,
    /// Fraction of a rate limit atomik uses before it slows down.
    pub rate_headroom: f64,
}

impl BinanceConfig {
    pub const LIVE_SPOT: &'static str = "https://api.binance.com";
    pub const LIVE_FUTURES: &'static str = "https://fapi.binance.com";
    pub const TESTNET_SPOT: &'static str = "https://testnet.binance.vision";
    pub const TESTNET_FUTURES: &'static str = "https://testnet.binancefuture.com";

    /// Both markets under one base URL (the simulator serves `/api` and `/fapi` together).
    pub fn single(base: &str) -> Self {
        let base = base.trim_end_matches('/');
        Self::new(base, base)
    }

    pub fn new(spot_url: &str, futures_url: &str) -> Self {
        BinanceConfig {
            spot_url: spot_url.trim_end_matches('/').to_string(),
            futures_url: futures_url.trim_end_matches('/').to_string(),
            request_timeout: Duration::from_secs(10),
            recv_window_ms: 5000,
            exchange_info_ttl: Duration::from_secs(600),
            time_sync_interval: Duration::from_secs(300),
            max_throttle_wait: Duration::from_secs(5),
            rate_headroom: 0.9,
        }
    }
}
