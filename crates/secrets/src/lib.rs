//! Secrets: a [`Secret`] type that cannot be printed, logged or serialized by
//! accident, and the credential vault.

mod secret;

pub use secret::Secret;
