//! Tradovate: the adapter (OAuth 2.0 authorization code + PKCE, REST with
//! Tradovate's own failure shapes). Its simulator is the separate
//! `atomik-tradovate-sim` crate.

mod adapter;
mod client;
mod config;
pub mod oauth;
#[doc(hidden)]
pub mod wire;

pub use adapter::Tradovate;
pub use config::TradovateConfig;
pub use oauth::TradovateOAuth;

/// The pure decoding of Tradovate's answers, public for the fuzz targets
/// (`atomik-fuzzing`); not an API.
#[doc(hidden)]
pub mod parsing {
    pub use crate::adapter::{
        continuous_root, fill_summary, is_specific_contract, order_state, whole_contracts,
    };
    pub use crate::client::{
        Effect, Penalty, lockout_until, penalty, read_answer, retry_after_header, typed,
    };
    pub use crate::oauth::granted_session;
    pub use reqwest::StatusCode;
}
