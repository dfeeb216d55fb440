use std::net::IpAddr;
use std::time::Duration;

use atomik_secrets::Secret;

use crate::listener::ConnectionLimits;
use crate::ratelimit::Rate;

/// Everything the HTTP layer needs to know from configuration.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Mark cookies `Secure` (and use the `__Host-` prefix). Turn on whenever
    /// atomik is reached over HTTPS, directly or through a TLS proxy.
    pub secure_cookies: bool,
    pub session_ttl: Duration,
    /// Whether the public sign-up page is open.
    pub signup_enabled: bool,
    /// The plan a new sign-up gets; paid plans start `trialing`.
    pub signup_plan: String,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    pub throttle: ThrottleConfig,
    /// Identical payloads on one webhook within this window are duplicates.
    pub duplicate_window_ms: i64,
    /// A webhook's rate limit unless it sets its own (within its plan's
    /// ceiling): 10 per second with a burst of 50.
    pub webhook_rate: Rate,
    /// The bearer token `/metrics` answers on the main listener; `None`: not
    /// served there.
    pub metrics_token: Option<Secret<String>>,
    /// Timeouts and caps on connections.
    pub connections: ConnectionLimits,
}

/// Login throttling: failures allowed per window, per account and per IP.
#[derive(Debug, Clone)]
pub struct ThrottleConfig {
    pub account_failures: i64,
    pub ip_failures: i64,
    pub window: Duration,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            account_failures: 5,
            ip_failures: 50,
            window: Duration::from_secs(15 * 60),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            secure_cookies: false,
            session_ttl: Duration::from_secs(7 * 24 * 3600),
            signup_enabled: true,
            signup_plan: "starter".into(),
            trusted_proxies: Vec::new(),
            throttle: ThrottleConfig::default(),
            duplicate_window_ms: crate::ingress::DEFAULT_DUPLICATE_WINDOW_MS,
            webhook_rate: Rate::DEFAULT,
            metrics_token: None,
            connections: ConnectionLimits::default(),
        }
    }
}
