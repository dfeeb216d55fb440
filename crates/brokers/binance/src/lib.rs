//! Binance: the adapter (spot and USDⓈ-M futures over signed REST, HMAC or
//! Ed25519 keys) and a simulator that speaks the same wire protocol, for
//! tests and as atomik's Testnet environment in the demo.

pub mod sign;
pub mod sim;
