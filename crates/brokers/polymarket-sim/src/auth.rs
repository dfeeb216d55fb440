//! L1 (wallet) and L2 (API key) request authentication.

use alloy_primitives::{Address, U256};
use axum::http::{HeaderMap, Method, Uri};

use crate::Shared;
use crate::reply::{ApiError, INVALID_API_KEY, INVALID_L1, Result};
use crate::sign;
use crate::state::ApiKey;

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// The wallet and nonce of a valid L1 request: `POLY_SIGNATURE` is the
/// `ClobAuth` signature of `POLY_ADDRESS` over `POLY_TIMESTAMP`/`POLY_NONCE`.
pub fn l1(shared: &Shared, h: &HeaderMap) -> Result<(Address, u64)> {
    let bad = || ApiError::unauthorized(INVALID_L1);
    let address: Address = header(h, "POLY_ADDRESS")
        .and_then(|a| a.parse().ok())
        .ok_or_else(bad)?;
    let sig = header(h, "POLY_SIGNATURE").ok_or_else(bad)?;
    let ts = header(h, "POLY_TIMESTAMP").ok_or_else(bad)?;
    let nonce: u64 = match header(h, "POLY_NONCE") {
        None => 0,
        Some(n) => n.parse().map_err(|_| bad())?,
    };
    let hash = sign::clob_auth_hash(shared.config.chain_id, address, ts, U256::from(nonce));
    match sign::recover(hash, sig) {
        Some(signer) if signer == address => Ok((address, nonce)),
        _ => Err(bad()),
    }
}

/// The API key of a valid L2 request: known key, matching passphrase and
/// address, and an HMAC over timestamp + method + path (no query) + body.
pub fn l2(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    h: &HeaderMap,
    body: &[u8],
) -> Result<ApiKey> {
    let bad = || ApiError::unauthorized(INVALID_API_KEY);
    let key = header(h, "POLY_API_KEY").ok_or_else(bad)?;
    let record = shared
        .state()
        .keys
        .iter()
        .find(|k| k.key == key)
        .cloned()
        .ok_or_else(bad)?;
    let pass = header(h, "POLY_PASSPHRASE").ok_or_else(bad)?;
    let address: Option<Address> = header(h, "POLY_ADDRESS").and_then(|a| a.parse().ok());
    if pass != record.passphrase || address != Some(record.address) {
        return Err(bad());
    }
    let ts = header(h, "POLY_TIMESTAMP").ok_or_else(bad)?;
    let sig = header(h, "POLY_SIGNATURE").ok_or_else(bad)?;
    let m = method.as_str();
    let path = uri.path();
    let ok = sign::verify_l2(&record.secret, ts, m, path, body, sig) || {
        // The official clients sign the body with `'` replaced by `"`.
        let swapped: Vec<u8> = body
            .iter()
            .map(|&b| if b == b'\'' { b'"' } else { b })
            .collect();
        swapped != body && sign::verify_l2(&record.secret, ts, m, path, &swapped, sig)
    };
    if ok { Ok(record) } else { Err(bad()) }
}
