//! Background services and the pieces they share: the registry of broker
//! adapters, sessions sealed in the vault, and the token refresh service.
//! The engine sees the broker trait, the domain and the storage interface,
//! never a concrete adapter.

pub mod credentials;
pub mod executor;
pub mod registry;
mod step;
pub mod tokens;
pub mod webhook_keys;

pub use executor::{ExecConfig, Executor};
pub use registry::Brokers;
pub use tokens::{RefreshConfig, TokenError, TokenService};
pub use webhook_keys::WebhookKey;
