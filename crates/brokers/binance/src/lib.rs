//! Binance: the adapter (spot and USDⓈ-M futures over signed REST, HMAC or
//! Ed25519 keys). Its simulator is the separate `atomik-binance-sim` crate.

mod adapter;
mod client;
mod config;
mod filters;
mod limits;
pub mod sign;
mod wire;

pub use adapter::{Binance, parse_symbol};
pub use client::Market;
pub use config::BinanceConfig;
