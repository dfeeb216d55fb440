//! Binance: the adapter (spot and USDⓈ-M futures over signed REST, HMAC or
//! Ed25519 keys) and a simulator that speaks the same wire protocol, for
//! tests and as atomik's Testnet environment in the demo.

mod adapter;
mod client;
mod config;
mod filters;
mod limits;
pub mod sign;
pub mod sim;
mod wire;

pub use adapter::{Binance, parse_symbol};
pub use client::Market;
pub use config::BinanceConfig;
