//! Tradovate: the adapter (OAuth 2.0 authorization code + PKCE, REST with
//! Tradovate's own failure shapes). Its simulator is the separate
//! `atomik-tradovate-sim` crate.

mod adapter;
mod client;
mod config;
pub mod oauth;
mod wire;

pub use adapter::Tradovate;
pub use config::TradovateConfig;
pub use oauth::TradovateOAuth;
