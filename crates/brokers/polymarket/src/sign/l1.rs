//! L1 auth (BROKERS.md §4.2): an EIP-712 `ClobAuth` signed by the wallet, for
//! `POST /auth/api-key` and `GET /auth/derive-api-key`.

use alloy_primitives::{B256, U256};
use alloy_sol_types::SolStruct as _;

use crate::eip712::{auth::ClobAuth, clob_auth_domain};
use crate::wallet::hex0x;
use crate::{Error, Wallet};

/// The fixed `message` field of `ClobAuth`.
pub const CLOB_AUTH_MESSAGE: &str = "This message attests that I control the given wallet";

/// The four L1 headers. Nothing here is secret (the signature is bound to a
/// timestamp and nonce; the server limits its lifetime).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L1Headers {
    /// Lower-case `0x` address (what the official Rust client sends).
    pub poly_address: String,
    /// `0x` + 65-byte signature hex, v = 27/28.
    pub poly_signature: String,
    /// Unix seconds, decimal.
    pub poly_timestamp: String,
    /// Decimal nonce (0 unless the account uses several key sets).
    pub poly_nonce: String,
}

impl L1Headers {
    /// `(name, value)` pairs ready for an HTTP client.
    pub fn pairs(&self) -> [(&'static str, &str); 4] {
        [
            ("POLY_ADDRESS", &self.poly_address),
            ("POLY_SIGNATURE", &self.poly_signature),
            ("POLY_TIMESTAMP", &self.poly_timestamp),
            ("POLY_NONCE", &self.poly_nonce),
        ]
    }
}

/// The EIP-712 digest the wallet signs for `ClobAuth`.
pub fn clob_auth_digest(wallet: &Wallet, chain_id: u64, timestamp: u64, nonce: u64) -> B256 {
    let auth = ClobAuth {
        address: wallet.address(),
        timestamp: timestamp.to_string(),
        nonce: U256::from(nonce),
        message: CLOB_AUTH_MESSAGE.to_string(),
    };
    auth.eip712_signing_hash(&clob_auth_domain(chain_id))
}

/// L1 headers for `chain_id` (137 or 80002), `timestamp` in unix seconds
/// (server time from `GET /time` avoids clock skew) and `nonce`.
pub fn headers(
    wallet: &Wallet,
    chain_id: u64,
    timestamp: u64,
    nonce: u64,
) -> Result<L1Headers, Error> {
    let digest = clob_auth_digest(wallet, chain_id, timestamp, nonce);
    let signature = wallet.sign_digest(&digest)?;
    Ok(L1Headers {
        poly_address: hex0x(wallet.address().as_slice()),
        poly_signature: hex0x(&signature),
        poly_timestamp: timestamp.to_string(),
        poly_nonce: nonce.to_string(),
    })
}
