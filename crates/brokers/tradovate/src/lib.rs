//! Tradovate: the adapter (OAuth 2.0 authorization code + PKCE, REST with
//! Tradovate's own failure shapes) and a simulator that speaks the same wire
//! protocol, for tests and as atomik's Demo environment.

mod adapter;
mod client;
mod config;
pub mod oauth;
pub mod sim;
mod wire;

pub use adapter::Tradovate;
pub use config::TradovateConfig;
pub use oauth::TradovateOAuth;
