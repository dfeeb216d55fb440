use std::time::Duration;

use atomik_secrets::Secret;

/// One Tradovate environment (Demo or Live) as atomik reaches it.
#[derive(Debug, Clone)]
pub struct TradovateConfig {
    /// REST base including `/v1`, e.g. `https://demo.tradovateapi.com/v1`.
    pub rest_url: String,
    /// The OAuth authorization page, e.g. `https://trader.tradovate.com/oauth`.
    pub auth_url: String,
    /// The token endpoint, e.g. `https://live.tradovateapi.com/auth/oauthtoken`.
    pub token_url: String,
    pub client_id: String,
    pub client_secret: Secret<String>,
    /// Registered exactly at Tradovate.
    pub redirect_uri: String,
    pub request_timeout: Duration,
    /// Longest `p-time` penalty we wait out inline; longer ones are reported
    /// as rate limiting.
    pub max_penalty_wait: Duration,
}
