//! Interactive Brokers: the adapter over the TWS API socket to the user's
//! own IB Gateway / TWS (BROKERS.md §2). The protocol (both eras) is the
//! shared `atomik-ib-proto` crate; the simulator is `atomik-ib-sim`.
//!
//! - [`manager`]: one long-lived connection per (host, port, client id),
//!   shared by every account that uses it; reconnects with back-off.
//! - [`conn`]: one socket — handshake, paced writer, event reader.
//! - [`symbols`] / [`instruments`]: what traders type → IB contracts.
//! - [`orders`]: place / cancel / find by `orderRef`.

mod adapter;
mod book;
mod config;
pub mod conn;
mod instruments;
pub mod manager;
mod orders;
mod pacing;
pub mod symbols;

pub use adapter::InteractiveBrokers;
pub use config::IbConfig;
pub use manager::{LinkState, LinkStatus};
