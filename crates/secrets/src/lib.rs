//! Secrets: a [`Secret`] type that cannot be printed, logged or serialized by
//! accident, and the credential vault (envelope encryption, key rotation).

mod keyring;
mod secret;
pub mod vault;

pub use keyring::KeyRing;
pub use secret::Secret;
