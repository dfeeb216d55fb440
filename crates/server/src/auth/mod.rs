//! Authentication: passwords, sessions and CSRF, TOTP, API tokens, login.

pub mod login;
pub mod password;
pub mod session;
pub mod tokens;
pub mod totp;
pub mod totp_store;

pub use session::{AuthVia, Authed};
