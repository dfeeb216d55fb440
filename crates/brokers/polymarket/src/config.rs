//! Where the CLOB and the market-data API are, and the adapter's bounds.

use std::time::Duration;

use rust_decimal::Decimal;

#[derive(Debug, Clone)]
pub struct PolymarketConfig {
    /// The CLOB REST host (`https://clob.polymarket.com`, or the simulator).
    pub clob_url: String,
    /// The market-data (Gamma) host that resolves market slugs
    /// (`https://gamma-api.polymarket.com`).
    pub gamma_url: String,
    /// The Data API host that lists a wallet's positions
    /// (`https://data-api.polymarket.com`).
    pub data_url: String,
    /// Polygon 137 (Amoy 80002 for testnet contracts).
    pub chain_id: u64,
    /// Per request.
    pub timeout: Duration,
    /// A market order's worst price without an alert price: the best price
    /// on the book moved by this much against the order (BUY up, SELL down).
    pub max_slippage: Decimal,
    /// How long a market's tick size, minimum size and neg-risk flag are
    /// cached.
    pub market_ttl: Duration,
}

impl PolymarketConfig {
    pub const CLOB_LIVE: &'static str = "https://clob.polymarket.com";
    pub const GAMMA_LIVE: &'static str = "https://gamma-api.polymarket.com";
    pub const DATA_LIVE: &'static str = "https://data-api.polymarket.com";
    /// Five cents: on a market priced 0.55 a BUY fills at 0.60 at worst.
    pub const DEFAULT_SLIPPAGE: Decimal = Decimal::from_parts(5, 0, 0, false, 2);

    pub fn live() -> Self {
        PolymarketConfig {
            clob_url: Self::CLOB_LIVE.into(),
            gamma_url: Self::GAMMA_LIVE.into(),
            data_url: Self::DATA_LIVE.into(),
            chain_id: crate::contracts::POLYGON,
            timeout: Duration::from_secs(10),
            max_slippage: Self::DEFAULT_SLIPPAGE,
            market_ttl: Duration::from_secs(300),
        }
    }

    /// A CLOB at `clob_url` that also serves the market-data API under
    /// `/gamma` and the Data API under `/data-api` (the simulator).
    pub fn simulator(clob_url: &str) -> Self {
        let base = clob_url.trim_end_matches('/');
        PolymarketConfig {
            clob_url: base.into(),
            gamma_url: format!("{base}/gamma"),
            data_url: format!("{base}/data-api"),
            ..Self::live()
        }
    }
}
