//! The request bodies the simulator parses and the value formats it answers
//! with, as Tradovate defines them (the simulator's own model of the
//! protocol, independent of any client).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rust_decimal::Decimal;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// `POST /order/placeorder`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlaceOrder {
    #[serde(default)]
    #[allow(dead_code)]
    pub account_spec: String,
    pub account_id: i64,
    pub cl_ord_id: String,
    pub action: String,
    pub symbol: String,
    pub order_qty: i64,
    pub order_type: String,
    #[serde(default)]
    #[allow(dead_code)]
    pub price: Option<Decimal>,
    #[serde(default)]
    pub is_automated: bool,
}

/// `POST /contract/rollcontract`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RollContract {
    pub name: String,
}

/// RFC 3339 UTC, as Tradovate's timestamps.
pub fn format_time_ms(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// The PKCE S256 code challenge of a verifier (RFC 7636).
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_rfc7636_appendix_b() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(format_time_ms(0), "1970-01-01T00:00:00Z");
    }
}
