//! Request authentication: [`l1`] (wallet-signed, to obtain API keys) and
//! [`l2`] (API-key HMAC, on every trading request).

pub mod l1;
pub mod l2;
