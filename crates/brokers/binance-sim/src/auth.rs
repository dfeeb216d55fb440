//! SIGNED request security: the API key header, the signature over the exact
//! received bytes, the timing window and the key's permissions.

use std::collections::HashMap;

use axum::http::{HeaderMap, StatusCode, Uri};
use rust_decimal::Decimal;

use crate::reply::{ApiError, Result, bad, mandatory, rejected_key};
use crate::sign;
use crate::state::Verifier;
use crate::{Market, Shared};

/// Request parameters, percent-decoded; the query wins over the body.
#[derive(Debug, Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    pub fn parse(query: &str, body: &[u8]) -> Params {
        let decode = |b: &[u8]| -> Vec<(String, String)> {
            serde_urlencoded::from_bytes(b).unwrap_or_default()
        };
        let mut map: HashMap<String, String> = decode(body).into_iter().collect();
        map.extend(decode(query.as_bytes()));
        Params(map)
    }

    pub fn from_uri(uri: &Uri) -> Params {
        Params::parse(uri.query().unwrap_or(""), b"")
    }

    /// A parameter's value; an empty value counts as absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn required(&self, name: &str) -> Result<&str> {
        self.get(name).ok_or_else(|| mandatory(name))
    }
}

/// What the endpoint lets a key do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Read,
    Trade,
}

/// A request whose key, signature and timing checked out.
#[derive(Debug)]
pub struct Signed {
    pub api_key: String,
    pub params: Params,
    timestamp_us: i64,
    recv_window_us: i64,
}

impl Signed {
    /// Binance checks the window again before the matching engine.
    pub fn recheck_timing(&self, server_ms: i64) -> Result<()> {
        check_timing(server_ms, self.timestamp_us, self.recv_window_us)
    }
}

const MAX_RECV_WINDOW_MS: i64 = 60_000;
const DEFAULT_RECV_WINDOW_MS: i64 = 5_000;

pub fn verify(
    shared: &Shared,
    market: Market,
    need: Need,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Signed> {
    let api_key = api_key(headers)?;
    let (verifier, can_trade, futures) = {
        let state = shared.state();
        let account = state.account(&api_key).ok_or_else(rejected_key)?;
        (
            account.verifier.clone(),
            account.key.can_trade,
            account.key.enable_futures,
        )
    };
    let query = uri.query().unwrap_or("");
    let params = Params::parse(query, body);
    let timestamp_us = timestamp_us(&params)?;
    let signature = params.required("signature")?;
    let recv_window_us = recv_window_us(&params)?;
    if !signature_ok(&verifier, &payload(query, body), signature) {
        return Err(bad(-1022, "Signature for this request is not valid."));
    }
    check_timing(shared.now(), timestamp_us, recv_window_us)?;
    let allowed = match (market, need) {
        (Market::Futures, _) => futures,
        (Market::Spot, Need::Trade) => can_trade,
        (Market::Spot, Need::Read) => true,
    };
    if !allowed {
        return Err(rejected_key());
    }
    Ok(Signed {
        api_key,
        params,
        timestamp_us,
        recv_window_us,
    })
}

fn api_key(headers: &HeaderMap) -> Result<String> {
    let Some(value) = headers.get("X-MBX-APIKEY") else {
        return Err(rejected_key());
    };
    match value.to_str() {
        Ok(key) if well_formed(key) => Ok(key.to_string()),
        _ => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            -2014,
            "API-key format invalid.",
        )),
    }
}

/// Binance issues 64 letters and digits; the simulator refuses only keys no
/// venue could have issued: empty, over 128 bytes, or with spaces/controls.
fn well_formed(key: &str) -> bool {
    !key.is_empty() && key.len() <= 128 && key.bytes().all(|b| b.is_ascii_graphic())
}

/// `timestamp` in microseconds (Binance takes milliseconds or microseconds).
pub fn timestamp_us(params: &Params) -> Result<i64> {
    let raw = params.required("timestamp")?;
    let ts: i64 = raw.parse().map_err(|_| mandatory("timestamp"))?;
    Ok(if ts < 100_000_000_000_000 {
        ts * 1000
    } else {
        ts
    })
}

/// `recvWindow` in microseconds (milliseconds with up to 3 decimals).
pub fn recv_window_us(params: &Params) -> Result<i64> {
    let Some(raw) = params.get("recvWindow") else {
        return Ok(DEFAULT_RECV_WINDOW_MS * 1000);
    };
    let ms: Decimal = raw.parse().map_err(|_| mandatory("recvWindow"))?;
    if ms > Decimal::from(MAX_RECV_WINDOW_MS) || ms.is_sign_negative() {
        return Err(bad(
            -1131,
            format!("recvWindow must be less than {MAX_RECV_WINDOW_MS}"),
        ));
    }
    let us = (ms * Decimal::from(1000)).trunc();
    Ok(i64::try_from(us).unwrap_or(0))
}

/// Accept iff `timestamp < serverTime + 1000` and `serverTime − timestamp ≤ recvWindow`.
pub fn check_timing(server_ms: i64, timestamp_us: i64, recv_window_us: i64) -> Result<()> {
    let server_us = server_ms * 1000;
    if timestamp_us >= server_us + 1_000_000 {
        return Err(bad(
            -1021,
            "Timestamp for this request was 1000ms ahead of the server's time.",
        ));
    }
    if server_us - timestamp_us > recv_window_us {
        return Err(bad(
            -1021,
            "Timestamp for this request is outside of the recvWindow.",
        ));
    }
    Ok(())
}

/// The signed bytes: the raw query followed by the raw body, each without
/// its `signature=` pair.
pub fn payload(query: &str, body: &[u8]) -> Vec<u8> {
    let mut out = without_signature(query.as_bytes());
    out.extend(without_signature(body));
    out
}

fn without_signature(part: &[u8]) -> Vec<u8> {
    part.split(|b| *b == b'&')
        .filter(|pair| !pair.starts_with(b"signature="))
        .collect::<Vec<_>>()
        .join(&b'&')
}

fn signature_ok(verifier: &Verifier, payload: &[u8], signature: &str) -> bool {
    match verifier {
        Verifier::Hmac(secret) => sign::verify_hmac(secret, payload, signature),
        Verifier::Ed25519(key) => sign::verify_ed25519(key, payload, signature),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_query_then_body_without_the_signature() {
        // Binance's mixed query/body example (vector B3).
        let query = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC";
        let body = b"quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559&signature=0fd1";
        assert_eq!(
            payload(query, body),
            b"symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTCquantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
        );
        assert_eq!(payload("a=%2B1&signature=x", b""), b"a=%2B1");
    }

    #[test]
    fn the_query_wins_over_the_body() {
        let p = Params::parse("quantity=2&side=", b"quantity=1&price=0.1");
        assert_eq!(p.get("quantity"), Some("2"));
        assert_eq!(p.get("price"), Some("0.1"));
        assert_eq!(p.get("side"), None);
    }

    #[test]
    fn timing_window_is_two_sided() {
        let server = 1_000_000;
        let ok = |ts_ms: i64, window_ms: i64| check_timing(server, ts_ms * 1000, window_ms * 1000);
        assert!(ok(server + 999, 5000).is_ok());
        assert_eq!(ok(server + 1000, 5000).unwrap_err().code, -1021);
        assert!(ok(server - 5000, 5000).is_ok());
        assert_eq!(ok(server - 5001, 5000).unwrap_err().code, -1021);
    }
}
