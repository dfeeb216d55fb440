//! Binance: the adapter (spot and USDⓈ-M futures over signed REST, HMAC or
//! Ed25519 keys). Its simulator is the separate `atomik-binance-sim` crate.

mod adapter;
mod client;
mod config;
mod filters;
mod limits;
pub mod sign;
#[doc(hidden)]
pub mod wire;

pub use adapter::{Binance, parse_symbol};
pub use client::Market;
pub use config::BinanceConfig;

/// The pure decoding of Binance's answers, public for the fuzz targets
/// (`atomik-fuzzing`); not an API.
#[doc(hidden)]
pub mod parsing {
    pub use crate::adapter::{futures_position, order_report, order_state};
    pub use crate::client::{
        Answer, Effect, Failure, Stop, classify, observe_headers, read_answer, retry_after_header,
        typed,
    };
    pub use crate::filters::{Lot, SymbolRules};
    pub use crate::limits::{Hold, Limits, Window, interval_ms};
}
